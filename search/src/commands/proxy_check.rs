//! `search proxy-check`: how well a cheap proxy training ranks networks the way a
//! long target training does, and the cheapest proxy that ranks well enough.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nas::proxy_check::{
    CheckEvent, PlannedNetwork, ProxyCheckPlan, ProxySetting, check_settings, run_proxy_check,
    sample_spread,
};
use records::ProxyCheckDir;
use reports::ProxyCheckRun;
use reports::proxy_report::{
    ProxySummary, Recipe, cheapest_passing, recipes, summarize, summary_table,
};
use space::SmallImages;

use crate::failure::Failure;
use crate::flags::{ComputeArgs, RewardArgs, default_out, finite, refuse_used_out, run_dir};
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
    /// Sample only networks of at most this many multiply-accumulates (billions) at
    /// --step-size: keeps a check to the networks a search would train, and its
    /// cost within reach.
    #[arg(long, value_name = "GMACS", value_parser = finite)]
    max_gmacs: Option<f64>,
    /// Networks (presets or spec files) trained beside the samples.
    #[arg(long, value_delimiter = ',', value_name = "ARCH,…")]
    references: Vec<String>,
    /// A proxy, `NAME:key=value,…` over the search's default proxy (keys: data,
    /// images, epochs, batch, size, strides = adapt|keep, seed = a salt for the
    /// training seed), e.g. `e4:epochs=4`; `again:seed=1` repeats the default
    /// under other seeds, the ranking's own noise; repeat for several [default:
    /// the search's default proxy, named `default`].
    #[arg(long = "proxy", value_name = "NAME:SETTING")]
    proxies: Vec<String>,
    /// The target the proxies are held to, `key=value,…` [default: the full
    /// Fashion-MNIST when installed (else the embedded set), strides adapted, and
    /// enough epochs for 10x the compute of the dearest proxy].
    #[arg(long, value_name = "SETTING")]
    target: Option<String>,
    /// The Kendall τ a proxy must reach to be recommended.
    #[arg(long, default_value_t = 0.6, allow_hyphen_values = true, value_parser = finite)]
    min_tau: f64,
    /// The search's reward, for the reward's τ.
    #[command(flatten)]
    reward: RewardArgs,
    #[command(flatten)]
    compute: ComputeArgs,
    /// Run directory [default: runs/proxy-check-<time>].
    #[arg(long, value_parser = run_dir)]
    out: Option<PathBuf>,
    /// Continue the check in --out with its saved plan: recorded trainings are
    /// kept, the rest run; a --proxy the plan lacks is added to it (and trained
    /// against the same target).
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

/// Each data set's number of training images, loaded once.
#[derive(Default)]
struct DataSizes(HashMap<String, usize>);

impl DataSizes {
    /// Training images of a setting: its own count, or all of its data's.
    fn images(&mut self, setting: &ProxySetting) -> Result<usize, Failure> {
        let all = match self.0.get(&setting.data) {
            Some(&n) => n,
            None => {
                let n = train::load_data(Some(&setting.data))
                    .map_err(bad)?
                    .train
                    .len();
                self.0.insert(setting.data.clone(), n);
                n
            }
        };
        Ok(setting.images.map_or(all, |n| n.min(all)))
    }

    /// Checks a check's settings (`check_settings`: distinct names, a target
    /// dearer than every proxy), each with its training images.
    fn check(
        &mut self,
        proxies: &[ProxySetting],
        target: &ProxySetting,
        networks: &[PlannedNetwork],
    ) -> Result<(), Failure> {
        let images = proxies
            .iter()
            .chain([target])
            .map(|s| Ok((s.name.clone(), self.images(s)?)))
            .collect::<Result<HashMap<String, usize>, Failure>>()?;
        check_settings(proxies, target, networks, &|s: &ProxySetting| {
            images[&s.name]
        })
        .map_err(bad)
    }
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
    let space = load_space(&args.space)?;
    let basis = args.reward.basis(&space)?;
    let max_macs = match args.max_gmacs {
        Some(g) if !(g.is_finite() && g > 0.0) => {
            return Err(bad("--max-gmacs must be a positive number"));
        }
        g => g.map(|g| (g * 1e9) as u64),
    };
    let mut networks = sample_spread(
        &space,
        args.k,
        basis.timing.size,
        max_macs,
        args.compute.seed(),
    )
    .map_err(bad)?;
    for name in &args.references {
        let spec = load_arch(name)?;
        networks.push(PlannedNetwork {
            reference: Some(spec.name.clone()),
            spec,
            choices: space::Choices::default(),
        });
    }
    let proxies = proxies(args)?;
    let mut sizes = DataSizes::default();
    let target = match &args.target {
        Some(text) => {
            ProxySetting::parse("target", text).map_err(|e| bad(format!("--target {e}")))?
        }
        None => default_target(&proxies, &networks, &mut sizes)?,
    };
    sizes.check(&proxies, &target, &networks)?;
    Ok(ProxyCheckPlan {
        reward: basis.measure(args.compute.seed(), device, args.compute.ops())?,
        timing: basis.timing,
        space,
        k: args.k,
        max_macs,
        seed: args.compute.seed(),
        proxies,
        target,
        networks,
    })
}

