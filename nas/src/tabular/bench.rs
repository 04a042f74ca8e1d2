//! Strategies compared on a table: each strategy searches from each of many
//! seeds until its simulated budget is spent, and the runs are summarised as the
//! NAS-Bench-201 paper did (the cell a search returns and its mean accuracy),
//! plus regret, hypervolume and the best-so-far curve over simulated time.

use std::time::Instant;

use rayon::prelude::*;
use records::pareto::{Goal, front, hypervolume};
use records::{FoundCell, SensitivityPoint, StrategyBench, StrategyRun, StrategyRuns};
use space::nb201::{Cell, Nb201Space};

use super::evaluator::{TabularEvaluator, reward, reward_of};
use super::table::{CellRecord, Nb201Table};
use crate::proposal::{Proposer, trial_seed};
use crate::strategy::{Observation, StrategyKind};

/// What to compare.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub strategies: Vec<StrategyKind>,
    /// Runs per strategy; run r is seeded `seed + r`.
    pub seeds: usize,
    pub seed: u64,
    /// Simulated training seconds per run.
    pub budget_s: f64,
    pub w: f64,
    pub v: f64,
    /// Points of the best-so-far curve, from 0 to the budget.
    pub grid_points: usize,
}

const GOALS: [Goal; 3] = [Goal::Max, Goal::Min, Goal::Min];

/// The objectives of a cell by its records: mean accuracy, training time,
/// parameters.
fn objectives(r: &CellRecord) -> Vec<f64> {
    vec![r.mean_accuracy(), r.train_time_s, r.params_m]
}

/// The hypervolume's box: from (0 % accuracy, the table's longest training
/// time, its largest network), a tenth beyond, so every cell that is not
/// useless counts.
fn corner(table: &Nb201Table) -> Vec<f64> {
    let (time, params) = table.cells().fold((0.0f64, 0.0f64), |(t, p), (_, r)| {
        (t.max(r.train_time_s), p.max(r.params_m))
    });
    vec![0.0, 1.1 * time, 1.1 * params]
}

/// The hypervolume of the whole table's front.
pub fn table_hypervolume(table: &Nb201Table) -> f64 {
    let points: Vec<Vec<f64>> = table.cells().map(|(_, r)| objectives(r)).collect();
    let front: Vec<Vec<f64>> = front(&points, &GOALS)
        .into_iter()
        .map(|i| points[i].clone())
        .collect();
    hypervolume(&front, &GOALS, &corner(table))
}

fn found(table: &Nb201Table, cell: Cell, w: f64, v: f64) -> FoundCell {
    let r = table.record(cell);
    FoundCell {
        cell: cell.to_string(),
        accuracy: r.mean_accuracy(),
        train_time_s: r.train_time_s,
        params_m: r.params_m,
        reward: reward(
            &reward_of(table, w, v),
            r.mean_accuracy(),
            r.train_time_s,
            r.params_m,
        ),
    }
}

/// The cell with the highest reward by mean accuracy.
fn optimum(table: &Nb201Table, w: f64, v: f64) -> Cell {
    let rw = reward_of(table, w, v);
    table.best_by(|r| reward(&rw, r.mean_accuracy(), r.train_time_s, r.params_m))
}

/// The times at which best-so-far curves are recorded.
fn grid(config: &BenchConfig) -> Vec<f64> {
    let n = config.grid_points.max(2);
    (0..n)
        .map(|i| config.budget_s * i as f64 / (n - 1) as f64)
        .collect()
}

/// What every run of a comparison measures itself against, from one pass over
/// the table: its front's hypervolume and box, its mean training time, and its
/// best cell under the comparison's reward.
pub struct TableFacts {
    volume: f64,
    corner: Vec<f64>,
    mean_time_s: f64,
    optimum: FoundCell,
}

