//! Regularized (aging) evolution: the population is the most recent `population`
//! trials; each proposal mutates the winner of a tournament of `sample` of them
//! drawn at random, so old individuals die however good they were. The winner is
//! the one with the highest reward or, for a Pareto search, the one first in
//! NSGA-II's order (front, then crowding) within the population.

use rand::Rng;
use rand::rngs::StdRng;
use space::{ChoiceSpace, Choices};

use super::{Observation, Strategy};
use crate::halving::Ranking;

pub struct RegularizedEvolution {
    pub population: usize,
    pub sample: usize,
    pub ranking: Ranking,
}

impl RegularizedEvolution {
    pub fn new(population: usize, sample: usize, ranking: Ranking) -> RegularizedEvolution {
        RegularizedEvolution {
            population: population.max(2),
            sample: sample.clamp(1, population.max(2)),
            ranking,
        }
    }

    /// Each member's place in the population's order, 0 best.
    fn places(&self, population: &[&Observation]) -> Vec<usize> {
        let entries: Vec<(f64, [f64; 3])> = population
            .iter()
            .map(|o| {
                let reward = o.reward.unwrap_or(f64::NAN);
                (reward, o.objectives.unwrap_or([f64::NAN; 3]))
            })
            .collect();
        let mut places = vec![0; population.len()];
        for (place, i) in self.ranking.order(&entries).into_iter().enumerate() {
            places[i] = place;
        }
        places
    }
}

impl Strategy for RegularizedEvolution {
    fn propose(
        &mut self,
        space: &dyn ChoiceSpace,
        history: &[Observation],
        rng: &mut StdRng,
    ) -> Choices {
        let alive: Vec<&Observation> = history.iter().filter(|o| o.reward.is_some()).collect();
        if alive.len() < self.population {
            return space.sample(rng);
        }
        let population = &alive[alive.len() - self.population..];
        let places = self.places(population);
        let winner = (0..self.sample)
            .map(|_| rng.random_range(0..population.len()))
            .min_by_key(|&i| places[i])
            .expect("sample is at least 1");
        space.mutate(&population[winner].choices, rng)
    }

    fn observe(&mut self, _: &dyn ChoiceSpace, _: &Observation) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(reward: Option<f64>, objectives: Option<[f64; 3]>) -> Observation {
        Observation {
            choices: Choices(Vec::new()),
            reward,
            objectives,
        }
    }

    #[test]
    fn tournaments_rank_by_reward_or_by_front_and_crowding() {
        let population = [
            obs(Some(0.5), Some([0.9, 100.0, 5e6])),
            obs(Some(0.7), Some([0.8, 150.0, 6e6])),
            obs(Some(0.6), Some([0.85, 50.0, 1e6])),
            obs(Some(f64::NAN), None),
        ];
        let members: Vec<&Observation> = population.iter().collect();
        let by_reward = RegularizedEvolution::new(4, 2, Ranking::Reward).places(&members);
        // Highest reward first; a NaN reward (which total_cmp would put above
        // everything) last.
        assert_eq!(by_reward, [2, 0, 1, 3]);
        let pareto = RegularizedEvolution::new(4, 2, Ranking::Pareto).places(&members);
        // 1 is dominated by 0; 0 and 2 form the front; the NaN is last.
        assert!(pareto[0] < pareto[1] && pareto[2] < pareto[1]);
        assert_eq!(pareto[3], 3);
    }
}
