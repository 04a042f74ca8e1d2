//! `search reproduce`: the paper's findings on this machine, in one directory and
//! one report: Table 2 and Table 3 analogs, the search with the paper's reward,
//! the found network against EfficientNetV2-S, and its S/M/L family.

use std::path::{Path, PathBuf};

use clap::Args;
use models::ops::OpSet;
use rand::Rng;

use search::Failure;
use search::data::load_data;
use search::data::loader::rng_for;
use search::driver::SearchConfig;
use search::evaluator::Evaluator;
use search::reproduce::fused::table3_variants;
use search::reproduce::miniature::{miniature, miniature_space};
use search::reproduce::{Layout, Plan, PointStatus, ThroughputPlan, ThroughputPoint};
use search::store::jsonl;
use search::table::thousands;
use search::trial::Trial;
use space::spaces::builtin_space;
use space::{ArchSpec, Choices, estimate_training_memory, preset};

use super::search_cmd::{self, default_out};

#[derive(Args)]
pub struct ReproduceArgs {
    /// Miniature networks (a quarter of the channels, at most two layers per
    /// stage), tiny images and a 2-trial search: every part in about a minute.
    #[arg(long)]
    quick: bool,
    /// Directory of the reproduction [default: runs/reproduce-<time>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the reproduction in --out: finished parts are kept, the rest run.
    #[arg(long, requires = "out")]
    resume: bool,
    /// Trials of the search [default: 100, or 2 with --quick]; with --resume,
    /// the new total (a lower one stops the search where it is).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    budget: Option<u64>,
    /// Proxy-training data: `embedded` (default), `fashion-mnist`, or a directory.
    #[arg(long)]
    data: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "cpu")]
    device: String,
    #[arg(long, default_value = "fast")]
    ops: OpSet,
}

