//! Everything a training run is configured with; saved beside the run so
//! `--resume` continues it exactly.

use serde::{Deserialize, Serialize};

use space::SmallImages;

use crate::error::SettingError;
use crate::progressive::Progressive;
use crate::schedule::{LrDecay, LrSchedule};

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

impl OptimizerKind {
    /// The peak learning rate, weight decay and decay schedule this optimizer
    /// trains with by default at `batch` images a step: the paper's for RMSProp,
    /// common practice for the others.
    pub fn defaults(self, batch: usize) -> (f64, f64, LrDecay) {
        let per256 = batch as f64 / 256.0;
        match self {
            OptimizerKind::Rmsprop => (0.016 * per256, 1e-5, LrDecay::Exponential),
            OptimizerKind::Sgd => (0.1 * per256, 5e-5, LrDecay::Cosine),
            OptimizerKind::AdamW => (0.004 * per256, 0.05, LrDecay::Cosine),
        }
    }
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
    /// How the network is fitted to images smaller than it was designed for
    /// (runs saved before this setting existed trained networks unchanged).
    #[serde(default = "unchanged")]
    pub small_images: SmallImages,
}

fn unchanged() -> SmallImages {
    SmallImages::Unchanged
}

/// The search's proxy unless told otherwise (`search --proxy-…`): epochs, batch,
/// image side and how networks are fitted to the small images.
pub const PROXY_EPOCHS: usize = 2;
pub const PROXY_BATCH: usize = 64;
pub const PROXY_SIZE: usize = 32;
pub const PROXY_STRIDES: SmallImages = SmallImages::Unchanged;

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
            small_images: SmallImages::Unchanged,
        }
    }

    /// The search's proxy training: a short run at a fixed small size, tuned to
    /// rank networks after a few hundred steps rather than to reach their best —
    /// AdamW (lr 0.002 per 128 images, weight decay 0.05) with a cosine decay after
    /// a warm-up of 15% of the run, dropout 0.2, crop padding 2, no RandAugment,
    /// Mixup or EMA, nothing logged per step — with the network fitted to the
    /// small images by `small_images`.
    pub fn proxy(
        epochs: usize,
        batch: usize,
        size: usize,
        small_images: SmallImages,
    ) -> TrainConfig {
        let mut c = TrainConfig::paper(epochs, batch, Progressive::fixed(size, 0.2, 0.0, 0.0));
        c.optimizer = OptimizerKind::AdamW;
        c.lr.lr = 0.002 * batch as f64 / 128.0;
        c.lr.decay = LrDecay::Cosine;
        c.lr.warmup_epochs = 0.15 * epochs as f64;
        c.weight_decay = 0.05;
        c.ema_decay = None;
        c.crop_pad = 2;
        c.log_every = 0;
        c.small_images = small_images;
        c
    }

    /// This proxy split into `rungs` stages of progressive learning, from
    /// `min_size` up to its own size, with dropout rising from half its value to
    /// its own: the rungs of a successive-halving search, each a stage a
    /// candidate trains only if it ranked well at the one before. One rung leaves
    /// the proxy as it is.
    pub fn in_rungs(mut self, rungs: usize, min_size: usize) -> TrainConfig {
        if rungs > 1 {
            let last = self.progressive.at(self.progressive.stages - 1);
            self.progressive = Progressive {
                stages: rungs,
                size: [min_size, last.size],
                dropout: [last.dropout / 2.0, last.dropout],
                randaug: [last.randaug; 2],
                mixup: [last.mixup; 2],
                adaptive: true,
            };
        }
        self
    }

    /// Checks values a user could get wrong, naming the setting.
    pub fn validate(&self) -> Result<(), SettingError> {
        let check = |ok: bool, setting: &str, value: &dyn std::fmt::Display, rule: &str| {
            if ok {
                Ok(())
            } else {
                Err(SettingError::new(setting, value, rule))
            }
        };
        check(self.epochs > 0, "epochs", &self.epochs, "at least 1")?;
        check(self.batch > 0, "batch", &self.batch, "at least 1")?;
        let lr = self.lr.lr;
        check(lr.is_finite() && lr > 0.0, "learning rate", &lr, "positive")?;
        let warmup = self.lr.warmup_epochs;
        check(
            warmup.is_finite() && warmup >= 0.0,
            "warm-up",
            &warmup,
            "0 or more epochs",
        )?;
        let wd = self.weight_decay;
        check(
            wd.is_finite() && wd >= 0.0,
            "weight decay",
            &wd,
            "0 or more",
        )?;
        let ls = self.label_smoothing;
        check(
            (0.0..1.0).contains(&ls),
            "label smoothing",
            &ls,
            "in [0, 1)",
        )?;
        if let Some(d) = self.ema_decay {
            check((0.0..1.0).contains(&d), "EMA decay", &d, "in [0, 1)")?;
        }
        let cutmix = self.cutmix_alpha;
        check(
            cutmix.is_finite() && cutmix >= 0.0,
            "cutmix alpha",
            &cutmix,
            "0 or more",
        )?;
        self.progressive
            .validate()
            .map_err(|e| e.within("progressive schedule"))
    }
}
