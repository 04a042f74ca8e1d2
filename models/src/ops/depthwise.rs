//! Depthwise convolution (one k×k filter per channel, "same" padding, stride 1 or
//! 2) with both gradients. Stock candle runs it as one tiny convolution per channel.
//! Here maps under 64×64 ([`FLAT_PLANE_VALUES`]) are flat runs of several images'
//! planes of a channel ([`Flat`]), one task per run of images (per channel for the
//! weight gradient). Larger maps go plane by plane, each (image, channel) plane one
//! task, every inner loop a contiguous multiply-add over a row, which the compiler
//! vectorises; stride 2 reads even and odd columns from split copies of the row, so
//! it stays contiguous too.
//! On CUDA the same ops run `cuda/kernels.cu`.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use super::buffer::unfilled;
use super::real::{Real, by_dtype, kernel, slice};

/// Geometry of one depthwise convolution.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    kernel: usize,
    stride: usize,
    out_height: usize,
    out_width: usize,
}

impl Geometry {
    pub(super) fn new(x: &[usize], kernel: usize, stride: usize) -> Geometry {
        let (height, width) = (x[2], x[3]);
        let pad = kernel / 2;
        Geometry {
            channels: x[1],
            height,
            width,
            kernel,
            stride,
            out_height: (height + 2 * pad - kernel) / stride + 1,
            out_width: (width + 2 * pad - kernel) / stride + 1,
        }
    }

    /// `[B, C, Ho, Wo]` for a batch of `batch`.
    pub(super) fn out_dims(&self, batch: usize) -> [usize; 4] {
        [batch, self.channels, self.out_height, self.out_width]
    }

    fn pad(&self) -> isize {
        (self.kernel / 2) as isize
    }

    fn in_plane(&self) -> usize {
        self.height * self.width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Input row of output row `oy` under kernel row `ky`, if inside the image.
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        let iy = (oy * self.stride + ky) as isize - self.pad();
        (0..self.height as isize)
            .contains(&iy)
            .then_some(iy as usize)
    }

    /// For kernel column `kx`: which column phase of the input it reads (0 = even or
    /// all columns, 1 = odd) and the shift such that output column `ox` reads phase
    /// column `ox + shift`.
    fn column(&self, kx: usize) -> (usize, isize) {
        let d = kx as isize - self.pad();
        if self.stride == 1 {
            (0, d)
        } else {
            (d.rem_euclid(2) as usize, d.div_euclid(2))
        }
    }
}

/// The valid output columns `ox` for which `ox + shift` lies in `0..len`.
#[inline(always)]
fn valid(out_width: usize, shift: isize, len: usize) -> std::ops::Range<usize> {
    let lo = (-shift).max(0) as usize;
    let hi = (len as isize - shift).clamp(0, out_width as isize) as usize;
    lo.min(hi)..hi
}

/// `dst[i] += a * src[i]`.
#[inline(always)]
fn axpy<T: Real>(dst: &mut [T], a: T, src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += a * *s;
    }
}

#[inline(always)]
pub(super) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    // Sixteen partial sums over fixed-size chunks keep a vector accumulator.
    let mut acc = [T::ZERO; 16];
    let (ac, bc) = (a.chunks_exact(16), b.chunks_exact(16));
    let mut sum = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .fold(T::ZERO, |s, (&x, &y)| s + x * y);
    for (a16, b16) in ac.zip(bc) {
        let a16: &[T; 16] = a16.try_into().expect("chunks of 16");
        let b16: &[T; 16] = b16.try_into().expect("chunks of 16");
        for j in 0..16 {
            acc[j] += a16[j] * b16[j];
        }
    }
    for v in acc {
        sum += v;
    }
    sum
}

/// A plane's rows split into column phases: for stride 1 the plane itself; for
/// stride 2 all even columns then all odd columns, each phase row-major.
struct Phases<'a, T: Clone> {
    data: std::borrow::Cow<'a, [T]>,
    even_width: usize,
    odd_width: usize,
    height: usize,
}

