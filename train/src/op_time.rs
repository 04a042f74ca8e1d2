//! Timing of single operations and whole blocks, forward and backward, with the
//! same meaning as `timm_step.py --op` and `scripts/timm_block_step.py`: the
//! median of `f(x).sum().backward()` after warm-up.

use std::cell::RefCell;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use models::layers::{BatchNorm, Pass};
use models::network::Block;
use models::ops::{OpSet, ParamGrads};
use models::params::ParamStore;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use space::{BlockKind, BlockSpec};

use records::stats::percentile;

/// The operations `timm_step.py --op` knows, and the two blocks
/// `scripts/timm_block_step.py --block` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Depthwise k×k convolution.
    Dwconv,
    /// Dense k×k convolution.
    Conv,
    /// 1×1 convolution.
    Conv1x1,
    /// Training-mode BatchNorm followed by SiLU.
    #[value(name = "bn_silu")]
    BnSilu,
    /// An MBConv block: 1×1 expansion, k×k depthwise, squeeze-excitation on a
    /// quarter of the input channels (EfficientNetV2's), 1×1 projection, and the
    /// shortcut where the shapes allow; no stochastic depth.
    Mbconv,
    /// A Fused-MBConv block: k×k expansion, 1×1 projection (none with expansion
    /// 1), no squeeze-excitation, the shortcut where the shapes allow.
    #[value(name = "fused_mbconv")]
    FusedMbconv,
}

#[derive(Clone, Debug, Serialize)]
pub struct OpSpec {
    pub op: OpKind,
    pub batch: usize,
    pub channels: usize,
    pub out_channels: usize,
    pub size: usize,
    pub kernel: usize,
    pub stride: usize,
    /// The blocks' expansion ratio.
    pub expand: usize,
}

impl OpSpec {
    /// The block this spec describes, for the two block kinds.
    pub fn block(&self) -> Option<BlockSpec> {
        let (kind, se_channels) = match self.op {
            OpKind::Mbconv => (BlockKind::MbConv, Some((self.channels / 4).max(1))),
            OpKind::FusedMbconv => (BlockKind::FusedMbConv, None),
            _ => return None,
        };
        Some(BlockSpec {
            index: 0,
            stage: 0,
            kind,
            in_channels: self.channels,
            out_channels: self.out_channels,
            expand_ratio: self.expand,
            kernel: self.kernel,
            stride: self.stride,
            se_channels,
            survival_prob: 1.0,
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct OpTimes {
    #[serde(flatten)]
    pub spec: OpSpec,
    pub ops: String,
    /// Trainable parameters of the op or block.
    pub params: usize,
    pub forward_only: bool,
    pub step_ms: Vec<f64>,
    pub step_ms_median: f64,
    pub step_ms_min: f64,
    pub step_ms_max: f64,
}

/// Times `spec` on `device` `steps` times after `warmup` untimed runs.
pub fn time_op(
    spec: &OpSpec,
    ops: OpSet,
    forward_only: bool,
    steps: usize,
    warmup: usize,
    device: &Device,
) -> candle_core::Result<OpTimes> {
    let x = Var::from_tensor(&Tensor::randn(
        0f32,
        1.0,
        (spec.batch, spec.channels, spec.size, spec.size),
        device,
    )?)?;
    let mut store = ParamStore::new(0, device, DType::F32);
    let (c, co, k) = (spec.channels, spec.out_channels, spec.kernel);
    // Where whole-block ops hand their parameters' gradients; empty for the rest.
    let grads = ParamGrads::new()?;
    let run: Box<dyn Fn() -> candle_core::Result<Tensor>> = match spec.op {
        OpKind::BnSilu => {
            let bn = BatchNorm::new("bn", c, &mut store)?;
            let x = x.clone();
            Box::new(move || bn.forward(x.as_tensor(), true, true, ops))
        }
        OpKind::Mbconv | OpKind::FusedMbconv => {
            let plan = spec.block().expect("a block kind");
            let block = Block::build(&plan, "block", &mut store)?;
            // Drawn from only with stochastic depth, which the timed blocks leave out.
            let rng = RefCell::new(StdRng::seed_from_u64(0));
            let (x, grads) = (x.clone(), grads.clone());
            Box::new(move || {
                let mut rng = rng.borrow_mut();
                let mut pass = Pass {
                    train: true,
                    ops,
                    dropout: 0.0,
                    rng: &mut rng,
                    grads: &grads,
                };
                block.forward(x.as_tensor(), &mut pass)
            })
        }
        kind => {
            let (out, kernel, groups) = match kind {
                OpKind::Dwconv => (c, k, c),
                OpKind::Conv => (co, k, 1),
                _ => (co, 1, 1),
            };
            let conv = models::layers::Conv2d::new(
                "conv",
                c,
                out,
                kernel,
                spec.stride,
                groups,
                &mut store,
            )?;
            let x = x.clone();
            Box::new(move || conv.forward(x.as_tensor(), ops))
        }
    };
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let start = Instant::now();
        let y = run()?;
        if forward_only {
            // Reading one value waits for lazy work on other devices.
            y.flatten_all()?.get(0)?.to_scalar::<f32>()?;
        } else {
            grads.backward(&y.sum_all()?)?;
        }
        // A GPU queues kernels: the time is the work's only once it has finished.
        device.synchronize()?;
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok(OpTimes {
        spec: spec.clone(),
        ops: format!("{ops:?}").to_lowercase(),
        params: store.trainable_count(),
        forward_only,
        step_ms_median: percentile(&times, 0.5),
        step_ms_min: times.iter().copied().fold(f64::INFINITY, f64::min),
        step_ms_max: times.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        step_ms: times,
    })
}
