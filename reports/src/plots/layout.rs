//! An architecture's stage layout drawn as the paper's Table 4: one row per stage
//! with operator, kernel, expansion, SE, stride, channels and layers, the layers
//! also as a bar so that where the depth goes reads at a glance.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use space::{ArchSpec, BlockKind};

use super::{DrawResult, FONT, FUSED, Figure, MUTED, SHADE, TRIAL};

pub struct StageLayout<'a> {
    /// File stem.
    pub name: String,
    pub title: String,
    pub spec: &'a ArchSpec,
}

const ROW: i32 = 32;
const TOP: i32 = 64;
/// Column left edges, pixels; the last column holds the layer bar.
const COLUMNS: [(&str, i32); 8] = [
    ("stage", 20),
    ("operator", 80),
    ("kernel", 270),
    ("expansion", 340),
    ("SE", 440),
    ("stride", 500),
    ("channels", 570),
    ("layers", 670),
];

impl StageLayout<'_> {
    fn rows(&self) -> Vec<[String; 7]> {
        let s = self.spec;
        let mut rows = vec![[
            "0".into(),
            "Conv3x3".into(),
            "3".into(),
            "-".into(),
            "-".into(),
            s.stem_stride.to_string(),
            s.stem_channels.to_string(),
        ]];
        for (i, st) in s.stages.iter().enumerate() {
            rows.push([
                (i + 1).to_string(),
                st.kind.paper_name().to_string(),
                st.kernel.to_string(),
                st.expand_ratio.to_string(),
                st.se_ratio.map_or("-".into(), |r| format!("{r}")),
                st.stride.to_string(),
                st.out_channels.to_string(),
            ]);
        }
        rows.push([
            (s.stages.len() + 1).to_string(),
            "Conv1x1 & Pool & FC".into(),
            "1".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            s.head_channels.to_string(),
        ]);
        rows
    }
}

impl Figure for StageLayout<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> (u32, u32) {
        let rows = self.spec.stages.len() as i32 + 2; // stem and head too
        (900, (TOP + ROW * rows + 16) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (width, _) = root.dim_in_pixel();
        let left = Pos::new(HPos::Left, VPos::Center);
        let cell = |text: &str, x: i32, y: i32, bold: bool, colour: &RGBColor| {
            let font = (FONT, 15).into_font();
            let font = if bold {
                font.style(FontStyle::Bold)
            } else {
                font
            };
            Text::new(text.to_string(), (x, y), font.color(colour).pos(left))
        };
        root.draw(&Text::new(
            self.title.clone(),
            (20, 14),
            (FONT, 20).into_font().color(&BLACK),
        ))?;
        let header_y = TOP - ROW / 2;
        for (name, x) in COLUMNS {
            root.draw(&cell(name, x, header_y, true, &BLACK))?;
        }
        root.draw(&PathElement::new(
            vec![(16, TOP), (width as i32 - 16, TOP)],
            BLACK.stroke_width(1),
        ))?;

        let max_layers = self
            .spec
            .stages
            .iter()
            .map(|s| s.repeats)
            .max()
            .unwrap_or(1);
        let bar_x = COLUMNS[7].1;
        let bar_room = width as i32 - 40 - bar_x - 30;
        for (r, row) in self.rows().iter().enumerate() {
            let y0 = TOP + ROW * r as i32;
            let y = y0 + ROW / 2;
            if r % 2 == 1 {
                root.draw(&Rectangle::new(
                    [(16, y0), (width as i32 - 16, y0 + ROW)],
                    SHADE.filled(),
                ))?;
            }
            let stage = r.checked_sub(1).and_then(|i| self.spec.stages.get(i));
            let op_colour = match stage.map(|s| s.kind) {
                Some(BlockKind::FusedMbConv) => FUSED,
                Some(BlockKind::MbConv) => TRIAL,
                None => BLACK,
            };
            for (c, text) in row.iter().enumerate() {
                let colour = if c == 1 { &op_colour } else { &BLACK };
                root.draw(&cell(text, COLUMNS[c].1, y, false, colour))?;
            }
            let layers = stage.map_or(1, |s| s.repeats);
            let bar = (bar_room as f64 * layers as f64 / max_layers as f64).round() as i32;
            let fill = if stage.is_some() { op_colour } else { MUTED };
            root.draw(&Rectangle::new(
                [(bar_x, y0 + 7), (bar_x + bar.max(2), y0 + ROW - 7)],
                fill.mix(0.8).filled(),
            ))?;
            root.draw(&cell(
                &layers.to_string(),
                bar_x + bar.max(2) + 6,
                y,
                false,
                &BLACK,
            ))?;
        }
        Ok(())
    }
}
