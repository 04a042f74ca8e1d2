//! A search's records: what a strategy proposed ([`Proposal`]) and what its
//! evaluation found ([`Trial`]). One line of `trials.jsonl`, `references.jsonl`
//! and a reproduction's `fused.jsonl` is a [`Trial`]; the PostgreSQL store keeps
//! the same two records as JSON.
//!
//! Fields that older writers left out read as their defaults, so runs written by
//! any version of effnas can be resumed and reported.

use serde::{Deserialize, Serialize};
use space::{ArchSpec, Choices};

/// How an evaluation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialStatus {
    /// Trained and timed; accuracy and reward are set.
    Done,
    /// Not trained: over the memory cap.
    Skipped,
    /// Diverged, ran out of memory, or errored; `error` says which.
    Failed,
}

impl TrialStatus {
    /// The name written to disk: `done`, `skipped` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Done => "done",
            TrialStatus::Skipped => "skipped",
            TrialStatus::Failed => "failed",
        }
    }
}

/// Step-time statistics in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub iqr: f64,
}

/// A point of the space chosen for evaluation, before anything is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Position in the search, from 0.
    pub id: usize,
    pub spec: ArchSpec,
    /// The spec's canonical key: two proposals with one key are one network.
    pub key: String,
    pub choices: Choices,
}

impl Proposal {
    /// A network evaluated by itself (a reference, a paper experiment's variant),
    /// not as a point of a space: it has no choices.
    pub fn network(id: usize, spec: ArchSpec) -> Proposal {
        Proposal {
            id,
            key: spec.canonical_key(),
            spec,
            choices: Choices(Vec::new()),
        }
    }
}

/// One evaluated candidate (or reference network).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the search, from 0.
    pub id: usize,
    pub status: TrialStatus,
    pub spec: ArchSpec,
    #[serde(default)]
    pub key: String,
    /// The point of the space (empty for reference networks).
    #[serde(default)]
    pub choices: Choices,
    /// Proxy validation accuracy.
    pub accuracy: Option<f64>,
    pub step_ms: Option<StepStats>,
    #[serde(default)]
    pub params: u64,
    #[serde(default)]
    pub macs: u64,
    /// Estimated training memory at the timing batch and size, bytes.
    #[serde(default)]
    pub memory_bytes: u64,
    pub reward: Option<f64>,
    pub error: Option<String>,
    /// Seconds spent timing, training, and in all.
    #[serde(default)]
    pub step_time_s: f64,
    #[serde(default)]
    pub train_s: f64,
    #[serde(default)]
    pub total_s: f64,
    #[serde(default)]
    pub seed: u64,
    /// The network's name when this is a reference network rather than a searched
    /// one. Not written by the search (`references.jsonl` says it); readers set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Trial {
    /// A trial of `proposal` with nothing measured yet: `status` and `error` say
    /// why, until the evaluation fills in what it measured.
    pub fn unmeasured(proposal: Proposal, seed: u64, status: TrialStatus, error: &str) -> Trial {
        Trial {
            id: proposal.id,
            status,
            params: proposal.spec.param_count(),
            spec: proposal.spec,
            key: proposal.key,
            choices: proposal.choices,
            accuracy: None,
            step_ms: None,
            macs: 0,
            memory_bytes: 0,
            reward: None,
            error: Some(error.to_string()),
            step_time_s: 0.0,
            train_s: 0.0,
            total_s: 0.0,
            seed,
            reference: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.status == TrialStatus::Done
    }

    /// The median training step time, ms.
    pub fn step_median(&self) -> Option<f64> {
        self.step_ms.as_ref().map(|s| s.median)
    }

    /// `#id`, or the network's name for a reference network.
    pub fn label(&self) -> String {
        match &self.reference {
            Some(name) => name.clone(),
            None => format!("#{}", self.id),
        }
    }

    /// The proposal this trial evaluated.
    pub fn proposal(&self) -> Proposal {
        Proposal {
            id: self.id,
            spec: self.spec.clone(),
            key: self.key.clone(),
            choices: self.choices.clone(),
        }
    }
}

/// The finished trial with the highest (finite) reward.
pub fn best(trials: &[Trial]) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| t.reward.is_some_and(f64::is_finite))
        .max_by(|a, b| a.reward.unwrap_or(0.0).total_cmp(&b.reward.unwrap_or(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal() -> Proposal {
        let spec = space::preset("efficientnet-b0").unwrap();
        Proposal {
            id: 3,
            key: spec.canonical_key(),
            spec,
            choices: Choices(vec![1, 0, 2]),
        }
    }

    #[test]
    fn a_trial_is_written_in_its_field_order_and_a_reference_name_only_when_set() {
        let t = Trial::unmeasured(proposal(), 9, TrialStatus::Skipped, "over the cap");
        let text = serde_json::to_string(&t).unwrap();
        let keys: Vec<&str> = [
            "\"id\"",
            "\"status\"",
            "\"spec\"",
            "\"key\"",
            "\"choices\"",
            "\"accuracy\"",
            "\"step_ms\"",
            "\"params\"",
            "\"macs\"",
            "\"memory_bytes\"",
            "\"reward\"",
            "\"error\"",
            "\"step_time_s\"",
            "\"train_s\"",
            "\"total_s\"",
            "\"seed\"",
        ]
        .to_vec();
        let at: Vec<usize> = keys.iter().map(|k| text.rfind(k).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(!text.contains("reference"));
        assert!(text.contains("\"status\":\"skipped\""));
        assert_eq!(serde_json::from_str::<Trial>(&text).unwrap(), t);
        assert_eq!(t.proposal(), proposal());
        assert_eq!(t.params, 5_288_548);
    }

    #[test]
    fn old_and_sparse_lines_read_with_defaults_and_a_proposal_reads_from_a_trial() {
        let spec = serde_json::to_value(space::preset("efficientnet-b0").unwrap()).unwrap();
        let line = serde_json::json!({"id": 1, "status": "done", "spec": spec,
            "accuracy": 0.5, "step_ms": null, "reward": 0.4, "error": null});
        let t: Trial = serde_json::from_value(line).unwrap();
        assert_eq!((t.params, t.key.as_str(), t.choices.0.len()), (0, "", 0));
        assert_eq!(t.label(), "#1");
        // Proposals once were stored as whole trials: they still read.
        let full = serde_json::to_value(Trial::unmeasured(proposal(), 0, TrialStatus::Failed, ""))
            .unwrap();
        assert_eq!(
            serde_json::from_value::<Proposal>(full).unwrap(),
            proposal()
        );
        let bad = serde_json::json!({"id": 1, "status": "lost", "spec": spec});
        assert!(serde_json::from_value::<Trial>(bad).is_err());
    }

    #[test]
    fn the_best_trial_has_the_highest_finite_reward() {
        let mut trials: Vec<Trial> = (0..4)
            .map(|i| {
                let mut t = Trial::unmeasured(proposal(), 0, TrialStatus::Done, "");
                t.id = i;
                t
            })
            .collect();
        assert!(best(&trials).is_none());
        trials[1].reward = Some(0.5);
        trials[2].reward = Some(f64::NAN);
        trials[3].reward = Some(0.7);
        assert_eq!(best(&trials).unwrap().id, 3);
    }
}
