//! Measuring ops and training steps: `check-ops`, `bench-op` and `bench-step`.

use crate::common::*;

#[test]
fn check_ops_passes_on_the_cpu_and_bad_devices_are_named() {
    let out = search(&["check-ops", "--json", "--batch", "2"]);
    let report = json(&out);
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 17);
    for c in checks {
        assert!(c["worst"].as_f64().unwrap() <= 1e-3, "{c}");
    }
    assert!(
        checks[16]["check"]
            .as_str()
            .unwrap()
            .contains("training pass")
    );
    // A GPU that this build or machine cannot open is bad input, named.
    bad_input(&search(&["check-ops", "--device", "cuda:0"]), "cuda:0");
    bad_input(&search(&["check-ops", "--tolerance", "0"]), "--tolerance");
    bad_input(&search(&["check-ops", "--batch", "1"]), "--batch");
    bad_input(&search(&["check-ops", "--size", "32"]), "--size");
    bad_input(
        &search(&["bench-op", "--op", "dwconv", "--device", "tpu"]),
        "unknown device `tpu`",
    );
    bad_input(&search(&["--device", "cpu,gpu"]), "unknown device `gpu`");
}

#[test]
fn bench_op_reports_times_and_the_kernels_it_ran() {
    let args = [
        "bench-op",
        "--op",
        "dwconv",
        "--batch",
        "2",
        "--channels",
        "3",
        "--size",
        "8",
        "--steps",
        "3",
        "--warmup",
        "0",
        "--json",
    ];
    let v = json(&search(&args));
    assert_eq!(v["step_ms"].as_array().unwrap().len(), 3, "{v}");
    let (min, median) = (
        v["step_ms_min"].as_f64().unwrap(),
        v["step_ms_median"].as_f64().unwrap(),
    );
    assert!(min > 0.0 && min <= median, "{v}");
    let kernels = v["cpu_kernels"].as_str().unwrap();
    assert!(["AVX-512", "AVX2", "baseline"].contains(&kernels), "{v}");
}

#[test]
fn bench_op_times_whole_blocks_as_the_plan_builds_them() {
    for (op, kind, se_channels) in [
        ("mbconv", space::BlockKind::MbConv, Some(2)),
        ("fused_mbconv", space::BlockKind::FusedMbConv, None),
    ] {
        let plan = space::BlockSpec {
            index: 0,
            stage: 0,
            kind,
            in_channels: 8,
            out_channels: 8,
            expand_ratio: 3,
            kernel: 3,
            stride: 1,
            se_channels,
            survival_prob: 1.0,
        };
        let params: u64 = plan.layers().iter().map(|layer| layer.params()).sum();
        for ops in ["fast", "per-op"] {
            let args = [
                "bench-op",
                "--op",
                op,
                "--batch",
                "2",
                "--channels",
                "8",
                "--size",
                "4",
                "--expand",
                "3",
                "--steps",
                "2",
                "--warmup",
                "0",
                "--ops",
                ops,
                "--json",
            ];
            let v = json(&search(&args));
            assert_eq!(v["params"], params, "{op} {ops}: {v}");
            assert_eq!(v["op"], op, "{v}");
            assert_eq!(v["expand"], 3, "{v}");
            assert_eq!(v["step_ms"].as_array().unwrap().len(), 2, "{v}");
        }
    }
    bad_input(
        &search(&["bench-op", "--op", "mbconv", "--expand", "0"]),
        "--expand",
    );
}

#[test]
fn bench_step_times_real_training_steps() {
    let dir = scratch("bench");
    let spec = dir.join("tiny.json");
    std::fs::write(
        &spec,
        r#"{"name": "tiny", "input_channels": 1, "stem_channels": 8, "stem_stride": 1,
            "stages": ["r1_k3_s1_e1_i8_o8_c1", "r2_k3_s2_e4_i8_o16_se0.25"],
            "head_channels": 32, "classes": 4, "dropout": 0.1, "survival_prob": 0.9,
            "train_size": 16, "eval_size": 16}"#,
    )
    .unwrap();
    let path = spec.to_str().unwrap();
    let args = [
        "bench-step",
        "--arch",
        path,
        "--batch",
        "3",
        "--size",
        "16",
        "--steps",
        "3",
        "--json",
    ];
    let v = json(&search(&args));
    let (median, min, max) = (
        v["step_ms_median"].as_f64().unwrap(),
        v["step_ms_min"].as_f64().unwrap(),
        v["step_ms_max"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= median && median <= max, "{v}");
    assert_eq!(v["step_ms"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["params"],
        space::ArchSpec::from_json(&std::fs::read_to_string(&spec).unwrap())
            .unwrap()
            .param_count()
    );
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);

    bad_input(
        &search(&["bench-step", "--arch", path, "--size", "1"]),
        "too small",
    );
    bad_input(
        &search(&["bench-step", "--arch", path, "--size", "16", "--batch", "0"]),
        "--batch",
    );
    bad_input(
        &search(&[
            "bench-step",
            "--arch",
            path,
            "--size",
            "16",
            "--device",
            "tpu",
        ]),
        "unknown device",
    );
    bad_input(&search(&["bench-step", "--arch", path]), "--size");
    std::fs::remove_dir_all(dir).unwrap();
}
