//! `search`: the effnas command line. Without a subcommand it runs a search.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod failure;
mod flags;
mod inputs;
mod table;

use commands::{
    arch, bench_op, bench_step, bench_strategies, check_ops, coordinate, export, proxy_check, pull,
    report_cmd, reproduce, scale, search_cmd, space_cmd, train, worker,
};

/// Training-aware neural architecture search for EfficientNetV2-style networks.
///
/// Without a subcommand, `search` runs a search: candidates from a space are
/// timed (training step time at a target size), trained briefly on proxy data,
/// and rewarded by accuracy · step-time^-0.07 · params^-0.05. `search train`
/// trains one network; `search arch show efficientnetv2-s` inspects one; `search
/// scale` grows one into a family; `search space show paper --json` gives an
/// editable search-space file.
#[derive(Parser)]
#[command(name = "search", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    search: search_cmd::SearchArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect architectures: stage tables, parameters, MACs, memory.
    #[command(subcommand)]
    Arch(arch::ArchCommand),
    /// Time full training steps (forward, loss, backward, RMSProp update) of a network.
    BenchStep(bench_step::BenchStepArgs),
    /// Compare the search strategies on NAS-Bench-201's table (15,625 cells trained in
    /// advance) against a simulated clock: many seeds each, in seconds. Reports the
    /// accuracy of the cell each search returns over simulated time, regret,
    /// hypervolume, and how the reward's exponents move the table's best cell.
    BenchStrategies(bench_strategies::BenchStrategiesArgs),
    /// Time one operation forward and backward (the flags of `timm_step.py --op`).
    BenchOp(bench_op::BenchOpArgs),
    /// Check our operations on a device (a GPU) against the CPU: convolutions forward
    /// and backward, and a network's training pass. On `--device cpu` it holds the
    /// GPU's formulation of dense convolution (unfold + matmul) to our CPU op.
    CheckOps(check_ops::CheckOpsArgs),
    /// Keep a search shared through PostgreSQL supplied with proposals (needed by
    /// `--strategy reinforce`; optional for the others, whose workers propose).
    Coordinate(coordinate::CoordinateArgs),
    /// Write a search trial's architecture (or a preset's) as a spec file, or as a Python
    /// file that builds it with timm (`--format timm`).
    Export(export::ExportArgs),
    /// Write the HTML and Markdown report of a search, training run, reproduction or
    /// proxy check (plots, Pareto fronts, tables as CSV and Parquet) to <RUN>/report/.
    Report(report_cmd::ReportArgs),
    /// How well a cheap proxy training ranks networks the way a long one does:
    /// samples networks from a space, trains each under every proxy and under a
    /// target, and reports Kendall τ and Spearman ρ (with bootstrap intervals), the
    /// top 3 in common, the reward's τ and each proxy's cost; names the cheapest
    /// proxy that reaches --min-tau, with the search flags that select it.
    ProxyCheck(proxy_check::ProxyCheckArgs),
    /// Copy a search kept in PostgreSQL into a run directory (for `search report`).
    Pull(pull::PullArgs),
    /// Reproduce the paper's findings on this machine: Table 2 and 3 analogs, a
    /// search with the paper's reward, the found network against EfficientNetV2-S
    /// and its S/M/L family, as one report (`--quick`: miniatures, in a minute).
    Reproduce(reproduce::ReproduceArgs),
    /// Scale a base network in width, depth and resolution, or into an S/M/L family.
    Scale(scale::ScaleArgs),
    /// Train one network, at a fixed size or with progressive learning.
    Train(Box<train::TrainArgs>),
    /// Inspect search spaces.
    #[command(subcommand)]
    Space(space_cmd::SpaceCommand),
    /// Join a search shared through PostgreSQL (`search --store URL --run NAME`) as
    /// one more worker: claim, evaluate, record, until the budget is done.
    Worker(worker::WorkerArgs),
}

fn main() -> ExitCode {
    models::runtime::tune_for_training();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Arch(command)) => arch::run(command),
        Some(Command::BenchStep(args)) => bench_step::run(args),
        Some(Command::BenchOp(args)) => bench_op::run(args),
        Some(Command::BenchStrategies(args)) => bench_strategies::run(args),
        Some(Command::CheckOps(args)) => check_ops::run(args),
        Some(Command::Coordinate(args)) => coordinate::run(args),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::ProxyCheck(args)) => proxy_check::run(args),
        Some(Command::Pull(args)) => pull::run(args),
        Some(Command::Reproduce(args)) => reproduce::run(args),
        Some(Command::Report(args)) => report_cmd::run(args),
        Some(Command::Scale(args)) => scale::run(args),
        Some(Command::Space(command)) => space_cmd::run(command),
        Some(Command::Train(args)) => train::run(*args),
        Some(Command::Worker(args)) => worker::run(args),
        None => search_cmd::run(cli.search),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}
