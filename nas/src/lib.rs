//! The training-aware search (paper §3.3): a strategy proposes points of a search
//! space, the evaluator measures each candidate — its training step time at the
//! target size, its accuracy after a short proxy training, its parameters — and
//! rewards it, and a store records every trial so a search resumes anywhere.
//!
//! - [`config`]: everything a search is run (and resumed) with;
//! - [`strategy`] and [`proposal`]: what to evaluate next — random search,
//!   regularized evolution (by reward or by Pareto rank), REINFORCE — and the one
//!   loop that turns a strategy's picks into new networks;
//! - [`evaluator`]: cheap checks and limits, measured step time, proxy accuracy
//!   by rungs, reward;
//! - [`halving`]: asynchronous successive halving on the proxy's progressive
//!   stages — which candidates earn a further rung;
//! - [`store`]: where trials are kept (a run directory, or PostgreSQL for a search
//!   shared by many machines);
//! - [`local`]: a search run by this process's workers;
//! - [`worker`] and [`coordinator`]: the processes of a shared search;
//! - [`references`]: known networks evaluated beside the candidates;
//! - [`proxy_check`]: how well a cheap proxy training ranks networks the way a long
//!   training does;
//! - [`reproduce`]: the paper's experiments (Tables 2 and 3, the search, the family);
//! - [`tabular`]: the strategies on NAS-Bench-201's table, against a simulated
//!   clock: a yardstick for them that costs seconds, not days;
//! - [`error`]: what stops a search.

pub mod config;
pub mod coordinator;
pub mod error;
pub mod evaluator;
pub mod halving;
pub mod local;
pub mod proposal;
pub mod proxy_check;
pub mod references;
pub mod reproduce;
pub mod store;
pub mod strategy;
pub mod tabular;
pub mod worker;

pub use config::{SearchConfig, Sharing};
pub use error::NasError;
pub use evaluator::{Evaluator, EvaluatorConfig, Limits, Reward, Timing};
pub use local::{SearchEvent, run_search};
pub use strategy::StrategyKind;
