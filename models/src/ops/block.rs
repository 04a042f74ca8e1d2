//! A whole block as one training op: its convolutions, BatchNorms (with the SiLU
//! that follows), squeeze-excitation and shortcut with stochastic depth run in one
//! candle custom op with a hand-written backward pass. candle's autograd then holds
//! one node per block instead of one per layer, and each node it holds costs a
//! zero-filled gradient buffer and an addition into it in every backward pass; the
//! residual add, the drop-path mask and the SE gating also stop being separate
//! element-wise passes with their own temporaries.
//!
//! The stages reuse the per-layer kernels of this module. The op reads the block's
//! parameters itself (the tensors come with it, in stage order) and hands their
//! gradients to a [`ParamGrads`] instead of returning them through candle's graph
//! (that module says why). The forward pass keeps the input of every stage after
//! the first, each dense convolution's unfolded columns (the weight gradient needs
//! them; unfolding again cost about a tenth of a proxy-scale step) and SE's small
//! vectors, for the backward pass, which frees them as it goes.

use std::any::Any;
use std::sync::{Arc, Mutex};

use candle_core::{
    CpuStorage, CustomOp2, Device, Layout, Result, Shape, Storage, StorageRef, Tensor, WithDType,
};
use rayon::prelude::*;

use super::batch_norm::{self, Dims, Stats, to_f64};
use super::buffer::unfilled;
use super::conv::{self, Mat, matmul};
use super::depthwise;
use super::param_grads::ParamGrads;
use super::real::{Real, by_dtype, kernel, slice};

/// One layer of a block, as the op runs it. Input channels come from the shape
/// that reaches the stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Dense convolution, weight `[Co, Ci, k, k]`, padding k/2.
    Conv {
        out_channels: usize,
        kernel: usize,
        stride: usize,
    },
    /// One k×k filter per channel, weight `[C, 1, k, k]`.
    Depthwise { kernel: usize, stride: usize },
    /// Training-mode BatchNorm (γ `[C]`, β `[C]`), then SiLU if `silu`.
    BatchNorm { silu: bool },
    /// Squeeze-excitation: reduce weight `[S, C]`, bias `[S]`, expand weight
    /// `[C, S]`, bias `[C]`; SiLU inside, sigmoid gate.
    SqueezeExcite { squeeze: usize },
}

/// Where a stage's input comes from and which of the block's parameters are its
/// own.
#[derive(Clone, Copy, Debug)]
struct Slot {
    input: [usize; 4],
    /// The index of its first parameter tensor.
    params: usize,
}

/// The number of values of each of a stage's parameters, on `c` input channels.
fn param_lens(stage: Stage, c: usize) -> Vec<usize> {
    match stage {
        Stage::Conv {
            out_channels,
            kernel,
            ..
        } => vec![out_channels * c * kernel * kernel],
        Stage::Depthwise { kernel, .. } => vec![c * kernel * kernel],
        Stage::BatchNorm { .. } => vec![c, c],
        Stage::SqueezeExcite { squeeze } => vec![squeeze * c, squeeze, c * squeeze, c],
    }
}

/// The slot of every stage and the output shape, after checking that `params`
/// are the stages' parameters.
fn layout(stages: &[Stage], x: [usize; 4], params: &[Tensor]) -> Result<(Vec<Slot>, [usize; 4])> {
    let (mut dims, mut first) = (x, 0);
    let mut slots = Vec::with_capacity(stages.len());
    for &stage in stages {
        slots.push(Slot {
            input: dims,
            params: first,
        });
        let [b, c, h, w] = dims;
        for len in param_lens(stage, c) {
            let given = params.get(first).map(Tensor::elem_count);
            if given != Some(len) {
                candle_core::bail!(
                    "whole-block op: parameter {first} (of stage {stage:?} on {c} channels) should have {len} values, got {given:?}"
                );
            }
            first += 1;
        }
        dims = match stage {
            Stage::Conv {
                out_channels,
                kernel,
                stride,
            } => conv::Geometry::new(&dims, &[out_channels, c, kernel, kernel], stride).out_dims(),
            Stage::Depthwise { kernel, stride } => {
                depthwise::Geometry::new(&dims, kernel, stride).out_dims(b)
            }
            Stage::BatchNorm { .. } | Stage::SqueezeExcite { .. } => dims,
        };
        if dims.contains(&0) {
            candle_core::bail!(
                "whole-block op: stage {stage:?} on {b}x{c}x{h}x{w} gives an empty map"
            );
        }
    }
    if first != params.len() {
        candle_core::bail!(
            "whole-block op: its stages take {first} parameter tensors, {} were given",
            params.len()
        );
    }
    Ok((slots, dims))
}

