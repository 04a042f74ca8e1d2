//! BatchNorm over (batch, height, width), optionally fused with the SiLU that
//! follows it in every EfficientNet layer but the projections. Fusing saves a full
//! pass over the activation forward and two backward, and one stored tensor.
//!
//! Statistics are per channel (one task per channel); normalisation and both passes
//! of the backward are per plane (one task per image and channel). Planes under
//! [`SMALL_PLANE`] values are worked image by image instead, with each channel's
//! coefficients spread over its plane ([`Spread`]). The forward pass saves each
//! channel's mean and variance for the backward pass and the running statistics.

use std::sync::{Arc, Mutex};

use candle_core::{
    CpuStorage, CustomOp1, CustomOp3, DType, Layout, Result, Shape, Tensor, WithDType,
};
use rayon::prelude::*;

use super::buffer::unfilled;
use super::real::{Real, by_dtype, kernel, slice};

/// Per-channel statistics of one batch.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub mean: Vec<f64>,
    /// Biased variance (divided by N), as used to normalise.
    pub var: Vec<f64>,
    /// Values per channel (batch × height × width).
    pub count: usize,
}

#[derive(Clone, Copy)]
pub(super) struct Dims {
    channels: usize,
    plane: usize,
}

impl Dims {
    pub(super) fn of(dims: &[usize]) -> Dims {
        Dims {
            channels: dims[1],
            plane: dims[2..].iter().product(),
        }
    }

    fn image(&self) -> usize {
        self.channels * self.plane
    }

    fn small(&self) -> bool {
        self.plane < SMALL_PLANE
    }
}

/// Planes shorter than this many values are worked a whole image at a time. Plane
/// by plane, the proxy's 1×1 to 7×7 planes would fill a few of sixteen lanes (a
/// 3×3 plane 9, a 1×1 plane 1) and pay a loop's overhead for each; an image of
/// them is one long run of values.
const SMALL_PLANE: usize = 64;

/// Per-channel coefficients repeated over each channel's plane: one value for each
/// value of an image, so image-long loops need no per-plane bookkeeping.
struct Spread<T>(Vec<T>);

impl<T: Real> Spread<T> {
    fn new(per_channel: &[f64], d: Dims) -> Spread<T> {
        let mut values = Vec::with_capacity(d.image());
        for &v in per_channel {
            values.extend(std::iter::repeat_n(T::from_f64(v), d.plane));
        }
        Spread(values)
    }
}

/// Per-channel totals of `add`'s accumulation over the images of `x`: each task
/// adds its images value by value into one image-sized accumulator, and each
/// channel's plane of the summed accumulator is totalled in f64.
fn channel_totals<T: Real>(
    x: &[T],
    d: Dims,
    add: impl Fn(&mut [T], &[T]) + Sync + Send,
) -> Vec<f64> {
    let totals = x
        .par_chunks(d.image())
        .fold(
            || vec![T::ZERO; d.image()],
            |mut acc, image| {
                add(&mut acc, image);
                acc
            },
        )
        .reduce_with(|mut a, b| {
            add_values(&mut a, &b);
            a
        })
        .unwrap_or_else(|| vec![T::ZERO; d.image()]);
    totals
        .chunks(d.plane)
        .map(|p| p.iter().map(|v| v.to_f64()).sum())
        .collect()
}

kernel! {
/// `acc += values`.
fn add_values<T: Real>(acc: &mut [T], values: &[T]) {
    for (a, &v) in acc.iter_mut().zip(values) {
        *a += v;
    }
}
}

kernel! {
/// `acc += (values − mean)²`, value by value.
fn add_squared_deviations<T: Real>(acc: &mut [T], values: &[T], mean: &[T]) {
    for ((a, &v), &m) in acc.iter_mut().zip(values).zip(mean) {
        let d = v - m;
        *a += d * d;
    }
}
}

/// The planes of channel `c`, one per image.
fn planes_of<T>(x: &[T], d: Dims, c: usize) -> impl Iterator<Item = &[T]> {
    x.chunks(d.plane).skip(c).step_by(d.channels)
}

/// Sum with sixteen partial sums over fixed-size chunks, so the compiler keeps
/// vector accumulators.
#[inline(always)]
fn sum<T: Real>(values: &[T]) -> T {
    let mut acc = [T::ZERO; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        let chunk: &[T; 16] = chunk.try_into().expect("chunks of 16");
        for j in 0..16 {
            acc[j] += chunk[j];
        }
    }
    rest.iter()
        .fold(acc.iter().fold(T::ZERO, |s, &v| s + v), |s, &v| s + v)
}

