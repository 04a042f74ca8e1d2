//! The training-aware evaluator (paper §3.3): for each candidate, cheapest first,
//! (1) analytic cost, a memory check and the parameter limit, (2) measured
//! training step time at the target batch and size, and its limit, (3) proxy
//! accuracy from a short training run — its first rung only in a
//! successive-halving search, the rest when promoted — and (4) the reward
//! `A · S^w · P^v` with S and P relative to a reference network.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

use candle_core::Device;
use models::ops::OpSet;
pub use records::Reward;
use records::{EpochRecord, MetricLine, Proposal, Rung, StepStats, TrainDir, Trial, TrialStatus};
use serde::{Deserialize, Serialize};
use space::{ArchSpec, analyze, estimate_training_memory};
use train::{Event, Outcome, Splits, StepTimer, TrainConfig, Trainer};

/// How step time is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub batch: usize,
    pub size: usize,
    pub steps: usize,
    pub warmup: usize,
}

impl Timing {
    /// Median, min, max and IQR of `spec`'s training step, in milliseconds.
    pub fn measure(
        &self,
        spec: &ArchSpec,
        seed: u64,
        device: &Device,
        ops: OpSet,
    ) -> Result<StepStats, models::ModelError> {
        let timer = StepTimer {
            batch: self.batch,
            size: self.size,
            steps: self.steps,
            warmup: self.warmup,
            seed,
            ops,
        };
        Ok(timer.run(spec, device, |_| {})?.stats())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorConfig {
    pub timing: Timing,
    /// Candidates whose estimated training memory exceeds this are skipped.
    pub memory_cap_bytes: u64,
    /// Proxy training (on the search's data, adapted to its channels and classes).
    /// Its progressive stages are the rungs of successive halving.
    pub proxy: TrainConfig,
    pub reward: Reward,
    /// Candidates over a limit are infeasible: recorded, never trained.
    #[serde(default)]
    pub limits: Limits,
}

/// Hard limits on candidates, checked before any training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Median training step time at the timing batch and size, ms.
    pub max_step_ms: Option<f64>,
    pub max_params: Option<u64>,
}

pub struct Evaluator<'a> {
    pub config: &'a EvaluatorConfig,
    pub splits: &'a Splits,
    pub device: &'a Device,
    pub ops: OpSet,
    /// Where candidates keep their proxy training between rungs (`rungs/` of a
    /// successive-halving search): [`Evaluator::evaluate`] then trains the first
    /// rung only and [`Evaluator::promote`] the next ones. `None` trains every
    /// rung at once and keeps nothing.
    pub rungs_dir: Option<&'a Path>,
}

/// Runs `f`, turning a panic into an error message: a candidate that breaks an
/// assumption deep in a kernel becomes a failed trial, not a failed search.
pub(crate) fn guarded<T, E: std::fmt::Display>(
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("unknown")
        )),
    }
}

