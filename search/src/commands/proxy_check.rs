//! `search proxy-check`: how well a cheap proxy training ranks networks the way a
//! long target training does, and the cheapest proxy that ranks well enough.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nas::proxy_check::{
    CheckEvent, PlannedNetwork, ProxyCheckPlan, ProxySetting, run_proxy_check, sample_spread,
};
use nas::{Reward, Timing};
use records::ProxyCheckDir;
use reports::ProxyCheckRun;
use reports::proxy_report::{ProxySummary, cheapest_passing, summarize, with_interval};
use space::SmallImages;

use super::search_cmd::backbone_of;
use crate::failure::Failure;
use crate::flags::{DeviceArg, OpsArg, SeedArg, default_out};
use crate::inputs::{load_arch, load_space};
use crate::table::Table;

#[derive(Args)]
pub struct ProxyCheckArgs {
    /// A built-in space (paper, efficientnetv2-s) or a search-space JSON file.
    #[arg(long, default_value = "paper")]
    space: String,
    /// Networks sampled from the space, spread over parameters and MACs (at least 3).
    #[arg(long, default_value_t = 12)]
    k: usize,
    /// Networks (presets or spec files) trained beside the samples.
    #[arg(long, value_delimiter = ',', value_name = "ARCH,…")]
    references: Vec<String>,
    /// A proxy, `NAME:key=value,…` over the search's default proxy (keys: data,
    /// images, epochs, batch, size, strides = adapt|keep), e.g. `e4:epochs=4`;
    /// repeat for several [default: the search's default proxy, named `default`].
    #[arg(long = "proxy", value_name = "NAME:SETTING")]
    proxies: Vec<String>,
    /// The target the proxies are held to, `key=value,…` [default: the full
    /// Fashion-MNIST when installed (else the embedded set), strides adapted, and
    /// enough epochs for 10x the compute of the dearest proxy].
    #[arg(long, value_name = "SETTING")]
    target: Option<String>,
    /// The Kendall τ a proxy must reach to be recommended.
    #[arg(long, default_value_t = 0.6, allow_hyphen_values = true)]
    min_tau: f64,
    /// Step-time measurement for the reward, as the search's: batch, side, steps.
    #[arg(long, default_value_t = 16)]
    step_batch: usize,
    #[arg(long, default_value_t = 128)]
    step_size: usize,
    #[arg(long, default_value_t = 3)]
    step_steps: usize,
    /// Network the reward's S and P are normalised by [default: the space's backbone].
    #[arg(long)]
    reference: Option<String>,
    /// Reward exponents of step time and parameters, as the search's.
    #[arg(long, default_value_t = -0.07, allow_hyphen_values = true)]
    w: f64,
    #[arg(long, default_value_t = -0.05, allow_hyphen_values = true)]
    v: f64,
    #[command(flatten)]
    seed: SeedArg,
    #[command(flatten)]
    device: DeviceArg,
    #[command(flatten)]
    ops: OpsArg,
    /// Run directory [default: runs/proxy-check-<time>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the check in --out: recorded trainings are kept, the rest run.
    #[arg(long, requires = "out")]
    resume: bool,
}

fn bad(e: impl std::fmt::Display) -> Failure {
    Failure::bad_input(e)
}

/// The proxies the flags name, or the search's default.
fn proxies(args: &ProxyCheckArgs) -> Result<Vec<ProxySetting>, Failure> {
    if args.proxies.is_empty() {
        return Ok(vec![ProxySetting::search_default("default")]);
    }
    args.proxies
        .iter()
        .map(|text| {
            let (name, setting) = text.split_once(':').unwrap_or((text.as_str(), ""));
            if name.is_empty() || name == "target" {
                return Err(bad(format!(
                    "--proxy `{text}`: a proxy needs a name of its own (NAME:SETTING)"
                )));
            }
            ProxySetting::parse(name, setting).map_err(|e| bad(format!("--proxy {e}")))
        })
        .collect()
}

/// Training images of a setting: its own count, or all of its data's.
fn image_count(setting: &ProxySetting) -> Result<usize, Failure> {
    let all = train::load_data(Some(&setting.data))
        .map_err(bad)?
        .train
        .len();
    Ok(setting.images.map_or(all, |n| n.min(all)))
}

