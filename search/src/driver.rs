//! The search loop: a strategy proposes, the evaluator measures, the store
//! records, until the budget is spent. Resuming replays the recorded trials into
//! the strategy and continues; duplicates (by canonical key) are not evaluated.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

use candle_core::Device;
use models::ops::OpSet;
use rand::Rng;
use reports::Goal;
use serde::{Deserialize, Serialize};
use space::{Choices, SearchSpace};

use crate::data::Splits;
use crate::data::loader::rng_for;
use crate::evaluator::{Evaluator, EvaluatorConfig};
use crate::store::TrialStore;
use crate::strategy::{Observation, Strategy, StrategyKind};
use crate::trial::Trial;

/// Everything needed to run, or resume, a search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchConfig {
    pub space: SearchSpace,
    pub strategy: StrategyKind,
    pub budget: usize,
    /// Stop proposing after this many seconds of this process.
    pub time_budget_s: Option<f64>,
    pub seed: u64,
    /// The `--data` argument (`None`: the embedded subset).
    pub data: Option<String>,
    /// The network S and P are normalised by.
    pub reference: String,
    pub evaluator: EvaluatorConfig,
    pub workers: usize,
    /// Presets evaluated the same way as the candidates, for comparison in the
    /// report; they use no budget and no strategy learns from them.
    #[serde(default)]
    pub references: Vec<String>,
    /// Heartbeats and retries of a search shared through PostgreSQL.
    #[serde(default)]
    pub sharing: crate::worker::Sharing,
}

