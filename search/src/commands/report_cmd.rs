//! `search report <run-dir>`: the HTML and Markdown report of a search or a
//! training run, with its plots and tables.

use std::path::{Path, PathBuf};

use crate::failure::Failure;
use clap::Args;

#[derive(Args)]
pub struct ReportArgs {
    /// The directory of a search, a training run, a reproduction or a proxy check.
    run: PathBuf,
}

pub fn run(args: ReportArgs) -> Result<(), Failure> {
    let report = reports::write_report(&args.run).map_err(|e| {
        if e.is_bad_input() {
            Failure::bad_input(e)
        } else {
            Failure::runtime(e)
        }
    })?;
    println!("report: {}", report.html.display());
    println!("summary: {}", report.markdown.display());
    println!("{} files in {}", report.files.len(), report.dir.display());
    Ok(())
}

/// Writes the report at the end of a run; a report that cannot be written is a
/// warning, never a reason to fail the run it describes.
pub fn write_after_run(run_dir: &Path) {
    match reports::write_report(run_dir) {
        Ok(report) => eprintln!("report: {}", report.html.display()),
        Err(e) => eprintln!("warning: the report could not be written: {e}"),
    }
}
