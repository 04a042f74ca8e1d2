//! Progressive learning with adaptive regularization (paper §4, Algorithm 1):
//! training is split into M stages; stage i trains at image size
//! `S_i = S_0 + (S_e − S_0)·i/(M−1)` with every regularization magnitude
//! `φ_i = φ_0 + (φ_e − φ_0)·i/(M−1)`. Weights carry over between stages.

use records::StageSettings;
use serde::{Deserialize, Serialize};

use crate::error::SettingError;

/// A `[min, max]` pair interpolated across the stages.
pub type Range = [f64; 2];

/// The schedule of image size and regularization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progressive {
    /// M; 1 trains at the final size throughout.
    pub stages: usize,
    /// Image side, first and last stage.
    pub size: [usize; 2],
    pub dropout: Range,
    pub randaug: Range,
    pub mixup: Range,
    /// False keeps every regularization at its maximum in all stages (progressive
    /// resizing alone, the paper's "vanilla" baseline of Table 13).
    #[serde(default = "yes")]
    pub adaptive: bool,
}

fn yes() -> bool {
    true
}

/// Names of the built-in schedules.
pub const PRESETS: [&str; 4] = ["proxy", "s", "m", "l"];

impl Progressive {
    /// Paper Table 6 for S, M and L (four stages, as the paper trains them), and a
    /// proxy for small images: 16 → 32 px with light regularization.
    pub fn preset(name: &str) -> Option<Progressive> {
        let p = |size, dropout, randaug, mixup| Progressive {
            stages: 4,
            size,
            dropout,
            randaug,
            mixup,
            adaptive: true,
        };
        Some(match name {
            "proxy" => p([16, 32], [0.05, 0.2], [0.0, 6.0], [0.0, 0.1]),
            "s" => p([128, 300], [0.1, 0.3], [5.0, 15.0], [0.0, 0.0]),
            "m" => p([128, 380], [0.1, 0.4], [5.0, 20.0], [0.0, 0.2]),
            "l" => p([128, 380], [0.1, 0.5], [5.0, 25.0], [0.0, 0.4]),
            _ => return None,
        })
    }

    /// One stage at a fixed size with fixed regularization.
    pub fn fixed(size: usize, dropout: f64, randaug: f64, mixup: f64) -> Progressive {
        Progressive {
            stages: 1,
            size: [size, size],
            dropout: [dropout, dropout],
            randaug: [randaug, randaug],
            mixup: [mixup, mixup],
            adaptive: true,
        }
    }

    /// This schedule collapsed to its last stage: the fixed-size baseline.
    pub fn final_stage_only(&self) -> Progressive {
        let last = self.at(self.stages - 1);
        Progressive::fixed(last.size, last.dropout, last.randaug, last.mixup)
    }

    pub fn validate(&self) -> Result<(), SettingError> {
        if self.stages == 0 {
            return Err(SettingError::new("stages", self.stages, "at least 1"));
        }
        if self.size[0] == 0 || self.size[0] > self.size[1] {
            return Err(SettingError::new(
                "size",
                format!("{:?}", self.size),
                "positive and increasing",
            ));
        }
        for (name, r, max) in [
            ("dropout", self.dropout, 0.99),
            ("randaug", self.randaug, 100.0),
            ("mixup", self.mixup, 100.0),
        ] {
            if !(r[0].is_finite() && r[1].is_finite() && 0.0 <= r[0] && r[0] <= r[1] && r[1] <= max)
            {
                return Err(SettingError::new(
                    name,
                    format!("{r:?}"),
                    format!("increasing, in [0, {max}]"),
                ));
            }
        }
        Ok(())
    }

    /// Settings of stage `i` (0-based), exactly Algorithm 1's interpolation.
    pub fn at(&self, i: usize) -> StageSettings {
        let t = if self.stages > 1 {
            i.min(self.stages - 1) as f64 / (self.stages - 1) as f64
        } else {
            1.0
        };
        let lerp = |r: Range| r[0] + (r[1] - r[0]) * t;
        let regular = |r: Range| if self.adaptive { lerp(r) } else { r[1] };
        let size = self.size[0] as f64 + (self.size[1] - self.size[0]) as f64 * t;
        StageSettings {
            stage: i,
            size: size.round() as usize,
            dropout: regular(self.dropout),
            randaug: regular(self.randaug),
            mixup: regular(self.mixup),
        }
    }

    /// The stage epoch `epoch` (0-based) of `epochs` belongs to: equal shares.
    pub fn stage_of(&self, epoch: usize, epochs: usize) -> usize {
        (epoch * self.stages / epochs.max(1)).min(self.stages - 1)
    }

    /// How many epochs of `epochs` are done when each stage ends: `ends[i]` is the
    /// epoch count after stage i (a stage given no epoch ends where the one before
    /// it did).
    pub fn stage_ends(&self, epochs: usize) -> Vec<usize> {
        (0..self.stages)
            .map(|stage| {
                (0..epochs)
                    .filter(|&e| self.stage_of(e, epochs) <= stage)
                    .count()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_exactly_as_algorithm_1() {
        let s = Progressive::preset("s").unwrap();
        let stages: Vec<StageSettings> = (0..4).map(|i| s.at(i)).collect();
        assert_eq!(
            stages.iter().map(|s| s.size).collect::<Vec<_>>(),
            [128, 185, 243, 300]
        );
        assert_eq!(stages[0].randaug, 5.0);
        assert!((stages[1].randaug - 5.0 - 10.0 / 3.0).abs() < 1e-12);
        assert_eq!(stages[3].randaug, 15.0);
        assert!((stages[2].dropout - (0.1 + 0.2 * 2.0 / 3.0)).abs() < 1e-12);
        let l = Progressive::preset("l").unwrap();
        assert_eq!(
            (l.at(0).mixup, l.at(3).mixup, l.at(3).dropout, l.at(3).size),
            (0.0, 0.4, 0.5, 380)
        );
    }

    #[test]
    fn vanilla_progressive_keeps_regularization_at_its_maximum() {
        let p = Progressive {
            adaptive: false,
            ..Progressive::preset("m").unwrap()
        };
        for i in 0..4 {
            assert_eq!(
                (p.at(i).randaug, p.at(i).mixup, p.at(i).dropout),
                (20.0, 0.2, 0.4)
            );
        }
        assert_eq!(p.at(0).size, 128);
    }

    #[test]
    fn epochs_split_evenly_and_fixed_is_one_stage() {
        let p = Progressive::preset("proxy").unwrap();
        let stages: Vec<usize> = (0..8).map(|e| p.stage_of(e, 8)).collect();
        assert_eq!(stages, [0, 0, 1, 1, 2, 2, 3, 3]);
        assert_eq!(
            (0..3).map(|e| p.stage_of(e, 3)).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(p.stage_ends(8), [2, 4, 6, 8]);
        assert_eq!(p.stage_ends(3), [1, 2, 3, 3]);
        let f = p.final_stage_only();
        assert_eq!((f.stages, f.at(0).size, f.at(0).dropout), (1, 32, 0.2));
        assert!(
            Progressive {
                size: [32, 16],
                ..p.clone()
            }
            .validate()
            .is_err()
        );
        assert!(Progressive { stages: 0, ..p }.validate().is_err());
    }
}
