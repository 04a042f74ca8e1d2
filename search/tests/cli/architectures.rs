//! Inspecting and scaling networks and spaces: exact counts, files in and out, and
//! bad specs named.

use crate::common::*;

#[test]
fn arch_show_reports_exact_params_and_macs() {
    let v = json(&search(&["arch", "show", "efficientnetv2-s", "--json"]));
    assert_eq!(v["params"], 21_458_488);
    assert_eq!(v["size"], 384);
    let macs = v["macs"].as_u64().unwrap() as f64 / 1e9;
    assert!((macs - 8.366).abs() < 5e-4, "{macs}");
    assert_eq!(v["parts"].as_array().unwrap().len(), 9);
    assert_eq!(v["blocks"][0], "r2_k3_s1_e1_i24_o24_c1");

    let v = json(&search(&[
        "arch",
        "show",
        "efficientnetv2-b0",
        "--size",
        "224",
        "--json",
    ]));
    assert_eq!(v["params"], 7_139_704);

    let table = stdout(&search(&["arch", "show", "efficientnet-b0"]));
    assert!(
        table.contains("5,288,548") && table.contains("MBConv6, k5x5, SE0.25"),
        "{table}"
    );
}

#[test]
fn arch_show_reads_spec_files_and_explains_bad_ones() {
    let dir = scratch("arch-files");
    let spec = space::preset("efficientnetv2-b1")
        .unwrap()
        .with_classes(10)
        .with_input_channels(1);
    let good = dir.join("b1.json");
    std::fs::write(&good, spec.to_json()).unwrap();
    let v = json(&search(&["arch", "show", good.to_str().unwrap(), "--json"]));
    assert_eq!(v["spec"]["classes"], 10);
    assert_eq!(v["params"], spec.param_count());

    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"name\": ").unwrap();
    bad_input(
        &search(&["arch", "show", broken.to_str().unwrap()]),
        "not a valid architecture spec",
    );

    let mut impossible = spec.clone();
    impossible.stages[3].kernel = 4;
    let path = dir.join("impossible.json");
    std::fs::write(&path, impossible.to_json()).unwrap();
    bad_input(
        &search(&["arch", "show", path.to_str().unwrap()]),
        "stages[3].kernel",
    );

    bad_input(
        &search(&["arch", "show", "efficientnetv2-z"]),
        "neither a preset",
    );
    bad_input(
        &search(&["arch", "show", "efficientnetv2-s", "--size", "8"]),
        "too small",
    );
    bad_input(
        &search(&["arch", "show", "efficientnetv2-s", "--size", "big"]),
        "invalid value",
    );
    bad_input(&search(&["arch", "frobnicate"]), "unrecognized subcommand");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn arch_list_covers_every_preset() {
    let v = json(&search(&["arch", "list", "--json"]));
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), space::PRESET_NAMES.len());
    assert!(
        rows.iter()
            .any(|r| r["name"] == "efficientnetv2-l" && r["params"] == 118_515_272)
    );
}

#[test]
fn scale_makes_a_family_and_writes_specs_without_overwriting() {
    let v = json(&search(&[
        "scale",
        "--base",
        "efficientnetv2-s",
        "--family",
        "--json",
    ]));
    let labels: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["S", "M", "L"]);
    assert_eq!(v[0]["params"], 21_458_488);
    assert_eq!(v[2]["spec"]["eval_size"], 480);

    let dir = scratch("scale");
    let out = dir.join("m.json");
    let args = [
        "scale",
        "--base",
        "efficientnetv2-s",
        "--width",
        "1.2",
        "--depth",
        "1.4",
        "--resolution",
        "1.25",
    ];
    let first = search(&[&args[..], &["--out", out.to_str().unwrap()]].concat());
    assert!(first.status.success(), "{}", stderr(&first));
    let written = std::fs::read_to_string(&out).unwrap();
    let spec = space::ArchSpec::from_json(&written).unwrap();
    assert_eq!(spec.num_blocks(), 56);
    // The written spec is a valid input for the other commands.
    let v = json(&search(&["arch", "show", out.to_str().unwrap(), "--json"]));
    assert_eq!(v["layers"], 56);
    // A second run must not clobber it.
    bad_input(
        &search(&[&args[..], &["--out", out.to_str().unwrap()]].concat()),
        "already exists",
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);

    bad_input(
        &search(&["scale", "--base", "efficientnetv2-s", "--depth", "0.5"]),
        "depth",
    );
    bad_input(
        &search(&[
            "scale",
            "--base",
            "efficientnetv2-s",
            "--family",
            "--width",
            "2",
        ]),
        "cannot be used with",
    );
    bad_input(
        &search(&[
            "scale",
            "--base",
            "efficientnetv2-s",
            "--tail-channels",
            "2",
        ]),
        "--tail-share",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn spaces_round_trip_through_files() {
    let dir = scratch("space");
    let text = stdout(&search(&["space", "show", "paper", "--json"]));
    let path = dir.join("space.json");
    std::fs::write(&path, &text).unwrap();
    let shown = stdout(&search(&["space", "show", path.to_str().unwrap()]));
    assert!(shown.contains("42 choice dimensions"), "{shown}");

    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["stages"][3]["kernels"] = serde_json::json!([4]);
    let broken = dir.join("broken.json");
    std::fs::write(&broken, value.to_string()).unwrap();
    bad_input(
        &search(&["space", "show", broken.to_str().unwrap()]),
        "stages[3].kernels",
    );
    bad_input(
        &search(&["--space", broken.to_str().unwrap()]),
        "stages[3].kernels",
    );
    std::fs::remove_dir_all(dir).unwrap();
}
