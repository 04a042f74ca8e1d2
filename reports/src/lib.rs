//! Tables, Pareto fronts, plots and the HTML report of a run directory.
//!
//! A report reads a run's files, never the search code, so any run, old or new,
//! from any machine, can be reported: [`run`] loads a search (`trials.jsonl`), a
//! training run (`metrics.jsonl`) or a reproduction of the paper
//! (`reproduction.json`), [`table`] puts it in polars DataFrames for CSV
//! and Parquet, [`pareto`] sorts trials into non-dominated fronts, [`plots`] draws
//! them, [`stages`] compares two networks stage by stage, [`ranks`] and
//! [`proxy_report`] say how well a proxy ranks networks against its target (a
//! proxy check, `proxy-check.json`), and [`report`] writes it all, as HTML and
//! Markdown, beside the run. A comparison of strategies on a tabular benchmark
//! (`strategies.json`) is reported the same way.

pub mod cells;
pub mod document;
pub mod error;
pub mod format;
pub mod html;
pub mod markdown;
pub use records::pareto;
pub mod plots;
pub mod proxy_report;
pub mod ranks;
pub mod report;
mod reproduction_report;
pub mod run;
mod search_report;
pub mod stages;
mod strategy_report;
pub mod table;
mod train_report;

pub use document::Progress;
pub use error::ReportError;
pub use pareto::{Goal, front, non_dominated_ranks};
pub use report::{Report, write_report, write_report_as};
pub use run::{ProxyCheckRun, ReproductionRun, Run, SearchRun, StrategyBenchRun, TrainRun};
