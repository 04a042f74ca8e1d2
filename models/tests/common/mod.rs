//! A tiny network with every kind of block, for tests that need many passes.

use space::ArchSpec;

/// Fused e1 (with and without SE), Fused e4 + SE, MBConv e1 k5 + SE, MBConv e4 + SE;
/// residuals and stride 2 in both block types; grey 12 px images, 5 classes.
pub fn tiny_spec() -> ArchSpec {
    ArchSpec::from_json(
        r#"{
        "name": "tiny", "input_channels": 1, "stem_channels": 8, "stem_stride": 1,
        "stages": [
            "r1_k3_s1_e1_i8_o8_c1",
            "r1_k3_s2_e1_i8_o16_se0.5_c1",
            "r2_k3_s1_e4_i16_o16_se0.25_c1",
            "r1_k5_s2_e1_i16_o24_se0.25",
            "r2_k3_s1_e4_i24_o24_se0.25"
        ],
        "head_channels": 32, "classes": 5, "dropout": 0.2, "survival_prob": 0.8,
        "train_size": 12, "eval_size": 12
    }"#,
    )
    .expect("the tiny spec is valid JSON")
}

/// The tiny network without randomness in training: no stochastic depth or dropout.
#[allow(dead_code)] // not every test file that shares this module uses it
pub fn deterministic_tiny_spec() -> ArchSpec {
    ArchSpec {
        dropout: 0.0,
        survival_prob: 1.0,
        ..tiny_spec()
    }
}
