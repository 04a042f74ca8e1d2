//! Everything a training run is configured with; saved beside the run so
//! `--resume` continues it exactly.

use serde::{Deserialize, Serialize};

use super::progressive::Progressive;
use super::schedule::{LrDecay, LrSchedule};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// TensorFlow's RMSProp (decay 0.9, momentum 0.9, eps 1e-3): the paper's.
    Rmsprop,
    /// SGD with momentum 0.9.
    Sgd,
    /// Adam with decoupled weight decay.
    #[value(name = "adamw")]
    #[serde(rename = "adamw")]
    AdamW,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: OptimizerKind,
    pub weight_decay: f64,
    pub lr: LrSchedule,
    pub label_smoothing: f64,
    /// Evaluate an exponential moving average of the weights with this decay.
    pub ema_decay: Option<f64>,
    /// Image size and regularization per stage (one stage: fixed size).
    pub progressive: Progressive,
    /// RandAugment operations per image (when its magnitude is above 0).
    pub randaug_ops: usize,
    /// Random-crop padding in source pixels, and horizontal flips.
    pub crop_pad: usize,
    pub flip: bool,
    pub cutmix_alpha: f64,
    pub seed: u64,
    /// Steps between per-step metric lines.
    pub log_every: usize,
}

impl TrainConfig {
    /// The paper's recipe (RMSProp, lr 0.016 per 256 images, warm-up then ×0.97
    /// every 2.4 epochs, weight decay 1e-5, label smoothing 0.1, EMA 0.9999), with
    /// the warm-up shortened to a tenth of a short run.
    pub fn paper(epochs: usize, batch: usize, progressive: Progressive) -> TrainConfig {
        TrainConfig {
            epochs,
            batch,
            optimizer: OptimizerKind::Rmsprop,
            weight_decay: 1e-5,
            lr: LrSchedule {
                lr: 0.016 * batch as f64 / 256.0,
                warmup_epochs: (epochs as f64 * 0.1).min(5.0),
                decay: LrDecay::Exponential,
                rate: 0.97,
                every: 2.4,
            },
            label_smoothing: 0.1,
            ema_decay: Some(0.9999),
            progressive,
            randaug_ops: 2,
            crop_pad: 0,
            flip: true,
            cutmix_alpha: 0.0,
            seed: 0,
            log_every: 50,
        }
    }

    /// Checks values a user could get wrong, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
        check(self.epochs > 0, "epochs must be at least 1".into())?;
        check(self.batch > 0, "batch must be at least 1".into())?;
        check(
            self.lr.lr.is_finite() && self.lr.lr > 0.0,
            format!("learning rate {} must be positive", self.lr.lr),
        )?;
        check(
            self.lr.warmup_epochs.is_finite() && self.lr.warmup_epochs >= 0.0,
            format!("warm-up {} must be 0 or more epochs", self.lr.warmup_epochs),
        )?;
        check(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            format!("weight decay {} must be 0 or more", self.weight_decay),
        )?;
        check(
            (0.0..1.0).contains(&self.label_smoothing),
            format!("label smoothing {} must be in [0, 1)", self.label_smoothing),
        )?;
        if let Some(d) = self.ema_decay {
            check(
                (0.0..1.0).contains(&d),
                format!("EMA decay {d} must be in [0, 1)"),
            )?;
        }
        check(
            self.cutmix_alpha.is_finite() && self.cutmix_alpha >= 0.0,
            format!("cutmix alpha {} must be 0 or more", self.cutmix_alpha),
        )?;
        self.progressive
            .validate()
            .map_err(|e| format!("progressive schedule: {e}"))
    }
}
