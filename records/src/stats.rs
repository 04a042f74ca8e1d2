//! The few summary statistics that runs are reported with: mean, sample standard
//! deviation and interpolated percentiles (step times, strategy comparisons).

/// Linear interpolation between order statistics (`q` in [0, 1]); NaN when
/// `values` is empty.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// NaN when `values` is empty.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample standard deviation (n − 1); NaN below two values.
pub fn std_dev(values: &[f64]) -> f64 {
    let m = mean(values);
    let squares: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    (squares / (values.len() as f64 - 1.0)).sqrt()
}

/// Welch's comparison of two samples' means: the difference `mean(a) − mean(b)`
/// and its standard error, without assuming equal variances.
pub fn mean_difference(a: &[f64], b: &[f64]) -> (f64, f64) {
    let se = (std_dev(a).powi(2) / a.len() as f64 + std_dev(b).powi(2) / b.len() as f64).sqrt();
    (mean(a) - mean(b), se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
        assert_eq!(percentile(&[7.0], 0.75), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }

    #[test]
    fn mean_and_spread() {
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert_eq!(
            std_dev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]),
            (32.0f64 / 7.0).sqrt()
        );
        assert!(mean(&[]).is_nan() && std_dev(&[1.0]).is_nan());
        let (d, se) = mean_difference(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0, 0.0]);
        assert_eq!(d, 2.0);
        assert!((se - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }
}
