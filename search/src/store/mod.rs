//! Where a search keeps its trials. The search speaks only to [`TrialStore`], so
//! a shared database can stand in for the run directory and let workers on many
//! machines share one search.

pub mod jsonl;
pub mod postgres;
mod run_dir;

pub use postgres::PgStore;
pub use run_dir::RunDirStore;

use crate::trial::Trial;

/// An append-only record of a search.
pub trait TrialStore {
    /// The search's configuration as saved when it started (JSON), if any.
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError>;
    /// Saves the configuration of a new search.
    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError>;
    /// Every recorded trial, in order.
    fn trials(&self) -> Result<Vec<Trial>, StoreError>;
    /// Records a finished trial durably before returning.
    fn append(&mut self, trial: &Trial) -> Result<(), StoreError>;
    /// Reference networks evaluated alongside the search (not part of it: they
    /// use no budget and no strategy learns from them).
    fn references(&self) -> Result<Vec<Trial>, StoreError>;
    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);
