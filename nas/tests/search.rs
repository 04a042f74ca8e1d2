//! The search end to end: a tiny search runs in seconds, strategies beat random
//! search where they should, and the search loop keeps its promises.

use candle_core::Device;
use models::ops::OpSet;
use nas::store::{RunDirStore, TrialStore};
use nas::strategy::{Observation, StrategyKind};
use nas::{EvaluatorConfig, Reward, SearchConfig, Timing, run_search};
use rand::SeedableRng;
use rand::rngs::StdRng;
use records::{Trial, TrialStatus};
use space::spaces::builtin_space;
use space::{ChoiceSpace, SearchSpace};
use train::data::{Splits, embedded_fashion_mnist};
use train::{LrDecay, OptimizerKind, Progressive, TrainConfig};

/// Two small stages over 12–16 px grey images.
pub fn tiny_space() -> SearchSpace {
    SearchSpace::from_json(include_str!("../../tests/fixtures/tiny-space.json")).unwrap()
}

fn data() -> Splits {
    embedded_fashion_mnist().unwrap().truncated(256, 64)
}

fn config(budget: usize, strategy: StrategyKind) -> SearchConfig {
    let mut proxy = TrainConfig::paper(1, 32, Progressive::fixed(16, 0.1, 0.0, 0.0));
    proxy.optimizer = OptimizerKind::AdamW;
    proxy.lr.lr = 0.004;
    proxy.lr.decay = LrDecay::Cosine;
    proxy.ema_decay = None;
    proxy.log_every = 0;
    SearchConfig {
        space: tiny_space(),
        strategy,
        budget,
        time_budget_s: None,
        seed: 1,
        data: None,
        proxy_images: None,
        reference: "tiny".into(),
        evaluator: EvaluatorConfig {
            timing: Timing {
                batch: 2,
                size: 16,
                steps: 1,
                warmup: 0,
            },
            memory_cap_bytes: 1 << 30,
            proxy,
            reward: Reward {
                w: -0.07,
                v: -0.05,
                reference_step_ms: 10.0,
                reference_params: 20_000,
            },
            limits: Default::default(),
        },
        workers: 1,
        references: Vec::new(),
        sharing: Default::default(),
        eta: 3,
    }
}

/// `config` with its proxy in two rungs: one epoch at 12 px, one at 16.
fn halving_config(budget: usize) -> SearchConfig {
    let mut c = config(budget, StrategyKind::Random);
    c.evaluator.proxy.epochs = 2;
    c.evaluator.proxy = c.evaluator.proxy.in_rungs(2, 12);
    c
}

fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The id of the trial with the highest reward.
fn best_id(trials: &[Trial]) -> Option<usize> {
    trials
        .iter()
        .filter(|t| t.reward.is_some())
        .max_by(|a, b| a.reward.unwrap().total_cmp(&b.reward.unwrap()))
        .map(|t| t.id)
}

