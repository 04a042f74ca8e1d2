//! The official networks, exact to google/automl's definitions
//! (`efficientnet_builder.py` and `effnetv2_configs.py`).

use crate::arch::ArchSpec;
use crate::notation::parse_blocks;
use crate::rounding::{Rounding, round_filters, round_repeats};

/// Every preset name, in a stable order.
pub const PRESET_NAMES: [&str; 16] = [
    "efficientnet-b0",
    "efficientnet-b1",
    "efficientnet-b2",
    "efficientnet-b3",
    "efficientnet-b4",
    "efficientnet-b5",
    "efficientnet-b6",
    "efficientnet-b7",
    "efficientnetv2-b0",
    "efficientnetv2-b1",
    "efficientnetv2-b2",
    "efficientnetv2-b3",
    "efficientnetv2-s",
    "efficientnetv2-m",
    "efficientnetv2-l",
    "efficientnetv2-xl",
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset `{0}`; known presets: {names}", names = PRESET_NAMES.join(", "))]
pub struct UnknownPreset(pub String);

/// EfficientNet-B0's body; B1–B7 scale it.
const V1_BASE: [&str; 7] = [
    "r1_k3_s11_e1_i32_o16_se0.25",
    "r2_k3_s22_e6_i16_o24_se0.25",
    "r2_k5_s22_e6_i24_o40_se0.25",
    "r3_k3_s22_e6_i40_o80_se0.25",
    "r3_k5_s11_e6_i80_o112_se0.25",
    "r4_k5_s22_e6_i112_o192_se0.25",
    "r1_k3_s11_e6_i192_o320_se0.25",
];

/// EfficientNetV2-B0's body; V2-B1–B3 scale it.
const V2_BASE: [&str; 6] = [
    "r1_k3_s1_e1_i32_o16_c1",
    "r2_k3_s2_e4_i16_o32_c1",
    "r2_k3_s2_e4_i32_o48_c1",
    "r3_k3_s2_e4_i48_o96_se0.25",
    "r5_k3_s1_e6_i96_o112_se0.25",
    "r8_k3_s2_e6_i112_o192_se0.25",
];

const V2_S: [&str; 6] = [
    "r2_k3_s1_e1_i24_o24_c1",
    "r4_k3_s2_e4_i24_o48_c1",
    "r4_k3_s2_e4_i48_o64_c1",
    "r6_k3_s2_e4_i64_o128_se0.25",
    "r9_k3_s1_e6_i128_o160_se0.25",
    "r15_k3_s2_e6_i160_o256_se0.25",
];

const V2_M: [&str; 7] = [
    "r3_k3_s1_e1_i24_o24_c1",
    "r5_k3_s2_e4_i24_o48_c1",
    "r5_k3_s2_e4_i48_o80_c1",
    "r7_k3_s2_e4_i80_o160_se0.25",
    "r14_k3_s1_e6_i160_o176_se0.25",
    "r18_k3_s2_e6_i176_o304_se0.25",
    "r5_k3_s1_e6_i304_o512_se0.25",
];

const V2_L: [&str; 7] = [
    "r4_k3_s1_e1_i32_o32_c1",
    "r7_k3_s2_e4_i32_o64_c1",
    "r7_k3_s2_e4_i64_o96_c1",
    "r10_k3_s2_e4_i96_o192_se0.25",
    "r19_k3_s1_e6_i192_o224_se0.25",
    "r25_k3_s2_e6_i224_o384_se0.25",
    "r7_k3_s1_e6_i384_o640_se0.25",
];

const V2_XL: [&str; 7] = [
    "r4_k3_s1_e1_i32_o32_c1",
    "r8_k3_s2_e4_i32_o64_c1",
    "r8_k3_s2_e4_i64_o96_c1",
    "r16_k3_s2_e4_i96_o192_se0.25",
    "r24_k3_s1_e6_i192_o256_se0.25",
    "r32_k3_s2_e6_i256_o512_se0.25",
    "r8_k3_s1_e6_i512_o640_se0.25",
];

/// The official settings of one preset.
struct Official {
    blocks: &'static [&'static str],
    width: f64,
    depth: f64,
    train_size: usize,
    eval_size: usize,
    dropout: f64,
    rounding: Rounding,
}

fn official(name: &str) -> Option<Official> {
    let v1 = |width, depth, size, dropout| Official {
        blocks: &V1_BASE,
        width,
        depth,
        train_size: size,
        eval_size: size,
        dropout,
        rounding: Rounding::V1,
    };
    let v2 =
        |blocks: &'static [&'static str], width, depth, train_size, eval_size, dropout| Official {
            blocks,
            width,
            depth,
            train_size,
            eval_size,
            dropout,
            rounding: Rounding::V2,
        };
    Some(match name {
        "efficientnet-b0" => v1(1.0, 1.0, 224, 0.2),
        "efficientnet-b1" => v1(1.0, 1.1, 240, 0.2),
        "efficientnet-b2" => v1(1.1, 1.2, 260, 0.3),
        "efficientnet-b3" => v1(1.2, 1.4, 300, 0.3),
        "efficientnet-b4" => v1(1.4, 1.8, 380, 0.4),
        "efficientnet-b5" => v1(1.6, 2.2, 456, 0.4),
        "efficientnet-b6" => v1(1.8, 2.6, 528, 0.5),
        "efficientnet-b7" => v1(2.0, 3.1, 600, 0.5),
        "efficientnetv2-b0" => v2(&V2_BASE, 1.0, 1.0, 192, 224, 0.2),
        "efficientnetv2-b1" => v2(&V2_BASE, 1.0, 1.1, 192, 240, 0.2),
        "efficientnetv2-b2" => v2(&V2_BASE, 1.1, 1.2, 208, 260, 0.3),
        "efficientnetv2-b3" => v2(&V2_BASE, 1.2, 1.4, 240, 300, 0.3),
        "efficientnetv2-s" => v2(&V2_S, 1.0, 1.0, 300, 384, 0.2),
        "efficientnetv2-m" => v2(&V2_M, 1.0, 1.0, 384, 480, 0.3),
        "efficientnetv2-l" => v2(&V2_L, 1.0, 1.0, 384, 480, 0.4),
        "efficientnetv2-xl" => v2(&V2_XL, 1.0, 1.0, 384, 512, 0.4),
        _ => return None,
    })
}

/// The official network `name` (see [`PRESET_NAMES`]) at 1000 classes, 3 channels.
pub fn preset(name: &str) -> Result<ArchSpec, UnknownPreset> {
    let o = official(name).ok_or_else(|| UnknownPreset(name.to_string()))?;
    let filters = |f| round_filters(f, o.width, o.rounding);
    let mut stages = parse_blocks(o.blocks).expect("preset block strings are valid");
    for stage in &mut stages {
        stage.in_channels = filters(stage.in_channels);
        stage.out_channels = filters(stage.out_channels);
        stage.repeats = round_repeats(stage.repeats, o.depth);
    }
    Ok(ArchSpec {
        name: name.to_string(),
        input_channels: 3,
        // The stem feeds the first stage, so it has the first stage's input width.
        stem_channels: stages[0].in_channels,
        stem_stride: 2,
        stages,
        head_channels: filters(1280),
        classes: 1000,
        dropout: o.dropout,
        survival_prob: 0.8,
        train_size: o.train_size,
        eval_size: o.eval_size,
    })
}
