//! The ONNX export held to ONNX Runtime: a preset, a network a search found, and a
//! network with every block type the searches make (Fused-MBConv with and without expansion, SE before a
//! single conv, MBConv), with BatchNorm statistics that are not the identity,
//! are exported with inputs at two image sizes and our eval-mode logits; where
//! `EFFNAS_ONNX_PYTHON` names a Python with onnxruntime, onnx and numpy (CI installs
//! them), `scripts/check_onnx.py` runs the files and compares to 1e-4.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use models::{EfficientNet, load_timm_weights, save_onnx};
use space::{ArchSpec, preset};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes `model` as `<dir>/<name>.onnx` and its inputs and logits at `sizes`.
fn export(model: &EfficientNet, name: &str, sizes: &[usize], dir: &Path) {
    save_onnx(model, &dir.join(format!("{name}.onnx"))).unwrap();
    let channels = model.spec().input_channels;
    let cases: Vec<serde_json::Value> = sizes
        .iter()
        .map(|&size| {
            let x = Tensor::randn(0f32, 1.0, (2, channels, size, size), &Device::Cpu).unwrap();
            let logits = model.forward_t(&x, false).unwrap();
            serde_json::json!({
                "input_shape": x.dims(),
                "input": x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                "logits_shape": logits.dims(),
                "logits": logits.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            })
        })
        .collect();
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string(&cases).unwrap(),
    )
    .unwrap();
}

/// BatchNorm statistics as training leaves them, and a classifier that is not all
/// but zero, so that folding and every logit are tested.
fn as_trained(model: &EfficientNet) {
    for p in model.params().params() {
        let dims = p.var.dims().to_vec();
        let value = match p.name.rsplit('.').next() {
            Some("running_var") => Tensor::rand(0.5f32, 1.5, dims, &Device::Cpu),
            Some("running_mean") => Tensor::randn(0f32, 0.1, dims, &Device::Cpu),
            _ if p.name.starts_with("classifier") => Tensor::randn(0f32, 0.05, dims, &Device::Cpu),
            _ => continue,
        };
        p.var.set(&value.unwrap()).unwrap();
    }
}

#[test]
fn onnx_runtime_gives_our_logits_at_two_image_sizes() {
    let dir = std::env::temp_dir().join(format!("effnas-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let b0 = EfficientNet::new(&preset("efficientnetv2-b0").unwrap(), 5, &Device::Cpu).unwrap();
    as_trained(&b0);
    export(&b0, "efficientnetv2-b0", &[64, 97], &dir);
    // A network a search found (kept in the timm fixture) with a single-conv
    // Fused-MBConv with SE, and expanded Fused-MBConvs.
    let kept: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/timm-export.json")).unwrap(),
    )
    .unwrap();
    let found = kept["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| serde_json::from_value::<ArchSpec>(n["spec"].clone()).unwrap())
        .find(|s| {
            let fused = |e: bool| {
                s.stages.iter().any(|st| {
                    st.kind == space::BlockKind::FusedMbConv
                        && (st.expand_ratio == 1) == e
                        && (!e || st.se_ratio.is_some())
                })
            };
            s.name.starts_with("paper-") && fused(true) && fused(false)
        })
        .expect("a searched network with both kinds of Fused-MBConv");
    let found = EfficientNet::new(&found, 5, &Device::Cpu).unwrap();
    as_trained(&found);
    export(&found, "searched", &[64, 80], &dir);
    let fixture = root().join("tests/fixtures/timm-tiny");
    let spec =
        ArchSpec::from_json(&std::fs::read_to_string(fixture.join("spec.json")).unwrap()).unwrap();
    let every_block = EfficientNet::new(&spec, 5, &Device::Cpu).unwrap();
    load_timm_weights(&every_block, &fixture.join("weights.safetensors"), false).unwrap();
    export(&every_block, "fused-and-se", &[32, 45], &dir);
    for name in ["efficientnetv2-b0", "searched", "fused-and-se"] {
        let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).unwrap();
        assert!(bytes.len() > 10_000, "{name}: {} bytes", bytes.len());
    }
    match std::env::var("EFFNAS_ONNX_PYTHON") {
        Ok(python) => {
            let out = std::process::Command::new(python)
                .arg(root().join("scripts/check_onnx.py"))
                .arg(&dir)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            println!("{text}");
            assert!(out.status.success(), "{text}");
            assert!(text.contains("6 checks"), "{text}");
        }
        Err(_) => eprintln!(
            "EFFNAS_ONNX_PYTHON is not set: the ONNX files were written to {} but not run",
            dir.display()
        ),
    }
    std::fs::remove_dir_all(dir).unwrap();
}