kernel! {
pub(super) fn plane_sum<T: Real>(values: &[T]) -> T {
    sum(values)
}
}

kernel! {
fn squared_deviation<T: Real>(values: &[T], mean: T) -> T {
    let mut acc = [T::ZERO; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        let chunk: &[T; 16] = chunk.try_into().expect("chunks of 16");
        for j in 0..16 {
            let d = chunk[j] - mean;
            acc[j] += d * d;
        }
    }
    rest.iter().fold(acc.iter().fold(T::ZERO, |s, &v| s + v), |s, &v| s + (v - mean) * (v - mean))
}
}

/// Mean and biased variance per channel, two passes for accuracy.
fn statistics<T: Real>(x: &[T], d: Dims) -> Stats {
    let count = x.len() / d.channels;
    if d.small() {
        let totals = channel_totals(x, d, add_values);
        let mean: Vec<f64> = totals.iter().map(|t| t / count as f64).collect();
        let spread = Spread::new(&mean, d);
        let deviations = channel_totals(x, d, |acc, image| {
            add_squared_deviations(acc, image, &spread.0)
        });
        let var = deviations.iter().map(|t| t / count as f64).collect();
        return Stats { mean, var, count };
    }
    let per_channel: Vec<(f64, f64)> = (0..d.channels)
        .into_par_iter()
        .map(|c| {
            let total: f64 = planes_of(x, d, c).map(|p| plane_sum(p).to_f64()).sum();
            let mean = total / count as f64;
            let m = T::from_f64(mean);
            let dev: f64 = planes_of(x, d, c)
                .map(|p| squared_deviation(p, m).to_f64())
                .sum();
            (mean, dev / count as f64)
        })
        .collect();
    Stats {
        mean: per_channel.iter().map(|s| s.0).collect(),
        var: per_channel.iter().map(|s| s.1).collect(),
        count,
    }
}

/// Per-channel `scale` and `shift` so that `z = scale·x + shift`.
fn affine(stats: &Stats, gamma: &[f64], beta: &[f64], eps: f64) -> (Vec<f64>, Vec<f64>) {
    let scale: Vec<f64> = (0..gamma.len())
        .map(|c| gamma[c] / (stats.var[c] + eps).sqrt())
        .collect();
    let shift = (0..gamma.len())
        .map(|c| beta[c] - stats.mean[c] * scale[c])
        .collect();
    (scale, shift)
}

kernel! {
/// `out = a·x + b`, then SiLU if asked.
fn normalize_plane<T: Real>(out: &mut [T], input: &[T], a: T, b: T, silu: bool) {
    if silu {
        for (o, &v) in out.iter_mut().zip(input) {
            let z = a * v + b;
            *o = z * z.sigmoid();
        }
    } else {
        for (o, &v) in out.iter_mut().zip(input) {
            *o = a * v + b;
        }
    }
}
}

kernel! {
/// [`normalize_plane`] over a run of values with a coefficient for each.
fn normalize_values<T: Real>(out: &mut [T], input: &[T], a: &[T], b: &[T], silu: bool) {
    let values = out.iter_mut().zip(input).zip(a.iter().zip(b));
    if silu {
        for ((o, &v), (&a, &b)) in values {
            let z = a * v + b;
            *o = z * z.sigmoid();
        }
    } else {
        for ((o, &v), (&a, &b)) in values {
            *o = a * v + b;
        }
    }
}
}

fn normalize<T: Real>(x: &[T], d: Dims, scale: &[f64], shift: &[f64], silu: bool) -> Vec<T> {
    // SAFETY: every plane is written by `normalize_plane` or, image by image, by
    // `normalize_values`.
    let mut y = unsafe { unfilled(x.len()) };
    if d.small() {
        let (a, b) = (Spread::new(scale, d), Spread::new(shift, d));
        y.par_chunks_mut(d.image())
            .zip(x.par_chunks(d.image()))
            .for_each(|(out, input)| normalize_values(out, input, &a.0, &b.0, silu));
        return y;
    }
    y.par_chunks_mut(d.plane)
        .zip(x.par_chunks(d.plane))
        .enumerate()
        .for_each(|(p, (out, input))| {
            let c = p % d.channels;
            normalize_plane(
                out,
                input,
                T::from_f64(scale[c]),
                T::from_f64(shift[c]),
                silu,
            );
        });
    y
}

pub(super) fn to_f64<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|g| g.to_f64()).collect()
}

