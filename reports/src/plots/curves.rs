//! Training curves: loss and accuracy per epoch, training and validation, with
//! the stages of progressive learning shaded and labelled by their image size.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, FONT, FRONT, Figure, MUTED, SHADE, TRIAL, draw_empty, draw_legend, padded_range,
    tick, whole,
};
use records::EpochRecord;

pub struct TrainingCurves<'a> {
    pub title: String,
    pub epochs: &'a [EpochRecord],
}

/// Consecutive epochs of one stage: `(stage, first epoch, last epoch, size)`.
pub fn stage_spans(epochs: &[EpochRecord]) -> Vec<(usize, usize, usize, usize)> {
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
    for e in epochs {
        match spans.last_mut() {
            Some(last) if last.0 == e.stage.stage && last.3 == e.stage.size => last.2 = e.epoch,
            _ => spans.push((e.stage.stage, e.epoch, e.epoch, e.stage.size)),
        }
    }
    spans
}

type Series<'a> = (&'a str, RGBColor, fn(&EpochRecord) -> f64);

impl TrainingCurves<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y_desc: &str,
        series: [Series; 2],
        legend: SeriesLabelPosition,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let last = self.epochs.iter().map(|e| e.epoch).max().unwrap_or(1) as f64;
        let values = || {
            series
                .iter()
                .flat_map(|(_, _, get)| self.epochs.iter().map(get))
        };
        let (y0, y1) = padded_range(values(), 0.1);
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5..last + 0.5, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .axis_desc_style((FONT, 15))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| whole(*x))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .disable_x_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        let spans = stage_spans(self.epochs);
        if spans.len() > 1 {
            chart.draw_series(spans.iter().enumerate().map(|(i, &(_, first, end, _))| {
                let fill = if i % 2 == 0 { SHADE } else { WHITE };
                Rectangle::new(
                    [(first as f64 - 0.5, y0), (end as f64 + 0.5, y1)],
                    fill.filled(),
                )
            }))?;
            chart.draw_series(spans.iter().map(|&(_, first, end, size)| {
                let mid = (first + end) as f64 / 2.0;
                Text::new(
                    format!("{size} px"),
                    (mid - 0.25, y1 - (y1 - y0) * 0.02),
                    (FONT, 13).into_font().color(&MUTED),
                )
            }))?;
        }
        for (label, colour, get) in series {
            let points: Vec<(f64, f64)> = self
                .epochs
                .iter()
                .map(|e| (e.epoch as f64, get(e)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x - 8, y), (x + 8, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )?;
        }
        draw_legend(&mut chart, legend)
    }
}

impl Figure for TrainingCurves<'_> {
    fn name(&self) -> &str {
        "training_curves"
    }

    fn size(&self) -> (u32, u32) {
        (1100, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        if self.epochs.is_empty() {
            return draw_empty(root, &self.title, "no finished epochs yet");
        }
        let body = root.titled(&self.title, (FONT, 22))?;
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
        self.panel(
            &left,
            "loss",
            [
                ("training loss (augmented batches)", TRIAL, |e| e.train_loss),
                ("validation loss", FRONT, |e| e.val_loss),
            ],
            SeriesLabelPosition::MiddleRight,
        )?;
        self.panel(
            &right,
            "accuracy (%)",
            [
                ("training accuracy (augmented batches)", TRIAL, |e| {
                    e.train_acc * 100.0
                }),
                ("validation accuracy", FRONT, |e| e.val_acc * 100.0),
            ],
            SeriesLabelPosition::LowerRight,
        )?;
        Ok(())
    }
}
