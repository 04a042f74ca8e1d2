//! A training run's `metrics.jsonl`: one [`MetricLine`] per line, tagged by
//! `kind` — a line every few steps, one per epoch, and one if the loss diverged.

use serde::{Deserialize, Serialize};

/// What one stage of progressive learning trains with (paper §4, Algorithm 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageSettings {
    #[serde(default)]
    pub stage: usize,
    /// Image side, pixels.
    pub size: usize,
    #[serde(default)]
    pub dropout: f64,
    /// RandAugment magnitude (0–30 scale).
    #[serde(default)]
    pub randaug: f64,
    /// Mixup alpha.
    #[serde(default)]
    pub mixup: f64,
}

/// A number written as `null` reads as NaN: serde_json writes a NaN (a loss that
/// blew up in evaluation, say) as `null`, and the record must still read back.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One epoch's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    #[serde(flatten)]
    pub stage: StageSettings,
    /// The learning rate at the epoch's last step.
    #[serde(default, deserialize_with = "nan_if_null")]
    pub lr: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub train_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub train_acc: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_loss: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub val_acc: f64,
    /// Validation accuracy of the raw weights when EMA weights are evaluated.
    #[serde(default)]
    pub raw_val_acc: Option<f64>,
    #[serde(default, deserialize_with = "nan_if_null")]
    pub images_per_s: f64,
    #[serde(default, deserialize_with = "nan_if_null")]
    pub epoch_s: f64,
    #[serde(default, deserialize_with = "nan_if_null")]
    pub data_wait_s: f64,
    /// Training time since the run started (across resumes), seconds.
    #[serde(default, deserialize_with = "nan_if_null")]
    pub wall_s: f64,
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricLine {
    /// Every `log_every` steps: the step's loss and learning rate.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// Steps since the run started.
        step: u64,
        loss: f64,
        #[serde(default)]
        lr: f64,
        #[serde(default)]
        size: usize,
    },
    Epoch(EpochRecord),
    /// The loss became NaN or infinite in this (1-based) epoch; training stopped.
    Diverged {
        epoch: usize,
        step: u64,
    },
    /// A kind of line this version does not know (written by a newer one).
    #[serde(other)]
    Other,
}

impl MetricLine {
    /// The 1-based epoch the line belongs to.
    pub fn epoch(&self) -> Option<usize> {
        match self {
            MetricLine::Step { epoch, .. } | MetricLine::Diverged { epoch, .. } => Some(*epoch),
            MetricLine::Epoch(e) => Some(e.epoch),
            MetricLine::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_tagged_by_kind_and_read_back() {
        let epoch = MetricLine::Epoch(EpochRecord {
            epoch: 2,
            stage: StageSettings {
                stage: 1,
                size: 24,
                dropout: 0.1,
                randaug: 3.0,
                mixup: 0.0,
            },
            lr: 1e-3,
            train_loss: 1.5,
            train_acc: 0.4,
            val_loss: 1.2,
            val_acc: 0.6,
            raw_val_acc: None,
            images_per_s: 100.0,
            epoch_s: 3.0,
            data_wait_s: 0.0,
            wall_s: 6.5,
        });
        let text = serde_json::to_string(&epoch).unwrap();
        assert!(text.starts_with("{\"kind\":\"epoch\",\"epoch\":2,\"stage\":1,\"size\":24"));
        assert_eq!(serde_json::from_str::<MetricLine>(&text).unwrap(), epoch);
        // Keys in any order, as older versions wrote them, and sparse step lines.
        let old = r#"{"epoch":1,"kind":"step","loss":2.5,"step":50}"#;
        assert_eq!(
            serde_json::from_str::<MetricLine>(old).unwrap(),
            MetricLine::Step {
                epoch: 1,
                step: 50,
                loss: 2.5,
                lr: 0.0,
                size: 0
            }
        );
        let future = r#"{"kind":"checkpoint","epoch":3}"#;
        let line = serde_json::from_str::<MetricLine>(future).unwrap();
        assert_eq!((line.clone(), line.epoch()), (MetricLine::Other, None));
        assert!(serde_json::from_str::<MetricLine>(r#"{"kind":"epoch","epoch":1}"#).is_err());
        // A NaN is written as null and reads back as NaN.
        let mut nan = epoch.clone();
        if let MetricLine::Epoch(e) = &mut nan {
            e.val_loss = f64::NAN;
        }
        let text = serde_json::to_string(&nan).unwrap();
        assert!(text.contains("\"val_loss\":null"), "{text}");
        match serde_json::from_str::<MetricLine>(&text).unwrap() {
            MetricLine::Epoch(e) => assert!(e.val_loss.is_nan() && e.val_acc == 0.6),
            other => panic!("{other:?}"),
        }
    }
}
