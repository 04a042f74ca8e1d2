//! RMSProp as TensorFlow defines it, which the paper's recipe uses.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use super::{Optimizer, Slot, slots};
use crate::params::ParamStore;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    pub lr: f64,
    /// Decay of the mean square (TF's `rho`, PyTorch's `alpha`).
    pub decay: f64,
    pub momentum: f64,
    /// Added inside the square root, as TF does.
    pub eps: f64,
    /// L2 weight decay, added to the gradient of decayed tensors.
    pub weight_decay: f64,
}

impl Default for RmsPropConfig {
    /// The paper's recipe: decay 0.9, momentum 0.9, eps 1e-3, weight decay 1e-5 and
    /// lr 0.016 per 256 images.
    fn default() -> Self {
        RmsPropConfig {
            lr: 0.016,
            decay: 0.9,
            momentum: 0.9,
            eps: 1e-3,
            weight_decay: 1e-5,
        }
    }
}

/// `ms ← ρ·ms + (1−ρ)·g²;  mom ← μ·mom + lr·g/√(ms + ε);  w ← w − mom`, with the
/// mean square starting at 1 as in TensorFlow (a start at 0 makes the first steps
/// huge).
pub struct RmsProp {
    config: RmsPropConfig,
    slots: Vec<Slot>,
    mean_square: Vec<Tensor>,
    momentum: Vec<Tensor>,
}

impl RmsProp {
    pub fn new(params: &ParamStore, config: RmsPropConfig) -> Result<RmsProp> {
        let slots = slots(params);
        let mean_square = slots
            .iter()
            .map(|s| s.var.ones_like())
            .collect::<Result<_>>()?;
        let momentum = slots
            .iter()
            .map(|s| s.var.zeros_like())
            .collect::<Result<_>>()?;
        Ok(RmsProp {
            config,
            slots,
            mean_square,
            momentum,
        })
    }
}

impl Optimizer for RmsProp {
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
            let ms = ((&self.mean_square[i] * c.decay)? + (grad.sqr()? * (1.0 - c.decay))?)?;
            let update = (grad / (&ms + c.eps)?.sqrt()?)?;
            let mom = ((&self.momentum[i] * c.momentum)? + (update * c.lr)?)?;
            slot.var.set(&(w - &mom)?)?;
            self.mean_square[i] = ms;
            self.momentum[i] = mom;
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::params::Role;

    /// State built from a weight that still tracked its graph once chained every
    /// step's graph to the next, so memory grew by a step's activations per step.
    #[test]
    fn state_does_not_hold_on_to_graphs() {
        let mut store = ParamStore::new(0, &Device::Cpu, DType::F32);
        let w = store.conv_weight("w".into(), &[4, 3, 3, 3], 1).unwrap();
        store.constant("b".into(), 4, 0.0, Role::NoDecay).unwrap();
        let mut opt = RmsProp::new(&store, RmsPropConfig::default()).unwrap();
        for _ in 0..3 {
            let loss = w.as_tensor().sqr().unwrap().sum_all().unwrap();
            opt.step(&loss.backward().unwrap()).unwrap();
        }
        assert!(opt.mean_square.iter().chain(&opt.momentum).all(|t| !t.track_op()));
    }
}
