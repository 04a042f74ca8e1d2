//! Our own CPU kernels for the operations that dominate a training step, as candle
//! custom ops with backward passes. Each is checked against candle's own
//! implementation and by finite differences (`models/tests/ops.rs`).

mod batch_norm;
mod conv;
mod depthwise;
pub(crate) mod real;

pub use batch_norm::{Stats, batch_norm_eval, batch_norm_train};
pub use conv::conv2d;
pub use depthwise::depthwise_conv2d;
pub(crate) use real::kernel;
pub use real::{Real, exp_f32};

/// Which implementation the layers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpSet {
    /// Our kernels (on CPU, f32 and f64); candle's everywhere else.
    #[default]
    Fast,
    /// candle-nn's stock operations, for comparison.
    Stock,
}

impl OpSet {
    /// Whether our kernels serve tensors on `device` of type `dtype`.
    pub fn fast_for(self, device: &candle_core::Device, dtype: candle_core::DType) -> bool {
        self == OpSet::Fast
            && device.is_cpu()
            && matches!(dtype, candle_core::DType::F32 | candle_core::DType::F64)
    }
}

/// The name `FromStr` reads, so a command can hand the choice on as a flag.
impl std::fmt::Display for OpSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpSet::Fast => "fast",
            OpSet::Stock => "stock",
        })
    }
}

impl std::str::FromStr for OpSet {
    type Err = String;
    fn from_str(s: &str) -> Result<OpSet, String> {
        match s {
            "fast" => Ok(OpSet::Fast),
            "stock" => Ok(OpSet::Stock),
            other => Err(format!("unknown op set `{other}`: use `fast` or `stock`")),
        }
    }
}
