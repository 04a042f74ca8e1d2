//! A search run by this process: its workers (one per device, or several sharing
//! the CPU's threads) take turns asking the proposer for the next network,
//! evaluate it, and record it in the store, until the budget is spent. Resuming
//! replays the recorded trials into the strategy and continues; a network is never
//! evaluated twice.

use std::sync::Mutex;
use std::time::Instant;

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
    Started { done: usize, budget: usize },
    TrialStarted { id: usize, name: &'a str },
    TrialFinished(&'a Trial),
}

/// What the workers share: the proposer, the trials so far, and whether to stop.
struct Shared {
    proposer: Proposer,
    trials: Vec<Trial>,
    next_id: usize,
    in_flight: usize,
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
}

impl LocalSearch<'_> {
    /// The next proposal, or `None` when the budget (or time) is spent, the space
    /// is exhausted, or another worker failed.
    fn next(&self) -> Option<Proposal> {
        let mut s = self.shared.lock().expect("not poisoned");
        let over_time = self
            .config
            .time_budget_s
            .is_some_and(|t| self.started.elapsed().as_secs_f64() >= t);
        if s.trials.len() + s.in_flight >= self.config.budget
            || over_time
            || s.exhausted
            || s.failure.is_some()
        {
            return None;
        }
        let id = s.next_id;
        let Some(proposal) = s.proposer.propose(&self.config.space, self.config.seed, id) else {
            s.exhausted = true;
            return None;
        };
        s.next_id += 1;
        s.in_flight += 1;
        Some(proposal)
    }

    /// Records a finished trial and teaches the strategy; false if it could not be
    /// recorded (the search stops).
    fn record(&self, trial: Trial) -> bool {
        let mut s = self.shared.lock().expect("not poisoned");
        if let Err(e) = self.store.lock().expect("not poisoned").append(&trial) {
            s.failure = Some(e.into());
            return false;
        }
        s.proposer.observe(&self.config.space, &trial);
        s.in_flight -= 1;
        (self.observe)(SearchEvent::TrialFinished(&trial));
        s.trials.push(trial);
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
        };
        let pool =
            threads.and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok());
        while let Some(proposal) = self.next() {
            (self.observe)(SearchEvent::TrialStarted {
                id: proposal.id,
                name: &proposal.spec.name,
            });
            let seed = trial_seed(self.config.seed, proposal.id);
            let evaluate = || evaluator.evaluate(&proposal, seed);
            let trial = match &pool {
                Some(pool) => pool.install(evaluate),
                None => evaluate(),
            };
            if !self.record(trial) {
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
    let trials = store.trials()?;
    let search = LocalSearch {
        config,
        splits,
        ops,
        shared: Mutex::new(Shared {
            proposer: Proposer::new(config.strategy, &config.space, &trials, []),
            next_id: trials.iter().map(|t| t.id + 1).max().unwrap_or(0),
            in_flight: 0,
            exhausted: false,
            failure: None,
            trials,
        }),
        store: Mutex::new(store),
        started: Instant::now(),
        observe,
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
    let mut trials = shared.trials;
    trials.sort_by_key(|t| t.id);
    Ok(trials)
}
