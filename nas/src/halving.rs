//! Asynchronous successive halving (ASHA; Li et al., 2020) on the rungs of the
//! proxy training. The rungs are the proxy's progressive-learning stages (the
//! paper's own idea of training small first): every candidate trains the first
//! stage; one that ranks in the top 1/η of all candidates that finished a rung
//! continues from its checkpoint into the next stage, at the next image size and
//! regularization. Promotion is asynchronous: it is decided whenever a worker is
//! free, from the results so far, so no rung waits for a full cohort, and a
//! candidate passed over now may rise later when more results widen the quota.
//!
//! Everything here is decided from the trials alone, so a resumed search makes
//! the same promotions an uninterrupted one would have. What halving saved is
//! [`records::trial::savings`].

use std::collections::HashSet;

use records::pareto::{Goal, nsga_order};
use records::{Trial, TrialStatus};

/// The reduction factor η unless told otherwise: a third of each rung rises.
pub const DEFAULT_ETA: usize = 3;

/// How the candidates that finished a rung are ranked for promotion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ranking {
    /// By the reward at that rung, higher first.
    Reward,
    /// By non-dominated front and crowding (NSGA-II) over the accuracy at that
    /// rung, the step time and the parameters.
    Pareto,
}

impl Ranking {
    /// The order of `entries`, best first: by reward, higher first and a
    /// non-finite one last, or by NSGA-II's order over the objectives (accuracy
    /// up, step time and parameters down); ties by position. Each entry is a
    /// reward and its objectives.
    pub fn order(self, entries: &[(f64, [f64; 3])]) -> Vec<usize> {
        match self {
            Ranking::Reward => {
                let score = |i: usize| {
                    let r = entries[i].0;
                    if r.is_finite() { r } else { f64::NEG_INFINITY }
                };
                let mut order: Vec<usize> = (0..entries.len()).collect();
                order.sort_by(|&a, &b| score(b).total_cmp(&score(a)).then(a.cmp(&b)));
                order
            }
            Ranking::Pareto => {
                let points: Vec<Vec<f64>> = entries.iter().map(|e| e.1.to_vec()).collect();
                nsga_order(&points, &[Goal::Max, Goal::Min, Goal::Min])
            }
        }
    }
}

/// A search's successive halving: its rungs, its reduction factor and how a
/// rung is ranked. One rung is no halving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub rungs: usize,
    pub eta: usize,
    pub ranking: Ranking,
}

impl Plan {
    /// Whether candidates train in more than one rung.
    pub fn is_halving(&self) -> bool {
        self.rungs > 1
    }

    /// The next promotion given every trial's latest state and the ids being
    /// trained now: [`next_promotion`].
    pub fn next(&self, trials: &[Trial], busy: &HashSet<usize>) -> Option<(usize, usize)> {
        next_promotion(trials, busy, self.rungs, self.eta, self.ranking)
    }
}

/// The ids of `at` (trials that finished rung `rung`), best first; ties go to
/// the earlier id.
pub fn rank(at: &[&Trial], rung: usize, ranking: Ranking) -> Vec<usize> {
    let mut at = at.to_vec();
    at.sort_by_key(|t| t.id);
    let entries: Vec<(f64, [f64; 3])> = at
        .iter()
        .map(|t| {
            let r = &t.rungs[rung];
            let ms = t.step_median().unwrap_or(f64::NAN);
            (r.reward, [r.accuracy, ms, t.params as f64])
        })
        .collect();
    ranking
        .order(&entries)
        .into_iter()
        .map(|i| at[i].id)
        .collect()
}

