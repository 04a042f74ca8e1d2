//! The report of a strategy comparison on a tabular benchmark: the settings,
//! each strategy's result over its seeds, the best-so-far curves, how each
//! strategy compares with random search, and how the reward's exponents move
//! the table's best cell.

use std::path::{Path, PathBuf};

use records::stats::{mean, mean_difference, percentile, std_dev};
use records::{StrategyBench, StrategyRuns};

use crate::ReportError;
use crate::cells::{run_name, saved};
use crate::document::Document;
use crate::plots::{self, RewardSensitivity, StrategyCurves};
use crate::run::StrategyBenchRun;

pub(crate) fn strategy_bench_document(
    run: &StrategyBenchRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let b = &run.results;
    let mut doc = Document::new(format!("Strategies on {}: {}", b.table, run_name(&run.dir)));
    let runs = b.strategies.first().map_or(0, |s| s.runs.len());
    doc.paragraph(format!(
        "Each strategy searched {runs} times (seeds {} to {}) until {:.0} simulated seconds \
         ({:.1} h) of the table's recorded training time were spent. The search's signal is one \
         training seed's validation accuracy after 200 epochs, drawn per trial; its reward is \
         A·(T/T₀)^w·(P/P₀)^v with w = {}, v = {} (T training time, P parameters, relative to \
         the benchmark's ResNet cell). A search returns the cell with the highest reward it \
         observed; its quality is the cell's mean accuracy over the table's seeds. The table's \
         best cell by that reward is {} at {:.2}%. All runs took {:.1} s of real time.",
        b.seed,
        b.seed + runs.saturating_sub(1) as u64,
        b.budget_s,
        b.budget_s / 3600.0,
        b.w,
        b.v,
        b.optimum.cell,
        b.optimum.accuracy,
        b.wall_s,
    ));
    doc.heading("Results");
    doc.table(
        &[
            "strategy",
            "runs",
            "cells evaluated",
            "accuracy returned (mean ± sd)",
            "5th–95th percentile",
            "regret (mean / median)",
            "found the best",
            "hypervolume",
        ],
        b.strategies.iter().map(|s| result_row(b, s)).collect(),
    );
    doc.paragraph(
        "Regret: the best cell's reward minus the returned cell's, ×100 (with w = v = 0, \
         accuracy points). Hypervolume: of the evaluated cells' (mean accuracy, training time, \
         parameters), as a share of the whole table's front, in a box from 0% accuracy and 1.1× \
         the table's longest training time and largest network.",
    );
    if let Some(comparisons) = against_random(b) {
        doc.heading("Against random search");
        doc.table(
            &[
                "strategy",
                "regret difference (random − it)",
                "standard error",
                "t",
            ],
            comparisons,
        );
        doc.paragraph(
            "Welch's comparison of mean regret over the seeds: a positive difference means \
             lower regret than random search; |t| above 2 is unlikely to be seed luck.",
        );
    }
    let curves = plots::save(&StrategyCurves { bench: b }, dir)?;
    doc.plot(saved(curves, files));
    doc.heading("How the reward's exponents move the best cell");
    doc.paragraph(
        "The table's reward-best cell (by mean accuracy) as the exponents grow from 0 (accuracy \
         alone) to their full values: both together, w alone and v alone. A cell that trains in \
         a fifth of the time gains a factor 5^−w in reward and one with a tenth of the \
         parameters 10^−v: at the paper's w = −0.07 and v = −0.05 that is 12% each, more than \
         the accuracy between most of this table's small cells and its best.",
    );
    let sweep = plots::save(&RewardSensitivity { bench: b }, dir)?;
    doc.plot(saved(sweep, files));
    doc.table(
        &[
            "w",
            "v",
            "reward-best cell",
            "accuracy",
            "training s",
            "params (M)",
        ],
        b.sensitivity
            .iter()
            .filter(|p| p.varied == "w and v" && (p.share * 4.0).fract() == 0.0)
            .map(|p| {
                vec![
                    format!("{:.4}", p.w),
                    format!("{:.4}", p.v),
                    p.best.cell.clone(),
                    format!("{:.2}%", p.best.accuracy),
                    format!("{:.0}", p.best.train_time_s),
                    format!("{:.3}", p.best.params_m),
                ]
            })
            .collect(),
    );
    Ok(doc)
}

fn result_row(b: &StrategyBench, s: &StrategyRuns) -> Vec<String> {
    let accuracy = s.each(|r| r.found.as_ref().map(|f| f.accuracy));
    let regret = s.each(|r| r.regret);
    let optimum = s
        .runs
        .iter()
        .filter(|r| r.found.as_ref().is_some_and(|f| f.cell == b.optimum.cell))
        .count();
    vec![
        s.strategy.clone(),
        s.runs.len().to_string(),
        format!("{:.1}", mean(&s.each(|r| Some(r.evaluations as f64)))),
        format!("{:.2} ± {:.2}%", mean(&accuracy), std_dev(&accuracy)),
        format!(
            "{:.2}–{:.2}%",
            percentile(&accuracy, 0.05),
            percentile(&accuracy, 0.95)
        ),
        format!("{:.2} / {:.2}", mean(&regret), percentile(&regret, 0.5)),
        format!("{}/{}", optimum, s.runs.len()),
        format!("{:.1}%", 100.0 * mean(&s.each(|r| Some(r.hypervolume)))),
    ]
}

/// Each strategy's mean regret against random search's, when random search ran.
fn against_random(b: &StrategyBench) -> Option<Vec<Vec<String>>> {
    let random = b.strategies.iter().find(|s| s.strategy == "random")?;
    let rows: Vec<Vec<String>> = b
        .strategies
        .iter()
        .filter(|s| s.strategy != "random")
        .map(|s| {
            let (d, se) = mean_difference(&random.each(|r| r.regret), &s.each(|r| r.regret));
            vec![
                s.strategy.clone(),
                format!("{d:.3}"),
                format!("{se:.3}"),
                format!("{:.1}", d / se),
            ]
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}
