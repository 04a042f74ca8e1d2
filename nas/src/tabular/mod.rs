//! Strategies on a tabular benchmark: NAS-Bench-201, where every cell of the
//! space was trained in advance, so a search costs microseconds and runs for
//! hundreds of seeds. The table answers a query with one seed's record, a
//! simulated clock charges the recorded training time, and the strategies are
//! the search's own, unchanged, behind the same proposer.
//!
//! - [`table`]: the embedded NAS-Bench-201 records of the three datasets;
//! - [`evaluator`]: a query, its reward and the simulated clock;
//! - [`bench`]: every strategy for many seeds at one simulated budget, and how
//!   the reward's exponents move the table's best cell.

pub mod bench;
pub mod evaluator;
pub mod table;

pub use bench::{BenchConfig, TableFacts, bench_strategies, run_strategy, sensitivity};
pub use evaluator::{Evaluation, TabularEvaluator};
pub use table::{CellRecord, Dataset, Nb201Table, TableError};