impl TableFacts {
    pub fn of(table: &Nb201Table, config: &BenchConfig) -> TableFacts {
        let (w, v) = (config.w, config.v);
        TableFacts {
            volume: table_hypervolume(table),
            corner: corner(table),
            mean_time_s: table.cells().map(|(_, r)| r.train_time_s).sum::<f64>()
                / space::nb201::CELLS as f64,
            optimum: found(table, optimum(table, w, v), w, v),
        }
    }
}

/// One search of `kind` seeded `seed` on `table`: proposals from the search's
/// own proposer (a cell is never evaluated twice), each evaluation charged to
/// the simulated clock; an evaluation that would end after the budget is not
/// made. `facts` are [`TableFacts::of`] the table and `config`.
pub fn run_strategy(
    table: &Nb201Table,
    kind: StrategyKind,
    seed: u64,
    config: &BenchConfig,
    facts: &TableFacts,
) -> StrategyRun {
    let space = Nb201Space;
    // Evolution sizes its population by the budget in candidates: the cells
    // an average training time allows.
    let candidates = (config.budget_s / facts.mean_time_s).ceil() as usize;
    let mut proposer = Proposer::new(kind, &space, candidates, &[], []);
    let mut evaluator = TabularEvaluator::new(table, config.w, config.v);
    // (end time, cell the search would return then)
    let mut returned: Vec<(f64, Cell)> = Vec::new();
    let mut best_seen = f64::NEG_INFINITY;
    let mut evaluated: Vec<Vec<f64>> = Vec::new();
    for id in 0.. {
        let Some((choices, _)) = proposer.propose_point(&space, seed, id) else {
            break;
        };
        let cell = Cell::of(&choices).expect("the proposer keys only cells");
        if evaluator.clock_s() + table.record(cell).train_time_s > config.budget_s {
            break;
        }
        let e = evaluator.evaluate(cell, trial_seed(seed, id));
        proposer.learn(
            &space,
            Observation {
                choices,
                reward: Some(e.reward),
                objectives: Some([e.accuracy / 100.0, e.train_time_s, e.params_m]),
            },
        );
        evaluated.push(objectives(table.record(cell)));
        if e.reward > best_seen {
            best_seen = e.reward;
            returned.push((e.finished_at_s, cell));
        }
    }
    let best_so_far = grid(config)
        .iter()
        .map(|&t| {
            returned
                .iter()
                .take_while(|(end, _)| *end <= t)
                .last()
                .map(|&(_, c)| table.record(c).mean_accuracy())
        })
        .collect();
    let found = returned
        .last()
        .map(|&(_, cell)| found(table, cell, config.w, config.v));
    StrategyRun {
        seed,
        evaluations: evaluated.len(),
        regret: found
            .as_ref()
            .map(|f| 100.0 * (facts.optimum.reward - f.reward)),
        hypervolume: hypervolume(&evaluated, &GOALS, &facts.corner) / facts.volume,
        found,
        best_so_far,
    }
}

/// Every strategy of `config` for every seed, in parallel.
pub fn bench_strategies(
    table: &Nb201Table,
    config: &BenchConfig,
    on_run: &(dyn Fn() + Sync),
) -> StrategyBench {
    let started = Instant::now();
    let facts = TableFacts::of(table, config);
    let jobs: Vec<(StrategyKind, u64)> = config
        .strategies
        .iter()
        .flat_map(|&k| (0..config.seeds as u64).map(move |r| (k, config.seed + r)))
        .collect();
    let runs: Vec<StrategyRun> = jobs
        .par_iter()
        .map(|&(kind, seed)| {
            let run = run_strategy(table, kind, seed, config, &facts);
            on_run();
            run
        })
        .collect();
    let mut runs = runs.into_iter();
    let strategies = config
        .strategies
        .iter()
        .map(|&k| StrategyRuns {
            strategy: strategy_name(k),
            runs: runs.by_ref().take(config.seeds).collect(),
        })
        .collect();
    StrategyBench {
        table: format!("nb201/{}", table.dataset.name()),
        budget_s: config.budget_s,
        seed: config.seed,
        w: config.w,
        v: config.v,
        optimum: facts.optimum,
        grid_s: grid(config),
        strategies,
        sensitivity: sensitivity(table, config.w, config.v),
        wall_s: started.elapsed().as_secs_f64(),
    }
}

