//! How much memory one training step needs, estimated from the layer plan, so the
//! evaluator can skip candidates that cannot fit before it tries to build them.

use serde::Serialize;

use crate::analytics::{Walk, parts};
use crate::arch::ArchSpec;
use crate::error::SpecError;

/// Bytes per stored value (f32 training).
const BYTES: u64 = 4;
/// Per parameter: the weight, its gradient, and RMSProp's two slots (mean square
/// and momentum).
const COPIES_PER_PARAM: u64 = 4;

/// An estimate of a training step's memory, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MemoryEstimate {
    /// Forward tensors kept for the backward pass, for the whole batch.
    pub activations: u64,
    /// Weights, gradients and optimizer state.
    pub parameters: u64,
    /// Their sum.
    pub total: u64,
}

/// Memory of one training step at `batch` images of side `size`.
///
/// The model: a tape-based autograd keeps every forward output alive until the
/// backward pass, so activations are the sum of all layer outputs (plus the input
/// batch); parameters cost four copies. Transient buffers inside an op are ignored.
pub fn estimate_training_memory(
    spec: &ArchSpec,
    batch: usize,
    size: usize,
) -> Result<MemoryEstimate, SpecError> {
    spec.validate()?;
    spec.check_image_size("size", size)?;
    let mut walk = Walk::new(size);
    for part in parts(spec) {
        part.walk(&mut walk);
    }
    let input = (size as u64).pow(2) * spec.input_channels as u64;
    let activations = (walk.activations.saturating_add(input))
        .saturating_mul(batch as u64)
        .saturating_mul(BYTES);
    let parameters = walk.params.saturating_mul(BYTES * COPIES_PER_PARAM);
    Ok(MemoryEstimate {
        activations,
        parameters,
        total: activations.saturating_add(parameters),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    #[test]
    fn activations_scale_with_batch_and_area() {
        let spec = preset("efficientnetv2-s").unwrap();
        let one = estimate_training_memory(&spec, 1, 128).unwrap();
        let eight = estimate_training_memory(&spec, 8, 128).unwrap();
        assert_eq!(eight.activations, 8 * one.activations);
        assert_eq!(eight.parameters, one.parameters);
        assert_eq!(one.parameters, 21_458_488 * 16);
        // Doubling the side roughly quadruples the activations (the pooled tail does not grow).
        let big = estimate_training_memory(&spec, 1, 256).unwrap();
        let ratio = big.activations as f64 / one.activations as f64;
        assert!((3.9..4.01).contains(&ratio), "{ratio}");
    }
}
