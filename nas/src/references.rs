//! Reference networks (known presets, earlier finds) evaluated exactly like the
//! candidates, so a report can place the search's results beside them. They use
//! no budget and no strategy learns from them.

use candle_core::Device;
use models::ops::OpSet;
use records::{Proposal, Trial};
use space::ArchSpec;
use train::Splits;

use crate::config::SearchConfig;
use crate::evaluator::Evaluator;
use crate::proposal::reference_seed;
use crate::store::{StoreError, TrialStore};

/// Evaluates `pending` — the networks `config.references` names after those the
/// store holds, with the names they were given — recording each as it finishes;
/// returns all of them, old and new.
pub fn evaluate_references(
    store: &mut dyn TrialStore,
    config: &SearchConfig,
    pending: &[(String, ArchSpec)],
    splits: &Splits,
    device: &Device,
    ops: OpSet,
    on_start: &mut dyn FnMut(&str),
) -> Result<Vec<Trial>, StoreError> {
    let mut done = store.references()?;
    let evaluator = Evaluator {
        config: &config.evaluator,
        splits,
        device,
        ops,
        rungs_dir: None,
    };
    // Recorded in the order asked for: the store holds the first `done.len()`.
    for (name, spec) in pending {
        let i = done.len();
        on_start(name);
        let proposal = Proposal::network(i, spec.clone());
        let trial = evaluator.evaluate(&proposal, reference_seed(config.seed, i));
        store.append_reference(&trial)?;
        done.push(trial);
    }
    Ok(done)
}
