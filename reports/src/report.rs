//! The report of one run, written to `<run>/report/`: `index.html` (self-contained),
//! `summary.md`, the plots as PNG and SVG, and the run's table as CSV and Parquet.
//! A run rewrites it as it goes (after every trial or epoch), marked live, and once
//! more when it ends; `index.html` and `summary.md` are replaced atomically, so a
//! browser never reads half a page.

use std::fs;
use std::path::{Path, PathBuf};

use crate::document::{Document, Progress};
use crate::proxy_report::proxy_check_document;
use crate::reproduction_report::reproduction_document;
use crate::run::Run;
use crate::search_report::search_document;
use crate::strategy_report::strategy_bench_document;
use crate::train_report::train_document;
use crate::{ReportError, html, markdown};

/// What [`write_report`] wrote.
#[derive(Debug)]
pub struct Report {
    pub dir: PathBuf,
    pub html: PathBuf,
    pub markdown: PathBuf,
    /// Every file written, the two above included.
    pub files: Vec<PathBuf>,
}

/// Reads the run in `run_dir` and writes its report to `run_dir/report/`,
/// replacing an earlier one.
pub fn write_report(run_dir: &Path) -> Result<Report, ReportError> {
    write_report_as(run_dir, None)
}

/// As [`write_report`], saying whether the run is live or has ended.
pub fn write_report_as(run_dir: &Path, progress: Option<Progress>) -> Result<Report, ReportError> {
    let run = Run::load(run_dir)?;
    let dir = run.dir().join("report");
    fs::create_dir_all(&dir).map_err(|e| ReportError::write(&dir, e))?;
    let mut files = Vec::new();
    let doc = match &run {
        Run::Search(r) => search_document(r, &dir, &mut files)?,
        Run::Train(r) => train_document(r, &dir, &mut files)?,
        Run::Reproduction(r) => reproduction_document(r, &dir, &mut files)?,
        Run::ProxyCheck(r) => proxy_check_document(r, &dir, &mut files)?,
        Run::StrategyBench(r) => strategy_bench_document(r, &dir, &mut files)?,
    };
    let doc = Document { progress, ..doc };
    let html_path = dir.join("index.html");
    records::write_atomically(&html_path, &html::render(&doc))
        .map_err(|e| ReportError::write(&html_path, e))?;
    let md_path = dir.join("summary.md");
    records::write_atomically(&md_path, &markdown::render(&doc))
        .map_err(|e| ReportError::write(&md_path, e))?;
    files.push(html_path.clone());
    files.push(md_path.clone());
    Ok(Report {
        dir,
        html: html_path,
        markdown: md_path,
        files,
    })
}
