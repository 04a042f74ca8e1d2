//! The fully connected classifier.

use candle_core::{Result, Tensor, Var};

use crate::params::{ParamStore, Role};

pub struct Linear {
    pub weight: Var,
    pub bias: Var,
}

impl Linear {
    pub fn new(
        prefix: &str,
        inputs: usize,
        outputs: usize,
        store: &mut ParamStore,
    ) -> Result<Linear> {
        Ok(Linear {
            weight: store.linear_weight(format!("{prefix}.weight"), outputs, inputs)?,
            bias: store.constant(format!("{prefix}.bias"), outputs, 0.0, Role::NoDecay)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}
