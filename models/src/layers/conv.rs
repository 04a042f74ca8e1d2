//! A 2-D convolution without bias ("same" padding; BatchNorm follows every one).

use candle_core::{Result, Tensor, Var};

use crate::ops::{self, OpSet};
use crate::params::ParamStore;

pub struct Conv2d {
    pub weight: Var,
    pub stride: usize,
    pub groups: usize,
}

impl Conv2d {
    pub fn new(
        prefix: &str,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        store: &mut ParamStore,
    ) -> Result<Conv2d> {
        let shape = [out_channels, in_channels / groups, kernel, kernel];
        Ok(Conv2d {
            weight: store.conv_weight(format!("{prefix}.weight"), &shape, groups)?,
            stride,
            groups,
        })
    }

    /// Padding k/2 on every side gives `ceil(side / stride)` for odd kernels, the
    /// size the analytics assume.
    pub fn forward(&self, x: &Tensor, ops: OpSet) -> Result<Tensor> {
        let w = self.weight.as_tensor();
        if ops.fast_for(x.device(), x.dtype()) {
            let (out, per_group) = (w.dim(0)?, w.dim(1)?);
            if self.groups == 1 {
                return ops::conv2d(x, w, self.stride);
            }
            if per_group == 1 && out == self.groups {
                return ops::depthwise_conv2d(x, w, self.stride);
            }
        }
        let kernel = w.dim(2)?;
        x.conv2d(w, kernel / 2, self.stride, 1, self.groups)
    }
}