impl<'a, T: Real> Phases<'a, T> {
    #[inline(always)]
    fn new(plane: &'a [T], g: &Geometry) -> Phases<'a, T> {
        if g.stride == 1 {
            return Phases {
                data: std::borrow::Cow::Borrowed(plane),
                even_width: g.width,
                odd_width: 0,
                height: g.height,
            };
        }
        let even_width = g.width.div_ceil(2);
        let odd_width = g.width / 2;
        let mut data = vec![T::ZERO; plane.len()];
        let (even, odd) = data.split_at_mut(even_width * g.height);
        for y in 0..g.height {
            let row = &plane[y * g.width..(y + 1) * g.width];
            for j in 0..even_width {
                even[y * even_width + j] = row[2 * j];
            }
            for j in 0..odd_width {
                odd[y * odd_width + j] = row[2 * j + 1];
            }
        }
        Phases {
            data: std::borrow::Cow::Owned(data),
            even_width,
            odd_width,
            height: g.height,
        }
    }

    /// Row `y` of phase `phase`.
    #[inline(always)]
    fn row(&self, phase: usize, y: usize) -> &[T] {
        if phase == 0 {
            &self.data[y * self.even_width..(y + 1) * self.even_width]
        } else {
            let base = self.even_width * self.height;
            &self.data[base + y * self.odd_width..base + (y + 1) * self.odd_width]
        }
    }
}

kernel! {
fn forward_plane<T: Real>(x: &[T], w: &[T], y: &mut [T], g: &Geometry) {
    let phases = Phases::new(x, g);
    y.fill(T::ZERO);
    for oy in 0..g.out_height {
        let out = &mut y[oy * g.out_width..(oy + 1) * g.out_width];
        for ky in 0..g.kernel {
            let Some(iy) = g.input_row(oy, ky) else { continue };
            for kx in 0..g.kernel {
                let (phase, shift) = g.column(kx);
                let src = phases.row(phase, iy);
                let cols = valid(g.out_width, shift, src.len());
                if cols.is_empty() {
                    continue;
                }
                let from = (cols.start as isize + shift) as usize;
                axpy(&mut out[cols.clone()], w[ky * g.kernel + kx], &src[from..from + cols.len()]);
            }
        }
    }
}
}

kernel! {
/// The input gradient of one plane: every output gradient spread back over the
/// pixels it read. Stride 2 gathers into even/odd phase rows, then interleaves.
fn grad_input_plane<T: Real>(gy: &[T], w: &[T], gx: &mut [T], g: &Geometry) {
    let even_width = if g.stride == 1 { g.width } else { g.width.div_ceil(2) };
    let odd_width = if g.stride == 1 { 0 } else { g.width / 2 };
    let mut phases = vec![T::ZERO; g.height * (even_width + odd_width)];
    let odd_base = g.height * even_width;
    for oy in 0..g.out_height {
        let grad = &gy[oy * g.out_width..(oy + 1) * g.out_width];
        for ky in 0..g.kernel {
            let Some(iy) = g.input_row(oy, ky) else { continue };
            for kx in 0..g.kernel {
                let (phase, shift) = g.column(kx);
                let (start, len) = if phase == 0 {
                    (iy * even_width, even_width)
                } else {
                    (odd_base + iy * odd_width, odd_width)
                };
                let cols = valid(g.out_width, shift, len);
                if cols.is_empty() {
                    continue;
                }
                let from = start + (cols.start as isize + shift) as usize;
                axpy(
                    &mut phases[from..from + cols.len()],
                    w[ky * g.kernel + kx],
                    &grad[cols],
                );
            }
        }
    }
    if g.stride == 1 {
        gx.copy_from_slice(&phases);
        return;
    }
    for y in 0..g.height {
        let row = &mut gx[y * g.width..(y + 1) * g.width];
        for j in 0..even_width {
            row[2 * j] = phases[y * even_width + j];
        }
        for j in 0..odd_width {
            row[2 * j + 1] = phases[odd_base + y * odd_width + j];
        }
    }
}
}

kernel! {
/// Adds one plane's contribution to its channel's k×k weight gradient.
fn grad_weight_plane<T: Real>(x: &[T], gy: &[T], gw: &mut [f64], g: &Geometry) {
    let phases = Phases::new(x, g);
    for oy in 0..g.out_height {
        let grad = &gy[oy * g.out_width..(oy + 1) * g.out_width];
        for ky in 0..g.kernel {
            let Some(iy) = g.input_row(oy, ky) else { continue };
            for kx in 0..g.kernel {
                let (phase, shift) = g.column(kx);
                let src = phases.row(phase, iy);
                let cols = valid(g.out_width, shift, src.len());
                if cols.is_empty() {
                    continue;
                }
                let from = (cols.start as isize + shift) as usize;
                gw[ky * g.kernel + kx] += dot(&grad[cols.clone()], &src[from..from + cols.len()]).to_f64();
            }
        }
    }
}
}

/// `dst = src`, sixteen at a time: `copy_from_slice` calls memmove, which costs
/// more than the copy on a 4×4 plane.
#[inline(always)]
fn copy<T: Real>(dst: &mut [T], src: &[T]) {
    let mut dc = dst.chunks_exact_mut(16);
    let sc = src.chunks_exact(16);
    let sr = sc.remainder();
    for (d16, s16) in (&mut dc).zip(sc) {
        let d16: &mut [T; 16] = d16.try_into().expect("chunks of 16");
        *d16 = s16.try_into().expect("chunks of 16");
    }
    for (d, &s) in dc.into_remainder().iter_mut().zip(sr) {
        *d = s;
    }
}

/// Outputs [`shifted_sum`] works on at a time: one AVX-512 register of f32.
const LANES: usize = 16;

/// `len` rounded up to whole chunks of [`LANES`].
fn whole_chunks(len: usize) -> usize {
    len.next_multiple_of(LANES)
}

/// Taps that shift a run by the same number of columns, and so share one mask.
struct Group {
    /// Index into [`Flat::masks`]; `None` for taps that stay in their column.
    mask: Option<usize>,
    /// `(offset into the source, index into the k×k filter)` of each tap.
    terms: Vec<(usize, usize)>,
}

/// `(mask shift, offset, filter index)` terms grouped by their mask shift: the
/// group's mask is the one of `shifts` that matches (none for shift 0, which
/// `shifts` leaves out).
fn group_by_shift(
    terms: impl Iterator<Item = (isize, usize, usize)>,
    shifts: &[isize],
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (d, offset, k) in terms {
        let mask = shifts.iter().position(|&s| s == d);
        match groups.iter_mut().find(|g| g.mask == mask) {
            Some(group) => group.terms.push((offset, k)),
            None => groups.push(Group {
                mask,
                terms: vec![(offset, k)],
            }),
        }
    }
    groups
}

/// `out[i] = Σ_groups mask[i] · Σ_terms w[k] · src[offset + i]`, sixteen outputs at
/// a time held in registers over all taps: one load per tap and one store per
/// output. (Adding tap after tap into `out` loaded and stored it once per tap,
/// and masked every tap's share: the mask of a column shift applies to the sum of
/// its taps.) `out`'s length is a whole number of chunks.
#[inline(always)]
fn shifted_sum<T: Real>(out: &mut [T], src: &[T], w: &[T], groups: &[Group], masks: &[Vec<T>]) {
    for (chunk, o) in out.chunks_exact_mut(LANES).enumerate() {
        let i = chunk * LANES;
        let mut total = [T::ZERO; LANES];
        for group in groups {
            let mut acc = [T::ZERO; LANES];
            for &(offset, k) in &group.terms {
                let a = w[k];
                let s: &[T; LANES] = src[offset + i..offset + i + LANES]
                    .try_into()
                    .expect("a chunk");
                for j in 0..LANES {
                    acc[j] += a * s[j];
                }
            }
            match group.mask {
                Some(m) => {
                    let m: &[T; LANES] = masks[m][i..i + LANES].try_into().expect("a chunk");
                    for j in 0..LANES {
                        total[j] += acc[j] * m[j];
                    }
                }
                None => {
                    for j in 0..LANES {
                        total[j] += acc[j];
                    }
                }
            }
        }
        let o: &mut [T; LANES] = o.try_into().expect("a chunk");
        *o = total;
    }
}

/// Maps treated as flat vectors, a run of one channel's planes at a time: each tap
/// `(ky, kx)` is a shift by `dy·W + dx` of the run, the planes of several images
/// laid side by side with zero margins between them, with a 0/1 mask that drops
/// pixels whose column left the row. Row by row, planes of 1×1 to 8×8 pixels (the
/// late stages of networks at the proxy's image sizes) would leave most vector
/// lanes idle and pay a loop for a handful of values; under 64×64, a run of whole
/// planes still fits the second-level cache and each output is stored once, where
/// rows add tap after tap into it.
/// Stride 2 first splits each input plane into its four phases (even or odd rows,
/// even or odd columns), each the size of the output: tap `(ky, kx)` then reads one
/// phase's run at a stride-1 shift.
struct Flat<T> {
    /// Masks over a run's positions, one per column shift `d` in use: 1 where
    /// the column `d` to the right of the position is still in its row.
    masks: Vec<Vec<T>>,
    /// The forward pass's and the weight gradient's taps by column shift, offsets
    /// into [`Flat::pad`]'s layout. Only taps that read inside the image somewhere
    /// (one that only ever reads padding has nothing to do).
    forward: Vec<Group>,
    /// The input gradient's, for each phase: offsets into the output gradient's
    /// run with margins (see [`Flat::gather_outputs`]).
    backward: Vec<Vec<Group>>,
    /// The largest shift of a tap: the zeros between the planes of a run.
    margin: usize,
    /// Planes in a full run.
    images: usize,
    batch: usize,
    g: Geometry,
}

struct Tap {
    /// Index into the k×k filter.
    k: usize,
    /// The phase plane it reads (0 for stride 1).
    phase: usize,
    /// Output position `j` reads position `j + shift` of its phase plane.
    shift: isize,
    /// The columns of that shift: output column `x` reads column `x + column`.
    column: isize,
}

impl<T: Real> Flat<T> {
    fn applies(g: &Geometry) -> bool {
        (g.stride == 1 || g.stride == 2) && g.out_plane() < FLAT_PLANE_VALUES
    }

