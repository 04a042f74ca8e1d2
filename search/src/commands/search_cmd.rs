//! The default action: a training-aware search, kept in a run directory or, with
//! `--store`, in PostgreSQL where `search worker`s on other machines join it.

use super::report_cmd::LiveReport;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nas::references::evaluate_references;
use nas::store::{PgStore, RunDirStore, TrialStore};
use nas::worker::{WorkerEvent, run_worker};
use nas::{EvaluatorConfig, Limits, SearchConfig, SearchEvent, Sharing, StrategyKind};
use records::{Trial, TrialStatus};
use serde_json::json;
use space::{ArchSpec, SmallImages};
use train::config::{PROXY_BATCH, PROXY_EPOCHS, PROXY_SIZE, PROXY_STRIDES};
use train::{Splits, TrainConfig};

use super::print_json;
use crate::failure::Failure;
use crate::flags::{ComputeArgs, DataArg, RewardArgs, default_out, finite, run_dir};
use crate::inputs::{load_arch, load_space};
use crate::table::{Table, si, thousands};

#[derive(Args)]
pub struct SearchArgs {
    /// Candidates to start, counting those of a resumed run [default: 8]; with
    /// --resume, the new total (a lower one stops the search where it is). Every
    /// candidate counts, however far it trains: with successive halving most stop
    /// after the first rung, and promotions are not counted.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    budget: Option<u64>,
    /// Stop starting trials after this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = finite)]
    time_budget: Option<f64>,
    /// A built-in space (paper, efficientnetv2-s) or a search-space JSON file.
    #[arg(long, default_value = "paper")]
    space: String,
    /// How candidates are chosen. Evolution's population is half the budget, at
    /// most 16 (at least 2), and its tournament a quarter of that (at least 2), so
    /// that a small search evolves too; `pareto` is the same evolution with
    /// tournaments won by non-dominated front and crowding over accuracy, step
    /// time and parameters instead of the reward.
    #[arg(long, value_enum, default_value = "evolution")]
    strategy: StrategyKind,
    /// Successive halving: the proxy training is split into this many
    /// progressive-learning stages (the rungs), from --rung-min-size up to
    /// --proxy-size, and a candidate trains the next stage, from its checkpoint,
    /// only if it ranks in the top 1/--eta of the candidates that finished its
    /// rung (asynchronously, as in ASHA). 1: every candidate trains the whole
    /// proxy at --proxy-size. At most --proxy-epochs [default: 2, or 1 with
    /// --proxy-epochs 1]. In a search shared through --store, a candidate's
    /// training between rungs is kept in the database, so any worker continues it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rungs: Option<u64>,
    /// Successive halving's reduction factor: the top 1/η of a rung rise.
    #[arg(long, default_value_t = nas::halving::DEFAULT_ETA as u64, value_parser = clap::value_parser!(u64).range(2..))]
    eta: u64,
    /// The image side of the first rung [default: three quarters of --proxy-size,
    /// 24 px; a network of total stride 32, as the `paper` space's are, needs at
    /// least 17 px as designed].
    #[arg(long, value_name = "PIXELS")]
    rung_min_size: Option<usize>,
    /// Candidates whose median training step (measured before any training) is
    /// slower than this are infeasible: recorded, never trained.
    #[arg(long, value_name = "MS", value_parser = finite)]
    max_step_ms: Option<f64>,
    /// Candidates with more parameters than this are infeasible: recorded, never
    /// trained.
    #[arg(long, value_name = "N")]
    max_params: Option<u64>,
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    compute: ComputeArgs,
    /// Run directory [default: runs/search-<time>].
    #[arg(long, value_parser = run_dir)]
    out: Option<PathBuf>,
    /// Continue the search in --out (or --store's --run) with its saved settings.
    #[arg(long)]
    resume: bool,
    /// Keep the search in PostgreSQL instead of a run directory, so that `search
    /// worker` processes on other machines can join it: `postgres://user:pw@host/db`.
    #[arg(long, value_name = "URL", requires = "run", conflicts_with = "out")]
    store: Option<String>,
    /// The search's name in --store.
    #[arg(long, value_name = "NAME", requires = "store")]
    run: Option<String>,
    /// With --store: seconds between a worker's heartbeats while it evaluates.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = finite)]
    heartbeat: f64,
    /// With --store: a trial whose worker has not heartbeaten for this long goes back
    /// to pending.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS", value_parser = finite)]
    grace: f64,
    /// With --store: claims of one trial before it is marked failed.
    #[arg(long, default_value_t = 3)]
    max_attempts: i32,
    /// Candidates evaluated at once, each on its share of the CPU threads and on the
    /// next of the --device list in turn [default: one per device].
    #[arg(long)]
    workers: Option<usize>,
    /// Proxy training: epochs, batch and image side.
    #[arg(long, default_value_t = PROXY_EPOCHS)]
    proxy_epochs: usize,
    #[arg(long, default_value_t = PROXY_BATCH)]
    proxy_batch: usize,
    #[arg(long, default_value_t = PROXY_SIZE)]
    proxy_size: usize,
    /// Proxy training uses N training images of --data, spread over the set
    /// [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    proxy_images: Option<u64>,
    /// How the proxy trains networks designed for larger images: `adapt` sets
    /// strides to 1 (the stem's first, then the first stride-2 stages) until the
    /// last feature maps are at least 2x2; `keep` trains them as designed. Step
    /// time is always measured as designed.
    #[arg(long, default_value_t = PROXY_STRIDES, value_name = "adapt|keep")]
    proxy_strides: SmallImages,
    #[command(flatten)]
    reward: RewardArgs,
    /// Skip candidates whose estimated training memory exceeds this.
    #[arg(long, default_value_t = 8.0, value_name = "GIB", value_parser = finite)]
    memory_cap: f64,
    /// Networks (presets or spec files) to evaluate the same way, for comparison
    /// in the report, e.g. efficientnet-b0,efficientnetv2-b0,efficientnetv2-s;
    /// they use no budget.
    #[arg(long, value_delimiter = ',', value_name = "ARCH,…")]
    references: Vec<String>,
    /// Print the final summary as JSON.
    #[arg(long)]
    json: bool,
}

