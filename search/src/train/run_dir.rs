//! A training run on disk: its configuration, per-step and per-epoch metrics
//! (JSONL), and the last epoch's checkpoint, replaced atomically so that a run
//! killed at any moment resumes from a complete epoch.
//!
//! ```text
//! run/config.json          spec, data, training configuration
//! run/metrics.jsonl        {"kind": "step" | "epoch", …} per line
//! run/checkpoint/          model.safetensors (+ model.json, the spec), ema.*,
//!                          optimizer.safetensors, state.json
//! ```

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::TrainError;

/// Progress of a run at the end of an epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Epochs completed.
    pub epochs_done: usize,
    pub steps_done: u64,
    pub ema_updates: u64,
    /// Training time so far, seconds (excluding time the process was not running).
    pub elapsed_s: f64,
    pub best_val_acc: f64,
}

pub struct RunDir {
    pub root: PathBuf,
}

fn io(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Io(format!("{}: {e}", path.display()))
}

impl RunDir {
    pub fn create(root: &Path) -> Result<RunDir, TrainError> {
        fs::create_dir_all(root).map_err(|e| io(root, e))?;
        Ok(RunDir {
            root: root.to_path_buf(),
        })
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Writes `text` to `path` through a temporary file and a rename.
    pub fn write_atomic(path: &Path, text: &str) -> Result<(), TrainError> {
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| io(path, e))
    }

    /// Appends one JSON line to the metrics.
    pub fn append_metric(&self, value: &serde_json::Value) -> Result<(), TrainError> {
        let path = self.metrics_path();
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        writeln!(f, "{value}").map_err(|e| io(&path, e))
    }

    /// Drops metric lines of epochs after `epochs_done` (written by a run killed
    /// before its checkpoint), so a resumed run does not repeat them.
    pub fn trim_metrics(&self, epochs_done: usize) -> Result<(), TrainError> {
        let path = self.metrics_path();
        let Ok(text) = fs::read_to_string(&path) else {
            return Ok(());
        };
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["epoch"].as_u64())
                    .is_some_and(|e| e as usize <= epochs_done)
            })
            .collect();
        Self::write_atomic(
            &path,
            &(kept.join("\n") + if kept.is_empty() { "" } else { "\n" }),
        )
    }

    /// Saves a checkpoint: everything goes into `checkpoint.new/`, which then
    /// replaces `checkpoint/` (the previous one is kept as `checkpoint.old/` until
    /// the swap is done).
    pub fn save_checkpoint(
        &self,
        model: &models::EfficientNet,
        ema: Option<&models::EfficientNet>,
        optimizer: Vec<(String, Tensor)>,
        state: &RunState,
    ) -> Result<(), TrainError> {
        let fresh = self.root.join("checkpoint.new");
        let _ = fs::remove_dir_all(&fresh);
        fs::create_dir_all(&fresh).map_err(|e| io(&fresh, e))?;
        models::save_checkpoint(model, &fresh.join("model.safetensors"))?;
        if let Some(ema) = ema {
            models::save_checkpoint(ema, &fresh.join("ema.safetensors"))?;
        }
        let optimizer: HashMap<String, Tensor> = optimizer.into_iter().collect();
        let path = fresh.join("optimizer.safetensors");
        candle_core::safetensors::save(&optimizer, &path).map_err(|e| io(&path, e))?;
        let text = serde_json::to_string_pretty(state).expect("state serialises");
        fs::write(fresh.join("state.json"), text).map_err(|e| io(&fresh, e))?;

        let (current, old) = (self.checkpoint(), self.root.join("checkpoint.old"));
        let _ = fs::remove_dir_all(&old);
        if current.exists() {
            fs::rename(&current, &old).map_err(|e| io(&current, e))?;
        }
        fs::rename(&fresh, &current).map_err(|e| io(&fresh, e))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    /// The last complete checkpoint, if any (after an interrupted swap, the old one).
    pub fn latest_checkpoint(&self) -> Option<PathBuf> {
        [self.checkpoint(), self.root.join("checkpoint.old")]
            .into_iter()
            .find(|p| p.join("state.json").exists())
    }

    pub fn load_state(dir: &Path) -> Result<RunState, TrainError> {
        let path = dir.join("state.json");
        let text = fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| io(&path, e))
    }

    pub fn load_optimizer(
        dir: &Path,
        device: &Device,
    ) -> Result<HashMap<String, Tensor>, TrainError> {
        let path = dir.join("optimizer.safetensors");
        candle_core::safetensors::load(&path, device).map_err(|e| io(&path, e))
    }
}