/// A new plan from the flags, checked; `device` times the reward's reference.
fn new_plan(
    args: &ProxyCheckArgs,
    device: &candle_core::Device,
) -> Result<ProxyCheckPlan, Failure> {
    if args.k < 3 {
        return Err(bad(nas::proxy_check::PlanError::TooFew(args.k)));
    }
    if !(-1.0..=1.0).contains(&args.min_tau) {
        return Err(bad("--min-tau must be in [-1, 1]"));
    }
    if args.step_batch == 0 {
        return Err(bad("--step-batch must be at least 1"));
    }
    let space = load_space(&args.space)?;
    let mut networks =
        sample_spread(&space, args.k, args.step_size, args.seed.seed).map_err(bad)?;
    for name in &args.references {
        let spec = load_arch(name)?;
        networks.push(PlannedNetwork {
            reference: Some(spec.name.clone()),
            spec,
            choices: space::Choices::default(),
        });
    }
    let proxies = proxies(args)?;
    let mut images = std::collections::HashMap::new();
    for s in &proxies {
        images.insert(s.name.clone(), image_count(s)?);
    }
    let target = match &args.target {
        Some(text) => {
            ProxySetting::parse("target", text).map_err(|e| bad(format!("--target {e}")))?
        }
        None => default_target(&proxies, &networks, &images)?,
    };
    images.insert(target.name.clone(), image_count(&target)?);
    let reference = load_arch(args.reference.as_deref().unwrap_or(backbone_of(&space)))?;
    reference
        .check_image_size("--step-size", args.step_size)
        .map_err(bad)?;
    let timing = Timing {
        batch: args.step_batch,
        size: args.step_size,
        steps: args.step_steps.max(1),
        warmup: 1,
    };
    let plan = ProxyCheckPlan {
        space,
        k: args.k,
        seed: args.seed.seed,
        proxies,
        target,
        reward: Reward {
            w: args.w,
            v: args.v,
            reference_step_ms: f64::NAN,
            reference_params: reference.param_count(),
        },
        timing,
        networks,
    };
    plan.validate(&|s: &ProxySetting| images[&s.name])
        .map_err(bad)?;
    eprintln!(
        "timing the reference {} (batch {}, {} px)…",
        reference.name, plan.timing.batch, plan.timing.size
    );
    let steps = plan
        .timing
        .measure(&reference, plan.seed, device, args.ops.ops)
        .map_err(Failure::runtime)?;
    Ok(ProxyCheckPlan {
        reward: Reward {
            reference_step_ms: steps.median,
            ..plan.reward
        },
        ..plan
    })
}

/// The full Fashion-MNIST when installed (else the embedded set), strides
/// adapted, with the fewest epochs that give 10x the dearest proxy's compute.
fn default_target(
    proxies: &[ProxySetting],
    networks: &[PlannedNetwork],
    images: &std::collections::HashMap<String, usize>,
) -> Result<ProxySetting, Failure> {
    let installed = Path::new(train::data::FULL_FASHION_MNIST).is_dir();
    let mut target = ProxySetting {
        data: if installed {
            "fashion-mnist"
        } else {
            "embedded"
        }
        .into(),
        strides: SmallImages::DEFAULT,
        epochs: 1,
        ..ProxySetting::search_default("target")
    };
    let specs: Vec<space::ArchSpec> = networks.iter().map(|n| n.spec.clone()).collect();
    let dearest = proxies
        .iter()
        .map(|p| p.compute(&specs, images[&p.name]))
        .fold(0.0, f64::max);
    let per_epoch = target.compute(&specs, image_count(&target)?);
    target.epochs = ((10.0 * dearest / per_epoch).ceil() as usize).max(1);
    Ok(target)
}

/// The plan in `dir`: saved (with `--resume`), or new and saved.
fn open_plan(
    args: &ProxyCheckArgs,
    dir: &ProxyCheckDir,
    device: &candle_core::Device,
) -> Result<ProxyCheckPlan, Failure> {
    let saved = ProxyCheckPlan::load(dir).map_err(bad)?;
    match (saved, args.resume) {
        (Some(plan), true) => {
            eprintln!(
                "resuming the proxy check in {} with its saved plan",
                dir.root.display()
            );
            Ok(plan)
        }
        (None, true) => Err(bad(format!(
            "--resume: {} holds no proxy check",
            dir.root.display()
        ))),
        (Some(_), false) => Err(bad(format!(
            "{} already holds a proxy check; pass --resume to continue it or --out for a new one",
            dir.root.display()
        ))),
        (None, false) => {
            if std::fs::read_dir(&dir.root).is_ok_and(|mut d| d.next().is_some()) {
                return Err(bad(format!(
                    "{} is not empty and holds no proxy check; choose a new --out",
                    dir.root.display()
                )));
            }
            let plan = new_plan(args, device)?;
            std::fs::create_dir_all(&dir.root)
                .map_err(|e| Failure::runtime(format!("{}: {e}", dir.root.display())))?;
            plan.save(dir).map_err(Failure::runtime)?;
            Ok(plan)
        }
    }
}

