//! `search reproduce`: the paper's findings on this machine, in one directory and
//! one report: Table 2 and Table 3 analogs, the search with the paper's reward,
//! the found network against EfficientNetV2-S, and its S/M/L family.

use std::path::PathBuf;

use clap::Args;
use nas::reproduce::plan::path_arg;
use nas::reproduce::{FamilyOutcome, Plan, Progress, run_fused, run_throughput, scale_best};
use records::{PointStatus, ReproductionDir};

use super::search_cmd;
use crate::failure::Failure;
use crate::flags::{ComputeArgs, DataArg, default_out, refuse_used_out, run_dir};
use crate::table::thousands;

#[derive(Args)]
pub struct ReproduceArgs {
    /// Miniature networks (a quarter of the channels, at most two layers per
    /// stage), tiny images and a 2-trial search: every part in about a minute.
    #[arg(long)]
    quick: bool,
    /// Directory of the reproduction [default: runs/reproduce-<time>].
    #[arg(long, value_parser = run_dir)]
    out: Option<PathBuf>,
    /// Continue the reproduction in --out: finished parts are kept, the rest run.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Trials of the search [default: 100, or 2 with --quick]; with --resume,
    /// the new total (a lower one stops the search where it is).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    budget: Option<u64>,
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    compute: ComputeArgs,
}

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::runtime(e)
}

/// The plan in `dir`: saved (with `--resume`), or new.
fn open_plan(args: &ReproduceArgs, dir: &ReproductionDir) -> Result<Plan, Failure> {
    let path = dir.plan();
    match (path.exists(), args.resume) {
        (true, true) => {
            let mut plan = Plan::load(dir)
                .map_err(|e| {
                    Failure::bad_input(format!(
                        "{e} (not a reproduction plan of this version of effnas)"
                    ))
                })?
                .ok_or_else(|| runtime(format!("{}: vanished", path.display())))?;
            if let Some(budget) = args.budget {
                plan.search_budget = budget;
            }
            if args.quick != plan.quick
                || args.compute.seed() != plan.seed
                || args.data.data.is_some()
            {
                eprintln!(
                    "note: --resume continues with the saved plan; --quick, --seed and --data are not changed"
                );
            }
            eprintln!("resuming the reproduction in {}", dir.root.display());
            Ok(plan)
        }
        (false, true) => Err(Failure::bad_input(format!(
            "--resume: {} holds no reproduction ({} is missing)",
            dir.root.display(),
            path.display()
        ))),
        (true, false) => Err(Failure::bad_input(format!(
            "{} already holds a reproduction; pass --resume to continue it or --out for a new one",
            dir.root.display()
        ))),
        (false, false) => {
            refuse_used_out(&dir.root, "reproduction")?;
            std::fs::create_dir_all(&dir.root)
                .map_err(|e| runtime(format!("{}: {e}", dir.root.display())))?;
            let (seed, data) = (args.compute.seed(), args.data.data.as_deref());
            if args.quick {
                Plan::quick(seed, args.budget, data, dir).map_err(runtime)
            } else {
                Ok(Plan::full(seed, args.budget, data))
            }
        }
    }
}

/// Prints the experiments' progress as they go.
fn log(event: Progress) {
    match event {
        Progress::Point {
            index,
            total,
            network,
            size,
            batch,
        } => eprintln!(
            "[table 2] {}/{total}: {network} at {size} px, batch {batch}…",
            index + 1
        ),
        Progress::PointMeasured(point) => match point.status {
            PointStatus::Done => eprintln!(
                "[table 2]   {:.0} ms per step, {:.1} images/s",
                point.step_ms.as_ref().map_or(0.0, |s| s.median),
                point.images_per_s.unwrap_or(0.0)
            ),
            _ => eprintln!(
                "[table 2]   {:?}: {}",
                point.status,
                point.error.as_deref().unwrap_or("")
            ),
        },
        Progress::Variant { index, total, name } => {
            eprintln!("[table 3] {}/{total}: {name}…", index + 1)
        }
        Progress::VariantEvaluated(trial) => match (&trial.accuracy, &trial.step_ms) {
            (Some(acc), Some(step)) => eprintln!(
                "[table 3]   accuracy {:.2}%, step {:.0} ms, {} params",
                acc * 100.0,
                step.median,
                thousands(trial.params)
            ),
            _ => eprintln!(
                "[table 3]   {:?}: {}",
                trial.status,
                trial.error.as_deref().unwrap_or("")
            ),
        },
    }
}

/// The search phase: an ordinary search with the plan's flags, in `search/`.
fn search_phase(plan: &Plan, dir: &ReproductionDir, args: &ReproduceArgs) -> Result<(), Failure> {
    let search_dir = dir.search();
    let mut flags = plan.search_args.clone();
    flags.extend([
        "--budget".into(),
        plan.search_budget.to_string(),
        "--ops".into(),
        args.compute.ops().to_string(),
        "--device".into(),
        args.compute.device.device.clone(),
        "--out".into(),
        path_arg(&search_dir.root),
    ]);
    if search_dir.config_path().exists() {
        flags.push("--resume".into());
    }
    eprintln!("[search] search {}", flags.join(" "));
    search_cmd::run(search_cmd::parse_args(&flags)?)
}

/// The found network's family, or why there is none.
fn family_phase(dir: &ReproductionDir) -> Result<(), Failure> {
    match scale_best(dir).map_err(runtime)? {
        FamilyOutcome::NoBest => {
            eprintln!("[family] the search has no finished trial yet: no family")
        }
        FamilyOutcome::CannotScale { network, reason } => {
            eprintln!("[family] {network} cannot be scaled: {reason}")
        }
        FamilyOutcome::Scaled(family) => eprintln!(
            "[family] {} scaled to {}",
            family[0].spec.name,
            family
                .iter()
                .map(|m| format!("{} ({:.1} M)", m.label, m.spec.param_count() as f64 / 1e6))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(())
}

pub fn run(args: ReproduceArgs) -> Result<(), Failure> {
    let device = args.compute.device.open()?;
    if let Some(data) = &args.data.data {
        train::load_data(Some(data)).map_err(Failure::bad_input)?;
    }
    let out = args.out.clone().unwrap_or_else(|| default_out("reproduce"));
    let dir = ReproductionDir::new(&out);
    let plan = open_plan(&args, &dir)?;
    plan.save(&dir).map_err(runtime)?;

    let ops = args.compute.ops();
    run_throughput(&plan.throughput, plan.seed, &dir, &device, ops, &mut log).map_err(runtime)?;
    search_phase(&plan, &dir, &args)?;
    // The family needs only the search and takes no time: before the long part.
    family_phase(&dir)?;
    run_fused(&plan, &dir, &device, ops, &mut log).map_err(runtime)?;

    let report = reports::write_report(&out).map_err(runtime)?;
    println!("\nreproduction report: {}", report.html.display());
    println!("summary: {}", report.markdown.display());
    Ok(())
}
