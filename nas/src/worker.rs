//! A worker of a shared search: claim the promotion a candidate has earned at a
//! rung of successive halving, else a pending trial; do it while heartbeating,
//! record it; when nothing is pending and the budget allows, propose the next
//! trial itself (random search and regularized evolution run asynchronously this
//! way, as aging evolution was designed to). Any number of workers on any machines
//! may run at once, stop and restart: a finished trial or rung is never lost or
//! repeated, and one whose worker stopped is retried. A candidate's training
//! between rungs is kept in the store, so any worker can continue it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use candle_core::Device;
use models::ops::OpSet;
use records::{Proposal, Trial};
use train::Splits;

use crate::config::{SearchConfig, Sharing};
use crate::evaluator::Evaluator;
use crate::halving::Plan;
use crate::proposal::{Proposer, trial_seed};
use crate::store::{SharedStore, StoreError};
use crate::strategy::StrategyKind;

/// Seconds between looks when other workers hold the remaining trials.
pub(crate) const POLL_S: f64 = 0.5;

/// What a worker tells its observer.
pub enum WorkerEvent<'a> {
    Started(&'a Proposal, i32),
    /// A candidate rises to this rung (attempt).
    Promoted(&'a Trial, usize, i32),
    /// A trial's first result, or its result at the rung it rose to.
    Finished(&'a Trial),
    /// The trial was given to another worker while this one evaluated it.
    Lost(usize),
}

/// Runs `worker` on the search in `store` until every trial of the budget is
/// finished and no candidate can rise further; returns how many results (first
/// results and rungs) this worker recorded.
#[allow(clippy::too_many_arguments)]
pub fn run_worker(
    store: &mut dyn SharedStore,
    worker: &str,
    config: &SearchConfig,
    splits: &Splits,
    device: &Device,
    ops: OpSet,
    observe: &dyn Fn(WorkerEvent),
) -> Result<usize, StoreError> {
    let sharing = &config.sharing;
    store.register_worker(worker, &format!("{:?}", device.location()))?;
    let plan = config.halving();
    // This worker's own place for a candidate's training while it trains a rung.
    let scratch = plan.is_halving().then(|| scratch_dir(store.name(), worker));
    let evaluator = Evaluator {
        config: &config.evaluator,
        splits,
        device,
        ops,
        rungs_dir: scratch.as_deref(),
    };
    let mut recorded = 0;
    let mut record = |store: &mut dyn SharedStore, trial: Trial| -> Result<(), StoreError> {
        if let Some(scratch) = &scratch {
            keep_between_rungs(store, &trial, &plan, scratch)?;
        }
        if store.finish(worker, &trial)? {
            recorded += 1;
            observe(WorkerEvent::Finished(&trial));
        } else {
            observe(WorkerEvent::Lost(trial.id));
        }
        Ok(())
    };
    loop {
        store.requeue_stale(sharing.grace_s, sharing.max_attempts)?;
        if let (Some(scratch), Some(promotion)) = (&scratch, store.claim_promotion(worker, &plan)?)
        {
            let (trial, rung) = (&promotion.trial, promotion.rung);
            observe(WorkerEvent::Promoted(trial, rung, promotion.attempt));
            let local = scratch.join(trial.id.to_string());
            let _ = std::fs::remove_dir_all(&local);
            store.restore_checkpoint(trial.id, &local)?;
            let trial = with_heartbeat(&*store, worker, trial.id, sharing, || {
                evaluator.promote(trial, rung)
            })?;
            record(store, trial)?;
            continue;
        }
        if let Some(claim) = store.claim(worker)? {
            let proposal = claim.proposal;
            observe(WorkerEvent::Started(&proposal, claim.attempt));
            let seed = trial_seed(config.seed, proposal.id);
            let trial = with_heartbeat(&*store, worker, proposal.id, sharing, || {
                evaluator.evaluate(&proposal, seed)
            })?;
            record(store, trial)?;
            continue;
        }
        if store.wind_up(config.budget, &plan)? {
            if let Some(scratch) = &scratch {
                let _ = std::fs::remove_dir_all(scratch);
            }
            return Ok(recorded);
        }
        let counts = store.counts()?;
        if counts.total() < config.budget && config.strategy != StrategyKind::Reinforce {
            if let Some(proposal) = propose(store, config)? {
                store.propose(&[proposal], config.budget)?;
                continue;
            }
        }
        // Others hold the rest (or a coordinator proposes): wait, then look again.
        std::thread::sleep(Duration::from_secs_f64(POLL_S));
    }
}

/// A directory of this machine for `worker`'s rungs of search `search`.
fn scratch_dir(search: &str, worker: &str) -> PathBuf {
    let name: String = format!("effnas-rungs-{search}-{worker}-{}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::env::temp_dir().join(name)
}

/// Keeps `trial`'s training in the store if it may rise to another rung (it is
/// done and has rungs left), and clears this worker's copy.
fn keep_between_rungs(
    store: &mut dyn SharedStore,
    trial: &Trial,
    plan: &Plan,
    scratch: &Path,
) -> Result<(), StoreError> {
    let local = scratch.join(trial.id.to_string());
    let result = if trial.is_done() && trial.rungs.len() < plan.rungs && local.exists() {
        store.keep_checkpoint(trial.id, &local)
    } else {
        Ok(())
    };
    let _ = std::fs::remove_dir_all(&local);
    result
}

/// The strategy's next proposal given every finished trial: a network not proposed
/// before, or `None` when the proposer finds none.
pub(crate) fn propose(
    store: &mut dyn SharedStore,
    config: &SearchConfig,
) -> Result<Option<Proposal>, StoreError> {
    let finished = store.trials()?;
    let proposed = store.proposed_keys()?;
    let mut proposer = Proposer::new(
        config.strategy,
        &config.space,
        config.budget,
        &finished,
        proposed,
    );
    // Numbered by how many are proposed, so a restarted worker proposes alike.
    let id = proposer.count();
    Ok(proposer.propose(&config.space, config.seed, id))
}

/// Runs `work` while a second handle on the store heartbeats trial `id` every
/// `sharing.heartbeat_s` seconds.
fn with_heartbeat<T>(
    store: &dyn SharedStore,
    worker: &str,
    id: usize,
    sharing: &Sharing,
    work: impl FnOnce() -> T,
) -> Result<T, StoreError> {
    let mut beat = store.reopen()?;
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            let step = Duration::from_millis(100);
            let mut waited = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                if waited.as_secs_f64() >= sharing.heartbeat_s {
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