/// The tensors' storages, read-locked while the op runs.
fn read_locked(params: &[Tensor]) -> Vec<(StorageRef<'_>, &Layout)> {
    params.iter().map(Tensor::storage_and_layout).collect()
}

/// The values of read-locked tensors.
fn values<'a, T: Real>(locked: &'a [(StorageRef<'_>, &Layout)], op: &str) -> Result<Vec<&'a [T]>> {
    locked
        .iter()
        .map(|(storage, layout)| match &**storage {
            Storage::Cpu(cpu) => slice(cpu, layout, op),
            _ => candle_core::bail!("{op}: expects tensors on the CPU"),
        })
        .collect()
}

/// What a stage's backward pass needs besides its input.
enum Saved<T> {
    Nothing,
    /// A dense convolution's unfolded input.
    Columns(conv::Columns<T>),
    Norm(Stats),
    Excite {
        /// `[B, C]` plane means, `[B, S]` hidden pre-activations, `[B, C]` gates.
        pooled: Vec<T>,
        hidden: Vec<T>,
        gate: Vec<T>,
    },
}

/// The forward pass's record for the backward pass.
struct Trace<T> {
    /// The input of every stage but the first (the op's own input).
    inputs: Vec<Vec<T>>,
    saved: Vec<Saved<T>>,
}

#[inline(always)]
fn silu_grad<T: Real>(a: T) -> T {
    let s = a.sigmoid();
    s * (T::ONE + a * (T::ONE - s))
}

kernel! {
fn plane_dot<T: Real>(a: &[T], b: &[T]) -> T {
    depthwise::dot(a, b)
}
}

kernel! {
/// `out = x·gate` over one plane.
fn scale_plane<T: Real>(out: &mut [T], x: &[T], gate: T) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * gate;
    }
}
}

kernel! {
/// `out = g·gate + shift` over one plane (SE's input gradient).
fn scale_shift_plane<T: Real>(out: &mut [T], g: &[T], gate: T, shift: T) {
    for (o, &v) in out.iter_mut().zip(g) {
        *o = v * gate + shift;
    }
}
}

kernel! {
/// `out = x + keep·out` over one image (the shortcut).
fn shortcut_image<T: Real>(out: &mut [T], x: &[T], keep: T) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v + keep * *o;
    }
}
}

/// `[B, S]` = `[B, K]` · `w`ᵀ + `bias`, `w` being `[S, K]` row-major.
fn dense<T: Real>(input: &[T], w: &[T], bias: &[T], (b, k, s): (usize, usize, usize)) -> Vec<T> {
    let mut out: Vec<T> = (0..b).flat_map(|_| bias.iter().copied()).collect();
    matmul(
        (b, s, k),
        &mut out,
        true,
        Mat::rows(input, k),
        Mat::transposed(w, k),
        1,
    );
    out
}

/// `p`: reduce weight, reduce bias, expand weight, expand bias.
fn excite_forward<T: Real>(
    x: &[T],
    p: &[&[T]],
    dims: [usize; 4],
    squeeze: usize,
) -> (Vec<T>, Saved<T>) {
    let [b, c, h, w] = dims;
    let (plane, s) = (h * w, squeeze);
    let [reduce, reduce_bias, expand, expand_bias] = [p[0], p[1], p[2], p[3]];
    let inv = T::from_f64(1.0 / plane as f64);
    let pooled: Vec<T> = x
        .par_chunks(plane)
        .map(|p| batch_norm::plane_sum(p) * inv)
        .collect();
    let hidden = dense(&pooled, reduce, reduce_bias, (b, c, s));
    let act: Vec<T> = hidden.iter().map(|&a| a * a.sigmoid()).collect();
    let gate: Vec<T> = dense(&act, expand, expand_bias, (b, s, c))
        .into_iter()
        .map(|a| a.sigmoid())
        .collect();
    // SAFETY: `scale_plane` writes every plane.
    let mut y = unsafe { unfilled(x.len()) };
    y.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .zip(gate.par_iter())
        .for_each(|((out, xs), &g)| scale_plane(out, xs, g));
    (
        y,
        Saved::Excite {
            pooled,
            hidden,
            gate,
        },
    )
}

