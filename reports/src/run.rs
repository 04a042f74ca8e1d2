//! A run directory as a report sees it: a search, a training run, a reproduction
//! of the paper, a proxy check or a comparison of strategies (`records::layout` says which files each holds), read through the
//! record types of `records`, so a report can be made from any run, old or new, on any
//! machine. A torn last line (a process killed while appending) is ignored; a bad
//! line elsewhere is an error naming the file and line.

use std::path::{Path, PathBuf};

use records::layout::RunKind;
use records::{
    CheckedNetwork, EpochRecord, MetricLine, ProxyCheckDir, RecordsError, ReproductionDir,
    SearchDir, SettingRun, StrategyBench, StrategyBenchDir, ThroughputRecord, TrainDir, Trial,
};
use serde_json::Value;
use space::{ArchSpec, FamilyMember};

use crate::ReportError;

pub struct SearchRun {
    pub dir: PathBuf,
    /// `config.json` as written by the search (space, strategy, evaluator, reward).
    pub config: Value,
    pub trials: Vec<Trial>,
    /// Reference networks evaluated the same way, when the search asked for them.
    pub references: Vec<Trial>,
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

/// A `search reproduce` directory: the plan, the Table 2 and Table 3 analogs, the
/// search's own run directory and the family.
pub struct ReproductionRun {
    pub dir: PathBuf,
    pub plan: Value,
    pub throughput: Vec<ThroughputRecord>,
    /// The Table 3 variants, evaluated like search trials.
    pub fused: Vec<Trial>,
    /// `None` until the search phase has started.
    pub search: Option<SearchRun>,
    pub family: Vec<FamilyMember>,
}

/// A `search proxy-check` directory: the plan (settings, reward), the networks and
/// every training of a network under a setting.
pub struct ProxyCheckRun {
    pub dir: PathBuf,
    pub plan: Value,
    pub networks: Vec<CheckedNetwork>,
    pub trainings: Vec<SettingRun>,
}

/// A `search bench-strategies` directory: the strategies' runs on a table.
pub struct StrategyBenchRun {
    pub dir: PathBuf,
    pub results: StrategyBench,
}

pub enum Run {
    Search(SearchRun),
    Train(TrainRun),
    Reproduction(ReproductionRun),
    ProxyCheck(ProxyCheckRun),
    StrategyBench(StrategyBenchRun),
}

impl From<RecordsError> for ReportError {
    fn from(e: RecordsError) -> ReportError {
        let path = e.path().to_path_buf();
        let message = match e {
            RecordsError::Io { source, .. } => source.to_string(),
            RecordsError::BadLine { line, message, .. } => format!("line {line}: {message}"),
            RecordsError::BadFile { message, .. } => message,
        };
        ReportError::Read { path, message }
    }
}

impl Run {
    /// Reads whichever kind of run `dir` holds.
    pub fn load(dir: &Path) -> Result<Run, ReportError> {
        if !dir.is_dir() {
            return Err(ReportError::read(dir, "no such directory"));
        }
        match RunKind::of(dir) {
            Some(RunKind::Reproduction) => ReproductionRun::load(dir).map(Run::Reproduction),
            Some(RunKind::Search) => SearchRun::load(dir).map(Run::Search),
            Some(RunKind::Train) => TrainRun::load(dir).map(Run::Train),
            Some(RunKind::ProxyCheck) => ProxyCheckRun::load(dir).map(Run::ProxyCheck),
            Some(RunKind::StrategyBench) => StrategyBenchRun::load(dir).map(Run::StrategyBench),
            None => Err(ReportError::NotARun(dir.to_path_buf())),
        }
    }

