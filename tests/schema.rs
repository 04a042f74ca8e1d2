//! One record type per thing on disk: each record is written by the code that
//! writes it in a real run (the search's store, the trainer, the reproduction's
//! Table 2 phase) and read back through the reports, field for field.

use std::path::{Path, PathBuf};

use candle_core::Device;
use effnas::models::ops::OpSet;
use effnas::nas::StrategyKind;
use effnas::nas::reproduce::miniature::miniature;
use effnas::nas::reproduce::{Progress, ThroughputPlan, run_throughput};
use effnas::nas::store::{RunDirStore, TrialStore};
use effnas::nas::tabular::{BenchConfig, Dataset, Nb201Table, bench_strategies};
use effnas::records::StrategyBenchDir;
use effnas::records::{
    MetricLine, PointStatus, Proposal, ReproductionDir, StepStats, TrainDir, Trial, TrialStatus,
};
use effnas::reports::{ReproductionRun, Run, SearchRun, StrategyBenchRun, TrainRun};
use effnas::space::{ArchSpec, Choices, preset};
use effnas::train::data::embedded_fashion_mnist;
use effnas::train::{Event, Progressive, TrainConfig, Trainer};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-schema-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tiny() -> ArchSpec {
    ArchSpec::from_json(include_str!("fixtures/tiny-reference.json")).unwrap()
}

fn trial(id: usize, status: TrialStatus) -> Trial {
    let proposal = Proposal {
        id,
        key: format!("key-{id}"),
        spec: tiny(),
        choices: Choices(vec![id, 1]),
    };
    let mut t = Trial::unmeasured(proposal, 11, status, "over the cap");
    if status == TrialStatus::Done {
        t.error = None;
        t.accuracy = Some(0.625);
        t.step_ms = Some(StepStats {
            median: 12.5,
            min: 11.0,
            max: 14.25,
            iqr: 0.75,
        });
        t.reward = Some(0.61);
        (t.macs, t.memory_bytes) = (1234, 5678);
        (t.step_time_s, t.train_s, t.total_s) = (0.5, 2.25, 2.75);
    }
    t
}

#[test]
fn trials_and_references_read_back_as_the_store_wrote_them() {
    let dir = scratch("search");
    let mut store = RunDirStore::open(&dir).unwrap();
    store
        .save_config(&serde_json::json!({"space": {"name": "tiny"}, "strategy": "random"}))
        .unwrap();
    let trials = [trial(0, TrialStatus::Done), trial(1, TrialStatus::Skipped)];
    for t in &trials {
        store.append(t).unwrap();
    }
    let reference = trial(0, TrialStatus::Done);
    store.append_reference(&reference).unwrap();

    let run = SearchRun::load(&dir).unwrap();
    assert_eq!(run.trials, trials);
    let named = Trial {
        reference: Some("tiny-reference".into()),
        ..reference
    };
    assert_eq!(run.references, [named]);
    assert_eq!(run.best(), Some(&trials[0]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn epochs_read_back_as_the_trainer_wrote_them() {
    let dir = scratch("train");
    let run_dir = TrainDir::create(&dir).unwrap();
    let splits = embedded_fashion_mnist().unwrap().truncated(64, 32);
    let mut config = TrainConfig::paper(2, 32, Progressive::fixed(16, 0.1, 0.0, 0.0));
    config.log_every = 1;
    let spec = tiny();
    let trainer = Trainer {
        spec: &spec,
        splits: &splits,
        config: &config,
        device: &Device::Cpu,
        ops: OpSet::Fast,
        run: Some(&run_dir),
        resume: false,
        init_from: None,
    };
    let mut seen = Vec::new();
    trainer
        .run(&mut |e| {
            if let Event::EpochEnd(record) = e {
                seen.push(record.clone());
            }
        })
        .unwrap();
    let lines = run_dir.metrics().unwrap();
    let steps = lines
        .iter()
        .filter(|l| matches!(l, MetricLine::Step { .. }))
        .count();
    assert_eq!((steps, seen.len()), (4, 2), "a step line per step");
    // The report needs the run's settings too; a training run has them.
    run_dir
        .save_config(&serde_json::json!({"spec": spec}))
        .unwrap();
    let run = TrainRun::load(&dir).unwrap();
    assert_eq!(run.epochs, seen);
    assert_eq!((run.diverged_at, run.spec), (None, Some(spec)));

    run_dir
        .append_metric(&MetricLine::Diverged { epoch: 3, step: 9 })
        .unwrap();
    assert_eq!(TrainRun::load(&dir).unwrap().diverged_at, Some(3));
    std::fs::remove_dir_all(dir).unwrap();
}

fn reproduction(dir: &Path) -> ReproductionDir {
    let reproduction = ReproductionDir::new(dir);
    std::fs::write(reproduction.plan(), "{}").unwrap();
    reproduction
}

#[test]
fn throughput_points_fused_variants_and_families_read_back() {
    let dir = scratch("reproduction");
    let reproduction = reproduction(&dir);
    let network = miniature(&preset("efficientnet-b0").unwrap());
    let plan = ThroughputPlan {
        network: network.clone(),
        sizes: vec![32],
        batches: vec![2, 4096],
        steps: 1,
        memory_cap_bytes: 1 << 30,
    };
    let mut written = Vec::new();
    run_throughput(
        &plan,
        0,
        &reproduction,
        &Device::Cpu,
        OpSet::Fast,
        &mut |e| {
            if let Progress::PointMeasured(p) = e {
                written.push(p.clone());
            }
        },
    )
    .unwrap();
    let statuses: Vec<PointStatus> = written.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [PointStatus::Done, PointStatus::OverCap]);

    let variant = trial(0, TrialStatus::Done);
    reproduction.append_fused(&variant).unwrap();
    let family = effnas::space::family(&preset("efficientnetv2-s").unwrap()).unwrap();
    reproduction.save_family(&family).unwrap();

    let run = ReproductionRun::load(&dir).unwrap();
    assert_eq!(run.throughput, written);
    assert_eq!(run.fused, [variant]);
    assert_eq!(run.family, family);
    assert!(run.search.is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_strategy_comparison_reads_back_as_the_bench_wrote_it() {
    let dir = scratch("strategies");
    let table = Nb201Table::load(Dataset::Cifar100).unwrap();
    let config = BenchConfig {
        strategies: vec![StrategyKind::Random, StrategyKind::Reinforce],
        seeds: 2,
        seed: 5,
        budget_s: 50_000.0,
        w: -0.07,
        v: 0.0,
        grid_points: 5,
    };
    let written = bench_strategies(&table, &config, &|| {});
    StrategyBenchDir::new(&dir).save(&written).unwrap();
    assert!(matches!(Run::load(&dir).unwrap(), Run::StrategyBench(_)));
    let run = StrategyBenchRun::load(&dir).unwrap();
    assert_eq!(run.results, written);
    assert_eq!(run.results.grid_s.len(), 5);
    assert_eq!(run.results.strategies[1].runs.len(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}