const GIB: u64 = 1 << 30;
/// The networks of the paper's Pareto plot.
const REFERENCES: [&str; 3] = ["efficientnet-b0", "efficientnetv2-b0", "efficientnetv2-s"];

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::runtime(e)
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The full reproduction: B0 and B4 for Table 3, B4 for Table 2 (the paper used
/// B6, too slow here), the paper's space and reward for the search.
fn full_plan(args: &ReproduceArgs) -> Plan {
    let mut search_args = vec![
        "--seed".into(),
        args.seed.to_string(),
        "--references".into(),
        REFERENCES.join(","),
    ];
    if let Some(data) = &args.data {
        search_args.extend(["--data".into(), data.clone()]);
    }
    Plan {
        quick: false,
        seed: args.seed,
        backbones: vec![
            preset("efficientnet-b0").expect("a preset"),
            preset("efficientnet-b4").expect("a preset"),
        ],
        throughput: ThroughputPlan {
            network: preset("efficientnet-b4").expect("a preset"),
            sizes: vec![128, 192, 256, 320],
            batches: vec![8, 16, 32],
            steps: 3,
            memory_cap_bytes: 8 * GIB,
        },
        search_budget: args.budget.unwrap_or(100),
        search_args,
        compare_with: preset("efficientnetv2-s").expect("a preset"),
    }
}

/// The quick reproduction: miniatures of every network and of the paper's space,
/// written to `networks/` so the search phase can name them (by absolute path,
/// which a resume from another working directory still finds).
fn quick_plan(args: &ReproduceArgs, layout: &Layout) -> Result<Plan, Failure> {
    let dir = layout.networks();
    std::fs::create_dir_all(&dir).map_err(|e| runtime(format!("{}: {e}", dir.display())))?;
    let write = |name: &str, text: String| -> Result<String, Failure> {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, text).map_err(|e| runtime(format!("{}: {e}", path.display())))?;
        let path = path
            .canonicalize()
            .map_err(|e| runtime(format!("{}: {e}", path.display())))?;
        Ok(path_arg(&path))
    };
    let mini = |name: &str| miniature(&preset(name).expect("a preset"));
    let references = REFERENCES
        .iter()
        .map(|name| {
            let spec = mini(name);
            write(&spec.name, spec.to_json())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let space = miniature_space(&builtin_space("paper").expect("a built-in space"));
    let space_file = write(&space.name, space.to_json())?;
    let b4 = mini("efficientnet-b4");
    let (sizes, batches) = (vec![32, 64], vec![2, 4]);
    // The largest point is over the cap, as B6 at 512 px was in the paper.
    let largest = estimate_training_memory(&b4, 4, 64).map_err(runtime)?.total;
    let mut search_args: Vec<String> = [
        "--space",
        &space_file,
        "--reference",
        &references[0],
        "--references",
        &references.join(","),
        "--proxy-epochs",
        "1",
        "--proxy-size",
        "32",
        "--step-batch",
        "2",
        "--step-size",
        "32",
        "--step-steps",
        "1",
        "--seed",
        &args.seed.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(data) = &args.data {
        search_args.extend(["--data".into(), data.clone()]);
    }
    Ok(Plan {
        quick: true,
        seed: args.seed,
        backbones: vec![mini("efficientnet-b0"), b4.clone()],
        throughput: ThroughputPlan {
            network: b4,
            sizes,
            batches,
            steps: 1,
            memory_cap_bytes: largest - 1,
        },
        search_budget: args.budget.unwrap_or(2),
        search_args,
        compare_with: mini("efficientnetv2-s"),
    })
}

fn open_plan(args: &ReproduceArgs, layout: &Layout) -> Result<Plan, Failure> {
    let path = layout.plan();
    match (path.exists(), args.resume) {
        (true, true) => {
            let mut plan: Plan = jsonl::read_json(&path)
                .map_err(|e| {
                    Failure::bad_input(format!(
                        "{e} (not a reproduction plan of this version of effnas)"
                    ))
                })?
                .ok_or_else(|| runtime(format!("{}: vanished", path.display())))?;
            if let Some(budget) = args.budget {
                plan.search_budget = budget;
            }
            if args.quick != plan.quick || args.seed != plan.seed || args.data.is_some() {
                eprintln!(
                    "note: --resume continues with the saved plan; --quick, --seed and --data are not changed"
                );
            }
            eprintln!("resuming the reproduction in {}", layout.root.display());
            Ok(plan)
        }
        (false, true) => Err(Failure::bad_input(format!(
            "--resume: {} holds no reproduction ({} is missing)",
            layout.root.display(),
            path.display()
        ))),
        (true, false) => Err(Failure::bad_input(format!(
            "{} already holds a reproduction; pass --resume to continue it or --out for a new one",
            layout.root.display()
        ))),
        (false, false) => {
            let occupied = std::fs::read_dir(&layout.root).is_ok_and(|mut d| d.next().is_some());
            if occupied {
                return Err(Failure::bad_input(format!(
                    "{} is not empty and holds no reproduction; choose a new --out",
                    layout.root.display()
                )));
            }
            std::fs::create_dir_all(&layout.root)
                .map_err(|e| runtime(format!("{}: {e}", layout.root.display())))?;
            let plan = if args.quick {
                quick_plan(args, layout)?
            } else {
                full_plan(args)
            };
            Ok(plan)
        }
    }
}

fn save_plan(plan: &Plan, layout: &Layout) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(plan).expect("plans serialise");
    jsonl::write_atomically(&layout.plan(), &text).map_err(runtime)
}

pub fn run(args: ReproduceArgs) -> Result<(), Failure> {
    let device = models::parse_device(&args.device).map_err(Failure::bad_input)?;
    if let Some(data) = &args.data {
        load_data(Some(data)).map_err(Failure::bad_input)?;
    }
    let out = args.out.clone().unwrap_or_else(|| default_out("reproduce"));
    let layout = Layout::new(&out);
    let plan = open_plan(&args, &layout)?;
    save_plan(&plan, &layout)?;

    throughput_phase(&plan, &layout, &device, args.ops)?;
    let search_dir = layout.search();
    let mut flags = plan.search_args.clone();
    flags.extend([
        "--budget".into(),
        plan.search_budget.to_string(),
        "--ops".into(),
        args.ops.to_string(),
        "--device".into(),
        args.device.clone(),
        "--out".into(),
        path_arg(&search_dir),
    ]);
    if search_dir.join("config.json").exists() {
        flags.push("--resume".into());
    }
    eprintln!("[search] search {}", flags.join(" "));
    search_cmd::run(search_cmd::parse_args(&flags)?)?;
    // The family needs only the search and takes no time: before the long part.
    family_phase(&layout)?;
    fused_phase(&plan, &layout, &device, args.ops)?;

    let report = reports::write_report(&out).map_err(runtime)?;
    println!("\nreproduction report: {}", report.html.display());
    println!("summary: {}", report.markdown.display());
    Ok(())
}

/// Table 2 analog: every (size, batch) point not recorded yet.
fn throughput_phase(
    plan: &Plan,
    layout: &Layout,
    device: &candle_core::Device,
    ops: OpSet,
) -> Result<(), Failure> {
    let path = layout.throughput();
    jsonl::repair(&path).map_err(runtime)?;
    let done: Vec<ThroughputPoint> = jsonl::read(&path).map_err(runtime)?;
    let points = plan.throughput.points();
    for (i, (size, batch)) in points.iter().copied().enumerate() {
        if done.iter().any(|p| (p.size, p.batch) == (size, batch)) {
            continue;
        }
        eprintln!(
            "[table 2] {}/{}: {} at {size} px, batch {batch}…",
            i + 1,
            points.len(),
            plan.throughput.network.name
        );
        let point = plan.throughput.measure(size, batch, plan.seed, device, ops);
        match point.status {
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
        }
        jsonl::append(&path, &point).map_err(runtime)?;
    }
    Ok(())
}

/// Table 3 analog: each backbone with stages 1-3, 1-5 and all fused, evaluated
/// exactly as the search evaluates a candidate (its timing, proxy training and
/// reward), so the rows compare with the search's trials.
fn fused_phase(
    plan: &Plan,
    layout: &Layout,
    device: &candle_core::Device,
    ops: OpSet,
) -> Result<(), Failure> {
    let config_path = layout.search().join("config.json");
    let config: SearchConfig = jsonl::read_json(&config_path)
        .map_err(runtime)?
        .ok_or_else(|| runtime(format!("{}: missing", config_path.display())))?;
    let splits = load_data(config.data.as_deref().or(Some("embedded"))).map_err(runtime)?;
    let evaluator = Evaluator {
        config: &config.evaluator,
        splits: &splits,
        device,
        ops,
    };
    let path = layout.fused();
    jsonl::repair(&path).map_err(runtime)?;
    let done: Vec<Trial> = jsonl::read(&path).map_err(runtime)?;
    // Cheapest first (by MACs at the timing size), so a reproduction cut off here
    // has as many rows as it can; the report puts them back in the paper's order.
    let mut variants: Vec<ArchSpec> = plan.backbones.iter().flat_map(table3_variants).collect();
    let size = config.evaluator.timing.size;
    variants.sort_by_key(|s| space::analyze(s, size).map_or(u64::MAX, |a| a.macs));
    for (i, spec) in variants.iter().enumerate() {
        if done.iter().any(|t| t.spec.name == spec.name) {
            continue;
        }
        eprintln!("[table 3] {}/{}: {}…", i + 1, variants.len(), spec.name);
        let seed = rng_for(&[plan.seed, i as u64, 0xF5]).random::<u64>();
        let trial = evaluator.evaluate(i, spec, &Choices(Vec::new()), seed);
        match (&trial.accuracy, &trial.step_ms) {
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
        }
        jsonl::append(&path, &trial).map_err(runtime)?;
    }
    Ok(())
}

/// The found network (the search's best) scaled to S/M/L.
fn family_phase(layout: &Layout) -> Result<(), Failure> {
    let Some(best) =
        jsonl::read_json::<Trial>(&layout.search().join("best.json")).map_err(runtime)?
    else {
        eprintln!("[family] the search has no finished trial yet: no family");
        return Ok(());
    };
    // A network the scaler cannot grow is a finding to report, not a reason to
    // withhold the rest of the reproduction.
    let family = match space::family(&best.spec) {
        Ok(family) => family,
        Err(e) => {
            eprintln!("[family] {} cannot be scaled: {e}", best.spec.name);
            return Ok(());
        }
    };
    let text = serde_json::to_string_pretty(&family).expect("families serialise");
    jsonl::write_atomically(&layout.family(), &text).map_err(runtime)?;
    eprintln!(
        "[family] {} scaled to {}",
        best.spec.name,
        family
            .iter()
            .map(|m| format!("{} ({:.1} M)", m.label, m.spec.param_count() as f64 / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
