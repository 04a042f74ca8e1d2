//! A search in a run directory: killed and resumed with nothing lost, and bad
//! input refused.

use std::path::Path;
use std::process::Command;

use crate::common::*;

#[test]
fn a_killed_search_resumes_with_nothing_lost_or_evaluated_twice() {
    let dir = scratch("resume");
    let out = dir.join("run");
    let args = tiny_search(&out, "4");
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
    assert!(html.contains("tiny-reference") && html.contains("4 candidates"));
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
    // As timm builds it: a Python file with the same blocks.
    let timm = search(&["export", out.to_str().unwrap(), "best", "--format", "timm"]);
    assert!(timm.status.success(), "{}", stderr(&timm));
    assert!(stdout(&timm).contains("ARCH_DEF = [") && stdout(&timm).contains("def build("));
    bad_input(
        &search(&["export", out.to_str().unwrap(), "best", "--format", "keras"]),
        "invalid value 'keras'",
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
    std::fs::write(&broken, tiny_space().replace("[3, 5]", "[4]")).unwrap();
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
    let out = |name: &str| dir.join(name).to_str().unwrap().to_string();
    for (flags, needle) in [
        (
            vec!["--rungs", "3"],
            "--rungs 3 needs at least as many --proxy-epochs",
        ),
        (
            vec!["--max-step-ms=-1"],
            "--max-step-ms must be a positive number",
        ),
        // Non-finite numbers are refused by every number flag, naming it.
        (vec!["--max-step-ms", "nan"], "not a finite number"),
        (vec!["--time-budget", "inf"], "--time-budget"),
        (
            vec!["--w", "nan"],
            "'--w <W>': `nan` is not a finite number",
        ),
        (vec!["--v", "-inf"], "'--v <V>'"),
        (vec!["--memory-cap", "NaN"], "not a finite number"),
        (
            vec!["--rungs", "2", "--rung-min-size", "0"],
            "--rung-min-size 0",
        ),
    ] {
        let mut args = flags.clone();
        let place = out(&flags.join("_"));
        args.extend(["--out", &place]);
        bad_input(&search(&args), needle);
        assert!(!Path::new(&place).join("trials.jsonl").exists());
    }
    bad_input(&search(&["--eta", "1"]), "--eta");
    for (args, flag) in [
        (
            vec!["train", "--arch", "efficientnetv2-b0", "--lr", "nan"],
            "--lr",
        ),
        (
            vec!["scale", "--base", "efficientnetv2-b0", "--width", "inf"],
            "--width",
        ),
        (vec!["proxy-check", "--min-tau", "NaN"], "--min-tau"),
        (vec!["check-ops", "--tolerance", "nan"], "--tolerance"),
    ] {
        let out = search(&args);
        bad_input(&out, "not a finite number");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
    // `--out` naming a file, and a run directory whose settings are not JSON:
    // named, and left as they were.
    let file = dir.join("a-file");
    std::fs::write(&file, "mine").unwrap();
    bad_input(
        &search(&["--out", file.to_str().unwrap()]),
        "is a file, not a directory",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    let corrupt = dir.join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("config.json"), "{not json").unwrap();
    bad_input(
        &search(&["--out", corrupt.to_str().unwrap(), "--resume"]),
        "config.json",
    );
    assert_eq!(
        std::fs::read_to_string(corrupt.join("config.json")).unwrap(),
        "{not json"
    );
    assert!(!corrupt.join("trials.jsonl").exists());
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
fn a_search_in_rungs_promotes_the_best_and_reports_what_it_saved() {
    let dir = scratch("rungs");
    let out = dir.join("run");
    let mut args = tiny_search(&out, "3");
    let epochs = args.iter().position(|a| a == "--proxy-epochs").unwrap();
    args[epochs + 1] = "2".into();
    args.extend(
        [
            "--rungs",
            "2",
            "--rung-min-size",
            "12",
            "--strategy",
            "pareto",
            "--json",
        ]
        .map(String::from),
    );
    let found = json(&search(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    // Three candidates at η = 3: one rises to the second rung, and is the best.
    assert_eq!(found["rungs"]["reached"], serde_json::json!([3, 1]));
    assert_eq!(found["best"]["rungs"], 2);
    let (spent, full) = (
        found["rungs"]["train_s"].as_f64().unwrap(),
        found["rungs"]["train_s_without_halving"].as_f64().unwrap(),
    );
    assert!(0.0 < spent && spent < full, "{spent} {full}");
    assert_eq!(trial_lines(&out).len(), 3 + 1);
    assert!(!out.join("rungs").exists());
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("Successive halving") && html.contains("Hypervolume"));
    assert!(out.join("report/hypervolume.svg").exists());
    // The trials table says how far each candidate rose.
    let csv = std::fs::read_to_string(out.join("report/trials.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let rungs = header
        .iter()
        .position(|c| *c == "rungs")
        .expect("a rungs column");
    let reached: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(rungs).unwrap())
        .collect();
    // Three candidates (one risen) and the reference network, trained through both.
    assert_eq!(reached.iter().filter(|r| **r == "2").count(), 2, "{csv}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_trial_without_a_result_is_not_exported() {
    let dir = scratch("export-infeasible");
    let out = dir.join("run");
    let mut args = tiny_search(&out, "1");
    args.extend(["--max-params".to_string(), "1".to_string()]);
    let run = search(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", stderr(&run));
    for format in ["spec", "timm"] {
        let export = search(&["export", out.to_str().unwrap(), "0", "--format", format]);
        bad_input(&export, "trial #0 infeasible");
        assert!(stdout(&export).is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_report_is_live_while_the_search_runs_and_says_when_it_ended() {
    let dir = scratch("live-report");
    let out = dir.join("run");
    let args = tiny_search(&out, "3");
    let mut child = Command::new(env!("CARGO_BIN_EXE_search"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let page = out.join("report/index.html");
    let mut seen_live = false;
    while child.try_wait().unwrap().is_none() {
        if let Ok(html) = std::fs::read_to_string(&page) {
            // Replaced atomically: never half a page.
            assert!(html.ends_with("</html>\n"), "a torn page");
            seen_live |= html.contains("Live: this run is still going")
                && html.contains("http-equiv=\"refresh\"");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(child.wait().unwrap().success());
    assert!(seen_live, "no live report was seen while the search ran");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("This run ended at") && !html.contains("http-equiv=\"refresh\""));
    std::fs::remove_dir_all(dir).unwrap();
}
