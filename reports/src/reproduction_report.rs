//! The report of a `search reproduce` directory: the Table 3 and Table 2 analogs
//! beside the paper's figures, the search's Pareto plot with the reference
//! networks, the found network against EfficientNetV2-S, and its family.

use std::path::{Path, PathBuf};

use serde_json::Value;
use space::ArchSpec;

use crate::ReportError;
use crate::cells::{TRIAL_HEADER, ms, pct, saved, text, trial_row};
use crate::document::Document;
use crate::format::{bytes, si, thousands};
use crate::plots::{self, StageLayout, TradeOff};
use crate::run::{ReproductionRun, SearchRun};
use crate::stages::{compare_stages, comparison_header};
use records::{PointStatus, ThroughputRecord, Trial};

/// Paper Table 3 (EfficientNet-B4 on ImageNet): params (M), FLOPs (B), top-1,
/// TPUv3 and V100 images/s.
const PAPER_TABLE3: [(&str, f64, f64, &str, u32, u32); 4] = [
    ("no fused", 19.3, 4.5, "82.8%", 262, 155),
    ("fused 1-3", 20.0, 7.5, "83.1%", 362, 216),
    ("fused 1-5", 43.4, 21.3, "83.1%", 327, 223),
    ("fused 1-7", 132.0, 34.4, "81.7%", 254, 206),
];

/// How many leading stages are Fused-MBConv.
fn fused_count(spec: &ArchSpec) -> usize {
    spec.stages
        .iter()
        .take_while(|s| s.kind == space::BlockKind::FusedMbConv)
        .count()
}

/// [`fused_count`] as the paper labels it.
fn fused_label(spec: &ArchSpec) -> String {
    match fused_count(spec) {
        0 => "none".into(),
        1 => "1".into(),
        n => format!("1-{n}"),
    }
}

/// The backbone a Table 3 variant was made from (its name less the variant).
fn backbone_of(name: &str) -> &str {
    name.strip_suffix("-no-fused")
        .or_else(|| name.rsplit_once("-fused-").map(|(b, _)| b))
        .unwrap_or(name)
}

fn step_batch(search: Option<&SearchRun>) -> Option<f64> {
    search?
        .setting("/evaluator/timing/batch")
        .and_then(Value::as_f64)
}

/// One Table 3 variant: its costs, its step time against its unfused backbone's,
/// images/s and proxy accuracy.
fn fused_row(run: &ReproductionRun, t: &Trial, batch: Option<f64>) -> Vec<String> {
    let base = run.fused.iter().find(|b| {
        backbone_of(&b.spec.name) == backbone_of(&t.spec.name) && fused_label(&b.spec) == "none"
    });
    let ratio = match (t.step_median(), base.and_then(Trial::step_median)) {
        (Some(s), Some(b)) => format!("{:.2}×", s / b),
        _ => "-".into(),
    };
    let images = match (t.step_median(), batch) {
        (Some(s), Some(b)) => format!("{:.1}", b * 1000.0 / s),
        _ => "-".into(),
    };
    vec![
        backbone_of(&t.spec.name).to_string(),
        fused_label(&t.spec),
        thousands(t.params),
        si(t.macs),
        ms(t.step_median()),
        ratio,
        images,
        pct(t.accuracy),
        if t.is_done() {
            String::new()
        } else {
            format!(
                "{}: {}",
                t.status.name(),
                t.error.clone().unwrap_or_default()
            )
        },
    ]
}

