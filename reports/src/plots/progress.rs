//! Search progress: each trial's reward in the order evaluated, the best so far,
//! and where trials failed or were skipped.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, FONT, FRONT, Figure, MUTED, TRIAL, draw_empty, draw_legend, padded_range,
    staircase, tick, whole,
};
use records::Trial;

pub struct SearchProgress<'a> {
    pub trials: &'a [Trial],
}

const TITLE: &str = "Search progress";

/// `(trial id, best reward among trials up to it)` for every rewarded trial.
pub fn best_so_far(trials: &[Trial]) -> Vec<(f64, f64)> {
    let mut sorted: Vec<&Trial> = trials.iter().collect();
    sorted.sort_by_key(|t| t.id);
    let mut best = f64::NEG_INFINITY;
    let mut out = Vec::new();
    for t in sorted {
        if let Some(r) = t.reward.filter(|r| r.is_finite()) {
            best = best.max(r);
            out.push((t.id as f64, best));
        }
    }
    out
}

impl Figure for SearchProgress<'_> {
    fn name(&self) -> &str {
        "search_progress"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let rewarded: Vec<(f64, f64)> = self
            .trials
            .iter()
            .filter_map(|t| t.reward.filter(|r| r.is_finite()).map(|r| (t.id as f64, r)))
            .collect();
        let unrewarded: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| t.reward.is_none_or(|r| !r.is_finite()))
            .map(|t| t.id as f64)
            .collect();
        if rewarded.is_empty() && unrewarded.is_empty() {
            return draw_empty(root, TITLE, "no trials yet");
        }
        let last = self.trials.iter().map(|t| t.id).max().unwrap_or(0) as f64;
        let (y0, y1) = padded_range(rewarded.iter().map(|p| p.1), 0.15);
        let mut chart = ChartBuilder::on(root)
            .caption(TITLE, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..last + 0.5, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("trial (in the order evaluated)")
            .y_desc("reward  A·(S/S₀)^w·(P/P₀)^v")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| whole(*x))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        if !rewarded.is_empty() {
            chart
                .draw_series(rewarded.iter().map(|&p| Circle::new(p, 4, TRIAL.filled())))?
                .label("trial reward")
                .legend(|(x, y)| Circle::new((x, y), 4, TRIAL.filled()));
            let best = best_so_far(self.trials);
            let steps = staircase(&best, last + 0.5);
            chart
                .draw_series(LineSeries::new(steps, FRONT.stroke_width(2)))?
                .label("best so far")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x - 8, y), (x + 8, y)], FRONT.stroke_width(2))
                });
        }
        if !unrewarded.is_empty() {
            // Along the bottom edge: they have no reward to place them by.
            chart
                .draw_series(
                    unrewarded
                        .iter()
                        .map(|&x| Cross::new((x, y0 + (y1 - y0) * 0.03), 5, MUTED.stroke_width(2))),
                )?
                .label("failed or skipped")
                .legend(|(x, y)| Cross::new((x, y), 4, MUTED.stroke_width(2)));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}