/// SE's backward pass: the input gradient, and the gradients of `p` (as
/// [`excite_forward`]'s) pushed onto `gp` in order.
fn excite_backward<T: Real>(
    x: &[T],
    gy: &[T],
    (p, gp): (&[&[T]], &mut Vec<Vec<T>>),
    dims: [usize; 4],
    squeeze: usize,
    (pooled, hidden, gate): (&[T], &[T], &[T]),
) -> Vec<T> {
    let [b, c, h, w] = dims;
    let (plane, s) = (h * w, squeeze);
    let (reduce, expand) = (p[0], p[2]);
    let mut g_reduce = vec![T::ZERO; s * c];
    let mut g_reduce_bias = vec![T::ZERO; s];
    let mut g_expand = vec![T::ZERO; c * s];
    let mut g_expand_bias = vec![T::ZERO; c];
    // Through the gate: ∂/∂gate = Σ gy·x over the plane, then the sigmoid.
    let g_pre: Vec<T> = gy
        .par_chunks(plane)
        .zip(x.par_chunks(plane))
        .zip(gate.par_iter())
        .map(|((gs, xs), &g)| plane_dot(gs, xs) * g * (T::ONE - g))
        .collect();
    let act: Vec<T> = hidden.iter().map(|&a| a * a.sigmoid()).collect();
    // Expand: [B, C] = act [B, S] · expandᵀ + bias.
    matmul(
        (c, s, b),
        &mut g_expand,
        false,
        Mat::transposed(&g_pre, c),
        Mat::rows(&act, s),
        1,
    );
    for (i, gb) in g_expand_bias.iter_mut().enumerate() {
        *gb = (0..b).fold(T::ZERO, |acc, n| acc + g_pre[n * c + i]);
    }
    let mut g_hidden = vec![T::ZERO; b * s];
    matmul(
        (b, s, c),
        &mut g_hidden,
        false,
        Mat::rows(&g_pre, c),
        Mat::rows(expand, s),
        1,
    );
    for (g, &a) in g_hidden.iter_mut().zip(hidden) {
        *g *= silu_grad(a);
    }
    // Reduce: [B, S] = pooled [B, C] · reduceᵀ + bias.
    matmul(
        (s, c, b),
        &mut g_reduce,
        false,
        Mat::transposed(&g_hidden, s),
        Mat::rows(pooled, c),
        1,
    );
    for (i, gb) in g_reduce_bias.iter_mut().enumerate() {
        *gb = (0..b).fold(T::ZERO, |acc, n| acc + g_hidden[n * s + i]);
    }
    let mut g_pooled = vec![T::ZERO; b * c];
    matmul(
        (b, c, s),
        &mut g_pooled,
        false,
        Mat::rows(&g_hidden, s),
        Mat::rows(reduce, c),
        1,
    );
    let inv = T::from_f64(1.0 / plane as f64);
    // SAFETY: `scale_shift_plane` writes every plane.
    let mut gx = unsafe { unfilled(x.len()) };
    gx.par_chunks_mut(plane)
        .zip(gy.par_chunks(plane))
        .zip(gate.par_iter().zip(g_pooled.par_iter()))
        .for_each(|((out, gs), (&g, &gp))| scale_shift_plane(out, gs, g, gp * inv));
    gp.extend([g_reduce, g_reduce_bias, g_expand, g_expand_bias]);
    gx
}

/// A block's input gradient (where wanted) and its parameters', in order.
type Gradients<T> = (Option<Vec<T>>, Vec<Vec<T>>);

/// The block's training forward pass: `(x, anchor) → y`, the anchor being its
/// [`ParamGrads`]'.
pub struct BlockTrain {
    pub stages: Vec<Stage>,
    /// The stages' parameters, in order.
    params: Vec<Tensor>,
    /// With a shortcut, `y = x + keep[b]·branch(x)[b]`: `keep` is 0 for an image
    /// whose branch is dropped, else 1/survival.
    pub shortcut: Option<Vec<f64>>,
    pub eps: f64,
    /// Each BatchNorm's batch statistics, in stage order, for the running ones.
    pub stats: Arc<Mutex<Vec<Stats>>>,
    /// Where the backward pass hands the parameters' gradients.
    grads: ParamGrads,
    trace: Mutex<Option<Box<dyn Any + Send>>>,
}

