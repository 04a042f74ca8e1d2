//! Uniform random search.

use rand::rngs::StdRng;
use space::{ChoiceSpace, Choices};

use super::{Observation, Strategy};

pub struct RandomSearch;

impl Strategy for RandomSearch {
    fn propose(&mut self, space: &dyn ChoiceSpace, _: &[Observation], rng: &mut StdRng) -> Choices {
        space.sample(rng)
    }

    fn observe(&mut self, _: &dyn ChoiceSpace, _: &Observation) {}
}
