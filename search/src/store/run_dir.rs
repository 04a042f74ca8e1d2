//! The run-directory store: `config.json`, `trials.jsonl` (one trial per line,
//! flushed and synced per trial), `best.json`, and `references.jsonl` for the
//! reference networks. A torn last line, left by a process killed while writing,
//! is dropped when the store opens.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{StoreError, TrialStore};
use crate::trial::Trial;

pub struct RunDirStore {
    root: PathBuf,
}

fn err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{}: {e}", path.display()))
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

    /// Keeps only the complete, parseable lines of the trial files.
    fn repair(&self) -> Result<(), StoreError> {
        for path in [self.trials_path(), self.references_path()] {
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            let good: Vec<&str> = text
                .lines()
                .filter(|l| serde_json::from_str::<Trial>(l).is_ok())
                .collect();
            let clean = good.iter().map(|l| format!("{l}\n")).collect::<String>();
            if clean != text {
                let tmp = path.with_extension("jsonl.tmp");
                fs::write(&tmp, &clean).map_err(|e| err(&tmp, e))?;
                fs::rename(&tmp, &path).map_err(|e| err(&path, e))?;
            }
        }
        Ok(())
    }

    fn read_lines(path: &Path) -> Result<Vec<Trial>, StoreError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err(path, e)),
        };
        // Parse what is complete; a torn final line is ignored (and repaired on open).
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    /// Appends one line and syncs it to disk before returning.
    fn append_line(path: &Path, trial: &Trial) -> Result<(), StoreError> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| err(path, e))?;
        let line = serde_json::to_string(trial).expect("trials serialise");
        writeln!(f, "{line}").map_err(|e| err(path, e))?;
        f.sync_data().map_err(|e| err(path, e))
    }

    fn write_best(&self, trials: &[Trial]) -> Result<(), StoreError> {
        let best = trials.iter().filter(|t| t.reward.is_some()).max_by(|a, b| {
            a.reward
                .unwrap_or(f64::MIN)
                .total_cmp(&b.reward.unwrap_or(f64::MIN))
        });
        if let Some(best) = best {
            let path = self.root.join("best.json");
            let tmp = path.with_extension("json.tmp");
            let text = serde_json::to_string_pretty(best).expect("trials serialise");
            fs::write(&tmp, text).map_err(|e| err(&tmp, e))?;
            fs::rename(&tmp, &path).map_err(|e| err(&path, e))?;
        }
        Ok(())
    }
}

impl TrialStore for RunDirStore {
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let path = self.config_path();
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(&path, e)),
        }
    }

    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError> {
        let path = self.config_path();
        let tmp = path.with_extension("json.tmp");
        fs::write(
            &tmp,
            serde_json::to_string_pretty(config).expect("JSON values serialise"),
        )
        .map_err(|e| err(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| err(&path, e))
    }

    fn trials(&self) -> Result<Vec<Trial>, StoreError> {
        Self::read_lines(&self.trials_path())
    }

    fn append(&mut self, trial: &Trial) -> Result<(), StoreError> {
        Self::append_line(&self.trials_path(), trial)?;
        self.write_best(&self.trials()?)
    }

    fn references(&self) -> Result<Vec<Trial>, StoreError> {
        Self::read_lines(&self.references_path())
    }

    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError> {
        Self::append_line(&self.references_path(), trial)
    }
}
