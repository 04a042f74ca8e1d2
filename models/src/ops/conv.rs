//! Dense convolution ("same" padding, any odd kernel, stride 1 or 2) and its two
//! gradients, as matrix products: each image is unfolded into columns (im2col; a 1×1
//! stride-1 conv needs none), multiplied by the weight matrix with the `gemm`
//! crate, and gradients are folded back (col2im). The per-layer op rebuilds the
//! columns in the backward pass rather than keeping them, which saves their memory
//! for one more unfold; the whole-block op keeps them ([`forward_keeping_columns`]).
//!
//! Images run one per core; only when there are fewer images than cores does a
//! large product run on all cores (gemm's own threads). Small maps make thin
//! products (a 3×3 map is 9 columns), which gemm's kernels run at a fraction of
//! their speed, so there several images go side by side into one product.

use std::ops::Range;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use super::buffer::unfilled;
use super::real::{Real, by_dtype, kernel, slice};

/// Below this many multiply-adds per image, images run in parallel even when
/// there are fewer of them than cores.
const PER_IMAGE_PARALLEL_MACS: usize = 1 << 22;

/// Columns a product should have at least: below this, images are grouped.
const WIDE_PRODUCT_COLS: usize = 256;

#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    batch: usize,
    in_channels: usize,
    height: usize,
    width: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    out_height: usize,
    out_width: usize,
}

impl Geometry {
    pub(super) fn new(x: &[usize], w: &[usize], stride: usize) -> Geometry {
        let kernel = w[2];
        let pad = kernel / 2;
        Geometry {
            batch: x[0],
            in_channels: x[1],
            height: x[2],
            width: x[3],
            out_channels: w[0],
            kernel,
            stride,
            out_height: (x[2] + 2 * pad - kernel) / stride + 1,
            out_width: (x[3] + 2 * pad - kernel) / stride + 1,
        }
    }

