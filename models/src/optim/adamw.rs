//! AdamW: Adam with decoupled weight decay (Loshchilov & Hutter).

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use super::buffers::{Buffers, HostUpdate, names, take};
use super::{Optimizer, Slot, slots};
use crate::ops::{Real, kernel};
use crate::params::ParamStore;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled: `w ← w − lr·wd·w`, on conv and FC kernels only.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.05,
        }
    }
}

/// `m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
/// w ← w − lr·(m̂ / (√v̂ + ε) + wd·w)` with bias-corrected `m̂`, `v̂`, as PyTorch's.
pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    /// Per slot: first moment, second moment.
    state: Vec<Buffers>,
    steps: u64,
}

const KINDS: [&str; 2] = ["m", "v"];

impl AdamW {
    pub fn new(params: &ParamStore, config: AdamWConfig) -> Result<AdamW> {
        let slots = slots(params);
        let state = slots
            .iter()
            .map(|s| Buffers::new(&s.var, [0.0, 0.0]))
            .collect::<Result<_>>()?;
        Ok(AdamW {
            config,
            slots,
            state,
            steps: 0,
        })
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.steps += 1;
        let c = self.config;
        let t = self.steps as i32;
        let (correct1, correct2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        for (slot, state) in self.slots.iter().zip(&mut self.state) {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let decay = if slot.decay {
                c.lr * c.weight_decay
            } else {
                0.0
            };
            match state {
                Buffers::Host(buffers) => {
                    let consts = [
                        c.beta1,
                        1.0 - c.beta1,
                        c.beta2,
                        1.0 - c.beta2,
                        c.lr / correct1,
                        1.0 / correct2.sqrt(),
                        c.eps,
                        1.0 - decay,
                    ]
                    .map(|v| v as f32);
                    let update = HostUpdate {
                        buffers: Mutex::new(buffers),
                        update: |w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
                            update_chunk(w, g, m, v, &consts)
                        },
                    };
                    slot.var
                        .as_tensor()
                        .inplace_op2(&grad.contiguous()?, &update)?;
                }
                Buffers::Tensors([m, v]) => {
                    // Detached, for the reason given in RMSProp.
                    let (w, grad) = (&slot.var.as_tensor().detach(), &grad.detach());
                    let new_m = ((&*m * c.beta1)? + (grad * (1.0 - c.beta1))?)?;
                    let new_v = ((&*v * c.beta2)? + (grad.sqr()? * (1.0 - c.beta2))?)?;
                    let denominator = ((&new_v / correct2)?.sqrt()? + c.eps)?;
                    let step = ((&new_m / correct1)? / denominator)?;
                    let decayed = (w * (1.0 - decay))?;
                    slot.var.set(&(decayed - (step * c.lr)?)?)?;
                    *m = new_m;
                    *v = new_v;
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
        let device = self
            .slots
            .first()
            .map(|s| s.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let mut out = vec![(
            "steps".to_string(),
            Tensor::new(&[self.steps as f64], &device)?,
        )];
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
        let Some(steps) = saved.remove("steps") else {
            candle_core::bail!("AdamW step count is missing from the checkpoint");
        };
        self.steps = steps
            .to_dtype(candle_core::DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?[0] as u64;
        for (i, state) in self.state.iter_mut().enumerate() {
            state.load(take(&mut saved, i, KINDS)?)?;
        }
        Ok(())
    }
}

kernel! {
fn update_chunk<T: Real>(w: &mut [T], g: &[T], m: &mut [T], v: &mut [T], c: &[T; 8]) {
    let [beta1, keep1, beta2, keep2, step_size, inv_correct2, eps, shrink] = *c;
    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = beta1 * *m + keep1 * g;
        *v = beta2 * *v + keep2 * g * g;
        *w = shrink * *w - step_size * *m / ((*v).sqrt() * inv_correct2 + eps);
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
        let (w, b) = (p[0].var.as_tensor(), p[1].var.as_tensor());
        (w.sqr().unwrap().sum_all().unwrap() + (b * 3.0).unwrap().sum_all().unwrap()).unwrap()
    }

    /// The fused f32 kernel and candle's tensor ops compute the same updates, and
    /// state saved and loaded continues the same way.
    #[test]
    fn fused_update_matches_tensor_ops_and_state_round_trips() {
        let (fused, reference) = (store(DType::F32), store(DType::F64));
        let config = AdamWConfig {
            lr: 0.05,
            ..AdamWConfig::default()
        };
        let mut a = AdamW::new(&fused, config).unwrap();
        let mut b = AdamW::new(&reference, config).unwrap();
        for _ in 0..3 {
            a.step(&loss(&fused).backward().unwrap()).unwrap();
            b.step(&loss(&reference).backward().unwrap()).unwrap();
        }
        let saved: HashMap<String, Tensor> = a.state().unwrap().into_iter().collect();
        let mut a = AdamW::new(&fused, config).unwrap();
        a.load_state(saved).unwrap();
        for _ in 0..3 {
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
