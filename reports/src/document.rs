//! A report's content, independent of its format: the HTML and Markdown writers
//! render the same blocks, so the two never disagree.

use crate::plots::SavedPlot;

pub enum Block {
    Heading(String),
    Paragraph(String),
    /// A header row, then rows of cells.
    Table(Vec<String>, Vec<Vec<String>>),
    Plot(SavedPlot),
    /// Preformatted text (JSON, block notation).
    Code(String),
}

/// Whether the run a report shows is still going, and as of when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still running: the page reloads itself; the time of this report.
    Live(String),
    /// Finished at this time.
    Ended(String),
}

pub struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
    /// `None` for a report made after the fact (`search report`).
    pub progress: Option<Progress>,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document {
            title: title.into(),
            blocks: Vec::new(),
            progress: None,
        }
    }

    pub fn heading(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading(text.into()));
    }

    pub fn paragraph(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }

    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        let header = header.iter().map(|h| h.to_string()).collect();
        self.blocks.push(Block::Table(header, rows));
    }

    pub fn plot(&mut self, plot: SavedPlot) {
        self.blocks.push(Block::Plot(plot));
    }

    pub fn code(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Code(text.into()));
    }
}
