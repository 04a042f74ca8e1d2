//! An exponential moving average of a network's tensors (weights and BatchNorm
//! statistics), evaluated instead of the raw weights, as the paper's recipe does.

use candle_core::{CpuStorage, InplaceOp2, Layout, Result};
use rayon::prelude::*;

use crate::error::ModelError;
use crate::network::EfficientNet;

/// A copy of a network whose tensors trail the original's.
pub struct Ema {
    pub model: EfficientNet,
    pub decay: f64,
    updates: u64,
}

impl Ema {
    /// Starts as an exact copy of `model`.
    pub fn new(model: &EfficientNet, decay: f64) -> std::result::Result<Ema, ModelError> {
        let copy =
            EfficientNet::with_dtype(model.spec(), 0, model.device(), model.params().dtype())?;
        for (dst, src) in copy.params().params().iter().zip(model.params().params()) {
            dst.var.set(&src.var.as_tensor().copy()?)?;
        }
        Ok(Ema {
            model: copy,
            decay,
            updates: 0,
        })
    }

    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Restores the update count of a resumed run.
    pub fn set_updates(&mut self, updates: u64) {
        self.updates = updates;
    }

    /// `ema ← d·ema + (1 − d)·w` with `d = min(decay, (1 + n) / (10 + n))` after `n`
    /// updates, TensorFlow's warm-up, so short runs are not dominated by the
    /// initial weights.
    pub fn update(&mut self, model: &EfficientNet) -> Result<()> {
        let n = self.updates as f64;
        let d = self.decay.min((1.0 + n) / (10.0 + n));
        self.updates += 1;
        for (dst, src) in self
            .model
            .params()
            .params()
            .iter()
            .zip(model.params().params())
        {
            let (e, w) = (dst.var.as_tensor(), src.var.as_tensor());
            if e.device().is_cpu() && e.dtype() == candle_core::DType::F32 {
                e.inplace_op2(w, &Average { decay: d as f32 })?;
            } else {
                dst.var.set(&((e * d)? + (w.detach() * (1.0 - d))?)?)?;
            }
        }
        Ok(())
    }
}

struct Average {
    decay: f32,
}

impl InplaceOp2 for Average {
    fn name(&self) -> &'static str {
        "ema-update"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dl: &Layout,
        src: &CpuStorage,
        sl: &Layout,
    ) -> Result<()> {
        let (Some((a, b)), Some((c, d))) = (dl.contiguous_offsets(), sl.contiguous_offsets())
        else {
            candle_core::bail!("ema-update: expects contiguous tensors");
        };
        let (CpuStorage::F32(e), CpuStorage::F32(w)) = (dst, src) else {
            candle_core::bail!("ema-update: expects f32 tensors");
        };
        let (decay, keep) = (self.decay, 1.0 - self.decay);
        e[a..b]
            .par_chunks_mut(1 << 14)
            .zip(w[c..d].par_chunks(1 << 14))
            .for_each(|(e, w)| {
                for (e, &w) in e.iter_mut().zip(w) {
                    *e = decay * *e + keep * w;
                }
            });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};

    use super::*;

    #[test]
    fn average_trails_the_weights() {
        let spec = space::ArchSpec::from_json(
            r#"{"name": "t", "input_channels": 1, "stem_channels": 8, "stem_stride": 1,
                "stages": ["r1_k3_s2_e1_i8_o8_c1"], "head_channels": 16, "classes": 3,
                "dropout": 0, "survival_prob": 1, "train_size": 8, "eval_size": 8}"#,
        )
        .unwrap();
        for dtype in [DType::F32, DType::F64] {
            let model = EfficientNet::with_dtype(&spec, 1, &Device::Cpu, dtype).unwrap();
            let mut ema = Ema::new(&model, 0.5).unwrap();
            let w = &model.params().params()[0].var;
            let start: Vec<f64> = w
                .as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            w.set(&(w.as_tensor() + 1.0).unwrap()).unwrap();
            ema.update(&model).unwrap(); // d = min(0.5, 1/10) = 0.1
            let e: Vec<f64> = ema.model.params().params()[0]
                .var
                .as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (s, e) in start.iter().zip(&e) {
                assert!(
                    (e - (s + 0.9)).abs() < 1e-5,
                    "{dtype:?}: {e} vs {}",
                    s + 0.9
                );
            }
            let _ = Tensor::zeros(1, dtype, &Device::Cpu);
        }
    }
}
