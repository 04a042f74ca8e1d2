//! The REINFORCE controller of training-aware NAS: an independent categorical
//! distribution per choice dimension (softmax over logits), sampled for each
//! proposal and moved along `A·∇ log π(choices)`, where the advantage `A` is the
//! reward standardised by moving averages of its mean and variance (rewards differ
//! by a few hundredths; unscaled, the policy would barely move). The paper's controller is an RNN over the same factorised choices;
//! this factorised policy is its simplest form.

use rand::Rng;
use rand::rngs::StdRng;
use space::{ChoiceSpace, Choices};

use super::{Observation, Strategy};

pub struct Reinforce {
    logits: Vec<Vec<f64>>,
    learning_rate: f64,
    baseline_decay: f64,
    /// Moving mean and variance of the rewards.
    baseline: Option<(f64, f64)>,
}

impl Reinforce {
    pub fn new(space: &dyn ChoiceSpace, learning_rate: f64, baseline_decay: f64) -> Reinforce {
        Reinforce {
            logits: space.options().iter().map(|&n| vec![0.0; n]).collect(),
            learning_rate,
            baseline_decay,
            baseline: None,
        }
    }

    fn probabilities(logits: &[f64]) -> Vec<f64> {
        let max = logits.iter().cloned().fold(f64::MIN, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.iter().map(|e| e / sum).collect()
    }

    /// The most likely choice in every dimension.
    pub fn mode(&self) -> Choices {
        Choices(
            self.logits
                .iter()
                .map(|l| {
                    l.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |(i, _)| i)
                })
                .collect(),
        )
    }
}

impl Strategy for Reinforce {
    fn propose(&mut self, _: &dyn ChoiceSpace, _: &[Observation], rng: &mut StdRng) -> Choices {
        Choices(
            self.logits
                .iter()
                .map(|logits| {
                    let p = Self::probabilities(logits);
                    let mut u: f64 = rng.random();
                    p.iter()
                        .position(|&q| {
                            u -= q;
                            u <= 0.0
                        })
                        .unwrap_or(p.len() - 1)
                })
                .collect(),
        )
    }

    fn observe(&mut self, _: &dyn ChoiceSpace, o: &Observation) {
        let Some(reward) = o.reward else { return };
        let (mean, var) = *self.baseline.get_or_insert((reward, 0.0));
        let advantage = if var > 0.0 {
            (reward - mean) / var.sqrt()
        } else {
            0.0
        };
        for (logits, &chosen) in self.logits.iter_mut().zip(&o.choices.0) {
            if chosen >= logits.len() {
                continue;
            }
            let p = Self::probabilities(logits);
            for (k, l) in logits.iter_mut().enumerate() {
                let indicator = if k == chosen { 1.0 } else { 0.0 };
                *l += self.learning_rate * advantage * (indicator - p[k]);
            }
        }
        let d = self.baseline_decay;
        let new_mean = d * mean + (1.0 - d) * reward;
        self.baseline = Some((
            new_mean,
            d * var + (1.0 - d) * (reward - mean) * (reward - new_mean),
        ));
    }
}
