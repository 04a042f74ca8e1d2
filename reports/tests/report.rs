//! Reports build for every shape of run (empty, one trial, many, failed trials,
//! a training run) and their plots are real images of sensible size.

use std::fs;
use std::path::{Path, PathBuf};

use reports::{ReportError, write_report};
use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-report-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a test's output, unless EFFNAS_KEEP_TEST_OUTPUT is set (to look at
/// the plots).
fn cleanup(dir: &Path) {
    if std::env::var_os("EFFNAS_KEEP_TEST_OUTPUT").is_none() {
        fs::remove_dir_all(dir).unwrap();
    } else {
        eprintln!("kept {}", dir.display());
    }
}

fn search_config() -> Value {
    json!({
        "space": {"name": "paper"}, "strategy": "evolution", "budget": 8, "seed": 0,
        "data": null, "reference": "efficientnet-b0",
        "evaluator": {"timing": {"batch": 16, "size": 128, "steps": 3, "warmup": 1},
                      "reward": {"w": -0.07, "v": -0.05, "reference_step_ms": 900.0,
                                 "reference_params": 5288548u64}}
    })
}

/// A trial line as the search writes it; `acc` None makes it failed.
fn trial(id: usize, acc: Option<f64>, step: f64, params: u64) -> Value {
    let mut spec = space::preset("efficientnet-b0").unwrap();
    spec.name = format!("candidate-{id}");
    spec.stages[0].repeats = 1 + id % 2;
    json!({
        "id": id,
        "status": if acc.is_some() { "done" } else { "failed" },
        "spec": spec, "key": format!("k{id}"), "choices": [0, 1],
        "accuracy": acc,
        "step_ms": acc.map(|_| json!({"median": step, "min": step * 0.95, "max": step * 1.1, "iqr": 3.0})),
        "params": params, "macs": params * 70, "memory_bytes": 1u64 << 30,
        "reward": acc.map(|a| a * (step / 900.0f64).powf(-0.07)),
        "error": if acc.is_none() { json!("diverged: loss NaN at step 3") } else { Value::Null },
        "step_time_s": 4.0, "train_s": 30.0, "total_s": 34.0, "seed": 7
    })
}

fn write_search(dir: &Path, trials: &[Value]) {
    fs::write(dir.join("config.json"), search_config().to_string()).unwrap();
    let lines: String = trials.iter().map(|t| format!("{t}\n")).collect();
    fs::write(dir.join("trials.jsonl"), lines).unwrap();
}

fn check_png(path: &Path) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    assert!(
        (600..=2000).contains(&w) && (200..=1600).contains(&h),
        "{w}x{h}"
    );
    // Something was drawn: some pixels are not the white background (a title and
    // a message at least), and more than two colours appear (anti-aliased text).
    let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        inked > (w * h / 1000) as usize,
        "{}: nearly blank",
        path.display()
    );
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 3,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
}

fn check_svg(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("<text"), "{}: no labels", path.display());
}

fn plots_in(report: &reports::Report) -> Vec<PathBuf> {
    report
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .cloned()
        .collect()
}

