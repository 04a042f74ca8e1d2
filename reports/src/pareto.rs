//! Pareto fronts by non-dominated sorting (Deb et al.'s NSGA-II ranking), over any
//! number of objectives, each maximised or minimised.
//!
//! A point dominates another when it is at least as good in every objective and
//! better in one. Points equal in every objective do not dominate each other, so
//! duplicates share a front. A point with a NaN or infinite objective (a failed
//! trial, a missing measurement) is in no front.

/// Which way an objective is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    Max,
    Min,
}

fn dominates(a: &[f64], b: &[f64], goals: &[Goal]) -> bool {
    let mut better = false;
    for ((&x, &y), goal) in a.iter().zip(b).zip(goals) {
        let (x, y) = match goal {
            Goal::Max => (x, y),
            Goal::Min => (-x, -y),
        };
        if x < y {
            return false;
        }
        better |= x > y;
    }
    better
}

/// The front of each point: 0 for the non-dominated, 1 for those dominated only
/// by front 0, and so on; `None` for points with a non-finite objective.
///
/// Panics if a point has a different number of objectives than `goals`.
pub fn non_dominated_ranks(points: &[Vec<f64>], goals: &[Goal]) -> Vec<Option<usize>> {
    for p in points {
        assert_eq!(p.len(), goals.len(), "one goal per objective");
    }
    let valid: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].iter().all(|v| v.is_finite()))
        .collect();
    // For each valid point: how many points dominate it, and whom it dominates.
    let mut dominated_by = vec![0usize; points.len()];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); points.len()];
    for (n, &i) in valid.iter().enumerate() {
        for &j in &valid[n + 1..] {
            if dominates(&points[i], &points[j], goals) {
                dominates_list[i].push(j);
                dominated_by[j] += 1;
            } else if dominates(&points[j], &points[i], goals) {
                dominates_list[j].push(i);
                dominated_by[i] += 1;
            }
        }
    }
    let mut ranks = vec![None; points.len()];
    let mut current: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|&i| dominated_by[i] == 0)
        .collect();
    let mut rank = 0;
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            ranks[i] = Some(rank);
            for &j in &dominates_list[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        current = next;
        rank += 1;
    }
    ranks
}

/// Indices of the non-dominated points, in input order.
pub fn front(points: &[Vec<f64>], goals: &[Goal]) -> Vec<usize> {
    non_dominated_ranks(points, goals)
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == Some(0))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACC_TIME: [Goal; 2] = [Goal::Max, Goal::Min];

    fn pts(v: &[(f64, f64)]) -> Vec<Vec<f64>> {
        v.iter().map(|&(a, b)| vec![a, b]).collect()
    }

    #[test]
    fn two_objectives_by_hand() {
        // (accuracy, step ms): 0 and 2 trade off; 1 is beaten by 0; 3 by everyone.
        let p = pts(&[(0.9, 100.0), (0.8, 120.0), (0.95, 150.0), (0.7, 200.0)]);
        assert_eq!(front(&p, &ACC_TIME), vec![0, 2]);
        assert_eq!(
            non_dominated_ranks(&p, &ACC_TIME),
            vec![Some(0), Some(1), Some(0), Some(2)]
        );
    }

    #[test]
    fn ties_and_duplicates_share_a_front() {
        // Same accuracy, slower: dominated. Exact duplicates: both on the front.
        let p = pts(&[(0.9, 100.0), (0.9, 110.0), (0.9, 100.0), (0.85, 90.0)]);
        assert_eq!(front(&p, &ACC_TIME), vec![0, 2, 3]);
        assert_eq!(non_dominated_ranks(&p, &ACC_TIME)[1], Some(1));
    }

    #[test]
    fn failed_and_nan_points_are_in_no_front() {
        let p = pts(&[
            (f64::NAN, 10.0),
            (0.5, 100.0),
            (0.99, f64::INFINITY),
            (0.4, 200.0),
        ]);
        assert_eq!(
            non_dominated_ranks(&p, &ACC_TIME),
            vec![None, Some(0), None, Some(1)]
        );
        assert!(front(&[], &ACC_TIME).is_empty());
    }

    #[test]
    fn three_objectives_keep_what_two_would_drop() {
        // Point 2 is beaten on accuracy and time by 0 but is the smallest network.
        let p = vec![
            vec![0.9, 100.0, 5e6],
            vec![0.8, 150.0, 6e6],
            vec![0.85, 120.0, 1e6],
        ];
        let goals = [Goal::Max, Goal::Min, Goal::Min];
        assert_eq!(front(&p, &goals), vec![0, 2]);
        let two: Vec<Vec<f64>> = p.iter().map(|v| v[..2].to_vec()).collect();
        assert_eq!(front(&two, &ACC_TIME), vec![0]);
    }

    #[test]
    fn ranks_peel_fronts_in_order() {
        // A chain: each point dominated by the one before it.
        let p = pts(&[(0.5, 50.0), (0.6, 40.0), (0.7, 30.0), (0.8, 20.0)]);
        assert_eq!(
            non_dominated_ranks(&p, &ACC_TIME),
            vec![Some(3), Some(2), Some(1), Some(0)]
        );
    }
}
