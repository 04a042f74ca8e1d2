//! Per-tensor optimizer state: two buffers (RMSProp's mean square and momentum,
//! Adam's two moments), kept as host vectors updated in place by one fused kernel
//! for f32 tensors on CPU, or as tensors updated with candle's ops elsewhere.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::{CpuStorage, DType, InplaceOp2, Layout, Result, Tensor, Var};
use rayon::prelude::*;

pub(crate) enum Buffers {
    Host([Vec<f32>; 2]),
    Tensors([Tensor; 2]),
}

impl Buffers {
    /// Buffers shaped like `var`, filled with `init`.
    pub fn new(var: &Var, init: [f64; 2]) -> Result<Buffers> {
        let t = var.as_tensor();
        Ok(if t.device().is_cpu() && t.dtype() == DType::F32 {
            Buffers::Host(init.map(|v| vec![v as f32; t.elem_count()]))
        } else {
            Buffers::Tensors([
                t.ones_like()?.affine(init[0], 0.0)?,
                t.ones_like()?.affine(init[1], 0.0)?,
            ])
        })
    }

    /// The buffers as tensors shaped like `var`, for checkpoints.
    pub fn to_tensors(&self, var: &Var) -> Result<[Tensor; 2]> {
        let t = var.as_tensor();
        match self {
            Buffers::Host(b) => {
                let make = |v: &Vec<f32>| Tensor::from_slice(v, t.shape(), t.device());
                Ok([make(&b[0])?, make(&b[1])?])
            }
            Buffers::Tensors(b) => Ok(b.clone()),
        }
    }

    /// Replaces the buffers with checkpointed ones.
    pub fn load(&mut self, saved: [Tensor; 2]) -> Result<()> {
        match self {
            Buffers::Host(b) => {
                for (dst, src) in b.iter_mut().zip(saved) {
                    *dst = src.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
                }
            }
            Buffers::Tensors(b) => *b = saved,
        }
        Ok(())
    }
}

/// Applies `update(w, g, buffer0, buffer1)` to a CPU f32 tensor in place, chunk by
/// chunk on all cores.
pub(crate) struct HostUpdate<'a, F> {
    pub buffers: Mutex<&'a mut [Vec<f32>; 2]>,
    pub update: F,
}

impl<F> InplaceOp2 for HostUpdate<'_, F>
where
    F: Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync,
{
    fn name(&self) -> &'static str {
        "optimizer-update"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        grad: &CpuStorage,
        grad_l: &Layout,
    ) -> Result<()> {
        let (Some((start, end)), Some((gs, ge))) =
            (dst_l.contiguous_offsets(), grad_l.contiguous_offsets())
        else {
            candle_core::bail!("optimizer-update: expects contiguous tensors");
        };
        let (CpuStorage::F32(w), CpuStorage::F32(g)) = (dst, grad) else {
            candle_core::bail!("optimizer-update: expects f32 tensors");
        };
        let (w, g) = (&mut w[start..end], &g[gs..ge]);
        let mut buffers = self.buffers.lock().unwrap_or_else(|p| p.into_inner());
        let [b0, b1] = &mut **buffers;
        const CHUNK: usize = 1 << 14;
        w.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(b0.par_chunks_mut(CHUNK).zip(b1.par_chunks_mut(CHUNK)))
            .for_each(|((w, g), (b0, b1))| (self.update)(w, g, b0, b1));
        Ok(())
    }
}

/// Checkpoint names of slot `i`'s buffers.
pub(crate) fn names(i: usize, kinds: [&str; 2]) -> [String; 2] {
    kinds.map(|k| format!("{i}.{k}"))
}

/// Takes slot `i`'s two buffers out of a checkpoint.
pub(crate) fn take(
    saved: &mut HashMap<String, Tensor>,
    i: usize,
    kinds: [&str; 2],
) -> Result<[Tensor; 2]> {
    let [a, b] = names(i, kinds);
    match (saved.remove(&a), saved.remove(&b)) {
        (Some(x), Some(y)) => Ok([x, y]),
        _ => candle_core::bail!("optimizer state for tensor {i} is missing from the checkpoint"),
    }
}
