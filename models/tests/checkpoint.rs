//! Save → load gives the same network; loading into the wrong one says why.

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::loss::cross_entropy;
use common::tiny_spec;
use models::checkpoint::spec_path;
use models::{
    EfficientNet, ModelError, Optimizer, RmsProp, RmsPropConfig, load_checkpoint, load_weights,
    save_checkpoint,
};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn outputs(model: &EfficientNet, x: &Tensor) -> Vec<f32> {
    model
        .forward_t(x, false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let dir = scratch("roundtrip");
    let model = EfficientNet::new(&tiny_spec(), 1, &Device::Cpu).unwrap();
    // Train a little so weights and BatchNorm statistics differ from a fresh build.
    let mut opt = RmsProp::new(model.params(), RmsPropConfig::default()).unwrap();
    let x = Tensor::randn(0f32, 1.0, (4, 1, 12, 12), &Device::Cpu).unwrap();
    let y = Tensor::new(&[0u32, 1, 2, 3], &Device::Cpu).unwrap();
    for _ in 0..3 {
        let loss = cross_entropy(&model.forward_t(&x, true).unwrap(), &y).unwrap();
        opt.step(&model.backward(&loss).unwrap()).unwrap();
    }
    let path = dir.join("tiny.safetensors");
    save_checkpoint(&model, &path).unwrap();
    assert!(spec_path(&path).exists());

    let loaded = load_checkpoint(&path, &Device::Cpu).unwrap();
    assert_eq!(loaded.spec(), model.spec());
    assert_eq!(outputs(&loaded, &x), outputs(&model, &x));
    // A fresh build of the same spec differs until the weights are loaded into it.
    let other = EfficientNet::new(&tiny_spec(), 99, &Device::Cpu).unwrap();
    assert_ne!(outputs(&other, &x), outputs(&model, &x));
    load_weights(&other, &path).unwrap();
    assert_eq!(outputs(&other, &x), outputs(&model, &x));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn loading_into_another_structure_fails_clearly() {
    let dir = scratch("mismatch");
    let model = EfficientNet::new(&tiny_spec(), 1, &Device::Cpu).unwrap();
    let path = dir.join("tiny.safetensors");
    save_checkpoint(&model, &path).unwrap();

    let mut wider = tiny_spec();
    wider.head_channels = 48;
    let other = EfficientNet::new(&wider, 1, &Device::Cpu).unwrap();
    let err = load_weights(&other, &path).unwrap_err().to_string();
    assert!(err.contains("not the structure"), "{err}");

    // Weights that do not match their own spec file are caught tensor by tensor.
    std::fs::write(spec_path(&path), wider.to_json()).unwrap();
    let err = load_checkpoint(&path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("head.0.weight") && err.contains("shape"),
        "{err}"
    );

    // Missing or corrupt files name the file.
    std::fs::remove_file(spec_path(&path)).unwrap();
    let err = load_checkpoint(&path, &Device::Cpu).unwrap_err();
    assert!(matches!(err, ModelError::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("tiny.json"), "{err}");
    std::fs::write(spec_path(&path), model.spec().to_json()).unwrap();
    std::fs::write(&path, b"not safetensors").unwrap();
    let err = load_checkpoint(&path, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("tiny.safetensors"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn f64_networks_load_f32_checkpoints() {
    let dir = scratch("dtype");
    let model = EfficientNet::new(&tiny_spec(), 1, &Device::Cpu).unwrap();
    let path = dir.join("tiny.safetensors");
    save_checkpoint(&model, &path).unwrap();
    let wide = EfficientNet::with_dtype(&tiny_spec(), 2, &Device::Cpu, DType::F64).unwrap();
    load_weights(&wide, &path).unwrap();
    let x = Tensor::randn(0f32, 1.0, (2, 1, 12, 12), &Device::Cpu).unwrap();
    let a = outputs(&model, &x);
    let b: Vec<f64> = wide
        .forward_t(&x.to_dtype(DType::F64).unwrap(), false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    for (a, b) in a.iter().zip(&b) {
        assert!((*a as f64 - b).abs() < 1e-4, "{a} vs {b}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
