//! `search report <run-dir>`: the HTML and Markdown report of a search or a
//! training run, with its plots and tables.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use crate::failure::Failure;
use crate::flags::utc_timestamp;
use clap::Args;
use reports::Progress;

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

/// Writes the report at the end of a run, saying that it ended; a report that
/// cannot be written is a warning, never a reason to fail the run it describes.
pub fn write_after_run(run_dir: &Path) {
    match reports::write_report_as(run_dir, Some(Progress::Ended(utc_timestamp()))) {
        Ok(report) => eprintln!("report: {}", report.html.display()),
        Err(e) => eprintln!("warning: the report could not be written: {e}"),
    }
}

/// The report of a run that is still going, rewritten in the background after
/// each [`LiveReport::update`] (several that come while one is being written
/// make one more), so that the run never waits for it; a browser on
/// `report/index.html` watches the run.
pub struct LiveReport {
    updates: Option<Sender<()>>,
    writer: Option<JoinHandle<()>>,
    dir: PathBuf,
}

impl LiveReport {
    pub fn start(run_dir: &Path) -> LiveReport {
        let (updates, pending) = channel::<()>();
        let dir = run_dir.to_path_buf();
        let writer = std::thread::spawn(move || {
            let mut warned = false;
            while pending.recv().is_ok() {
                while pending.try_recv().is_ok() {}
                let live = Some(Progress::Live(utc_timestamp()));
                if let Err(e) = reports::write_report_as(&dir, live)
                    && !warned
                {
                    eprintln!("warning: the live report could not be written: {e}");
                    warned = true;
                }
            }
        });
        LiveReport {
            updates: Some(updates),
            writer: Some(writer),
            dir: run_dir.to_path_buf(),
        }
    }

    /// Something new was recorded: rewrite the report.
    pub fn update(&self) {
        if let Some(updates) = &self.updates {
            let _ = updates.send(());
        }
    }

    /// The run ended: wait for the writer, then write the report that says so.
    pub fn finish(mut self) {
        self.stop();
        write_after_run(&self.dir);
    }

    fn stop(&mut self) {
        self.updates = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A run that stops with an error still leaves no writer behind.
impl Drop for LiveReport {
    fn drop(&mut self) {
        self.stop();
    }
}
