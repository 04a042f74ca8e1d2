//! The paper's Table 2 experiment: training throughput against image size and
//! batch size, where a step that would not fit in memory is a result ("over the
//! cap", the paper's OOM), not a crash.

use candle_core::Device;
use models::ops::OpSet;
use records::{PointStatus, RecordsError, ReproductionDir, ThroughputRecord};
use serde::{Deserialize, Serialize};
use space::{ArchSpec, estimate_training_memory};

use super::Progress;
use crate::evaluator::{Timing, guarded};

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
    ) -> ThroughputRecord {
        let mut point = ThroughputRecord {
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
        match guarded(|| timing.measure(&self.network, seed, device, ops)) {
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

/// Measures every point of `plan` that `dir` does not hold yet, recording each as
/// it is measured.
pub fn run_throughput(
    plan: &ThroughputPlan,
    seed: u64,
    dir: &ReproductionDir,
    device: &Device,
    ops: OpSet,
    observe: &mut dyn FnMut(Progress),
) -> Result<(), RecordsError> {
    dir.repair()?;
    let done = dir.throughput()?;
    let points = plan.points();
    for (index, (size, batch)) in points.iter().copied().enumerate() {
        if done.iter().any(|p| (p.size, p.batch) == (size, batch)) {
            continue;
        }
        observe(Progress::Point {
            index,
            total: points.len(),
            network: &plan.network.name,
            size,
            batch,
        });
        let point = plan.measure(size, batch, seed, device, ops);
        observe(Progress::PointMeasured(&point));
        dir.append_throughput(&point)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::preset;

    #[test]
    fn points_over_the_cap_are_recorded_not_run() {
        let network = super::super::miniature::miniature(&preset("efficientnet-b0").unwrap());
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
