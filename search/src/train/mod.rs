//! The trainer: progressive learning with adaptive regularization over any spec
//! and any data set, with the paper's recipe by default.

pub mod config;
pub mod loss;
pub mod progressive;
pub mod run_dir;
pub mod schedule;
pub mod trainer;

pub use config::{OptimizerKind, TrainConfig};
pub use progressive::{Progressive, StageSettings};
pub use run_dir::RunDir;
pub use schedule::{LrDecay, LrSchedule};
pub use trainer::{EpochMetrics, Event, Outcome, TrainReport, Trainer, evaluate};

/// A training run that could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting is impossible (bad input).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("{0}")]
    Tensor(#[from] candle_core::Error),
    #[error("{0}")]
    Io(String),
}
