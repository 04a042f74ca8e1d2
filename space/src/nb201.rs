//! NAS-Bench-201's cell space (Dong & Yang, ICLR 2020): a cell is a DAG of four
//! nodes whose six edges each carry one of five operations, so the space holds
//! 5⁶ = 15,625 cells. The network around the cell (stem, three stages of five
//! cells, residual reductions) is fixed, which is why a cell alone names a
//! network. A point is the six op indices, edges in the benchmark's own order
//! (the order of its `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` strings and of the
//! table keys): node 1 ← 0; node 2 ← 0, 1; node 3 ← 0, 1, 2.

use std::fmt;

use crate::choice_space::ChoiceSpace;
use crate::search_space::Choices;

/// The operations an edge can carry, by index.
pub const OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// Each edge as (to, from), in the benchmark's order.
pub const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// Number of cells in the space.
pub const CELLS: usize = 15_625;

/// The space of NAS-Bench-201 cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nb201Space;

/// One cell: an op index per edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell(pub [usize; 6]);

/// A cell string that is not one of the space's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{text}` is not a NAS-Bench-201 cell: {problem}")]
pub struct NotACell {
    pub text: String,
    pub problem: String,
}

impl Cell {
    /// The cell of a point of [`Nb201Space`], if the point is one.
    pub fn of(choices: &Choices) -> Option<Cell> {
        let ops: [usize; 6] = choices.0.as_slice().try_into().ok()?;
        ops.iter().all(|&o| o < OPS.len()).then_some(Cell(ops))
    }

    /// The cell's row in the table: its ops read as a base-5 number, edge 1 ← 0
    /// the most significant digit.
    pub fn index(self) -> usize {
        self.0.iter().fold(0, |acc, &op| acc * OPS.len() + op)
    }

    /// The cell at row `index` (below [`CELLS`]).
    pub fn from_index(index: usize) -> Cell {
        assert!(index < CELLS, "cell index {index} is outside the space");
        let mut ops = [0; 6];
        let mut rest = index;
        for op in ops.iter_mut().rev() {
            *op = rest % OPS.len();
            rest /= OPS.len();
        }
        Cell(ops)
    }

    /// The table's key: the six op indices as digits (`"333132"`).
    pub fn key(self) -> String {
        self.0
            .iter()
            .map(|op| char::from(b'0' + *op as u8))
            .collect()
    }

    /// Reads a key of six digits or a benchmark string
    /// (`|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|…|`).
    pub fn parse(text: &str) -> Result<Cell, NotACell> {
        let fail = |problem: &str| NotACell {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        let t = text.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            let ops: Vec<usize> = t.bytes().map(|b| (b - b'0') as usize).collect();
            return Cell::of(&Choices(ops)).ok_or_else(|| fail("an op index is above 4"));
        }
        let mut ops = Vec::new();
        for (node, part) in t.split('+').enumerate() {
            let edges: Vec<&str> = part
                .trim_matches('|')
                .split('|')
                .filter(|e| !e.is_empty())
                .collect();
            if edges.len() != node + 1 {
                return Err(fail(&format!("node {} needs {} edges", node + 1, node + 1)));
            }
            for (from, edge) in edges.iter().enumerate() {
                let (op, source) = edge
                    .split_once('~')
                    .ok_or_else(|| fail(&format!("`{edge}` is not op~node")))?;
                if source != from.to_string() {
                    return Err(fail(&format!("`{edge}` should come from node {from}")));
                }
                let index = OPS
                    .iter()
                    .position(|o| *o == op)
                    .ok_or_else(|| fail(&format!("unknown op `{op}`")))?;
                ops.push(index);
            }
        }
        Cell::of(&Choices(ops)).ok_or_else(|| fail("a cell has three nodes after the input"))
    }

    /// Whether the output node is reached from the input through edges that are
    /// not `none`: a cell that is not computes zeros (about 10% on CIFAR-10).
    pub fn connected(self) -> bool {
        let mut reached = [true, false, false, false];
        for (&(to, from), &op) in EDGES.iter().zip(&self.0) {
            if op != 0 && reached[from] {
                reached[to] = true;
            }
        }
        reached[3]
    }
}

/// The benchmark's own notation.
impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut edge = 0;
        for node in 1..4 {
            if node > 1 {
                write!(f, "+")?;
            }
            write!(f, "|")?;
            for from in 0..node {
                write!(f, "{}~{from}|", OPS[self.0[edge]])?;
                edge += 1;
            }
        }
        Ok(())
    }
}

impl ChoiceSpace for Nb201Space {
    fn options(&self) -> Vec<usize> {
        vec![OPS.len(); EDGES.len()]
    }

    /// Every cell has its own record in the benchmark (isomorphic cells were
    /// trained separately), so the key is the cell itself.
    fn key(&self, choices: &Choices) -> Option<String> {
        Cell::of(choices).map(Cell::key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const BEST: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

    #[test]
    fn cells_read_and_write_the_benchmark_notation() {
        let cell = Cell::parse(BEST).unwrap();
        assert_eq!(cell, Cell([3, 3, 3, 1, 3, 2]));
        assert_eq!(cell.key(), "333132");
        assert_eq!(cell.to_string(), BEST);
        assert_eq!(Cell::parse("333132"), Ok(cell));
        assert_eq!(Cell::from_index(cell.index()), cell);
        assert_eq!(Cell::from_index(CELLS - 1), Cell([4; 6]));
        assert_eq!(Cell([0, 0, 0, 0, 0, 1]).index(), 1);
        for bad in [
            "333135",
            "33313",
            "|nor_conv_3x3~0|",
            "|conv~0|+|a~0|b~1|+|c~0|d~1|e~2|",
        ] {
            assert!(Cell::parse(bad).is_err(), "{bad}");
        }
        let wrong_source = BEST.replacen("~1|", "~0|", 1);
        assert!(
            Cell::parse(&wrong_source)
                .unwrap_err()
                .problem
                .contains("node 1")
        );
    }

    #[test]
    fn a_cell_is_connected_when_a_path_of_real_ops_reaches_the_output() {
        assert!(!Cell([3, 0, 0, 0, 0, 0]).connected());
        assert!(Cell([0, 0, 0, 1, 0, 0]).connected());
        // 3 ← 1 ← 0, but 1 ← 0 is none.
        assert!(!Cell([0, 0, 0, 0, 3, 0]).connected());
        assert!(Cell([2, 0, 0, 0, 3, 0]).connected());
        let connected = (0..CELLS)
            .filter(|&i| Cell::from_index(i).connected())
            .count();
        // The benchmark's data: 341 cells compute nothing.
        assert_eq!(CELLS - connected, 341);
    }

    #[test]
    fn strategies_see_six_edges_of_five_ops_and_mutation_changes_one() {
        let space = Nb201Space;
        assert_eq!(space.options(), vec![5; 6]);
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..100 {
            let point = space.sample(&mut rng);
            let key = space.key(&point).unwrap();
            let mutated = space.mutate(&point, &mut rng);
            let changed = point
                .0
                .iter()
                .zip(&mutated.0)
                .filter(|(a, b)| a != b)
                .count();
            assert_eq!(changed, 1);
            assert_ne!(space.key(&mutated).unwrap(), key);
        }
        assert_eq!(space.key(&Choices(vec![5, 0, 0, 0, 0, 0])), None);
        assert_eq!(space.key(&Choices(vec![0; 5])), None);
    }
}