const DEFAULT_BUDGET: u64 = 8;
/// Rungs of a local search unless told otherwise (a shared search has one).
const DEFAULT_RUNGS: u64 = 2;

/// Reads `search` flags given as words (as another command composes them).
pub fn parse_args(flags: &[String]) -> Result<SearchArgs, Failure> {
    use clap::{FromArgMatches, Parser};
    #[derive(Parser)]
    #[command(name = "search")]
    struct Flags {
        #[command(flatten)]
        search: SearchArgs,
    }
    let words = std::iter::once("search".to_string()).chain(flags.iter().cloned());
    let matches = <Flags as clap::CommandFactory>::command()
        .try_get_matches_from(words)
        .map_err(|e| bad(e.to_string().trim_end()))?;
    Flags::from_arg_matches(&matches)
        .map(|f| f.search)
        .map_err(|e| bad(e.to_string().trim_end()))
}

fn bad(e: impl Display) -> Failure {
    Failure::bad_input(e)
}

/// The settings of a new search run by `workers` workers, with the reference
/// network timed on `device`.
fn new_config(
    args: &SearchArgs,
    device: &candle_core::Device,
    workers: usize,
) -> Result<SearchConfig, Failure> {
    let space = load_space(&args.space)?;
    let basis = args.reward.basis(&space)?;
    for name in &args.references {
        load_arch(name)?;
    }
    for (what, v) in [
        ("--proxy-epochs", args.proxy_epochs),
        ("--proxy-batch", args.proxy_batch),
    ] {
        if v == 0 {
            return Err(bad(format!("{what} must be at least 1")));
        }
    }
    if !(args.heartbeat > 0.0 && args.grace > args.heartbeat) || args.max_attempts < 1 {
        return Err(bad(
            "--heartbeat must be positive, --grace longer than it and --max-attempts at least 1",
        ));
    }
    if args.memory_cap.is_nan() || args.memory_cap <= 0.0 {
        return Err(bad("--memory-cap must be positive"));
    }
    if let Some(t) = args.time_budget
        && !(t.is_finite() && t > 0.0)
    {
        return Err(bad(format!(
            "--time-budget must be a positive number of seconds, not {t}"
        )));
    }
    if let Some(ms) = args.max_step_ms
        && !(ms.is_finite() && ms > 0.0)
    {
        return Err(bad(format!(
            "--max-step-ms must be a positive number, not {ms}"
        )));
    }
    let rungs = rungs(args) as usize;
    if rungs > args.proxy_epochs {
        return Err(bad(format!(
            "--rungs {rungs} needs at least as many --proxy-epochs (each rung trains at least one epoch; --proxy-epochs is {})",
            args.proxy_epochs
        )));
    }
    let min_size = args.rung_min_size.unwrap_or(args.proxy_size * 3 / 4);
    if rungs > 1 && !(1..=args.proxy_size).contains(&min_size) {
        return Err(bad(format!(
            "--rung-min-size {min_size} must be between 1 and --proxy-size ({})",
            args.proxy_size
        )));
    }
    let proxy = TrainConfig::proxy(
        args.proxy_epochs,
        args.proxy_batch,
        args.proxy_size,
        args.proxy_strides,
    )
    .in_rungs(rungs, min_size);
    proxy.validate().map_err(bad)?;
    let reward = basis.measure(args.compute.seed(), device, args.compute.ops())?;
    Ok(SearchConfig {
        space,
        strategy: args.strategy,
        budget: args.budget.unwrap_or(DEFAULT_BUDGET) as usize,
        time_budget_s: args.time_budget,
        seed: args.compute.seed(),
        data: args.data.data.clone(),
        proxy_images: args.proxy_images.map(|n| n as usize),
        reference: basis.name,
        evaluator: EvaluatorConfig {
            timing: basis.timing,
            memory_cap_bytes: (args.memory_cap * (1u64 << 30) as f64) as u64,
            proxy,
            reward,
            limits: Limits {
                max_step_ms: args.max_step_ms,
                max_params: args.max_params,
            },
        },
        workers,
        references: args.references.clone(),
        sharing: Sharing {
            heartbeat_s: args.heartbeat,
            grace_s: args.grace,
            max_attempts: args.max_attempts,
        },
        eta: args.eta as usize,
    })
}

