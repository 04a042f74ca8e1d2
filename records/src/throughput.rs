//! One point of a throughput grid (the paper's Table 2: training speed against
//! image size and batch size); a reproduction's `throughput.jsonl` holds one per line.

use serde::{Deserialize, Serialize};

use crate::trial::StepStats;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointStatus {
    Done,
    /// The estimated training memory is over the cap: not run (the paper's OOM).
    OverCap,
    Failed,
}

/// One (size, batch) point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThroughputRecord {
    pub network: String,
    pub size: usize,
    pub batch: usize,
    /// Estimated training memory of one step, bytes.
    #[serde(default)]
    pub memory_bytes: u64,
    pub status: PointStatus,
    pub step_ms: Option<StepStats>,
    /// `batch / median step time`.
    pub images_per_s: Option<f64>,
    pub error: Option<String>,
}
