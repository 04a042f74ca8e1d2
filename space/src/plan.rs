//! An [`ArchSpec`] expanded into its blocks, and each block into the layers it is
//! made of. The analytics count these layers; the `models` crate builds the same
//! blocks, so both agree by construction.

use crate::arch::ArchSpec;
use crate::block::BlockKind;

/// One block of a network, with everything its constructor needs.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSpec {
    /// Position among all blocks of the network, from 0.
    pub index: usize,
    /// Index of the stage this block belongs to.
    pub stage: usize,
    pub kind: BlockKind,
    pub in_channels: usize,
    pub out_channels: usize,
    pub expand_ratio: usize,
    pub kernel: usize,
    pub stride: usize,
    /// Width of the SE bottleneck, or `None` without SE.
    pub se_channels: Option<usize>,
    /// Stochastic-depth survival probability of the residual branch.
    pub survival_prob: f64,
}

impl BlockSpec {
    /// Channels after the expansion conv.
    pub fn expanded(&self) -> usize {
        self.in_channels.saturating_mul(self.expand_ratio)
    }

    /// A residual connection exists only when shapes are unchanged.
    pub fn has_residual(&self) -> bool {
        self.stride == 1 && self.in_channels == self.out_channels
    }

    /// The block's layers in forward order (the residual add last).
    pub fn layers(&self) -> Vec<Layer> {
        let expanded = self.expanded();
        let conv = |in_channels, out_channels, kernel, stride, groups| Layer::Conv {
            in_channels,
            out_channels,
            kernel,
            stride,
            groups,
        };
        let se = |channels| {
            self.se_channels
                .map(|squeeze| Layer::SqueezeExcite { channels, squeeze })
        };
        let mut layers = Vec::with_capacity(12);
        match (self.kind, self.expand_ratio) {
            (BlockKind::MbConv, e) => {
                if e != 1 {
                    layers.extend([
                        conv(self.in_channels, expanded, 1, 1, 1),
                        Layer::BatchNorm { channels: expanded },
                        Layer::Silu { channels: expanded },
                    ]);
                }
                layers.extend([
                    conv(expanded, expanded, self.kernel, self.stride, expanded),
                    Layer::BatchNorm { channels: expanded },
                    Layer::Silu { channels: expanded },
                ]);
                layers.extend(se(expanded));
                layers.extend([
                    conv(expanded, self.out_channels, 1, 1, 1),
                    Layer::BatchNorm {
                        channels: self.out_channels,
                    },
                ]);
            }
            (BlockKind::FusedMbConv, 1) => {
                // As in the official code, SE (rarely used here) acts on the input.
                layers.extend(se(self.in_channels));
                layers.extend([
                    conv(
                        self.in_channels,
                        self.out_channels,
                        self.kernel,
                        self.stride,
                        1,
                    ),
                    Layer::BatchNorm {
                        channels: self.out_channels,
                    },
                    Layer::Silu {
                        channels: self.out_channels,
                    },
                ]);
            }
            (BlockKind::FusedMbConv, _) => {
                layers.extend([
                    conv(self.in_channels, expanded, self.kernel, self.stride, 1),
                    Layer::BatchNorm { channels: expanded },
                    Layer::Silu { channels: expanded },
                ]);
                layers.extend(se(expanded));
                layers.extend([
                    conv(expanded, self.out_channels, 1, 1, 1),
                    Layer::BatchNorm {
                        channels: self.out_channels,
                    },
                ]);
            }
        }
        if self.has_residual() {
            layers.push(Layer::Residual {
                channels: self.out_channels,
            });
        }
        layers
    }
}

/// The unit the analytics count. Convs have no bias (BatchNorm follows each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Conv {
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
    },
    BatchNorm {
        channels: usize,
    },
    Silu {
        channels: usize,
    },
    /// Global mean → 1×1 conv (bias) → SiLU → 1×1 conv (bias) → sigmoid → scale.
    SqueezeExcite {
        channels: usize,
        squeeze: usize,
    },
    /// Shortcut add (with stochastic depth in training).
    Residual {
        channels: usize,
    },
    GlobalPool {
        channels: usize,
    },
    Dropout {
        features: usize,
    },
    Linear {
        in_features: usize,
        out_features: usize,
    },
}

impl Layer {
    /// Trainable parameters (BatchNorm's running statistics are not trainable).
    pub fn params(&self) -> u64 {
        let n = |x: usize| x as u64;
        match *self {
            Layer::Conv {
                in_channels,
                out_channels,
                kernel,
                groups,
                ..
            } => product(&[
                n(out_channels),
                per_group(in_channels, groups),
                n(kernel),
                n(kernel),
            ]),
            Layer::BatchNorm { channels } => product(&[2, n(channels)]),
            Layer::SqueezeExcite { channels, squeeze } => product(&[2, n(channels), n(squeeze)])
                .saturating_add(n(squeeze).saturating_add(n(channels))),
            Layer::Linear {
                in_features,
                out_features,
            } => product(&[n(in_features), n(out_features)]).saturating_add(n(out_features)),
            Layer::Silu { .. }
            | Layer::Residual { .. }
            | Layer::GlobalPool { .. }
            | Layer::Dropout { .. } => 0,
        }
    }

    /// Side of the square output for a square input of side `side` ("same" padding).
    pub fn output_side(&self, side: usize) -> usize {
        match *self {
            Layer::Conv { stride, .. } => side.div_ceil(stride.max(1)),
            Layer::GlobalPool { .. } => 1,
            _ => side,
        }
    }

