//! Every preset builds, counts what the analytics count, and runs forward.

use candle_core::{Device, Tensor};
use models::EfficientNet;
use space::{PRESET_NAMES, preset};

/// One build per preset (the largest has 208 M parameters), checked both ways.
#[test]
fn every_preset_matches_the_analytic_count_and_runs_forward() {
    let x = Tensor::randn(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu).unwrap();
    for name in PRESET_NAMES {
        let spec = preset(name).unwrap();
        let model = EfficientNet::new(&spec, 0, &Device::Cpu).unwrap();
        assert_eq!(
            model.params().trainable_count() as u64,
            spec.param_count(),
            "{name}"
        );
        for train in [true, false] {
            let y = model.forward_t(&x, train).unwrap();
            assert_eq!(y.dims(), [2, 1000], "{name}");
            let values: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{name} train={train}");
        }
    }
}

#[test]
fn grey_images_and_other_class_counts() {
    let spec = preset("efficientnetv2-b0")
        .unwrap()
        .with_classes(10)
        .with_input_channels(1);
    let model = EfficientNet::new(&spec, 0, &Device::Cpu).unwrap();
    assert_eq!(model.params().trainable_count() as u64, spec.param_count());
    // Any size the spec allows, not only squares.
    let x = Tensor::randn(0f32, 1.0, (3, 1, 40, 24), &Device::Cpu).unwrap();
    assert_eq!(model.forward_t(&x, true).unwrap().dims(), [3, 10]);
    // Wrong channel count and too-small images are errors that say so.
    let rgb = Tensor::zeros((1, 3, 32, 32), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = model.forward_t(&rgb, false).unwrap_err().to_string();
    assert!(err.contains("expects 1 input channels"), "{err}");
    let tiny = Tensor::zeros((1, 1, 16, 16), candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = model.forward_t(&tiny, false).unwrap_err().to_string();
    assert!(err.contains("too small"), "{err}");
}
