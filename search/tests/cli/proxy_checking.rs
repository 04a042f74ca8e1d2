//! `search proxy-check` in miniature: the tiny space, four networks, a small slice
//! of the embedded data; the run directory and report are written, a check cut
//! off mid-way resumes without training anything twice, and bad input is named.

use crate::common::*;

/// A check small enough for the test suite, in `out`.
fn tiny_check(out: &std::path::Path) -> Vec<String> {
    let (space, reference) = (fixture("tiny-space.json"), fixture("tiny-reference.json"));
    [
        "proxy-check",
        "--space",
        space.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--k",
        "4",
        "--proxy",
        "short:epochs=1,size=16,images=128",
        "--proxy",
        "adapted:epochs=1,size=16,images=128,strides=adapt",
        "--target",
        "epochs=2,size=16,images=512",
        "--step-batch",
        "2",
        "--step-size",
        "16",
        "--step-steps",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(args: &[String]) -> std::process::Output {
    search(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_proxy_check_writes_its_run_and_report_and_resumes_after_a_cut() {
    let dir = scratch("proxy-check");
    let out = dir.join("check");
    let args = tiny_check(&out);
    let first = run(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    let printed = stdout(&first);
    for needle in ["Kendall τ", "short", "adapted", "/3"] {
        assert!(printed.contains(needle), "no {needle:?} in {printed}");
    }
    let networks = json_lines(&out.join("networks.jsonl"));
    let trainings = json_lines(&out.join("trainings.jsonl"));
    assert_eq!(networks.len(), 4);
    assert_eq!(
        trainings.len(),
        12,
        "4 networks under 2 proxies and the target"
    );
    for t in &trainings {
        assert_eq!(t["status"], "done", "{t}");
        let acc = t["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("proxy-check.json")).unwrap())
            .unwrap();
    assert_eq!(plan["proxies"][1]["strides"]["rule"], "adapt_strides");
    assert!(plan["reward"]["reference_step_ms"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(out.join("report/summary.md")).unwrap();
    assert!(
        md.contains("How well each proxy ranks the networks"),
        "{md}"
    );
    for plot in ["proxy_short.png", "proxy_adapted.svg"] {
        assert!(out.join("report").join(plot).exists(), "{plot}");
    }

    // Cut off after five trainings, mid-line: the resume trains the other seven.
    let text = std::fs::read_to_string(out.join("trainings.jsonl")).unwrap();
    let kept: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    std::fs::write(
        out.join("trainings.jsonl"),
        format!("{kept}{{\"network\": 1, \"set"),
    )
    .unwrap();
    let again = search(&["proxy-check", "--out", out.to_str().unwrap(), "--resume"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let after = std::fs::read_to_string(out.join("trainings.jsonl")).unwrap();
    assert!(
        after.starts_with(&kept),
        "recorded trainings stay as they were"
    );
    let pairs: std::collections::HashSet<(u64, String)> = json_lines(&out.join("trainings.jsonl"))
        .iter()
        .map(|t| {
            (
                t["network"].as_u64().unwrap(),
                t["setting"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!((after.lines().count(), pairs.len()), (12, 12), "each once");
    // A proxy added on resuming is trained on every network and held to the same
    // target, which is not trained again.
    let o = out.to_str().unwrap();
    let extra = "extra:epochs=2,size=16,images=128";
    let added = search(&["proxy-check", "--out", o, "--resume", "--proxy", extra]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).contains("extra"), "{}", stdout(&added));
    let trainings = json_lines(&out.join("trainings.jsonl"));
    let count = |setting: &str| trainings.iter().filter(|t| t["setting"] == setting).count();
    assert_eq!(
        (trainings.len(), count("extra"), count("target")),
        (16, 4, 4)
    );
    bad_input(
        &search(&[
            "proxy-check",
            "--out",
            o,
            "--resume",
            "--proxy",
            "extra:epochs=3",
        ]),
        "a different proxy of that name",
    );
    // The same directory again without --resume is refused.
    bad_input(&run(&args), "already holds a proxy check");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_proxy_checks_are_named_and_write_nothing() {
    let dir = scratch("proxy-check-bad");
    let out = dir.join("never");
    // The tiny check with `flags` in place of its own (each `--proxy` given
    // replaces all of them).
    let with = |flags: &[&str]| {
        let mut args = tiny_check(&out);
        if flags.contains(&"--proxy") {
            while let Some(i) = args.iter().position(|a| a == "--proxy") {
                args.drain(i..i + 2);
            }
        }
        for pair in flags.chunks(2) {
            let (flag, value) = (pair[0], pair[1]);
            match args.iter().position(|a| a == flag) {
                Some(i) if flag != "--proxy" => args[i + 1] = value.to_string(),
                _ => args.extend([flag.to_string(), value.to_string()]),
            }
        }
        run(&args)
    };
    bad_input(&with(&["--k", "2"]), "at least 3 networks");
    bad_input(
        &with(&["--target", "epochs=1,size=16,images=128"]),
        "no more expensive than the proxy",
    );
    // One stage with a single option left: a space of two networks.
    let tiny = std::fs::read_to_string(fixture("tiny-space.json")).unwrap();
    let mut small: serde_json::Value = serde_json::from_str(&tiny).unwrap();
    for stage in small["stages"].as_array_mut().unwrap() {
        for key in ["ops", "kernels", "expand_ratios", "se_ratios"] {
            let first = stage[key][0].clone();
            stage[key] = serde_json::json!([first]);
        }
        stage["repeats"] = serde_json::json!([1, 1]);
    }
    let path = dir.join("small.json");
    std::fs::write(&path, small.to_string()).unwrap();
    bad_input(
        &with(&["--space", path.to_str().unwrap()]),
        "distinct networks",
    );
    bad_input(&with(&["--proxy", "target:epochs=1"]), "a name of its own");
    bad_input(&with(&["--proxy", "x:colour=red"]), "unknown key `colour`");
    bad_input(
        &with(&["--proxy", "a:epochs=1", "--proxy", "a:epochs=2"]),
        "`a`",
    );
    assert!(!out.exists(), "nothing is written for bad input");
    bad_input(
        &search(&["proxy-check", "--out", out.to_str().unwrap(), "--resume"]),
        "holds no proxy check",
    );
    std::fs::remove_dir_all(dir).unwrap();
}