    /// Rows of the column matrix: one per (input channel, ky, kx).
    pub(super) fn rows(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// Columns: one per output pixel.
    pub(super) fn cols(&self) -> usize {
        self.out_height * self.out_width
    }

    pub(super) fn in_image(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// `[B, Co, Ho, Wo]`.
    pub(super) fn out_dims(&self) -> [usize; 4] {
        [
            self.batch,
            self.out_channels,
            self.out_height,
            self.out_width,
        ]
    }

    fn out_image(&self) -> usize {
        self.out_channels * self.cols()
    }

    /// A 1×1 stride-1 conv multiplies the image itself.
    fn pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1
    }

    /// Images side by side in one product: one where maps give wide enough
    /// products, else enough for [`WIDE_PRODUCT_COLS`] columns, in a number of
    /// groups that is a multiple of the cores so that they share them evenly.
    fn images_per_product(&self) -> usize {
        let cols = self.cols().max(1);
        if cols >= WIDE_PRODUCT_COLS {
            return 1;
        }
        let threads = rayon::current_num_threads().max(1);
        let groups = (self.batch * cols)
            .div_ceil(WIDE_PRODUCT_COLS)
            .div_ceil(threads)
            * threads;
        self.batch.div_ceil(groups.clamp(1, self.batch.max(1)))
    }

    /// One group of images per core whenever there are enough: measured on V2-S
    /// (batch 16, 128 px, 2 cores), 15% faster per step than running gemm's own
    /// threads image by image, which synchronise after every product.
    fn parallel_images(&self) -> bool {
        self.batch.div_ceil(self.images_per_product()) >= rayon::current_num_threads()
            || self.out_channels * self.rows() * self.cols() < PER_IMAGE_PARALLEL_MACS
    }

    /// For output index `o` along an axis of input length `len` and kernel offset
    /// `k`, the input index, if inside.
    #[inline(always)]
    fn input_index(&self, o: usize, k: usize, len: usize) -> Option<usize> {
        let i = (o * self.stride + k) as isize - (self.kernel / 2) as isize;
        (0..len as isize).contains(&i).then_some(i as usize)
    }
}

/// The output columns `o` whose input `o·stride + shift` lies in `0..len`.
#[inline(always)]
fn valid(out: usize, stride: usize, shift: isize, len: usize) -> std::ops::Range<usize> {
    let s = stride as isize;
    let lo = if shift >= 0 {
        0
    } else {
        ((-shift) + s - 1) / s
    };
    let hi = if len as isize - shift <= 0 {
        0
    } else {
        ((len as isize - shift + s - 1) / s).min(out as isize)
    };
    (lo as usize).min(hi as usize)..hi as usize
}

kernel! {
/// Row `r` of the column matrix: input channel `r / k²` shifted by `(ky, kx)`.
fn im2col_row<T: Real>(row: &mut [T], x: &[T], r: usize, g: &Geometry) {
    let k = g.kernel;
    let (ci, ky, kx) = (r / (k * k), (r / k) % k, r % k);
    let plane = &x[ci * g.height * g.width..(ci + 1) * g.height * g.width];
    let shift = kx as isize - (k / 2) as isize;
    let cols_ok = valid(g.out_width, g.stride, shift, g.width);
    if cols_ok.is_empty() {
        // This kernel column only ever reads padding.
        row.fill(T::ZERO);
        return;
    }
    for oy in 0..g.out_height {
        let out = &mut row[oy * g.out_width..(oy + 1) * g.out_width];
        let Some(iy) = g.input_index(oy, ky, g.height) else {
            out.fill(T::ZERO);
            continue;
        };
        let src = &plane[iy * g.width..(iy + 1) * g.width];
        out[..cols_ok.start].fill(T::ZERO);
        out[cols_ok.end..].fill(T::ZERO);
        if g.stride == 1 {
            let from = (cols_ok.start as isize + shift) as usize;
            out[cols_ok.clone()].copy_from_slice(&src[from..from + cols_ok.len()]);
        } else {
            for ox in cols_ok.clone() {
                out[ox] = src[(ox as isize * g.stride as isize + shift) as usize];
            }
        }
    }
}
}

/// Where each kernel tap reads, for maps whose output rows are narrower than 16
/// pixels: there the row-by-row copies of [`im2col_row`] and [`col2im_plane`] are
/// a few pixels long each (9% of a proxy-scale step went into the two), so they
/// read a table instead. For tap `ky·k + kx`, the pixel of the input plane that
/// each output position reads, [`PADDING`] where it reads the padding.
struct TapPixels(Vec<Vec<usize>>);

const PADDING: usize = usize::MAX;

impl TapPixels {
    fn for_small_maps(g: &Geometry) -> Option<TapPixels> {
        if g.out_width >= super::SMALL_MAP_WIDTH {
            return None;
        }
        let k = g.kernel;
        let taps = (0..k * k)
            .map(|t| {
                let (ky, kx) = (t / k, t % k);
                (0..g.out_height)
                    .flat_map(|oy| (0..g.out_width).map(move |ox| (oy, ox)))
                    .map(|(oy, ox)| {
                        match (
                            g.input_index(oy, ky, g.height),
                            g.input_index(ox, kx, g.width),
                        ) {
                            (Some(iy), Some(ix)) => iy * g.width + ix,
                            _ => PADDING,
                        }
                    })
                    .collect()
            })
            .collect();
        Some(TapPixels(taps))
    }
}

kernel! {
/// [`im2col_row`] by the table.
fn im2col_row_small<T: Real>(row: &mut [T], x: &[T], r: usize, taps: &TapPixels, g: &Geometry) {
    let (k2, plane) = (g.kernel * g.kernel, g.height * g.width);
    let plane = &x[(r / k2) * plane..][..plane];
    for (o, &i) in row.iter_mut().zip(&taps.0[r % k2]) {
        *o = plane.get(i).copied().unwrap_or(T::ZERO);
    }
}
}

/// Unfolds images `images` of `x` `[B, Ci, H, W]` into columns
/// `[Ci·k·k, n·Ho·Wo]`, image by image along each row.
pub(super) fn im2col<T: Real>(x: &[T], images: Range<usize>, cols: &mut [T], g: &Geometry) {
    let c = g.cols();
    let taps = TapPixels::for_small_maps(g);
    cols.par_chunks_mut(images.len() * c)
        .enumerate()
        .for_each(|(r, row)| {
            for (segment, b) in row.chunks_mut(c).zip(images.clone()) {
                let image = &x[b * g.in_image()..(b + 1) * g.in_image()];
                match &taps {
                    Some(taps) => im2col_row_small(segment, image, r, taps, g),
                    None => im2col_row(segment, image, r, g),
                }
            }
        });
}

/// `[C, n·P]` from `n` consecutive `[C, P]` blocks of `src`: images side by
/// side.
fn side_by_side<T: Real>(src: &[T], channels: usize, plane: usize) -> Vec<T> {
    let images = src.len() / (channels * plane);
    // SAFETY: the loops below copy into every element.
    let mut dst = unsafe { unfilled(src.len()) };
    for (c, row) in dst.chunks_mut(images * plane).enumerate() {
        for (j, segment) in row.chunks_mut(plane).enumerate() {
            segment.copy_from_slice(&src[(j * channels + c) * plane..][..plane]);
        }
    }
    dst
}

/// The inverse of [`side_by_side`]: `[C, n·P]` back into `n` blocks `[C, P]`.
fn one_by_one<T: Real>(src: &[T], dst: &mut [T], channels: usize, plane: usize) {
    let images = src.len() / (channels * plane);
    for (c, row) in src.chunks(images * plane).enumerate() {
        for (j, segment) in row.chunks(plane).enumerate() {
            dst[(j * channels + c) * plane..][..plane].copy_from_slice(segment);
        }
    }
}

kernel! {
/// Input channel `ci`'s gradient plane from its k² column rows, `stride` apart.
fn col2im_plane<T: Real>(plane: &mut [T], cols: &[T], stride: usize, ci: usize, g: &Geometry) {
    let (n, k) = (g.cols(), g.kernel);
    plane.fill(T::ZERO);
    for ky in 0..k {
        for kx in 0..k {
            let row = &cols[((ci * k + ky) * k + kx) * stride..][..n];
            let shift = kx as isize - (k / 2) as isize;
            let cols_ok = valid(g.out_width, g.stride, shift, g.width);
            if cols_ok.is_empty() {
                continue;
            }
            for oy in 0..g.out_height {
                let Some(iy) = g.input_index(oy, ky, g.height) else { continue };
                let dst = &mut plane[iy * g.width..(iy + 1) * g.width];
                let src = &row[oy * g.out_width..(oy + 1) * g.out_width];
                if g.stride == 1 {
                    let from = (cols_ok.start as isize + shift) as usize;
                    for (d, s) in dst[from..from + cols_ok.len()].iter_mut().zip(&src[cols_ok.clone()]) {
                        *d += *s;
                    }
                } else {
                    for ox in cols_ok.clone() {
                        dst[(ox as isize * g.stride as isize + shift) as usize] += src[ox];
                    }
                }
            }
        }
    }
}
}

kernel! {
/// [`col2im_plane`] by the table.
fn col2im_plane_small<T: Real>(
    plane: &mut [T],
    cols: &[T],
    stride: usize,
    ci: usize,
    taps: &TapPixels,
    g: &Geometry,
) {
    let (n, k2) = (g.cols(), g.kernel * g.kernel);
    plane.fill(T::ZERO);
    for (t, pixels) in taps.0.iter().enumerate() {
        let row = &cols[(ci * k2 + t) * stride..][..n];
        for (&v, &i) in row.iter().zip(pixels) {
            if let Some(d) = plane.get_mut(i) {
                *d += v;
            }
        }
    }
}
}

/// Folds column gradients `[Ci·k·k, n·Ho·Wo]` back onto the gradients of `n`
/// images `[n, Ci, H, W]` (overwritten).
pub(super) fn col2im<T: Real>(cols: &[T], gx: &mut [T], g: &Geometry) {
    let images = gx.len() / g.in_image();
    let stride = images * g.cols();
    let taps = TapPixels::for_small_maps(g);
    gx.par_chunks_mut(g.height * g.width)
        .enumerate()
        .for_each(|(i, plane)| {
            let (j, ci) = (i / g.in_channels, i % g.in_channels);
            let cols = &cols[j * g.cols()..];
            match &taps {
                Some(taps) => col2im_plane_small(plane, cols, stride, ci, taps, g),
                None => col2im_plane(plane, cols, stride, ci, g),
            }
        });
}

/// A row-major or transposed view of a matrix for [`matmul`].
#[derive(Clone, Copy)]
pub(super) struct Mat<T> {
    ptr: *const T,
    row_stride: isize,
    col_stride: isize,
}

impl<T> Mat<T> {
    pub(super) fn rows(data: &[T], cols: usize) -> Mat<T> {
        Mat {
            ptr: data.as_ptr(),
            row_stride: cols as isize,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub(super) fn transposed(data: &[T], cols: usize) -> Mat<T> {
        Mat {
            ptr: data.as_ptr(),
            row_stride: 1,
            col_stride: cols as isize,
        }
    }
}

/// `dst[m×n] (+)= a[m×k] · b[k×n]`, dst row-major.
pub(super) fn matmul<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    threads: usize,
) {
    assert!(dst.len() >= m * n);
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the views describe matrices inside live slices of the right sizes
    // (checked by the callers' geometry), and dst does not alias a or b.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.ptr,
            a.col_stride,
            a.row_stride,
            b.ptr,
            b.col_stride,
            b.row_stride,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// Runs `work(images, out, threads)` for every group of images side by side in
/// one product ([`Geometry::images_per_product`]), `out` being theirs: the groups
/// one by one with all threads, or several at once with one thread each.
fn for_groups<T: Send>(
    g: &Geometry,
    out: &mut [T],
    per_image: usize,
    work: impl Fn(Range<usize>, &mut [T], usize) + Sync,
) {
    let size = g.images_per_product();
    let images = |i: usize, o: &[T]| i * size..i * size + o.len() / per_image;
    if g.parallel_images() {
        out.par_chunks_mut(per_image * size)
            .enumerate()
            .for_each(|(i, o)| work(images(i, o), o, 1));
    } else {
        let threads = rayon::current_num_threads();
        for (i, o) in out.chunks_mut(per_image * size).enumerate() {
            work(images(i, o), o, threads);
        }
    }
}

/// The columns of `images`: the image itself for a single image of a 1×1
/// stride-1 conv, else unfolded into `buffer`.
fn columns<'a, T: Real>(
    x: &'a [T],
    images: Range<usize>,
    buffer: &'a mut Vec<T>,
    g: &Geometry,
) -> &'a [T] {
    if g.pointwise() && images.len() == 1 {
        &x[images.start * g.in_image()..images.end * g.in_image()]
    } else {
        // SAFETY: im2col writes every element, padding included.
        *buffer = unsafe { unfilled(g.rows() * g.cols() * images.len()) };
        im2col(x, images, buffer, g);
        buffer
    }
}

/// The output gradients of `images`, side by side `[Co, n·Ho·Wo]`.
fn grads_side_by_side<'a, T: Real>(
    gy: &'a [T],
    images: Range<usize>,
    buffer: &'a mut Vec<T>,
    g: &Geometry,
) -> &'a [T] {
    let grads = &gy[images.start * g.out_image()..images.end * g.out_image()];
    if images.len() == 1 {
        grads
    } else {
        *buffer = side_by_side(grads, g.out_channels, g.cols());
        buffer
    }
}

