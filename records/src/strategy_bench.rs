//! A comparison of search strategies on a tabular benchmark (`search
//! bench-strategies`): every strategy run for many seeds against a simulated
//! clock, each run's result and its best-so-far curve, and how the reward's
//! exponents move the best cell of the table. Written once, when the runs end.

use serde::{Deserialize, Serialize};

/// Everything `strategies.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyBench {
    /// The benchmark and dataset (`nb201/cifar10`).
    pub table: String,
    /// Simulated training seconds each run may spend.
    pub budget_s: f64,
    /// The runs' search seeds are `seed`, `seed + 1`, …, the same for every strategy.
    pub seed: u64,
    /// The reward's exponents (the reference cell only scales it).
    pub w: f64,
    pub v: f64,
    /// The cell with the highest reward by its mean accuracy over the table's seeds.
    pub optimum: FoundCell,
    /// Times at which every run's best-so-far is recorded.
    pub grid_s: Vec<f64>,
    pub strategies: Vec<StrategyRuns>,
    /// The reward-best cell of the table as w and v vary.
    pub sensitivity: Vec<SensitivityPoint>,
    /// Seconds of real time the runs took, all together.
    pub wall_s: f64,
}

/// A cell as the table knows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoundCell {
    /// In the benchmark's notation.
    pub cell: String,
    /// Mean validation accuracy over the table's seeds, percent.
    pub accuracy: f64,
    pub train_time_s: f64,
    /// Parameters, millions.
    pub params_m: f64,
    /// The reward of the mean accuracy.
    pub reward: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyRuns {
    pub strategy: String,
    pub runs: Vec<StrategyRun>,
}

/// One search on the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StrategyRun {
    pub seed: u64,
    /// Cells evaluated before the budget ran out.
    pub evaluations: usize,
    /// The cell the search returns: the highest reward it observed (`None`
    /// when not even its first evaluation fitted the budget).
    pub found: Option<FoundCell>,
    /// The optimum's reward minus the found cell's (both by mean accuracy), in
    /// points (×100): with w = v = 0 it is accuracy percentage points.
    pub regret: Option<f64>,
    /// The hypervolume of the evaluated cells (mean accuracy, training time,
    /// parameters) as a share of the whole table's.
    pub hypervolume: f64,
    /// The mean accuracy of the cell the search would return at each time of
    /// `grid_s` (`None` before its first evaluation ends).
    pub best_so_far: Vec<Option<f64>>,
}

/// The reward-best cell of the table under one pair of exponents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitivityPoint {
    /// Which exponents grow in this series: `w and v`, `w` or `v`.
    pub varied: String,
    /// How far: the share of the full exponents, 0 to 1.
    pub share: f64,
    pub w: f64,
    pub v: f64,
    pub best: FoundCell,
}

impl StrategyRuns {
    /// A statistic of every run that has it, in run order.
    pub fn each(&self, of: impl Fn(&StrategyRun) -> Option<f64>) -> Vec<f64> {
        self.runs.iter().filter_map(of).collect()
    }
}
