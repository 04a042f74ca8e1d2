//! `search reproduce --quick`: every part written, and a resume that redoes none.

use crate::common::*;

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