fn fused_section(run: &ReproductionRun, doc: &mut Document) {
    let search = run.search.as_ref();
    let timing = |k: &str| text(search.and_then(|s| s.setting(&format!("/evaluator/timing/{k}"))));
    doc.heading("Table 3 analog: Fused-MBConv in the early stages");
    doc.paragraph(format!(
        "Each backbone with the MBConv blocks of its first stages replaced by Fused-MBConv \
         (same expansion, kernel and stride; SE dropped there, as in EfficientNetV2), \
         evaluated exactly like a search candidate: step time is the median training step \
         at batch {}, {} px on this machine; accuracy is the search's proxy training on its \
         proxy data; MACs at {} px.",
        timing("batch"),
        timing("size"),
        timing("size"),
    ));
    let batch = step_batch(search);
    // The paper's order: backbone as planned, then by the number of fused stages.
    let backbones: Vec<&str> = run
        .plan
        .get("backbones")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|b| b.get("name")?.as_str()).collect())
        .unwrap_or_default();
    let mut fused: Vec<&Trial> = run.fused.iter().collect();
    fused.sort_by_key(|t| {
        let backbone = backbone_of(&t.spec.name);
        (
            backbones.iter().position(|b| *b == backbone),
            fused_count(&t.spec),
        )
    });
    let rows = fused
        .into_iter()
        .map(|t| fused_row(run, t, batch))
        .collect();
    doc.table(
        &[
            "backbone",
            "fused stages",
            "params",
            "MACs",
            "step ms",
            "step vs none",
            "images/s",
            "proxy accuracy",
            "note",
        ],
        rows,
    );
    doc.paragraph("The paper's Table 3 (EfficientNet-B4, ImageNet, FLOPs at 380 px):");
    doc.table(
        &[
            "fused stages",
            "params (M)",
            "FLOPs (B)",
            "top-1",
            "TPUv3 images/s/core",
            "V100 images/s",
        ],
        PAPER_TABLE3
            .iter()
            .map(|(label, p, f, acc, tpu, gpu)| {
                vec![
                    label.to_string(),
                    format!("{p:.1}"),
                    format!("{f:.1}"),
                    acc.to_string(),
                    tpu.to_string(),
                    gpu.to_string(),
                ]
            })
            .collect(),
    );
}

fn throughput_cell(point: Option<&ThroughputRecord>) -> String {
    let Some(p) = point else {
        return "-".into();
    };
    match p.status {
        PointStatus::Done => format!(
            "{:.1} images/s ({} ms; {})",
            p.images_per_s.unwrap_or(0.0),
            ms(p.step_ms.as_ref().map(|s| s.median)),
            bytes(p.memory_bytes)
        ),
        PointStatus::OverCap => format!("over the cap ({})", bytes(p.memory_bytes)),
        PointStatus::Failed => format!("failed: {}", p.error.clone().unwrap_or_default()),
    }
}