    pub fn dir(&self) -> &Path {
        match self {
            Run::Search(r) => &r.dir,
            Run::Train(r) => &r.dir,
            Run::Reproduction(r) => &r.dir,
            Run::ProxyCheck(r) => &r.dir,
            Run::StrategyBench(r) => &r.dir,
        }
    }
}

impl SearchRun {
    pub fn load(dir: &Path) -> Result<SearchRun, ReportError> {
        let search = SearchDir::new(dir);
        Ok(SearchRun {
            dir: dir.to_path_buf(),
            config: search.config()?.unwrap_or(Value::Null),
            trials: search.trials()?,
            references: search.references()?,
        })
    }

    /// The finished trial with the highest reward.
    pub fn best(&self) -> Option<&Trial> {
        records::trial::best(&self.trials)
    }

    /// A setting from `config.json` by JSON pointer (`/evaluator/timing/batch`).
    pub fn setting(&self, pointer: &str) -> Option<&Value> {
        self.config.pointer(pointer)
    }
}

impl TrainRun {
    pub fn load(dir: &Path) -> Result<TrainRun, ReportError> {
        let train = TrainDir::new(dir);
        let config: Value = train.config()?.unwrap_or(Value::Null);
        let spec = match config.get("spec") {
            Some(v) => Some(
                serde_json::from_value(v.clone())
                    .map_err(|e| ReportError::read(train.config_path(), e))?,
            ),
            None => None,
        };
        let mut epochs = Vec::new();
        let mut diverged_at = None;
        for line in train.metrics()? {
            match line {
                MetricLine::Epoch(e) => epochs.push(e),
                MetricLine::Diverged { epoch, .. } => diverged_at = diverged_at.or(Some(epoch)),
                MetricLine::Step { .. } | MetricLine::Other => {}
            }
        }
        Ok(TrainRun {
            dir: dir.to_path_buf(),
            config,
            spec,
            epochs,
            diverged_at,
        })
    }
}

impl ReproductionRun {
    pub fn load(dir: &Path) -> Result<ReproductionRun, ReportError> {
        let reproduction = ReproductionDir::new(dir);
        let search = reproduction.search();
        Ok(ReproductionRun {
            dir: dir.to_path_buf(),
            plan: records::read_json(&reproduction.plan())?.unwrap_or(Value::Null),
            throughput: reproduction.throughput()?,
            fused: reproduction.fused()?,
            search: if search.root.is_dir() {
                Some(SearchRun::load(&search.root)?)
            } else {
                None
            },
            family: reproduction.family()?,
        })
    }
}

impl StrategyBenchRun {
    pub fn load(dir: &Path) -> Result<StrategyBenchRun, ReportError> {
        let bench = StrategyBenchDir::new(dir);
        let results = bench
            .results()?
            .ok_or_else(|| ReportError::read(bench.results_path(), "no such file"))?;
        Ok(StrategyBenchRun {
            dir: dir.to_path_buf(),
            results,
        })
    }
}

impl ProxyCheckRun {
    pub fn load(dir: &Path) -> Result<ProxyCheckRun, ReportError> {
        let check = ProxyCheckDir::new(dir);
        Ok(ProxyCheckRun {
            dir: dir.to_path_buf(),
            plan: records::read_json(&check.plan())?.unwrap_or(Value::Null),
            networks: check.networks()?,
            trainings: check.trainings()?,
        })
    }

    /// Each network's accuracy under `setting` (`None` where it failed or has not
    /// run), by network index.
    pub fn accuracies(&self, setting: &str) -> Vec<Option<f64>> {
        let mut out = vec![None; self.networks.len()];
        for t in self.trainings.iter().filter(|t| t.setting == setting) {
            if let Some(slot) = out.get_mut(t.network) {
                *slot = t.accuracy.filter(|a| a.is_finite());
            }
        }
        out
    }

    /// The settings' names in the plan's order: the proxies, then `target`.
    pub fn setting_names(&self) -> Vec<String> {
        let proxies = self.plan["proxies"].as_array().cloned().unwrap_or_default();
        proxies
            .iter()
            .chain([&self.plan["target"]])
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect()
    }
}
