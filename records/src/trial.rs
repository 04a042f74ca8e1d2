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
    /// Not trained: over a limit of the search (`--max-params`, `--max-step-ms`).
    Infeasible,
    /// Diverged, ran out of memory, or errored; `error` says which.
    Failed,
}

impl TrialStatus {
    /// The name written to disk: `done`, `skipped` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Done => "done",
            TrialStatus::Skipped => "skipped",
            TrialStatus::Infeasible => "infeasible",
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

/// What a candidate reached at one rung of a successive-halving search: the
/// proxy training's progressive stages are the rungs, and a candidate trains
/// the next stage only when it ranks among the best at this one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// Epochs of the proxy training done at the end of this rung.
    pub epochs: usize,
    /// The image side this rung trained at.
    pub size: usize,
    /// Validation accuracy at the end of the rung, and its reward.
    pub accuracy: f64,
    pub reward: f64,
    /// Seconds of training this rung took.
    pub seconds: f64,
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
    /// Every rung the candidate reached, in order (one for a search without
    /// successive halving; none for trials written before rungs existed). A trial
    /// is rewritten as it reaches each rung: the last line of an id is its state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rungs: Vec<Rung>,
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
            rungs: Vec::new(),
            reference: None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.status == TrialStatus::Done
    }

    /// Marks a candidate failed in a further rung: its earlier rungs stay, it has
    /// no reward, and `why` says what happened.
    pub fn fail_in_rung(&mut self, why: String) {
        (self.status, self.error, self.reward) = (TrialStatus::Failed, Some(why), None);
    }

    /// The reward strategies learn from: that of the first rung, which every
    /// trained candidate reaches (so candidates compare at equal training), or
    /// the trial's own for trials without rungs. A candidate that failed in a
    /// later rung keeps its first rung's: that is what the strategy saw when it
    /// was first recorded, and sees again when a resumed search replays it.
    pub fn first_rung_reward(&self) -> Option<f64> {
        self.rungs.first().map(|r| r.reward).or(self.reward)
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

/// How two trials stand: the one that reached more rungs is ahead (a candidate
/// stopped early was trained less, so its reward does not compare with a fully
/// trained one's), then the one with the higher reward.
pub fn standing(a: &Trial, b: &Trial) -> std::cmp::Ordering {
    a.rungs
        .len()
        .cmp(&b.rungs.len())
        .then(a.reward.unwrap_or(0.0).total_cmp(&b.reward.unwrap_or(0.0)))
}

/// The finished trial with a finite reward that stands highest (see [`standing`]).
pub fn best(trials: &[Trial]) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| t.reward.is_some_and(f64::is_finite))
        .max_by(|a, b| standing(a, b))
}

/// The state of each trial of a record in which a trial may appear on several
/// lines (once per rung it reached): the last line of each id, at the place of
/// its first.
pub fn latest_per_id(lines: Vec<Trial>) -> Vec<Trial> {
    let mut at = std::collections::HashMap::new();
    let mut trials: Vec<Trial> = Vec::with_capacity(lines.len());
    for line in lines {
        match at.get(&line.id) {
            Some(&i) => trials[i] = line,
            None => {
                at.insert(line.id, trials.len());
                trials.push(line);
            }
        }
    }
    trials
}

/// What successive halving did in a search: candidates per rung reached, and
/// the training seconds the stopped candidates did not spend, estimated from
/// those that went on.
#[derive(Clone, Debug, PartialEq)]
pub struct Savings {
    /// Candidates that reached each rung.
    pub reached: Vec<usize>,
    /// The median seconds each rung took those that trained it (0 for none).
    pub median_s: Vec<f64>,
    /// Training seconds the search spent, and what training every trained
    /// candidate through every rung would have cost (each missing rung at the
    /// median seconds of those that trained it).
    pub spent_s: f64,
    pub full_s: f64,
}

