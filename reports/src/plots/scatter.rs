//! A proxy against its target: each network's accuracy after the proxy training
//! (x) and after the target training (y). Points that rise from left to right mean
//! the proxy ranks networks as the target does.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, FONT, Figure, REFERENCE, TRIAL, draw_empty, padded_range, tick};

/// One network: proxy accuracy, target accuracy, label, and whether it is a
/// reference network.
pub type ScatterPoint = (f64, f64, String, bool);

pub struct ProxyScatter {
    pub name: String,
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub points: Vec<ScatterPoint>,
}

impl Figure for ProxyScatter {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> (u32, u32) {
        (640, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        if self.points.is_empty() {
            return draw_empty(root, &self.title, "no network has both accuracies yet");
        }
        let (x0, x1) = padded_range(self.points.iter().map(|p| p.0), 0.12);
        let (y0, y1) = padded_range(self.points.iter().map(|p| p.1), 0.12);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .axis_desc_style((FONT, 15))
            .label_style((FONT, 13))
            .x_label_formatter(&|x| tick(*x, x1 - x0))
            .y_label_formatter(&|y| tick(*y, y1 - y0))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()?;
        chart.draw_series(self.points.iter().map(|(x, y, label, reference)| {
            let colour = if *reference { REFERENCE } else { TRIAL };
            EmptyElement::at((*x, *y))
                + Circle::new((0, 0), 5, colour.filled())
                + Text::new(
                    label.clone(),
                    (7, -14),
                    (FONT, 12).into_font().color(&colour),
                )
        }))?;
        Ok(())
    }
}
