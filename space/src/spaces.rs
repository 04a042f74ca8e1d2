//! The built-in search spaces.

use crate::block::BlockKind;
use crate::search_space::{SearchSpace, StageChoices};

/// Names of the built-in spaces, in a stable order.
pub const SPACE_NAMES: [&str; 2] = ["paper", "efficientnetv2-s"];

/// A built-in space by name.
pub fn builtin_space(name: &str) -> Option<SearchSpace> {
    match name {
        "paper" => Some(paper()),
        "efficientnetv2-s" => Some(around_v2s()),
        _ => None,
    }
}

/// The full factorised choice of the paper for one stage: op, kernel 3/5,
/// expansion 1/4/6, SE none/0.25.
fn stage(out_channels: usize, stride: usize, repeats: [usize; 2]) -> StageChoices {
    StageChoices {
        out_channels,
        stride,
        ops: BlockKind::ALL.to_vec(),
        kernels: vec![3, 5],
        expand_ratios: vec![1, 4, 6],
        se_ratios: vec![None, Some(0.25)],
        repeats,
        width_multipliers: vec![1.0],
    }
}

/// Layer counts around a backbone's `r`: from half (rounded up) to double.
fn around(r: usize) -> [usize; 2] {
    [r.div_ceil(2), 2 * r]
}

/// A space over `stages` with EfficientNet's fixed parts: a 3×3 stride-2 stem, a
/// 1280-channel head, 1000 classes, dropout 0.2, survival probability 0.8.
fn backbone(
    name: &str,
    stem_channels: usize,
    sizes: (usize, usize),
    stages: Vec<StageChoices>,
) -> SearchSpace {
    SearchSpace {
        name: name.into(),
        input_channels: 3,
        stem_channels,
        stem_stride: 2,
        head_channels: 1280,
        classes: 1000,
        dropout: 0.2,
        survival_prob: 0.8,
        train_size: sizes.0,
        eval_size: sizes.1,
        stages,
    }
}

/// The paper's space (§3.3): EfficientNet-B0's seven stages and channels, every
/// stage free in op, kernel, expansion, SE and depth; the last (stride-1) stage can
/// be removed, as the search that found EfficientNetV2-S did.
pub fn paper() -> SearchSpace {
    // (channels, stride, B0's layers)
    let b0 = [
        (16, 1, 1),
        (24, 2, 2),
        (40, 2, 2),
        (80, 2, 3),
        (112, 1, 3),
        (192, 2, 4),
        (320, 1, 1),
    ];
    let last = b0.len() - 1;
    let stages = b0
        .iter()
        .enumerate()
        .map(|(i, &(channels, stride, r))| {
            let repeats = if i == last { [0, 2 * r] } else { around(r) };
            stage(channels, stride, repeats)
        })
        .collect();
    backbone("paper", 32, (224, 224), stages)
}

/// A space centred on EfficientNetV2-S's six stages and channels.
pub fn around_v2s() -> SearchSpace {
    // (channels, stride, V2-S's layers)
    let s = [
        (24, 1, 2),
        (48, 2, 4),
        (64, 2, 4),
        (128, 2, 6),
        (160, 1, 9),
        (256, 2, 15),
    ];
    let stages = s
        .iter()
        .map(|&(channels, stride, r)| stage(channels, stride, around(r)))
        .collect();
    backbone("efficientnetv2-s", 24, (300, 384), stages)
}