pub(super) fn forward<T: Real>(x: &[T], w: &[T], g: &Geometry) -> Vec<T> {
    forward_keeping_columns(x, w, g, false).0
}

/// The unfolded columns of a forward pass, one buffer per group of images side by
/// side (empty where the product read the image itself), kept for the weight
/// gradient so that the backward pass need not unfold again.
pub(super) type Columns<T> = Vec<Vec<T>>;

/// The forward pass, and its columns if `keep`.
pub(super) fn forward_keeping_columns<T: Real>(
    x: &[T],
    w: &[T],
    g: &Geometry,
    keep: bool,
) -> (Vec<T>, Columns<T>) {
    // SAFETY: every group's product (or its copy one image by one) writes all of
    // the group's outputs.
    let mut y = unsafe { unfilled(g.batch * g.out_image()) };
    let size = g.images_per_product();
    let kept: Vec<std::sync::Mutex<Vec<T>>> = (0..if keep { g.batch.div_ceil(size) } else { 0 })
        .map(|_| Default::default())
        .collect();
    for_groups(g, &mut y, g.out_image(), |images, out, threads| {
        let n = g.cols() * images.len();
        let mut buffer = Vec::new();
        let group = images.start / size;
        let cols = columns(x, images.clone(), &mut buffer, g);
        let product = (g.out_channels, n, g.rows());
        let (w, cols) = (Mat::rows(w, g.rows()), Mat::rows(cols, n));
        if images.len() == 1 {
            matmul(product, out, false, w, cols, threads);
        } else {
            // SAFETY: the product overwrites it whole.
            let mut wide = unsafe { unfilled(g.out_channels * n) };
            matmul(product, &mut wide, false, w, cols, threads);
            one_by_one(&wide, out, g.out_channels, g.cols());
        }
        if let Some(slot) = kept.get(group) {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = buffer;
        }
    });
    let kept = kept
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    (y, kept)
}

