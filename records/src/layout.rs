//! Where each file of a run lives, and the reads and writes of its records. A
//! directory holds one of four kinds of run:
//!
//! ```text
//! search/          config.json, trials.jsonl, references.jsonl, best.json,
//!                  rungs/<id>/ (a training run per candidate, while it may rise)
//! training run/    config.json, metrics.jsonl, checkpoint/ (replaced atomically)
//! reproduction/    reproduction.json, throughput.jsonl, fused.jsonl, search/,
//!                  family.json, networks/
//! proxy check/     proxy-check.json, networks.jsonl, trainings.jsonl
//! strategy bench/  strategies.json
//! ```
//!
//! Every kind gets a `report/` folder when reported.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use space::FamilyMember;

use crate::error::RecordsError;
use crate::metrics::MetricLine;
use crate::proxy_check::{CheckedNetwork, SettingRun};
use crate::strategy_bench::StrategyBench;
use crate::throughput::ThroughputRecord;
use crate::trial::Trial;
use crate::{atomic, jsonl};

/// The settings every kind of run saves when it starts.
const CONFIG: &str = "config.json";

/// A search's run directory.
#[derive(Clone, Debug)]
pub struct SearchDir {
    pub root: PathBuf,
}

/// A training run's directory.
#[derive(Clone, Debug)]
pub struct TrainDir {
    pub root: PathBuf,
}

/// A `search reproduce` directory.
#[derive(Clone, Debug)]
pub struct ReproductionDir {
    pub root: PathBuf,
}

/// A proxy check's directory (`search proxy-check`).
#[derive(Clone, Debug)]
pub struct ProxyCheckDir {
    pub root: PathBuf,
}

/// A comparison of strategies on a tabular benchmark (`search bench-strategies`).
#[derive(Clone, Debug)]
pub struct StrategyBenchDir {
    pub root: PathBuf,
}

/// Which kind of run a directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Search,
    Train,
    Reproduction,
    ProxyCheck,
    StrategyBench,
}

impl RunKind {
    /// The kind of run in `dir`, if it holds one: a reproduction plan marks a
    /// reproduction, a proxy-check plan a proxy check, a strategy comparison's
    /// results a strategy bench, trials (or a search's settings) a search,
    /// metrics a training run.
    pub fn of(dir: &Path) -> Option<RunKind> {
        let search = SearchDir::new(dir);
        if ReproductionDir::new(dir).plan().exists() {
            Some(RunKind::Reproduction)
        } else if ProxyCheckDir::new(dir).plan().exists() {
            Some(RunKind::ProxyCheck)
        } else if StrategyBenchDir::new(dir).results_path().exists() {
            Some(RunKind::StrategyBench)
        } else if search.trials_path().exists() || search.has_search_config() {
            Some(RunKind::Search)
        } else if TrainDir::new(dir).metrics_path().exists() {
            Some(RunKind::Train)
        } else {
            None
        }
    }
}

fn read_config<T: DeserializeOwned>(root: &Path) -> Result<Option<T>, RecordsError> {
    atomic::read_json(&root.join(CONFIG))
}

fn save_config<T: Serialize>(root: &Path, config: &T) -> Result<(), RecordsError> {
    atomic::write_json_atomically(&root.join(CONFIG), config)
}