/// The number of rungs: as asked, or by default several (at most one an epoch).
fn rungs(args: &SearchArgs) -> u64 {
    args.rungs
        .unwrap_or(DEFAULT_RUNGS.min(args.proxy_epochs as u64))
}

/// Where a search is kept, for what the messages call it.
enum Place<'a> {
    Dir(&'a Path),
    Database(&'a str),
}

impl Place<'_> {
    fn config(&self) -> String {
        match self {
            Place::Dir(out) => format!("{}/config.json", out.display()),
            Place::Database(name) => format!("the search `{name}`'s configuration"),
        }
    }

    fn missing(&self) -> String {
        match self {
            Place::Dir(out) => format!("--resume: {} holds no search", out.display()),
            Place::Database(name) => format!("the database holds no search named `{name}`"),
        }
    }

    fn occupied(&self) -> String {
        match self {
            Place::Dir(out) => format!(
                "{} already holds a search; pass --resume to continue it or --out for a new one",
                out.display()
            ),
            Place::Database(name) => format!(
                "the database already holds a search named `{name}`; pass --resume to join it"
            ),
        }
    }
}

/// A saved configuration, or why it cannot be read.
fn parse_config(value: serde_json::Value, place: &Place) -> Result<SearchConfig, Failure> {
    serde_json::from_value(value).map_err(|e| bad(format!("{}: {e}", place.config())))
}

/// The settings of the search shared under `name` (for the processes that join it).
pub fn saved_shared_config(store: &PgStore, name: &str) -> Result<SearchConfig, Failure> {
    let saved = store.config().map_err(Failure::store)?;
    let saved = saved.ok_or_else(|| bad(format!("the search `{name}` has no configuration")))?;
    parse_config(saved, &Place::Database(name))
}