fn throughput_section(run: &ReproductionRun, doc: &mut Document) {
    doc.heading("Table 2 analog: throughput against image size and batch");
    let plan = |p: &str| run.plan.pointer(&format!("/throughput/{p}"));
    let cap = plan("memory_cap_bytes").and_then(Value::as_u64);
    doc.paragraph(format!(
        "{} training steps (median of {}), images per second on this machine, with the \
         estimated training memory of each step. A step whose estimate is over the cap \
         of {} is recorded, not run: the paper's OOM. Paper (EfficientNet-B6, TPUv3 \
         images/s/core): 512 px 42 at batch 32 and OOM at 128; 380 px 76 and 93.",
        text(plan("network/name")),
        text(plan("steps")),
        cap.map_or("-".into(), bytes),
    ));
    let numbers = |p: &str| -> Vec<u64> {
        plan(p)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    };
    let (sizes, batches) = (numbers("sizes"), numbers("batches"));
    let mut header = vec!["image size".to_string()];
    header.extend(batches.iter().map(|b| format!("batch {b}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows = sizes
        .iter()
        .map(|&size| {
            let mut row = vec![format!("{size} px")];
            row.extend(batches.iter().map(|&batch| {
                throughput_cell(
                    run.throughput
                        .iter()
                        .find(|p| (p.size as u64, p.batch as u64) == (size, batch)),
                )
            }));
            row
        })
        .collect();
    doc.table(&header, rows);
}

fn search_section(
    run: &ReproductionRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    doc.heading("The search");
    let Some(search) = &run.search else {
        doc.paragraph("The search has not started yet.");
        return Ok(());
    };
    let done = search.trials.iter().filter(|t| t.is_done()).count();
    doc.paragraph(format!(
        "Space {}, strategy {}, {} of {} trials done, reward A·(S/S₀)^{}·(P/P₀)^{} \
         normalised by {}. Its own report, with every trial: search/report/index.html.",
        text(search.setting("/space/name")),
        text(search.setting("/strategy")),
        done,
        text(search.setting("/budget")),
        text(search.setting("/evaluator/reward/w")),
        text(search.setting("/evaluator/reward/v")),
        text(search.setting("/reference")),
    ));
    let best = search.best();
    let plot = TradeOff {
        name: "search_accuracy_vs_step_time".into(),
        title: "Accuracy vs training step time: searched and reference networks".into(),
        x_desc: format!(
            "training step time (ms, median; batch {}, {} px)",
            text(search.setting("/evaluator/timing/batch")),
            text(search.setting("/evaluator/timing/size"))
        ),
        x_of: Trial::step_median,
        trials: &search.trials,
        references: &search.references,
        best: best.map(|t| t.id),
    };
    doc.plot(saved(plots::save(&plot, dir)?, files));
    let mut rows: Vec<Vec<String>> = best.into_iter().map(trial_row).collect();
    rows.extend(search.references.iter().map(trial_row));
    doc.paragraph("The best trial by reward and the reference networks, evaluated the same way:");
    doc.table(&TRIAL_HEADER, rows);
    Ok(())
}

fn comparison_section(
    run: &ReproductionRun,
    doc: &mut Document,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<(), ReportError> {
    let other: Option<ArchSpec> = run
        .plan
        .get("compare_with")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let best = run.search.as_ref().and_then(SearchRun::best);
    let (Some(other), Some(best)) = (other, best) else {
        return Ok(());
    };
    doc.heading(format!("The found network against {}", other.name));
    let found = &best.spec;
    let cost = |s: &ArchSpec| {
        space::analyze(s, 224).map_or("-".into(), |a| {
            format!(
                "{} parameters, {} MACs at 224 px",
                thousands(a.params),
                si(a.macs)
            )
        })
    };
    doc.paragraph(format!(
        "Trial #{} ({}): {}. {}: {}. Both with 1000 classes.",
        best.id,
        found.name,
        cost(found),
        other.name,
        cost(&other)
    ));
    let header = comparison_header("found", &other.name);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    doc.table(&header, compare_stages(found, &other));
    doc.code(found.blocks().join("\n"));
    let layout = StageLayout {
        name: "found_layout".into(),
        title: format!("The found network, trial #{}", best.id),
        spec: found,
    };
    doc.plot(saved(plots::save(&layout, dir)?, files));
    Ok(())
}

fn family_section(run: &ReproductionRun, doc: &mut Document) {
    if run.family.is_empty() {
        return;
    }
    doc.heading("The family: the found network scaled to S, M and L");
    doc.paragraph(
        "With the scaler's V2 family settings (the ratios that take EfficientNetV2-S to the \
         official M and L: depth ×1.425 and ×1.975, width ×1.15 and ×1.47, a wider last stage). \
         EfficientNetV2-S/M/L have 21.5 M, 54.1 M and 118.5 M parameters. MACs at each \
         member's evaluation size.",
    );
    let rows = run
        .family
        .iter()
        .map(|m| {
            let a = space::analyze(&m.spec, m.spec.eval_size).ok();
            vec![
                m.label.clone(),
                m.spec.name.clone(),
                a.as_ref().map_or("-".into(), |a| thousands(a.params)),
                a.as_ref().map_or("-".into(), |a| si(a.macs)),
                m.spec.train_size.to_string(),
                m.spec.eval_size.to_string(),
                m.spec.num_blocks().to_string(),
            ]
        })
        .collect();
    doc.table(
        &[
            "member", "network", "params", "MACs", "train px", "eval px", "layers",
        ],
        rows,
    );
}

pub(crate) fn reproduction_document(
    run: &ReproductionRun,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Document, ReportError> {
    let quick = run.plan.get("quick").and_then(Value::as_bool) == Some(true);
    let name = run.dir.file_name().map_or_else(
        || run.dir.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let mut doc = Document::new(format!("Reproducing EfficientNetV2: {name}"));
    doc.paragraph(if quick {
        "The quick variant: miniatures of every network (a quarter of the channels, at most \
         two layers per stage), tiny images and a short search. It shows that every part \
         runs; its numbers say nothing about the paper."
    } else {
        "The paper's experiments on this machine's CPU with proxy data, so absolute numbers \
         differ from the paper's (TPU and GPU, ImageNet); what can be compared is the shape: \
         which variants train faster, and where the search lands."
    });
    fused_section(run, &mut doc);
    throughput_section(run, &mut doc);
    search_section(run, &mut doc, dir, files)?;
    comparison_section(run, &mut doc, dir, files)?;
    family_section(run, &mut doc);
    doc.heading("Files");
    doc.paragraph(
        "reproduction.json (the plan), throughput.jsonl (Table 2), fused.jsonl (Table 3, \
         one trial record per line), search/ (the search's run directory and report), \
         family.json (the scaled specs).",
    );
    Ok(doc)
}
