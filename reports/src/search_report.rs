//! The report of a search: the best architecture, accuracy against step time and
//! parameters with their Pareto fronts, the search's progress, the reference
//! networks, and every trial as a table.

use std::path::{Path, PathBuf};

use records::{Rung, Trial, TrialStatus};
use serde_json::Value;

use crate::ReportError;
use crate::cells::{TRIAL_HEADER, ms, pct, run_name, saved, text, trial_row};
use crate::document::Document;
use crate::format::thousands;
use crate::plots::{
    self, HypervolumeProgress, SearchProgress, StageLayout, TradeOff, hypervolume_so_far,
};
use crate::run::SearchRun;
use crate::table::{self, ACC_TIME, ACC_TIME_PARAMS, front_trials};
use records::pareto::Goal;

/// Trials on the front of `goals`, by ascending step time.
fn front_rows(trials: &[Trial], goals: &[Goal]) -> Vec<Vec<String>> {
    front_trials(trials, goals)
        .into_iter()
        .map(trial_row)
        .collect()
}

pub(crate) fn search_document(
    run: &SearchRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let mut doc = Document::new(format!("Search report: {}", run_name(&run.dir)));
    doc.paragraph(settings(run));
    let count = |s: TrialStatus| run.trials.iter().filter(|t| t.status == s).count();
    doc.paragraph(format!(
        "{} candidate{}: {} trained, {} skipped (over the memory cap), {} infeasible (over a \
         limit, not trained), {} failed.",
        run.trials.len(),
        if run.trials.len() == 1 { "" } else { "s" },
        count(TrialStatus::Done),
        count(TrialStatus::Skipped),
        count(TrialStatus::Infeasible),
        count(TrialStatus::Failed)
    ));
    best_section(run, &mut doc, dir, files)?;
    trade_off_sections(run, &mut doc, dir, files)?;
    progress_section(run, &mut doc, dir, files)?;
    halving_section(run, &mut doc);
    references_and_failures(run, &mut doc);
    tables(run, &mut doc, dir, files)?;
    Ok(doc)
}

/// What was searched and how candidates were measured and rewarded.
fn settings(run: &SearchRun) -> String {
    let timing = |k: &str| text(run.setting(&format!("/evaluator/timing/{k}")));
    let reward = |k: &str| text(run.setting(&format!("/evaluator/reward/{k}")));
    format!(
        "Space {}, strategy {}, budget {} trials, proxy data {}, seed {}. Step time: median of {} \
         training steps at batch {}, {} px. Reward A·(S/S₀)^w·(P/P₀)^v with w = {}, v = {}, \
         normalised by {} (S₀ = {} ms, P₀ = {} parameters).",
        text(run.setting("/space/name")),
        text(run.setting("/strategy")),
        text(run.setting("/budget")),
        run.setting("/data")
            .and_then(Value::as_str)
            .unwrap_or("the embedded subset"),
        text(run.setting("/seed")),
        timing("steps"),
        timing("batch"),
        timing("size"),
        reward("w"),
        reward("v"),
        text(run.setting("/reference")),
        run.setting("/evaluator/reward/reference_step_ms")
            .and_then(Value::as_f64)
            .map_or("-".into(), |v| format!("{v:.0}")),
        run.setting("/evaluator/reward/reference_params")
            .and_then(Value::as_u64)
            .map_or("-".into(), thousands),
    )
}

fn best_section(
    run: &SearchRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    doc.heading("Best architecture");
    let Some(t) = run.best() else {
        doc.paragraph("No trial has finished yet.");
        return Ok(());
    };
    doc.paragraph(format!(
        "Trial #{}: reward {:.4}, proxy accuracy {}, step time {} ms, {} parameters, {:.2} GMACs \
         (search export {} {} writes it as a spec).",
        t.id,
        t.reward.unwrap_or(0.0),
        pct(t.accuracy),
        ms(t.step_median()),
        thousands(t.params),
        t.macs as f64 / 1e9,
        run.dir.display(),
        t.id
    ));
    doc.code(t.spec.blocks().join("\n"));
    let layout = StageLayout {
        name: "best_layout".into(),
        title: format!("Best architecture, trial #{} ({})", t.id, t.spec.name),
        spec: &t.spec,
    };
    doc.plot(saved(plots::save(&layout, dir)?, files));
    Ok(())
}

/// Accuracy against step time and against parameters, each with its front.
fn trade_off_sections(
    run: &SearchRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let best = run.best().map(|t| t.id);
    doc.heading("Accuracy vs training step time");
    let by_time = TradeOff {
        name: "accuracy_vs_step_time".into(),
        title: "Accuracy vs training step time".into(),
        x_desc: format!(
            "training step time (ms, median; batch {}, {} px)",
            text(run.setting("/evaluator/timing/batch")),
            text(run.setting("/evaluator/timing/size"))
        ),
        x_of: Trial::step_median,
        trials: &run.trials,
        references: &run.references,
        best,
    };
    doc.plot(saved(plots::save(&by_time, dir)?, files));
    doc.paragraph("The Pareto front (no other trial is both more accurate and faster to train):");
    doc.table(&TRIAL_HEADER, front_rows(&run.trials, &ACC_TIME));

    doc.heading("Accuracy vs parameters");
    let by_params = TradeOff {
        name: "accuracy_vs_params".into(),
        title: "Accuracy vs parameters".into(),
        x_desc: "parameters (millions)".into(),
        x_of: |t| Some(t.params as f64 / 1e6),
        trials: &run.trials,
        references: &run.references,
        best,
    };
    doc.plot(saved(plots::save(&by_params, dir)?, files));
    doc.paragraph("The three-objective Pareto set (accuracy up, step time and parameters down):");
    doc.table(&TRIAL_HEADER, front_rows(&run.trials, &ACC_TIME_PARAMS));
    Ok(())
}

