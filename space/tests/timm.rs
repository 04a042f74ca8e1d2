//! The timm export held to what timm itself built: `tests/fixtures/timm-export.json`
//! was made by `scripts/timm_export_check.py` with PyTorch and timm (CI has
//! neither), from every preset and the networks of the searches in docs/results/,
//! 35 of them with a single-conv Fused-MBConv with SE.

use space::{ArchSpec, analyze, timm};

#[test]
fn exports_match_what_timm_built_block_for_block_and_parameter_for_parameter() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/timm-export.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let networks = fixture["networks"].as_array().unwrap();
    assert!(networks.len() >= 90, "{}", networks.len());
    let mut with_se_before_conv = 0;
    for n in networks {
        let spec: ArchSpec = serde_json::from_value(n["spec"].clone()).unwrap();
        let arch_def: Vec<String> = serde_json::from_value(n["arch_def"].clone()).unwrap();
        assert_eq!(timm::arch_def(&spec).unwrap(), arch_def, "{}", spec.name);
        let params = analyze(&spec, spec.train_size).unwrap().params;
        assert_eq!(params, n["timm_params"].as_u64().unwrap(), "{}", spec.name);
        with_se_before_conv += usize::from(!timm::se_before_conv(&spec).is_empty());
    }
    assert!(with_se_before_conv >= 30, "{with_se_before_conv}");
}