/// The savings of `trials` in a search of `rungs` rungs.
pub fn savings(trials: &[Trial], rungs: usize) -> Savings {
    let trained: Vec<&Trial> = trials.iter().filter(|t| !t.rungs.is_empty()).collect();
    let reached = (0..rungs)
        .map(|r| trained.iter().filter(|t| t.rungs.len() > r).count())
        .collect();
    let median = |r: usize| {
        let mut s: Vec<f64> = trained
            .iter()
            .filter_map(|t| t.rungs.get(r).map(|x| x.seconds))
            .collect();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(0.0)
    };
    let median_s: Vec<f64> = (0..rungs).map(median).collect();
    let spent_s: f64 = trained
        .iter()
        .flat_map(|t| &t.rungs)
        .map(|r| r.seconds)
        .sum();
    let missing: f64 = trained
        .iter()
        .map(|t| median_s.iter().skip(t.rungs.len()).sum::<f64>())
        .sum();
    Savings {
        reached,
        median_s,
        spent_s,
        full_s: spent_s + missing,
    }
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
        // One that reached a further rung wins over higher rewards at fewer.
        let rung = Rung {
            epochs: 1,
            size: 16,
            accuracy: 0.5,
            reward: 0.5,
            seconds: 1.0,
        };
        trials[1].rungs = vec![rung.clone(), rung.clone()];
        trials[3].rungs = vec![rung];
        assert_eq!(best(&trials).unwrap().id, 1);
    }

    #[test]
    fn strategies_see_the_first_rung_even_after_a_later_rung_failed() {
        let mut t = rung_trial(0, &[0.3]);
        assert_eq!(t.first_rung_reward(), Some(0.3));
        (t.status, t.reward) = (TrialStatus::Failed, None);
        assert_eq!(t.first_rung_reward(), Some(0.3));
        let mut never = rung_trial(1, &[]);
        (never.status, never.reward) = (TrialStatus::Failed, None);
        assert_eq!(never.first_rung_reward(), None);
        never.reward = Some(0.2); // a trial written before rungs existed
        assert_eq!(never.first_rung_reward(), Some(0.2));
    }

    #[test]
    fn the_last_line_of_an_id_is_its_state_at_the_place_of_its_first() {
        let line = |id, reward| {
            let mut t = Trial::unmeasured(proposal(), 0, TrialStatus::Done, "");
            (t.id, t.reward) = (id, Some(reward));
            t
        };
        let trials = latest_per_id(vec![line(0, 0.1), line(1, 0.2), line(0, 0.3), line(2, 0.4)]);
        let got: Vec<(usize, f64)> = trials.iter().map(|t| (t.id, t.reward.unwrap())).collect();
        assert_eq!(got, [(0, 0.3), (1, 0.2), (2, 0.4)]);
    }

    /// A trial with rewards (and accuracies) `rewards` at its rungs, rung r
    /// taking 10·(r+1) seconds.
    fn rung_trial(id: usize, rewards: &[f64]) -> Trial {
        let mut t = Trial::unmeasured(proposal(), 0, TrialStatus::Done, "");
        t.id = id;
        t.rungs = rewards
            .iter()
            .enumerate()
            .map(|(r, &x)| Rung {
                epochs: r + 1,
                size: 16 * (r + 1),
                accuracy: x,
                reward: x,
                seconds: 10.0 * (r + 1) as f64,
            })
            .collect();
        t
    }

    #[test]
    fn savings_count_rungs_and_price_the_missing_ones_at_their_median() {
        let trials = vec![
            rung_trial(0, &[0.5]),
            rung_trial(1, &[0.6, 0.7]),
            rung_trial(2, &[0.4]),
        ];
        let s = savings(&trials, 2);
        assert_eq!(s.reached, [3, 1]);
        assert_eq!(s.median_s, [10.0, 20.0]);
        assert_eq!(s.spent_s, 10.0 * 3.0 + 20.0);
        assert_eq!(s.full_s, s.spent_s + 2.0 * 20.0);
    }
}
