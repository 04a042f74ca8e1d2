//! The `search` binary end to end: outputs others depend on, and exit code 2 with a
//! named problem for every kind of bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn search(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_search"))
        .args(args)
        .output()
        .expect("the search binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Asserts exit code 2 and that the message on stderr contains `needle`.
fn bad_input(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert!(
        stderr(out).contains(needle),
        "expected {needle:?} in: {}",
        stderr(out)
    );
}

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

const TINY_SPACE: &str = r#"{"name": "tiny", "input_channels": 1, "stem_channels": 8, "stem_stride": 1,
    "head_channels": 32, "classes": 10, "dropout": 0.1, "survival_prob": 0.9,
    "train_size": 16, "eval_size": 16,
    "stages": [
      {"out_channels": 16, "stride": 2, "ops": ["mbconv", "fused_mbconv"], "kernels": [3, 5],
       "expand_ratios": [1, 4], "se_ratios": [null, 0.25], "repeats": [1, 2]},
      {"out_channels": 24, "stride": 2, "ops": ["mbconv", "fused_mbconv"], "kernels": [3],
       "expand_ratios": [1, 4], "se_ratios": [null], "repeats": [0, 2]}]}"#;

const TINY_ARCH: &str = r#"{"name": "tiny-reference", "input_channels": 1, "stem_channels": 8, "stem_stride": 1,
    "stages": ["r1_k3_s2_e1_i8_o16_c1", "r1_k3_s2_e4_i16_o24"], "head_channels": 32, "classes": 10,
    "dropout": 0.1, "survival_prob": 0.9, "train_size": 16, "eval_size": 16}"#;