    fn new(g: &Geometry, batch: usize) -> Flat<T> {
        let (h, w, p) = (g.out_height as isize, g.out_width as isize, g.pad());
        let (plane, s) = (h * w, g.stride as isize);
        let mut taps = Vec::with_capacity(g.kernel * g.kernel);
        let mut margin = 0;
        for ky in 0..g.kernel {
            for kx in 0..g.kernel {
                let (dy, dx) = (ky as isize - p, kx as isize - p);
                let (sy, sx) = (dy.div_euclid(s), dx.div_euclid(s));
                let shift = sy * w + sx;
                margin = margin.max(shift.unsigned_abs());
                let rows = (-sy).max(0)..(h - sy).min(h);
                let lo = (rows.start * w).max(-shift).max(0);
                let hi = (rows.end * w).min(plane - shift).min(plane);
                if lo < hi {
                    taps.push(Tap {
                        k: ky * g.kernel + kx,
                        phase: (dy.rem_euclid(s) * s + dx.rem_euclid(s)) as usize,
                        shift,
                        column: sx,
                    });
                }
            }
        }
        let block = plane as usize + margin;
        // As many runs as fill the threads evenly: a batch's runs are the forward
        // pass's and the input gradient's parallel tasks.
        let longest = (RUN_VALUES / block).clamp(1, batch.max(1));
        let runs = batch
            .div_ceil(longest)
            .next_multiple_of(rayon::current_num_threads());
        let images = batch.div_ceil(runs).max(1);
        let run = whole_chunks((images - 1) * block + plane as usize);
        // The forward pass masks its outputs by the tap's column shift, the input
        // gradient its sums by the opposite one (a pixel `d` columns left of an
        // output was read by it only if that output is in the row).
        let mut shifts: Vec<isize> = taps.iter().flat_map(|t| [t.column, -t.column]).collect();
        shifts.retain(|&d| d != 0);
        shifts.sort_unstable();
        shifts.dedup();
        let masks = shifts
            .iter()
            .map(|&d| {
                (0..run)
                    .map(|i| {
                        let j = i % block;
                        let column = (j % g.out_width) as isize + d;
                        if j < plane as usize && (0..w).contains(&column) {
                            T::ONE
                        } else {
                            T::ZERO
                        }
                    })
                    .collect()
            })
            .collect();
        let forward = group_by_shift(
            taps.iter().map(|t| {
                let offset = margin as isize + (t.phase * images * block) as isize + t.shift;
                (t.column, offset as usize, t.k)
            }),
            &shifts,
        );
        let backward = (0..g.stride * g.stride)
            .map(|phase| {
                let taps = taps.iter().filter(|t| t.phase == phase);
                let terms = taps.map(|t| (-t.column, (margin as isize - t.shift) as usize, t.k));
                group_by_shift(terms, &shifts)
            })
            .collect();
        Flat {
            masks,
            forward,
            backward,
            margin,
            images,
            batch,
            g: *g,
        }
    }

