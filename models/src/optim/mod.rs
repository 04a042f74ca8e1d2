//! Optimizers that training needs and candle lacks.

mod adamw;
mod buffers;
mod rmsprop;
mod sgd;

pub use adamw::{AdamW, AdamWConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

use crate::params::{ParamStore, Role};

pub trait Optimizer {
    /// Applies one update from `grads`; parameters without a gradient are left alone.
    fn step(&mut self, grads: &GradStore) -> Result<()>;
    fn learning_rate(&self) -> f64;
    fn set_learning_rate(&mut self, lr: f64);
    /// The optimizer's state as named tensors, for checkpoints.
    fn state(&self) -> Result<Vec<(String, Tensor)>>;
    /// Restores state saved by [`Optimizer::state`] for the same parameters.
    fn load_state(&mut self, saved: HashMap<String, Tensor>) -> Result<()>;
}

/// A trained tensor and whether weight decay applies to it.
pub(crate) struct Slot {
    pub var: Var,
    pub decay: bool,
}

/// The trained tensors of `params`: weight decay on conv and FC kernels only, not on
/// BatchNorm or biases.
pub(crate) fn slots(params: &ParamStore) -> Vec<Slot> {
    params
        .trainable()
        .map(|p| Slot {
            var: p.var.clone(),
            decay: p.role == Role::Weight,
        })
        .collect()
}