/// Training-mode BatchNorm(+SiLU) of `x` with γ and β: normalised with the batch's
/// statistics, which come back beside the output.
pub(super) fn train_forward<T: Real>(
    x: &[T],
    d: Dims,
    gamma: &[T],
    beta: &[T],
    eps: f64,
    silu: bool,
) -> (Vec<T>, Stats) {
    let stats = statistics(x, d);
    let (scale, shift) = affine(&stats, &to_f64(gamma), &to_f64(beta), eps);
    (normalize(x, d, &scale, &shift, silu), stats)
}

fn as_f64(t: &Tensor) -> Result<Vec<f64>> {
    t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()
}

/// Training-mode BatchNorm(+SiLU): `(x, gamma, beta) → y`, batch statistics.
pub struct BatchNormTrain {
    pub eps: f64,
    pub silu: bool,
    /// Filled by the forward pass; read by the backward pass and the caller (for
    /// the running statistics).
    pub stats: Arc<Mutex<Stats>>,
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = Dims::of(l1.dims());
        by_dtype!(s1, "batch-norm-train", |T| {
            let (y, stats) = train_forward(
                slice::<T>(s1, l1, self.name())?,
                d,
                slice::<T>(s2, l2, self.name())?,
                slice::<T>(s3, l3, self.name())?,
                self.eps,
                self.silu,
            );
            *self.stats.lock().unwrap_or_else(|p| p.into_inner()) = stats;
            Ok((T::to_cpu_storage_owned(y), l1.shape().clone()))
        })
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let backward = BatchNormBackward {
            eps: self.eps,
            silu: self.silu,
            gamma: as_f64(gamma)?,
            beta: as_f64(beta)?,
            stats,
            param_grads: Mutex::new(None),
        };
        let gx = x.apply_op2_no_bwd(&gy.contiguous()?, &backward)?;
        let (dgamma, dbeta) = backward
            .param_grads
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .expect("the backward kernel ran");
        let device = x.device();
        let dgamma = Tensor::from_vec(dgamma, gamma.shape(), device)?.to_dtype(gamma.dtype())?;
        let dbeta = Tensor::from_vec(dbeta, beta.shape(), device)?.to_dtype(beta.dtype())?;
        Ok((Some(gx), Some(dgamma), Some(dbeta)))
    }
}

/// `(x, gy) → gx`; the parameter gradients come out beside it.
struct BatchNormBackward {
    eps: f64,
    silu: bool,
    gamma: Vec<f64>,
    beta: Vec<f64>,
    stats: Stats,
    param_grads: Mutex<Option<(Vec<f64>, Vec<f64>)>>,
}

/// The gradient at the BatchNorm output `z`, through the SiLU if fused.
#[inline(always)]
fn grad_z<T: Real>(gy: T, z: T, silu: bool) -> T {
    if silu {
        let s = z.sigmoid();
        gy * s * (T::ONE + z * (T::ONE - s))
    } else {
        gy
    }
}

kernel! {
/// Turns one plane's output gradient into `gz`, the gradient at the BatchNorm output
/// `z = a·x + b` (through the SiLU if fused), in place, and returns its `Σ gz` and
/// `Σ gz·(x − mean)`. Keeping `gz` spares the second pass the SiLU's exponential.
fn grad_z_plane<T: Real>(gs: &mut [T], xs: &[T], a: T, b: T, mean: T, silu: bool) -> (T, T) {
    // Sixteen lanes of partial sums over fixed-size chunks: no bounds checks, so
    // the loop becomes vector code.
    let (mut s1, mut s2) = ([T::ZERO; 16], [T::ZERO; 16]);
    let mut lanes = |g16: &mut [T; 16], x16: &[T; 16]| {
        for j in 0..16 {
            let gz = grad_z(g16[j], a * x16[j] + b, silu);
            g16[j] = gz;
            s1[j] += gz;
            s2[j] += gz * (x16[j] - mean);
        }
    };
    let mut gc = gs.chunks_exact_mut(16);
    let xc = xs.chunks_exact(16);
    let xr = xc.remainder();
    for (g16, x16) in gc.by_ref().zip(xc) {
        lanes(
            g16.try_into().expect("chunks of 16"),
            x16.try_into().expect("chunks of 16"),
        );
    }
    // The rest through the same lanes, padded with zeros (a zero output gradient
    // adds nothing to either sum): one scalar exponential per pixel cost more than
    // the copies (measured on 3×3 planes, which now go image by image instead).
    let gr = gc.into_remainder();
    if !gr.is_empty() {
        let (mut g16, mut x16) = ([T::ZERO; 16], [T::ZERO; 16]);
        for (j, (&g, &v)) in gr.iter().zip(xr).enumerate() {
            (g16[j], x16[j]) = (g, v);
        }
        lanes(&mut g16, &x16);
        for (g, &gz) in gr.iter_mut().zip(&g16) {
            *g = gz;
        }
    }
    (sum(&s1), sum(&s2))
}
}

