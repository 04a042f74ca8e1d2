//! Exact trainable-parameter and multiply-accumulate counts, per part and in total.

use serde::Serialize;

use crate::arch::ArchSpec;
use crate::error::SpecError;
use crate::plan::Layer;

/// The cost of one part of a network: the stem, one stage, the head or the classifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartCost {
    /// `stem`, `stage1` … `stageN` (numbered from 1 as in the paper's tables), `head`,
    /// `classifier`.
    pub name: String,
    pub params: u64,
    /// Multiply-accumulates of the conv and fully connected layers, per image.
    pub macs: u64,
    /// Output feature map: side in pixels and channels.
    pub out_side: usize,
    pub out_channels: usize,
}

/// Costs of a whole network at one image size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub size: usize,
    pub params: u64,
    pub macs: u64,
    pub parts: Vec<PartCost>,
}

/// Walks a sequence of layers from a feature map of side `side`.
pub(crate) struct Walk {
    pub side: usize,
    pub params: u64,
    pub macs: u64,
    pub activations: u64,
}

impl Walk {
    pub fn new(side: usize) -> Walk {
        Walk {
            side,
            params: 0,
            macs: 0,
            activations: 0,
        }
    }

    pub fn run(&mut self, layers: &[Layer]) {
        self.run_repeated(layers, 1);
    }

    /// Runs `layers` `times` over; they must keep the feature map's side.
    pub fn run_repeated(&mut self, layers: &[Layer], times: usize) {
        let times = times as u64;
        for layer in layers {
            let add = |total: u64, x: u64| total.saturating_add(x.saturating_mul(times));
            self.params = add(self.params, layer.params());
            self.macs = add(self.macs, layer.macs(self.side));
            self.activations = add(self.activations, layer.activation_elements(self.side));
            self.side = layer.output_side(self.side);
        }
    }
}

/// One part of a network: layers run once, then layers run several more times.
pub(crate) struct Part {
    pub name: String,
    pub once: Vec<Layer>,
    pub repeated: Vec<Layer>,
    pub times: usize,
}

impl Part {
    fn new(name: &str, layers: Vec<Layer>) -> Part {
        Part {
            name: name.to_string(),
            once: layers,
            repeated: Vec::new(),
            times: 0,
        }
    }

    pub fn walk(&self, walk: &mut Walk) {
        walk.run(&self.once);
        walk.run_repeated(&self.repeated, self.times);
    }

    fn last_layers(&self) -> impl Iterator<Item = &Layer> {
        self.repeated.iter().rev().chain(self.once.iter().rev())
    }
}

/// Each part of `spec`, in forward order. A stage is its first block and its
/// repeated block (identical after the first), so counting costs nothing per layer.
pub(crate) fn parts(spec: &ArchSpec) -> Vec<Part> {
    let mut parts = vec![Part::new("stem", spec.stem_layers())];
    for (i, stage) in spec.stages.iter().enumerate() {
        let mut part = Part::new(&format!("stage{}", i + 1), Vec::new());
        if stage.repeats > 0 {
            part.once = spec.block(i, 0, 0).layers();
            part.repeated = spec.block(i, 1, 0).layers();
            part.times = stage.repeats - 1;
        }
        parts.push(part);
    }
    parts.push(Part::new("head", spec.head_layers()));
    parts.push(Part::new("classifier", spec.classifier_layers()));
    parts
}

/// Parameters and MACs of `spec` for square images of side `size`, per part.
pub fn analyze(spec: &ArchSpec, size: usize) -> Result<Analysis, SpecError> {
    spec.validate()?;
    spec.check_image_size("size", size)?;
    let mut walk = Walk::new(size);
    let mut costs = Vec::new();
    let mut channels = spec.input_channels;
    for part in parts(spec) {
        let (params, macs) = (walk.params, walk.macs);
        part.walk(&mut walk);
        if let Some(c) = part.last_layers().find_map(out_channels) {
            channels = c;
        }
        costs.push(PartCost {
            name: part.name,
            params: walk.params - params,
            macs: walk.macs - macs,
            out_side: walk.side,
            out_channels: channels,
        });
    }
    Ok(Analysis {
        size,
        params: walk.params,
        macs: walk.macs,
        parts: costs,
    })
}

/// Channels a layer leaves behind, where it decides them.
fn out_channels(layer: &Layer) -> Option<usize> {
    match *layer {
        Layer::Conv { out_channels, .. } => Some(out_channels),
        Layer::Linear { out_features, .. } => Some(out_features),
        _ => None,
    }
}

impl ArchSpec {
    /// Trainable parameters (independent of image size).
    pub fn param_count(&self) -> u64 {
        let mut walk = Walk::new(self.eval_size.max(1));
        for part in parts(self) {
            part.walk(&mut walk);
        }
        walk.params
    }
}

#[cfg(test)]
mod tests {
    use crate::presets::preset;

    use super::*;

    #[test]
    fn official_parameter_counts() {
        // Trainable parameters of the official Keras models at 1000 classes.
        assert_eq!(
            preset("efficientnetv2-s").unwrap().param_count(),
            21_458_488
        );
        assert_eq!(
            preset("efficientnetv2-b0").unwrap().param_count(),
            7_139_704
        );
        assert_eq!(preset("efficientnet-b0").unwrap().param_count(), 5_288_548);
    }

    #[test]
    fn parts_add_up() {
        let spec = preset("efficientnetv2-s").unwrap();
        let a = analyze(&spec, 384).unwrap();
        assert_eq!(a.parts.len(), spec.stages.len() + 3);
        assert_eq!(a.parts.iter().map(|p| p.params).sum::<u64>(), a.params);
        assert_eq!(a.parts.iter().map(|p| p.macs).sum::<u64>(), a.macs);
        assert_eq!(a.parts.last().unwrap().out_channels, 1000);
        // 384 / 32 = 12: the head works on a 12×12 map.
        assert_eq!(a.parts[a.parts.len() - 2].out_side, 12);
    }
}
