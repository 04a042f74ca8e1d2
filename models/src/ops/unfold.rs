//! A dense convolution as unfolded columns times the weight matrix: `y = W · cols(x)`,
//! with W `[Co, Ci·k·k]` and the columns of the whole batch side by side, `[Ci·k·k,
//! B·Ho·Wo]`, so one product serves the batch and the weight gradient is one product
//! too. This is the GPU's formulation: the products (forward and both gradients) run in
//! cuBLAS through candle's matmul, and only the unfolding and its adjoint, the folding,
//! are ours. It runs on the CPU too, where the tests hold it to [`super::conv2d`]'s
//! fused op.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, WithDType};

use super::conv::{Geometry, col2im, im2col};
use super::real::{Real, by_dtype, slice};

/// `x` `[B, C, H, W]` → columns `[C·k·k, B·Ho·Wo]` (zeros where a tap reads padding).
struct Unfold {
    kernel: usize,
    stride: usize,
}

impl CustomOp1 for Unfold {
    fn name(&self) -> &'static str {
        "unfold"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = l.dims();
        let g = Geometry::new(x, &[1, x[1], self.kernel, self.kernel], self.stride);
        let (batch, n) = (x[0], g.cols());
        by_dtype!(s, "unfold", |T| {
            let input = slice::<T>(s, l, self.name())?;
            let mut cols = vec![T::ZERO; g.rows() * batch * n];
            im2col(input, 0..batch, &mut cols, &g);
            Ok((
                T::to_cpu_storage_owned(cols),
                Shape::from((g.rows(), batch * n)),
            ))
        })
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let shape = super::cuda::ConvShape::of(l.dims(), self.kernel, self.stride);
        let cols = super::cuda::im2col((s, l), &shape)?;
        let rows = shape.channels * self.kernel * self.kernel;
        let out = (rows, shape.batch * shape.out_height() * shape.out_width());
        Ok((cols, Shape::from(out)))
    }

    fn bwd(&self, x: &Tensor, _cols: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let fold = Fold {
            input: x.dims().to_vec(),
            kernel: self.kernel,
            stride: self.stride,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&fold)?))
    }
}

/// The adjoint of [`Unfold`]: column gradients back onto the input `[B, C, H, W]`.
struct Fold {
    input: Vec<usize>,
    kernel: usize,
    stride: usize,
}

impl CustomOp1 for Fold {
    fn name(&self) -> &'static str {
        "fold"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = &self.input;
        let g = Geometry::new(x, &[1, x[1], self.kernel, self.kernel], self.stride);
        by_dtype!(s, "fold", |T| {
            let cols = slice::<T>(s, l, self.name())?;
            let mut gx = vec![T::ZERO; x[0] * g.in_image()];
            col2im(cols, &mut gx, &g);
            Ok((T::to_cpu_storage_owned(gx), Shape::from(x.clone())))
        })
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let shape = super::cuda::ConvShape::of(&self.input, self.kernel, self.stride);
        let gx = super::cuda::col2im((s, l), &shape)?;
        Ok((gx, Shape::from(self.input.clone())))
    }
}

/// Dense convolution of `x` `[B, Ci, H, W]` with `w` `[Co, Ci, k, k]`, padding k/2, as
/// one matrix product over the batch's unfolded columns; gradients through candle's
/// autograd.
pub fn conv2d_unfolded(x: &Tensor, w: &Tensor, stride: usize) -> Result<Tensor> {
    let (batch, channels, height, width) = x.dims4()?;
    let (out_channels, _, kernel, _) = w.dims4()?;
    let pad = kernel / 2;
    let out_height = (height + 2 * pad - kernel) / stride + 1;
    let out_width = (width + 2 * pad - kernel) / stride + 1;
    let cols = if kernel == 1 && stride == 1 {
        // A 1×1 stride-1 convolution multiplies the image itself, channels first.
        x.transpose(0, 1)?
            .reshape((channels, batch * height * width))?
    } else {
        x.contiguous()?.apply_op1(Unfold { kernel, stride })?
    };
    let weights = w.reshape((out_channels, channels * kernel * kernel))?;
    weights
        .matmul(&cols)?
        .reshape((out_channels, batch, out_height, out_width))?
        .transpose(0, 1)?
        .contiguous()
}