/// The search's settings: new from the flags (saved in `store`), or with
/// `--resume` the saved ones, with `--budget` as the new total.
fn settle_config(
    store: &mut dyn TrialStore,
    args: &SearchArgs,
    devices: &[candle_core::Device],
    place: &Place,
) -> Result<SearchConfig, Failure> {
    let saved = store.config().map_err(Failure::store)?;
    let mut config = match (saved, args.resume) {
        (Some(saved), true) => parse_config(saved, place)?,
        (None, true) => return Err(bad(place.missing())),
        (Some(_), false) => return Err(bad(place.occupied())),
        (None, false) => {
            let config = new_config(args, &devices[0], devices.len())?;
            save_config(store, &config)?;
            return Ok(config);
        }
    };
    if let Some(budget) = args.budget
        && budget as usize != config.budget
    {
        config.budget = budget as usize;
        save_config(store, &config)?;
    }
    Ok(config)
}

fn save_config(store: &mut dyn TrialStore, config: &SearchConfig) -> Result<(), Failure> {
    let value = serde_json::to_value(config).expect("configurations serialise");
    store.save_config(&value).map_err(Failure::runtime)
}

/// The reference networks the search names that the store does not hold yet,
/// resolved (those already evaluated are not looked up again, so a resumed search
/// needs no files of theirs).
fn pending_references(
    store: &dyn TrialStore,
    config: &SearchConfig,
) -> Result<Vec<(String, ArchSpec)>, Failure> {
    let done = store.references().map_err(Failure::store)?.len();
    config
        .references
        .iter()
        .skip(done)
        .map(|name| {
            let spec = load_arch(name).map_err(Failure::runtime)?;
            Ok((name.clone(), spec))
        })
        .collect()
}

fn load_splits(config: &SearchConfig) -> Result<Splits, Failure> {
    config.load_data().map_err(bad)
}

pub fn run(args: SearchArgs) -> Result<(), Failure> {
    // Workers belong to this process and its devices, not to the search: one device
    // handle each (see `open_for_workers`).
    let workers = args.workers.unwrap_or(args.compute.device.count());
    if workers == 0 {
        return Err(bad("--workers must be at least 1"));
    }
    let devices = args.compute.device.open_for_workers(workers)?;
    if let (Some(url), Some(name)) = (&args.store, &args.run) {
        return run_shared(&args, url, name, &devices);
    }
    if args.resume && args.out.is_none() {
        return Err(bad("--resume needs --out (or --store and --run)"));
    }
    let out = args.out.clone().unwrap_or_else(|| default_out("search"));
    let mut store = RunDirStore::open(&out).map_err(Failure::store)?;
    let mut config = settle_config(&mut store, &args, &devices, &Place::Dir(&out))?;
    if args.resume {
        eprintln!(
            "resuming the search in {} with its saved settings",
            out.display()
        );
    }
    config.workers = workers;
    let splits = load_splits(&config)?;
    eprintln!(
        "searching space `{}` ({:.2e} points) with {:?}, budget {} trials, proxy data: {}; run in {}",
        config.space.name,
        config.space.cardinality() as f64,
        config.strategy,
        config.budget,
        splits.description,
        out.display()
    );
    let pending = pending_references(&store, &config)?;
    let references = evaluate_references(
        &mut store,
        &config,
        &pending,
        &splits,
        &devices[0],
        args.compute.ops(),
        &mut |name| eprintln!("evaluating the reference network {name}…"),
    )
    .map_err(Failure::runtime)?;
    for t in &references {
        eprintln!("reference {}", line(t, config.rungs()));
    }
    let live = LiveReport::start(&out);
    let trials = search_with_progress(
        &mut store,
        &config,
        &splits,
        &devices,
        args.compute.ops(),
        &live,
    )?;
    summarize(&trials, &config, &out, args.json);
    live.finish();
    Ok(())
}

