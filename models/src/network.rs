//! A whole EfficientNet-style network, built from an [`ArchSpec`]'s layer plan.

use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Result, Tensor};
use rand::rngs::StdRng;
use space::{ArchSpec, BlockSpec};

use crate::error::ModelError;
use crate::layers::{Pass, Sequence, drop_path, keep_scales};
use crate::ops::{OpSet, ParamGrads};
use crate::params::ParamStore;

/// One MBConv or Fused-MBConv block: its layers, then the shortcut if it has one.
pub struct Block {
    pub layers: Sequence,
    pub residual: bool,
    /// Probability that the residual branch is kept in training.
    pub survival: f64,
}

impl Block {
    /// Builds the block `spec` describes, its tensors named `{prefix}.{i}.*`.
    pub fn build(spec: &BlockSpec, prefix: &str, store: &mut ParamStore) -> Result<Block> {
        Ok(Block {
            layers: Sequence::build(&spec.layers(), prefix, store)?,
            residual: spec.has_residual(),
            survival: spec.survival_prob,
        })
    }

    /// The block on `x`: one whole-block op where the pass allows, else layer by
    /// layer.
    pub fn forward(&self, x: &Tensor, pass: &mut Pass) -> Result<Tensor> {
        if pass.whole_blocks(x)
            && let Some(block) = self.layers.whole_block()
        {
            // The same draws, in the same order, as `drop_path` below.
            let shortcut = self.residual.then(|| {
                let batch = x.dims()[0];
                if self.survival < 1.0 {
                    keep_scales(batch, self.survival, pass.rng)
                        .into_iter()
                        .map(f64::from)
                        .collect()
                } else {
                    vec![1.0; batch]
                }
            });
            return block.forward(x, shortcut, pass.grads);
        }
        let branch = self.layers.forward(x, pass)?;
        if !self.residual {
            return Ok(branch);
        }
        let branch = if pass.train && self.survival < 1.0 {
            drop_path(&branch, self.survival, pass.rng)?
        } else {
            branch
        };
        branch + x
    }
}

pub struct EfficientNet {
    spec: ArchSpec,
    stem: Sequence,
    blocks: Vec<Block>,
    head: Sequence,
    classifier: Sequence,
    params: ParamStore,
    rng: Mutex<StdRng>,
    ops: OpSet,
    dropout: f64,
    /// Whole-block ops' parameter gradients, for [`EfficientNet::backward`].
    grads: ParamGrads,
}

impl std::fmt::Debug for EfficientNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EfficientNet")
            .field("name", &self.spec.name)
            .field("blocks", &self.blocks.len())
            .field("trainable", &self.params.trainable_count())
            .finish()
    }
}

impl EfficientNet {
    /// Builds `spec` in f32 on `device`, its weights drawn from `seed`.
    pub fn new(
        spec: &ArchSpec,
        seed: u64,
        device: &Device,
    ) -> std::result::Result<EfficientNet, ModelError> {
        EfficientNet::with_dtype(spec, seed, device, DType::F32)
    }

    /// As [`EfficientNet::new`], in another float type (f64 for gradient checks).
    pub fn with_dtype(
        spec: &ArchSpec,
        seed: u64,
        device: &Device,
        dtype: DType,
    ) -> std::result::Result<EfficientNet, ModelError> {
        spec.validate()?;
        let mut params = ParamStore::new(seed, device, dtype);
        let stem = Sequence::build(&spec.stem_layers(), "stem", &mut params)?;
        let mut blocks = Vec::with_capacity(spec.num_blocks());
        for block in spec.block_specs() {
            blocks.push(Block::build(
                &block,
                &format!("blocks.{}", block.index),
                &mut params,
            )?);
        }
        let head = Sequence::build(&spec.head_layers(), "head", &mut params)?;
        let classifier = Sequence::build(&spec.classifier_layers(), "classifier", &mut params)?;
        let rng = Mutex::new(params.fork_rng());
        Ok(EfficientNet {
            spec: spec.clone(),
            stem,
            blocks,
            head,
            classifier,
            params,
            rng,
            ops: OpSet::default(),
            dropout: spec.dropout,
            grads: ParamGrads::new()?,
        })
    }

    pub fn spec(&self) -> &ArchSpec {
        &self.spec
    }

    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// The kernels the layers use ([`OpSet::Fast`] unless changed).
    pub fn ops(&self) -> OpSet {
        self.ops
    }

    /// Switches between our kernels and candle's stock layers; the weights are shared.
    pub fn set_ops(&mut self, ops: OpSet) {
        self.ops = ops;
    }

    /// The dropout rate before the classifier (the spec's unless changed).
    pub fn dropout(&self) -> f64 {
        self.dropout
    }

    /// Changes the dropout rate, as adaptive regularization does between stages.
    pub fn set_dropout(&mut self, rate: f64) {
        self.dropout = rate;
    }

    /// Restarts the generator of stochastic-depth and dropout masks, so a run
    /// resumed at an epoch draws the same masks as one that never stopped.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|p| p.into_inner()) =
            rand::SeedableRng::seed_from_u64(seed);
    }

    /// The gradients of `loss`, computed from [`EfficientNet::forward_t`]'s output,
    /// for every parameter: candle's backward pass, with the gradients whole-block
    /// ops hand over beside it ([`ParamGrads`]). `loss.backward()` alone misses
    /// those.
    pub fn backward(&self, loss: &Tensor) -> Result<GradStore> {
        self.grads.backward(loss)
    }

    pub fn device(&self) -> &Device {
        self.params.device()
    }

    /// Logits `[batch, classes]` for images `[batch, input_channels, height, width]`.
    /// `train` selects batch statistics, stochastic depth and dropout. The
    /// gradients of a loss on them come from [`EfficientNet::backward`].
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (_, channels, height, width) = x.dims4()?;
        if channels != self.spec.input_channels {
            candle_core::bail!(
                "{} expects {} input channels, got {channels}",
                self.spec.name,
                self.spec.input_channels
            );
        }
        if let Err(e) = self.spec.check_image_size("input", height.min(width)) {
            candle_core::bail!("{}: {e}", self.spec.name);
        }
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Gradients of a backward pass that did not go through `backward`.
        self.grads.clear();
        let mut pass = Pass {
            train,
            ops: self.ops,
            dropout: self.dropout,
            rng: &mut rng,
            grads: &self.grads,
        };
        let mut h = self.stem.forward(x, &mut pass)?;
        for block in &self.blocks {
            h = block.forward(&h, &mut pass)?;
        }
        let h = self.head.forward(&h, &mut pass)?;
        self.classifier.forward(&h, &mut pass)
    }
}