pub(super) fn grad_input<T: Real>(gy: &[T], w: &[T], g: &Geometry) -> Vec<T> {
    // SAFETY: every group's product or folding (which clears each plane first)
    // writes all of the group's gradients.
    let mut gx = unsafe { unfilled(g.batch * g.in_image()) };
    for_groups(g, &mut gx, g.in_image(), |images, out, threads| {
        let (m, n, k) = (g.rows(), g.cols() * images.len(), g.out_channels);
        let mut buffer = Vec::new();
        let grads = grads_side_by_side(gy, images.clone(), &mut buffer, g);
        let (wt, grads) = (Mat::transposed(w, g.rows()), Mat::rows(grads, n));
        if g.pointwise() && images.len() == 1 {
            matmul((m, n, k), out, false, wt, grads, threads);
        } else {
            // SAFETY: the product overwrites it whole.
            let mut cols = unsafe { unfilled(m * n) };
            matmul((m, n, k), &mut cols, false, wt, grads, threads);
            col2im(&cols, out, g);
        }
    });
    gx
}

pub(super) fn grad_weight<T: Real>(x: &[T], gy: &[T], g: &Geometry) -> Vec<T> {
    grad_weight_from_columns(x, gy, g, &[])
}

/// The weight gradient, reading a group's columns from `kept` (the forward pass's,
/// [`forward_keeping_columns`]) where it has them instead of unfolding `x` again.
pub(super) fn grad_weight_from_columns<T: Real>(
    x: &[T],
    gy: &[T],
    g: &Geometry,
    kept: &[Vec<T>],
) -> Vec<T> {
    let (m, n) = (g.out_channels, g.rows());
    let size = g.images_per_product();
    // gW += gy [Co × n·HoWo] · colsᵀ [n·HoWo × Ci·k·k], summed over groups. Both
    // operands run along the pixels, and gemm transposes the columns while packing
    // them, reading one value from each of 64 rows per step with AVX-512 (16 with
    // AVX2): with rows 4 KiB apart (32×32 maps) all in one set of the first-level
    // cache. Where the columns have more rows than gy, gy is transposed here
    // instead, tile by tile, and the product is gWᵀ = cols · gyᵀ (its small sum
    // transposed at the end): V2-S steps 9% faster with AVX-512, no change with
    // AVX2. Where they have fewer (1×1 expansions), transposing the columns here
    // measured slower than gemm's packing.
    let transposed = n > m;
    let accumulate = |images: Range<usize>, gw: &mut [T], first: bool, threads: usize| {
        let k = g.cols() * images.len();
        let (mut cols, mut grads) = (Vec::new(), Vec::new());
        let cols = match kept.get(images.start / size) {
            Some(c) if !c.is_empty() => &c[..],
            _ => columns(x, images.clone(), &mut cols, g),
        };
        let grads = grads_side_by_side(gy, images, &mut grads, g);
        if transposed {
            let grads_t = transpose(grads, m, k);
            let (cols, grads_t) = (Mat::rows(cols, k), Mat::rows(&grads_t, m));
            matmul((n, m, k), gw, !first, cols, grads_t, threads);
        } else {
            let (grads, cols) = (Mat::rows(grads, k), Mat::transposed(cols, k));
            matmul((m, n, k), gw, !first, grads, cols, threads);
        }
    };
    let size = g.images_per_product();
    let groups: Vec<Range<usize>> = (0..g.batch)
        .step_by(size)
        .map(|b| b..(b + size).min(g.batch))
        .collect();
    let gw = if g.parallel_images() {
        // A fixed split of the groups into one run per core, summed in order: the
        // result does not depend on which thread ran what, so training is
        // reproducible (rayon's fold/reduce would not be).
        let parts = rayon::current_num_threads().min(groups.len()).max(1);
        let per_part = groups.len().div_ceil(parts);
        let partial: Vec<Vec<T>> = groups
            .par_chunks(per_part)
            .map(|mine| {
                let mut gw = vec![T::ZERO; m * n];
                for (i, images) in mine.iter().enumerate() {
                    accumulate(images.clone(), &mut gw, i == 0, 1);
                }
                gw
            })
            .collect();
        let mut partial = partial.into_iter();
        let mut gw = partial.next().expect("at least one part");
        for part in partial {
            for (x, y) in gw.iter_mut().zip(part) {
                *x += y;
            }
        }
        gw
    } else {
        let mut gw = vec![T::ZERO; m * n];
        let threads = rayon::current_num_threads();
        for (i, images) in groups.into_iter().enumerate() {
            accumulate(images, &mut gw, i == 0, threads);
        }
        gw
    };
    if transposed { transpose(&gw, n, m) } else { gw }
}

