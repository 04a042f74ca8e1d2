//! Networks leaving effnas for timm: architectures (held to timm by the fixture in
//! space's tests), and weights under timm's names, out of a training run and back in.

use candle_core::Device;
use models::{EfficientNet, load_checkpoint, load_timm_weights, save_timm_weights};
use space::ArchSpec;

use crate::common::*;

#[test]
fn weights_go_out_under_timm_names_and_come_back_in_for_training() {
    let dir = scratch("timm-weights");
    let arch = fixture("tiny-reference.json");
    let spec = ArchSpec::from_json(&std::fs::read_to_string(&arch).unwrap()).unwrap();
    // A start under timm's names, as timm would save the exported network.
    let start = dir.join("start.safetensors");
    save_timm_weights(&EfficientNet::new(&spec, 3, &Device::Cpu).unwrap(), &start).unwrap();
    let run = dir.join("run");
    let trained = search(&[
        "train",
        "--arch",
        arch.to_str().unwrap(),
        "--epochs",
        "1",
        "--init-from",
        start.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("start.safetensors"), "{config}");

    // The trained (moving-average) weights out under timm's names, read back equal.
    let export = |format: &str, out: &std::path::Path| {
        let args = [
            "export",
            "--weights",
            run.to_str().unwrap(),
            "--format",
            format,
            "--out",
        ];
        search(&[&args[..], &[out.to_str().unwrap()]].concat())
    };
    let out = dir.join("out.safetensors");
    let exported = export("timm-weights", &out);
    assert!(exported.status.success(), "{}", stderr(&exported));
    let ours = load_checkpoint(&run.join("checkpoint/ema.safetensors"), &Device::Cpu).unwrap();
    let back = EfficientNet::new(&spec, 9, &Device::Cpu).unwrap();
    assert!(load_timm_weights(&back, &out, false).unwrap().is_empty());
    for (a, b) in ours.params().params().iter().zip(back.params().params()) {
        let (a, b) = (a.var.flatten_all().unwrap(), b.var.flatten_all().unwrap());
        assert_eq!(a.to_vec1::<f32>().unwrap(), b.to_vec1::<f32>().unwrap());
    }
    // The same trained network as ONNX (run by ONNX Runtime in models' tests).
    let onnx = dir.join("net.onnx");
    let exported = export("onnx", &onnx);
    assert!(exported.status.success(), "{}", stderr(&exported));
    assert!(std::fs::metadata(&onnx).unwrap().len() > 10_000);
    // Written once: not over an existing file.
    let again = export("timm-weights", &out);
    bad_input(&again, "already exists");
    bad_input(
        &search(&[
            "export",
            "--arch",
            "efficientnetv2-s",
            "--format",
            "timm-weights",
        ]),
        "give --weights and --out",
    );

    // Weights of another network (3 input channels, other blocks) are refused
    // before the run is saved, naming the first mismatches.
    let bad = dir.join("bad");
    let refused = search(&[
        "train",
        "--arch",
        arch.to_str().unwrap(),
        "--init-from",
        fixture("timm-tiny/weights.safetensors").to_str().unwrap(),
        "--out",
        bad.to_str().unwrap(),
    ]);
    bad_input(&refused, "does not fit `tiny-reference`");
    assert!(stderr(&refused).contains("`conv_stem.weight` has shape [8, 3, 3, 3]"));
    assert!(!bad.join("config.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
