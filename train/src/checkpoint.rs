//! A training run's checkpoint: the last complete epoch's weights, EMA weights,
//! optimizer slots and position, replaced atomically so that a run killed at any
//! moment resumes from a complete epoch, bit for bit.
//!
//! ```text
//! run/checkpoint/   model.safetensors, ema.safetensors, optimizer.safetensors,
//!                   state.json
//! ```
//!
//! The rest of the run directory (settings, metrics) is `records::TrainDir`'s.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use records::{RecordsError, TrainDir};
use serde::{Deserialize, Serialize};

use crate::error::TrainError;

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

impl RunState {
    /// A run that has not trained yet.
    pub fn start() -> RunState {
        RunState {
            epochs_done: 0,
            steps_done: 0,
            ema_updates: 0,
            elapsed_s: 0.0,
            best_val_acc: 0.0,
        }
    }
}

/// Saves a checkpoint: everything goes into `checkpoint.new/`, which then
/// replaces `checkpoint/` (the previous one is kept as `checkpoint.old/` until the
/// swap is done).
pub fn save(
    dir: &TrainDir,
    model: &models::EfficientNet,
    ema: Option<&models::EfficientNet>,
    optimizer: Vec<(String, Tensor)>,
    state: &RunState,
) -> Result<(), TrainError> {
    let fresh = dir.checkpoint_new();
    let _ = fs::remove_dir_all(&fresh);
    fs::create_dir_all(&fresh).map_err(|e| RecordsError::io(&fresh, e))?;
    models::save_checkpoint(model, &fresh.join("model.safetensors"))?;
    if let Some(ema) = ema {
        models::save_checkpoint(ema, &fresh.join("ema.safetensors"))?;
    }
    let optimizer: HashMap<String, Tensor> = optimizer.into_iter().collect();
    let path = fresh.join("optimizer.safetensors");
    candle_core::safetensors::save(&optimizer, &path)
        .map_err(|e| RecordsError::bad_file(&path, e))?;
    records::write_json_atomically(&fresh.join("state.json"), state)?;

    let (current, old) = (dir.checkpoint(), dir.checkpoint_old());
    let _ = fs::remove_dir_all(&old);
    if current.exists() {
        fs::rename(&current, &old).map_err(|e| RecordsError::io(&current, e))?;
    }
    fs::rename(&fresh, &current).map_err(|e| RecordsError::io(&fresh, e))?;
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// The last complete checkpoint, if any (after an interrupted swap, the old one).
pub fn latest(dir: &TrainDir) -> Option<PathBuf> {
    [dir.checkpoint(), dir.checkpoint_old()]
        .into_iter()
        .find(|p| p.join("state.json").exists())
}

/// Where the run stood when `checkpoint` was saved.
pub fn load_state(checkpoint: &Path) -> Result<RunState, TrainError> {
    let path = checkpoint.join("state.json");
    records::read_json(&path)?.ok_or_else(|| RecordsError::bad_file(&path, "missing").into())
}

/// The optimizer's slots as saved in `checkpoint`.
pub fn load_optimizer(
    checkpoint: &Path,
    device: &Device,
) -> Result<HashMap<String, Tensor>, TrainError> {
    let path = checkpoint.join("optimizer.safetensors");
    Ok(candle_core::safetensors::load(&path, device)
        .map_err(|e| RecordsError::bad_file(&path, e))?)
}
