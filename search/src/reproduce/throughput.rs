//! The paper's Table 2 experiment: training throughput against image size and
//! batch size, where a step that would not fit in memory is a result ("over the
//! cap", the paper's OOM), not a crash.

use candle_core::Device;
use models::ops::OpSet;
use serde::{Deserialize, Serialize};
use space::{ArchSpec, estimate_training_memory};

use crate::evaluator::{Timing, guarded, time_steps};
use crate::trial::StepStats;

/// The grid to measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputPlan {
    pub network: ArchSpec,
    pub sizes: Vec<usize>,
    pub batches: Vec<usize>,
    /// Timed steps per point (after one warm-up step).
    pub steps: usize,
    pub memory_cap_bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointStatus {
    Done,
    /// The estimated training memory is over the cap: not run.
    OverCap,
    Failed,
}

/// One (size, batch) point of the grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputPoint {
    pub network: String,
    pub size: usize,
    pub batch: usize,
    /// Estimated training memory of one step, bytes.
    pub memory_bytes: u64,
    pub status: PointStatus,
    pub step_ms: Option<StepStats>,
    /// `batch / median step time`.
    pub images_per_s: Option<f64>,
    pub error: Option<String>,
}

impl ThroughputPlan {
    /// The grid, sizes outermost, as the paper's table reads.
    pub fn points(&self) -> Vec<(usize, usize)> {
        self.sizes
            .iter()
            .flat_map(|&s| self.batches.iter().map(move |&b| (s, b)))
            .collect()
    }

    /// Measures one point; problems become a failed or over-cap point.
    pub fn measure(
        &self,
        size: usize,
        batch: usize,
        seed: u64,
        device: &Device,
        ops: OpSet,
    ) -> ThroughputPoint {
        let mut point = ThroughputPoint {
            network: self.network.name.clone(),
            size,
            batch,
            memory_bytes: 0,
            status: PointStatus::Failed,
            step_ms: None,
            images_per_s: None,
            error: None,
        };
        match estimate_training_memory(&self.network, batch, size) {
            Ok(m) => point.memory_bytes = m.total,
            Err(e) => {
                point.error = Some(e.to_string());
                return point;
            }
        }
        if point.memory_bytes > self.memory_cap_bytes {
            point.status = PointStatus::OverCap;
            point.error = Some(format!(
                "estimated {} MiB is over the cap of {} MiB",
                point.memory_bytes >> 20,
                self.memory_cap_bytes >> 20
            ));
            return point;
        }
        let timing = Timing {
            batch,
            size,
            steps: self.steps.max(1),
            warmup: 1,
        };
        match guarded(|| time_steps(&self.network, &timing, seed, device, ops)) {
            Ok(steps) => {
                point.images_per_s = Some(batch as f64 * 1000.0 / steps.median);
                point.step_ms = Some(steps);
                point.status = PointStatus::Done;
            }
            Err(e) => point.error = Some(e),
        }
        point
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::preset;

    #[test]
    fn points_over_the_cap_are_recorded_not_run() {
        let network = crate::reproduce::miniature::miniature(&preset("efficientnet-b0").unwrap());
        let small = estimate_training_memory(&network, 2, 32).unwrap().total;
        let plan = ThroughputPlan {
            network,
            sizes: vec![32, 64],
            batches: vec![2, 4],
            steps: 1,
            memory_cap_bytes: small + 1,
        };
        assert_eq!(plan.points(), [(32, 2), (32, 4), (64, 2), (64, 4)]);
        let device = Device::Cpu;
        let done = plan.measure(32, 2, 0, &device, OpSet::Fast);
        assert_eq!(done.status, PointStatus::Done, "{:?}", done.error);
        let ms = done.step_ms.as_ref().unwrap().median;
        assert!((done.images_per_s.unwrap() - 2000.0 / ms).abs() < 1e-9);
        let over = plan.measure(64, 4, 0, &device, OpSet::Fast);
        assert_eq!(over.status, PointStatus::OverCap);
        assert!(over.step_ms.is_none() && over.memory_bytes > small);
        assert!(over.error.unwrap().contains("over the cap"));
    }
}
