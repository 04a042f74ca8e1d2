//! The training-aware evaluator (paper §3.3): for each candidate, cheapest first,
//! (1) analytic cost and a memory check, (2) measured training step time at the
//! target batch and size, (3) proxy accuracy from a short training run, and
//! (4) the reward `A · S^w · P^v` with S and P relative to a reference network.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use candle_core::Device;
use models::ops::OpSet;
use serde::{Deserialize, Serialize};
use space::{ArchSpec, Choices, analyze, estimate_training_memory};

use crate::data::Splits;
use crate::step_time::StepTimer;
use crate::train::{Outcome, TrainConfig, Trainer};
use crate::trial::{StepStats, Trial, TrialStatus};

/// How step time is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub batch: usize,
    pub size: usize,
    pub steps: usize,
    pub warmup: usize,
}

/// The reward's exponents and the reference it normalises by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    /// Exponent of normalised step time (the paper's w = −0.07).
    pub w: f64,
    /// Exponent of normalised parameters (the paper's v = −0.05).
    pub v: f64,
    pub reference_step_ms: f64,
    pub reference_params: u64,
}

impl Reward {
    /// `A · (S/S_ref)^w · (P/P_ref)^v`.
    pub fn of(&self, accuracy: f64, step_ms: f64, params: u64) -> f64 {
        accuracy
            * (step_ms / self.reference_step_ms).powf(self.w)
            * (params as f64 / self.reference_params as f64).powf(self.v)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorConfig {
    pub timing: Timing,
    /// Candidates whose estimated training memory exceeds this are skipped.
    pub memory_cap_bytes: u64,
    /// Proxy training (on the search's data, adapted to its channels and classes).
    pub proxy: TrainConfig,
    pub reward: Reward,
}

pub struct Evaluator<'a> {
    pub config: &'a EvaluatorConfig,
    pub splits: &'a Splits,
    pub device: &'a Device,
    pub ops: OpSet,
}

/// Median, min, max and IQR of one network's training step, in milliseconds.
pub fn time_steps(
    spec: &ArchSpec,
    timing: &Timing,
    seed: u64,
    device: &Device,
    ops: OpSet,
) -> Result<StepStats, String> {
    let timer = StepTimer {
        batch: timing.batch,
        size: timing.size,
        steps: timing.steps,
        warmup: timing.warmup,
        seed,
        ops,
    };
    let t = timer.run(spec, device, |_| {}).map_err(|e| e.to_string())?;
    Ok(StepStats {
        median: t.step_ms_median,
        min: t.step_ms_min,
        max: t.step_ms_max,
        iqr: t.step_ms_iqr,
    })
}

/// Runs `f`, turning a panic into an error message.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
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
    /// Evaluates one candidate; never fails: problems become a failed trial.
    pub fn evaluate(&self, id: usize, spec: &ArchSpec, choices: &Choices, seed: u64) -> Trial {
        let start = Instant::now();
        let c = self.config;
        let mut trial = Trial {
            id,
            status: TrialStatus::Failed,
            spec: spec.clone(),
            key: spec.canonical_key(),
            choices: choices.clone(),
            accuracy: None,
            step_ms: None,
            params: spec.param_count(),
            macs: 0,
            memory_bytes: 0,
            reward: None,
            error: None,
            step_time_s: 0.0,
            train_s: 0.0,
            total_s: 0.0,
            seed,
        };
        let finish = |mut t: Trial, status, error: Option<String>| {
            t.status = status;
            t.error = error;
            t.total_s = start.elapsed().as_secs_f64();
            t
        };

        // 1. Analytics and the memory check.
        match (
            analyze(spec, c.timing.size),
            estimate_training_memory(spec, c.timing.batch, c.timing.size),
        ) {
            (Ok(a), Ok(m)) => {
                trial.macs = a.macs;
                trial.memory_bytes = m.total;
            }
            (Err(e), _) | (_, Err(e)) => {
                return finish(trial, TrialStatus::Failed, Some(e.to_string()));
            }
        }
        if trial.memory_bytes > c.memory_cap_bytes {
            let why = format!(
                "estimated training memory {} MiB is over the cap of {} MiB",
                trial.memory_bytes >> 20,
                c.memory_cap_bytes >> 20
            );
            return finish(trial, TrialStatus::Skipped, Some(why));
        }

        // 2. Step time at the target batch and size.
        let timing = Instant::now();
        let steps = guarded(|| time_steps(spec, &c.timing, seed, self.device, self.ops));
        trial.step_time_s = timing.elapsed().as_secs_f64();
        let steps = match steps {
            Ok(s) => s,
            Err(e) => {
                return finish(
                    trial,
                    TrialStatus::Failed,
                    Some(format!("step timing: {e}")),
                );
            }
        };

        // 3. Proxy accuracy.
        let training = Instant::now();
        let proxy = TrainConfig {
            seed,
            ..c.proxy.clone()
        };
        let report = guarded(|| {
            Trainer {
                spec,
                splits: self.splits,
                config: &proxy,
                device: self.device,
                ops: self.ops,
                run: None,
                resume: false,
            }
            .run(&mut |_| {})
            .map_err(|e| e.to_string())
        });
        trial.train_s = training.elapsed().as_secs_f64();
        trial.step_ms = Some(steps.clone());
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                return finish(
                    trial,
                    TrialStatus::Failed,
                    Some(format!("proxy training: {e}")),
                );
            }
        };
        if let Outcome::Diverged { epoch, step, loss } = report.outcome {
            let why = format!(
                "proxy training diverged: loss {loss} at step {step} (epoch {})",
                epoch + 1
            );
            return finish(trial, TrialStatus::Failed, Some(why));
        }

        // 4. Reward.
        trial.accuracy = Some(report.val_acc);
        trial.reward = Some(c.reward.of(report.val_acc, steps.median, trial.params));
        finish(trial, TrialStatus::Done, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_follows_the_paper() {
        let r = Reward {
            w: -0.07,
            v: -0.05,
            reference_step_ms: 100.0,
            reference_params: 1_000_000,
        };
        assert!((r.of(0.8, 100.0, 1_000_000) - 0.8).abs() < 1e-12);
        // Twice as slow costs 2^-0.07 ≈ 4.7%; twice the parameters 2^-0.05 ≈ 3.4%.
        assert!((r.of(0.8, 200.0, 1_000_000) - 0.8 * 2f64.powf(-0.07)).abs() < 1e-12);
        assert!((r.of(0.8, 100.0, 2_000_000) - 0.8 * 2f64.powf(-0.05)).abs() < 1e-12);
        assert!(r.of(0.8, 50.0, 500_000) > 0.8);
    }
}
