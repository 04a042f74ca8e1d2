//! The search's reward (paper §3.3): accuracy, discounted by training step time and
//! parameters relative to a reference network. Saved with every search and proxy
//! check, and recomputed by the reports.

use serde::{Deserialize, Serialize};

/// The reward's exponents and the reference it normalises by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    /// Exponent of normalised step time (the paper's w = −0.07).
    pub w: f64,
    /// Exponent of normalised parameters (the paper's v = −0.05).
    pub v: f64,
    pub reference_step_ms: f64,
    pub reference_params: u64,
}

impl Reward {
    /// `A · (S/S_ref)^w · (P/P_ref)^v`.
    pub fn of(&self, accuracy: f64, step_ms: f64, params: u64) -> f64 {
        accuracy
            * (step_ms / self.reference_step_ms).powf(self.w)
            * (params as f64 / self.reference_params as f64).powf(self.v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_follows_the_paper() {
        let r = Reward {
            w: -0.07,
            v: -0.05,
            reference_step_ms: 100.0,
            reference_params: 1_000_000,
        };
        assert!((r.of(0.8, 100.0, 1_000_000) - 0.8).abs() < 1e-12);
        // Twice as slow costs 2^-0.07 ≈ 4.7%; twice the parameters 2^-0.05 ≈ 3.4%.
        assert!((r.of(0.8, 200.0, 1_000_000) - 0.8 * 2f64.powf(-0.07)).abs() < 1e-12);
        assert!((r.of(0.8, 100.0, 2_000_000) - 0.8 * 2f64.powf(-0.05)).abs() < 1e-12);
        assert!(r.of(0.8, 50.0, 500_000) > 0.8);
    }
}
