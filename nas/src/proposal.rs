//! The one loop that turns a strategy's picks into new networks, for the local
//! driver and the shared worker alike: the strategy replays the finished trials,
//! proposes, and a pick whose network was proposed before is drawn again (after
//! half the attempts from the space at random, for a strategy that keeps returning
//! to what it knows); after [`MAX_DUPLICATE_PROPOSALS`] the space is taken as
//! exhausted. Every random draw of a search comes from a stream named here, so a
//! resumed or restarted search proposes what an uninterrupted one would have.

use std::collections::HashSet;

use rand::Rng;
use records::{Proposal, Trial};
use space::{ChoiceSpace, Choices, SearchSpace};
use train::rng_for;

use crate::strategy::{Observation, Strategy, StrategyKind};

/// Picks that keep landing on known networks end the proposing after this many.
pub const MAX_DUPLICATE_PROPOSALS: usize = 200;

/// Salts of the search's random streams: proposals, trial evaluations, reference
/// networks, the variants of the paper's Table 3, and a proxy check's networks and
/// the sampling that picks them.
const PROPOSAL: u64 = 0x9A;
const TRIAL: u64 = 0x7E;
const REFERENCE: u64 = 0x8EF;
const VARIANT: u64 = 0xF5;
const CHECK: u64 = 0x9C;
const SAMPLING: u64 = 0x5A3;

/// The seed trial `id` of a search seeded `seed` is evaluated with (its step
/// timing and proxy training), whichever process evaluates it.
pub fn trial_seed(seed: u64, id: usize) -> u64 {
    rng_for(&[seed, id as u64, TRIAL]).random()
}

/// The seed the `index`-th reference network is evaluated with.
pub fn reference_seed(seed: u64, index: usize) -> u64 {
    rng_for(&[seed, index as u64, REFERENCE]).random()
}

/// The seed the `index`-th Table 3 variant of a reproduction seeded `seed` is
/// evaluated with.
pub fn variant_seed(seed: u64, index: usize) -> u64 {
    rng_for(&[seed, index as u64, VARIANT]).random()
}

/// The seed network `index` of a proxy check seeded `seed` is timed and trained
/// with, the same under every setting (so settings differ only in themselves).
pub fn check_seed(seed: u64, index: usize) -> u64 {
    rng_for(&[seed, index as u64, CHECK]).random()
}

/// The stream a proxy check seeded `seed` samples its networks from.
pub fn sampling_rng(seed: u64) -> rand::rngs::StdRng {
    rng_for(&[seed, SAMPLING])
}

/// A strategy that has seen a search's finished trials, and the networks proposed
/// so far.
pub struct Proposer {
    strategy: Box<dyn Strategy + Send>,
    history: Vec<Observation>,
    /// Canonical keys of every network proposed, finished or not.
    proposed: HashSet<String>,
}

impl Proposer {
    /// `kind`'s strategy for a search of `budget` candidates after replaying
    /// `finished` in order; `proposed` holds the keys of every proposal made so
    /// far (those of `finished` are added).
    pub fn new(
        kind: StrategyKind,
        space: &dyn ChoiceSpace,
        budget: usize,
        finished: &[Trial],
        proposed: impl IntoIterator<Item = String>,
    ) -> Proposer {
        let mut proposer = Proposer {
            strategy: kind.build(space, budget),
            history: Vec::new(),
            proposed: proposed.into_iter().collect(),
        };
        for trial in finished {
            proposer.proposed.insert(trial.key.clone());
            proposer.observe(space, trial);
        }
        proposer
    }

    /// Learns from a finished trial (once, when its first rung is recorded).
    pub fn observe(&mut self, space: &dyn ChoiceSpace, trial: &Trial) {
        self.learn(space, Observation::of(trial));
    }

    /// Learns from a finished evaluation that has no trial record (a tabular one).
    pub fn learn(&mut self, space: &dyn ChoiceSpace, observation: Observation) {
        self.strategy.observe(space, &observation);
        self.history.push(observation);
    }

    /// How many networks have been proposed.
    pub fn count(&self) -> usize {
        self.proposed.len()
    }

    /// The search's proposal number `id` (its `id`-th, from 0): a network not
    /// proposed before, or `None` when the picks keep landing on known ones.
    pub fn propose(&mut self, space: &SearchSpace, seed: u64, id: usize) -> Option<Proposal> {
        let (choices, key) = self.propose_point(space, seed, id)?;
        let spec = space.decode(&choices).ok()?;
        Some(Proposal {
            id,
            spec,
            key,
            choices,
        })
    }

    /// The search's proposal number `id` in any space: a point whose network was
    /// not proposed before, and its key.
    pub fn propose_point(
        &mut self,
        space: &dyn ChoiceSpace,
        seed: u64,
        id: usize,
    ) -> Option<(Choices, String)> {
        let mut rng = rng_for(&[seed, id as u64, PROPOSAL]);
        for attempt in 0..MAX_DUPLICATE_PROPOSALS {
            let choices = if attempt < MAX_DUPLICATE_PROPOSALS / 2 {
                self.strategy.propose(space, &self.history, &mut rng)
            } else {
                space.sample(&mut rng)
            };
            let Some(key) = space.key(&choices) else {
                continue;
            };
            if self.proposed.insert(key.clone()) {
                return Some((choices, key));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::spaces::builtin_space;

    #[test]
    fn proposals_are_new_and_repeat_under_the_seed() {
        let space = builtin_space("paper").unwrap();
        let mut a = Proposer::new(StrategyKind::Random, &space, 8, &[], []);
        let first: Vec<Proposal> = (0..5).map(|i| a.propose(&space, 7, i).unwrap()).collect();
        let keys: HashSet<&String> = first.iter().map(|p| &p.key).collect();
        assert_eq!((keys.len(), a.count()), (5, 5));
        // A restarted process that knows what was proposed proposes the same next.
        let mut b = Proposer::new(
            StrategyKind::Random,
            &space,
            8,
            &[],
            first.iter().map(|p| p.key.clone()),
        );
        assert_eq!(a.propose(&space, 7, 5), b.propose(&space, 7, 5));
        assert_ne!(trial_seed(7, 1), trial_seed(7, 2));
        assert_ne!(trial_seed(7, 1), reference_seed(7, 1));
    }

    #[test]
    fn a_space_with_one_network_is_exhausted_after_it() {
        let mut space = builtin_space("paper").unwrap();
        for stage in &mut space.stages {
            stage.ops.truncate(1);
            stage.kernels.truncate(1);
            stage.expand_ratios.truncate(1);
            stage.se_ratios.truncate(1);
            stage.width_multipliers.truncate(1);
            stage.repeats = [stage.repeats[1]; 2];
        }
        let mut p = Proposer::new(StrategyKind::Evolution, &space, 8, &[], []);
        assert!(p.propose(&space, 0, 0).is_some());
        assert!(p.propose(&space, 0, 1).is_none());
    }
}