#[test]
fn a_search_with_many_trials_gets_every_plot_and_table() {
    let dir = scratch("many");
    let mut trials: Vec<Value> = (0..12)
        .map(|i| {
            let acc = 0.6 + 0.02 * (i % 7) as f64;
            trial(
                i,
                Some(acc),
                700.0 + 37.0 * ((i * 5) % 11) as f64,
                3_000_000 + 250_000 * i as u64,
            )
        })
        .collect();
    trials.push(trial(12, None, 0.0, 4_000_000));
    write_search(&dir, &trials);
    let mut reference = trial(0, Some(0.7), 900.0, 5_288_548);
    reference["spec"]["name"] = "efficientnet-b0".into();
    fs::write(dir.join("references.jsonl"), format!("{reference}\n")).unwrap();

    let report = write_report(&dir).unwrap();
    let names: Vec<String> = plots_in(&report)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "best_layout",
        "accuracy_vs_step_time",
        "accuracy_vs_params",
        "search_progress",
        "hypervolume",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for png in plots_in(&report) {
        check_png(&png);
        check_svg(&png.with_extension("svg"));
    }
    let html = fs::read_to_string(&report.html).unwrap();
    assert_eq!(html.matches("<svg").count(), 5, "plots are inlined");
    assert!(!html.contains("<?xml"));
    assert!(html.contains("efficientnet-b0") && html.contains("diverged: loss NaN"));
    let md = fs::read_to_string(&report.markdown).unwrap();
    assert!(md.contains("![accuracy_vs_step_time](accuracy_vs_step_time.png)"));

    // The CSV has every trial and the reference, with Pareto ranks; the failed
    // trial has none.
    let csv = fs::read_to_string(report.dir.join("trials.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(lines.clone().count(), 14);
    let rank = header
        .iter()
        .position(|h| *h == "pareto_rank_acc_time")
        .unwrap();
    let status = header.iter().position(|h| *h == "status").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().any(|r| r[rank] == "0"));
    let failed = rows.iter().find(|r| r[status] == "failed").unwrap();
    assert_eq!(failed[rank], "");
    let reference = header.iter().position(|h| *h == "reference").unwrap();
    let b0 = rows
        .iter()
        .find(|r| r[reference] == "efficientnet-b0")
        .unwrap();
    assert_eq!(b0[rank], "", "references are not ranked");
    let parquet = fs::read(report.dir.join("trials.parquet")).unwrap();
    assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    cleanup(&dir);
}

#[test]
fn empty_and_single_trial_searches_still_report() {
    for (name, trials) in [
        ("empty", vec![]),
        ("one", vec![trial(0, Some(0.8), 800.0, 4_000_000)]),
        ("failed-only", vec![trial(0, None, 0.0, 4_000_000)]),
    ] {
        let dir = scratch(name);
        write_search(&dir, &trials);
        let report = write_report(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        for png in plots_in(&report) {
            check_png(&png);
        }
        let html = fs::read_to_string(&report.html).unwrap();
        assert!(
            html.contains(&format!("{} candidates", trials.len())),
            "{name}"
        );
        cleanup(&dir);
    }
}

#[test]
fn a_torn_last_line_is_ignored_and_a_bad_line_is_named() {
    let dir = scratch("torn");
    write_search(&dir, &[trial(0, Some(0.8), 800.0, 4_000_000)]);
    let mut text = fs::read_to_string(dir.join("trials.jsonl")).unwrap();
    text.push_str("{\"id\": 1, \"sta");
    fs::write(dir.join("trials.jsonl"), &text).unwrap();
    assert!(write_report(&dir).is_ok());

    fs::write(dir.join("trials.jsonl"), format!("not json\n{text}\n")).unwrap();
    let err = write_report(&dir).unwrap_err();
    assert!(err.is_bad_input());
    assert!(err.to_string().contains("trials.jsonl: line 1"), "{err}");
    cleanup(&dir);
}

#[test]
fn a_directory_without_a_run_is_bad_input() {
    let dir = scratch("none");
    let err = write_report(&dir).unwrap_err();
    assert!(matches!(err, ReportError::NotARun(_)), "{err}");
    assert!(
        write_report(&dir.join("missing"))
            .unwrap_err()
            .is_bad_input()
    );
    cleanup(&dir);
}

#[test]
fn a_progressive_training_run_gets_curves_with_stages() {
    let dir = scratch("train");
    let spec = space::preset("efficientnetv2-b0").unwrap();
    let config = json!({"spec": spec, "data": "fashion-mnist", "ops": "fast",
        "train": {"epochs": 8, "batch": 128, "optimizer": "adamw",
                  "progressive": {"stages": 4, "size": [16, 32]}}});
    fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let mut lines = String::new();
    for epoch in 1..=8usize {
        let stage = (epoch - 1) / 2;
        lines.push_str(&format!(
            "{}\n",
            json!({"kind": "step", "epoch": epoch, "step": epoch * 10, "loss": 1.0})
        ));
        lines.push_str(&format!(
            "{}\n",
            json!({"kind": "epoch", "epoch": epoch, "stage": stage, "size": 16 + 16 * stage / 3,
                   "dropout": 0.05, "randaug": 2.0 * stage as f64, "mixup": 0.0, "lr": 0.001,
                   "train_loss": 2.0 / epoch as f64, "train_acc": 0.5 + 0.05 * epoch as f64,
                   "val_loss": 1.8 / epoch as f64, "val_acc": 0.55 + 0.04 * epoch as f64,
                   "raw_val_acc": null, "images_per_s": 400.0, "epoch_s": 120.0,
                   "data_wait_s": 0.1, "wall_s": 125.0 * epoch as f64})
        ));
    }
    fs::write(dir.join("metrics.jsonl"), lines).unwrap();
    let report = write_report(&dir).unwrap();
    let curves = report.dir.join("training_curves.png");
    check_png(&curves);
    check_png(&report.dir.join("layout.png"));
    let html = fs::read_to_string(&report.html).unwrap();
    assert!(html.contains("progressive learning in 4 stages"));
    assert!(
        html.contains("16 px") && html.contains("32 px"),
        "stages labelled"
    );
    let csv = fs::read_to_string(report.dir.join("epochs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 9);
    cleanup(&dir);
}

/// In successive halving the top trials are ranked as the search ranks its best:
/// those that reached the most rungs first, then by reward (a candidate stopped
/// after the first rung does not outrank one trained through both).
#[test]
fn a_halving_search_ranks_its_top_trials_by_rungs_then_reward() {
    let dir = scratch("halving-top");
    let mut config = search_config();
    config["evaluator"]["proxy"] = json!({"progressive": {"stages": 2}});
    config["eta"] = json!(3);
    let rung = |r: usize, reward: f64| {
        json!({"epochs": r + 1, "size": 24 + 8 * r, "accuracy": reward,
               "reward": reward, "seconds": 10.0})
    };
    let mut trials = Vec::new();
    for (id, rewards) in [(0, vec![0.5, 0.6]), (1, vec![0.9]), (2, vec![0.4])] {
        let mut t = trial(id, Some(rewards[rewards.len() - 1]), 800.0, 4_000_000);
        t["reward"] = json!(rewards[rewards.len() - 1]);
        t["rungs"] = rewards
            .iter()
            .enumerate()
            .map(|(r, &x)| rung(r, x))
            .collect();
        trials.push(t);
    }
    fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let lines: String = trials.iter().map(|t| format!("{t}\n")).collect();
    fs::write(dir.join("trials.jsonl"), lines).unwrap();
    let report = write_report(&dir).unwrap();
    let markdown = fs::read_to_string(&report.markdown).unwrap();
    let top = &markdown[markdown
        .find("Top trials, those that reached the most rungs")
        .unwrap()..];
    let at = |name: &str| top.find(name).unwrap();
    assert!(at("candidate-0") < at("candidate-1"), "{top}");
    assert!(at("candidate-1") < at("candidate-2"), "{top}");
    assert!(top.contains("| 2/2 |") && top.contains("| 1/2 |"), "{top}");
    cleanup(&dir);
}