kernel! {
/// `gx = coeff·(gz − mean(gz) − x̂·mean(gz·x̂))` for one plane, in place over `gz`.
fn grad_input_plane<T: Real>(
    gs: &mut [T],
    xs: &[T],
    mean: T,
    invstd: T,
    coeff: T,
    mean_gz: T,
    mean_gz_xhat: T,
) {
    for (g, &v) in gs.iter_mut().zip(xs) {
        let xhat = (v - mean) * invstd;
        *g = coeff * (*g - mean_gz - xhat * mean_gz_xhat);
    }
}
}

kernel! {
/// [`grad_z_plane`] over a run of values with a coefficient for each, adding `gz`
/// and `gz·(x − mean)` value by value into `s1` and `s2`.
fn grad_z_values<T: Real>(
    gs: &mut [T],
    xs: &[T],
    a: &[T],
    b: &[T],
    mean: &[T],
    s1: &mut [T],
    s2: &mut [T],
    silu: bool,
) {
    let n = gs.len();
    let (xs, a, b, mean, s1, s2) = (&xs[..n], &a[..n], &b[..n], &mean[..n], &mut s1[..n], &mut s2[..n]);
    for i in 0..n {
        let gz = grad_z(gs[i], a[i] * xs[i] + b[i], silu);
        gs[i] = gz;
        s1[i] += gz;
        s2[i] += gz * (xs[i] - mean[i]);
    }
}
}

kernel! {
/// `gx = p·gz + q·(x − mean) + r` over a run of values, in place over `gz`:
/// [`grad_input_plane`] with its coefficients gathered per value.
fn grad_input_values<T: Real>(gs: &mut [T], xs: &[T], mean: &[T], p: &[T], q: &[T], r: &[T]) {
    let n = gs.len();
    let (xs, mean, p, q, r) = (&xs[..n], &mean[..n], &p[..n], &q[..n], &r[..n]);
    for i in 0..n {
        gs[i] = p[i] * gs[i] + q[i] * (xs[i] - mean[i]) + r[i];
    }
}
}

/// Per channel, `Σ gz` and `Σ gz·(x − mean)`, turning `g` into `gz` in place: plane
/// by plane, or image by image for small planes.
fn grad_z_sums<T: Real>(
    x: &[T],
    g: &mut [T],
    d: Dims,
    scale: &[f64],
    shift: &[f64],
    mean: &[f64],
    silu: bool,
) -> Vec<(f64, f64)> {
    let mut sums = vec![(0f64, 0f64); d.channels];
    if d.small() {
        let f = |v| Spread::<T>::new(v, d);
        let (a, b, m) = (f(scale), f(shift), f(mean));
        let zeros = || (vec![T::ZERO; d.image()], vec![T::ZERO; d.image()]);
        let (s1, s2) = g
            .par_chunks_mut(d.image())
            .zip(x.par_chunks(d.image()))
            .fold(zeros, |(mut s1, mut s2), (gs, xs)| {
                grad_z_values(gs, xs, &a.0, &b.0, &m.0, &mut s1, &mut s2, silu);
                (s1, s2)
            })
            .reduce_with(|(mut s1, mut s2), (t1, t2)| {
                add_values(&mut s1, &t1);
                add_values(&mut s2, &t2);
                (s1, s2)
            })
            .unwrap_or_else(zeros);
        let planes = s1.chunks(d.plane).zip(s2.chunks(d.plane));
        for (c, (p1, p2)) in planes.enumerate() {
            let total = |p: &[T]| p.iter().map(|v| v.to_f64()).sum::<f64>();
            sums[c] = (total(p1), total(p2));
        }
        return sums;
    }
    // Per plane (one task each, as in the forward pass).
    let plane_sums: Vec<(T, T)> = g
        .par_chunks_mut(d.plane)
        .zip(x.par_chunks(d.plane))
        .enumerate()
        .map(|(p, (gs, xs))| {
            let c = p % d.channels;
            let f = T::from_f64;
            grad_z_plane(gs, xs, f(scale[c]), f(shift[c]), f(mean[c]), silu)
        })
        .collect();
    for (p, (s1, s2)) in plane_sums.into_iter().enumerate() {
        let c = p % d.channels;
        sums[c].0 += s1.to_f64();
        sums[c].1 += s2.to_f64();
    }
    sums
}

