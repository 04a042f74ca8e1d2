//! Measured training step time: the quantity that makes this search
//! training-aware. A step is forward, loss, backward and the optimizer update, on
//! random data, timed after warm-up and synchronised with the device.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::loss::cross_entropy;
use models::ops::OpSet;
use models::{EfficientNet, Optimizer, RmsProp, RmsPropConfig};
use records::stats::percentile;
use serde::Serialize;
use space::ArchSpec;

/// How to time steps.
#[derive(Clone, Debug)]
pub struct StepTimer {
    pub batch: usize,
    pub size: usize,
    /// Timed steps.
    pub steps: usize,
    /// Untimed steps first: allocation and caches settle.
    pub warmup: usize,
    pub seed: u64,
    /// Our kernels or candle's stock layers.
    pub ops: OpSet,
}

/// What a timing run measured.
#[derive(Clone, Debug, Serialize)]
pub struct StepTimes {
    pub arch: String,
    pub batch: usize,
    pub size: usize,
    pub params: usize,
    /// Every timed step, in milliseconds, in order.
    pub step_ms: Vec<f64>,
    pub step_ms_median: f64,
    pub step_ms_min: f64,
    pub step_ms_max: f64,
    /// Interquartile range: how noisy the measurement was.
    pub step_ms_iqr: f64,
    /// Images per second at the median step time.
    pub images_per_s: f64,
    /// The process's peak resident memory (Linux; `None` elsewhere).
    pub peak_rss_bytes: Option<u64>,
    /// Resident memory before the model was built.
    pub rss_before_bytes: Option<u64>,
}

impl StepTimer {
    /// Builds `spec` on `device` and times its training steps. `progress` is told
    /// about each step (warm-up steps with `timed == false`).
    pub fn run(
        &self,
        spec: &ArchSpec,
        device: &Device,
        mut progress: impl FnMut(StepEvent),
    ) -> Result<StepTimes, models::ModelError> {
        spec.check_image_size("size", self.size)?;
        let rss_before_bytes = memory_status("VmRSS");
        let mut model = EfficientNet::new(spec, self.seed, device)?;
        model.set_ops(self.ops);
        let mut optimizer = RmsProp::new(model.params(), RmsPropConfig::default())?;
        let x = Tensor::randn(
            0f32,
            1.0,
            (self.batch, spec.input_channels, self.size, self.size),
            device,
        )?;
        let labels: Vec<u32> = (0..self.batch).map(|i| (i % spec.classes) as u32).collect();
        let y = Tensor::from_vec(labels, self.batch, device)?;

        let mut step_ms = Vec::with_capacity(self.steps);
        for i in 0..self.warmup + self.steps {
            device.synchronize()?;
            let start = Instant::now();
            let logits = model.forward_t(&x, true)?;
            let loss = cross_entropy(&logits, &y)?;
            let grads = model.backward(&loss)?;
            optimizer.step(&grads)?;
            // Reading the loss forces lazy devices to finish.
            let loss = loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
            device.synchronize()?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let timed = i >= self.warmup;
            if timed {
                step_ms.push(ms);
            }
            progress(StepEvent {
                index: i,
                total: self.warmup + self.steps,
                timed,
                ms,
                loss,
            });
        }

        let median = percentile(&step_ms, 0.5);
        Ok(StepTimes {
            arch: spec.name.clone(),
            batch: self.batch,
            size: self.size,
            params: model.params().trainable_count(),
            step_ms_median: median,
            step_ms_min: step_ms.iter().copied().fold(f64::INFINITY, f64::min),
            step_ms_max: step_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            step_ms_iqr: percentile(&step_ms, 0.75) - percentile(&step_ms, 0.25),
            images_per_s: self.batch as f64 / (median / 1e3),
            step_ms,
            peak_rss_bytes: memory_status("VmHWM"),
            rss_before_bytes,
        })
    }
}

impl StepTimes {
    /// The statistics a search records for a trial.
    pub fn stats(&self) -> records::StepStats {
        records::StepStats {
            median: self.step_ms_median,
            min: self.step_ms_min,
            max: self.step_ms_max,
            iqr: self.step_ms_iqr,
        }
    }
}

/// One finished step, for progress reports.
#[derive(Clone, Copy, Debug)]
pub struct StepEvent {
    pub index: usize,
    pub total: usize,
    pub timed: bool,
    pub ms: f64,
    pub loss: f32,
}

/// A `kB` field of `/proc/self/status` in bytes (`VmHWM` is the peak resident set).
fn memory_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
