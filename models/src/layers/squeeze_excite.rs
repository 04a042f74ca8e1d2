//! Squeeze-and-excitation: a per-channel gate computed from the pooled map.

use candle_core::{Result, Tensor, Var};

use crate::params::{ParamStore, Role};

pub struct SqueezeExcite {
    /// `[squeeze, channels, 1, 1]`: stored as the 1×1 conv it is.
    pub reduce_weight: Var,
    pub reduce_bias: Var,
    /// `[channels, squeeze, 1, 1]`.
    pub expand_weight: Var,
    pub expand_bias: Var,
}

impl SqueezeExcite {
    pub fn new(
        prefix: &str,
        channels: usize,
        squeeze: usize,
        store: &mut ParamStore,
    ) -> Result<SqueezeExcite> {
        Ok(SqueezeExcite {
            reduce_weight: store.conv_weight(
                format!("{prefix}.reduce.weight"),
                &[squeeze, channels, 1, 1],
                1,
            )?,
            reduce_bias: store.constant(
                format!("{prefix}.reduce.bias"),
                squeeze,
                0.0,
                Role::NoDecay,
            )?,
            expand_weight: store.conv_weight(
                format!("{prefix}.expand.weight"),
                &[channels, squeeze, 1, 1],
                1,
            )?,
            expand_bias: store.constant(
                format!("{prefix}.expand.bias"),
                channels,
                0.0,
                Role::NoDecay,
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, channels, _, _) = x.dims4()?;
        // 1×1 convs on a 1×1 map are matrix products.
        let fc =
            |h: &Tensor, w: &Var, b: &Var| h.matmul(&w.flatten_from(1)?.t()?)?.broadcast_add(b);
        let pooled = x.mean((2, 3))?;
        let squeezed = fc(&pooled, &self.reduce_weight, &self.reduce_bias)?.silu()?;
        let gate =
            candle_nn::ops::sigmoid(&fc(&squeezed, &self.expand_weight, &self.expand_bias)?)?;
        x.broadcast_mul(&gate.reshape((batch, channels, 1, 1))?)
    }
}
