//! The Markdown summary: the same content as the HTML, with the plots linked as
//! PNG files beside it.

use crate::document::{Block, Document};

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(doc: &Document) -> String {
    let mut out = format!("# {}\n\n", doc.title);
    if let Some(progress) = &doc.progress {
        out.push_str(&format!("*{}*\n\n", crate::html::progress_line(progress)));
    }
    for block in &doc.blocks {
        match block {
            Block::Heading(text) => out.push_str(&format!("## {text}\n\n")),
            Block::Paragraph(text) => out.push_str(&format!("{text}\n\n")),
            Block::Table(header, rows) => {
                let line = |cells: &[String]| {
                    format!(
                        "| {} |\n",
                        cells
                            .iter()
                            .map(|c| cell(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                };
                out.push_str(&line(header));
                out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
                for row in rows {
                    out.push_str(&line(row));
                }
                out.push('\n');
            }
            Block::Plot(plot) => {
                let file = plot
                    .png
                    .file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
                out.push_str(&format!("![{}]({file})\n\n", plot.name));
            }
            Block::Code(text) => out.push_str(&format!("```\n{text}\n```\n\n")),
        }
    }
    out
}
