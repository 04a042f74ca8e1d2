//! The training-aware evaluator (paper §3.3): for each candidate, cheapest first,
//! (1) analytic cost and a memory check, (2) measured training step time at the
//! target batch and size, (3) proxy accuracy from a short training run, and
//! (4) the reward `A · S^w · P^v` with S and P relative to a reference network.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use candle_core::Device;
use models::ops::OpSet;
pub use records::Reward;
use records::{Proposal, StepStats, Trial, TrialStatus};
use serde::{Deserialize, Serialize};
use space::{ArchSpec, analyze, estimate_training_memory};
use train::{Outcome, Splits, StepTimer, TrainConfig, Trainer};

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
    pub proxy: TrainConfig,
    pub reward: Reward,
}

pub struct Evaluator<'a> {
    pub config: &'a EvaluatorConfig,
    pub splits: &'a Splits,
    pub device: &'a Device,
    pub ops: OpSet,
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
    /// Evaluates one candidate; never fails: problems become a failed (or, over
    /// the memory cap, skipped) trial that says why.
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

        // 2. Step time at the target batch and size.
        let timing = Instant::now();
        let steps = guarded(|| c.timing.measure(spec, trial.seed, self.device, self.ops));
        trial.step_time_s = timing.elapsed().as_secs_f64();
        let steps = steps.map_err(|e| failed(format!("step timing: {e}")))?;

        // 3. Proxy accuracy.
        let training = Instant::now();
        let accuracy = self.proxy_accuracy(spec, trial.seed);
        trial.train_s = training.elapsed().as_secs_f64();
        trial.step_ms = Some(steps.clone());
        let accuracy = accuracy.map_err(failed)?;

        // 4. Reward.
        trial.accuracy = Some(accuracy);
        trial.reward = Some(c.reward.of(accuracy, steps.median, trial.params));
        Ok(())
    }

    /// Validation accuracy after the proxy training, or why there is none.
    fn proxy_accuracy(&self, spec: &ArchSpec, seed: u64) -> Result<f64, String> {
        let proxy = TrainConfig {
            seed,
            ..self.config.proxy.clone()
        };
        let trainer = Trainer {
            spec,
            splits: self.splits,
            config: &proxy,
            device: self.device,
            ops: self.ops,
            run: None,
            resume: false,
        };
        let report =
            guarded(|| trainer.run(&mut |_| {})).map_err(|e| format!("proxy training: {e}"))?;
        match report.outcome {
            Outcome::Completed => Ok(report.val_acc),
            Outcome::Diverged { epoch, step, loss } => Err(format!(
                "proxy training diverged: loss {loss} at step {step} (epoch {})",
                epoch + 1
            )),
        }
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
