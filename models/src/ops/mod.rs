//! Our own kernels for the operations that dominate a training step, as candle
//! custom ops with backward passes: on the CPU all of them; on CUDA depthwise
//! convolution and the unfolding that turns a dense convolution into cuBLAS products
//! (`cuda/kernels.cu`). Each is checked against candle's own implementation and by
//! finite differences (`models/tests/ops.rs`); the CUDA kernels' arithmetic also on
//! the CPU (`models/tests/cuda_kernels_emulated.rs`) and on a GPU by `search
//! check-ops`.

mod batch_norm;
mod block;
mod buffer;
mod conv;
#[cfg(feature = "cuda")]
mod cuda;
mod depthwise;
mod param_grads;
pub(crate) mod real;
mod unfold;

pub use batch_norm::{Stats, batch_norm_eval, batch_norm_train};
pub use block::{Stage, block_train};
pub use depthwise::depthwise_conv2d;
pub use param_grads::ParamGrads;
pub(crate) use real::kernel;
pub use real::{Real, cpu_kernels, exp_f32};
pub use unfold::conv2d_unfolded;

/// Below this output width (pixels per row) row-by-row loops are too short to pay
/// for themselves: the dense convolution's unfolding then works on whole planes
/// (the proxy's 2×2 to 8×8 maps).
const SMALL_MAP_WIDTH: usize = 16;

/// Which implementation the layers use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpSet {
    /// Our kernels (on the CPU and CUDA, f32 and f64); candle's everywhere else. In
    /// training on the CPU a block's layers run as one op ([`block_train`]).
    #[default]
    Fast,
    /// Our kernels one layer at a time, each its own node of candle's autograd:
    /// the path before whole-block ops, kept to compare them with.
    PerOp,
    /// candle-nn's stock operations, for comparison.
    Stock,
}

impl OpSet {
    /// Whether our convolution kernels serve tensors on `device` of type `dtype`.
    /// (Our BatchNorm is CPU-only: on a GPU candle's elementwise kernels do well.)
    pub fn fast_for(self, device: &candle_core::Device, dtype: candle_core::DType) -> bool {
        matches!(self, OpSet::Fast | OpSet::PerOp)
            && (device.is_cpu() || device.is_cuda())
            && matches!(dtype, candle_core::DType::F32 | candle_core::DType::F64)
    }
}

/// Dense convolution of `x` `[B, Ci, H, W]` with `w` `[Co, Ci, k, k]`, padding k/2: our
/// fused op on the CPU; unfolded columns times cuBLAS products elsewhere.
pub fn conv2d(
    x: &candle_core::Tensor,
    w: &candle_core::Tensor,
    stride: usize,
) -> candle_core::Result<candle_core::Tensor> {
    if x.device().is_cpu() {
        conv::conv2d(x, w, stride)
    } else {
        conv2d_unfolded(x, w, stride)
    }
}

/// The name `FromStr` reads, so a command can hand the choice on as a flag.
impl std::fmt::Display for OpSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpSet::Fast => "fast",
            OpSet::PerOp => "per-op",
            OpSet::Stock => "stock",
        })
    }
}

/// A name that is not `fast`, `per-op` or `stock`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown op set `{0}`: use `fast`, `per-op` or `stock`")]
pub struct UnknownOpSet(pub String);

impl std::str::FromStr for OpSet {
    type Err = UnknownOpSet;
    fn from_str(s: &str) -> Result<OpSet, UnknownOpSet> {
        match s {
            "fast" => Ok(OpSet::Fast),
            "per-op" => Ok(OpSet::PerOp),
            "stock" => Ok(OpSet::Stock),
            other => Err(UnknownOpSet(other.to_string())),
        }
    }
}
