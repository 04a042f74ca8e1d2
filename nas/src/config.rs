//! Everything a search is run with, saved when it starts (`config.json`, or the
//! run's row in PostgreSQL) so that it resumes — on any machine — exactly as it
//! began.

use serde::{Deserialize, Serialize};
use space::SearchSpace;
use train::{DataError, Splits};

use crate::evaluator::EvaluatorConfig;
use crate::strategy::StrategyKind;

/// Everything needed to run, or resume, a search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchConfig {
    pub space: SearchSpace,
    pub strategy: StrategyKind,
    pub budget: usize,
    /// Stop proposing after this many seconds of this process.
    pub time_budget_s: Option<f64>,
    pub seed: u64,
    /// The `--data` argument (`None`: the embedded subset).
    pub data: Option<String>,
    /// Proxy training uses this many training images of the data, spread over the set (`None`:
    /// all of them).
    #[serde(default)]
    pub proxy_images: Option<usize>,
    /// The network S and P are normalised by.
    pub reference: String,
    pub evaluator: EvaluatorConfig,
    /// Workers of the process that saved the settings; each process runs as many
    /// as it is given devices for, whatever this says.
    pub workers: usize,
    /// Networks (presets or spec files) evaluated the same way as the candidates,
    /// for comparison in the report; they use no budget and no strategy learns
    /// from them.
    #[serde(default)]
    pub references: Vec<String>,
    /// Heartbeats and retries of a search shared through PostgreSQL.
    #[serde(default)]
    pub sharing: Sharing,
    /// Successive halving's reduction factor: the top 1/η of a rung rise to the
    /// next. The rungs are the proxy's progressive stages (one: no halving).
    #[serde(default = "default_eta")]
    pub eta: usize,
}

fn default_eta() -> usize {
    crate::halving::DEFAULT_ETA
}

impl SearchConfig {
    /// The rungs of successive halving: the proxy's progressive stages.
    pub fn rungs(&self) -> usize {
        self.evaluator.proxy.progressive.stages
    }

    /// How the search promotes candidates through its rungs.
    pub fn halving(&self) -> crate::halving::Plan {
        crate::halving::Plan {
            rungs: self.rungs(),
            eta: self.eta,
            ranking: self.strategy.ranking(),
        }
    }

    /// The `--data` argument the search trains its candidates on.
    pub fn data_name(&self) -> &str {
        self.data.as_deref().unwrap_or("embedded")
    }

    /// The data the candidates' proxy training uses: the search's data set, cut to
    /// `proxy_images` training images.
    pub fn load_data(&self) -> Result<Splits, DataError> {
        Ok(train::load_data(Some(self.data_name()))?.with_train_images(self.proxy_images))
    }
}

/// How the workers of a shared search pace heartbeats and retries: part of the
/// search's saved settings, so that every worker judges the others alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sharing {
    /// Seconds between heartbeats while evaluating.
    pub heartbeat_s: f64,
    /// A running trial not heartbeaten for this long is given back.
    pub grace_s: f64,
    /// Claims of one trial before it is marked failed.
    pub max_attempts: i32,
}

impl Default for Sharing {
    fn default() -> Sharing {
        Sharing {
            heartbeat_s: 5.0,
            grace_s: 60.0,
            max_attempts: 3,
        }
    }
}
