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
use serde::{Deserialize, Serialize};
use space::{Choices, SearchSpace};

/// A finished trial as strategies see it.
#[derive(Clone, Debug)]
pub struct Observation {
    pub choices: Choices,
    /// `None` for failed or skipped trials.
    pub reward: Option<f64>,
}

pub trait Strategy {
    /// The next point to evaluate.
    fn propose(
        &mut self,
        space: &SearchSpace,
        history: &[Observation],
        rng: &mut StdRng,
    ) -> Choices;
    /// Learns from a finished trial (called in trial order, also when replaying).
    fn observe(&mut self, space: &SearchSpace, observation: &Observation);
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
}

impl StrategyKind {
    pub fn build(self, space: &SearchSpace) -> Box<dyn Strategy + Send> {
        match self {
            StrategyKind::Random => Box::new(RandomSearch),
            StrategyKind::Evolution => Box::new(RegularizedEvolution::new(16, 4)),
            StrategyKind::Reinforce => Box::new(Reinforce::new(space, 0.5, 0.9)),
        }
    }
}
