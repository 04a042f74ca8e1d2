//! `search coordinate`: the proposer of a shared search (needed by REINFORCE).

use clap::Args;
use nas::coordinator::run_coordinator;
use nas::store::PgStore;

use super::search_cmd::saved_shared_config;
use crate::failure::Failure;
use crate::flags::SharedRunArgs;

#[derive(Args)]
pub struct CoordinateArgs {
    #[command(flatten)]
    shared: SharedRunArgs,
    /// Proposals kept pending for the workers (about their number).
    #[arg(long, default_value_t = 2)]
    queue: usize,
}

pub fn run(args: CoordinateArgs) -> Result<(), Failure> {
    if args.queue == 0 {
        return Err(Failure::bad_input("--queue must be at least 1"));
    }
    let SharedRunArgs { store: url, run } = &args.shared;
    let mut store = PgStore::open(url, run, true).map_err(Failure::bad_input)?;
    let config = saved_shared_config(&store, run)?;
    eprintln!(
        "coordinating `{run}` ({:?}, budget {}), {} proposals pending",
        config.strategy, config.budget, args.queue
    );
    let last = std::cell::Cell::new(usize::MAX);
    let proposed = run_coordinator(&mut store, &config, args.queue, &|finished, budget| {
        if last.replace(finished) != finished {
            eprintln!("{finished}/{budget} trials finished");
        }
    })
    .map_err(Failure::runtime)?;
    eprintln!("the search is complete; {proposed} proposals made here");
    Ok(())
}
