//! A run directory as a report sees it: a search (`config.json`, `trials.jsonl`,
//! and `references.jsonl` when reference networks were evaluated), a training
//! run (`config.json`, `metrics.jsonl`), or a reproduction of the paper
//! (`reproduction.json`, `throughput.jsonl`, `fused.jsonl`, `search/`, `family.json`). Records are read leniently: a field a
//! newer or older writer left out reads as missing, and a torn last line (a
//! process killed while appending) is ignored; a bad line elsewhere is an error.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use space::ArchSpec;

use crate::ReportError;

/// Step-time statistics of a trial, milliseconds.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StepStats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub iqr: f64,
}

/// One line of `trials.jsonl` (or `references.jsonl`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TrialRecord {
    pub id: usize,
    /// `done`, `skipped` or `failed`.
    pub status: String,
    pub spec: ArchSpec,
    #[serde(default)]
    pub key: String,
    pub accuracy: Option<f64>,
    pub step_ms: Option<StepStats>,
    #[serde(default)]
    pub params: u64,
    #[serde(default)]
    pub macs: u64,
    #[serde(default)]
    pub memory_bytes: u64,
    pub reward: Option<f64>,
    pub error: Option<String>,
    #[serde(default)]
    pub step_time_s: f64,
    #[serde(default)]
    pub train_s: f64,
    #[serde(default)]
    pub total_s: f64,
    #[serde(default)]
    pub seed: u64,
    /// The preset's name for a reference network, `None` for a searched one.
    #[serde(default)]
    pub reference: Option<String>,
}

impl TrialRecord {
    pub fn is_done(&self) -> bool {
        self.status == "done"
    }

    pub fn step_median(&self) -> Option<f64> {
        self.step_ms.as_ref().map(|s| s.median)
    }

    /// `#id`, or the preset's name for a reference network.
    pub fn label(&self) -> String {
        match &self.reference {
            Some(name) => name.clone(),
            None => format!("#{}", self.id),
        }
    }
}

/// One `"kind": "epoch"` line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    #[serde(default)]
    pub stage: usize,
    pub size: usize,
    #[serde(default)]
    pub dropout: f64,
    #[serde(default)]
    pub randaug: f64,
    #[serde(default)]
    pub mixup: f64,
    #[serde(default)]
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub val_loss: f64,
    pub val_acc: f64,
    #[serde(default)]
    pub raw_val_acc: Option<f64>,
    #[serde(default)]
    pub images_per_s: f64,
    #[serde(default)]
    pub epoch_s: f64,
    #[serde(default)]
    pub data_wait_s: f64,
    #[serde(default)]
    pub wall_s: f64,
}

pub struct SearchRun {
    pub dir: PathBuf,
    /// `config.json` as written by the search (space, strategy, evaluator, reward).
    pub config: Value,
    pub trials: Vec<TrialRecord>,
    /// Reference networks evaluated the same way, when the search asked for them.
    pub references: Vec<TrialRecord>,
}

pub struct TrainRun {
    pub dir: PathBuf,
    /// `config.json` as written by the trainer (spec, data, training settings).
    pub config: Value,
    pub spec: Option<ArchSpec>,
    pub epochs: Vec<EpochRecord>,
    /// The run stopped on a NaN or infinite loss at this epoch.
    pub diverged_at: Option<usize>,
}

/// One line of a reproduction's `throughput.jsonl` (the Table 2 analog).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ThroughputRecord {
    pub network: String,
    pub size: usize,
    pub batch: usize,
    #[serde(default)]
    pub memory_bytes: u64,
    /// `done`, `over_cap` or `failed`.
    pub status: String,
    pub step_ms: Option<StepStats>,
    pub images_per_s: Option<f64>,
    pub error: Option<String>,
}

/// One member of the found network's family (`family.json`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FamilyRecord {
    pub label: String,
    pub spec: ArchSpec,
}

/// A `search reproduce` directory: `reproduction.json` (the plan), the Table 2
/// and Table 3 analogs, the search's own run directory and the family.
pub struct ReproductionRun {
    pub dir: PathBuf,
    pub plan: Value,
    pub throughput: Vec<ThroughputRecord>,
    /// The Table 3 variants, evaluated like search trials.
    pub fused: Vec<TrialRecord>,
    /// `None` until the search phase has started.
    pub search: Option<SearchRun>,
    pub family: Vec<FamilyRecord>,
}

pub enum Run {
    Search(SearchRun),
    Train(TrainRun),
    Reproduction(ReproductionRun),
}

impl Run {
    /// Reads whichever kind of run `dir` holds.
    pub fn load(dir: &Path) -> Result<Run, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::read(dir, "no such directory"));
        }
        if dir.join(REPRODUCTION_PLAN).exists() {
            return ReproductionRun::load(dir).map(Run::Reproduction);
        }
        if dir.join("trials.jsonl").exists() || has_search_config(dir) {
            return SearchRun::load(dir).map(Run::Search);
        }
        if dir.join("metrics.jsonl").exists() {
            return TrainRun::load(dir).map(Run::Train);
        }
        Err(ReportError::NotARun(dir.to_path_buf()))
    }

    pub fn dir(&self) -> &Path {
        match self {
            Run::Search(r) => &r.dir,
            Run::Train(r) => &r.dir,
            Run::Reproduction(r) => &r.dir,
        }
    }
}