impl BlockTrain {
    /// `slots` and `out_dims` are [`layout`]'s for `dims`.
    fn forward<T: Real>(
        &self,
        x: &[T],
        dims: [usize; 4],
        p: &[&[T]],
        (slots, out_dims): (&[Slot], [usize; 4]),
    ) -> Result<Vec<T>> {
        let mut trace = Trace::<T> {
            inputs: Vec::with_capacity(self.stages.len()),
            saved: Vec::with_capacity(self.stages.len()),
        };
        let mut stats = Vec::new();
        let mut current: Option<Vec<T>> = None;
        for (stage, slot) in self.stages.iter().zip(slots) {
            let input = current.as_deref().unwrap_or(x);
            let p = &p[slot.params..];
            let (out, saved) = match *stage {
                Stage::Conv {
                    out_channels,
                    kernel,
                    stride,
                } => {
                    let w = [out_channels, slot.input[1], kernel, kernel];
                    let g = conv::Geometry::new(&slot.input, &w, stride);
                    let (y, columns) = conv::forward_keeping_columns(input, p[0], &g, true);
                    (y, Saved::Columns(columns))
                }
                Stage::Depthwise { kernel, stride } => {
                    let g = depthwise::Geometry::new(&slot.input, kernel, stride);
                    (depthwise::forward(input, p[0], &g), Saved::Nothing)
                }
                Stage::BatchNorm { silu } => {
                    let d = Dims::of(&slot.input);
                    let (y, s) = batch_norm::train_forward(input, d, p[0], p[1], self.eps, silu);
                    stats.push(s.clone());
                    (y, Saved::Norm(s))
                }
                Stage::SqueezeExcite { squeeze } => excite_forward(input, p, slot.input, squeeze),
            };
            if let Some(previous) = current.replace(out) {
                trace.inputs.push(previous);
            }
            trace.saved.push(saved);
        }
        let mut y = current.unwrap_or_else(|| x.to_vec());
        if let Some(keep) = &self.shortcut {
            if out_dims != dims {
                candle_core::bail!(
                    "whole-block op: a shortcut needs the branch to keep the shape {dims:?}, it gives {out_dims:?}"
                );
            }
            let image = y.len() / dims[0];
            y.par_chunks_mut(image)
                .zip(x.par_chunks(image))
                .zip(keep.par_iter())
                .for_each(|((out, xs), &k)| shortcut_image(out, xs, T::from_f64(k)));
        }
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = stats;
        *self.trace.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(trace));
        Ok(y)
    }

    /// `gx` (if `wants_gx`) and the parameters' gradients, in order, from the
    /// input, the parameters, the output gradient and the forward pass's trace.
    fn backward<T: Real>(
        &self,
        x: &[T],
        dims: [usize; 4],
        p: &[&[T]],
        gy: &[T],
        mut trace: Trace<T>,
        wants_gx: bool,
    ) -> Result<Gradients<T>> {
        let (slots, _) = layout(&self.stages, dims, &self.params)?;
        // Filled stage by stage from the last, so in reverse order.
        let mut gp: Vec<Vec<T>> = Vec::with_capacity(p.len());
        let mut g: Vec<T> = match &self.shortcut {
            Some(keep) => {
                let image = gy.len() / dims[0];
                // SAFETY: `scale_plane` writes every image.
                let mut g = unsafe { unfilled(gy.len()) };
                g.par_chunks_mut(image)
                    .zip(gy.par_chunks(image))
                    .zip(keep.par_iter())
                    .for_each(|((out, gs), &k)| scale_plane(out, gs, T::from_f64(k)));
                g
            }
            None => gy.to_vec(),
        };
        for (i, (stage, slot)) in self.stages.iter().zip(&slots).enumerate().rev() {
            let owned = if i > 0 { trace.inputs.pop() } else { None };
            let input = owned.as_deref().unwrap_or(x);
            let saved = trace.saved.pop().expect("one record per stage");
            let p = &p[slot.params..];
            // A convolution's input gradient is a product of its own: skipped
            // where nothing needs it.
            let input_grad = i > 0 || wants_gx;
            let mut own = Vec::new();
            g = match (*stage, saved) {
                (
                    Stage::Conv {
                        out_channels,
                        kernel,
                        stride,
                    },
                    saved,
                ) => {
                    let w = [out_channels, slot.input[1], kernel, kernel];
                    let geometry = conv::Geometry::new(&slot.input, &w, stride);
                    let kept = match saved {
                        Saved::Columns(columns) => columns,
                        _ => Vec::new(),
                    };
                    own.push(conv::grad_weight_from_columns(input, &g, &geometry, &kept));
                    drop(kept);
                    if input_grad {
                        conv::grad_input(&g, p[0], &geometry)
                    } else {
                        Vec::new()
                    }
                }
                (Stage::Depthwise { kernel, stride }, _) => {
                    let geometry = depthwise::Geometry::new(&slot.input, kernel, stride);
                    own.push(depthwise::grad_weight(input, &g, &geometry));
                    if input_grad {
                        depthwise::grad_input(&g, p[0], &geometry)
                    } else {
                        Vec::new()
                    }
                }
                (Stage::BatchNorm { silu }, Saved::Norm(stats)) => {
                    let (gx, dgamma, dbeta) = batch_norm::backward(
                        input,
                        g,
                        Dims::of(&slot.input),
                        &to_f64(p[0]),
                        &to_f64(p[1]),
                        &stats,
                        self.eps,
                        silu,
                    );
                    own.extend([dgamma, dbeta].map(|d| d.into_iter().map(T::from_f64).collect()));
                    gx
                }
                (
                    Stage::SqueezeExcite { squeeze },
                    Saved::Excite {
                        pooled,
                        hidden,
                        gate,
                    },
                ) => excite_backward(
                    input,
                    &g,
                    (p, &mut own),
                    slot.input,
                    squeeze,
                    (&pooled, &hidden, &gate),
                ),
                (stage, _) => candle_core::bail!("whole-block op: no record for {stage:?}"),
            };
            gp.extend(own.into_iter().rev());
        }
        gp.reverse();
        if !wants_gx {
            return Ok((None, gp));
        }
        if self.shortcut.is_some() {
            for (a, &b) in g.iter_mut().zip(gy) {
                *a += b;
            }
        }
        Ok((Some(g), gp))
    }
}