/// Runs the search with a progress bar, a log line per trial and the report
/// rewritten after each.
fn search_with_progress(
    store: &mut RunDirStore,
    config: &SearchConfig,
    splits: &Splits,
    devices: &[candle_core::Device],
    ops: models::ops::OpSet,
    live: &LiveReport,
) -> Result<Vec<Trial>, Failure> {
    let bar = ProgressBar::new(config.budget as u64);
    bar.set_style(
        ProgressStyle::with_template("trial {pos}/{len} [{bar:30}] {msg} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let rungs = config.rungs();
    // The best reward among the candidates that reached the most rungs so far.
    let best = std::sync::Mutex::new((0usize, f64::NAN));
    let best_reward = |t: &Trial| {
        let mut b = best.lock().expect("not poisoned");
        if let Some(r) = t.reward
            && r.is_finite()
            && (t.rungs.len(), r) > *b
        {
            *b = (t.rungs.len(), r);
        }
        if b.1.is_nan() {
            "—".to_string()
        } else {
            format!("{:.4}", b.1)
        }
    };
    let trials = nas::run_search(store, config, splits, devices, ops, &|event| match event {
        SearchEvent::Started { done, .. } => bar.set_position(done as u64),
        SearchEvent::TrialStarted { id, name } => {
            bar.set_message(format!("evaluating #{id} {name}"))
        }
        SearchEvent::TrialFinished(t) => {
            bar.inc(1);
            bar.suspend(|| eprintln!("{}", line(t, rungs)));
            bar.set_message(format!("best reward {}", best_reward(t)));
            live.update();
        }
        SearchEvent::Promoted { id, rung } => {
            bar.set_message(format!("#{id} rises to rung {}/{rungs}", rung + 1))
        }
        SearchEvent::RungFinished(t) => {
            bar.suspend(|| eprintln!("{}", line(t, rungs)));
            bar.set_message(format!("best reward {}", best_reward(t)));
            live.update();
        }
    })
    .map_err(Failure::runtime)?;
    bar.finish_and_clear();
    Ok(trials)
}

/// What a worker of a shared search says of `event` (`rungs`: of the search).
pub(crate) fn worker_line(event: &WorkerEvent, rungs: usize) -> String {
    match event {
        WorkerEvent::Started(p, attempt) => {
            format!("evaluating #{} {} (attempt {attempt})", p.id, p.spec.name)
        }
        WorkerEvent::Promoted(t, rung, attempt) => format!(
            "#{} rises to rung {}/{rungs} (attempt {attempt})",
            t.id,
            rung + 1
        ),
        WorkerEvent::Finished(t) => line(t, rungs),
        WorkerEvent::Lost(id) => format!("#{id} was given to another worker meanwhile"),
    }
}

/// One trial as a log line (`rungs`: of the search).
fn line(t: &Trial, rungs: usize) -> String {
    match t.status {
        TrialStatus::Done => format!(
            "#{:<3} acc {:.2}%  step {:.0} ms  {} params  reward {:.4}  ({:.0} s)  {}{}",
            t.id,
            t.accuracy.unwrap_or(0.0) * 100.0,
            t.step_median().unwrap_or(0.0),
            si(t.params),
            t.reward.unwrap_or(0.0),
            t.total_s,
            t.spec.name,
            if rungs > 1 {
                let size = t.rungs.last().map_or(0, |r| r.size);
                format!("  [rung {}/{rungs}, {size} px]", t.rungs.len())
            } else {
                String::new()
            }
        ),
        status => format!(
            "#{:<3} {}: {}",
            t.id,
            status.name(),
            t.error.as_deref().unwrap_or("")
        ),
    }
}

fn summarize(trials: &[Trial], config: &SearchConfig, out: &Path, json: bool) {
    let rungs = config.rungs();
    let reward = &config.evaluator.reward;
    let hypervolume = reports::plots::hypervolume_so_far(
        trials,
        (reward.reference_step_ms, reward.reference_params as f64),
    )
    .last()
    .map(|p| p.1);
    let mut done: Vec<&Trial> = trials.iter().filter(|t| t.reward.is_some()).collect();
    // As `best` ranks: those that reached the most rungs first, then by reward.
    done.sort_by(|a, b| records::trial::standing(b, a));
    let front = reports::table::front_trials(trials, &reports::table::ACC_TIME);
    let savings = records::trial::savings(trials, rungs);
    if json {
        print_json(&json!({
            "run": out,
            "trials": trials.len(),
            "done": done.len(),
            "best": done.first().map(|t| json!({"id": t.id, "reward": t.reward, "accuracy": t.accuracy,
                "step_ms": t.step_median(), "params": t.params, "blocks": t.spec.blocks(),
                "rungs": t.rungs.len()})),
            "pareto": front.iter().map(|t| t.id).collect::<Vec<_>>(),
            "hypervolume": hypervolume,
            "rungs": {"reached": savings.reached, "train_s": savings.spent_s,
                "train_s_without_halving": savings.full_s},
        }));
        return;
    }
    let count = |s: TrialStatus| trials.iter().filter(|t| t.status == s).count();
    println!(
        "\n{} candidates: {} trained, {} skipped (memory), {} infeasible (limits), {} failed. Run directory: {}",
        trials.len(),
        done.len(),
        count(TrialStatus::Skipped),
        count(TrialStatus::Infeasible),
        count(TrialStatus::Failed),
        out.display()
    );
    if rungs > 1 && savings.spent_s > 0.0 {
        println!(
            "successive halving: {} reached rungs 1..{rungs}; {:.0} s of proxy training instead of about {:.0} s without halving",
            savings
                .reached
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(" / "),
            savings.spent_s,
            savings.full_s
        );
    }
    if let Some(hv) = hypervolume {
        println!(
            "hypervolume of the front: {:.2}% of the box to (0% accuracy, 2 S₀, 4 P₀)",
            hv * 100.0
        );
    }
    let mut table = Table::new(&[
        "rank", "trial", "rungs", "reward", "accuracy", "step ms", "params", "MACs", "pareto",
    ]);
    for (rank, t) in done.iter().take(10).enumerate() {
        table.row(&[
            (rank + 1).to_string(),
            format!("#{}", t.id),
            format!("{}/{rungs}", t.rungs.len().max(1)),
            format!("{:.4}", t.reward.unwrap_or(0.0)),
            format!("{:.2}%", t.accuracy.unwrap_or(0.0) * 100.0),
            format!("{:.0}", t.step_median().unwrap_or(0.0)),
            thousands(t.params),
            si(t.macs),
            if front.iter().any(|f| f.id == t.id) {
                "*".into()
            } else {
                String::new()
            },
        ]);
    }
    print!("{}", table.render());
    if let Some(best) = done.first() {
        println!("\nbest: trial #{} ({})", best.id, best.spec.name);
        for block in best.spec.blocks() {
            println!("  {block}");
        }
        println!(
            "spec: {}/best.json (or `search export {} best`)",
            out.display(),
            out.display()
        );
    }
}

/// A search kept in PostgreSQL: created (or, with --resume, joined) under its name,
/// its references evaluated, then this process works on it like any `search worker`.
fn run_shared(
    args: &SearchArgs,
    url: &str,
    name: &str,
    devices: &[candle_core::Device],
) -> Result<(), Failure> {
    let device = &devices[0];
    let mut store = PgStore::open(url, name, args.resume).map_err(bad)?;
    let config = settle_config(&mut store, args, devices, &Place::Database(name))?;
    let splits = load_splits(&config)?;
    eprintln!(
        "search `{name}` in {} ({:?}, budget {}); more workers: search worker --store URL --run {name}",
        nas::store::postgres::redact(url),
        config.strategy,
        config.budget
    );
    let pending = pending_references(&store, &config)?;
    evaluate_references(
        &mut store,
        &config,
        &pending,
        &splits,
        device,
        args.compute.ops(),
        &mut |reference| eprintln!("evaluating the reference network {reference}…"),
    )
    .map_err(Failure::runtime)?;
    let worker = format!("{name}-starter-{}", std::process::id());
    run_worker(
        &mut store,
        &worker,
        &config,
        &splits,
        device,
        args.compute.ops(),
        &|event| eprintln!("{}", worker_line(&event, config.rungs())),
    )
    .map_err(Failure::runtime)?;
    let trials = store.trials().map_err(Failure::runtime)?;
    let done = trials.iter().filter(|t| t.is_done()).count();
    eprintln!(
        "search `{name}` complete: {} trials, {done} done",
        trials.len()
    );
    Ok(())
}
