//! Regularized (aging) evolution: the population is the most recent `population`
//! trials; each proposal mutates the best of `sample` of them drawn at random, so
//! old individuals die however good they were.

use rand::Rng;
use rand::rngs::StdRng;
use space::{Choices, SearchSpace};

use super::{Observation, Strategy};

pub struct RegularizedEvolution {
    pub population: usize,
    pub sample: usize,
}

impl RegularizedEvolution {
    pub fn new(population: usize, sample: usize) -> RegularizedEvolution {
        RegularizedEvolution {
            population: population.max(2),
            sample: sample.clamp(1, population.max(2)),
        }
    }
}

impl Strategy for RegularizedEvolution {
    fn propose(
        &mut self,
        space: &SearchSpace,
        history: &[Observation],
        rng: &mut StdRng,
    ) -> Choices {
        let alive: Vec<&Observation> = history.iter().filter(|o| o.reward.is_some()).collect();
        if alive.len() < self.population {
            return space.sample(rng);
        }
        let population = &alive[alive.len() - self.population..];
        let parent = (0..self.sample)
            .map(|_| population[rng.random_range(0..population.len())])
            .max_by(|a, b| {
                a.reward
                    .unwrap_or(f64::MIN)
                    .total_cmp(&b.reward.unwrap_or(f64::MIN))
            })
            .expect("sample is at least 1");
        space.mutate(&parent.choices, rng)
    }

    fn observe(&mut self, _: &SearchSpace, _: &Observation) {}
}
