//! `search export`: a trial's architecture as a spec file.

use std::path::PathBuf;

use clap::Args;

use records::SearchDir;

use crate::failure::Failure;

#[derive(Args)]
pub struct ExportArgs {
    /// A search's run directory.
    run: PathBuf,
    /// A trial number, or `best` (highest reward).
    trial: String,
    /// Write the spec here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: ExportArgs) -> Result<(), Failure> {
    let dir = SearchDir::new(&args.run);
    if !dir.trials_path().exists() {
        return Err(Failure::bad_input(format!(
            "{}: no trials.jsonl here; not a search run",
            args.run.display()
        )));
    }
    let trials = dir.trials().map_err(Failure::runtime)?;
    let trial = if args.trial == "best" {
        records::trial::best(&trials).ok_or_else(|| Failure::bad_input("no finished trial yet"))?
    } else {
        let id: usize = args.trial.parse().map_err(|_| {
            Failure::bad_input(format!(
                "`{}` is neither a trial number nor `best`",
                args.trial
            ))
        })?;
        trials.iter().find(|t| t.id == id).ok_or_else(|| {
            Failure::bad_input(format!("no trial #{id} in {}", args.run.display()))
        })?
    };
    let text = trial.spec.to_json() + "\n";
    match args.out {
        Some(path) => {
            if path.exists() {
                return Err(Failure::bad_input(format!(
                    "{} already exists; not overwriting it",
                    path.display()
                )));
            }
            std::fs::write(&path, text)
                .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