    /// The distance between two images' planes in a run.
    fn block(&self) -> usize {
        self.g.out_plane() + self.margin
    }

    /// Runs the batch makes.
    fn runs(&self) -> usize {
        self.batch.div_ceil(self.images)
    }

    /// The images of run `r`.
    fn images_of(&self, r: usize) -> std::ops::Range<usize> {
        r * self.images..((r + 1) * self.images).min(self.batch)
    }

    /// Output positions in a run of `n` images: the `i`th's plane at `i·block`,
    /// margins between.
    fn run_len(&self, n: usize) -> usize {
        n.saturating_sub(1) * self.block() + self.g.out_plane()
    }

    /// The length of [`Flat::pad`]'s layout: for each phase, a full run of its
    /// images' phase planes with `margin` zeros before, between and after them.
    fn padded_len(&self) -> usize {
        let phases = self.g.stride * self.g.stride;
        self.margin + phases * self.images * self.block()
    }

    /// Where the `i`th image's plane of phase `phase` starts in [`Flat::pad`]'s
    /// layout.
    fn plane_start(&self, phase: usize, i: usize) -> usize {
        self.margin + (phase * self.images + i) * self.block()
    }

    /// Writes the phase planes of a run's `i`th input plane `x` into `out`
    /// (zeroed once by [`Flat::buffers`], then reused for run after run: the
    /// positions written are the same each time). A tap then reads a run's length
    /// from its phase's first plane on, shifted: rows above or below an image read
    /// the zeros and columns that left the row are masked.
    #[inline(always)]
    fn pad(&self, x: &[T], out: &mut [T], i: usize) {
        if self.g.stride == 1 {
            let start = self.plane_start(0, i);
            copy(&mut out[start..start + self.g.out_plane()], x);
        } else {
            self.for_each_phase_pixel(i, |o, at| out[o] = x[at]);
        }
    }

