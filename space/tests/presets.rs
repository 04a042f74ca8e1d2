//! Every preset against the official models' published figures.

use space::plan::Layer;
use space::{ArchSpec, PRESET_NAMES, analyze, preset};

/// BatchNorm channels: each has two trainable parameters and two running statistics.
fn batchnorm_channels(spec: &ArchSpec) -> u64 {
    let mut layers = spec.stem_layers();
    layers.extend(spec.block_specs().iter().flat_map(|b| b.layers()));
    layers.extend(spec.head_layers());
    layers
        .iter()
        .map(|l| match l {
            Layer::BatchNorm { channels } => *channels as u64,
            _ => 0,
        })
        .sum()
}

/// (preset, trainable parameters, all weights including BatchNorm's running mean and
/// variance). The totals are the Keras applications' "Total params" (for V1 less the
/// 7 weights of Keras's input Normalization layer, which is not part of the network);
/// XL, absent from Keras, is checked against timm's 208.12 M.
const OFFICIAL: [(&str, u64, u64); 16] = [
    ("efficientnet-b0", 5_288_548, 5_330_564),
    ("efficientnet-b1", 7_794_184, 7_856_232),
    ("efficientnet-b2", 9_109_994, 9_177_562),
    ("efficientnet-b3", 12_233_232, 12_320_528),
    ("efficientnet-b4", 19_341_616, 19_466_816),
    ("efficientnet-b5", 30_389_784, 30_562_520),
    ("efficientnet-b6", 43_040_704, 43_265_136),
    ("efficientnet-b7", 66_347_960, 66_658_680),
    ("efficientnetv2-b0", 7_139_704, 7_200_312),
    ("efficientnetv2-b1", 8_141_052, 8_212_124),
    ("efficientnetv2-b2", 10_096_086, 10_178_374),
    ("efficientnetv2-b3", 14_358_406, 14_467_622),
    ("efficientnetv2-s", 21_458_488, 21_612_360),
    ("efficientnetv2-m", 54_139_356, 54_431_388),
    ("efficientnetv2-l", 118_515_272, 119_027_848),
    ("efficientnetv2-xl", 208_119_808, 208_896_832),
];

#[test]
fn every_preset_has_the_official_parameter_count() {
    assert_eq!(OFFICIAL.len(), PRESET_NAMES.len());
    for (name, trainable, total) in OFFICIAL {
        let spec = preset(name).unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.param_count(), trainable, "{name} trainable");
        assert_eq!(
            spec.param_count() + 2 * batchnorm_channels(&spec),
            total,
            "{name} total"
        );
        assert_eq!(analyze(&spec, spec.eval_size).unwrap().params, trainable);
    }
}

#[test]
fn multiply_accumulates_match_the_published_figures() {
    let gmacs = |name, size| analyze(&preset(name).unwrap(), size).unwrap().macs as f64 / 1e9;
    // DESIGN §1: V2-S 8.366 G at 384 px, V2-B0 0.718 G at 224 px; V1-B0's 0.39 G.
    assert!((gmacs("efficientnetv2-s", 384) - 8.366).abs() < 5e-4);
    assert!((gmacs("efficientnetv2-b0", 224) - 0.718).abs() < 5e-4);
    assert!((gmacs("efficientnet-b0", 224) - 0.386).abs() < 5e-4);
    // Conv costs grow with area: four times the pixels, almost four times the MACs
    // (the classifier's do not grow).
    let ratio = gmacs("efficientnetv2-s", 768) / gmacs("efficientnetv2-s", 384);
    assert!((3.99..4.0).contains(&ratio), "{ratio}");
}

#[test]
fn presets_keep_the_official_structure() {
    let s = preset("efficientnetv2-s").unwrap();
    assert_eq!(
        s.blocks(),
        [
            "r2_k3_s1_e1_i24_o24_c1",
            "r4_k3_s2_e4_i24_o48_c1",
            "r4_k3_s2_e4_i48_o64_c1",
            "r6_k3_s2_e4_i64_o128_se0.25",
            "r9_k3_s1_e6_i128_o160_se0.25",
            "r15_k3_s2_e6_i160_o256_se0.25",
        ]
    );
    assert_eq!(
        (s.stem_channels, s.head_channels, s.train_size, s.eval_size),
        (24, 1280, 300, 384)
    );
    // B4: width 1.4, depth 1.8 → stem 48, head 1792, 32 blocks.
    let b4 = preset("efficientnet-b4").unwrap();
    assert_eq!(
        (b4.stem_channels, b4.head_channels, b4.num_blocks()),
        (48, 1792, 32)
    );
    assert_eq!(b4.stages[6].out_channels, 448);
    // V2-B3: width 1.2 rounds 1280 to 1536.
    assert_eq!(preset("efficientnetv2-b3").unwrap().head_channels, 1536);
    // Stochastic depth: the first block always survives, the last nearly at 0.8.
    let blocks = s.block_specs();
    assert_eq!(blocks[0].survival_prob, 1.0);
    assert!((blocks[39].survival_prob - (1.0 - 0.2 * 39.0 / 40.0)).abs() < 1e-12);
    // Only stride-1, same-width blocks are residual.
    assert!(!blocks[2].has_residual() && blocks[3].has_residual());
}

#[test]
fn unknown_presets_are_named_in_the_error() {
    let err = preset("efficientnetv3-s").unwrap_err().to_string();
    assert!(
        err.contains("efficientnetv3-s") && err.contains("efficientnetv2-s"),
        "{err}"
    );
}
