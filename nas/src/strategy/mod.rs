//! Search strategies: given the trials so far, propose the next point of the
//! space. Each is seeded and rebuilt on resume by replaying the finished trials,
//! so a resumed search proposes what an uninterrupted one would have.

mod evolution;
mod random;
mod reinforce;

pub use evolution::RegularizedEvolution;
pub use random::RandomSearch;
pub use reinforce::Reinforce;

use rand::rngs::StdRng;
use records::Trial;
use serde::{Deserialize, Serialize};
use space::{ChoiceSpace, Choices};

use crate::halving::Ranking;

/// A finished trial as strategies see it: at its first rung, the one every
/// trained candidate reaches, so candidates compare at equal training.
#[derive(Clone, Debug)]
pub struct Observation {
    pub choices: Choices,
    /// `None` for failed, skipped and infeasible trials.
    pub reward: Option<f64>,
    /// The objectives of a Pareto search: proxy accuracy, median step time (ms)
    /// and parameters (`None` where `reward` is).
    pub objectives: Option<[f64; 3]>,
}

impl Observation {
    pub fn of(trial: &Trial) -> Observation {
        let reward = trial.first_rung_reward();
        let accuracy = trial.rungs.first().map(|r| r.accuracy).or(trial.accuracy);
        let objectives = match (reward, accuracy, trial.step_median()) {
            (Some(_), Some(a), Some(ms)) => Some([a, ms, trial.params as f64]),
            _ => None,
        };
        Observation {
            choices: trial.choices.clone(),
            reward,
            objectives,
        }
    }
}

pub trait Strategy {
    /// The next point to evaluate.
    fn propose(
        &mut self,
        space: &dyn ChoiceSpace,
        history: &[Observation],
        rng: &mut StdRng,
    ) -> Choices;
    /// Learns from a finished trial (called in trial order, also when replaying).
    fn observe(&mut self, space: &dyn ChoiceSpace, observation: &Observation);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Uniform sampling.
    Random,
    /// Regularized (aging) evolution (Real et al., 2019).
    Evolution,
    /// A REINFORCE controller over the choices, as in the paper's NAS.
    Reinforce,
    /// Aging evolution whose tournaments pick by non-dominated front and crowding
    /// (NSGA-II) over accuracy, step time and parameters instead of the reward.
    Pareto,
}

impl StrategyKind {
    /// The strategy for a search of `budget` candidates. Evolution's population
    /// and tournament follow the budget — population min(16, budget/2), at least 2;
    /// tournament a quarter of it, at least 2 — so a small search still evolves
    /// rather than sampling at random throughout.
    pub fn build(self, space: &dyn ChoiceSpace, budget: usize) -> Box<dyn Strategy + Send> {
        let (population, sample) = evolution_sizes(budget);
        match self {
            StrategyKind::Random => Box::new(RandomSearch),
            StrategyKind::Evolution => Box::new(RegularizedEvolution::new(
                population,
                sample,
                Ranking::Reward,
            )),
            StrategyKind::Reinforce => Box::new(Reinforce::new(space, 0.5, 0.9)),
            StrategyKind::Pareto => Box::new(RegularizedEvolution::new(
                population,
                sample,
                Ranking::Pareto,
            )),
        }
    }

    /// How successive halving ranks candidates at a rung for this strategy.
    pub fn ranking(self) -> Ranking {
        match self {
            StrategyKind::Pareto => Ranking::Pareto,
            _ => Ranking::Reward,
        }
    }
}

/// Evolution's population and tournament size for a search of `budget`.
pub fn evolution_sizes(budget: usize) -> (usize, usize) {
    let population = (budget / 2).clamp(2, 16);
    (population, (population / 4).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evolution_follows_the_budget() {
        assert_eq!(evolution_sizes(1), (2, 2));
        assert_eq!(evolution_sizes(8), (4, 2));
        assert_eq!(evolution_sizes(20), (10, 2));
        assert_eq!(evolution_sizes(32), (16, 4));
        assert_eq!(evolution_sizes(1000), (16, 4));
    }
}