    /// The inverse of [`Flat::pad`]: a run's `i`th plane out of a sum in its
    /// layout.
    #[inline(always)]
    fn unpad(&self, padded: &[T], x: &mut [T], i: usize) {
        if self.g.stride == 1 {
            let start = self.plane_start(0, i);
            copy(x, &padded[start..start + self.g.out_plane()]);
        } else {
            // Every input pixel belongs to exactly one phase.
            self.for_each_phase_pixel(i, |o, at| x[at] = padded[o]);
        }
    }

    /// A task's zeroed buffers: one in [`Flat::pad`]'s layout, one a full run
    /// long with `margin` zeros on either side (see [`Flat::gather_outputs`]), each
    /// long enough for [`shifted_sum`]'s whole chunks.
    fn buffers(&self) -> (Vec<T>, Vec<T>) {
        (
            vec![T::ZERO; self.padded_len() + LANES],
            vec![T::ZERO; 2 * self.margin + whole_chunks(self.run_len(self.images))],
        )
    }

    /// For stride 2, `visit(position in [`Flat::pad`]'s layout, pixel)` for every
    /// pixel of a run's `i`th plane.
    #[inline(always)]
    fn for_each_phase_pixel(&self, i: usize, mut visit: impl FnMut(usize, usize)) {
        let (h, w) = (self.g.height, self.g.width);
        let (oh, ow) = (self.g.out_height, self.g.out_width);
        for phase in 0..4 {
            let (py, px) = (phase / 2, phase % 2);
            for oy in (0..oh).take_while(|oy| 2 * oy + py < h) {
                let base = self.plane_start(phase, i) + oy * ow;
                let row = (2 * oy + py) * w;
                for j in (0..ow).take_while(|j| 2 * j + px < w) {
                    visit(base + j, row + 2 * j + px);
                }
            }
        }
    }

    /// Image `b`'s plane of channel `c` in `[B, C, plane]` data.
    fn plane_of(data: &[T], plane: usize, channels: usize, b: usize, c: usize) -> &[T] {
        let p = b * channels + c;
        &data[p * plane..(p + 1) * plane]
    }

