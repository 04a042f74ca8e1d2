//! How well one ranking predicts another: Kendall's τ-b and Spearman's ρ (both
//! with ties), a bootstrap interval for either, and the overlap of the top k. A
//! proxy check uses them to say how well a cheap training ranks networks the way a
//! long one does (as Vertex AI NAS's proxy-task tools do).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The pairs in which both values are finite (a missing measurement is NaN).
fn finite_pairs(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    x.iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .unzip()
}

/// Kendall's τ-b of paired observations (pairs with a non-finite value left out):
/// concordant minus discordant pairs over the geometric mean of the pairs untied in
/// each variable; 1 for the same order, −1 for the reverse, NaN with fewer than two
/// pairs or a variable all tied.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> f64 {
    let (x, y) = finite_pairs(x, y);
    let n = x.len();
    let (mut concordant, mut discordant) = (0f64, 0f64);
    let (mut untied_x, mut untied_y) = (0f64, 0f64);
    for i in 0..n {
        for j in i + 1..n {
            let (dx, dy) = (x[i] - x[j], y[i] - y[j]);
            if dx != 0.0 {
                untied_x += 1.0;
            }
            if dy != 0.0 {
                untied_y += 1.0;
            }
            let product = dx * dy;
            if product > 0.0 {
                concordant += 1.0;
            } else if product < 0.0 {
                discordant += 1.0;
            }
        }
    }
    let denominator = (untied_x * untied_y).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) / denominator
}

/// Ranks from 1, ties sharing the mean of the ranks they span.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; each gets their mean.
        let mean = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = mean;
        }
        start = end;
    }
    out
}

/// Spearman's ρ: Pearson's correlation of the ranks (ties at their mean rank;
/// pairs with a non-finite value left out); NaN with fewer than two pairs or a
/// variable all tied.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (x, y) = finite_pairs(x, y);
    pearson(&ranks(&x), &ranks(&y))
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// A percentile bootstrap interval of `statistic` over the pairs: `resamples`
/// resamples of the pairs with replacement (seeded), and the `(1 − level)/2` and
/// `(1 + level)/2` quantiles of the finite results; `(NaN, NaN)` if none is. A
/// resample whose statistic is undefined (every value of one side tied, likely
/// with very few pairs) is left out, which narrows the interval: with fewer than
/// about 8 pairs, read it as a rough guide.
pub fn bootstrap_interval(
    x: &[f64],
    y: &[f64],
    statistic: fn(&[f64], &[f64]) -> f64,
    resamples: usize,
    level: f64,
    seed: u64,
) -> (f64, f64) {
    let n = x.len().min(y.len());
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values: Vec<f64> = (0..resamples)
        .map(|_| {
            let picks: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
            let xs: Vec<f64> = picks.iter().map(|&i| x[i]).collect();
            let ys: Vec<f64> = picks.iter().map(|&i| y[i]).collect();
            statistic(&xs, &ys)
        })
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    let quantile = |q: f64| values[(q * (values.len() - 1) as f64).round() as usize];
    (quantile((1.0 - level) / 2.0), quantile((1.0 + level) / 2.0))
}

/// How many of the `k` highest of `x` are among the `k` highest of `y` (ties broken
/// by position).
pub fn top_overlap(x: &[f64], y: &[f64], k: usize) -> usize {
    let top = |v: &[f64]| {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        order.truncate(k);
        order
    };
    let (tx, ty) = (top(x), top(y));
    tx.iter().filter(|i| ty.contains(i)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kendall_counts_pairs_and_corrects_for_ties() {
        assert_eq!(
            kendall_tau(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]),
            1.0
        );
        assert_eq!(
            kendall_tau(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]),
            -1.0
        );
        // 1 2 3 4 5 against 3 1 2 5 4: pairs (10) — concordant 7, discordant 3.
        let tau = kendall_tau(&[1.0, 2.0, 3.0, 4.0, 5.0], &[3.0, 1.0, 2.0, 5.0, 4.0]);
        assert!((tau - 0.4).abs() < 1e-12, "{tau}");
        // Ties: x = 1 1 2 3, y = 1 2 2 3. Of 6 pairs, x ties one (1,2) and y one
        // (2,3); concordant 4 (1-3,1-4,2-4,3-4), discordant 0:
        // τ-b = 4 / sqrt(5 · 5) = 0.8.
        let tau = kendall_tau(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!((tau - 0.8).abs() < 1e-12, "{tau}");
        assert!(kendall_tau(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
        assert!(kendall_tau(&[1.0], &[1.0]).is_nan());
        // A pair with a missing value counts for nothing.
        let with_nan = kendall_tau(&[1.0, 2.0, 3.0, 9.0], &[1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!(with_nan, 1.0);
        assert_eq!(spearman(&[f64::NAN, 1.0, 2.0], &[5.0, 1.0, 2.0]), 1.0);
    }

    #[test]
    fn spearman_correlates_mean_ranks() {
        assert_eq!(ranks(&[10.0, 30.0, 20.0, 20.0]), [1.0, 4.0, 2.5, 2.5]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 4.0, 9.0]) - 1.0).abs() < 1e-12);
        // d = (0, 1, -1, 0, 0) for ranks 1..5 against 1 3 2 4 5: 1 − 6·2 / (5·24) = 0.9.
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 4.0, 5.0]);
        assert!((rho - 0.9).abs() < 1e-12, "{rho}");
        // Ties: ranks x = 1.5 1.5 3 4, y = 1 2.5 2.5 4. Pearson of those: means 2.5;
        // deviations x (−1, −1, 0.5, 1.5), y (−1.5, 0, 0, 1.5); Σxy = 1.5 + 2.25 = 3.75,
        // Σx² = 4.5, Σy² = 4.5: ρ = 3.75 / 4.5.
        let rho = spearman(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0]);
        assert!((rho - 3.75 / 4.5).abs() < 1e-12, "{rho}");
        assert!(spearman(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]).is_nan());
    }

    #[test]
    fn intervals_hold_the_statistic_and_repeat_under_their_seed() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let y = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0];
        let tau = kendall_tau(&x, &y);
        let (lo, hi) = bootstrap_interval(&x, &y, kendall_tau, 500, 0.9, 7);
        assert!(lo <= tau && tau <= hi && lo < hi, "{lo} {tau} {hi}");
        assert_eq!(
            (lo, hi),
            bootstrap_interval(&x, &y, kendall_tau, 500, 0.9, 7)
        );
        let same = bootstrap_interval(&x, &x, spearman, 200, 0.9, 1);
        assert_eq!(same, (1.0, 1.0));
    }

    #[test]
    fn top_overlap_counts_shared_leaders() {
        let proxy = [0.9, 0.8, 0.7, 0.1, 0.2];
        let target = [0.5, 0.9, 0.1, 0.8, 0.7];
        assert_eq!(top_overlap(&proxy, &target, 3), 1);
        assert_eq!(top_overlap(&proxy, &proxy, 3), 3);
        assert_eq!(top_overlap(&proxy, &target, 5), 5);
    }
}
