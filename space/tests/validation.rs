//! Impossible specs are rejected with an error that names the stage and the field.

use space::error::Location;
use space::{ArchSpec, Problem, SpecError, preset};

/// Makes a valid spec invalid in one place.
type Breaker = fn(&mut ArchSpec);

fn v2s() -> ArchSpec {
    preset("efficientnetv2-s").unwrap()
}

fn rejected(spec: &ArchSpec) -> SpecError {
    spec.validate().expect_err("spec should be invalid")
}

fn at(stage: Option<usize>, field: &'static str) -> Location {
    Location { stage, field }
}

#[test]
fn stage_fields_are_checked() {
    let cases: Vec<(Breaker, Location, Problem)> = vec![
        (
            |s| s.stages[2].repeats = 0,
            at(Some(2), "repeats"),
            Problem::Zero,
        ),
        (
            |s| s.stages[3].kernel = 4,
            at(Some(3), "kernel"),
            Problem::UnsupportedKernel(4),
        ),
        (
            |s| s.stages[0].stride = 3,
            at(Some(0), "stride"),
            Problem::UnsupportedStride(3),
        ),
        (
            |s| s.stages[4].expand_ratio = 0,
            at(Some(4), "expand_ratio"),
            Problem::Zero,
        ),
        (
            |s| s.stages[5].out_channels = 0,
            at(Some(5), "out_channels"),
            Problem::Zero,
        ),
        (
            |s| s.stages[3].se_ratio = Some(1.5),
            at(Some(3), "se_ratio"),
            Problem::SeRatioOutOfRange(1.5),
        ),
        (
            |s| s.stages[3].se_ratio = Some(0.0),
            at(Some(3), "se_ratio"),
            Problem::SeRatioOutOfRange(0.0),
        ),
        (
            |s| s.stages[1].in_channels = 32,
            at(Some(1), "in_channels"),
            Problem::ChannelMismatch {
                expected: 24,
                found: 32,
            },
        ),
        (
            |s| s.stages[4].repeats = 5000,
            at(Some(4), "repeats"),
            Problem::TooLarge {
                value: 5000,
                max: 1024,
            },
        ),
    ];
    for (break_it, location, problem) in cases {
        let mut spec = v2s();
        break_it(&mut spec);
        let err = rejected(&spec);
        assert_eq!(err.location, location);
        assert_eq!(err.problem, problem);
        let text = err.to_string();
        assert!(text.starts_with(&location.to_string()), "{text}");
    }
}

#[test]
fn spec_fields_are_checked() {
    let cases: Vec<(Breaker, &str)> = vec![
        (|s| s.classes = 0, "classes"),
        (|s| s.input_channels = 0, "input_channels"),
        (|s| s.stem_channels = 0, "stem_channels"),
        (|s| s.head_channels = 0, "head_channels"),
        (|s| s.stem_stride = 4, "stem_stride"),
        (|s| s.stages.clear(), "stages"),
        (|s| s.dropout = 1.0, "dropout"),
        (|s| s.dropout = f64::NAN, "dropout"),
        (|s| s.survival_prob = 0.0, "survival_prob"),
        (|s| s.train_size = 16, "train_size"),
        (|s| s.eval_size = 0, "eval_size"),
        (|s| s.eval_size = 100_000, "eval_size"),
    ];
    for (break_it, field) in cases {
        let mut spec = v2s();
        break_it(&mut spec);
        let err = rejected(&spec);
        assert_eq!(err.location, at(None, field), "{err}");
        assert!(err.to_string().starts_with(field));
    }
}

#[test]
fn image_size_must_survive_every_downsampling() {
    let spec = v2s();
    // Stride 32 = five halvings: 17 px keeps 2x2 at the last stride-2 layer.
    assert_eq!(spec.total_stride(), 32);
    assert_eq!(spec.min_image_size(), 17);
    assert!(spec.check_image_size("size", 17).is_ok());
    let err = spec.check_image_size("size", 16).unwrap_err();
    assert_eq!(
        err.problem,
        Problem::ImageTooSmall {
            size: 16,
            min: 17,
            total_stride: 32
        }
    );
    assert!(err.to_string().contains("at least 17 px"), "{err}");
    // A stride-1 stem halves the minimum: small-image variants for 28 px data.
    let small = ArchSpec {
        stem_stride: 1,
        ..spec
    };
    assert_eq!(small.min_image_size(), 9);
}

#[test]
fn json_errors_name_the_field() {
    let mut value: serde_json::Value = serde_json::from_str(&v2s().to_json()).unwrap();
    value["stages"][2]["kernel"] = serde_json::json!("three");
    let err = ArchSpec::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid type") && err.contains("three"),
        "{err}"
    );

    value["stages"][2] = serde_json::json!("r4_k3_s2_e4_i48");
    let err = ArchSpec::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing `o`"), "{err}");

    let mut value: serde_json::Value = serde_json::from_str(&v2s().to_json()).unwrap();
    value["colour"] = serde_json::json!(true);
    let err = ArchSpec::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn stages_may_be_written_in_block_notation() {
    let text = r#"{
        "name": "tiny", "stem_channels": 16, "head_channels": 64, "classes": 10,
        "dropout": 0.1, "survival_prob": 0.9, "train_size": 32, "eval_size": 32,
        "stages": ["r1_k3_s1_e1_i16_o16_c1", "r2_k3_s2_e4_i16_o32_se0.25"]
    }"#;
    let spec = ArchSpec::from_json(text).unwrap();
    spec.validate().unwrap();
    assert_eq!(spec.input_channels, 3);
    assert_eq!(spec.stem_stride, 2);
    assert_eq!(spec.num_blocks(), 3);
    assert_eq!(ArchSpec::from_json(&spec.to_json()).unwrap(), spec);
}
