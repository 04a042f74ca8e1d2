//! Where a search keeps its trials. The search speaks only to [`TrialStore`], and
//! the processes of a shared search only to [`SharedStore`], so a database can
//! stand in for the run directory and let workers on many machines share one
//! search.

pub mod postgres;
mod run_dir;

pub use postgres::PgStore;
pub use run_dir::RunDirStore;

use std::path::Path;

use records::{Proposal, Trial};

use crate::halving::Plan;

/// An append-only record of a search.
pub trait TrialStore {
    /// The search's configuration as saved when it started (JSON), if any.
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError>;
    /// Saves the configuration of a new search.
    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError>;
    /// Every finished trial's latest state, in the order first recorded.
    fn trials(&self) -> Result<Vec<Trial>, StoreError>;
    /// Records a finished trial (or its new state, after a further rung)
    /// durably before returning.
    fn append(&mut self, trial: &Trial) -> Result<(), StoreError>;
    /// Reference networks evaluated alongside the search (not part of it: they
    /// use no budget and no strategy learns from them).
    fn references(&self) -> Result<Vec<Trial>, StoreError>;
    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError>;
    /// Where candidates of a successive-halving search keep their training
    /// between rungs, if this store has a place for it.
    fn rungs_dir(&self) -> Option<std::path::PathBuf> {
        None
    }
}

/// How many trials of a shared search are in each state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Proposed, not claimed yet.
    pub pending: usize,
    /// Claimed by a worker that is evaluating it.
    pub running: usize,
    /// Done, failed or skipped.
    pub finished: usize,
    /// Finished candidates promoted to a further rung and not through it yet
    /// (successive halving); they are counted as finished too.
    pub promoting: usize,
}

impl Counts {
    /// Every trial proposed so far.
    pub fn total(&self) -> usize {
        self.pending + self.running + self.finished
    }
}

/// A pending trial handed to a worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub proposal: Proposal,
    /// 1 on the first claim; more when a worker before this one stopped.
    pub attempt: i32,
}

/// A promotion handed to a worker: train `trial` on through rung `rung`.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    pub trial: Trial,
    pub rung: usize,
    /// 1 on the first claim; more when a worker before this one stopped.
    pub attempt: i32,
}

/// A search that several processes share: proposals wait as pending trials, a
/// worker claims one at a time (no two workers get the same), heartbeats while it
/// evaluates, and finishes it; a trial whose worker stops heartbeating goes back
/// to pending, or fails after too many attempts.
pub trait SharedStore: TrialStore + Send {
    /// The search's name in the store.
    fn name(&self) -> &str;
    /// Adds proposals as pending trials with the next ids (their own ids are
    /// replaced), unless that would take the number of trials past `budget`;
    /// returns the ids given.
    fn propose(&mut self, proposals: &[Proposal], budget: usize) -> Result<Vec<usize>, StoreError>;
    /// Claims the oldest pending trial for `worker`.
    fn claim(&mut self, worker: &str) -> Result<Option<Claim>, StoreError>;
    /// Claims for `worker` the promotion that `plan` says is due (or one whose
    /// worker stopped), decided and claimed atomically: no two workers train the
    /// same rung. `None` when no candidate has earned one.
    fn claim_promotion(
        &mut self,
        worker: &str,
        plan: &Plan,
    ) -> Result<Option<Promotion>, StoreError>;
    /// Keeps the training of candidate `id` (the files under `dir`) where any
    /// worker can continue it at the next rung, replacing what was kept before.
    fn keep_checkpoint(&mut self, id: usize, dir: &Path) -> Result<(), StoreError>;
    /// Writes the training kept for candidate `id` into `dir`; false if none is
    /// kept (the promotion then trains from the start, to the same result).
    fn restore_checkpoint(&mut self, id: usize, dir: &Path) -> Result<bool, StoreError>;
    /// True once every trial of `budget` is finished and, by `plan`, no
    /// candidate is rising or can rise any more; the kept training is then
    /// dropped. False while work remains.
    fn wind_up(&mut self, budget: usize, plan: &Plan) -> Result<bool, StoreError>;
    /// Records that `worker` (on `device`) works on this search, or still does.
    fn register_worker(&mut self, worker: &str, device: &str) -> Result<(), StoreError>;
    /// Tells the store `worker` is still evaluating trial `id` (or training it
    /// through a rung); false if the trial is no longer its own.
    fn heartbeat(&mut self, worker: &str, id: usize) -> Result<bool, StoreError>;
    /// Records `worker`'s result for its claimed trial or promotion; false (and
    /// nothing written) if the trial is no longer its own.
    fn finish(&mut self, worker: &str, trial: &Trial) -> Result<bool, StoreError>;
    /// Gives trials and promotions whose worker has not heartbeaten for `grace_s`
    /// seconds back to pending, or marks them failed after `max_attempts` claims;
    /// returns how many of each.
    fn requeue_stale(&mut self, grace_s: f64, max_attempts: i32) -> Result<(u64, u64), StoreError>;
    /// The canonical keys of every trial proposed so far, in any state.
    fn proposed_keys(&mut self) -> Result<Vec<String>, StoreError>;
    fn counts(&mut self) -> Result<Counts, StoreError>;
    /// A second handle on the same search, to heartbeat from while this one waits
    /// for an evaluation.
    fn reopen(&self) -> Result<Box<dyn SharedStore>, StoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A run directory's file could not be read or written.
    #[error(transparent)]
    Files(#[from] records::RecordsError),
    /// The database refused or failed.
    #[error("PostgreSQL: {0}")]
    Database(String),
    /// A record in the database that this version cannot read.
    #[error("{what}: {message}")]
    Corrupt { what: &'static str, message: String },
    /// The search has not saved its settings yet.
    #[error("the search `{0}` has no configuration yet")]
    NoConfig(String),
    /// A candidate's training kept between rungs could not be read or written
    /// here.
    #[error("a checkpoint between rungs: {0}")]
    Checkpoint(String),
    /// A second connection could not be opened.
    #[error(transparent)]
    Open(#[from] crate::store::postgres::OpenError),
}
