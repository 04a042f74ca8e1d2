//! Timing of single operations, forward and backward, with the same meaning as
//! `timm_step.py --op`: the median of `f(x).sum().backward()` after warm-up.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use models::layers::BatchNorm;
use models::ops::OpSet;
use models::params::ParamStore;
use serde::Serialize;

use records::stats::percentile;

/// The operations `timm_step.py --op` knows.
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
}

#[derive(Clone, Debug, Serialize)]
pub struct OpTimes {
    #[serde(flatten)]
    pub spec: OpSpec,
    pub ops: String,
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
    let run: Box<dyn Fn() -> candle_core::Result<Tensor>> = match spec.op {
        OpKind::BnSilu => {
            let bn = BatchNorm::new("bn", c, &mut store)?;
            let x = x.clone();
            Box::new(move || bn.forward(x.as_tensor(), true, true, ops))
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
            y.sum_all()?.backward()?;
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
        forward_only,
        step_ms_median: percentile(&times, 0.5),
        step_ms_min: times.iter().copied().fold(f64::INFINITY, f64::min),
        step_ms_max: times.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        step_ms: times,
    })
}
