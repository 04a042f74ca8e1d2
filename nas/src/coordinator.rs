//! The coordinator of a shared search: keeps a queue of pending proposals filled for
//! the workers and learns from every finished trial. The REINFORCE controller needs
//! one (its workers only evaluate); for random search and evolution it is optional,
//! as workers propose for themselves. Restarting it loses nothing: its strategy is
//! rebuilt from the finished trials each time it proposes.

use std::time::Duration;

use crate::config::SearchConfig;
use crate::store::{SharedStore, StoreError};
use crate::worker::{POLL_S, propose};

/// Keeps `queue` proposals pending until the budget is proposed, and returns once every
/// trial of it is finished and no candidate can rise to a further rung; returns how
/// many proposals it made.
pub fn run_coordinator(
    store: &mut dyn SharedStore,
    config: &SearchConfig,
    queue: usize,
    observe: &dyn Fn(usize, usize),
) -> Result<usize, StoreError> {
    let mut proposed = 0;
    loop {
        let sharing = &config.sharing;
        store.requeue_stale(sharing.grace_s, sharing.max_attempts)?;
        let counts = store.counts()?;
        observe(counts.finished, config.budget);
        if counts.finished >= config.budget && store.wind_up(config.budget, &config.halving())? {
            return Ok(proposed);
        }
        let wanted = queue
            .saturating_sub(counts.pending)
            .min(config.budget.saturating_sub(counts.total()));
        let mut added = 0;
        for _ in 0..wanted {
            let Some(proposal) = propose(store, config)? else {
                break;
            };
            added += store.propose(&[proposal], config.budget)?.len();
        }
        proposed += added;
        if added == 0 {
            std::thread::sleep(Duration::from_secs_f64(POLL_S));
        }
    }
}
