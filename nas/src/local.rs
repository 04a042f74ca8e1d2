//! A search run by this process: its workers (one per device, or several sharing
//! the CPU's threads) take turns asking for work — a promotion a candidate has
//! earned at a rung of successive halving, else the proposer's next network —
//! do it, and record the result in the store, until the budget of candidates is
//! spent and no candidate can rise further. Resuming replays the recorded trials
//! into the strategy and continues; a network is never evaluated twice and a
//! finished rung never trained twice.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use candle_core::Device;
use models::ops::OpSet;
use records::{Proposal, Trial};
use train::Splits;

use crate::config::SearchConfig;
use crate::error::NasError;
use crate::evaluator::Evaluator;
use crate::proposal::{Proposer, trial_seed};
use crate::store::TrialStore;

/// What the search tells an observer.
pub enum SearchEvent<'a> {
    Started {
        done: usize,
        budget: usize,
    },
    TrialStarted {
        id: usize,
        name: &'a str,
    },
    /// A new candidate's first result (its first rung, or why it has none).
    TrialFinished(&'a Trial),
    /// Candidate `id` ranked in the top 1/η of rung `rung - 1` and trains rung `rung`.
    Promoted {
        id: usize,
        rung: usize,
    },
    /// A promoted candidate's result at the rung it rose to.
    RungFinished(&'a Trial),
}

/// One piece of a worker's work.
enum Work {
    /// A new candidate: evaluate it, training its first rung.
    Start(Proposal),
    /// Train this trial on through this rung.
    Promote(Box<Trial>, usize),
}

/// What the workers share: the proposer, the trials so far, and whether to stop.
struct Shared {
    proposer: Proposer,
    /// Every candidate's latest state, in the order first recorded.
    trials: Vec<Trial>,
    next_id: usize,
    /// New candidates being evaluated.
    in_flight: usize,
    /// Candidates being trained through a further rung.
    promoting: HashSet<usize>,
    /// The proposer found no new network.
    exhausted: bool,
    /// Why the search stopped early (a trial could not be recorded).
    failure: Option<NasError>,
}

/// The search's loop, as every worker runs it.
struct LocalSearch<'a> {
    config: &'a SearchConfig,
    splits: &'a Splits,
    ops: OpSet,
    store: Mutex<&'a mut (dyn TrialStore + Send)>,
    shared: Mutex<Shared>,
    started: Instant,
    observe: &'a (dyn Fn(SearchEvent) + Sync),
    /// Where candidates keep their training between rungs.
    rungs_dir: Option<&'a Path>,
}

/// How long an idle worker waits before asking again, while others' results may
/// earn a promotion.
const IDLE_WAIT: Duration = Duration::from_millis(50);

