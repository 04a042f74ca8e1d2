//! What a search strategy needs of a space: points as vectors of option indices,
//! how many options each dimension has, a key that names the network a point
//! stands for, and uniform sampling and one-step mutation. The stage spaces of
//! EfficientNetV2 ([`crate::SearchSpace`]) and NAS-Bench-201's cell
//! ([`crate::nb201::Nb201Space`]) both are one, so random search, evolution and
//! REINFORCE run on either unchanged.

use rand::{Rng, RngCore};

use crate::search_space::Choices;

pub trait ChoiceSpace {
    /// Number of options of every dimension, in [`Choices`] order.
    fn options(&self) -> Vec<usize>;

    /// The key of the network `choices` stands for, shared by points that differ
    /// only in choices without effect; `None` when the point is not a network of
    /// the space.
    fn key(&self, choices: &Choices) -> Option<String>;

    /// The dimensions whose value changes the network at `choices`.
    fn active_dimensions(&self, choices: &Choices) -> Vec<usize> {
        let _ = choices;
        let options = self.options();
        (0..options.len()).filter(|&d| options[d] > 1).collect()
    }

    /// A uniformly random point.
    fn sample(&self, rng: &mut dyn RngCore) -> Choices {
        Choices(
            self.options()
                .iter()
                .map(|&n| rng.random_range(0..n))
                .collect(),
        )
    }

    /// Changes exactly one active choice to a different option, so the network
    /// changes. Returns the input unchanged only when nothing can change.
    fn mutate(&self, choices: &Choices, rng: &mut dyn RngCore) -> Choices {
        let active = self.active_dimensions(choices);
        let mut mutated = choices.clone();
        if active.is_empty() {
            return mutated;
        }
        let d = active[rng.random_range(0..active.len())];
        let n = self.options()[d];
        // Draw among the n - 1 other options.
        let pick = rng.random_range(0..n - 1);
        mutated.0[d] = if pick >= choices.0[d] { pick + 1 } else { pick };
        mutated
    }
}