kernel! {
/// The transpose of a row-major `rows × cols` matrix, in square tiles so that
/// both the rows read and the rows written stay in the cache.
fn transpose<T: Real>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    const TILE: usize = 16;
    // SAFETY: the tiles cover every element.
    let mut t = unsafe { unfilled(rows * cols) };
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    t[j * rows + i] = a[i * cols + j];
                }
            }
        }
    }
    t
}
}

/// `y = conv2d(x, w)`: x `[B, Ci, H, W]`, w `[Co, Ci, k, k]`, padding k/2.
pub struct Conv {
    pub stride: usize,
}

impl CustomOp2 for Conv {
    fn name(&self) -> &'static str {
        "conv2d-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), l2.dims(), self.stride);
        by_dtype!(s1, "conv2d-gemm", |T| {
            let y = forward::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((
                T::to_cpu_storage_owned(y),
                Shape::from((g.batch, g.out_channels, g.out_height, g.out_width)),
            ))
        })
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
            &ConvGradInput {
                stride: self.stride,
                height,
                width,
            },
        )?;
        let gw = x.apply_op2_no_bwd(
            &gy,
            &ConvGradWeight {
                stride: self.stride,
                kernel: w.dim(2)?,
            },
        )?;
        Ok((Some(gx), Some(gw)))
    }
}

