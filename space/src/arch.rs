//! A whole network: stem, stages, head and classifier, plus the training-time
//! settings that belong to the architecture (dropout, stochastic depth, image sizes).

use serde::{Deserialize, Serialize};

use crate::block::StageSpec;
use crate::notation::format_blocks;

/// Everything needed to build, count and train one network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    pub name: String,
    /// Image channels: 3 for colour, 1 for grey.
    #[serde(default = "default_input_channels")]
    pub input_channels: usize,
    /// Output channels of the 3×3 stem conv.
    pub stem_channels: usize,
    /// 2 in every official network; 1 keeps small images (28–32 px) from being
    /// downsampled 32× to nothing.
    #[serde(default = "default_stem_stride")]
    pub stem_stride: usize,
    pub stages: Vec<StageSpec>,
    /// Output channels of the 1×1 head conv before pooling.
    pub head_channels: usize,
    pub classes: usize,
    /// Dropout before the classifier.
    pub dropout: f64,
    /// Survival probability of the last block under stochastic depth; block `i` of
    /// `n` survives with `1 - (1 - p) * i / n`.
    pub survival_prob: f64,
    pub train_size: usize,
    pub eval_size: usize,
}

fn default_input_channels() -> usize {
    3
}

fn default_stem_stride() -> usize {
    2
}

impl ArchSpec {
    /// Reads a spec from JSON text.
    pub fn from_json(text: &str) -> Result<ArchSpec, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Pretty JSON; `ArchSpec::from_json(&spec.to_json()) == spec`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an ArchSpec always serialises")
    }

    /// The body in block notation, one string per stage.
    pub fn blocks(&self) -> Vec<String> {
        format_blocks(&self.stages)
    }

    /// Total number of blocks over all stages.
    pub fn num_blocks(&self) -> usize {
        self.stages
            .iter()
            .fold(0, |n, s| n.saturating_add(s.repeats))
    }

    /// Product of all strides, stem included: how much the image shrinks.
    pub fn total_stride(&self) -> usize {
        self.stages
            .iter()
            .fold(self.stem_stride, |total, s| total.saturating_mul(s.stride))
    }

    /// Identifies the network's structure, independent of its name and training
    /// settings: two specs with the same key build the same layers.
    pub fn canonical_key(&self) -> String {
        format!(
            "in{}_stem{}s{}|{}|head{}_cls{}",
            self.input_channels,
            self.stem_channels,
            self.stem_stride,
            self.blocks().join("|"),
            self.head_channels,
            self.classes
        )
    }

    /// The same network with another classifier size (10 classes for Fashion-MNIST…).
    pub fn with_classes(mut self, classes: usize) -> ArchSpec {
        self.classes = classes;
        self
    }

    /// The same network for images with another channel count.
    pub fn with_input_channels(mut self, channels: usize) -> ArchSpec {
        self.input_channels = channels;
        self
    }
}
