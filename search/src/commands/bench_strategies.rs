//! `search bench-strategies`: the search strategies on NAS-Bench-201's table
//! against a simulated clock, many seeds each, in seconds of real time; writes
//! `strategies.json` and a report with the best-so-far curves, the regret and
//! hypervolume, and the reward's sensitivity.

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nas::StrategyKind;
use nas::tabular::{BenchConfig, Dataset, Nb201Table, bench_strategies};
use records::StrategyBenchDir;
use records::stats::mean;

use crate::commands::print_json;
use crate::commands::report_cmd::write_after_run;
use crate::failure::Failure;
use crate::flags::{default_out, finite, refuse_used_out, run_dir};

#[derive(Args)]
pub struct BenchStrategiesArgs {
    /// The table: NAS-Bench-201's 15,625 cells trained on this dataset.
    #[arg(long, value_enum, default_value_t = Dataset::Cifar10)]
    dataset: Dataset,
    /// Strategies to compare, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "random,evolution,reinforce"
    )]
    strategies: Vec<StrategyKind>,
    /// Searches per strategy; search r is seeded --seed + r, the same for every strategy.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    seeds: u64,
    /// The first search's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Simulated seconds (of the table's 200-epoch training times) per search
    /// [default: 200,000 for cifar10, 400,000 for cifar100, 1,200,000 for
    /// imagenet16-120: the NAS-Bench-201 paper's budget, about 110 cells on each].
    #[arg(long, value_name = "S", value_parser = finite)]
    time_budget: Option<f64>,
    /// Reward exponent of training time (0: accuracy alone, as the published
    /// comparisons search).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true, value_parser = finite)]
    w: f64,
    /// Reward exponent of parameters.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true, value_parser = finite)]
    v: f64,
    /// Directory for strategies.json and the report [default: runs/strategies-<time>].
    #[arg(long, value_parser = run_dir)]
    out: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BenchStrategiesArgs) -> Result<(), Failure> {
    let budget_s = args
        .time_budget
        .unwrap_or_else(|| args.dataset.default_budget_s());
    let table = Nb201Table::load(args.dataset).map_err(Failure::runtime)?;
    let cheapest = table
        .cells()
        .map(|(_, r)| r.train_time_s)
        .fold(f64::INFINITY, f64::min);
    if budget_s < cheapest {
        return Err(Failure::bad_input(format!(
            "--time-budget {budget_s}: no cell of {} trains within it (the cheapest takes {cheapest:.0} s)",
            args.dataset.name()
        )));
    }
    if args.strategies.is_empty() {
        return Err(Failure::bad_input("--strategies: name at least one"));
    }
    let out = args.out.unwrap_or_else(|| default_out("strategies"));
    refuse_used_out(&out, "strategy comparison")?;
    let config = BenchConfig {
        strategies: args.strategies,
        seeds: args.seeds as usize,
        seed: args.seed,
        budget_s,
        w: args.w,
        v: args.v,
        grid_points: 101,
    };
    let bar = ProgressBar::new((config.strategies.len() * config.seeds) as u64);
    bar.set_style(
        ProgressStyle::with_template("searches {pos}/{len} [{bar:30}] ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let results = bench_strategies(&table, &config, &|| bar.inc(1));
    bar.finish_and_clear();
    std::fs::create_dir_all(&out)
        .map_err(|e| Failure::runtime(format!("{}: {e}", out.display())))?;
    StrategyBenchDir::new(&out)
        .save(&results)
        .map_err(Failure::runtime)?;
    let summary: Vec<serde_json::Value> = results
        .strategies
        .iter()
        .map(|s| {
            serde_json::json!({
                "strategy": s.strategy,
                "runs": s.runs.len(),
                "evaluations": mean(&s.each(|r| Some(r.evaluations as f64))),
                "accuracy": mean(&s.each(|r| r.found.as_ref().map(|f| f.accuracy))),
                "regret": mean(&s.each(|r| r.regret)),
                "hypervolume": mean(&s.each(|r| Some(r.hypervolume))),
            })
        })
        .collect();
    if args.json {
        print_json(&serde_json::json!({
            "table": results.table,
            "budget_s": results.budget_s,
            "optimum": results.optimum,
            "strategies": summary,
            "out": out,
        }));
    } else {
        println!(
            "{} on {:.0} simulated s, {} seeds each; the table's best cell by the reward: {:.2}%",
            results.table, budget_s, config.seeds, results.optimum.accuracy
        );
        println!("strategy     cells  accuracy returned  regret  hypervolume");
        for s in &summary {
            println!(
                "{:<12} {:>5.1}  {:>16.2}%  {:>6.2}  {:>10.1}%",
                s["strategy"].as_str().unwrap_or("?"),
                s["evaluations"].as_f64().unwrap_or(f64::NAN),
                s["accuracy"].as_f64().unwrap_or(f64::NAN),
                s["regret"].as_f64().unwrap_or(f64::NAN),
                100.0 * s["hypervolume"].as_f64().unwrap_or(f64::NAN),
            );
        }
        println!(
            "{:.1} s of real time; results in {}",
            results.wall_s,
            out.display()
        );
    }
    write_after_run(&out);
    Ok(())
}
