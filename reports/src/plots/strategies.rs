//! Strategies compared on a table: the mean accuracy of the cell each search
//! would return as simulated time passes (mean over seeds, with the band that
//! holds 90% of them), and how the reward's exponents move the table's best cell.

use plotters::coord::Shift;
use plotters::prelude::*;
use records::StrategyBench;
use records::stats::{mean, percentile};

use super::{
    DrawResult, FONT, FRONT, FUSED, Figure, MUTED, REFERENCE, TRIAL, draw_empty, draw_legend,
    padded_range, tick,
};

/// One colour per strategy, in the order they were run.
const PALETTE: [RGBColor; 4] = [TRIAL, FRONT, REFERENCE, FUSED];

pub struct StrategyCurves<'a> {
    pub bench: &'a StrategyBench,
}

/// A strategy's curve: `(hours, mean, 5th percentile, 95th percentile)` of the
/// returned cell's accuracy over the runs, from the first time every run has
/// returned one.
pub fn strategy_curve(bench: &StrategyBench, strategy: usize) -> Vec<(f64, f64, f64, f64)> {
    let runs = &bench.strategies[strategy].runs;
    bench
        .grid_s
        .iter()
        .enumerate()
        .filter_map(|(k, &t)| {
            let values: Option<Vec<f64>> = runs.iter().map(|r| r.best_so_far[k]).collect();
            let values = values.filter(|v| !v.is_empty())?;
            Some((
                t / 3600.0,
                mean(&values),
                percentile(&values, 0.05),
                percentile(&values, 0.95),
            ))
        })
        .collect()
}

const CURVES: &str = "Accuracy of the cell each search returns";

impl Figure for StrategyCurves<'_> {
    fn name(&self) -> &str {
        "strategies"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let b = self.bench;
        let curves: Vec<Vec<(f64, f64, f64, f64)>> = (0..b.strategies.len())
            .map(|i| strategy_curve(b, i))
            .collect();
        if curves.iter().all(Vec::is_empty) {
            return draw_empty(root, CURVES, "no runs");
        }
        let end = b.budget_s / 3600.0;
        let low = curves.iter().flatten().map(|c| c.2);
        let (y0, y1) = padded_range(low.chain([b.optimum.accuracy]), 0.08);
        let mut chart = ChartBuilder::on(root)
            .caption(CURVES, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..end, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("simulated training time (hours)")
            .y_desc("mean validation accuracy (%)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| tick(*x, end))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        for (i, curve) in curves.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let band: Vec<(f64, f64)> = curve
                .iter()
                .map(|c| (c.0, c.3))
                .chain(curve.iter().rev().map(|c| (c.0, c.2)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))?;
            chart
                .draw_series(LineSeries::new(
                    curve.iter().map(|c| (c.0, c.1)),
                    colour.stroke_width(2),
                ))?
                .label(format!("{} (mean, 90% band)", b.strategies[i].strategy))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x - 8, y), (x + 8, y)], colour.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, b.optimum.accuracy), (end, b.optimum.accuracy)],
                MUTED.stroke_width(1),
            ))?
            .label("the table's best")
            .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], MUTED));
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

pub struct RewardSensitivity<'a> {
    pub bench: &'a StrategyBench,
}

const SENSITIVITY: &str = "The reward-best cell as the exponents grow";

/// The sweep's series in the order swept, each named by what grows up to what,
/// as `(share of the full exponents, accuracy of the reward-best cell)`.
pub fn sensitivity_series(bench: &StrategyBench) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut varied: Vec<&str> = Vec::new();
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for p in &bench.sensitivity {
        if varied.last() != Some(&p.varied.as_str()) {
            varied.push(&p.varied);
            series.push((p.varied.clone(), Vec::new()));
        }
        let last = series.last_mut().expect("pushed");
        last.1.push((p.share, p.best.accuracy));
        if p.share == 1.0 {
            last.0 = format!("{} (up to w = {:.2}, v = {:.2})", p.varied, p.w, p.v);
        }
    }
    series
}

impl Figure for RewardSensitivity<'_> {
    fn name(&self) -> &str {
        "reward_sensitivity"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        if self.bench.sensitivity.is_empty() {
            return draw_empty(root, SENSITIVITY, "no sweep");
        }
        let series = sensitivity_series(self.bench);
        let (y0, y1) = padded_range(self.bench.sensitivity.iter().map(|p| p.best.accuracy), 0.1);
        let mut chart = ChartBuilder::on(root)
            .caption(SENSITIVITY, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.02..1.02, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("share of the full exponents (0: accuracy alone)")
            .y_desc("mean accuracy of the reward-best cell (%)")
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| tick(*x, 1.0))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        for (i, (name, points)) in series.into_iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x - 8, y), (x + 8, y)], colour.stroke_width(2))
                });
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerLeft)
    }
}
