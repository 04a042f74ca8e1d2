//! Learning-rate schedules: linear warm-up, then the paper's exponential decay
//! (×0.97 every 2.4 epochs) or a cosine to zero.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LrDecay {
    /// ×`rate` every `every` epochs, in steps (TensorFlow's staircase).
    Exponential,
    Cosine,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// Peak learning rate, reached at the end of warm-up.
    pub lr: f64,
    pub warmup_epochs: f64,
    pub decay: LrDecay,
    /// Exponential decay: factor and period in epochs.
    #[serde(default = "rate")]
    pub rate: f64,
    #[serde(default = "every")]
    pub every: f64,
}

fn rate() -> f64 {
    0.97
}

fn every() -> f64 {
    2.4
}

impl LrSchedule {
    /// The learning rate at fractional epoch `t` of `total` epochs.
    pub fn at(&self, t: f64, total: f64) -> f64 {
        if t < self.warmup_epochs {
            return self.lr * t / self.warmup_epochs;
        }
        let after = t - self.warmup_epochs;
        match self.decay {
            LrDecay::Exponential => self.lr * self.rate.powf((after / self.every).floor()),
            LrDecay::Cosine => {
                let span = (total - self.warmup_epochs).max(f64::EPSILON);
                0.5 * self.lr * (1.0 + (std::f64::consts::PI * (after / span).min(1.0)).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_decay() {
        let s = LrSchedule {
            lr: 0.016,
            warmup_epochs: 5.0,
            decay: LrDecay::Exponential,
            rate: 0.97,
            every: 2.4,
        };
        assert_eq!(s.at(0.0, 350.0), 0.0);
        assert!((s.at(2.5, 350.0) - 0.008).abs() < 1e-15);
        assert_eq!(s.at(5.0, 350.0), 0.016);
        assert_eq!(s.at(7.3, 350.0), 0.016);
        assert!((s.at(7.4, 350.0) - 0.016 * 0.97).abs() < 1e-15);
        assert!((s.at(5.0 + 24.0, 350.0) - 0.016 * 0.97f64.powi(10)).abs() < 1e-15);
        let c = LrSchedule {
            decay: LrDecay::Cosine,
            warmup_epochs: 1.0,
            ..s
        };
        assert_eq!(c.at(1.0, 11.0), 0.016);
        assert!((c.at(6.0, 11.0) - 0.008).abs() < 1e-15);
        assert!(c.at(11.0, 11.0).abs() < 1e-15);
    }
}
