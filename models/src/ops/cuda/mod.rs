//! Launching `kernels.cu` on candle's CUDA storage. The kernels are compiled to PTX at
//! build time (`build.rs`) and loaded into each device once, as one module.
//!
//! Each launcher takes contiguous inputs and returns a fresh buffer; the kernels write
//! every element of it, so none needs zeroing.

use candle_core::cuda_backend::cudarc::driver::{
    CudaSlice, CudaView, DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits,
};
use candle_core::cuda_backend::{CudaDType, WrapErr};
use candle_core::{CudaStorage, DType, Layout, Result, WithDType, backend::BackendStorage};

const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/kernels.ptx"));
const MODULE: &str = "effnas-ops";
const BLOCK: u32 = 256;

/// The shape of one convolution's input and filter, as every kernel takes it.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
}

impl ConvShape {
    /// For an input of dims `[B, C, H, W]`.
    pub fn of(x: &[usize], kernel: usize, stride: usize) -> ConvShape {
        ConvShape {
            batch: x[0],
            channels: x[1],
            height: x[2],
            width: x[3],
            kernel,
            stride,
        }
    }

    pub fn out_height(&self) -> usize {
        (self.height + 2 * (self.kernel / 2) - self.kernel) / self.stride + 1
    }

    pub fn out_width(&self) -> usize {
        (self.width + 2 * (self.kernel / 2) - self.kernel) / self.stride + 1
    }

    fn in_len(&self) -> usize {
        self.batch * self.channels * self.height * self.width
    }

    fn out_len(&self) -> usize {
        self.batch * self.channels * self.out_height() * self.out_width()
    }

    fn taps(&self) -> usize {
        self.kernel * self.kernel
    }

    /// The kernels' eight geometry arguments, in their order.
    fn args(&self) -> Result<[i32; 8]> {
        let dims = [
            self.batch,
            self.channels,
            self.height,
            self.width,
            self.kernel,
            self.stride,
            self.out_height(),
            self.out_width(),
        ];
        let mut args = [0i32; 8];
        for (a, d) in args.iter_mut().zip(dims) {
            *a = i32::try_from(d).map_err(|_| {
                candle_core::Error::Msg(format!("dimension {d} is too large for the CUDA kernels"))
            })?;
        }
        Ok(args)
    }
}

/// The float types the kernels are instantiated for.
trait Float: CudaDType + DeviceRepr + ValidAsZeroBits + WithDType {
    const SUFFIX: &'static str;
}

impl Float for f32 {
    const SUFFIX: &'static str = "f32";
}

impl Float for f64 {
    const SUFFIX: &'static str = "f64";
}

/// Runs `$body` with `$t` the storage's float type.
macro_rules! by_dtype {
    ($storage:expr, $op:literal, |$t:ident| $body:expr) => {
        match $storage.dtype() {
            DType::F32 => {
                type $t = f32;
                $body
            }
            DType::F64 => {
                type $t = f64;
                $body
            }
            other => candle_core::bail!("{}: only f32 and f64 are supported, not {other:?}", $op),
        }
    };
}

fn view<'a, T: Float>(
    storage: &'a CudaStorage,
    layout: &Layout,
    op: &str,
) -> Result<CudaView<'a, T>> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(storage.as_cuda_slice::<T>()?.slice(start..end)),
        None => candle_core::bail!("{op}: expects contiguous inputs"),
    }
}