impl LocalSearch<'_> {
    /// The next piece of work, or `None` when the budget (or time) is spent and no
    /// candidate can rise, the space is exhausted, or another worker failed.
    fn next(&self) -> Option<Work> {
        loop {
            let mut s = self.shared.lock().expect("not poisoned");
            let over_time = self
                .config
                .time_budget_s
                .is_some_and(|t| self.started.elapsed().as_secs_f64() >= t);
            if over_time || s.failure.is_some() {
                return None;
            }
            let c = self.config;
            if let Some((id, rung)) = c.halving().next(&s.trials, &s.promoting) {
                s.promoting.insert(id);
                let trial = s.trials.iter().find(|t| t.id == id).expect("ranked");
                return Some(Work::Promote(Box::new(trial.clone()), rung));
            }
            if s.trials.len() + s.in_flight < c.budget && !s.exhausted {
                let id = s.next_id;
                if let Some(proposal) = s.proposer.propose(&c.space, c.seed, id) {
                    s.next_id += 1;
                    s.in_flight += 1;
                    return Some(Work::Start(proposal));
                }
                s.exhausted = true;
            }
            if s.in_flight == 0 && s.promoting.is_empty() {
                return None;
            }
            drop(s);
            std::thread::sleep(IDLE_WAIT);
        }
    }

    /// Records a trial's new state — a new candidate's first result, which
    /// teaches the strategy, or a promotion's — and tells the observer; false if
    /// it could not be recorded (the search stops).
    fn record(&self, trial: Trial, promoted: bool) -> bool {
        let mut s = self.shared.lock().expect("not poisoned");
        if let Err(e) = self.store.lock().expect("not poisoned").append(&trial) {
            s.failure = Some(e.into());
            return false;
        }
        if promoted {
            s.promoting.remove(&trial.id);
            (self.observe)(SearchEvent::RungFinished(&trial));
            if let Some(old) = s.trials.iter_mut().find(|t| t.id == trial.id) {
                *old = trial;
            }
        } else {
            s.proposer.observe(&self.config.space, &trial);
            s.in_flight -= 1;
            (self.observe)(SearchEvent::TrialFinished(&trial));
            s.trials.push(trial);
        }
        true
    }

    /// One worker: evaluates on `device` with `threads` threads of its own when
    /// several workers share the machine.
    fn work(&self, device: &Device, threads: Option<usize>) {
        let evaluator = Evaluator {
            config: &self.config.evaluator,
            splits: self.splits,
            device,
            ops: self.ops,
            rungs_dir: self.rungs_dir,
        };
        let pool =
            threads.and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok());
        let install = |f: &(dyn Fn() -> Trial + Sync)| match &pool {
            Some(pool) => pool.install(f),
            None => f(),
        };
        while let Some(work) = self.next() {
            let recorded = match work {
                Work::Start(proposal) => {
                    (self.observe)(SearchEvent::TrialStarted {
                        id: proposal.id,
                        name: &proposal.spec.name,
                    });
                    let seed = trial_seed(self.config.seed, proposal.id);
                    self.record(install(&|| evaluator.evaluate(&proposal, seed)), false)
                }
                Work::Promote(trial, rung) => {
                    (self.observe)(SearchEvent::Promoted { id: trial.id, rung });
                    self.record(install(&|| evaluator.promote(&trial, rung)), true)
                }
            };
            if !recorded {
                return;
            }
        }
    }
}

/// Runs the search to its budget, recording every trial in `store`; returns all
/// trials, old and new, by id. Worker i evaluates on `devices[i]` (round robin
/// when `config.workers` is larger; give one handle per worker to keep workers on
/// one GPU apart).
pub fn run_search(
    store: &mut (dyn TrialStore + Send),
    config: &SearchConfig,
    splits: &Splits,
    devices: &[Device],
    ops: OpSet,
    observe: &(dyn Fn(SearchEvent) + Sync),
) -> Result<Vec<Trial>, NasError> {
    if devices.is_empty() {
        return Err(NasError::NoDevice);
    }
    let rungs_dir = store.rungs_dir();
    if config.rungs() > 1 && rungs_dir.is_none() {
        return Err(NasError::Saved(
            "successive halving keeps candidates' checkpoints in a run directory; this store has none"
                .into(),
        ));
    }
    let rungs_dir = rungs_dir.filter(|_| config.rungs() > 1);
    let trials = store.trials()?;
    let search = LocalSearch {
        config,
        splits,
        ops,
        shared: Mutex::new(Shared {
            proposer: Proposer::new(config.strategy, &config.space, config.budget, &trials, []),
            next_id: trials.iter().map(|t| t.id + 1).max().unwrap_or(0),
            in_flight: 0,
            promoting: HashSet::new(),
            exhausted: false,
            failure: None,
            trials,
        }),
        store: Mutex::new(store),
        started: Instant::now(),
        observe,
        rungs_dir: rungs_dir.as_deref(),
    };
    observe(SearchEvent::Started {
        done: search.shared.lock().expect("not poisoned").trials.len(),
        budget: config.budget,
    });
    let workers = config.workers.max(1);
    if workers == 1 {
        search.work(&devices[0], None);
    } else {
        let threads = (rayon::current_num_threads() / workers).max(1);
        std::thread::scope(|scope| {
            for device in devices.iter().cycle().take(workers) {
                let search = &search;
                scope.spawn(move || search.work(device, Some(threads)));
            }
        });
    }
    let shared = search.shared.into_inner().expect("not poisoned");
    if let Some(e) = shared.failure {
        return Err(e);
    }
    // Done: the checkpoints go (a larger budget on resume may still promote a
    // candidate: it retrains from the start, to the same result).
    if let Some(dir) = &rungs_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let mut trials = shared.trials;
    trials.sort_by_key(|t| t.id);
    Ok(trials)
}