    /// Channel `c`'s input planes of `images` in [`Flat::pad`]'s layout.
    #[inline(always)]
    fn pad_inputs(&self, x: &[T], c: usize, images: std::ops::Range<usize>, padded: &mut [T]) {
        for (i, b) in images.enumerate() {
            let plane = Self::plane_of(x, self.g.in_plane(), self.g.channels, b, c);
            self.pad(plane, padded, i);
        }
    }

    /// Channel `c`'s output gradient planes of `images` side by side in `run`,
    /// the `i`th at `margin + i·block` (`run` zeroed once by [`Flat::buffers`]:
    /// the margins stay zero).
    #[inline(always)]
    fn gather_outputs(&self, gy: &[T], c: usize, images: std::ops::Range<usize>, run: &mut [T]) {
        let (plane, block) = (self.g.out_plane(), self.block());
        for (i, b) in images.enumerate() {
            let src = Self::plane_of(gy, plane, self.g.channels, b, c);
            let start = self.margin + i * block;
            copy(&mut run[start..start + plane], src);
        }
    }
}

/// Output planes below this many values go through [`Flat`], larger ones row by
/// row. Measured against the rows (forward and backward, two cores of an AVX-512
/// AMD EPYC): 16×16 planes 0.5×, 32×32 0.7×, 56×56 0.9×, 112×112 1.2×.
const FLAT_PLANE_VALUES: usize = 64 * 64;

/// Values a run of planes should hold at most (a larger plane is a run of its
/// own): the taps of a chunk read the padded run around it, which at this length
/// stays in a 32 KiB first-level cache with the output run and the masks (chosen
/// for that, not tuned).
const RUN_VALUES: usize = 1024;

kernel! {
/// Channel `c`'s output planes of `images`, into `out` (those images' outputs,
/// `[n, C, plane]`) through a run.
fn forward_flat<T: Real>(
    x: &[T],
    c: usize,
    images: std::ops::Range<usize>,
    w: &[T],
    out: &mut [T],
    run: &mut [T],
    padded: &mut [T],
    flat: &Flat<T>,
) {
    let n = images.len();
    flat.pad_inputs(x, c, images, padded);
    let run = &mut run[..whole_chunks(flat.run_len(n))];
    shifted_sum(run, padded, w, &flat.forward, &flat.masks);
    let (plane, block) = (flat.g.out_plane(), flat.block());
    for i in 0..n {
        let p = i * flat.g.channels + c;
        copy(&mut out[p * plane..(p + 1) * plane], &run[i * block..i * block + plane]);
    }
}
}

kernel! {
/// Channel `c`'s input gradient planes of `images`, into `gx` (those images'
/// input gradients, `[n, C, H·W]`): each phase's sum in [`Flat::pad`]'s layout in
/// `acc`, of what its taps read at each position.
fn grad_input_flat<T: Real>(
    gy: &[T],
    c: usize,
    images: std::ops::Range<usize>,
    w: &[T],
    gx: &mut [T],
    acc: &mut [T],
    run: &mut [T],
    flat: &Flat<T>,
) {
    let n = images.len();
    flat.gather_outputs(gy, c, images, run);
    let len = whole_chunks(flat.run_len(n));
    // Phase after phase: a phase's last chunk may spill into the next one's
    // start, which that phase then writes.
    for (phase, groups) in flat.backward.iter().enumerate() {
        let start = flat.plane_start(phase, 0);
        shifted_sum(&mut acc[start..start + len], run, w, groups, &flat.masks);
    }
    let plane = flat.g.in_plane();
    for i in 0..n {
        let p = i * flat.g.channels + c;
        flat.unpad(acc, &mut gx[p * plane..(p + 1) * plane], i);
    }
}
}

kernel! {
/// Channel `c`'s weight gradient over `images`, added into `gw` (one per tap):
/// the output gradient masked once per column shift into `masked`, then one
/// product with each of its taps' inputs.
fn grad_weight_flat<T: Real>(
    x: &[T],
    gy: &[T],
    c: usize,
    images: std::ops::Range<usize>,
    gw: &mut [f64],
    run: &mut [T],
    padded: &mut [T],
    masked: &mut [T],
    flat: &Flat<T>,
) {
    let len = flat.run_len(images.len());
    flat.pad_inputs(x, c, images.clone(), padded);
    flat.gather_outputs(gy, c, images, run);
    let grad = &run[flat.margin..flat.margin + len];
    for group in &flat.forward {
        let grad = match group.mask {
            Some(m) => {
                for ((o, &v), &k) in masked.iter_mut().zip(grad).zip(&flat.masks[m]) {
                    *o = v * k;
                }
                &masked[..len]
            }
            None => grad,
        };
        for &(offset, k) in &group.terms {
            gw[k] += dot(grad, &padded[offset..offset + len]).to_f64();
        }
    }
}
}

pub(super) fn forward<T: Real>(x: &[T], w: &[T], g: &Geometry) -> Vec<T> {
    let planes = x.len() / g.in_plane();
    // SAFETY: every output plane is written by `forward_plane` (which clears it
    // before adding into it) or copied out of a run.
    let mut y = unsafe { unfilled(planes * g.out_plane()) };
    let k2 = g.kernel * g.kernel;
    let filter = |c: usize| &w[c * k2..(c + 1) * k2];
    if Flat::<T>::applies(g) {
        let flat = Flat::<T>::new(g, planes / g.channels);
        // One task per run of images, all channels: its outputs are one chunk.
        y.par_chunks_mut(flat.images * g.channels * g.out_plane())
            .enumerate()
            .for_each_init(
                || flat.buffers(),
                |(padded, run), (r, out)| {
                    for c in 0..g.channels {
                        forward_flat(x, c, flat.images_of(r), filter(c), out, run, padded, &flat);
                    }
                },
            );
        return y;
    }
    y.par_chunks_mut(g.out_plane())
        .enumerate()
        .for_each(|(p, out)| {
            let input = &x[p * g.in_plane()..(p + 1) * g.in_plane()];
            forward_plane(input, filter(p % g.channels), out, g);
        });
    y
}

pub(super) fn grad_input<T: Real>(gy: &[T], w: &[T], g: &Geometry) -> Vec<T> {
    let planes = gy.len() / g.out_plane();
    // SAFETY: every input gradient plane is written whole by `grad_input_plane` or
    // by `Flat::unpad`.
    let mut gx = unsafe { unfilled(planes * g.in_plane()) };
    let k2 = g.kernel * g.kernel;
    let filter = |c: usize| &w[c * k2..(c + 1) * k2];
    if Flat::<T>::applies(g) {
        let flat = Flat::<T>::new(g, planes / g.channels);
        gx.par_chunks_mut(flat.images * g.channels * g.in_plane())
            .enumerate()
            .for_each_init(
                || flat.buffers(),
                |(acc, run), (r, out)| {
                    for c in 0..g.channels {
                        grad_input_flat(gy, c, flat.images_of(r), filter(c), out, acc, run, &flat);
                    }
                },
            );
        return gx;
    }
    gx.par_chunks_mut(g.in_plane())
        .enumerate()
        .for_each(|(p, out)| {
            let grad = &gy[p * g.out_plane()..(p + 1) * g.out_plane()];
            grad_input_plane(grad, filter(p % g.channels), out, g);
        });
    gx
}

pub(super) fn grad_weight<T: Real>(x: &[T], gy: &[T], g: &Geometry) -> Vec<T> {
    let batch = x.len() / (g.channels * g.in_plane());
    let k2 = g.kernel * g.kernel;
    let mut gw = vec![T::ZERO; g.channels * k2];
    let flat = Flat::<T>::applies(g).then(|| Flat::<T>::new(g, batch));
    // Sums in f64 per channel: a channel's gradient adds up its whole batch.
    gw.par_chunks_mut(k2).enumerate().for_each_init(
        || {
            flat.as_ref()
                .map(|f| (f.buffers(), vec![T::ZERO; f.run_len(f.images)]))
        },
        |buffers, (c, out)| {
            let mut acc = vec![0f64; k2];
            match (&flat, buffers) {
                (Some(flat), Some(((padded, run), masked))) => {
                    for r in 0..flat.runs() {
                        let images = flat.images_of(r);
                        grad_weight_flat(x, gy, c, images, &mut acc, run, padded, masked, flat);
                    }
                }
                _ => {
                    for b in 0..batch {
                        let p = b * g.channels + c;
                        let input = &x[p * g.in_plane()..(p + 1) * g.in_plane()];
                        let grad = &gy[p * g.out_plane()..(p + 1) * g.out_plane()];
                        grad_weight_plane(input, grad, &mut acc, g);
                    }
                }
            }
            for (o, a) in out.iter_mut().zip(acc) {
                *o = T::from_f64(a);
            }
        },
    );
    gw
}

/// `y = depthwise_conv(x, w)`: x `[B, C, H, W]`, w `[C, 1, k, k]`.
pub struct DepthwiseConv {
    pub stride: usize,
}

impl CustomOp2 for DepthwiseConv {
    fn name(&self) -> &'static str {
        "depthwise-conv"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), l2.dims()[2], self.stride);
        let batch = l1.dims()[0];
        by_dtype!(s1, "depthwise-conv", |T| {
            let y = forward::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((
                T::to_cpu_storage_owned(y),
                Shape::from((batch, g.channels, g.out_height, g.out_width)),
            ))
        })
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let shape = super::cuda::ConvShape::of(l1.dims(), l2.dims()[2], self.stride);
        let y = super::cuda::depthwise_forward((s1, l1), (s2, l2), &shape)?;
        let out = (
            shape.batch,
            shape.channels,
            shape.out_height(),
            shape.out_width(),
        );
        Ok((y, Shape::from(out)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        gy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let gy = gy.contiguous()?;
        let (_, _, height, width) = x.dims4()?;
        let gx = gy.apply_op2_no_bwd(
            w,
            &DepthwiseGradInput {
                stride: self.stride,
                height,
                width,
            },
        )?;
        let gw = x.apply_op2_no_bwd(
            &gy,
            &DepthwiseGradWeight {
                stride: self.stride,
                kernel: w.dim(2)?,
            },
        )?;
        Ok((Some(gx), Some(gw)))
    }
}