/// `gx` from `(gy, w)`.
pub struct ConvGradInput {
    pub stride: usize,
    pub height: usize,
    pub width: usize,
}

impl CustomOp2 for ConvGradInput {
    fn name(&self) -> &'static str {
        "conv2d-gemm-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let w = l2.dims();
        let x = [l1.dims()[0], w[1], self.height, self.width];
        let g = Geometry::new(&x, w, self.stride);
        by_dtype!(s1, "conv2d-gemm-grad-input", |T| {
            let gx = grad_input::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((T::to_cpu_storage_owned(gx), Shape::from(x.to_vec())))
        })
    }
}

/// `gw` from `(x, gy)`.
pub struct ConvGradWeight {
    pub stride: usize,
    pub kernel: usize,
}

impl CustomOp2 for ConvGradWeight {
    fn name(&self) -> &'static str {
        "conv2d-gemm-grad-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = l1.dims();
        let w = [l2.dims()[1], x[1], self.kernel, self.kernel];
        let g = Geometry::new(x, &w, self.stride);
        by_dtype!(s1, "conv2d-gemm-grad-weight", |T| {
            let gw = grad_weight::<T>(slice(s1, l1, self.name())?, slice(s2, l2, self.name())?, &g);
            Ok((T::to_cpu_storage_owned(gw), Shape::from(w.to_vec())))
        })
    }
}

/// Dense convolution of `x` `[B, Ci, H, W]` with `w` `[Co, Ci, k, k]`, padding k/2.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: usize) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, Conv { stride })
}