impl Evaluator<'_> {
    /// Evaluates one candidate; never fails: problems become a failed (over the
    /// memory cap, skipped; over a limit, infeasible) trial that says why.
    pub fn evaluate(&self, proposal: &Proposal, seed: u64) -> Trial {
        let start = Instant::now();
        let mut trial = Trial::unmeasured(proposal.clone(), seed, TrialStatus::Failed, "");
        let outcome = self.measure(&mut trial);
        (trial.status, trial.error) = match outcome {
            Ok(()) => (TrialStatus::Done, None),
            Err((status, why)) => (status, Some(why)),
        };
        trial.total_s = start.elapsed().as_secs_f64();
        trial
    }

    /// Fills in `trial`'s measurements, cheapest first; stops at the first problem.
    fn measure(&self, trial: &mut Trial) -> Result<(), (TrialStatus, String)> {
        let (c, spec) = (self.config, &trial.spec);
        let failed = |why: String| (TrialStatus::Failed, why);

        // 1. Analytics and the memory check.
        let size = c.timing.size;
        trial.macs = analyze(spec, size).map_err(|e| failed(e.to_string()))?.macs;
        trial.memory_bytes = estimate_training_memory(spec, c.timing.batch, size)
            .map_err(|e| failed(e.to_string()))?
            .total;
        if trial.memory_bytes > c.memory_cap_bytes {
            let why = format!(
                "estimated training memory {} MiB is over the cap of {} MiB",
                trial.memory_bytes >> 20,
                c.memory_cap_bytes >> 20
            );
            return Err((TrialStatus::Skipped, why));
        }
        if let Some(max) = c.limits.max_params
            && trial.params > max
        {
            let why = format!("{} parameters, over the limit of {max}", trial.params);
            return Err((TrialStatus::Infeasible, why));
        }

        // 2. Step time at the target batch and size.
        let timing = Instant::now();
        let steps = guarded(|| c.timing.measure(spec, trial.seed, self.device, self.ops));
        trial.step_time_s = timing.elapsed().as_secs_f64();
        let steps = steps.map_err(|e| failed(format!("step timing: {e}")))?;
        trial.step_ms = Some(steps.clone());
        if let Some(max) = c.limits.max_step_ms
            && steps.median > max
        {
            let why = format!(
                "training step {:.1} ms, over the limit of {max} ms",
                steps.median
            );
            return Err((TrialStatus::Infeasible, why));
        }

        // 3. Proxy accuracy: the first rung, or all of them at once.
        let last = if self.rungs_dir.is_some() {
            0
        } else {
            self.rungs() - 1
        };
        let training = Instant::now();
        let rungs = self.train_rungs(trial, 0, last);
        trial.train_s = training.elapsed().as_secs_f64();
        let rungs = rungs.map_err(failed)?;

        // 4. Reward (of the last rung reached).
        trial.rungs = rungs;
        let reached = trial.rungs.last().expect("at least one rung");
        (trial.accuracy, trial.reward) = (Some(reached.accuracy), Some(reached.reward));
        Ok(())
    }

    /// The proxy's rungs: its progressive-learning stages.
    pub fn rungs(&self) -> usize {
        self.config.proxy.progressive.stages
    }

    /// `trial` trained on through rung `rung` from its checkpoint at the end of
    /// the rung before: a failed trial if the training fails (its rungs so far are
    /// kept). A candidate's checkpoint is removed once it finishes the last rung.
    pub fn promote(&self, trial: &Trial, rung: usize) -> Trial {
        let start = Instant::now();
        let mut trial = trial.clone();
        match self.train_rungs(&trial, rung, rung) {
            Ok(rungs) => {
                trial.rungs.extend(rungs);
                let reached = trial.rungs.last().expect("at least one rung");
                (trial.accuracy, trial.reward) = (Some(reached.accuracy), Some(reached.reward));
            }
            Err(why) => {
                trial.fail_in_rung(why);
            }
        }
        if let Some(dir) = self.rungs_dir
            && (rung + 1 >= self.rungs() || trial.status != TrialStatus::Done)
        {
            let _ = std::fs::remove_dir_all(dir.join(trial.id.to_string()));
        }
        let seconds = start.elapsed().as_secs_f64();
        trial.train_s += seconds;
        trial.total_s += seconds;
        trial
    }

    /// Trains `trial`'s proxy through rungs `from..=to` (continuing from the
    /// checkpoint of rung `from - 1` when the rungs are kept), and what it reached
    /// at each.
    fn train_rungs(&self, trial: &Trial, from: usize, to: usize) -> Result<Vec<Rung>, String> {
        let proxy = TrainConfig {
            seed: trial.seed,
            ..self.config.proxy.clone()
        };
        let ends = proxy.progressive.stage_ends(proxy.epochs);
        let run = match self.rungs_dir {
            Some(dir) => {
                let root = dir.join(trial.id.to_string());
                if from == 0 {
                    // A network proposed again after a kill starts afresh.
                    let _ = std::fs::remove_dir_all(&root);
                }
                Some(TrainDir::create(&root).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let trainer = Trainer {
            spec: &trial.spec,
            splits: self.splits,
            config: &proxy,
            device: self.device,
            ops: self.ops,
            run: run.as_ref(),
            resume: true,
            init_from: None,
        };
        let mut epochs: Vec<EpochRecord> = Vec::new();
        let report = guarded(|| {
            trainer.run_until(ends[to], &mut |event| {
                if let Event::EpochEnd(record) = event
                    && run.is_none()
                {
                    epochs.push(record.clone());
                }
            })
        })
        .map_err(|e| format!("proxy training: {e}"))?;
        if let Outcome::Diverged { epoch, step, loss } = report.outcome {
            return Err(format!(
                "proxy training diverged: loss {loss} at step {step} (epoch {})",
                epoch + 1
            ));
        }
        // A rung trained partly before a kill has its first epochs in the run's
        // metrics only: where there is a run, its metrics are the record, and the
        // events are collected only where there is none.
        let epochs = match &run {
            Some(run) => run
                .metrics()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter_map(|line| match line {
                    MetricLine::Epoch(record) => Some(record),
                    _ => None,
                })
                .collect(),
            None => epochs,
        };
        let step_ms = trial.step_median().unwrap_or(f64::NAN);
        (from..=to)
            .map(|r| {
                let begin = if r == 0 { 0 } else { ends[r - 1] };
                let end = epochs
                    .iter()
                    .find(|e| e.epoch == ends[r])
                    .ok_or_else(|| format!("proxy training: no record of epoch {}", ends[r]))?;
                let seconds = epochs
                    .iter()
                    .filter(|e| e.epoch > begin && e.epoch <= ends[r])
                    .map(|e| e.epoch_s)
                    .sum();
                Ok(Rung {
                    epochs: ends[r],
                    size: proxy.progressive.at(r).size,
                    accuracy: end.val_acc,
                    reward: self.config.reward.of(end.val_acc, step_ms, trial.params),
                    seconds,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors() {
        assert_eq!(guarded(|| Ok::<_, String>(3)), Ok(3));
        assert_eq!(guarded(|| Err::<u8, _>("no")), Err("no".to_string()));
        let e = guarded(|| -> Result<u8, String> { panic!("deep in a kernel") }).unwrap_err();
        assert_eq!(e, "panicked: deep in a kernel");
    }
}
