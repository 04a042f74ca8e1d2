//! The reproduction's last step: the network the search found, scaled into an
//! S/M/L family as the paper scaled EfficientNetV2-S (paper §3.4).

use records::{RecordsError, ReproductionDir};
use space::FamilyMember;

/// What became of the family.
pub enum FamilyOutcome {
    /// The search has no finished trial yet.
    NoBest,
    /// The scaler cannot grow the found network: a finding to report, not a reason
    /// to withhold the rest of the reproduction.
    CannotScale { network: String, reason: String },
    /// Written to `family.json`.
    Scaled(Vec<FamilyMember>),
}

/// Scales the search's best trial into its family and saves it.
pub fn scale_best(dir: &ReproductionDir) -> Result<FamilyOutcome, RecordsError> {
    let Some(best) = dir.search().best()? else {
        return Ok(FamilyOutcome::NoBest);
    };
    match space::family(&best.spec) {
        Ok(family) => {
            dir.save_family(&family)?;
            Ok(FamilyOutcome::Scaled(family))
        }
        Err(e) => Ok(FamilyOutcome::CannotScale {
            network: best.spec.name,
            reason: e.to_string(),
        }),
    }
}