fn dims4(l: &Layout) -> Result<[usize; 4]> {
    l.dims().try_into().map_err(|_| {
        candle_core::Error::Msg(format!(
            "whole-block op: expects [B, C, H, W], got {:?}",
            l.dims()
        ))
    })
}

impl CustomOp2 for BlockTrain {
    fn name(&self) -> &'static str {
        "whole-block"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        _anchor: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = dims4(l1)?;
        let (slots, out) = layout(&self.stages, dims, &self.params)?;
        let locked = read_locked(&self.params);
        by_dtype!(s1, "whole-block", |T| {
            let y = self.forward::<T>(
                slice(s1, l1, self.name())?,
                dims,
                &values(&locked, self.name())?,
                (&slots, out),
            )?;
            Ok((T::to_cpu_storage_owned(y), Shape::from(out.to_vec())))
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        _anchor: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let trace = self
            .trace
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| {
                candle_core::Error::Msg(
                    "whole-block op: a second backward pass through one forward pass".into(),
                )
            })?;
        let gy = gy.contiguous()?;
        // The stem's input is the images: nothing needs their gradient.
        let wants_gx = x.track_op();
        let inputs = [x.clone(), gy];
        let inputs = read_locked(&inputs);
        let params = read_locked(&self.params);
        let (Storage::Cpu(storage), layout) = (&*inputs[0].0, inputs[0].1) else {
            candle_core::bail!("whole-block op: expects its input on the CPU")
        };
        let dims = dims4(layout)?;
        by_dtype!(storage, "whole-block-backward", |T| {
            let trace = *trace.downcast::<Trace<T>>().map_err(|_| {
                candle_core::Error::Msg("whole-block op: trace of another float type".into())
            })?;
            let [x_values, gy_values] = values::<T>(&inputs, self.name())?[..] else {
                unreachable!("two tensors")
            };
            let (gx, gp) = self.backward::<T>(
                x_values,
                dims,
                &values(&params, self.name())?,
                gy_values,
                trace,
                wants_gx,
            )?;
            for (param, grad) in self.params.iter().zip(gp) {
                let grad = Tensor::from_vec(grad, param.shape(), &Device::Cpu)?;
                self.grads.hand_over(param, grad);
            }
            let gx = gx.map(|gx| Tensor::from_vec(gx, x.shape(), &Device::Cpu));
            Ok((gx.transpose()?, None))
        })
    }
}

/// Runs `stages` (and the shortcut, if given) on `x` `[B, C, H, W]` in training
/// mode as one op. `params` are the stages' tensors in order (any shapes, with the
/// stages' numbers of values); their gradients go to `grads`, so a backward pass
/// through the op must be [`ParamGrads::backward`]. Returns the output and each
/// BatchNorm's batch statistics.
pub fn block_train(
    x: &Tensor,
    params: &[Tensor],
    stages: &[Stage],
    shortcut: Option<Vec<f64>>,
    eps: f64,
    grads: &ParamGrads,
) -> Result<(Tensor, Vec<Stats>)> {
    let stats = Arc::new(Mutex::new(Vec::new()));
    let op = BlockTrain {
        stages: stages.to_vec(),
        params: params.to_vec(),
        shortcut,
        eps,
        stats: stats.clone(),
        grads: grads.clone(),
        trace: Mutex::new(None),
    };
    let y = x.contiguous()?.apply_op2(grads.anchor(), op)?;
    let stats = std::mem::take(&mut *stats.lock().unwrap_or_else(|e| e.into_inner()));
    Ok((y, stats))
}
