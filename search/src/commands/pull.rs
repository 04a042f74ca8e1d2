//! `search pull`: a search kept in PostgreSQL copied into a run directory, the format
//! `search report` and every other reader of runs take.

use std::path::PathBuf;

use clap::Args;

use nas::store::{PgStore, RunDirStore, TrialStore};

use crate::failure::Failure;
use crate::flags::{SharedRunArgs, run_dir};

#[derive(Args)]
pub struct PullArgs {
    #[command(flatten)]
    shared: SharedRunArgs,
    /// A new run directory to write.
    #[arg(long, value_parser = run_dir)]
    out: PathBuf,
}

pub fn run(args: PullArgs) -> Result<(), Failure> {
    let SharedRunArgs { store: url, run } = &args.shared;
    let source = PgStore::open(url, run, true).map_err(Failure::bad_input)?;
    let config = source
        .config()
        .map_err(Failure::runtime)?
        .ok_or_else(|| Failure::bad_input(format!("the search `{run}` has no configuration")))?;
    if args.out.exists() && std::fs::read_dir(&args.out).map_or(true, |mut d| d.next().is_some()) {
        return Err(Failure::bad_input(format!(
            "{} exists and is not empty: pull into a new directory",
            args.out.display()
        )));
    }
    let trials = source.trials().map_err(Failure::store)?;
    let references = source.references().map_err(Failure::store)?;
    let mut target = RunDirStore::open(&args.out).map_err(Failure::runtime)?;
    target.save_config(&config).map_err(Failure::runtime)?;
    for t in &references {
        target.append_reference(t).map_err(Failure::runtime)?;
    }
    for t in &trials {
        target.append(t).map_err(Failure::runtime)?;
    }
    eprintln!(
        "{} finished trials and {} references of `{run}` written to {}; `search report {}` draws them",
        trials.len(),
        references.len(),
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
