//! Parameter gradients that reach candle's gradient store beside its graph.
//!
//! A whole-block op ([`super::block_train`]) reads its parameters itself instead of
//! taking them as inputs. As inputs they had to be packed into one tensor every
//! step, and candle's backward pass then zero-filled a gradient and added into it
//! for the packed tensor, for every piece of the pack and again for every
//! parameter: about a dozen passes over each parameter per step (zero-fills,
//! copies and candle's additions made 15% of a profile of a 16.5 M-parameter
//! network at the proxy's 24 px). The op's backward pass hands each parameter's
//! gradient here instead, and [`ParamGrads::backward`] runs candle's backward pass
//! and puts them into its store.

use std::sync::{Arc, Mutex};

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Result, Tensor, Var};

/// Gradients handed over by ops during a backward pass, for
/// [`ParamGrads::backward`] to put into candle's store. Clones share them.
#[derive(Clone)]
pub struct ParamGrads {
    /// `(parameter, gradient)`, in the order the ops handed them over.
    pending: Arc<Mutex<Vec<(Tensor, Tensor)>>>,
    /// A variable every reporting op takes as an input: candle records an op for
    /// the backward pass only if one of its inputs needs a gradient, and a block
    /// on the input images (the stem) has no other such input. Its gradient is
    /// never computed. On the CPU, where the whole-block ops run.
    anchor: Var,
}

impl ParamGrads {
    pub fn new() -> Result<ParamGrads> {
        Ok(ParamGrads {
            pending: Arc::default(),
            anchor: Var::zeros(1, DType::F32, &Device::Cpu)?,
        })
    }

    pub(crate) fn anchor(&self) -> &Tensor {
        self.anchor.as_tensor()
    }

    /// Called by an op's backward pass: `grad` is the gradient of `param`.
    pub(crate) fn hand_over(&self, param: &Tensor, grad: Tensor) {
        self.lock().push((param.clone(), grad));
    }

    /// Forgets gradients handed over by a backward pass that did not go through
    /// [`ParamGrads::backward`].
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// `loss.backward()`, with the gradients the ops handed over added in: the
    /// store gives every parameter's gradient, whichever path it took.
    pub fn backward(&self, loss: &Tensor) -> Result<GradStore> {
        let mut grads = loss.backward()?;
        for (param, grad) in self.lock().drain(..) {
            let grad = match grads.remove(&param) {
                Some(other) => (other + grad)?,
                None => grad,
            };
            grads.insert(&param, grad);
        }
        Ok(grads)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Tensor, Tensor)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
