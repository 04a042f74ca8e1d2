//! One evaluated candidate: what the store records and reports read.

use serde::{Deserialize, Serialize};
use space::{ArchSpec, Choices};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Trained and timed; accuracy and reward are set.
    Done,
    /// Not trained: over the memory cap.
    Skipped,
    /// Diverged, ran out of memory, or errored; `error` says which.
    Failed,
}

/// Step-time statistics in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub iqr: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the search, from 0.
    pub id: usize,
    pub status: TrialStatus,
    pub spec: ArchSpec,
    pub key: String,
    pub choices: Choices,
    /// Proxy validation accuracy.
    pub accuracy: Option<f64>,
    pub step_ms: Option<StepStats>,
    pub params: u64,
    pub macs: u64,
    /// Estimated training memory at the timing batch and size, bytes.
    pub memory_bytes: u64,
    pub reward: Option<f64>,
    pub error: Option<String>,
    /// Seconds spent timing, training, and in all.
    pub step_time_s: f64,
    pub train_s: f64,
    pub total_s: f64,
    pub seed: u64,
}

impl Trial {
    pub fn is_done(&self) -> bool {
        self.status == TrialStatus::Done
    }
}
