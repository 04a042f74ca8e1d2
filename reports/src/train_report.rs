//! The report of a training run: its settings and result, the training curves
//! with the progressive-learning stages, every epoch, and the architecture.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ReportError;
use crate::cells::{pct, run_name, saved, text};
use crate::document::Document;
use crate::format::thousands;
use crate::plots::{self, StageLayout, TrainingCurves};
use crate::run::TrainRun;
use crate::table;

pub(crate) fn train_document(
    run: &TrainRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let mut doc = Document::new(format!("Training report: {}", run_name(&run.dir)));
    doc.paragraph(settings(run));
    results(run, &mut doc);
    curves_section(run, &mut doc, dir, files)?;
    architecture_section(run, &mut doc, dir, files)?;
    let mut frame = table::epochs_frame(&run.epochs).map_err(|e| ReportError::write(dir, e))?;
    table::write_csv_and_parquet(&mut frame, dir, "epochs")?;
    files.push(dir.join("epochs.csv"));
    files.push(dir.join("epochs.parquet"));
    Ok(doc)
}

fn network_name(run: &TrainRun) -> String {
    run.spec
        .as_ref()
        .map_or("?".to_string(), |s| s.name.clone())
}

/// The network, the data and how it was trained.
fn settings(run: &TrainRun) -> String {
    let name = network_name(run);
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
    format!(
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
    )
}

/// The last epoch's accuracy, the best one, speed, and a divergence if any.
fn results(run: &TrainRun, doc: &mut Document) {
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
}

/// The curves with the stages marked, and every epoch as a row.
fn curves_section(
    run: &TrainRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let name = network_name(run);
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
                    e.stage.stage.to_string(),
                    e.stage.size.to_string(),
                    format!("{:.3}", e.stage.dropout),
                    format!("{:.1}", e.stage.randaug),
                    format!("{:.3}", e.stage.mixup),
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
    Ok(())
}

fn architecture_section(
    run: &TrainRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
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
    Ok(())
}