/// The BatchNorm(+SiLU) backward pass: `(gx, dγ, dβ)` from the input `x`, the output
/// gradient `g` (whose buffer becomes `gx`) and the forward pass's statistics.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<T: Real>(
    x: &[T],
    mut g: Vec<T>,
    d: Dims,
    gamma: &[f64],
    beta: &[f64],
    stats: &Stats,
    eps: f64,
    silu: bool,
) -> (Vec<T>, Vec<f64>, Vec<f64>) {
    let (scale, shift) = affine(stats, gamma, beta, eps);
    let invstd: Vec<f64> = stats.var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    // Per channel, in f64: Σ gz and Σ gz·x̂.
    let sums: Vec<(f64, f64)> = grad_z_sums(x, &mut g, d, &scale, &shift, &stats.mean, silu)
        .into_iter()
        .zip(&invstd)
        .map(|((s1, s2), i)| (s1, s2 * i))
        .collect();
    let n = stats.count as f64;
    if d.small() {
        // gx = γ·invstd·(gz − mean(gz) − x̂·mean(gz·x̂)), spread as p·gz + q·(x − mean) + r.
        let coeff: Vec<f64> = (0..d.channels).map(|c| gamma[c] * invstd[c]).collect();
        let q: Vec<f64> = (0..d.channels)
            .map(|c| -coeff[c] * invstd[c] * sums[c].1 / n)
            .collect();
        let r: Vec<f64> = (0..d.channels).map(|c| -coeff[c] * sums[c].0 / n).collect();
        let f = |v| Spread::<T>::new(v, d);
        let (mean, p, q, r) = (f(&stats.mean), f(&coeff), f(&q), f(&r));
        g.par_chunks_mut(d.image())
            .zip(x.par_chunks(d.image()))
            .for_each(|(gs, xs)| grad_input_values(gs, xs, &mean.0, &p.0, &q.0, &r.0));
    } else {
        g.par_chunks_mut(d.plane)
            .zip(x.par_chunks(d.plane))
            .enumerate()
            .for_each(|(p, (gs, xs))| {
                let c = p % d.channels;
                let f = T::from_f64;
                grad_input_plane(
                    gs,
                    xs,
                    f(stats.mean[c]),
                    f(invstd[c]),
                    f(gamma[c] * invstd[c]),
                    f(sums[c].0 / n),
                    f(sums[c].1 / n),
                );
            });
    }
    let dgamma = sums.iter().map(|s| s.1).collect();
    let dbeta = sums.iter().map(|s| s.0).collect();
    (g, dgamma, dbeta)
}

impl candle_core::CustomOp2 for BatchNormBackward {
    fn name(&self) -> &'static str {
        "batch-norm-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = Dims::of(l1.dims());
        by_dtype!(s1, "batch-norm-backward", |T| {
            let (gx, dgamma, dbeta) = backward::<T>(
                slice(s1, l1, self.name())?,
                slice::<T>(s2, l2, self.name())?.to_vec(),
                d,
                &self.gamma,
                &self.beta,
                &self.stats,
                self.eps,
                self.silu,
            );
            *self.param_grads.lock().unwrap_or_else(|p| p.into_inner()) = Some((dgamma, dbeta));
            Ok((T::to_cpu_storage_owned(gx), l1.shape().clone()))
        })
    }
}

/// Evaluation-mode BatchNorm(+SiLU) with fixed per-channel `scale` and `shift`.
pub struct BatchNormEval {
    pub scale: Vec<f64>,
    pub shift: Vec<f64>,
    pub silu: bool,
}

impl CustomOp1 for BatchNormEval {
    fn name(&self) -> &'static str {
        "batch-norm-eval"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let d = Dims::of(l.dims());
        by_dtype!(s, "batch-norm-eval", |T| {
            let y = normalize(
                slice::<T>(s, l, self.name())?,
                d,
                &self.scale,
                &self.shift,
                self.silu,
            );
            Ok((T::to_cpu_storage_owned(y), l.shape().clone()))
        })
    }
}

/// Training-mode BatchNorm(+SiLU) of `x` `[B, C, H, W]`; returns the output and the
/// batch statistics.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    silu: bool,
) -> Result<(Tensor, Stats)> {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let op = BatchNormTrain {
        eps,
        silu,
        stats: stats.clone(),
    };
    let y = x
        .contiguous()?
        .apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    let stats = stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok((y, stats))
}

/// Evaluation-mode BatchNorm(+SiLU) with running statistics.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    silu: bool,
) -> Result<Tensor> {
    let stats = Stats {
        mean: as_f64(mean)?,
        var: as_f64(var)?,
        count: 0,
    };
    let (scale, shift) = affine(&stats, &as_f64(gamma)?, &as_f64(beta)?, eps);
    x.contiguous()?
        .apply_op1_no_bwd(&BatchNormEval { scale, shift, silu })
}
