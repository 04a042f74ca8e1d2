//! A proxy check's records: the networks it trains (`networks.jsonl`) and one line
//! per training of one network under one setting (`trainings.jsonl`), so a check
//! cut off anywhere resumes without training anything twice.

use serde::{Deserialize, Serialize};
use space::{ArchSpec, Choices};

use crate::trial::{StepStats, TrialStatus};

/// One network of a check: a point sampled from the space, or a reference network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckedNetwork {
    /// Position in the check, from 0.
    pub index: usize,
    pub spec: ArchSpec,
    pub key: String,
    /// The point of the space (empty for a reference network).
    #[serde(default)]
    pub choices: Choices,
    /// The network's name when it is a reference rather than a sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub params: u64,
    /// Multiply-accumulates at the timing size.
    pub macs: u64,
    /// Training step time at the timing batch and size, as a search measures it;
    /// `None` if it could not be measured.
    pub step_ms: Option<StepStats>,
}

/// One network trained under one setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingRun {
    /// The network's index.
    pub network: usize,
    /// The setting's name (a proxy's, or `target`).
    pub setting: String,
    /// `done`, or `failed` with the reason.
    pub status: TrialStatus,
    /// Validation accuracy after the training.
    pub accuracy: Option<f64>,
    /// Wall time of the training, evaluation included.
    pub seconds: f64,
    /// Forward multiply-accumulates of the training (per image, times images and
    /// epochs): its cost, independent of the machine and of what else ran on it.
    #[serde(default)]
    pub compute: f64,
    pub seed: u64,
    pub error: Option<String>,
}
