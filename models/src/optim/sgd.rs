//! Stochastic gradient descent with momentum.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use super::{Optimizer, Slot, slots};
use crate::params::ParamStore;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 1e-5,
            nesterov: false,
        }
    }
}

/// `v ← μ·v + g;  w ← w − lr·v` (or `w ← w − lr·(g + μ·v)` with Nesterov), as
/// PyTorch defines it.
pub struct Sgd {
    config: SgdConfig,
    slots: Vec<Slot>,
    velocity: Vec<Tensor>,
}

impl Sgd {
    pub fn new(params: &ParamStore, config: SgdConfig) -> Result<Sgd> {
        let slots = slots(params);
        let velocity = slots
            .iter()
            .map(|s| s.var.zeros_like())
            .collect::<Result<_>>()?;
        Ok(Sgd {
            config,
            slots,
            velocity,
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let c = self.config;
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            // Detached: state computed from a tracked weight or gradient (candle's
            // backward can build gradients from variables) would chain every step's
            // graph to the next and keep them all alive.
            let (w, grad) = (&slot.var.as_tensor().detach(), &grad.detach());
            let grad = if slot.decay && c.weight_decay > 0.0 {
                (grad + (w * c.weight_decay)?)?
            } else {
                grad.clone()
            };
            let v = ((&self.velocity[i] * c.momentum)? + &grad)?;
            let direction = if c.nesterov {
                (grad + (&v * c.momentum)?)?
            } else {
                v.clone()
            };
            slot.var.set(&(w - (direction * c.lr)?)?)?;
            self.velocity[i] = v;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        Ok(self
            .velocity
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{i}.velocity"), v.clone()))
            .collect())
    }

    fn load_state(&mut self, mut saved: HashMap<String, Tensor>) -> Result<()> {
        for (i, v) in self.velocity.iter_mut().enumerate() {
            match saved.remove(&format!("{i}.velocity")) {
                Some(t) => *v = t,
                None => candle_core::bail!(
                    "optimizer state for tensor {i} is missing from the checkpoint"
                ),
            }
        }
        Ok(())
    }
}