fn progress_section(
    run: &SearchRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    doc.heading("Search progress");
    let progress = SearchProgress {
        trials: &run.trials,
    };
    doc.plot(saved(plots::save(&progress, dir)?, files));
    let reference = (
        run.setting("/evaluator/reward/reference_step_ms")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN),
        run.setting("/evaluator/reward/reference_params")
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN),
    );
    let volume = HypervolumeProgress {
        trials: &run.trials,
        reference,
    };
    doc.plot(saved(plots::save(&volume, dir)?, files));
    if let Some(&(n, hv)) = hypervolume_so_far(&run.trials, reference).last() {
        doc.paragraph(format!(
            "After {n:.0} candidates the front dominates {:.2}% of the box from (0% accuracy, \
             2 S₀, 4 P₀) to (100%, 0 ms, 0 parameters), S₀ and P₀ being the reference \
             network's step time and parameters; each candidate counts with its accuracy at \
             the last rung it reached.",
            hv * 100.0
        ));
    }
    // As the search names its best: in successive halving, those that reached
    // the most rungs first (a reward after less training is not comparable).
    let mut ranked: Vec<&Trial> = run.trials.iter().filter(|t| t.reward.is_some()).collect();
    ranked.sort_by(|a, b| records::trial::standing(b, a));
    let rungs = rungs_of(run);
    let top = ranked.iter().take(10);
    if rungs > 1 {
        doc.paragraph("Top trials, those that reached the most rungs first, then by reward:");
        let mut header = TRIAL_HEADER.to_vec();
        header.insert(1, "rungs");
        let rows = top
            .map(|t| {
                let mut row = trial_row(t);
                row.insert(1, format!("{}/{rungs}", t.rungs.len()));
                row
            })
            .collect();
        doc.table(&header, rows);
    } else {
        doc.paragraph("Top trials by reward:");
        doc.table(&TRIAL_HEADER, top.map(|t| trial_row(t)).collect());
    }
    Ok(())
}

/// The search's rungs of successive halving (its proxy's progressive stages).
fn rungs_of(run: &SearchRun) -> usize {
    run.setting("/evaluator/proxy/progressive/stages")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize
}

/// Successive halving: how many candidates reached each rung and what stopping
/// the others saved.
fn halving_section(run: &SearchRun, doc: &mut Document) {
    let rungs = rungs_of(run);
    if rungs < 2 {
        return;
    }
    doc.heading("Successive halving");
    let eta = text(run.setting("/eta"));
    let savings = records::trial::savings(&run.trials, rungs);
    let rows = (0..rungs)
        .map(|r| {
            let at: Vec<&Rung> = run.trials.iter().filter_map(|t| t.rungs.get(r)).collect();
            let best = at.iter().map(|x| x.accuracy).fold(f64::NAN, f64::max);
            vec![
                (r + 1).to_string(),
                at.first().map_or("-".into(), |x| format!("{} px", x.size)),
                at.first().map_or("-".into(), |x| x.epochs.to_string()),
                savings.reached[r].to_string(),
                if at.is_empty() {
                    "-".into()
                } else {
                    format!("{:.1}", savings.median_s[r])
                },
                pct((!best.is_nan()).then_some(best)),
            ]
        })
        .collect();
    doc.paragraph(format!(
        "The proxy's {rungs} progressive stages are the rungs; the top 1/{eta} of the candidates \
         that finished a rung trained the next from their checkpoint. Strategies learn from the \
         first rung, which every trained candidate reaches."
    ));
    doc.table(
        &[
            "rung",
            "size",
            "epochs done",
            "candidates",
            "median s",
            "best accuracy",
        ],
        rows,
    );
    if savings.full_s > 0.0 {
        doc.paragraph(format!(
            "Proxy training took {:.0} s; training every candidate through every rung would have \
             taken about {:.0} s ({:.0}% saved; missing rungs priced at the median of those that \
             trained them).",
            savings.spent_s,
            savings.full_s,
            100.0 * (1.0 - savings.spent_s / savings.full_s)
        ));
    }
}

fn references_and_failures(run: &SearchRun, doc: &mut Document) {
    if !run.references.is_empty() {
        doc.heading("Reference networks");
        doc.paragraph("Evaluated the same way as the candidates (same timing, same proxy training); not part of the search.");
        doc.table(
            &TRIAL_HEADER,
            run.references.iter().map(trial_row).collect(),
        );
    }
    let unfinished: Vec<Vec<String>> = run
        .trials
        .iter()
        .filter(|t| !t.is_done())
        .map(|t| {
            vec![
                t.label(),
                t.status.name().to_string(),
                t.error.clone().unwrap_or_default(),
                t.spec.name.clone(),
            ]
        })
        .collect();
    if !unfinished.is_empty() {
        doc.heading("Failed, skipped and infeasible trials");
        doc.table(&["trial", "status", "reason", "network"], unfinished);
    }
}

/// Every trial (references last) with its Pareto ranks, as CSV and Parquet.
fn tables(
    run: &SearchRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let mut all: Vec<Trial> = run.trials.clone();
    all.extend(run.references.iter().cloned());
    let mut frame = table::trials_frame(&all).map_err(|e| ReportError::write(dir, e))?;
    table::write_csv_and_parquet(&mut frame, dir, "trials")?;
    files.push(dir.join("trials.csv"));
    files.push(dir.join("trials.parquet"));
    doc.heading("Files");
    doc.paragraph(
        "trials.csv and trials.parquet: every trial (references last) with its Pareto ranks; \
         the plots as PNG and SVG; summary.md.",
    );
    Ok(())
}
