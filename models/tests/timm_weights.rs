//! Weights under timm's names, held to what timm itself made: the fixture
//! `tests/fixtures/timm-tiny/` (scripts/make_timm_fixture.py) is a network with every
//! block type the timm export writes, its state dict as timm saved it, and timm's
//! eval-mode logits at two image sizes.

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use models::{EfficientNet, load_timm_weights, save_timm_weights};
use space::ArchSpec;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/timm-tiny")
        .join(name)
}

fn spec() -> ArchSpec {
    ArchSpec::from_json(&std::fs::read_to_string(fixture("spec.json")).unwrap()).unwrap()
}

fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar()
        .unwrap()
}

#[test]
fn timm_weights_give_timm_s_logits_and_write_back_as_timm_keeps_them() {
    let model = EfficientNet::new(&spec(), 7, &Device::Cpu).unwrap();
    let refit = load_timm_weights(&model, &fixture("weights.safetensors"), false).unwrap();
    assert!(refit.is_empty());
    let io = candle_core::safetensors::load(fixture("io.safetensors"), &Device::Cpu).unwrap();
    for size in [32, 33] {
        let logits = model
            .forward_t(&io[&format!("input_{size}")], false)
            .unwrap();
        let expected = &io[&format!("logits_{size}")];
        let spread = max_difference(&expected.get(0).unwrap(), &expected.get(1).unwrap());
        assert!(
            spread > 0.1,
            "the fixture's logits barely depend on the input"
        );
        let difference = max_difference(&logits, expected);
        assert!(
            difference < 1e-4,
            "{size} px: logits differ by {difference}"
        );
    }
    // Written back: timm's keys, shapes and types exactly, so its load_state_dict
    // (strict) takes the file; the values are the ones read.
    let dir = std::env::temp_dir().join(format!("effnas-timm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let written = dir.join("weights.safetensors");
    save_timm_weights(&model, &written).unwrap();
    let ours = candle_core::safetensors::load(&written, &Device::Cpu).unwrap();
    let timm =
        candle_core::safetensors::load(fixture("weights.safetensors"), &Device::Cpu).unwrap();
    let mut keys: Vec<&String> = ours.keys().collect();
    let mut expected: Vec<&String> = timm.keys().collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    for (key, t) in &timm {
        assert_eq!(
            (ours[key].dims(), ours[key].dtype()),
            (t.dims(), t.dtype()),
            "{key}"
        );
        if t.dtype() == DType::F32 {
            assert_eq!(max_difference(&ours[key], t), 0.0, "{key}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_weights_file_that_does_not_fit_names_its_first_mismatches_and_changes_nothing() {
    let mut other = spec();
    other.classes = 6;
    other.stages[3].out_channels = 32;
    other.name = "other".into();
    let model = EfficientNet::new(&other, 7, &Device::Cpu).unwrap();
    let before = model.params().params()[0].var.as_tensor().copy().unwrap();
    let e = load_timm_weights(&model, &fixture("weights.safetensors"), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not fit `other`"), "{e}");
    assert!(
        e.contains(
            "`blocks.3.0.conv_pwl.weight` has shape [24, 64, 1, 1], the network [32, 64, 1, 1]"
        ),
        "{e}"
    );
    assert!(e.contains("more)"), "{e}");
    let after = model.params().params()[0].var.as_tensor();
    assert_eq!(max_difference(&before, after), 0.0);
    // Another number of classes alone: fine-tuning keeps all but the classifier.
    let mut six = spec();
    six.classes = 6;
    let model = EfficientNet::new(&six, 7, &Device::Cpu).unwrap();
    let strict = load_timm_weights(&model, &fixture("weights.safetensors"), false);
    assert!(
        strict
            .unwrap_err()
            .to_string()
            .contains("`classifier.weight` has shape [5, 32]")
    );
    let refit = load_timm_weights(&model, &fixture("weights.safetensors"), true).unwrap();
    assert_eq!(refit, ["classifier.weight", "classifier.bias"]);
}
