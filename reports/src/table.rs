//! A run's records as polars DataFrames, and their CSV and Parquet files.

use std::fs::File;
use std::path::Path;

use polars_core::prelude::{Column, DataFrame, PolarsResult};
use polars_io::prelude::{CsvWriter, ParquetWriter, SerWriter};

use crate::ReportError;
use records::pareto::{Goal, non_dominated_ranks};
use records::{EpochRecord, Trial};

/// Accuracy (higher) against step time (lower).
pub const ACC_TIME: [Goal; 2] = [Goal::Max, Goal::Min];
/// Accuracy (higher) against step time and parameters (lower).
pub const ACC_TIME_PARAMS: [Goal; 3] = [Goal::Max, Goal::Min, Goal::Min];

/// Objectives of a trial: accuracy, median step ms, parameters; NaN where missing.
pub fn objectives(t: &Trial) -> [f64; 3] {
    if !t.is_done() {
        return [f64::NAN; 3];
    }
    [
        t.accuracy.unwrap_or(f64::NAN),
        t.step_median().unwrap_or(f64::NAN),
        t.params as f64,
    ]
}

/// Pareto ranks of the searched trials over the first `goals.len()` objectives;
/// reference networks are compared against, not ranked (`None`).
pub fn pareto_ranks(trials: &[Trial], goals: &[Goal]) -> Vec<Option<usize>> {
    let points: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| match t.reference {
            Some(_) => vec![f64::NAN; goals.len()],
            None => objectives(t)[..goals.len()].to_vec(),
        })
        .collect();
    non_dominated_ranks(&points, goals)
}

/// The searched trials on the front of `goals` (rank 0), by ascending step time.
pub fn front_trials<'a>(trials: &'a [Trial], goals: &[Goal]) -> Vec<&'a Trial> {
    let ranks = pareto_ranks(trials, goals);
    let mut on: Vec<&Trial> = trials
        .iter()
        .zip(&ranks)
        .filter(|(_, r)| **r == Some(0))
        .map(|(t, _)| t)
        .collect();
    let step = |t: &Trial| t.step_median().unwrap_or(f64::MAX);
    on.sort_by(|a, b| step(a).total_cmp(&step(b)));
    on
}

fn rank_column(name: &str, ranks: &[Option<usize>]) -> Column {
    let v: Vec<Option<u32>> = ranks.iter().map(|r| r.map(|r| r as u32)).collect();
    Column::new(name.into(), v)
}

/// One row per trial (reference networks after the searched ones), with the
/// searched trials' 2- and 3-objective Pareto ranks (0 = on the front).
pub fn trials_frame(trials: &[Trial]) -> PolarsResult<DataFrame> {
    let f =
        |get: fn(&Trial) -> Option<f64>| -> Vec<Option<f64>> { trials.iter().map(get).collect() };
    let u = |get: fn(&Trial) -> u64| -> Vec<u64> { trials.iter().map(get).collect() };
    let s = |get: fn(&Trial) -> Option<String>| -> Vec<Option<String>> {
        trials.iter().map(get).collect()
    };
    let columns = vec![
        Column::new("id".into(), u(|t| t.id as u64)),
        Column::new("reference".into(), s(|t| t.reference.clone())),
        Column::new("status".into(), s(|t| Some(t.status.name().to_string()))),
        Column::new("name".into(), s(|t| Some(t.spec.name.clone()))),
        Column::new("accuracy".into(), f(|t| t.accuracy)),
        Column::new("step_ms_median".into(), f(|t| t.step_median())),
        Column::new(
            "step_ms_min".into(),
            f(|t| t.step_ms.as_ref().map(|s| s.min)),
        ),
        Column::new(
            "step_ms_max".into(),
            f(|t| t.step_ms.as_ref().map(|s| s.max)),
        ),
        Column::new(
            "step_ms_iqr".into(),
            f(|t| t.step_ms.as_ref().map(|s| s.iqr)),
        ),
        Column::new("params".into(), u(|t| t.params)),
        Column::new("macs".into(), u(|t| t.macs)),
        Column::new("memory_bytes".into(), u(|t| t.memory_bytes)),
        Column::new("reward".into(), f(|t| t.reward)),
        // Rungs of successive halving reached: fewer than the search's is a
        // candidate stopped early (a result, not a failure).
        Column::new("rungs".into(), u(|t| t.rungs.len() as u64)),
        rank_column("pareto_rank_acc_time", &pareto_ranks(trials, &ACC_TIME)),
        rank_column(
            "pareto_rank_acc_time_params",
            &pareto_ranks(trials, &ACC_TIME_PARAMS),
        ),
        Column::new("error".into(), s(|t| t.error.clone())),
        Column::new("step_time_s".into(), f(|t| Some(t.step_time_s))),
        Column::new("train_s".into(), f(|t| Some(t.train_s))),
        Column::new("total_s".into(), f(|t| Some(t.total_s))),
        Column::new("seed".into(), u(|t| t.seed)),
        Column::new("blocks".into(), s(|t| Some(t.spec.blocks().join(" ")))),
        Column::new("key".into(), s(|t| Some(t.key.clone()))),
    ];
    DataFrame::new(trials.len(), columns)
}

/// One row per epoch of a training run.
pub fn epochs_frame(epochs: &[EpochRecord]) -> PolarsResult<DataFrame> {
    let f = |get: fn(&EpochRecord) -> f64| -> Vec<f64> { epochs.iter().map(get).collect() };
    let u = |get: fn(&EpochRecord) -> u64| -> Vec<u64> { epochs.iter().map(get).collect() };
    let columns = vec![
        Column::new("epoch".into(), u(|e| e.epoch as u64)),
        Column::new("stage".into(), u(|e| e.stage.stage as u64)),
        Column::new("size".into(), u(|e| e.stage.size as u64)),
        Column::new("dropout".into(), f(|e| e.stage.dropout)),
        Column::new("randaug".into(), f(|e| e.stage.randaug)),
        Column::new("mixup".into(), f(|e| e.stage.mixup)),
        Column::new("lr".into(), f(|e| e.lr)),
        Column::new("train_loss".into(), f(|e| e.train_loss)),
        Column::new("train_acc".into(), f(|e| e.train_acc)),
        Column::new("val_loss".into(), f(|e| e.val_loss)),
        Column::new("val_acc".into(), f(|e| e.val_acc)),
        Column::new(
            "raw_val_acc".into(),
            epochs.iter().map(|e| e.raw_val_acc).collect::<Vec<_>>(),
        ),
        Column::new("images_per_s".into(), f(|e| e.images_per_s)),
        Column::new("epoch_s".into(), f(|e| e.epoch_s)),
        Column::new("data_wait_s".into(), f(|e| e.data_wait_s)),
        Column::new("wall_s".into(), f(|e| e.wall_s)),
    ];
    DataFrame::new(epochs.len(), columns)
}

/// Writes `stem.csv` and `stem.parquet` in `dir`.
pub fn write_csv_and_parquet(
    df: &mut DataFrame,
    dir: &Path,
    stem: &str,
) -> Result<(), ReportError> {
    let csv = dir.join(format!("{stem}.csv"));
    let file = File::create(&csv).map_err(|e| ReportError::write(&csv, e))?;
    CsvWriter::new(file)
        .finish(df)
        .map_err(|e| ReportError::write(&csv, e))?;
    let parquet = dir.join(format!("{stem}.parquet"));
    let file = File::create(&parquet).map_err(|e| ReportError::write(&parquet, e))?;
    ParquetWriter::new(file)
        .finish(df)
        .map_err(|e| ReportError::write(&parquet, e))?;
    Ok(())
}
