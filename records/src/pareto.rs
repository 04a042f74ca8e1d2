//! Pareto fronts by non-dominated sorting (Deb et al.'s NSGA-II ranking), over any
//! number of objectives, each maximised or minimised; NSGA-II's order within and
//! across fronts (rank, then crowding distance); and the hypervolume a front
//! dominates.
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

/// Crowding distance of each point among `members` (indices into `points`, one
/// front): the sum over objectives of the normalised gap between its neighbours;
/// the extremes of each objective get infinity, so a front keeps its ends.
/// Returned in the order of `members`.
pub fn crowding_distances(points: &[Vec<f64>], members: &[usize]) -> Vec<f64> {
    let mut distance = vec![0.0; members.len()];
    let objectives = members.first().map_or(0, |&i| points[i].len());
    let columns = (0..objectives).map(|k| members.iter().map(|&i| points[i][k]).collect());
    for column in columns {
        let column: Vec<f64> = column;
        let mut order: Vec<usize> = (0..members.len()).collect();
        // Ties by position, so duplicates are ordered the same on every call.
        order.sort_by(|&a, &b| column[a].total_cmp(&column[b]).then(a.cmp(&b)));
        let (Some(&first), Some(&last)) = (order.first(), order.last()) else {
            continue;
        };
        let span = column[last] - column[first];
        distance[first] = f64::INFINITY;
        distance[last] = f64::INFINITY;
        if span <= 0.0 {
            continue;
        }
        for w in order.windows(3) {
            distance[w[1]] += (column[w[2]] - column[w[0]]) / span;
        }
    }
    distance
}

/// NSGA-II's order, best first: by front, then by crowding distance (larger
/// first: the less crowded keeps diversity), then by index. Points with a
/// non-finite objective come last, by index.
pub fn nsga_order(points: &[Vec<f64>], goals: &[Goal]) -> Vec<usize> {
    let ranks = non_dominated_ranks(points, goals);
    let mut crowding = vec![0.0; points.len()];
    let fronts = ranks.iter().flatten().max().map_or(0, |&r| r + 1);
    for front in 0..fronts {
        let members: Vec<usize> = (0..points.len())
            .filter(|&i| ranks[i] == Some(front))
            .collect();
        for (&i, d) in members.iter().zip(crowding_distances(points, &members)) {
            crowding[i] = d;
        }
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        let rank = |i: usize| ranks[i].unwrap_or(usize::MAX);
        rank(a)
            .cmp(&rank(b))
            .then(crowding[b].total_cmp(&crowding[a]))
            .then(a.cmp(&b))
    });
    order
}

/// The hypervolume the points dominate up to `reference` (a point every
/// objective of which is worse than any point's): the measure of the region
/// both better than `reference` and dominated by some point. Points not better
/// than `reference` in every objective, or with a non-finite objective, add
/// nothing. Exact, by slicing along the last objective (fine for the few hundred
/// points of a search).
pub fn hypervolume(points: &[Vec<f64>], goals: &[Goal], reference: &[f64]) -> f64 {
    // Turn every objective into "smaller is better, reference at the top".
    let flip = |v: f64, g: &Goal| match g {
        Goal::Min => v,
        Goal::Max => -v,
    };
    let reference: Vec<f64> = reference
        .iter()
        .zip(goals)
        .map(|(&r, g)| flip(r, g))
        .collect();
    let points: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| p.iter().all(|v| v.is_finite()))
        .map(|p| {
            p.iter()
                .zip(goals)
                .map(|(&v, g)| flip(v, g))
                .collect::<Vec<f64>>()
        })
        .filter(|p| p.iter().zip(&reference).all(|(v, r)| v < r))
        .collect();
    minimised_volume(points, &reference)
}

