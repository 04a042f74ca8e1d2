//! The report of one run, written to `<run>/report/`: `index.html` (self-contained),
//! `summary.md`, the plots as PNG and SVG, and the run's table as CSV and Parquet.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::document::Document;
pub use crate::format::thousands;
use crate::pareto::Goal;
use crate::plots::{self, SearchProgress, StageLayout, TradeOff, TrainingCurves};
use crate::reproduction_report::reproduction_document;
use crate::run::{Run, SearchRun, TrainRun, TrialRecord};
use crate::table::{self, ACC_TIME, ACC_TIME_PARAMS, pareto_ranks};
use crate::{ReportError, html, markdown};

/// What [`write_report`] wrote.
#[derive(Debug)]
pub struct Report {
    pub dir: PathBuf,
    pub html: PathBuf,
    pub markdown: PathBuf,
    /// Every file written, the two above included.
    pub files: Vec<PathBuf>,
}

/// Reads the run in `run_dir` and writes its report to `run_dir/report/`,
/// replacing an earlier one.
pub fn write_report(run_dir: &Path) -> Result<Report, ReportError> {
    let run = Run::load(run_dir)?;
    let dir = run.dir().join("report");
    fs::create_dir_all(&dir).map_err(|e| ReportError::write(&dir, e))?;
    let mut files = Vec::new();
    let doc = match &run {
        Run::Search(r) => search_document(r, &dir, &mut files)?,
        Run::Train(r) => train_document(r, &dir, &mut files)?,
        Run::Reproduction(r) => reproduction_document(r, &dir, &mut files)?,
    };
    let html_path = dir.join("index.html");
    fs::write(&html_path, html::render(&doc)).map_err(|e| ReportError::write(&html_path, e))?;
    let md_path = dir.join("summary.md");
    fs::write(&md_path, markdown::render(&doc)).map_err(|e| ReportError::write(&md_path, e))?;
    files.push(html_path.clone());
    files.push(md_path.clone());
    Ok(Report {
        dir,
        html: html_path,
        markdown: md_path,
        files,
    })
}

fn run_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

pub(crate) fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// Milliseconds: whole ones, with one decimal below 10 ms.
pub(crate) fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v < 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.0}"),
    }
}

pub(crate) fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    }
}

pub(crate) fn trial_row(t: &TrialRecord) -> Vec<String> {
    vec![
        t.label(),
        pct(t.accuracy),
        ms(t.step_median()),
        thousands(t.params),
        format!("{:.2}", t.macs as f64 / 1e9),
        t.reward.map_or("-".into(), |r| format!("{r:.4}")),
        t.spec.name.clone(),
    ]
}

pub(crate) const TRIAL_HEADER: [&str; 7] = [
    "trial", "accuracy", "step ms", "params", "GMACs", "reward", "network",
];

/// Trials on the front of `goals`, by ascending step time.
fn front_rows(trials: &[TrialRecord], goals: &[Goal]) -> Vec<Vec<String>> {
    let ranks = pareto_ranks(trials, goals);
    let mut on: Vec<&TrialRecord> = trials
        .iter()
        .zip(&ranks)
        .filter(|(_, r)| **r == Some(0))
        .map(|(t, _)| t)
        .collect();
    on.sort_by(|a, b| {
        a.step_median()
            .unwrap_or(f64::MAX)
            .total_cmp(&b.step_median().unwrap_or(f64::MAX))
    });
    on.into_iter().map(trial_row).collect()
}

fn search_document(
    run: &SearchRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let mut doc = Document::new(format!("Search report: {}", run_name(&run.dir)));
    let timing = |k: &str| text(run.setting(&format!("/evaluator/timing/{k}")));
    let reward = |k: &str| text(run.setting(&format!("/evaluator/reward/{k}")));
    let step_desc = format!(
        "training step time (ms, median; batch {}, {} px)",
        timing("batch"),
        timing("size")
    );
    doc.paragraph(format!(
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
    ));
    let count = |s: &str| run.trials.iter().filter(|t| t.status == s).count();
    doc.paragraph(format!(
        "{} trials: {} done, {} skipped (over the memory cap), {} failed.",
        run.trials.len(),
        count("done"),
        count("skipped"),
        count("failed")
    ));

    let best = run.best();
    doc.heading("Best architecture");
    match best {
        Some(t) => {
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
        }
        None => doc.paragraph("No trial has finished yet."),
    }

    let best_id = best.map(|t| t.id);
    doc.heading("Accuracy vs training step time");
    let by_time = TradeOff {
        name: "accuracy_vs_step_time".into(),
        title: "Accuracy vs training step time".into(),
        x_desc: step_desc,
        x_of: TrialRecord::step_median,
        trials: &run.trials,
        references: &run.references,
        best: best_id,
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
        best: best_id,
    };
    doc.plot(saved(plots::save(&by_params, dir)?, files));
    doc.paragraph("The three-objective Pareto set (accuracy up, step time and parameters down):");
    doc.table(&TRIAL_HEADER, front_rows(&run.trials, &ACC_TIME_PARAMS));

    doc.heading("Search progress");
    let progress = SearchProgress {
        trials: &run.trials,
    };
    doc.plot(saved(plots::save(&progress, dir)?, files));
    let mut ranked: Vec<&TrialRecord> = run.trials.iter().filter(|t| t.reward.is_some()).collect();
    ranked.sort_by(|a, b| b.reward.unwrap_or(0.0).total_cmp(&a.reward.unwrap_or(0.0)));
    doc.paragraph("Top trials by reward:");
    doc.table(
        &TRIAL_HEADER,
        ranked.iter().take(10).map(|t| trial_row(t)).collect(),
    );

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
                t.status.clone(),
                t.error.clone().unwrap_or_default(),
                t.spec.name.clone(),
            ]
        })
        .collect();
    if !unfinished.is_empty() {
        doc.heading("Failed and skipped trials");
        doc.table(&["trial", "status", "reason", "network"], unfinished);
    }

    let mut all: Vec<TrialRecord> = run.trials.clone();
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
    Ok(doc)
}