#[test]
fn a_tiny_search_runs_end_to_end() {
    let dir = std::env::temp_dir().join(format!("effnas-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = RunDirStore::open(&dir).unwrap();
    let trials = run_search(
        &mut store,
        &config(3, StrategyKind::Random),
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    assert_eq!(trials.len(), 3);
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Done, "{:?}", t.error);
        let (acc, step) = (t.accuracy.unwrap(), t.step_ms.as_ref().unwrap().median);
        assert!((0.0..=1.0).contains(&acc) && step > 0.0);
        let expected = acc * (step / 10.0).powf(-0.07) * (t.params as f64 / 20_000.0).powf(-0.05);
        assert!((t.reward.unwrap() - expected).abs() < 1e-12);
    }
    // Distinct networks, all recorded, the best saved.
    let keys: std::collections::HashSet<_> = trials.iter().map(|t| &t.key).collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(store.trials().unwrap(), trials);
    assert!(dir.join("best.json").exists());
    assert!(!reports::table::front_trials(&trials, &reports::table::ACC_TIME).is_empty());

    // Extending the budget continues the same store without repeating anything.
    let more = run_search(
        &mut store,
        &config(5, StrategyKind::Random),
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    assert_eq!(more.len(), 5);
    assert_eq!(more[..3], trials[..]);
    let keys: std::collections::HashSet<_> = more.iter().map(|t| &t.key).collect();
    assert_eq!(keys.len(), 5);

    // Reports read what the search wrote, field for field.
    let run = reports::SearchRun::load(&dir).unwrap();
    assert_eq!(run.trials.len(), 5);
    for (read, written) in run.trials.iter().zip(&more) {
        assert_eq!(read.id, written.id);
        assert_eq!(read.spec, written.spec);
        assert_eq!(
            (read.accuracy, read.reward),
            (written.accuracy, written.reward)
        );
        assert_eq!(
            read.step_median(),
            written.step_ms.as_ref().map(|s| s.median)
        );
    }
    assert_eq!(run.best().map(|t| t.id), best_id(&more));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Several devices mean several workers: each trial is evaluated once, on one of them.
/// (Two CPU devices stand in for two GPUs.)
#[test]
fn workers_on_several_devices_share_the_budget_without_repeating_a_trial() {
    let dir = std::env::temp_dir().join(format!("effnas-search-workers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = RunDirStore::open(&dir).unwrap();
    let mut c = config(4, StrategyKind::Random);
    c.workers = 2;
    let devices = [Device::Cpu, Device::Cpu];
    let trials = run_search(&mut store, &c, &data(), &devices, OpSet::Fast, &|_| {}).unwrap();
    assert_eq!(
        trials.iter().map(|t| t.id).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert!(
        trials.iter().all(|t| t.status == TrialStatus::Done),
        "{trials:?}"
    );
    let keys: std::collections::HashSet<_> = trials.iter().map(|t| &t.key).collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(store.trials().unwrap().len(), 4);
    assert!(run_search(&mut store, &c, &data(), &[], OpSet::Fast, &|_| {}).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn candidates_over_the_memory_cap_are_skipped_not_trained() {
    let dir = std::env::temp_dir().join(format!("effnas-search-cap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = RunDirStore::open(&dir).unwrap();
    let mut c = config(2, StrategyKind::Random);
    c.evaluator.memory_cap_bytes = 1024;
    let trials = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    assert!(
        trials.iter().all(
            |t| t.status == TrialStatus::Skipped && t.error.as_deref().unwrap().contains("cap")
        )
    );
    assert!(trials.iter().all(|t| t.train_s == 0.0));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A synthetic objective over the paper's space: the share of choices that match
/// a hidden target, so better strategies find higher rewards sooner.
fn synthetic_run(kind: StrategyKind, seed: u64, proposals: usize) -> (f64, f64) {
    let space = builtin_space("paper").unwrap();
    let target = space.sample(&mut StdRng::seed_from_u64(999));
    let reward = |c: &space::Choices| {
        c.0.iter().zip(&target.0).filter(|(a, b)| a == b).count() as f64 / c.0.len() as f64
    };
    let mut strategy = kind.build(&space, proposals);
    let mut history: Vec<Observation> = Vec::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut best: f64 = 0.0;
    for _ in 0..proposals {
        let choices = strategy.propose(&space, &history, &mut rng);
        let r = reward(&choices);
        best = best.max(r);
        let o = Observation {
            choices,
            reward: Some(r),
            objectives: None,
        };
        strategy.observe(&space, &o);
        history.push(o);
    }
    let late = history[proposals - 50..]
        .iter()
        .map(|o| o.reward.unwrap())
        .sum::<f64>()
        / 50.0;
    (best, late)
}

#[test]
fn evolution_and_the_controller_beat_random_on_a_synthetic_objective() {
    let mean = |kind, which: fn((f64, f64)) -> f64| {
        (0..5)
            .map(|s| which(synthetic_run(kind, s, 400)))
            .sum::<f64>()
            / 5.0
    };
    let best = |p: (f64, f64)| p.0;
    let late = |p: (f64, f64)| p.1;
    let (random_best, random_late) = (
        mean(StrategyKind::Random, best),
        mean(StrategyKind::Random, late),
    );
    let (evolution_best, controller_late) = (
        mean(StrategyKind::Evolution, best),
        mean(StrategyKind::Reinforce, late),
    );
    assert!(
        evolution_best > random_best + 0.1,
        "evolution best {evolution_best} vs random {random_best}"
    );
    assert!(
        controller_late > random_late + 0.1,
        "controller late mean {controller_late} vs random {random_late}"
    );
}

#[test]
fn successive_halving_trains_only_the_top_third_further() {
    let dir = fresh_dir("halving");
    let mut store = RunDirStore::open(&dir).unwrap();
    let c = halving_config(6);
    let trials = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    assert_eq!(trials.len(), 6);
    assert!(trials.iter().all(|t| t.is_done()), "{trials:?}");
    // Six results at rung 1 and η = 3: the two best by their first rung rise
    // (and, with these seeds, the best of the first three is one of them).
    let mut by_first: Vec<&Trial> = trials.iter().collect();
    by_first.sort_by(|a, b| b.rungs[0].reward.total_cmp(&a.rungs[0].reward));
    let risen: Vec<usize> = trials
        .iter()
        .filter(|t| t.rungs.len() == 2)
        .map(|t| t.id)
        .collect();
    assert_eq!(risen.len(), 2, "{trials:?}");
    for t in &by_first[..2] {
        assert!(risen.contains(&t.id));
    }
    for t in &trials {
        assert_eq!((t.rungs[0].epochs, t.rungs[0].size), (1, 12));
        let last = t.rungs.last().unwrap();
        assert_eq!(
            (t.accuracy, t.reward),
            (Some(last.accuracy), Some(last.reward))
        );
        if t.rungs.len() == 2 {
            assert_eq!((t.rungs[1].epochs, t.rungs[1].size), (2, 16));
        }
    }
    // The best is a fully trained candidate; the checkpoints are gone.
    let best = records::trial::best(&trials).unwrap();
    assert_eq!(best.rungs.len(), 2);
    assert!(!dir.join("rungs").exists());
    // One line per rung reached: nothing recorded twice.
    let lines = std::fs::read_to_string(dir.join("trials.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 6 + 2);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A search killed as it starts a promotion resumes into the same result as one
/// never killed, training no candidate and no rung again.
#[test]
fn a_search_killed_between_rungs_resumes_without_training_a_rung_twice() {
    let c = halving_config(3);
    let whole_dir = fresh_dir("halving-whole");
    let mut store = RunDirStore::open(&whole_dir).unwrap();
    let whole = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();

    let dir = fresh_dir("halving-killed");
    let mut store = RunDirStore::open(&dir).unwrap();
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_search(&mut store, &c, &data(), &[Device::Cpu], OpSet::Fast, &|e| {
            if let nas::SearchEvent::Promoted { .. } = e {
                panic!("killed");
            }
        })
    }));
    assert!(killed.is_err());
    let before = store.trials().unwrap();
    assert_eq!(before.len(), 3);
    assert!(before.iter().all(|t| t.rungs.len() == 1));
    assert!(
        dir.join("rungs").exists(),
        "checkpoints kept for the promotion"
    );

    let started = std::sync::atomic::AtomicUsize::new(0);
    let promoted = std::sync::atomic::AtomicUsize::new(0);
    let mut store = RunDirStore::open(&dir).unwrap();
    let resumed = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|e| match e {
            nas::SearchEvent::TrialStarted { .. } => {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            nas::SearchEvent::Promoted { .. } => {
                promoted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {}
        },
    )
    .unwrap();
    assert_eq!(started.into_inner(), 0, "no candidate evaluated again");
    assert_eq!(promoted.into_inner(), 1);
    assert_eq!(resumed.len(), 3);
    for (a, b) in resumed.iter().zip(&whole) {
        assert_eq!((a.id, &a.key, a.rungs.len()), (b.id, &b.key, b.rungs.len()));
        let acc = |t: &Trial| t.rungs.iter().map(|r| r.accuracy).collect::<Vec<_>>();
        assert_eq!(
            acc(a),
            acc(b),
            "the promotion continued from the checkpoint exactly"
        );
    }
    let lines = std::fs::read_to_string(dir.join("trials.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 3 + 1);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(whole_dir).unwrap();
}

#[test]
fn candidates_over_a_limit_are_infeasible_and_never_trained() {
    let dir = fresh_dir("limits");
    let mut store = RunDirStore::open(&dir).unwrap();
    let mut c = config(2, StrategyKind::Random);
    c.evaluator.limits.max_params = Some(1);
    let trials = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Infeasible);
        assert!(
            t.error.as_deref().unwrap().contains("parameters"),
            "{:?}",
            t.error
        );
        // Not even timed: parameters are known from the spec.
        assert!(t.step_ms.is_none() && t.step_time_s == 0.0 && t.train_s == 0.0);
        assert!(t.rungs.is_empty() && t.reward.is_none());
    }
    std::fs::remove_dir_all(&dir).unwrap();

    let mut store = RunDirStore::open(&dir).unwrap();
    let mut c = config(2, StrategyKind::Pareto);
    c.evaluator.limits.max_step_ms = Some(1e-6);
    let trials = run_search(
        &mut store,
        &c,
        &data(),
        &[Device::Cpu],
        OpSet::Fast,
        &|_| {},
    )
    .unwrap();
    for t in &trials {
        assert_eq!(t.status, TrialStatus::Infeasible);
        assert!(t.error.as_deref().unwrap().contains("ms"), "{:?}", t.error);
        // Timed, then stopped before any training.
        assert!(t.step_ms.is_some() && t.train_s == 0.0 && t.rungs.is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two workers share the rungs: every candidate evaluated once, every rung
/// trained once, and the promotions those of one worker.
#[test]
fn two_workers_share_a_search_in_rungs() {
    let dir = fresh_dir("halving-workers");
    let mut store = RunDirStore::open(&dir).unwrap();
    let mut c = halving_config(6);
    c.workers = 2;
    let devices = [Device::Cpu, Device::Cpu];
    let trials = run_search(&mut store, &c, &data(), &devices, OpSet::Fast, &|_| {}).unwrap();
    assert_eq!(
        trials.iter().map(|t| t.id).collect::<Vec<_>>(),
        (0..6).collect::<Vec<_>>()
    );
    assert!(trials.iter().all(|t| t.is_done()), "{trials:?}");
    // Six first rungs at η = 3: the two best rise, plus at most the one that
    // was best of the first three if it is not among them (asynchronous
    // promotion never takes a promotion back).
    let risen = trials.iter().filter(|t| t.rungs.len() == 2).count();
    assert!((2..=3).contains(&risen), "{risen} promoted");
    let mut by_first: Vec<&Trial> = trials.iter().collect();
    by_first.sort_by(|a, b| b.rungs[0].reward.total_cmp(&a.rungs[0].reward));
    assert!(by_first[..2].iter().all(|t| t.rungs.len() == 2));
    let lines = std::fs::read_to_string(dir.join("trials.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 6 + risen, "each rung recorded once");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A run directory whose disk fills after `room` more trials: the next append
/// writes part of its line, as a write cut short by a full disk does, and fails.
struct FullDisk {
    inner: RunDirStore,
    room: usize,
}

impl TrialStore for FullDisk {
    fn config(&self) -> Result<Option<serde_json::Value>, nas::store::StoreError> {
        self.inner.config()
    }
    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), nas::store::StoreError> {
        self.inner.save_config(config)
    }
    fn trials(&self) -> Result<Vec<Trial>, nas::store::StoreError> {
        self.inner.trials()
    }
    fn append(&mut self, trial: &Trial) -> Result<(), nas::store::StoreError> {
        if self.room > 0 {
            self.room -= 1;
            return self.inner.append(trial);
        }
        let path = self.inner.root().join("trials.jsonl");
        let line = serde_json::to_string(trial).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut file, &line.as_bytes()[..line.len() / 2]).unwrap();
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        Err(records::RecordsError::io(&path, full).into())
    }
    fn references(&self) -> Result<Vec<Trial>, nas::store::StoreError> {
        self.inner.references()
    }
    fn append_reference(&mut self, trial: &Trial) -> Result<(), nas::store::StoreError> {
        self.inner.append_reference(trial)
    }
}

/// The disk fills while a trial is written: the search stops with an error that
/// names the file and the cause, every trial recorded before stays readable, and
/// the search resumes from them without evaluating one again.
#[test]
fn a_full_disk_stops_the_search_and_loses_nothing_recorded() {
    let dir = fresh_dir("full-disk");
    let c = config(4, StrategyKind::Random);
    let mut full = FullDisk {
        inner: RunDirStore::open(&dir).unwrap(),
        room: 2,
    };
    let run = |store: &mut (dyn TrialStore + Send), started: &std::sync::atomic::AtomicUsize| {
        run_search(store, &c, &data(), &[Device::Cpu], OpSet::Fast, &|e| {
            if let nas::SearchEvent::TrialStarted { .. } = e {
                started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let started = std::sync::atomic::AtomicUsize::new(0);
    let e = run(&mut full, &started).unwrap_err().to_string();
    assert!(
        e.contains("trials.jsonl") && e.contains("No space left on device"),
        "{e}"
    );
    let recorded = full.inner.trials().unwrap();
    assert_eq!(recorded.len(), 2);

    // Opened again (the torn last line cut off), it resumes to the budget.
    let mut store = RunDirStore::open(&dir).unwrap();
    assert_eq!(store.trials().unwrap(), recorded);
    let started = std::sync::atomic::AtomicUsize::new(0);
    let all = run(&mut store, &started).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[..2], recorded[..]);
    assert_eq!(
        started.into_inner(),
        2,
        "only the two unrecorded are evaluated"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