    /// Multiply-accumulates of the conv and fully connected parts, per image.
    pub fn macs(&self, side: usize) -> u64 {
        let n = |x: usize| x as u64;
        match *self {
            Layer::Conv {
                in_channels,
                out_channels,
                kernel,
                groups,
                ..
            } => {
                let out = n(self.output_side(side));
                product(&[
                    out,
                    out,
                    n(out_channels),
                    per_group(in_channels, groups),
                    n(kernel),
                    n(kernel),
                ])
            }
            // The two 1×1 convs run on the pooled 1×1 map.
            Layer::SqueezeExcite { channels, squeeze } => product(&[2, n(channels), n(squeeze)]),
            Layer::Linear {
                in_features,
                out_features,
            } => product(&[n(in_features), n(out_features)]),
            _ => 0,
        }
    }

    /// Elements of the tensors this layer produces in a forward pass, per image:
    /// what a tape-based autograd (candle's) keeps alive until the backward pass.
    pub fn activation_elements(&self, side: usize) -> u64 {
        let out = self.output_side(side) as u64;
        let map = |channels: usize| product(&[out, out, channels as u64]);
        match *self {
            Layer::Conv { out_channels, .. } => map(out_channels),
            Layer::BatchNorm { channels } | Layer::Silu { channels } => map(channels),
            // Pooled, squeezed, its activation, expanded, the gate, and the scaled map.
            Layer::SqueezeExcite { channels, squeeze } => product(&[3, channels as u64])
                .saturating_add(product(&[2, squeeze as u64]))
                .saturating_add(map(channels)),
            // The drop-path mask product and the sum.
            Layer::Residual { channels } => map(channels).saturating_mul(2),
            Layer::GlobalPool { channels } => channels as u64,
            Layer::Dropout { features } => product(&[2, features as u64]),
            Layer::Linear { out_features, .. } => out_features as u64,
        }
    }
}

/// Counts saturate rather than overflow: validation keeps real specs far below
/// `u64::MAX`, and an absurd one must not panic while being rejected.
fn product(factors: &[u64]) -> u64 {
    factors.iter().fold(1, |acc, &f| acc.saturating_mul(f))
}

/// Input channels each output channel sees; 0 for a degenerate zero-group conv.
fn per_group(in_channels: usize, groups: usize) -> u64 {
    in_channels.checked_div(groups).unwrap_or(0) as u64
}

impl ArchSpec {
    /// Every block of the network in order, with strides, channels and stochastic
    /// depth resolved. The spec must be valid ([`ArchSpec::validate`]).
    pub fn block_specs(&self) -> Vec<BlockSpec> {
        let total = self.num_blocks();
        let mut blocks = Vec::with_capacity(total);
        for (stage, s) in self.stages.iter().enumerate() {
            for repeat in 0..s.repeats {
                blocks.push(self.block(stage, repeat, blocks.len()));
            }
        }
        blocks
    }

    /// Block `repeat` of stage `stage`, which is block `index` of the network.
    /// Only the first block of a stage strides and changes width.
    pub fn block(&self, stage: usize, repeat: usize, index: usize) -> BlockSpec {
        let s = &self.stages[stage];
        let first = repeat == 0;
        let in_channels = if first { s.in_channels } else { s.out_channels };
        let drop_rate = 1.0 - self.survival_prob;
        BlockSpec {
            index,
            stage,
            kind: s.kind,
            in_channels,
            out_channels: s.out_channels,
            expand_ratio: s.expand_ratio,
            kernel: s.kernel,
            stride: if first { s.stride } else { 1 },
            // The official rule: relative to the block's input channels.
            se_channels: s
                .se_ratio
                .map(|ratio| ((in_channels as f64 * ratio) as usize).max(1)),
            survival_prob: 1.0 - drop_rate * index as f64 / self.num_blocks().max(1) as f64,
        }
    }

    /// The stem: 3×3 conv (stride `stem_stride`) → BN → SiLU.
    pub fn stem_layers(&self) -> Vec<Layer> {
        vec![
            Layer::Conv {
                in_channels: self.input_channels,
                out_channels: self.stem_channels,
                kernel: 3,
                stride: self.stem_stride,
                groups: 1,
            },
            Layer::BatchNorm {
                channels: self.stem_channels,
            },
            Layer::Silu {
                channels: self.stem_channels,
            },
        ]
    }

    /// The head: 1×1 conv → BN → SiLU.
    pub fn head_layers(&self) -> Vec<Layer> {
        let last = self
            .stages
            .last()
            .map_or(self.stem_channels, |s| s.out_channels);
        vec![
            Layer::Conv {
                in_channels: last,
                out_channels: self.head_channels,
                kernel: 1,
                stride: 1,
                groups: 1,
            },
            Layer::BatchNorm {
                channels: self.head_channels,
            },
            Layer::Silu {
                channels: self.head_channels,
            },
        ]
    }

    /// The classifier: global pooling → dropout → fully connected.
    pub fn classifier_layers(&self) -> Vec<Layer> {
        vec![
            Layer::GlobalPool {
                channels: self.head_channels,
            },
            Layer::Dropout {
                features: self.head_channels,
            },
            Layer::Linear {
                in_features: self.head_channels,
                out_features: self.classes,
            },
        ]
    }
}
