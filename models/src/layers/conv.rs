//! A 2-D convolution without bias ("same" padding; BatchNorm follows every one).

use candle_core::{Result, Tensor, Var};

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
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let kernel = self.weight.dim(2)?;
        x.conv2d(&self.weight, kernel / 2, self.stride, 1, self.groups)
    }
}
