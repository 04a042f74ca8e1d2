//! The report's figures, each drawn once for any plotters backend and saved as
//! SVG (inlined into the HTML) and PNG (for Markdown and image viewers).

mod curves;
mod hypervolume;
mod layout;
mod progress;
mod scatter;
mod strategies;
mod tradeoff;

pub use curves::TrainingCurves;
pub use hypervolume::{HypervolumeProgress, hypervolume_so_far};
pub use layout::StageLayout;
pub use progress::SearchProgress;
pub use scatter::{ProxyScatter, ScatterPoint};
pub use strategies::{RewardSensitivity, StrategyCurves, sensitivity_series, strategy_curve};
pub use tradeoff::TradeOff;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::ReportError;

pub type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Every label is drawn in this family, registered from the embedded font.
pub const FONT: &str = "sans-serif";

/// Colours by role, the same in every figure.
pub const TRIAL: RGBColor = RGBColor(31, 119, 180);
pub const FRONT: RGBColor = RGBColor(214, 39, 40);
pub const REFERENCE: RGBColor = RGBColor(44, 160, 44);
pub const FUSED: RGBColor = RGBColor(255, 127, 14);
pub const MUTED: RGBColor = RGBColor(140, 140, 140);
pub const SHADE: RGBColor = RGBColor(236, 236, 236);

/// A figure that can draw itself on any backend.
pub trait Figure {
    /// File stem of the saved plot.
    fn name(&self) -> &str;
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// What [`save`] wrote.
pub struct SavedPlot {
    pub name: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    /// The SVG document, for inlining.
    pub svg_text: String,
}

fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/DejaVuSans.ttf");
        for style in [FontStyle::Normal, FontStyle::Bold] {
            register_font(FONT, style, bytes)
                .unwrap_or_else(|_| panic!("the embedded font is a valid TrueType file"));
        }
    });
}

fn plot_error(name: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Plot {
        plot: name.to_string(),
        message: e.to_string(),
    }
}

/// Draws `figure` into `dir` as `<name>.svg` and `<name>.png`.
pub fn save(figure: &impl Figure, dir: &Path) -> Result<SavedPlot, ReportError> {
    register_fonts();
    let name = figure.name();
    let (w, h) = figure.size();

    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(name, e))?;
        figure.draw(&root).map_err(|e| plot_error(name, e))?;
        root.present().map_err(|e| plot_error(name, e))?;
    }
    let svg = dir.join(format!("{name}.svg"));
    std::fs::write(&svg, &svg_text).map_err(|e| ReportError::write(&svg, e))?;

    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(name, e))?;
        figure.draw(&root).map_err(|e| plot_error(name, e))?;
        root.present().map_err(|e| plot_error(name, e))?;
    }
    let png = dir.join(format!("{name}.png"));
    image::RgbImage::from_raw(w, h, pixels)
        .expect("the buffer holds w·h RGB pixels")
        .save(&png)
        .map_err(|e| ReportError::write(&png, e))?;

    Ok(SavedPlot {
        name: name.to_string(),
        png,
        svg,
        svg_text,
    })
}

/// The legend, styled the same in every figure.
pub fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> DrawResult
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.9))
        .border_style(MUTED)
        .draw()?;
    Ok(())
}

/// A figure with nothing to show says so, under its title, instead of drawing
/// empty axes.
pub fn draw_empty<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        title.to_string(),
        (20, 16),
        (FONT, 22).into_font().color(&BLACK),
    ))?;
    let style = (FONT, 18)
        .into_font()
        .color(&MUTED)
        .pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

/// A tick label with as many decimals as the axis span needs: `700`, `4.5`, `0.62`.
pub fn tick(value: f64, span: f64) -> String {
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else {
        2 + (-span.max(1e-9).log10()).floor().max(0.0) as usize
    };
    format!("{value:.decimals$}")
}

/// A label for whole-number axes (trials, epochs): the integers, and nothing
/// between them.
pub fn whole(value: f64) -> String {
    if (value - value.round()).abs() < 1e-6 {
        format!("{}", value.round() as i64)
    } else {
        String::new()
    }
}

/// A running value (best so far, hypervolume so far) as a staircase: each point
/// holds until the next one's x, the last until `end`.
pub fn staircase(points: &[(f64, f64)], end: f64) -> Vec<(f64, f64)> {
    let mut steps = Vec::with_capacity(2 * points.len());
    for (i, &(x, y)) in points.iter().enumerate() {
        steps.push((x, y));
        steps.push((points.get(i + 1).map_or(end, |p| p.0), y));
    }
    steps
}

/// An axis range around `values` with a margin, never empty.
pub fn padded_range(values: impl Iterator<Item = f64>, margin: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(hi.abs() * 0.05).max(1e-9);
    (lo - span * margin, hi + span * margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_carry_the_decimals_the_span_needs() {
        assert_eq!(tick(700.0, 400.0), "700");
        assert_eq!(tick(4.5, 3.0), "4.5");
        assert_eq!(tick(0.62, 0.12), "0.62");
        assert_eq!(tick(0.615, 0.012), "0.615");
    }

    #[test]
    fn whole_number_axes_label_only_integers() {
        assert_eq!(whole(3.0), "3");
        assert_eq!(whole(-0.0), "0");
        assert_eq!(whole(0.4), "");
    }

    #[test]
    fn ranges_are_padded_and_never_empty() {
        assert_eq!(padded_range([1.0, 3.0].into_iter(), 0.5), (0.0, 4.0));
        let (lo, hi) = padded_range([5.0].into_iter(), 0.1);
        assert!(lo < 5.0 && hi > 5.0);
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.1), (0.0, 1.0));
    }
}
