//! The cells and rows every report's tables share, so a trial or a number reads the
//! same in each.

use std::path::{Path, PathBuf};

use records::Trial;
use serde_json::Value;

use crate::format::thousands;
use crate::plots::SavedPlot;

pub fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// Milliseconds: whole ones, with one decimal below 10 ms.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v < 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.0}"),
    }
}

pub fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    }
}

pub fn trial_row(t: &Trial) -> Vec<String> {
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

pub const TRIAL_HEADER: [&str; 7] = [
    "trial", "accuracy", "step ms", "params", "GMACs", "reward", "network",
];

/// Records a saved plot's files and hands it on to the document.
pub fn saved(plot: SavedPlot, files: &mut Vec<PathBuf>) -> SavedPlot {
    files.push(plot.png.clone());
    files.push(plot.svg.clone());
    plot
}

/// The directory's own name, for titles.
pub fn run_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
