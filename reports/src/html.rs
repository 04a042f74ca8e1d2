//! The self-contained HTML report: one file, plots inlined as SVG, no scripts and
//! nothing fetched, so it can be mailed or archived as it is.

use crate::document::{Block, Document};

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1140px;\
margin:24px auto;padding:0 16px;color:#222;line-height:1.45}\
h1{font-size:26px;margin-bottom:4px}h2{font-size:20px;margin-top:32px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:8px 0 16px;font-size:14px}\
th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
tr:nth-child(even) td{background:#fafafa}\
pre{background:#f6f6f6;padding:10px;overflow-x:auto;font-size:13px}\
figure{margin:12px 0}svg{max-width:100%;height:auto}";

pub fn render(doc: &Document) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&doc.title),
        escape(&doc.title)
    );
    for block in &doc.blocks {
        match block {
            Block::Heading(text) => out.push_str(&format!("<h2>{}</h2>\n", escape(text))),
            Block::Paragraph(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
            Block::Table(header, rows) => {
                out.push_str("<table><thead><tr>");
                for h in header {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr></thead><tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", escape(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Plot(plot) => {
                // The SVG's own XML declaration is not allowed inside HTML.
                let svg = plot.svg_text.trim_start();
                let svg = match svg.strip_prefix("<?xml") {
                    Some(rest) => rest.split_once("?>").map_or(svg, |(_, after)| after),
                    None => svg,
                };
                out.push_str(&format!(
                    "<figure id=\"{}\">{svg}</figure>\n",
                    escape(&plot.name)
                ));
            }
            Block::Code(text) => out.push_str(&format!("<pre>{}</pre>\n", escape(text))),
        }
    }
    out.push_str("</body></html>\n");
    out
}
