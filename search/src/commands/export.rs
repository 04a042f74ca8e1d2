//! `search export`: a trial's architecture (or a preset's, a spec file's, a
//! checkpoint's) as a spec file or as timm builds it, and a trained network's
//! weights under timm's names or as ONNX.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use records::{SearchDir, TrainDir, TrialStatus};
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
    /// The trained weights of `--weights` as a safetensors file under timm's
    /// state-dict names, which the `--format timm` network's `load_state_dict`
    /// takes (needs `--out`).
    TimmWeights,
    /// The trained network of `--weights` as one ONNX file for inference (opset 17,
    /// BatchNorm folded into the convolutions; input `images`, output `logits`;
    /// any batch and image size; needs `--out`).
    Onnx,
}

#[derive(Args)]
pub struct ExportArgs {
    /// A search's run directory.
    #[arg(required_unless_present_any = ["arch", "weights"])]
    run: Option<PathBuf>,
    /// A trial number, or `best` (highest reward).
    #[arg(required_unless_present_any = ["arch", "weights"])]
    trial: Option<String>,
    /// Export a preset or a spec file instead of a search's trial.
    #[arg(long, conflicts_with_all = ["run", "trial", "weights"])]
    arch: Option<String>,
    /// Export a trained network: a training run's directory (its evaluated
    /// weights: the moving average when it kept one) or a checkpoint's
    /// `.safetensors` file with its spec beside it.
    #[arg(long, value_name = "RUN|FILE", conflicts_with_all = ["run", "trial"])]
    weights: Option<PathBuf>,
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

/// The weights file `--weights` names: a checkpoint file, or a training run's
/// evaluated weights.
fn weights_file(path: &Path) -> Result<PathBuf, Failure> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let checkpoint = TrainDir::new(path).checkpoint();
    ["ema.safetensors", "model.safetensors"]
        .iter()
        .map(|f| checkpoint.join(f))
        .find(|f| f.is_file())
        .ok_or_else(|| {
            Failure::bad_input(format!(
                "--weights {}: neither a checkpoint file nor a training run with one",
                path.display()
            ))
        })
}

pub fn run(args: ExportArgs) -> Result<(), Failure> {
    let weights = args.weights.as_deref().map(weights_file).transpose()?;
    let spec = match (&args.arch, &weights, &args.run, &args.trial) {
        (Some(arch), _, _, _) => load_arch(arch)?,
        (None, Some(file), _, _) => {
            models::checkpoint::read_spec(file).map_err(Failure::bad_input)?
        }
        (None, None, Some(run), Some(trial)) => trial_spec(run, trial)?,
        _ => {
            return Err(Failure::bad_input(
                "give a run directory and a trial, --arch or --weights",
            ));
        }
    };
    if matches!(args.format, Format::TimmWeights | Format::Onnx) {
        let name = if args.format == Format::Onnx {
            "onnx"
        } else {
            "timm-weights"
        };
        let (Some(file), Some(out)) = (&weights, &args.out) else {
            return Err(Failure::bad_input(format!(
                "--format {name} exports a trained network: give --weights and --out"
            )));
        };
        refuse_existing(out)?;
        let model =
            models::load_checkpoint(file, &candle_core::Device::Cpu).map_err(Failure::bad_input)?;
        if args.format == Format::Onnx {
            models::save_onnx(&model, out).map_err(Failure::runtime)?;
            eprintln!(
                "wrote {} ({}, ONNX opset {})",
                out.display(),
                spec.name,
                models::onnx::OPSET
            );
        } else {
            models::save_timm_weights(&model, out).map_err(Failure::runtime)?;
            eprintln!("wrote {} ({} under timm's names)", out.display(), spec.name);
        }
        return Ok(());
    }
    let text = match args.format {
        Format::Timm => {
            let params = space::analyze(&spec, spec.train_size)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", spec.name)))?
                .params;
            space::timm::python(&spec, params).map_err(Failure::bad_input)?
        }
        _ => spec.to_json() + "\n",
    };
    match args.out {
        Some(path) => {
            refuse_existing(&path)?;
            std::fs::write(&path, text)
                .map_err(|e| Failure::runtime(format!("{}: {e}", path.display())))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn refuse_existing(path: &Path) -> Result<(), Failure> {
    if path.exists() {
        return Err(Failure::bad_input(format!(
            "{} already exists; not overwriting it",
            path.display()
        )));
    }
    Ok(())
}