fn strategy_name(kind: StrategyKind) -> String {
    match kind {
        StrategyKind::Random => "random",
        StrategyKind::Evolution => "evolution",
        StrategyKind::Reinforce => "reinforce",
        StrategyKind::Pareto => "pareto",
    }
    .to_string()
}

/// The paper's exponents, the scale of the sensitivity sweep when the bench's
/// own are both 0.
const PAPER: (f64, f64) = (-0.07, -0.05);

/// The table's reward-best cell as the exponents grow from 0 to `(w, v)` (the
/// paper's when both are 0) in twentieths: both together, w alone and v alone.
pub fn sensitivity(table: &Nb201Table, w: f64, v: f64) -> Vec<SensitivityPoint> {
    let (w, v) = if w == 0.0 && v == 0.0 { PAPER } else { (w, v) };
    let mut points = Vec::new();
    for (varied, wk, vk) in [("w and v", 1.0, 1.0), ("w", 1.0, 0.0), ("v", 0.0, 1.0)] {
        for step in 0..=20 {
            let t = step as f64 / 20.0;
            // + 0.0 turns the −0 of a zero share into 0.
            let (pw, pv) = (t * wk * w + 0.0, t * vk * v + 0.0);
            points.push(SensitivityPoint {
                varied: varied.to_string(),
                share: t,
                w: pw,
                v: pv,
                best: found(table, optimum(table, pw, pv), pw, pv),
            });
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::Dataset;

    fn config(strategies: Vec<StrategyKind>, seeds: usize) -> BenchConfig {
        BenchConfig {
            strategies,
            seeds,
            seed: 0,
            budget_s: Dataset::Cifar10.default_budget_s(),
            w: 0.0,
            v: 0.0,
            grid_points: 11,
        }
    }

    #[test]
    fn a_run_spends_its_budget_and_returns_its_best_observed_cell() {
        let table = Nb201Table::load(Dataset::Cifar10).unwrap();
        let c = config(vec![StrategyKind::Evolution], 1);
        let facts = TableFacts::of(&table, &c);
        let run = run_strategy(&table, StrategyKind::Evolution, 3, &c, &facts);
        // About 110 cells of an average 1,828 s fit 200,000 s.
        assert!((80..=160).contains(&run.evaluations), "{}", run.evaluations);
        let regret = run.regret.unwrap();
        assert!((0.0..5.0).contains(&regret), "{regret}");
        assert!(run.hypervolume > 0.0 && run.hypervolume <= 1.0 + 1e-9);
        let curve: Vec<f64> = run.best_so_far.iter().flatten().copied().collect();
        assert_eq!(run.best_so_far[0], None);
        assert_eq!(curve.last(), run.found.as_ref().map(|f| &f.accuracy));
        // The same seed gives the same run.
        assert_eq!(
            run,
            run_strategy(&table, StrategyKind::Evolution, 3, &c, &facts)
        );
    }

    #[test]
    fn the_paper_reward_prefers_a_tiny_cell_and_accuracy_alone_the_optimum() {
        let table = Nb201Table::load(Dataset::Cifar10).unwrap();
        let sweep = sensitivity(&table, 0.0, 0.0);
        assert_eq!(sweep.len(), 63);
        let accuracy_only = &sweep[0];
        assert_eq!((accuracy_only.w, accuracy_only.v), (0.0, 0.0));
        assert!((accuracy_only.best.accuracy - 91.61).abs() < 0.01);
        let paper = &sweep[20];
        assert_eq!((paper.w, paper.v), PAPER);
        assert!(
            paper.best.accuracy < 86.0 && paper.best.params_m < 0.1,
            "{paper:?}"
        );
    }
}
