//! A sequence of layers described as the stages of one whole-block op
//! ([`ops::block_train`]), for training on our CPU kernels.

use candle_core::{DType, Result, Tensor};

use super::{BN_EPS, BatchNorm, Layer, Pass, Sequence};
use crate::ops::{self, OpSet, ParamGrads, Stage};

/// A sequence's layers as stages, with their parameters in stage order and the
/// BatchNorms whose running statistics the op's batch statistics move.
pub struct WholeBlock<'a> {
    stages: Vec<Stage>,
    params: Vec<Tensor>,
    norms: Vec<&'a BatchNorm>,
}

impl Pass<'_> {
    /// Whether a sequence of layers on `x` runs as one op: in training, with our
    /// kernels, on the CPU, in f32 or f64.
    pub fn whole_blocks(&self, x: &Tensor) -> bool {
        self.train
            && self.ops == OpSet::Fast
            && x.device().is_cpu()
            && matches!(x.dtype(), DType::F32 | DType::F64)
    }
}

impl Sequence {
    /// The layers as one op's stages; `None` when one of them has no stage
    /// (pooling, dropout, a linear layer, a grouped convolution that is not
    /// depthwise, a SiLU that does not follow a BatchNorm).
    pub fn whole_block(&self) -> Option<WholeBlock<'_>> {
        let mut block = WholeBlock {
            stages: Vec::with_capacity(self.0.len()),
            params: Vec::new(),
            norms: Vec::new(),
        };
        let mut layers = self.0.iter().peekable();
        while let Some(layer) = layers.next() {
            let stage = match layer {
                Layer::Conv(conv) => {
                    let w = conv.weight.as_tensor();
                    let (out_channels, per_group, kernel) =
                        (w.dim(0).ok()?, w.dim(1).ok()?, w.dim(2).ok()?);
                    block.params.push(w.clone());
                    if conv.groups == 1 {
                        Stage::Conv {
                            out_channels,
                            kernel,
                            stride: conv.stride,
                        }
                    } else if per_group == 1 && out_channels == conv.groups {
                        Stage::Depthwise {
                            kernel,
                            stride: conv.stride,
                        }
                    } else {
                        return None;
                    }
                }
                Layer::BatchNorm(bn) => {
                    let silu = matches!(layers.peek(), Some(Layer::Silu));
                    if silu {
                        layers.next();
                    }
                    block.params.push(bn.weight.as_tensor().clone());
                    block.params.push(bn.bias.as_tensor().clone());
                    block.norms.push(bn);
                    Stage::BatchNorm { silu }
                }
                Layer::SqueezeExcite(se) => {
                    let squeeze = se.reduce_weight.dim(0).ok()?;
                    for var in [
                        &se.reduce_weight,
                        &se.reduce_bias,
                        &se.expand_weight,
                        &se.expand_bias,
                    ] {
                        block.params.push(var.as_tensor().clone());
                    }
                    Stage::SqueezeExcite { squeeze }
                }
                Layer::Silu | Layer::GlobalPool | Layer::Dropout | Layer::Linear(_) => return None,
            };
            block.stages.push(stage);
        }
        (!block.stages.is_empty()).then_some(block)
    }
}

impl WholeBlock<'_> {
    /// Runs the stages on `x` in training mode, with the shortcut
    /// `x + keep[b]·branch` when `shortcut` gives the per-image `keep`, and moves
    /// the BatchNorms' running statistics. The parameters' gradients go to `grads`.
    pub fn forward(
        &self,
        x: &Tensor,
        shortcut: Option<Vec<f64>>,
        grads: &ParamGrads,
    ) -> Result<Tensor> {
        let (y, stats) = ops::block_train(x, &self.params, &self.stages, shortcut, BN_EPS, grads)?;
        for (bn, batch) in self.norms.iter().zip(&stats) {
            bn.record_batch(batch)?;
        }
        Ok(y)
    }
}
