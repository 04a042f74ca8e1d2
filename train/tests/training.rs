//! The trainer end to end on real data, small enough for seconds: it learns,
//! resumes exactly, guards against divergence, and keeps its schedule.

use candle_core::Device;
use models::ops::OpSet;
use records::TrainDir;
use space::ArchSpec;
use train::data::{Splits, embedded_fashion_mnist};
use train::{LrDecay, OptimizerKind, Outcome, Progressive, TrainConfig, Trainer};

fn tiny() -> ArchSpec {
    ArchSpec::from_json(
        r#"{"name": "tiny", "input_channels": 1, "stem_channels": 16, "stem_stride": 1,
            "stages": ["r1_k3_s2_e1_i16_o16_c1", "r1_k3_s2_e4_i16_o32_c1", "r1_k3_s2_e4_i32_o48_se0.25"],
            "head_channels": 64, "classes": 10, "dropout": 0.1, "survival_prob": 0.9,
            "train_size": 16, "eval_size": 16}"#,
    )
    .unwrap()
}

/// The first `n` training and `m` validation images of the embedded subset.
fn data(n: usize, m: usize) -> Splits {
    embedded_fashion_mnist().unwrap().truncated(n, m)
}

fn config(epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::paper(epochs, 32, Progressive::fixed(16, 0.1, 0.0, 0.0));
    c.optimizer = OptimizerKind::AdamW;
    c.lr.lr = 0.004;
    c.lr.decay = LrDecay::Cosine;
    c.weight_decay = 0.05;
    c.ema_decay = None;
    c.crop_pad = 1;
    c
}

fn trainer<'a>(
    spec: &'a ArchSpec,
    splits: &'a Splits,
    config: &'a TrainConfig,
    run: Option<&'a TrainDir>,
    resume: bool,
) -> Trainer<'a> {
    Trainer {
        spec,
        splits,
        config,
        device: &Device::Cpu,
        ops: OpSet::Fast,
        run,
        resume,
        init_from: None,
    }
}

#[test]
fn training_on_the_embedded_subset_beats_chance_clearly() {
    let splits = data(4000, 1000);
    let (spec, config) = (tiny(), config(2));
    let report = trainer(&spec, &splits, &config, None, false)
        .run(&mut |_| {})
        .unwrap();
    assert_eq!(report.outcome, Outcome::Completed);
    // Chance is 10%; two short epochs of a 60k-parameter network get far past it.
    assert!(
        report.val_acc > 0.55,
        "validation accuracy {}",
        report.val_acc
    );
}

#[test]
fn a_resumed_run_continues_the_same_run() {
    let splits = data(320, 100);
    let spec = tiny();
    let dir = std::env::temp_dir().join(format!("effnas-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (straight_dir, resumed_dir) = (dir.join("straight"), dir.join("resumed"));
    let mut progressive = config(3);
    progressive.progressive = Progressive {
        stages: 3,
        size: [12, 16],
        dropout: [0.0, 0.2],
        randaug: [0.0, 4.0],
        mixup: [0.0, 0.2],
        adaptive: true,
    };
    progressive.ema_decay = Some(0.99);

    let straight = TrainDir::create(&straight_dir).unwrap();
    let full = trainer(&spec, &splits, &progressive, Some(&straight), false)
        .run(&mut |_| {})
        .unwrap();

    // The same run stopped after one epoch, then resumed for the rest.
    let resumed = TrainDir::create(&resumed_dir).unwrap();
    let first = TrainConfig {
        epochs: 3,
        ..progressive.clone()
    };
    let mut stop_after_one = |e: train::Event| {
        if let train::Event::EpochEnd(m) = e {
            assert_eq!(m.epoch, 1);
            panic!("stop");
        }
    };
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        trainer(&spec, &splits, &first, Some(&resumed), false).run(&mut stop_after_one)
    }));
    assert!(stopped.is_err());
    let rest = trainer(&spec, &splits, &progressive, Some(&resumed), true)
        .run(&mut |_| {})
        .unwrap();

    assert_eq!(rest.epochs_done, 3);
    assert_eq!(rest.val_acc, full.val_acc);
    assert_eq!(rest.val_loss, full.val_loss);
    let weights =
        |d: &std::path::Path| std::fs::read(d.join("checkpoint/model.safetensors")).unwrap();
    assert_eq!(
        weights(&straight_dir),
        weights(&resumed_dir),
        "resumed weights differ from an uninterrupted run"
    );
    // The metrics hold each epoch once.
    let epochs = |d: &std::path::Path| {
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"kind\":\"epoch\""))
            .count()
    };
    assert_eq!((epochs(&straight_dir), epochs(&resumed_dir)), (3, 3));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_diverging_run_stops_with_a_clear_status() {
    let splits = data(256, 64);
    let spec = tiny();
    let mut c = config(2);
    c.optimizer = OptimizerKind::Sgd;
    c.lr.lr = 1e12;
    c.lr.warmup_epochs = 0.0;
    let report = trainer(&spec, &splits, &c, None, false)
        .run(&mut |_| {})
        .unwrap();
    assert!(
        matches!(report.outcome, Outcome::Diverged { epoch: 0, .. }),
        "{:?}",
        report.outcome
    );
}

#[test]
fn stages_change_size_and_regularization_during_the_run() {
    let splits = data(128, 32);
    let spec = tiny();
    let mut c = config(4);
    c.progressive = Progressive {
        stages: 2,
        size: [12, 16],
        dropout: [0.0, 0.3],
        randaug: [2.0, 6.0],
        mixup: [0.0, 0.2],
        adaptive: true,
    };
    let mut seen = Vec::new();
    trainer(&spec, &splits, &c, None, false)
        .run(&mut |e| {
            if let train::Event::EpochEnd(m) = e {
                seen.push((
                    m.stage.size,
                    m.stage.dropout,
                    m.stage.randaug,
                    m.stage.mixup,
                ));
            }
        })
        .unwrap();
    assert_eq!(
        seen,
        [
            (12, 0.0, 2.0, 0.0),
            (12, 0.0, 2.0, 0.0),
            (16, 0.3, 6.0, 0.2),
            (16, 0.3, 6.0, 0.2)
        ]
    );
}