impl SearchDir {
    pub fn new(root: &Path) -> SearchDir {
        SearchDir {
            root: root.to_path_buf(),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    pub fn trials_path(&self) -> PathBuf {
        self.root.join("trials.jsonl")
    }

    /// Reference networks evaluated beside the search (no budget, no learning).
    pub fn references_path(&self) -> PathBuf {
        self.root.join("references.jsonl")
    }

    /// The trial with the highest reward, rewritten after every trial.
    pub fn best_path(&self) -> PathBuf {
        self.root.join("best.json")
    }

    /// The search's settings (`None` before it started).
    pub fn config<T: DeserializeOwned>(&self) -> Result<Option<T>, RecordsError> {
        read_config(&self.root)
    }

    pub fn save_config<T: Serialize>(&self, config: &T) -> Result<(), RecordsError> {
        save_config(&self.root, config)
    }

    /// Whether `config.json` holds a search's settings (a space and a strategy).
    fn has_search_config(&self) -> bool {
        self.config::<serde_json::Value>()
            .ok()
            .flatten()
            .is_some_and(|c| c.get("space").is_some() && c.get("strategy").is_some())
    }

    /// Every trial's latest state (a trial gets a line per rung it reaches).
    pub fn trials(&self) -> Result<Vec<Trial>, RecordsError> {
        Ok(crate::trial::latest_per_id(jsonl::read(
            &self.trials_path(),
        )?))
    }

    /// The training runs of candidates of a successive-halving search: each keeps
    /// its checkpoint here so a promotion continues where the last rung stopped.
    pub fn rungs_path(&self) -> PathBuf {
        self.root.join("rungs")
    }

    pub fn append_trial(&self, trial: &Trial) -> Result<(), RecordsError> {
        jsonl::append(&self.trials_path(), trial)
    }

    /// The reference networks, each named (`reference`) after its spec.
    pub fn references(&self) -> Result<Vec<Trial>, RecordsError> {
        let mut references: Vec<Trial> = jsonl::read(&self.references_path())?;
        for r in &mut references {
            r.reference.get_or_insert_with(|| r.spec.name.clone());
        }
        Ok(references)
    }

    pub fn append_reference(&self, trial: &Trial) -> Result<(), RecordsError> {
        jsonl::append(&self.references_path(), trial)
    }

    /// Cuts lines torn by a killed writer off the trial files, so appends continue
    /// on fresh lines.
    pub fn repair(&self) -> Result<(), RecordsError> {
        jsonl::repair(&self.trials_path())?;
        jsonl::repair(&self.references_path())
    }

    pub fn save_best(&self, best: &Trial) -> Result<(), RecordsError> {
        atomic::write_json_atomically(&self.best_path(), best)
    }

    pub fn best(&self) -> Result<Option<Trial>, RecordsError> {
        atomic::read_json(&self.best_path())
    }
}

impl TrainDir {
    pub fn new(root: &Path) -> TrainDir {
        TrainDir {
            root: root.to_path_buf(),
        }
    }

    /// The directory, created if needed.
    pub fn create(root: &Path) -> Result<TrainDir, RecordsError> {
        std::fs::create_dir_all(root).map_err(|e| RecordsError::io(root, e))?;
        Ok(TrainDir::new(root))
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// The last complete epoch's weights, EMA weights, optimizer slots and position.
    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Where a new checkpoint is written before it replaces [`Self::checkpoint`].
    pub fn checkpoint_new(&self) -> PathBuf {
        self.root.join("checkpoint.new")
    }

    /// The previous checkpoint, kept while the new one takes its place.
    pub fn checkpoint_old(&self) -> PathBuf {
        self.root.join("checkpoint.old")
    }

    pub fn config<T: DeserializeOwned>(&self) -> Result<Option<T>, RecordsError> {
        read_config(&self.root)
    }

    pub fn save_config<T: Serialize>(&self, config: &T) -> Result<(), RecordsError> {
        save_config(&self.root, config)
    }

    pub fn metrics(&self) -> Result<Vec<MetricLine>, RecordsError> {
        jsonl::read(&self.metrics_path())
    }

    pub fn append_metric(&self, line: &MetricLine) -> Result<(), RecordsError> {
        jsonl::append(&self.metrics_path(), line)
    }

    /// Drops metric lines of epochs after `epochs_done` (written by a run killed
    /// before its checkpoint), so a resumed run does not repeat them.
    pub fn trim_metrics(&self, epochs_done: usize) -> Result<(), RecordsError> {
        jsonl::retain(&self.metrics_path(), |line: &MetricLine| {
            line.epoch().is_some_and(|e| e <= epochs_done)
        })
    }

    /// Starts the metrics afresh (a new run in a used directory).
    pub fn clear_metrics(&self) -> Result<(), RecordsError> {
        match std::fs::remove_file(self.metrics_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(RecordsError::io(&self.metrics_path(), e))
            }
            _ => Ok(()),
        }
    }
}

impl ReproductionDir {
    pub fn new(root: &Path) -> ReproductionDir {
        ReproductionDir {
            root: root.to_path_buf(),
        }
    }

    /// The plan; its presence marks a reproduction directory.
    pub fn plan(&self) -> PathBuf {
        self.root.join("reproduction.json")
    }

    /// Table 2 analog: one [`ThroughputRecord`] per line.
    pub fn throughput_path(&self) -> PathBuf {
        self.root.join("throughput.jsonl")
    }

    /// Table 3 analog: one evaluated variant (a [`Trial`]) per line.
    pub fn fused_path(&self) -> PathBuf {
        self.root.join("fused.jsonl")
    }

    /// The search's own run directory.
    pub fn search(&self) -> SearchDir {
        SearchDir::new(&self.root.join("search"))
    }

    /// The found network scaled to S/M/L.
    pub fn family_path(&self) -> PathBuf {
        self.root.join("family.json")
    }

    /// Spec and space files the plan's search flags name (the quick variant's
    /// miniatures).
    pub fn networks(&self) -> PathBuf {
        self.root.join("networks")
    }

    pub fn throughput(&self) -> Result<Vec<ThroughputRecord>, RecordsError> {
        jsonl::read(&self.throughput_path())
    }

    pub fn append_throughput(&self, point: &ThroughputRecord) -> Result<(), RecordsError> {
        jsonl::append(&self.throughput_path(), point)
    }

    pub fn fused(&self) -> Result<Vec<Trial>, RecordsError> {
        jsonl::read(&self.fused_path())
    }

    pub fn append_fused(&self, trial: &Trial) -> Result<(), RecordsError> {
        jsonl::append(&self.fused_path(), trial)
    }

    /// Cuts lines torn by a killed writer off the Table 2 and 3 files.
    pub fn repair(&self) -> Result<(), RecordsError> {
        jsonl::repair(&self.throughput_path())?;
        jsonl::repair(&self.fused_path())
    }

    /// The family (empty until written).
    pub fn family(&self) -> Result<Vec<FamilyMember>, RecordsError> {
        Ok(atomic::read_json(&self.family_path())?.unwrap_or_default())
    }

    pub fn save_family(&self, family: &[FamilyMember]) -> Result<(), RecordsError> {
        atomic::write_json_atomically(&self.family_path(), &family)
    }
}

impl ProxyCheckDir {
    pub fn new(root: &Path) -> ProxyCheckDir {
        ProxyCheckDir {
            root: root.to_path_buf(),
        }
    }

    /// The plan (space, settings, seed); its presence marks a proxy check.
    pub fn plan(&self) -> PathBuf {
        self.root.join("proxy-check.json")
    }

    /// One [`CheckedNetwork`] per line.
    pub fn networks_path(&self) -> PathBuf {
        self.root.join("networks.jsonl")
    }

    /// One [`SettingRun`] per line.
    pub fn trainings_path(&self) -> PathBuf {
        self.root.join("trainings.jsonl")
    }

    pub fn networks(&self) -> Result<Vec<CheckedNetwork>, RecordsError> {
        jsonl::read(&self.networks_path())
    }

    pub fn append_network(&self, network: &CheckedNetwork) -> Result<(), RecordsError> {
        jsonl::append(&self.networks_path(), network)
    }

    pub fn trainings(&self) -> Result<Vec<SettingRun>, RecordsError> {
        jsonl::read(&self.trainings_path())
    }

    pub fn append_training(&self, run: &SettingRun) -> Result<(), RecordsError> {
        jsonl::append(&self.trainings_path(), run)
    }

    /// Cuts lines torn by a killed writer off the record files.
    pub fn repair(&self) -> Result<(), RecordsError> {
        jsonl::repair(&self.networks_path())?;
        jsonl::repair(&self.trainings_path())
    }
}

impl StrategyBenchDir {
    pub fn new(root: &Path) -> StrategyBenchDir {
        StrategyBenchDir {
            root: root.to_path_buf(),
        }
    }

    /// The [`StrategyBench`]; its presence marks a strategy comparison.
    pub fn results_path(&self) -> PathBuf {
        self.root.join("strategies.json")
    }

    pub fn results(&self) -> Result<Option<StrategyBench>, RecordsError> {
        atomic::read_json(&self.results_path())
    }

    pub fn save(&self, results: &StrategyBench) -> Result<(), RecordsError> {
        atomic::write_json_atomically(&self.results_path(), results)
    }
}