/// What the search tells an observer.
pub enum SearchEvent<'a> {
    Started { done: usize, budget: usize },
    TrialStarted { id: usize, name: &'a str },
    TrialFinished(&'a Trial),
}

/// Proposals that keep coming back as duplicates end the search after this many.
const MAX_DUPLICATE_PROPOSALS: usize = 200;

struct State {
    strategy: Box<dyn Strategy + Send>,
    history: Vec<Observation>,
    seen: HashSet<String>,
    trials: Vec<Trial>,
    next_id: usize,
    in_flight: usize,
    exhausted: bool,
}

fn observation(t: &Trial) -> Observation {
    Observation {
        choices: t.choices.clone(),
        reward: t.reward,
    }
}

impl State {
    /// A new point whose network has not been evaluated, or `None` when the
    /// strategy keeps proposing known ones.
    fn propose(&mut self, space: &SearchSpace, seed: u64) -> Option<(usize, Choices)> {
        let id = self.next_id;
        let mut rng = rng_for(&[seed, id as u64, 0x9A]);
        for attempt in 0..MAX_DUPLICATE_PROPOSALS {
            let choices = if attempt < MAX_DUPLICATE_PROPOSALS / 2 {
                self.strategy.propose(space, &self.history, &mut rng)
            } else {
                space.sample(&mut rng) // a stuck strategy: fall back to exploring
            };
            let Ok(key) = space.key(&choices) else {
                continue;
            };
            if self.seen.insert(key) {
                self.next_id += 1;
                return Some((id, choices));
            }
        }
        self.exhausted = true;
        None
    }
}

/// Evaluates the reference presets the store does not hold yet and records each
/// as it finishes; returns all of them, old and new.
pub fn evaluate_references(
    store: &mut (dyn TrialStore + Send),
    config: &SearchConfig,
    splits: &Splits,
    device: &Device,
    ops: OpSet,
    on_start: &mut dyn FnMut(&str),
) -> Result<Vec<Trial>, String> {
    let mut done = store.references().map_err(|e| e.to_string())?;
    let evaluator = Evaluator {
        config: &config.evaluator,
        splits,
        device,
        ops,
    };
    // Recorded in the order asked for: the first `done.len()` are finished.
    for (i, name) in config.references.iter().enumerate().skip(done.len()) {
        let spec = crate::inputs::load_arch(name).map_err(|e| e.to_string())?;
        on_start(name);
        let seed = rng_for(&[config.seed, i as u64, 0x8EF]).random::<u64>();
        let trial = evaluator.evaluate(i, &spec, &Choices(Vec::new()), seed);
        store.append_reference(&trial).map_err(|e| e.to_string())?;
        done.push(trial);
    }
    Ok(done)
}

/// Runs the search to its budget, recording every trial in `store`; returns all
/// trials, old and new.
#[allow(clippy::too_many_arguments)]
pub fn run_search(
    store: &mut (dyn TrialStore + Send),
    config: &SearchConfig,
    splits: &Splits,
    devices: &[Device],
    ops: OpSet,
    observe: &(dyn Fn(SearchEvent) + Sync),
) -> Result<Vec<Trial>, String> {
    if devices.is_empty() {
        return Err("no device to evaluate on".into());
    }
    let space = &config.space;
    let trials = store.trials().map_err(|e| e.to_string())?;
    let mut strategy = config.strategy.build(space);
    let history: Vec<Observation> = trials.iter().map(observation).collect();
    for o in &history {
        strategy.observe(space, o);
    }
    let state = Mutex::new(State {
        strategy,
        history,
        seen: trials.iter().map(|t| t.key.clone()).collect(),
        next_id: trials.iter().map(|t| t.id + 1).max().unwrap_or(0),
        in_flight: 0,
        trials,
        exhausted: false,
    });
    let store = Mutex::new(store);
    let started = Instant::now();
    observe(SearchEvent::Started {
        done: state.lock().expect("not poisoned").trials.len(),
        budget: config.budget,
    });

    let workers = config.workers.max(1);
    let threads = (rayon::current_num_threads() / workers).max(1);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let work = |device: &Device| {
        let evaluator = Evaluator {
            config: &config.evaluator,
            splits,
            device,
            ops,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .ok();
        loop {
            let (id, choices) = {
                let mut s = state.lock().expect("not poisoned");
                let over_time = config
                    .time_budget_s
                    .is_some_and(|t| started.elapsed().as_secs_f64() >= t);
                if s.trials.len() + s.in_flight >= config.budget
                    || over_time
                    || s.exhausted
                    || failure.lock().expect("not poisoned").is_some()
                {
                    return;
                }
                let Some(proposal) = s.propose(space, config.seed) else {
                    return;
                };
                s.in_flight += 1;
                proposal
            };
            let spec = match space.decode(&choices) {
                Ok(spec) => spec,
                Err(e) => {
                    *failure.lock().expect("not poisoned") =
                        Some(format!("decoding a proposal: {e}"));
                    return;
                }
            };
            observe(SearchEvent::TrialStarted {
                id,
                name: &spec.name,
            });
            let seed = rng_for(&[config.seed, id as u64, 0x7E]).random::<u64>();
            let evaluate = || evaluator.evaluate(id, &spec, &choices, seed);
            let trial = match &pool {
                Some(pool) if workers > 1 => pool.install(evaluate),
                _ => evaluate(),
            };
            let mut s = state.lock().expect("not poisoned");
            if let Err(e) = store.lock().expect("not poisoned").append(&trial) {
                *failure.lock().expect("not poisoned") = Some(e.to_string());
                return;
            }
            let o = observation(&trial);
            s.strategy.observe(space, &o);
            s.history.push(o);
            s.in_flight -= 1;
            observe(SearchEvent::TrialFinished(&trial));
            s.trials.push(trial);
        }
    };
    if workers == 1 {
        work(&devices[0]);
    } else {
        // Worker i evaluates on device i (round robin when there are more workers;
        // give one handle per worker to keep workers on one GPU apart).
        std::thread::scope(|scope| {
            for device in devices.iter().cycle().take(workers) {
                let work = &work;
                scope.spawn(move || work(device));
            }
        });
    }
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut trials = state.into_inner().expect("not poisoned").trials;
    trials.sort_by_key(|t| t.id);
    Ok(trials)
}

/// The trials no other trial beats in both accuracy (higher) and step time
/// (lower), by ascending step time.
pub fn pareto_front(trials: &[Trial]) -> Vec<&Trial> {
    let done: Vec<&Trial> = trials.iter().filter(|t| t.is_done()).collect();
    let points: Vec<Vec<f64>> = done
        .iter()
        .map(|t| {
            vec![
                t.accuracy.unwrap_or(f64::NAN),
                t.step_ms.as_ref().map_or(f64::NAN, |s| s.median),
            ]
        })
        .collect();
    let mut front: Vec<&Trial> = reports::front(&points, &[Goal::Max, Goal::Min])
        .into_iter()
        .map(|i| done[i])
        .collect();
    front.sort_by(|a, b| {
        let step = |t: &Trial| t.step_ms.as_ref().map_or(f64::MAX, |s| s.median);
        step(a).total_cmp(&step(b))
    });
    front
}
