//! Uniform random search.

use rand::rngs::StdRng;
use space::{Choices, SearchSpace};

use super::{Observation, Strategy};

pub struct RandomSearch;

impl Strategy for RandomSearch {
    fn propose(&mut self, space: &SearchSpace, _: &[Observation], rng: &mut StdRng) -> Choices {
        space.sample(rng)
    }

    fn observe(&mut self, _: &SearchSpace, _: &Observation) {}
}