pub fn run(args: ProxyCheckArgs) -> Result<(), Failure> {
    let device = args.device.open()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out("proxy-check"));
    let dir = ProxyCheckDir::new(&out);
    let plan = open_plan(&args, &dir, &device)?;
    eprintln!(
        "proxy check of `{}`: {} networks, {} prox{} and the target (search {}); run in {}",
        plan.space.name,
        plan.networks.len(),
        plan.proxies.len(),
        if plan.proxies.len() == 1 { "y" } else { "ies" },
        plan.target.search_flags().join(" "),
        out.display()
    );
    let bar = ProgressBar::new((plan.networks.len() * (plan.proxies.len() + 1)) as u64);
    bar.set_style(
        ProgressStyle::with_template("training {pos}/{len} [{bar:30}] {msg} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    run_proxy_check(
        &plan,
        &dir,
        &device,
        args.ops.ops,
        &mut |event| match event {
            CheckEvent::Timing { index, name } => {
                bar.set_message(format!("timing #{index} {name}"))
            }
            CheckEvent::Training {
                index,
                name,
                setting,
                done,
                ..
            } => {
                bar.set_position(done as u64);
                bar.set_message(format!("{setting}: #{index} {name}"));
            }
            CheckEvent::Trained(run) => bar.suspend(|| {
                eprintln!(
                    "{:<10} #{:<3} {}  ({:.0} s)",
                    run.setting,
                    run.network,
                    run.accuracy.map_or_else(
                        || format!("failed: {}", run.error.as_deref().unwrap_or("")),
                        |a| format!("accuracy {:.2}%", a * 100.0)
                    ),
                    run.seconds
                )
            }),
        },
    )
    .map_err(Failure::runtime)?;
    bar.finish_and_clear();

    let check = ProxyCheckRun::load(&out).map_err(Failure::runtime)?;
    let summaries = summarize(&check);
    print!("{}", summary_table(&summaries));
    recommend(&plan, &summaries, args.min_tau);
    super::report_cmd::write_after_run(&out);
    Ok(())
}

fn summary_table(summaries: &[ProxySummary]) -> String {
    let mut table = Table::new(&[
        "proxy",
        "setting",
        "n",
        "Kendall τ (90% CI)",
        "Spearman ρ (90% CI)",
        "top 3",
        "reward τ",
        "s/network",
    ]);
    for s in summaries {
        table.row(&[
            s.setting.clone(),
            s.description.clone(),
            s.networks.to_string(),
            with_interval(s.tau, s.tau_interval),
            with_interval(s.spearman, s.spearman_interval),
            format!("{}/3", s.top3),
            format!("{:.2}", s.reward_tau),
            format!("{:.0}", s.seconds),
        ]);
    }
    table.render()
}

/// Names the cheapest proxy that reaches `min_tau`, with the search flags that
/// select it, or says that none does.
fn recommend(plan: &ProxyCheckPlan, summaries: &[ProxySummary], min_tau: f64) {
    match cheapest_passing(summaries, min_tau) {
        Some(best) => {
            let setting = plan
                .proxies
                .iter()
                .find(|p| p.name == best.setting)
                .expect("summaries are of the plan's proxies");
            println!(
                "\ncheapest proxy with τ ≥ {min_tau}: {} (τ {:.2}, {:.0} s per network)\n  search {}",
                best.setting,
                best.tau,
                best.seconds,
                setting.search_flags().join(" ")
            );
        }
        None => {
            let best = summaries
                .iter()
                .filter(|s| s.tau.is_finite())
                .max_by(|a, b| a.tau.total_cmp(&b.tau));
            match best {
                Some(b) => println!(
                    "\nno proxy reaches τ ≥ {min_tau}; the best is {} with τ {:.2}",
                    b.setting, b.tau
                ),
                None => println!("\nno proxy has a τ yet: the trainings are not complete"),
            }
        }
    }
}