/// The volume dominated by `points` (all minimised, all below `reference`).
fn minimised_volume(mut points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let Some(last) = reference.len().checked_sub(1) else {
        return 0.0;
    };
    if points.is_empty() {
        return 0.0;
    }
    if last == 0 {
        let best = points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min);
        return reference[0] - best;
    }
    // Sweep the last objective upwards: between consecutive values, the slice is
    // the lower-dimensional volume of every point at or below it.
    points.sort_by(|a, b| a[last].total_cmp(&b[last]));
    let mut volume = 0.0;
    for i in 0..points.len() {
        let top = points.get(i + 1).map_or(reference[last], |p| p[last]);
        let depth = top - points[i][last];
        if depth <= 0.0 {
            continue;
        }
        let slice: Vec<Vec<f64>> = points[..=i].iter().map(|p| p[..last].to_vec()).collect();
        volume += depth * minimised_volume(slice, &reference[..last]);
    }
    volume
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

    #[test]
    fn nsga_order_puts_fronts_first_and_ends_of_a_front_before_its_middle() {
        // Front 0: 0, 1, 2 (1 in the middle); front 1: 3; NaN last; 5 duplicates 0.
        let p = pts(&[
            (0.9, 100.0),
            (0.85, 80.0),
            (0.8, 50.0),
            (0.7, 200.0),
            (f64::NAN, 10.0),
            (0.9, 100.0),
        ]);
        let order = nsga_order(&p, &ACC_TIME);
        // Front 0 is 0, 1, 2 and 5. The ends of each objective are 2 (lowest
        // accuracy and time) and 5 (of the duplicates 0 and 5, the later sorts
        // last); 1 is less crowded (distance 1 + 1) than 0 (0.5 + 0.4).
        // Then front 1, then the NaN.
        assert_eq!(order, [2, 5, 1, 0, 3, 4]);
        assert_eq!(nsga_order(&p, &ACC_TIME), order);
        assert!(nsga_order(&[], &ACC_TIME).is_empty());
    }

    #[test]
    fn crowding_is_infinite_at_the_ends_and_relative_inside() {
        let p = pts(&[(1.0, 1.0), (2.0, 2.0), (4.0, 4.0), (3.0, 3.0)]);
        let d = crowding_distances(&p, &[0, 1, 2, 3]);
        assert!(d[0].is_infinite() && d[2].is_infinite());
        // Point 1: gaps (3-1)/3 in each objective; point 3: (4-2)/3.
        assert!((d[1] - 4.0 / 3.0).abs() < 1e-12 && (d[3] - 4.0 / 3.0).abs() < 1e-12);
        let same = pts(&[(1.0, 1.0), (1.0, 1.0), (1.0, 1.0)]);
        let d = crowding_distances(&same, &[0, 1, 2]);
        assert_eq!(d.iter().filter(|d| d.is_infinite()).count(), 2);
    }

    #[test]
    fn hypervolume_by_hand() {
        // Two points against the reference (0 accuracy, 10 ms): boxes 0.5×8 and
        // 0.8×5, overlapping in 0.5×5.
        let p = pts(&[(0.5, 2.0), (0.8, 5.0)]);
        let hv = hypervolume(&p, &ACC_TIME, &[0.0, 10.0]);
        assert!((hv - (4.0 + 4.0 - 2.5)).abs() < 1e-12, "{hv}");
        // A dominated point, a duplicate, a NaN and a point beyond the reference add nothing.
        let more = pts(&[
            (0.5, 2.0),
            (0.8, 5.0),
            (0.4, 6.0),
            (0.8, 5.0),
            (f64::NAN, 1.0),
            (0.9, 11.0),
        ]);
        assert!((hypervolume(&more, &ACC_TIME, &[0.0, 10.0]) - hv).abs() < 1e-12);
        // Three objectives: one point is a box.
        let cube = vec![vec![0.5, 1.0, 2.0]];
        let goals = [Goal::Max, Goal::Min, Goal::Min];
        let hv3 = hypervolume(&cube, &goals, &[0.0, 3.0, 4.0]);
        assert!((hv3 - 0.5 * 2.0 * 2.0).abs() < 1e-12);
        // Two boxes in 3-D: inclusion-exclusion.
        let two = vec![vec![0.5, 1.0, 2.0], vec![0.25, 0.0, 3.0]];
        let expected = 0.5 * 2.0 * 2.0 + 0.25 * 3.0 * 1.0 - 0.25 * 2.0 * 1.0;
        assert!((hypervolume(&two, &goals, &[0.0, 3.0, 4.0]) - expected).abs() < 1e-12);
        assert_eq!(hypervolume(&[], &goals, &[0.0, 3.0, 4.0]), 0.0);
    }
}
