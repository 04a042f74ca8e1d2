//! A tabular evaluation: a cell's validation accuracy for one of its training
//! seeds, drawn from the trial's seed as a real evaluation's noise would be,
//! rewarded like a search trial, with the simulated clock advanced by the
//! cell's recorded training time. Nothing is trained.

use records::Reward;
use space::nb201::Cell;

use super::table::Nb201Table;

/// What one query returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub cell: Cell,
    /// One training seed's validation accuracy, percent: the search's signal.
    pub accuracy: f64,
    pub train_time_s: f64,
    pub params_m: f64,
    /// `A · (T/T_ref)^w · (P/P_ref)^v` of `accuracy` (as a fraction).
    pub reward: f64,
    /// The simulated clock when the evaluation ended.
    pub finished_at_s: f64,
}

/// Queries a table on a simulated clock.
pub struct TabularEvaluator<'a> {
    table: &'a Nb201Table,
    reward: Reward,
    clock_s: f64,
}

impl<'a> TabularEvaluator<'a> {
    /// An evaluator at time 0 whose reward has exponents `w` (training time) and
    /// `v` (parameters), relative to the benchmark's ResNet cell.
    pub fn new(table: &'a Nb201Table, w: f64, v: f64) -> TabularEvaluator<'a> {
        TabularEvaluator {
            table,
            reward: reward_of(table, w, v),
            clock_s: 0.0,
        }
    }

    /// Simulated seconds spent so far.
    pub fn clock_s(&self) -> f64 {
        self.clock_s
    }

    /// Evaluates `cell` with the training seed `trial_seed` picks, and charges
    /// its training time.
    pub fn evaluate(&mut self, cell: Cell, trial_seed: u64) -> Evaluation {
        let record = self.table.record(cell);
        let accuracy = record.val_acc[(trial_seed % record.val_acc.len() as u64) as usize];
        self.clock_s += record.train_time_s;
        Evaluation {
            cell,
            accuracy,
            train_time_s: record.train_time_s,
            params_m: record.params_m,
            reward: reward(&self.reward, accuracy, record.train_time_s, record.params_m),
            finished_at_s: self.clock_s,
        }
    }

    /// The reward of a cell's mean accuracy: its true quality.
    pub fn mean_reward(&self, cell: Cell) -> f64 {
        let r = self.table.record(cell);
        reward(&self.reward, r.mean_accuracy(), r.train_time_s, r.params_m)
    }
}

/// The reward with exponents `w` and `v` on `table`, relative to its ResNet cell.
pub fn reward_of(table: &Nb201Table, w: f64, v: f64) -> Reward {
    let reference = table.record(Nb201Table::resnet());
    Reward {
        w,
        v,
        reference_step_ms: reference.train_time_s,
        reference_params: params(reference.params_m),
    }
}

/// The reward of an accuracy in percent, a training time and parameters in
/// millions.
pub fn reward(reward: &Reward, accuracy: f64, train_time_s: f64, params_m: f64) -> f64 {
    reward.of(accuracy / 100.0, train_time_s, params(params_m))
}

fn params(millions: f64) -> u64 {
    (millions * 1e6).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabular::Dataset;

    #[test]
    fn the_clock_adds_up_the_training_times_and_a_query_is_one_seed() {
        let table = Nb201Table::load(Dataset::Cifar10).unwrap();
        let mut evaluator = TabularEvaluator::new(&table, 0.0, 0.0);
        let cells = [
            Cell([3, 3, 3, 1, 3, 2]),
            Cell([0, 1, 2, 3, 4, 0]),
            Cell([3; 6]),
        ];
        let mut total = 0.0;
        for (i, &cell) in cells.iter().enumerate() {
            let record = table.record(cell);
            let e = evaluator.evaluate(cell, 7 + i as u64);
            total += record.train_time_s;
            assert_eq!(e.finished_at_s, total);
            assert!(record.val_acc.contains(&e.accuracy));
            // With w = v = 0 the reward is the accuracy.
            assert!((e.reward - e.accuracy / 100.0).abs() < 1e-12);
        }
        assert_eq!(evaluator.clock_s(), total);
        // Every seed of a cell is drawn by some trial seed.
        let cell = cells[0];
        let seen: std::collections::HashSet<u64> = (0..20)
            .map(|s| evaluator.evaluate(cell, s).accuracy.to_bits())
            .collect();
        assert_eq!(seen.len(), table.record(cell).val_acc.len());
        // The reference cell's mean reward is its mean accuracy whatever w and v.
        let paper = TabularEvaluator::new(&table, -0.07, -0.05);
        let resnet = Nb201Table::resnet();
        let expected = table.record(resnet).mean_accuracy() / 100.0;
        assert!((paper.mean_reward(resnet) - expected).abs() < 1e-12);
    }
}
