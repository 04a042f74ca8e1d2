//! The self-contained HTML report: one file, plots inlined as SVG, no scripts and
//! nothing fetched, so it can be mailed or archived as it is. While its run is
//! live, the page reloads itself (a `refresh` meta tag, still no script).

use crate::document::{Block, Document, Progress};

/// Seconds between reloads of a live report.
pub const RELOAD_S: u32 = 5;

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
figure{margin:12px 0}svg{max-width:100%;height:auto}\
.progress{padding:6px 12px;border-radius:4px;font-size:14px}\
.live{background:#fff4d6;border:1px solid #e8c15a}.ended{background:#e9f5e9;border:1px solid #9c9}";

/// The banner that says whether the run is live.
pub fn progress_line(progress: &Progress) -> String {
    match progress {
        Progress::Live(at) => format!(
            "Live: this run is still going; this page was written at {at} and reloads every \
             {RELOAD_S} s."
        ),
        Progress::Ended(at) => format!("This run ended at {at}; the page no longer reloads."),
    }
}

pub fn render(doc: &Document) -> String {
    let reload = match doc.progress {
        Some(Progress::Live(_)) => format!("<meta http-equiv=\"refresh\" content=\"{RELOAD_S}\">"),
        _ => String::new(),
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{reload}\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&doc.title),
        escape(&doc.title)
    );
    if let Some(progress) = &doc.progress {
        let class = match progress {
            Progress::Live(_) => "live",
            Progress::Ended(_) => "ended",
        };
        out.push_str(&format!(
            "<p class=\"progress {class}\">{}</p>\n",
            escape(&progress_line(progress))
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_page_reloads_and_says_so_and_an_ended_one_does_not_reload() {
        let mut doc = Document::new("Search report: x");
        doc.paragraph("a < b");
        let plain = render(&doc);
        assert!(!plain.contains("http-equiv") && !plain.contains("class=\"progress"));
        doc.progress = Some(Progress::Live("2026-12-01 22:40:11 UTC".into()));
        let live = render(&doc);
        assert!(live.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
        assert!(live.contains(
            "Live: this run is still going; this page was written at 2026-12-01 22:40:11 UTC"
        ));
        doc.progress = Some(Progress::Ended("2026-12-01 22:45:00 UTC".into()));
        let ended = render(&doc);
        assert!(!ended.contains("refresh\""));
        assert!(ended.contains("This run ended at 2026-12-01 22:45:00 UTC"));
        assert!(ended.contains("a &lt; b") && ended.ends_with("</html>\n"));
    }
}
