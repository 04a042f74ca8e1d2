//! The on-disk format every effnas run shares (searches, training runs,
//! reproductions and proxy checks), written by the trainer and the search and read
//! by the reports: one record type per thing on disk, one way to
//! append and read JSON lines, one way to replace a file atomically.
//!
//! - [`layout`]: where each file of a search, a training run and a reproduction lives;
//! - [`trial`]: a search's proposals and evaluated trials;
//! - [`metrics`]: a training run's per-step and per-epoch lines;
//! - [`throughput`]: the points of a throughput grid (the paper's Table 2);
//! - [`proxy_check`]: the networks of a proxy check and their trainings;
//! - [`reward`]: the search's reward, as saved and as recomputed;
//! - [`stats`]: mean, spread and percentiles of reported figures;
//! - [`strategy_bench`]: search strategies compared on a tabular benchmark;
//! - [`pareto`]: non-dominated fronts, NSGA-II's order and the hypervolume of a
//!   front, for the search's Pareto strategy and the reports alike;
//! - [`jsonl`] and [`atomic`]: appending, reading and replacing files durably;
//! - [`error`]: what can go wrong, naming the file (and line).

pub mod atomic;
pub mod error;
pub mod jsonl;
pub mod layout;
pub mod metrics;
pub mod pareto;
pub mod proxy_check;
pub mod reward;
pub mod stats;
pub mod strategy_bench;
pub mod throughput;
pub mod trial;

pub use atomic::{read_json, write_atomically, write_json_atomically};
pub use error::RecordsError;
pub use layout::{ProxyCheckDir, ReproductionDir, SearchDir, StrategyBenchDir, TrainDir};
pub use metrics::{EpochRecord, MetricLine, StageSettings};
pub use proxy_check::{CheckedNetwork, SettingRun};
pub use reward::Reward;
pub use strategy_bench::{FoundCell, SensitivityPoint, StrategyBench, StrategyRun, StrategyRuns};
pub use throughput::{PointStatus, ThroughputRecord};
pub use trial::{Proposal, Rung, StepStats, Trial, TrialStatus};
