//! `search pull`: a search kept in PostgreSQL copied into a run directory, the format
//! `search report` and every other reader of runs take.

use std::path::PathBuf;

use clap::Args;

use search::Failure;
use search::store::{PgStore, RunDirStore, TrialStore};

#[derive(Args)]
pub struct PullArgs {
    /// The database: `postgres://user:password@host:port/database`.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The search, as named when it was started.
    #[arg(long, value_name = "NAME")]
    run: String,
    /// A new run directory to write.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: PullArgs) -> Result<(), Failure> {
    let source = PgStore::open(&args.store, &args.run, true).map_err(Failure::bad_input)?;
    let config = source.config().map_err(Failure::runtime)?.ok_or_else(|| {
        Failure::bad_input(format!("the search `{}` has no configuration", args.run))
    })?;
    if args.out.exists() && std::fs::read_dir(&args.out).map_or(true, |mut d| d.next().is_some()) {
        return Err(Failure::bad_input(format!(
            "{} exists and is not empty: pull into a new directory",
            args.out.display()
        )));
    }
    let trials = source.trials().map_err(Failure::runtime)?;
    let references = source.references().map_err(Failure::runtime)?;
    let mut target = RunDirStore::open(&args.out).map_err(Failure::runtime)?;
    target.save_config(&config).map_err(Failure::runtime)?;
    for t in &references {
        target.append_reference(t).map_err(Failure::runtime)?;
    }
    for t in &trials {
        target.append(t).map_err(Failure::runtime)?;
    }
    eprintln!(
        "{} finished trials and {} references of `{}` written to {}; `search report {}` draws them",
        trials.len(),
        references.len(),
        args.run,
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