fn train_document(
    run: &TrainRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let name = run
        .spec
        .as_ref()
        .map_or("?".to_string(), |s| s.name.clone());
    let mut doc = Document::new(format!("Training report: {}", run_name(&run.dir)));
    let setting = |p: &str| text(run.config.pointer(p));
    let params = run
        .spec
        .as_ref()
        .and_then(|s| space::analyze(s, s.train_size).ok())
        .map_or("-".into(), |a| thousands(a.params));
    let stages = run
        .config
        .pointer("/train/progressive/stages")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    doc.paragraph(format!(
        "{name} ({params} parameters) on {}: {} of {} epochs, batch {}, optimizer {}, {}.",
        setting("/data"),
        run.epochs.len(),
        setting("/train/epochs"),
        setting("/train/batch"),
        setting("/train/optimizer"),
        if stages > 1 {
            format!(
                "progressive learning in {stages} stages ({} → {} px)",
                text(run.config.pointer("/train/progressive/size/0")),
                text(run.config.pointer("/train/progressive/size/1"))
            )
        } else {
            format!(
                "fixed size {} px",
                text(run.config.pointer("/train/progressive/size/0"))
            )
        }
    ));
    if let Some(last) = run.epochs.last() {
        let best = run.epochs.iter().map(|e| e.val_acc).fold(0.0, f64::max);
        let seconds: f64 = run.epochs.iter().map(|e| e.epoch_s).sum();
        let images: f64 = run.epochs.iter().map(|e| e.images_per_s * e.epoch_s).sum();
        doc.paragraph(format!(
            "Last epoch: validation accuracy {}, best {}; {:.1} min of training epochs, {:.0} images/s.",
            pct(Some(last.val_acc)),
            pct(Some(best)),
            last.wall_s.max(seconds) / 60.0,
            images / seconds.max(1e-9)
        ));
    }
    if let Some(epoch) = run.diverged_at {
        doc.paragraph(format!(
            "The run diverged in epoch {epoch}: the loss became NaN or infinite and training stopped."
        ));
    }
    doc.heading("Training curves");
    let curves = TrainingCurves {
        title: format!("Training curves: {name}"),
        epochs: &run.epochs,
    };
    doc.plot(saved(plots::save(&curves, dir)?, files));
    doc.table(
        &[
            "epoch",
            "stage",
            "size",
            "dropout",
            "RandAugment",
            "mixup",
            "train loss",
            "train acc",
            "val loss",
            "val acc",
            "images/s",
            "seconds",
        ],
        run.epochs
            .iter()
            .map(|e| {
                vec![
                    e.epoch.to_string(),
                    e.stage.to_string(),
                    e.size.to_string(),
                    format!("{:.3}", e.dropout),
                    format!("{:.1}", e.randaug),
                    format!("{:.3}", e.mixup),
                    format!("{:.4}", e.train_loss),
                    pct(Some(e.train_acc)),
                    format!("{:.4}", e.val_loss),
                    pct(Some(e.val_acc)),
                    format!("{:.0}", e.images_per_s),
                    format!("{:.0}", e.epoch_s),
                ]
            })
            .collect(),
    );
    if let Some(spec) = &run.spec {
        doc.heading("Architecture");
        doc.code(spec.blocks().join("\n"));
        let layout = StageLayout {
            name: "layout".into(),
            title: format!("Architecture: {}", spec.name),
            spec,
        };
        doc.plot(saved(plots::save(&layout, dir)?, files));
    }
    let mut frame = table::epochs_frame(&run.epochs).map_err(|e| ReportError::write(dir, e))?;
    table::write_csv_and_parquet(&mut frame, dir, "epochs")?;
    files.push(dir.join("epochs.csv"));
    files.push(dir.join("epochs.parquet"));
    Ok(doc)
}

/// Records a saved plot's files and hands it on to the document.
pub(crate) fn saved(plot: plots::SavedPlot, files: &mut Vec<PathBuf>) -> plots::SavedPlot {
    files.push(plot.png.clone());
    files.push(plot.svg.clone());
    plot
}