/// Enough blocks for one element per thread; the kernels' grid-stride loops cover
/// any remainder past the cap.
fn config(elements: usize) -> LaunchConfig {
    let blocks = elements.div_ceil(BLOCK as usize).clamp(1, 1 << 20) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// `<kernel>_<type>` from our module, loaded into the device on first use.
macro_rules! function {
    ($t:ty, $device:expr, $kernel:expr) => {
        $device.get_or_load_custom_func(&format!("{}_{}", $kernel, <$t>::SUFFIX), MODULE, PTX)
    };
}

/// Runs a geometry kernel: its parameters are the `inputs`, the output buffer of
/// `out_len` elements, `extra` scalars, then the geometry (kernels.cu, ENTRY_POINTS).
fn run<T: Float>(
    kernel: &str,
    inputs: &[(&CudaStorage, &Layout)],
    out_len: usize,
    extra: &[i32],
    shape: &ConvShape,
) -> Result<CudaSlice<T>> {
    let device = inputs[0].0.device().clone();
    let views = inputs
        .iter()
        .map(|&(s, l)| view::<T>(s, l, kernel))
        .collect::<Result<Vec<_>>>()?;
    let dims = shape.args()?;
    let function = function!(T, device, kernel)?;
    // SAFETY: the kernel writes every element.
    let mut out = unsafe { device.alloc::<T>(out_len)? };
    let mut builder = function.builder();
    for v in &views {
        builder.arg(v);
    }
    builder.arg(&mut out);
    for a in extra.iter().chain(&dims) {
        builder.arg(a);
    }
    // SAFETY: the arguments match the kernel's parameters, and every buffer holds the
    // elements the geometry says it does.
    unsafe { builder.launch(config(out_len)) }.w()?;
    drop(builder);
    Ok(out)
}

/// `y = depthwise(x, w)`: x `[B, C, H, W]`, w `[C, 1, k, k]`.
pub fn depthwise_forward(
    x: (&CudaStorage, &Layout),
    w: (&CudaStorage, &Layout),
    shape: &ConvShape,
) -> Result<CudaStorage> {
    let device = x.0.device().clone();
    by_dtype!(x.0, "depthwise-conv", |T| {
        let y = run::<T>("depthwise_forward", &[x, w], shape.out_len(), &[], shape)?;
        Ok(CudaStorage::wrap_cuda_slice(y, device))
    })
}

/// `gx` from `(gy, w)`; `shape` is the input's.
pub fn depthwise_grad_input(
    gy: (&CudaStorage, &Layout),
    w: (&CudaStorage, &Layout),
    shape: &ConvShape,
) -> Result<CudaStorage> {
    let device = gy.0.device().clone();
    by_dtype!(gy.0, "depthwise-conv-grad-input", |T| {
        let gx = run::<T>("depthwise_grad_input", &[gy, w], shape.in_len(), &[], shape)?;
        Ok(CudaStorage::wrap_cuda_slice(gx, device))
    })
}

/// `gw` `[C, 1, k, k]` from `(x, gy)`, in two passes: partial sums over interleaved
/// slices of the batch's pixels, then their sum in f64.
pub fn depthwise_grad_weight(
    x: (&CudaStorage, &Layout),
    gy: (&CudaStorage, &Layout),
    shape: &ConvShape,
) -> Result<CudaStorage> {
    let device = x.0.device().clone();
    let terms = shape.batch * shape.out_height() * shape.out_width();
    // Enough threads to fill the GPU when there are few channels, few enough that
    // each adds a run of terms.
    let parts = terms.clamp(1, 512);
    let weights = shape.channels * shape.taps();
    by_dtype!(x.0, "depthwise-conv-grad-weight", |T| {
        let partial = run::<T>(
            "depthwise_grad_weight_partial",
            &[x, gy],
            weights * parts,
            &[parts as i32],
            shape,
        )?;
        let function = function!(T, device, "sum_parts")?;
        // SAFETY: the kernel writes every element.
        let mut gw = unsafe { device.alloc::<T>(weights)? };
        let (parts, n) = (parts as i32, weights as i64);
        let mut builder = function.builder();
        builder.arg(&partial).arg(&mut gw).arg(&parts).arg(&n);
        // SAFETY: as in `run`.
        unsafe { builder.launch(config(weights)) }.w()?;
        drop(builder);
        Ok(CudaStorage::wrap_cuda_slice(gw, device))
    })
}

/// The columns `[C·k·k, B·Ho·Wo]` of a dense convolution's input `[B, C, H, W]`.
pub fn im2col(x: (&CudaStorage, &Layout), shape: &ConvShape) -> Result<CudaStorage> {
    let device = x.0.device().clone();
    by_dtype!(x.0, "im2col", |T| {
        let cols = run::<T>("im2col", &[x], shape.out_len() * shape.taps(), &[], shape)?;
        Ok(CudaStorage::wrap_cuda_slice(cols, device))
    })
}

/// The input gradient `[B, C, H, W]` folded back from column gradients.
pub fn col2im(cols: (&CudaStorage, &Layout), shape: &ConvShape) -> Result<CudaStorage> {
    let device = cols.0.device().clone();
    by_dtype!(cols.0, "col2im", |T| {
        let gx = run::<T>("col2im", &[cols], shape.in_len(), &[], shape)?;
        Ok(CudaStorage::wrap_cuda_slice(gx, device))
    })
}