/// The full Fashion-MNIST when installed (else the embedded set), strides
/// adapted, with the fewest epochs that give 10x the dearest proxy's compute.
fn default_target(
    proxies: &[ProxySetting],
    networks: &[PlannedNetwork],
    sizes: &mut DataSizes,
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
        .map(|p| Ok(p.compute(&specs, sizes.images(p)?)))
        .collect::<Result<Vec<f64>, Failure>>()?
        .into_iter()
        .fold(0.0, f64::max);
    let per_epoch = target.compute(&specs, sizes.images(&target)?);
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
            add_proxies(args, plan, dir)
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
            refuse_used_out(&dir.root, "proxy check")?;
            let plan = new_plan(args, device)?;
            std::fs::create_dir_all(&dir.root)
                .map_err(|e| Failure::runtime(format!("{}: {e}", dir.root.display())))?;
            plan.save(dir).map_err(Failure::runtime)?;
            Ok(plan)
        }
    }
}

/// `--proxy` settings given with `--resume` that the saved plan lacks join it, so a
/// new proxy is held to a target already trained; the rest of the flags are the
/// saved plan's.
fn add_proxies(
    args: &ProxyCheckArgs,
    mut plan: ProxyCheckPlan,
    dir: &ProxyCheckDir,
) -> Result<ProxyCheckPlan, Failure> {
    if args.proxies.is_empty() {
        return Ok(plan);
    }
    let mut added = Vec::new();
    for setting in proxies(args)? {
        match plan.proxies.iter().find(|p| p.name == setting.name) {
            Some(saved) if *saved == setting => {}
            Some(_) => {
                return Err(bad(format!(
                    "--proxy {}: the check already has a different proxy of that name",
                    setting.name
                )));
            }
            None => added.push(setting),
        }
    }
    if added.is_empty() {
        return Ok(plan);
    }
    plan.proxies.extend(added.iter().cloned());
    DataSizes::default().check(&plan.proxies, &plan.target, &plan.networks)?;
    plan.save(dir).map_err(Failure::runtime)?;
    let names: Vec<&str> = added.iter().map(|s| s.name.as_str()).collect();
    eprintln!("added to the check: {}", names.join(", "));
    Ok(plan)
}

pub fn run(args: ProxyCheckArgs) -> Result<(), Failure> {
    let device = args.compute.device.open()?;
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
        args.compute.ops(),
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
    print!("{}", render_summaries(&summaries));
    recommend(&plan, &summaries, args.min_tau);
    super::report_cmd::write_after_run(&out);
    Ok(())
}

fn render_summaries(summaries: &[ProxySummary]) -> String {
    let (header, rows) = summary_table(summaries);
    let mut table = Table::new(&header);
    for row in rows {
        table.row(&row);
    }
    table.render()
}

/// Names the cheapest proxy that reaches `min_tau` (its τ averaged over the
/// seeds it was trained under), with the search flags that select it, or says
/// that none does.
fn recommend(plan: &ProxyCheckPlan, summaries: &[ProxySummary], min_tau: f64) {
    let seeds = |r: &Recipe| match r.seeds {
        1 => String::new(),
        n => format!(", the mean of {n} seeds"),
    };
    match cheapest_passing(summaries, min_tau) {
        Some(best) => {
            let setting = plan
                .proxies
                .iter()
                .find(|p| p.name == best.first.setting)
                .expect("summaries are of the plan's proxies");
            println!(
                "\ncheapest proxy with τ ≥ {min_tau}: {} (τ {:.2}{}, {:.0} s per network)\n  search {}",
                best.first.setting,
                best.tau,
                seeds(&best),
                best.seconds,
                setting.search_flags().join(" ")
            );
        }
        None => match recipes(summaries)
            .into_iter()
            .max_by(|a, b| a.tau.total_cmp(&b.tau))
        {
            Some(b) => println!(
                "\nno proxy reaches τ ≥ {min_tau}; the best is {} with τ {:.2}{}",
                b.first.setting,
                b.tau,
                seeds(&b)
            ),
            None => println!("\nno proxy has a τ yet: the trainings are not complete"),
        },
    }
}
