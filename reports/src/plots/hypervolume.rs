//! The hypervolume of a search's Pareto front as candidates accumulate: how much
//! of the (accuracy, step time, parameters) box the trials so far dominate.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, FONT, FRONT, Figure, draw_empty, padded_range, staircase, tick, whole};
use records::Trial;
use records::pareto::{Goal, hypervolume};

pub struct HypervolumeProgress<'a> {
    pub trials: &'a [Trial],
    /// The reward's reference network: its step time (ms) and parameters.
    pub reference: (f64, f64),
}

const TITLE: &str = "Hypervolume of the front";
const GOALS: [Goal; 3] = [Goal::Max, Goal::Min, Goal::Min];

/// `(candidates so far, hypervolume)` after each trial in id order, as a share
/// of the box from (0 % accuracy, twice the reference network's step time, four
/// times its parameters) to (100 %, 0 ms, 0 parameters): a box fixed by the
/// search's settings, so the curve only rises and searches with one reference
/// network compare. Each trial counts with the accuracy of the last rung it
/// reached; a trial outside the box adds nothing.
pub fn hypervolume_so_far(trials: &[Trial], reference: (f64, f64)) -> Vec<(f64, f64)> {
    let mut sorted: Vec<&Trial> = trials.iter().collect();
    sorted.sort_by_key(|t| t.id);
    let point = |t: &Trial| match (t.reward, t.accuracy, t.step_median()) {
        (Some(_), Some(a), Some(ms)) => Some(vec![a, ms, t.params as f64]),
        _ => None,
    };
    let corner = [0.0, 2.0 * reference.0, 4.0 * reference.1];
    let volume = corner[1] * corner[2];
    if !(volume.is_finite() && volume > 0.0) {
        return Vec::new();
    }
    let mut so_far = Vec::new();
    let mut out = Vec::new();
    for (n, t) in sorted.iter().enumerate() {
        if let Some(p) = point(t) {
            so_far.push(p);
        }
        out.push((
            (n + 1) as f64,
            hypervolume(&so_far, &GOALS, &corner) / volume,
        ));
    }
    out
}

impl Figure for HypervolumeProgress<'_> {
    fn name(&self) -> &str {
        "hypervolume"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let curve = hypervolume_so_far(self.trials, self.reference);
        if curve.is_empty() {
            return draw_empty(root, TITLE, "no rewarded trials yet");
        }
        let last = curve.len() as f64;
        let (y0, y1) = padded_range(curve.iter().map(|p| p.1), 0.15);
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0.5..last + 0.5, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("candidates evaluated")
            .y_desc("hypervolume (share of the box)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| whole(*x))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        let steps = staircase(&curve, last + 0.5);
        chart.draw_series(LineSeries::new(steps, FRONT.stroke_width(2)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use records::{Proposal, StepStats, TrialStatus};

    fn trial(id: usize, acc: Option<f64>, ms: f64, params: u64) -> Trial {
        let spec = space::preset("efficientnet-b0").unwrap();
        let mut t = Trial::unmeasured(Proposal::network(id, spec), 0, TrialStatus::Done, "");
        (t.accuracy, t.reward, t.params) = (acc, acc, params);
        t.step_ms = Some(StepStats {
            median: ms,
            min: ms,
            max: ms,
            iqr: 0.0,
        });
        t
    }

    #[test]
    fn the_curve_never_falls_and_a_dominated_trial_adds_nothing() {
        let trials = [
            trial(0, Some(0.5), 10.0, 100),
            trial(1, Some(0.4), 10.0, 100),
            trial(2, None, 5.0, 50),
            trial(3, Some(0.8), 5.0, 100),
        ];
        // The box: 2 × 5.5 ms and 4 × 27.5 parameters, to 11 ms and 110.
        let curve = hypervolume_so_far(&trials, (5.5, 27.5));
        assert_eq!(curve.len(), 4);
        assert!(curve.windows(2).all(|w| w[1].1 >= w[0].1), "{curve:?}");
        assert_eq!(curve[0].1, curve[1].1);
        assert_eq!(curve[1].1, curve[2].1);
        assert!(curve[3].1 > curve[2].1);
        // Trial 0 alone: 0.5 × (11 − 10)·(110 − 100) of the box 11 × 110.
        assert!((curve[0].1 - 0.5 * 10.0 / (11.0 * 110.0)).abs() < 1e-12);
        assert!(hypervolume_so_far(&[], (5.5, 27.5)).is_empty());
        assert!(hypervolume_so_far(&trials, (f64::NAN, 1.0)).is_empty());
    }
}
