//! The run-directory store: `config.json`, `trials.jsonl` (one trial per line,
//! flushed and synced per trial), `best.json`, and `references.jsonl` for the
//! reference networks. A torn last line, left by a process killed while writing,
//! is dropped when the store opens.

use std::fs;
use std::path::{Path, PathBuf};

use super::jsonl::{self, err};
use super::{StoreError, TrialStore};
use crate::trial::Trial;

pub struct RunDirStore {
    root: PathBuf,
}

impl RunDirStore {
    /// Opens (creating if needed) a run directory, repairing a torn last line.
    pub fn open(root: &Path) -> Result<RunDirStore, StoreError> {
        fs::create_dir_all(root).map_err(|e| err(root, e))?;
        let store = RunDirStore {
            root: root.to_path_buf(),
        };
        store.repair()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn trials_path(&self) -> PathBuf {
        self.root.join("trials.jsonl")
    }

    fn references_path(&self) -> PathBuf {
        self.root.join("references.jsonl")
    }

    fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// Cuts a torn last line off the trial files.
    fn repair(&self) -> Result<(), StoreError> {
        for path in [self.trials_path(), self.references_path()] {
            jsonl::repair(&path)?;
        }
        Ok(())
    }

    fn write_best(&self, trials: &[Trial]) -> Result<(), StoreError> {
        let best = trials.iter().filter(|t| t.reward.is_some()).max_by(|a, b| {
            a.reward
                .unwrap_or(f64::MIN)
                .total_cmp(&b.reward.unwrap_or(f64::MIN))
        });
        if let Some(best) = best {
            let text = serde_json::to_string_pretty(best).expect("trials serialise");
            jsonl::write_atomically(&self.root.join("best.json"), &text)?;
        }
        Ok(())
    }
}

impl TrialStore for RunDirStore {
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError> {
        jsonl::read_json(&self.config_path())
    }

    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError> {
        let text = serde_json::to_string_pretty(config).expect("JSON values serialise");
        jsonl::write_atomically(&self.config_path(), &text)
    }

    fn trials(&self) -> Result<Vec<Trial>, StoreError> {
        jsonl::read(&self.trials_path())
    }

    fn append(&mut self, trial: &Trial) -> Result<(), StoreError> {
        jsonl::append(&self.trials_path(), trial)?;
        self.write_best(&self.trials()?)
    }

    fn references(&self) -> Result<Vec<Trial>, StoreError> {
        jsonl::read(&self.references_path())
    }

    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError> {
        jsonl::append(&self.references_path(), trial)
    }
}