/// The next promotion, as `(trial id, rung to train)`, or `None` when no
/// candidate has earned one yet. Higher rungs go first (they finish candidates).
/// `busy` holds the ids being trained right now; a trial that failed at a rung
/// counts as promoted there, never again.
pub fn next_promotion(
    trials: &[Trial],
    busy: &HashSet<usize>,
    rungs: usize,
    eta: usize,
    ranking: Ranking,
) -> Option<(usize, usize)> {
    for rung in (0..rungs.saturating_sub(1)).rev() {
        let at: Vec<&Trial> = trials.iter().filter(|t| t.rungs.len() > rung).collect();
        let quota = at.len() / eta.max(2);
        for id in rank(&at, rung, ranking).into_iter().take(quota) {
            let t = at.iter().find(|t| t.id == id).expect("ranked from `at`");
            let waiting = t.status == TrialStatus::Done && t.rungs.len() == rung + 1;
            if waiting && !busy.contains(&id) {
                return Some((id, rung + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use records::{Proposal, Rung};

    /// A trial with rewards (and accuracies) `rewards` at its rungs.
    fn trial(id: usize, rewards: &[f64]) -> Trial {
        let spec = space::preset("efficientnet-b0").unwrap();
        let mut t = Trial::unmeasured(Proposal::network(id, spec), 0, TrialStatus::Done, "");
        t.rungs = rewards
            .iter()
            .enumerate()
            .map(|(r, &x)| Rung {
                epochs: r + 1,
                size: 16 * (r + 1),
                accuracy: x,
                reward: x,
                seconds: 10.0 * (r + 1) as f64,
            })
            .collect();
        t
    }

    #[test]
    fn the_top_third_of_a_rung_rises_best_first_and_nobody_twice() {
        let none = HashSet::new();
        // Two results: a quota of 0 at η = 3.
        let mut trials = vec![trial(0, &[0.5]), trial(1, &[0.7])];
        assert_eq!(next_promotion(&trials, &none, 3, 3, Ranking::Reward), None);
        // Three: the best (id 1) rises to rung 1.
        trials.push(trial(2, &[0.6]));
        assert_eq!(
            next_promotion(&trials, &none, 3, 3, Ranking::Reward),
            Some((1, 1))
        );
        // While it trains, nobody else has earned it.
        let busy = HashSet::from([1]);
        assert_eq!(next_promotion(&trials, &busy, 3, 3, Ranking::Reward), None);
        // Six results: a quota of 2; id 1 is done at rung 1 already, so id 2 rises.
        trials[1] = trial(1, &[0.7, 0.8]);
        trials.extend([trial(3, &[0.1]), trial(4, &[0.2]), trial(5, &[0.3])]);
        assert_eq!(
            next_promotion(&trials, &none, 3, 3, Ranking::Reward),
            Some((2, 1))
        );
        // Nine results and three at rung 1: the top of rung 1 rises first.
        trials[2] = trial(2, &[0.6, 0.75]);
        trials.extend([trial(6, &[0.65]), trial(7, &[0.0]), trial(8, &[0.0])]);
        trials[6] = trial(6, &[0.65, 0.9]);
        assert_eq!(
            next_promotion(&trials, &none, 3, 3, Ranking::Reward),
            Some((6, 2))
        );
        // With two rungs there is no rung 2: the next is within rung 0 — none
        // (ids 1, 6 and 2 are the top three and all rose).
        assert_eq!(next_promotion(&trials, &none, 2, 3, Ranking::Reward), None);
        // At η = 2 the quota of rung 0 is 4: id 0 (0.5) is the fourth.
        assert_eq!(
            next_promotion(&trials, &none, 2, 2, Ranking::Reward),
            Some((0, 1))
        );
    }

    #[test]
    fn a_failed_promotion_is_never_retried_and_ties_go_to_the_earlier() {
        let none = HashSet::new();
        let mut trials = vec![trial(0, &[0.5]), trial(1, &[0.5]), trial(2, &[0.5])];
        assert_eq!(
            next_promotion(&trials, &none, 2, 3, Ranking::Reward),
            Some((0, 1))
        );
        trials[0].status = TrialStatus::Failed;
        assert_eq!(next_promotion(&trials, &none, 2, 3, Ranking::Reward), None);
        // A NaN reward ranks last, not first.
        trials[0].status = TrialStatus::Done;
        trials[0].rungs[0].reward = f64::NAN;
        assert_eq!(
            next_promotion(&trials, &none, 2, 3, Ranking::Reward),
            Some((1, 1))
        );
        // One rung: nothing to promote.
        assert_eq!(next_promotion(&trials, &none, 1, 3, Ranking::Reward), None);
    }

    #[test]
    fn pareto_ranking_promotes_the_front() {
        // Same accuracy; id 1 is smaller and faster: it alone is on the front.
        let mut trials = vec![trial(0, &[0.5]), trial(1, &[0.5]), trial(2, &[0.5])];
        for (t, (ms, params)) in trials
            .iter_mut()
            .zip([(20.0, 3e6), (10.0, 1e6), (30.0, 2e6)])
        {
            t.step_ms = Some(records::StepStats {
                median: ms,
                min: ms,
                max: ms,
                iqr: 0.0,
            });
            t.params = params as u64;
        }
        let none = HashSet::new();
        assert_eq!(
            next_promotion(&trials, &none, 2, 3, Ranking::Pareto),
            Some((1, 1))
        );
        let at: Vec<&Trial> = trials.iter().collect();
        assert_eq!(rank(&at, 0, Ranking::Pareto)[0], 1);
    }
}
