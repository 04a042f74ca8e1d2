//! `search bench-strategies`: the strategies on NAS-Bench-201's table, and the
//! statistical claim CI holds them to.

use records::StrategyBenchDir;
use records::stats::mean_difference;

use crate::common::{bad_input, json, scratch, search, stderr};

/// Evolution must beat random search on mean regret by more than twice the
/// standard error of the difference. Over 16 disjoint sets of 20 seeds the
/// margin was 2.7 to 5.5 standard errors (mean 3.6); with 40 seeds it grows
/// by √2, so a seed set that fails would be a change in the strategies, not luck.
#[test]
fn evolution_beats_random_search_on_the_table_beyond_seed_noise() {
    let out = scratch("strategies");
    let dir = out.join("run");
    let result = json(&search(&[
        "bench-strategies",
        "--seeds",
        "40",
        "--seed",
        "1000",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(result["table"], "nb201/cifar10");
    assert!((result["optimum"]["accuracy"].as_f64().unwrap() - 91.61).abs() < 0.01);
    let bench = StrategyBenchDir::new(&dir).results().unwrap().unwrap();
    let names: Vec<&str> = bench
        .strategies
        .iter()
        .map(|s| s.strategy.as_str())
        .collect();
    assert_eq!(names, ["random", "evolution", "reinforce"]);
    for s in &bench.strategies {
        assert_eq!(s.runs.len(), 40);
        // Same seeds for every strategy: paired runs.
        assert_eq!(s.runs[0].seed, 1000);
        for run in &s.runs {
            let found = run.found.as_ref().unwrap();
            assert!(run.regret.unwrap() >= 0.0 && found.accuracy <= bench.optimum.accuracy);
            assert!(run.evaluations > 50, "{}: {}", s.strategy, run.evaluations);
        }
    }
    let regret = |i: usize| bench.strategies[i].each(|r| r.regret);
    let (difference, se) = mean_difference(&regret(0), &regret(1));
    assert!(
        difference > 2.0 * se,
        "random − evolution = {difference} ± {se}"
    );
    for file in [
        "index.html",
        "summary.md",
        "strategies.png",
        "reward_sensitivity.png",
    ] {
        assert!(dir.join("report").join(file).is_file(), "{file}");
    }
    // A second comparison into the same directory is refused; nothing is lost.
    let again = search(&[
        "bench-strategies",
        "--seeds",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    bad_input(&again, "not empty");
    assert_eq!(
        StrategyBenchDir::new(&dir).results().unwrap().unwrap(),
        bench
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_pareto_strategy_and_other_tables_run_too() {
    let out = scratch("strategies-pareto");
    let dir = out.join("run");
    let result = json(&search(&[
        "bench-strategies",
        "--dataset",
        "imagenet16-120",
        "--strategies",
        "pareto",
        "--seeds",
        "3",
        "--w",
        "-0.07",
        "--v",
        "-0.05",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(result["table"], "nb201/imagenet16-120");
    assert_eq!(result["budget_s"], 1_200_000.0);
    assert_eq!(result["strategies"][0]["strategy"], "pareto");
    assert_eq!(result["strategies"][0]["runs"], 3);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_budget_most_searches_cannot_start_in_still_reports() {
    let out = scratch("strategies-tight");
    let dir = out.join("run");
    // The cheapest cell trains in 542 s: most first proposals do not fit 600 s.
    let result = json(&search(&[
        "bench-strategies",
        "--time-budget",
        "600",
        "--seeds",
        "5",
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(result["strategies"].as_array().unwrap().len(), 3);
    let bench = StrategyBenchDir::new(&dir).results().unwrap().unwrap();
    let empty = bench
        .strategies
        .iter()
        .flat_map(|s| &s.runs)
        .filter(|r| r.found.is_none());
    assert!(empty.count() > 0);
    assert!(dir.join("report/index.html").is_file());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_comparisons_are_refused_before_anything_is_written() {
    let out = scratch("strategies-bad");
    let dir = out.join("run");
    let d = dir.to_str().unwrap();
    for (flags, needle) in [
        (
            vec!["--time-budget", "0"],
            "no cell of cifar10 trains within it",
        ),
        (vec!["--time-budget", "nan"], "not a finite number"),
        (
            vec!["--strategies", "annealing"],
            "invalid value 'annealing'",
        ),
        (vec!["--dataset", "mnist"], "invalid value 'mnist'"),
        (vec!["--seeds", "0"], "--seeds"),
    ] {
        let mut args = vec!["bench-strategies", "--out", d];
        args.extend(flags);
        let run = search(&args);
        bad_input(&run, needle);
        assert!(!dir.exists(), "{}", stderr(&run));
    }
    let file = out.join("a-file");
    std::fs::write(&file, "x").unwrap();
    bad_input(
        &search(&["bench-strategies", "--out", file.to_str().unwrap()]),
        "is a file",
    );
    let _ = std::fs::remove_dir_all(&out);
}