/// The file that marks a reproduction directory.
pub const REPRODUCTION_PLAN: &str = "reproduction.json";

fn has_search_config(dir: &Path) -> bool {
    read_config(dir).is_ok_and(|c| c.get("space").is_some() && c.get("strategy").is_some())
}

fn read_config(dir: &Path) -> Result<Value, ReportError> {
    read_json(&dir.join("config.json"))
}

/// A JSON file, `Null` if it does not exist.
fn read_json(path: &Path) -> Result<Value, ReportError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| ReportError::read(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Null),
        Err(e) => Err(ReportError::read(path, e)),
    }
}

/// The parsed lines of a JSONL file with their line numbers (none if the file
/// does not exist).
fn read_jsonl_values(path: &Path) -> Result<Vec<(usize, Value)>, ReportError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ReportError::read(path, e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push((i + 1, v)),
            // A torn last line: the writer was killed mid-append.
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => return Err(ReportError::read(path, format!("line {}: {e}", i + 1))),
        }
    }
    Ok(out)
}

/// The lines of `values` that `keep` picks, as records; errors name the line.
fn records<T: DeserializeOwned>(
    path: &Path,
    values: &[(usize, Value)],
    keep: impl Fn(&Value) -> bool,
) -> Result<Vec<T>, ReportError> {
    values
        .iter()
        .filter(|(_, v)| keep(v))
        .map(|(line, v)| {
            serde_json::from_value(v.clone())
                .map_err(|e| ReportError::read(path, format!("line {line}: {e}")))
        })
        .collect()
}

/// The records of a JSONL file (none if it does not exist).
fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ReportError> {
    records(path, &read_jsonl_values(path)?, |_| true)
}

impl SearchRun {
    pub fn load(dir: &Path) -> Result<SearchRun, ReportError> {
        let config = read_config(dir)?;
        let trials = read_jsonl(&dir.join("trials.jsonl"))?;
        let mut references: Vec<TrialRecord> = read_jsonl(&dir.join("references.jsonl"))?;
        for r in &mut references {
            if r.reference.is_none() {
                r.reference = Some(r.spec.name.clone());
            }
        }
        Ok(SearchRun {
            dir: dir.to_path_buf(),
            config,
            trials,
            references,
        })
    }

    /// The finished trial with the highest reward.
    pub fn best(&self) -> Option<&TrialRecord> {
        self.trials
            .iter()
            .filter(|t| t.reward.is_some_and(f64::is_finite))
            .max_by(|a, b| a.reward.unwrap_or(0.0).total_cmp(&b.reward.unwrap_or(0.0)))
    }

    /// A setting from `config.json` by JSON pointer (`/evaluator/timing/batch`).
    pub fn setting(&self, pointer: &str) -> Option<&Value> {
        self.config.pointer(pointer)
    }
}

impl TrainRun {
    pub fn load(dir: &Path) -> Result<TrainRun, ReportError> {
        let config = read_config(dir)?;
        let spec = match config.get("spec") {
            Some(v) => Some(
                serde_json::from_value(v.clone())
                    .map_err(|e| ReportError::read(dir.join("config.json"), e))?,
            ),
            None => None,
        };
        let path = dir.join("metrics.jsonl");
        // One read of the metrics serves both the epochs and the divergence mark.
        let lines = read_jsonl_values(&path)?;
        let epochs = records(&path, &lines, |v| v["kind"] == "epoch")?;
        let diverged = lines.iter().find(|(_, v)| v["kind"] == "diverged");
        Ok(TrainRun {
            dir: dir.to_path_buf(),
            config,
            spec,
            epochs,
            diverged_at: diverged
                .and_then(|(_, v)| v["epoch"].as_u64())
                .map(|e| e as usize),
        })
    }
}

impl ReproductionRun {
    pub fn load(dir: &Path) -> Result<ReproductionRun, ReportError> {
        let plan = read_json(&dir.join(REPRODUCTION_PLAN))?;
        let search_dir = dir.join("search");
        let search = if search_dir.is_dir() {
            Some(SearchRun::load(&search_dir)?)
        } else {
            None
        };
        let family_path = dir.join("family.json");
        let family = match read_json(&family_path)? {
            Value::Null => Vec::new(),
            v => serde_json::from_value(v).map_err(|e| ReportError::read(&family_path, e))?,
        };
        Ok(ReproductionRun {
            dir: dir.to_path_buf(),
            plan,
            throughput: read_jsonl(&dir.join("throughput.jsonl"))?,
            fused: read_jsonl(&dir.join("fused.jsonl"))?,
            search,
            family,
        })
    }
}
