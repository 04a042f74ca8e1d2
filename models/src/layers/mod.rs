//! The runtime layers, one per kind of [`space::Layer`] in a network's plan.

mod batch_norm;
mod conv;
mod linear;
mod masks;
mod squeeze_excite;
mod whole_block;

pub use batch_norm::{BN_EPS, BN_MOMENTUM, BatchNorm};
pub use conv::Conv2d;
pub use linear::Linear;
pub use masks::{drop_path, dropout, keep_scales};
pub use squeeze_excite::SqueezeExcite;
pub use whole_block::WholeBlock;

use candle_core::{Result, Tensor};
use rand::rngs::StdRng;

use crate::ops::{OpSet, ParamGrads};
use crate::params::ParamStore;

/// What a forward pass needs besides its input: the mode, the kernels to use, the
/// generator that draws stochastic-depth and dropout masks, and where whole-block
/// ops hand their parameters' gradients.
pub struct Pass<'a> {
    pub train: bool,
    pub ops: OpSet,
    /// Dropout rate before the classifier (adaptive regularization changes it).
    pub dropout: f64,
    pub rng: &'a mut StdRng,
    pub grads: &'a ParamGrads,
}

/// One layer of a network.
pub enum Layer {
    Conv(Conv2d),
    BatchNorm(BatchNorm),
    Silu,
    SqueezeExcite(SqueezeExcite),
    GlobalPool,
    /// At the rate the pass carries.
    Dropout,
    Linear(Linear),
}

impl Layer {
    /// Builds the layer a plan entry describes, its tensors named `{prefix}.{name}`.
    /// `None` for the residual marker, which the block handles.
    pub fn build(
        plan: &space::Layer,
        prefix: &str,
        store: &mut ParamStore,
    ) -> Result<Option<Layer>> {
        Ok(Some(match *plan {
            space::Layer::Conv {
                in_channels,
                out_channels,
                kernel,
                stride,
                groups,
            } => Layer::Conv(Conv2d::new(
                prefix,
                in_channels,
                out_channels,
                kernel,
                stride,
                groups,
                store,
            )?),
            space::Layer::BatchNorm { channels } => {
                Layer::BatchNorm(BatchNorm::new(prefix, channels, store)?)
            }
            space::Layer::Silu { .. } => Layer::Silu,
            space::Layer::SqueezeExcite { channels, squeeze } => {
                Layer::SqueezeExcite(SqueezeExcite::new(prefix, channels, squeeze, store)?)
            }
            space::Layer::GlobalPool { .. } => Layer::GlobalPool,
            space::Layer::Dropout { .. } => Layer::Dropout,
            space::Layer::Linear {
                in_features,
                out_features,
            } => Layer::Linear(Linear::new(prefix, in_features, out_features, store)?),
            space::Layer::Residual { .. } => return Ok(None),
        }))
    }

    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Result<Tensor> {
        match self {
            Layer::Conv(conv) => conv.forward(x, pass.ops),
            Layer::BatchNorm(bn) => bn.forward(x, pass.train, false, pass.ops),
            Layer::Silu => x.silu(),
            Layer::SqueezeExcite(se) => se.forward(x),
            Layer::GlobalPool => x.mean((2, 3)),
            Layer::Dropout if pass.train && pass.dropout > 0.0 => {
                dropout(x, pass.dropout, pass.rng)
            }
            Layer::Dropout => Ok(x.clone()),
            Layer::Linear(linear) => linear.forward(x),
        }
    }
}

/// Layers run one after another.
pub struct Sequence(pub Vec<Layer>);

impl Sequence {
    /// Builds every layer of `plan`; layer `i`'s tensors are named `{prefix}.{i}.*`.
    pub fn build(plan: &[space::Layer], prefix: &str, store: &mut ParamStore) -> Result<Sequence> {
        let mut layers = Vec::with_capacity(plan.len());
        for (i, entry) in plan.iter().enumerate() {
            if let Some(layer) = Layer::build(entry, &format!("{prefix}.{i}"), store)? {
                layers.push(layer);
            }
        }
        Ok(Sequence(layers))
    }

    /// Runs the layers in order: as one whole-block op where the pass allows
    /// ([`Pass::whole_blocks`]), else one by one, a BatchNorm followed by a SiLU
    /// as one fused layer.
    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Result<Tensor> {
        if pass.whole_blocks(x)
            && let Some(block) = self.whole_block()
        {
            return block.forward(x, None, pass.grads);
        }
        let mut h = x.clone();
        let mut i = 0;
        while i < self.0.len() {
            match (&self.0[i], self.0.get(i + 1)) {
                (Layer::BatchNorm(bn), Some(Layer::Silu)) => {
                    h = bn.forward(&h, pass.train, true, pass.ops)?;
                    i += 2;
                }
                (layer, _) => {
                    h = layer.forward(&h, pass)?;
                    i += 1;
                }
            }
        }
        Ok(h)
    }
}
