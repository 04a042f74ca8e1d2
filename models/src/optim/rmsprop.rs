//! RMSProp as TensorFlow defines it, which the paper's recipe uses.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use super::buffers::{Buffers, HostUpdate, names, take};
use super::{Optimizer, Slot, slots};
use crate::ops::{Real, kernel};
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
    /// Per slot: mean square, momentum.
    state: Vec<Buffers>,
}

const KINDS: [&str; 2] = ["mean_square", "momentum"];

impl RmsProp {
    pub fn new(params: &ParamStore, config: RmsPropConfig) -> Result<RmsProp> {
        let slots = slots(params);
        let state = slots
            .iter()
            .map(|s| Buffers::new(&s.var, [1.0, 0.0]))
            .collect::<Result<_>>()?;
        Ok(RmsProp {
            config,
            slots,
            state,
        })
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        let c = self.config;
        for (slot, state) in self.slots.iter().zip(&mut self.state) {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let weight_decay = if slot.decay { c.weight_decay } else { 0.0 };
            match state {
                Buffers::Host(buffers) => {
                    let consts = [
                        c.lr,
                        c.decay,
                        1.0 - c.decay,
                        c.momentum,
                        c.eps,
                        weight_decay,
                    ]
                    .map(|v| v as f32);
                    let update = HostUpdate {
                        buffers: Mutex::new(buffers),
                        update: |w: &mut [f32], g: &[f32], ms: &mut [f32], mom: &mut [f32]| {
                            update_chunk(w, g, ms, mom, &consts)
                        },
                    };
                    slot.var
                        .as_tensor()
                        .inplace_op2(&grad.contiguous()?, &update)?;
                }
                Buffers::Tensors([mean_square, momentum]) => {
                    // Detached: state computed from a tracked weight or gradient
                    // (candle's backward can build gradients from variables) would
                    // chain every step's graph to the next and keep them all alive.
                    let (w, grad) = (&slot.var.as_tensor().detach(), &grad.detach());
                    let grad = if weight_decay > 0.0 {
                        (grad + (w * weight_decay)?)?
                    } else {
                        grad.clone()
                    };
                    let ms = ((&*mean_square * c.decay)? + (grad.sqr()? * (1.0 - c.decay))?)?;
                    let update = (grad / (&ms + c.eps)?.sqrt()?)?;
                    let mom = ((&*momentum * c.momentum)? + (update * c.lr)?)?;
                    slot.var.set(&(w - &mom)?)?;
                    *mean_square = ms;
                    *momentum = mom;
                }
            }
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
        let mut out = Vec::new();
        for (i, (slot, state)) in self.slots.iter().zip(&self.state).enumerate() {
            out.extend(
                names(i, KINDS)
                    .into_iter()
                    .zip(state.to_tensors(&slot.var)?),
            );
        }
        Ok(out)
    }

    fn load_state(&mut self, mut saved: HashMap<String, Tensor>) -> Result<()> {
        for (i, state) in self.state.iter_mut().enumerate() {
            state.load(take(&mut saved, i, KINDS)?)?;
        }
        Ok(())
    }
}

kernel! {
/// One chunk of the update, in a single pass over weight, gradient and state.
fn update_chunk<T: Real>(w: &mut [T], g: &[T], ms: &mut [T], mom: &mut [T], c: &[T; 6]) {
    let [lr, decay, keep, momentum, eps, weight_decay] = *c;
    for (((w, &g), ms), mom) in w.iter_mut().zip(g).zip(ms.iter_mut()).zip(mom.iter_mut()) {
        let g = g + weight_decay * *w;
        *ms = decay * *ms + keep * g * g;
        *mom = momentum * *mom + lr * g / (*ms + eps).sqrt();
        *w -= *mom;
    }
}
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::params::Role;

    fn store(dtype: DType) -> ParamStore {
        let mut store = ParamStore::new(0, &Device::Cpu, dtype);
        store.conv_weight("w".into(), &[4, 3, 3, 3], 1).unwrap();
        store.constant("b".into(), 4, 0.5, Role::NoDecay).unwrap();
        store
    }

    fn loss(store: &ParamStore) -> Tensor {
        let p = store.params();
        let w = p[0].var.as_tensor();
        let b = p[1].var.as_tensor();
        (w.sqr().unwrap().sum_all().unwrap() + (b * 3.0).unwrap().sum_all().unwrap()).unwrap()
    }

    /// State built from a weight that still tracked its graph once chained every
    /// step's graph to the next, so memory grew by a step's activations per step.
    #[test]
    fn tensor_state_does_not_hold_on_to_graphs() {
        let store = store(DType::F64);
        let mut opt = RmsProp::new(&store, RmsPropConfig::default()).unwrap();
        for _ in 0..3 {
            opt.step(&loss(&store).backward().unwrap()).unwrap();
        }
        for state in &opt.state {
            let Buffers::Tensors([mean_square, momentum]) = state else {
                panic!("f64 uses tensors")
            };
            assert!(!mean_square.track_op() && !momentum.track_op());
        }
    }

    /// The fused f32 kernel and candle's tensor ops compute the same updates.
    #[test]
    fn fused_update_matches_tensor_ops() {
        let (fused, reference) = (store(DType::F32), store(DType::F64));
        let config = RmsPropConfig {
            weight_decay: 0.01,
            lr: 0.05,
            ..RmsPropConfig::default()
        };
        let mut a = RmsProp::new(&fused, config).unwrap();
        let mut b = RmsProp::new(&reference, config).unwrap();
        assert!(matches!(a.state[0], Buffers::Host(_)));
        for _ in 0..5 {
            a.step(&loss(&fused).backward().unwrap()).unwrap();
            b.step(&loss(&reference).backward().unwrap()).unwrap();
        }
        for (p, q) in fused.params().iter().zip(reference.params()) {
            let x: Vec<f32> = p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let y: Vec<f64> = q.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            for (x, y) in x.iter().zip(&y) {
                assert!(
                    (*x as f64 - y).abs() < 1e-5 * y.abs().max(1.0),
                    "{}: {x} vs {y}",
                    p.name
                );
            }
        }
    }
}
