//! Accuracy against a cost (step time or parameters): every finished trial, the
//! Pareto front as a staircase, the best-reward trial, and reference networks.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    DrawResult, FONT, FRONT, Figure, REFERENCE, TRIAL, draw_empty, draw_legend, padded_range, tick,
};
use records::Trial;
use records::pareto::{Goal, front};

pub struct TradeOff<'a> {
    pub name: String,
    pub title: String,
    pub x_desc: String,
    /// The cost on the x axis, in the unit of `x_desc`.
    pub x_of: fn(&Trial) -> Option<f64>,
    pub trials: &'a [Trial],
    pub references: &'a [Trial],
    /// Trial id of the best reward, annotated.
    pub best: Option<usize>,
}

type Point = (f64, f64);

impl TradeOff<'_> {
    fn point(&self, t: &Trial) -> Option<Point> {
        let x = (self.x_of)(t)?;
        let y = t.accuracy? * 100.0;
        (t.is_done() && x.is_finite() && y.is_finite()).then_some((x, y))
    }

    /// Front points by increasing cost (so increasing accuracy), with their trials.
    fn front(&self) -> Vec<(Point, &Trial)> {
        let done: Vec<(Point, &Trial)> = self
            .trials
            .iter()
            .filter_map(|t| self.point(t).map(|p| (p, t)))
            .collect();
        let points: Vec<Vec<f64>> = done.iter().map(|((x, y), _)| vec![*y, *x]).collect();
        let mut on_front: Vec<(Point, &Trial)> = front(&points, &[Goal::Max, Goal::Min])
            .into_iter()
            .map(|i| done[i])
            .collect();
        on_front.sort_by(|a, b| a.0.0.total_cmp(&b.0.0).then(a.0.1.total_cmp(&b.0.1)));
        on_front
    }
}

/// The region the front dominates, outlined: right along each point's accuracy to
/// the next point's cost, then up to its accuracy, and on to the right edge.
fn staircase(front: &[Point], x_end: f64) -> Vec<Point> {
    let mut line = Vec::new();
    for (i, &(x, y)) in front.iter().enumerate() {
        line.push((x, y));
        let next_x = front.get(i + 1).map_or(x_end, |p| p.0);
        line.push((next_x, y));
    }
    line
}

impl Figure for TradeOff<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let trials: Vec<Point> = self.trials.iter().filter_map(|t| self.point(t)).collect();
        let refs: Vec<(Point, &Trial)> = self
            .references
            .iter()
            .filter_map(|t| self.point(t).map(|p| (p, t)))
            .collect();
        if trials.is_empty() && refs.is_empty() {
            return draw_empty(root, &self.title, "no finished trials yet");
        }
        let all = || trials.iter().chain(refs.iter().map(|(p, _)| p));
        let (x0, x1) = padded_range(all().map(|p| p.0), 0.08);
        let (y0, y1) = padded_range(all().map(|p| p.1), 0.12);
        // A band above the most accurate point, where no trial can lie, holds the
        // legend (about a fifth of the plot's height).
        let y1 = y1 + (y1 - y0) * 0.3;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x0.max(0.0)..x1, y0.max(0.0)..y1)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc("proxy validation accuracy (%)")
            .x_label_formatter(&|x| tick(*x, x1 - x0))
            // The legend's band may reach past 100%, which no accuracy can.
            .y_label_formatter(&|y| {
                if *y > 100.0 {
                    String::new()
                } else {
                    tick(*y, y1 - y0)
                }
            })
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 13))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;

        chart
            .draw_series(
                trials
                    .iter()
                    .map(|&p| Circle::new(p, 4, TRIAL.mix(0.75).filled())),
            )?
            .label("trial")
            .legend(|(x, y)| Circle::new((x, y), 4, TRIAL.filled()));

        let front = self.front();
        let front_points: Vec<Point> = front.iter().map(|(p, _)| *p).collect();
        if !front_points.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    staircase(&front_points, x1),
                    FRONT.stroke_width(2),
                ))?
                .label("Pareto front")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x - 8, y), (x + 8, y)], FRONT.stroke_width(2))
                });
            chart.draw_series(front.iter().map(|(p, t)| {
                EmptyElement::at(*p)
                    + Circle::new((0, 0), 5, FRONT.filled())
                    + Text::new(t.label(), (6, -16), (FONT, 12).into_font().color(&FRONT))
            }))?;
        }
        if let Some(best) = self
            .best
            .and_then(|id| self.trials.iter().find(|t| t.id == id))
            .and_then(|t| self.point(t))
        {
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(best)
                        + Circle::new((0, 0), 9, BLACK.stroke_width(2))
                        + Text::new("best reward", (10, 6), (FONT, 12).into_font().color(&BLACK)),
                ))?
                .label("best reward")
                .legend(|(x, y)| Circle::new((x, y), 6, BLACK.stroke_width(2)));
        }
        if !refs.is_empty() {
            // Labels of points in the right half end left of the marker, so a
            // reference near the right edge keeps its whole name.
            let middle = (x0.max(0.0) + x1) / 2.0;
            chart
                .draw_series(refs.iter().map(|(p, t)| {
                    let style = (FONT, 13).into_font().color(&REFERENCE);
                    let (offset, style) = if p.0 > middle {
                        ((-8, 4), style.pos(Pos::new(HPos::Right, VPos::Top)))
                    } else {
                        ((8, 4), style)
                    };
                    EmptyElement::at(*p)
                        + TriangleMarker::new((0, 0), 7, REFERENCE.filled())
                        + Text::new(t.label(), offset, style)
                }))?
                .label("reference network")
                .legend(|(x, y)| TriangleMarker::new((x, y), 6, REFERENCE.filled()));
        }
        // In the band above every point: the legend hides nothing.
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staircase_steps_right_then_up() {
        let s = staircase(&[(1.0, 50.0), (2.0, 60.0)], 3.0);
        assert_eq!(s, vec![(1.0, 50.0), (2.0, 50.0), (2.0, 60.0), (3.0, 60.0)]);
    }
}