/// `gx` from `(gy, w)`.
pub struct DepthwiseGradInput {
    pub stride: usize,
    pub height: usize,
    pub width: usize,
}

impl CustomOp2 for DepthwiseGradInput {
    fn name(&self) -> &'static str {
        "depthwise-conv-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (batch, channels) = (l1.dims()[0], l1.dims()[1]);
        let g = Geometry::new(
            &[batch, channels, self.height, self.width],
            l2.dims()[2],
            self.stride,
        );
        by_dtype!(s1, "depthwise-conv-grad-input", |T| {
            let gx = grad_input::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((
                T::to_cpu_storage_owned(gx),
                Shape::from((batch, channels, self.height, self.width)),
            ))
        })
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let (batch, channels) = (l1.dims()[0], l1.dims()[1]);
        let input = [batch, channels, self.height, self.width];
        let shape = super::cuda::ConvShape::of(&input, l2.dims()[2], self.stride);
        let gx = super::cuda::depthwise_grad_input((s1, l1), (s2, l2), &shape)?;
        Ok((gx, Shape::from(input.to_vec())))
    }
}

/// `gw` from `(x, gy)`.
pub struct DepthwiseGradWeight {
    pub stride: usize,
    pub kernel: usize,
}

impl CustomOp2 for DepthwiseGradWeight {
    fn name(&self) -> &'static str {
        "depthwise-conv-grad-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), self.kernel, self.stride);
        by_dtype!(s1, "depthwise-conv-grad-weight", |T| {
            let gw = grad_weight::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((
                T::to_cpu_storage_owned(gw),
                Shape::from((g.channels, 1, self.kernel, self.kernel)),
            ))
        })
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let shape = super::cuda::ConvShape::of(l1.dims(), self.kernel, self.stride);
        let gw = super::cuda::depthwise_grad_weight((s1, l1), (s2, l2), &shape)?;
        Ok((
            gw,
            Shape::from((shape.channels, 1, self.kernel, self.kernel)),
        ))
    }
}

/// Depthwise convolution of `x` `[B, C, H, W]` with `w` `[C, 1, k, k]`, padding k/2.
pub fn depthwise_conv2d(x: &Tensor, w: &Tensor, stride: usize) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, DepthwiseConv { stride })
}
