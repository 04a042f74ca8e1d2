//! A worker of a search shared through PostgreSQL: claim a pending trial, evaluate it
//! while heartbeating, record it; when nothing is pending and the budget allows,
//! propose the next trial itself (random search and regularized evolution run
//! asynchronously this way, as aging evolution was designed to). Any number of
//! workers on any machines may run at once, stop and restart: a finished trial is
//! never lost or repeated, and a trial whose worker stopped is retried.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use candle_core::Device;
use models::ops::OpSet;
use rand::Rng;
use space::ArchSpec;

use crate::data::Splits;
use crate::data::loader::rng_for;
use crate::driver::SearchConfig;
use crate::evaluator::Evaluator;
use crate::store::{PgStore, StoreError, TrialStore};
use crate::strategy::{Observation, StrategyKind};
use crate::trial::{Trial, TrialStatus};

/// How the workers of a shared search pace heartbeats and retries: part of the
/// search's saved settings, so that every worker judges the others alike.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sharing {
    /// Seconds between heartbeats while evaluating.
    pub heartbeat_s: f64,
    /// A running trial not heartbeaten for this long is given back.
    pub grace_s: f64,
    /// Claims of one trial before it is marked failed.
    pub max_attempts: i32,
}

impl Default for Sharing {
    fn default() -> Sharing {
        Sharing {
            heartbeat_s: 5.0,
            grace_s: 60.0,
            max_attempts: 3,
        }
    }
}

/// Seconds between looks when other workers hold the remaining trials.
pub(crate) const POLL_S: f64 = 0.5;

/// What a worker tells its observer.
pub enum WorkerEvent<'a> {
    Started(&'a Trial, i32),
    Finished(&'a Trial),
    /// The trial was given to another worker while this one evaluated it.
    Lost(usize),
}

/// Runs `worker` on the search in `store` until every trial of the budget is
/// finished; returns how many this worker recorded.
#[allow(clippy::too_many_arguments)]
pub fn run_worker(
    store: &mut PgStore,
    url: &str,
    worker: &str,
    config: &SearchConfig,
    splits: &Splits,
    device: &Device,
    ops: OpSet,
    observe: &dyn Fn(WorkerEvent),
) -> Result<usize, StoreError> {
    let timing = &config.sharing;
    store.register_worker(worker, &format!("{:?}", device.location()))?;
    let evaluator = Evaluator {
        config: &config.evaluator,
        splits,
        device,
        ops,
    };
    let mut recorded = 0;
    loop {
        store.requeue_stale(timing.grace_s, timing.max_attempts)?;
        if let Some(claim) = store.claim(worker)? {
            let proposal = claim.proposal;
            observe(WorkerEvent::Started(&proposal, claim.attempt));
            let seed = rng_for(&[config.seed, proposal.id as u64, 0x7E]).random::<u64>();
            let trial = with_heartbeat(url, store.name(), worker, proposal.id, timing, || {
                evaluator.evaluate(proposal.id, &proposal.spec, &proposal.choices, seed)
            })?;
            if store.finish(worker, &trial)? {
                recorded += 1;
                observe(WorkerEvent::Finished(&trial));
            } else {
                observe(WorkerEvent::Lost(trial.id));
            }
            continue;
        }
        let (pending, running, finished) = store.counts()?;
        if finished >= config.budget {
            return Ok(recorded);
        }
        let room = pending + running + finished < config.budget;
        if room && config.strategy != StrategyKind::Reinforce {
            if let Some(proposal) = propose(store, config)? {
                store.propose(&[proposal], config.budget)?;
                continue;
            }
        }
        // Others hold the rest (or a coordinator proposes): wait, then look again.
        std::thread::sleep(Duration::from_secs_f64(POLL_S));
    }
}

/// The strategy's next proposal given every finished trial, one not proposed before.
pub(crate) fn propose(
    store: &mut PgStore,
    config: &SearchConfig,
) -> Result<Option<Trial>, StoreError> {
    let space = &config.space;
    let finished = store.trials()?;
    let proposed: HashSet<String> = store.proposed_keys()?.into_iter().collect();
    let mut strategy = config.strategy.build(space);
    let history: Vec<Observation> = finished
        .iter()
        .map(|t| Observation {
            choices: t.choices.clone(),
            reward: t.reward,
        })
        .collect();
    for o in &history {
        strategy.observe(space, o);
    }
    // Seeded by how many are proposed, so a restarted worker proposes alike.
    let mut rng = rng_for(&[config.seed, proposed.len() as u64, 0x9A]);
    for attempt in 0..200 {
        let choices = if attempt < 100 {
            strategy.propose(space, &history, &mut rng)
        } else {
            space.sample(&mut rng)
        };
        let Ok(spec) = space.decode(&choices) else {
            continue;
        };
        let key = spec.canonical_key();
        if !proposed.contains(&key) {
            return Ok(Some(skeleton(spec, key, choices)));
        }
    }
    Ok(None)
}

/// A trial with no results yet: what is stored as a proposal.
fn skeleton(spec: ArchSpec, key: String, choices: space::Choices) -> Trial {
    Trial {
        id: 0,
        status: TrialStatus::Failed,
        params: spec.param_count(),
        spec,
        key,
        choices,
        accuracy: None,
        step_ms: None,
        macs: 0,
        memory_bytes: 0,
        reward: None,
        error: None,
        step_time_s: 0.0,
        train_s: 0.0,
        total_s: 0.0,
        seed: 0,
    }
}

/// Runs `work` while a second connection heartbeats trial `id` every
/// `timing.heartbeat_s` seconds.
fn with_heartbeat<T>(
    url: &str,
    run: &str,
    worker: &str,
    id: usize,
    timing: &Sharing,
    work: impl FnOnce() -> T,
) -> Result<T, StoreError> {
    let mut beat = PgStore::open(url, run, true).map_err(|e| StoreError(e.to_string()))?;
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let step = Duration::from_millis(100);
            let mut waited = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                if waited.as_secs_f64() >= timing.heartbeat_s {
                    waited = Duration::ZERO;
                    // A lost trial or a failed beat ends the beating; the result
                    // is refused at `finish` if the trial went to another worker.
                    if !beat.heartbeat(worker, id).unwrap_or(false) {
                        return;
                    }
                }
            }
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    });
    Ok(result)
}
