//! The run-directory store: a search's [`SearchDir`] (`config.json`,
//! `trials.jsonl` with a line per trial synced as it finishes — and another each
//! time it reaches a further rung — `best.json`, `references.jsonl`, and `rungs/`
//! where candidates keep their checkpoints between rungs). A torn last line, left by a process killed while writing,
//! is cut off when the store opens.

use std::path::{Path, PathBuf};

use records::{RecordsError, SearchDir, Trial};

use super::{StoreError, TrialStore};

pub struct RunDirStore {
    dir: SearchDir,
}

impl RunDirStore {
    /// Opens (creating if needed) a run directory, repairing a torn last line.
    pub fn open(root: &Path) -> Result<RunDirStore, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| RecordsError::io(root, e))?;
        let dir = SearchDir::new(root);
        dir.repair()?;
        Ok(RunDirStore { dir })
    }

    pub fn root(&self) -> &Path {
        &self.dir.root
    }
}

impl TrialStore for RunDirStore {
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self.dir.config()?)
    }

    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError> {
        Ok(self.dir.save_config(config)?)
    }

    fn trials(&self) -> Result<Vec<Trial>, StoreError> {
        Ok(self.dir.trials()?)
    }

    /// Appends the trial, then rewrites `best.json`.
    fn append(&mut self, trial: &Trial) -> Result<(), StoreError> {
        self.dir.append_trial(trial)?;
        if let Some(best) = records::trial::best(&self.dir.trials()?) {
            self.dir.save_best(best)?;
        }
        Ok(())
    }

    fn references(&self) -> Result<Vec<Trial>, StoreError> {
        Ok(self.dir.references()?)
    }

    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError> {
        Ok(self.dir.append_reference(trial)?)
    }

    fn rungs_dir(&self) -> Option<PathBuf> {
        Some(self.dir.rungs_path())
    }
}
