//! `search export`: a trial's architecture (or a preset's, or a spec file's) as a
//! spec file, or as timm builds it.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use records::{SearchDir, TrialStatus};
use space::ArchSpec;

use crate::failure::Failure;
use crate::inputs::load_arch;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// effnas's own spec JSON (`search train --arch FILE` reads it).
    Spec,
    /// A Python file that builds the network with timm's EfficientNet: the
    /// `arch_def` block strings, stem, head, classes and activation, channels as
    /// effnas rounded them.
    Timm,
}

#[derive(Args)]
pub struct ExportArgs {
    /// A search's run directory.
    #[arg(required_unless_present = "arch")]
    run: Option<PathBuf>,
    /// A trial number, or `best` (highest reward).
    #[arg(required_unless_present = "arch")]
    trial: Option<String>,
    /// Export a preset or a spec file instead of a search's trial.
    #[arg(long, conflicts_with_all = ["run", "trial"])]
    arch: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Spec)]
    format: Format,
    /// Write the export here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The network of trial `which` (a number or `best`) of the search in `run`; a
/// trial without a result is refused.
fn trial_spec(run: &Path, which: &str) -> Result<ArchSpec, Failure> {
    let dir = SearchDir::new(run);
    if !dir.trials_path().exists() {
        return Err(Failure::bad_input(format!(
            "{}: no trials.jsonl here; not a search run",
            run.display()
        )));
    }
    let trials = dir.trials().map_err(Failure::runtime)?;
    let trial = if which == "best" {
        records::trial::best(&trials).ok_or_else(|| Failure::bad_input("no finished trial yet"))?
    } else {
        let id: usize = which.parse().map_err(|_| {
            Failure::bad_input(format!("`{which}` is neither a trial number nor `best`"))
        })?;
        trials
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Failure::bad_input(format!("no trial #{id} in {}", run.display())))?
    };
    if trial.status != TrialStatus::Done {
        return Err(Failure::bad_input(format!(
            "trial #{} {}: {}; only a trial with a result is exported",
            trial.id,
            trial.status.name(),
            trial.error.as_deref().unwrap_or("no reason recorded")
        )));
    }
    Ok(trial.spec.clone())
}

pub fn run(args: ExportArgs) -> Result<(), Failure> {
    let spec = match (&args.arch, &args.run, &args.trial) {
        (Some(arch), _, _) => load_arch(arch)?,
        (None, Some(run), Some(trial)) => trial_spec(run, trial)?,
        _ => {
            return Err(Failure::bad_input(
                "give a run directory and a trial, or --arch",
            ));
        }
    };
    let text = match args.format {
        Format::Spec => spec.to_json() + "\n",
        Format::Timm => {
            let params = space::analyze(&spec, spec.train_size)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", spec.name)))?
                .params;
            space::timm::python(&spec, params).map_err(Failure::bad_input)?
        }
    };
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