/// The flags of a search small enough for tests, writing to `out`.
fn tiny_search(dir: &std::path::Path, out: &std::path::Path, budget: &str) -> Vec<String> {
    std::fs::write(dir.join("space.json"), TINY_SPACE).unwrap();
    std::fs::write(dir.join("reference.json"), TINY_ARCH).unwrap();
    [
        "--budget",
        budget,
        "--space",
        dir.join("space.json").to_str().unwrap(),
        "--reference",
        dir.join("reference.json").to_str().unwrap(),
        "--references",
        dir.join("reference.json").to_str().unwrap(),
        "--proxy-epochs",
        "1",
        "--proxy-batch",
        "64",
        "--proxy-size",
        "16",
        "--step-batch",
        "2",
        "--step-size",
        "16",
        "--step-steps",
        "1",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn trial_lines(out: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(out.join("trials.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_killed_search_resumes_with_nothing_lost_or_evaluated_twice() {
    let dir = scratch("resume");
    let out = dir.join("run");
    let args = tiny_search(&dir, &out, "4");
    let mut child = Command::new(env!("CARGO_BIN_EXE_search"))
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while trial_lines(&out).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no trial finished in time"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: whatever was in flight is lost
    child.wait().unwrap();
    let before = trial_lines(&out);
    assert!(!before.is_empty());
    // A write torn by the kill is tolerated.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(out.join("trials.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"id\": 7, \"status\": \"do").unwrap();
    drop(f);

    let resumed = search(&["--out", out.to_str().unwrap(), "--resume", "--budget", "4"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let after = trial_lines(&out);
    assert_eq!(after.len(), 4);
    assert_eq!(
        after[..before.len()],
        before[..],
        "finished trials were changed"
    );
    let trials: Vec<serde_json::Value> = after
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: std::collections::HashSet<_> =
        trials.iter().map(|t| t["id"].as_u64().unwrap()).collect();
    let keys: std::collections::HashSet<_> = trials
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        (ids.len(), keys.len()),
        (4, 4),
        "a trial was evaluated twice"
    );

    // The reference network was evaluated once, not again on resuming, and the
    // report written at the end shows it beside the trials.
    let references = std::fs::read_to_string(out.join("references.jsonl")).unwrap();
    assert_eq!(references.lines().count(), 1);
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("tiny-reference") && html.contains("4 trials"));
    let report = search(&["report", out.to_str().unwrap()]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert!(stdout(&report).contains("index.html"));
    bad_input(
        &search(&["report", dir.to_str().unwrap()]),
        "not a run directory",
    );

    // The best trial exports as a valid spec.
    let exported = search(&["export", out.to_str().unwrap(), "best"]);
    assert!(exported.status.success(), "{}", stderr(&exported));
    space::ArchSpec::from_json(&stdout(&exported))
        .unwrap()
        .validate()
        .unwrap();
    bad_input(
        &search(&["export", out.to_str().unwrap(), "99"]),
        "no trial #99",
    );
    // Starting over in the same directory would lose it: refused.
    bad_input(
        &search(&args.iter().map(String::as_str).collect::<Vec<_>>()),
        "already holds a search",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_search_input_exits_with_code_2() {
    let dir = scratch("search-bad");
    let broken = dir.join("space.json");
    std::fs::write(&broken, TINY_SPACE.replace("[3, 5]", "[4]")).unwrap();
    let broken = broken.to_str().unwrap();
    bad_input(
        &search(&["--space", broken, "--out", dir.join("a").to_str().unwrap()]),
        "stages[0].kernels",
    );
    bad_input(&search(&["--strategy", "genetic"]), "invalid value");
    bad_input(&search(&["--budget", "0"]), "--budget");
    bad_input(&search(&["--resume"]), "--out");
    bad_input(
        &search(&["--out", dir.join("none").to_str().unwrap(), "--resume"]),
        "holds no search",
    );
    bad_input(&search(&["--space", "nowhere"]), "neither a built-in space");
    bad_input(
        &search(&[
            "--data",
            "/nonexistent",
            "--out",
            dir.join("b").to_str().unwrap(),
            "--space",
            broken,
        ]),
        "stages[0].kernels",
    );
    std::fs::remove_dir_all(dir).unwrap();
}

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

fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn the_quick_reproduction_writes_every_part_and_resumes_without_redoing_any() {
    let dir = scratch("reproduce");
    let out = dir.join("repro");
    let o = out.to_str().unwrap();
    let run = search(&["reproduce", "--quick", "--budget", "1", "--out", o]);
    assert!(run.status.success(), "{}", stderr(&run));

    // Table 2 analog: the grid, the largest point over the memory cap and not run.
    let points = json_lines(&out.join("throughput.jsonl"));
    assert_eq!(points.len(), 4);
    let over: Vec<_> = points
        .iter()
        .filter(|p| p["status"] == "over_cap")
        .collect();
    assert_eq!(over.len(), 1, "{points:?}");
    assert_eq!(
        (over[0]["size"].as_u64(), over[0]["batch"].as_u64()),
        (Some(64), Some(4))
    );
    assert!(over[0]["step_ms"].is_null());
    let done: Vec<_> = points.iter().filter(|p| p["status"] == "done").collect();
    assert_eq!(done.len(), 3, "{points:?}");
    for p in done {
        let ms = p["step_ms"]["median"].as_f64().unwrap();
        let batch = p["batch"].as_f64().unwrap();
        assert!((p["images_per_s"].as_f64().unwrap() - batch * 1000.0 / ms).abs() < 1e-6);
    }

    // Table 3 analog: two backbones, four variants each, evaluated like trials.
    let fused = json_lines(&out.join("fused.jsonl"));
    let names: Vec<&str> = fused
        .iter()
        .map(|t| t["spec"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "efficientnet-b0-mini-fused-1-3",
            "efficientnet-b0-mini-fused-1-5",
            "efficientnet-b0-mini-fused-1-7",
            "efficientnet-b0-mini-no-fused",
            "efficientnet-b4-mini-fused-1-3",
            "efficientnet-b4-mini-fused-1-5",
            "efficientnet-b4-mini-fused-1-7",
            "efficientnet-b4-mini-no-fused",
        ]
    );
    let macs: Vec<u64> = fused.iter().map(|t| t["macs"].as_u64().unwrap()).collect();
    assert!(
        macs.windows(2).all(|w| w[0] <= w[1]),
        "cheapest first: {macs:?}"
    );
    for t in &fused {
        assert_eq!(t["status"], "done", "{}", t["error"]);
        let acc = t["accuracy"].as_f64().unwrap();
        assert!(acc > 0.0 && acc <= 1.0);
        assert!(t["step_ms"]["median"].as_f64().unwrap() > 0.0);
    }
    let params = |name: &str| {
        fused.iter().find(|t| t["spec"]["name"] == name).unwrap()["params"]
            .as_u64()
            .unwrap()
    };
    assert!(
        params("efficientnet-b4-mini-fused-1-7") > params("efficientnet-b4-mini-no-fused"),
        "fusing every stage adds parameters"
    );

    // The search, with the three reference networks; the family of its best.
    assert_eq!(trial_lines(&out.join("search")).len(), 1);
    assert_eq!(json_lines(&out.join("search/references.jsonl")).len(), 3);
    let family: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("family.json")).unwrap()).unwrap();
    let labels: Vec<&str> = family
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["S", "M", "L"]);

    // One report with every part.
    let md = std::fs::read_to_string(out.join("report/summary.md")).unwrap();
    for needle in [
        "Table 3 analog",
        "Table 2 analog",
        "| over the cap (",
        "| efficientnet-b4-mini | 1-7 |",
        "| efficientnetv2-s-mini |",
        "The found network against efficientnetv2-s-mini",
        "| Fused-MBConv1, k3x3 | 1 | 8 | 2 |",
        "| M | ",
    ] {
        assert!(md.contains(needle), "no {needle:?} in the report");
    }
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("<svg"));
    assert!(search(&["report", o]).status.success());

    // A reproduction cut off mid-way (a line torn by the kill) resumes: what was
    // recorded stays as it was, the rest is run, nothing twice.
    let keep = |file: &str, lines: usize, torn: &str| {
        let path = out.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: String = text.lines().take(lines).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, format!("{kept}{torn}")).unwrap();
        kept
    };
    let fused_kept = keep("fused.jsonl", 5, "{\"id\": 5, \"sta");
    let points_kept = keep("throughput.jsonl", 2, "");
    let again = search(&["reproduce", "--budget", "1", "--out", o, "--resume"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let fused_after = std::fs::read_to_string(out.join("fused.jsonl")).unwrap();
    assert!(fused_after.starts_with(&fused_kept));
    let names_after: Vec<String> = json_lines(&out.join("fused.jsonl"))
        .iter()
        .map(|t| t["spec"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names_after, names, "each variant once, in order");
    let points_after = std::fs::read_to_string(out.join("throughput.jsonl")).unwrap();
    assert!(points_after.starts_with(&points_kept));
    assert_eq!(json_lines(&out.join("throughput.jsonl")).len(), 4);
    assert_eq!(trial_lines(&out.join("search")).len(), 1);

    // A new reproduction refuses a used directory; a resume needs a reproduction.
    bad_input(
        &search(&["reproduce", "--quick", "--out", o]),
        "already holds a reproduction",
    );
    let empty = dir.join("empty");
    bad_input(
        &search(&["reproduce", "--out", empty.to_str().unwrap(), "--resume"]),
        "holds no reproduction",
    );
    bad_input(
        &search(&[
            "reproduce",
            "--quick",
            "--out",
            out.join("search").to_str().unwrap(),
        ]),
        "is not empty and holds no reproduction",
    );
    let missing = dir.join("never");
    bad_input(
        &search(&[
            "reproduce",
            "--quick",
            "--data",
            "/no/such/data",
            "--out",
            missing.to_str().unwrap(),
        ]),
        "/no/such/data",
    );
    assert!(!missing.exists(), "nothing is written for bad input");
}

/// A search in PostgreSQL with three processes (the one that starts it and two
/// `search worker`s); one worker is killed with SIGKILL while it holds a trial. The
/// budget is still finished, every trial exactly once, and the killed one retried.
/// Needs the server `EFFNAS_TEST_POSTGRES` names (`.ci/run` starts one).
#[test]
fn a_shared_search_survives_a_killed_worker() {
    let Ok(url) = std::env::var("EFFNAS_TEST_POSTGRES") else {
        eprintln!("EFFNAS_TEST_POSTGRES is not set: no PostgreSQL server to test against");
        return;
    };
    let dir = scratch("shared");
    let name = format!("cli-shared-{}", std::process::id());
    let mut args = tiny_search(&dir, &dir.join("unused"), "6");
    let out = args.iter().position(|a| a == "--out").unwrap();
    args.drain(out..out + 2);
    args.extend(
        [
            "--store",
            &url,
            "--run",
            &name,
            "--heartbeat",
            "0.2",
            "--grace",
            "1",
        ]
        .map(String::from),
    );
    let starter = Command::new(env!("CARGO_BIN_EXE_search"))
        .args(&args)
        .stderr(std::fs::File::create(dir.join("starter.log")).unwrap())
        .spawn()
        .unwrap();
    let worker = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_search"))
            .args(["worker", "--store", &url, "--run", &name, "--name", id])
            .stderr(std::fs::File::create(dir.join(format!("{id}.log"))).unwrap())
            .spawn()
            .unwrap()
    };
    // On a fresh server the schema appears with the first process; make it now.
    let mut db = search::store::postgres::connect(&url).unwrap();
    let run_exists = |db: &mut postgres::Client| {
        db.query_opt("SELECT 1 FROM effnas_runs WHERE name = $1", &[&name])
            .unwrap()
            .is_some()
    };
    let started = std::time::Instant::now();
    while !run_exists(&mut db) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the search never appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut doomed = worker("doomed");
    let mut survivor = worker("survivor");
    // A coordinator too: it keeps proposals queued, the workers add their own.
    let mut coordinator = Command::new(env!("CARGO_BIN_EXE_search"))
        .args(["coordinate", "--store", &url, "--run", &name])
        .stderr(std::fs::File::create(dir.join("coordinator.log")).unwrap())
        .spawn()
        .unwrap();
    // Kill the doomed worker while it holds a trial.
    let held = loop {
        let row = db
            .query_opt(
                "SELECT t.id FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
                 WHERE r.name = $1 AND t.worker = 'doomed' AND t.state = 'running'",
                &[&name],
            )
            .unwrap();
        if let Some(row) = row {
            break row.get::<_, i32>(0);
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the doomed worker never claimed a trial"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    doomed.kill().unwrap(); // SIGKILL
    doomed.wait().unwrap();
    let log = |id: &str| std::fs::read_to_string(dir.join(format!("{id}.log"))).unwrap();
    assert!(survivor.wait().unwrap().success(), "{}", log("survivor"));
    let mut starter = starter;
    assert!(starter.wait().unwrap().success(), "{}", log("starter"));
    assert!(
        coordinator.wait().unwrap().success(),
        "{}",
        log("coordinator")
    );

    let rows = db
        .query(
            "SELECT t.id, t.state, t.attempts FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
             WHERE r.name = $1 ORDER BY t.id",
            &[&name],
        )
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, (0..6).collect::<Vec<_>>());
    for r in &rows {
        let state: String = r.get(1);
        assert!(
            ["done", "failed", "skipped"].contains(&state.as_str()),
            "{state}"
        );
    }
    let attempts: i32 = rows
        .iter()
        .find(|r| r.get::<_, i32>(0) == held)
        .unwrap()
        .get(2);
    assert_eq!(attempts, 2, "the killed worker's trial is retried once");

    // Pulled into a run directory, it reports like any run.
    let pulled = dir.join("pulled");
    let pull = |out: &std::path::Path| {
        search(&[
            "pull",
            "--store",
            &url,
            "--run",
            &name,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = pull(&pulled);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(trial_lines(&pulled).len(), 6);
    let out = search(&["report", pulled.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pulled.join("report/index.html").exists());
    bad_input(&pull(&pulled), "not empty");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Unreachable servers, wrong passwords and searches that are not there: exit 2, a
/// message naming the problem, and nothing written.
#[test]
fn shared_search_bad_input_exits_with_code_2() {
    let Ok(url) = std::env::var("EFFNAS_TEST_POSTGRES") else {
        eprintln!("EFFNAS_TEST_POSTGRES is not set: no PostgreSQL server to test against");
        return;
    };
    let nowhere = "postgres://effnas:effnas@127.0.0.1:1/effnas";
    bad_input(
        &search(&["worker", "--store", nowhere, "--run", "x"]),
        "cannot connect to postgres://effnas:***@127.0.0.1:1",
    );
    let wrong = url.replacen(":effnas@", ":wrong@", 1);
    let out = search(&["worker", "--store", &wrong, "--run", "x"]);
    bad_input(&out, "password authentication failed");
    assert!(
        !stderr(&out).contains(":wrong@"),
        "the password is not printed"
    );
    let missing = format!("missing-{}", std::process::id());
    for command in ["worker", "coordinate"] {
        bad_input(
            &search(&[command, "--store", &url, "--run", &missing]),
            "no search named",
        );
    }
    let dir = scratch("pull-missing");
    let out_dir = dir.join("out");
    let out_arg = out_dir.to_str().unwrap();
    bad_input(
        &search(&["pull", "--store", &url, "--run", &missing, "--out", out_arg]),
        "no search named",
    );
    assert!(!out_dir.exists(), "nothing written");
    bad_input(&search(&["--store", &url]), "--run");
    bad_input(
        &search(&["--store", &url, "--run", &missing, "--resume"]),
        "no search named",
    );
    let mut db = search::store::postgres::connect(&url).unwrap(); // after the commands
    let runs = db
        .query("SELECT 1 FROM effnas_runs WHERE name = $1", &[&missing])
        .unwrap();
    assert!(runs.is_empty(), "no search was created");
    std::fs::remove_dir_all(dir).unwrap();
}

/// REINFORCE's workers only evaluate: `search coordinate` proposes for them.
#[test]
fn a_shared_reinforce_search_is_fed_by_its_coordinator() {
    let Ok(url) = std::env::var("EFFNAS_TEST_POSTGRES") else {
        eprintln!("EFFNAS_TEST_POSTGRES is not set: no PostgreSQL server to test against");
        return;
    };
    let dir = scratch("shared-reinforce");
    let name = format!("cli-reinforce-{}", std::process::id());
    let mut args = tiny_search(&dir, &dir.join("unused"), "3");
    let out = args.iter().position(|a| a == "--out").unwrap();
    args.drain(out..out + 2);
    args.extend(["--store", &url, "--run", &name, "--strategy", "reinforce"].map(String::from));
    let starter = Command::new(env!("CARGO_BIN_EXE_search"))
        .args(&args)
        .stderr(std::fs::File::create(dir.join("starter.log")).unwrap())
        .spawn()
        .unwrap();
    // The coordinator may start before the search exists: it is refused, and retried.
    let started = std::time::Instant::now();
    let coordinated = loop {
        let out = search(&[
            "coordinate",
            "--store",
            &url,
            "--run",
            &name,
            "--queue",
            "1",
        ]);
        if out.status.success() {
            break out;
        }
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(started.elapsed().as_secs() < 60, "{}", stderr(&out));
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        stderr(&coordinated).contains("3 proposals made here"),
        "{}",
        stderr(&coordinated)
    );
    let mut starter = starter;
    let log = std::fs::read_to_string(dir.join("starter.log")).unwrap_or_default();
    assert!(starter.wait().unwrap().success(), "{log}");
    let pulled = dir.join("pulled");
    let out = search(&[
        "pull",
        "--store",
        &url,
        "--run",
        &name,
        "--out",
        pulled.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(trial_lines(&pulled).len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}
