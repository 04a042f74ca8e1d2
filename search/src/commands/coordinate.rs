//! `search coordinate`: the proposer of a shared search (needed by REINFORCE).

use clap::Args;

use search::Failure;
use search::coordinator::run_coordinator;
use search::driver::SearchConfig;
use search::store::{PgStore, TrialStore};

#[derive(Args)]
pub struct CoordinateArgs {
    /// The database: `postgres://user:password@host:port/database`.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The search, as named when it was started.
    #[arg(long, value_name = "NAME")]
    run: String,
    /// Proposals kept pending for the workers (about their number).
    #[arg(long, default_value_t = 2)]
    queue: usize,
}

pub fn run(args: CoordinateArgs) -> Result<(), Failure> {
    if args.queue == 0 {
        return Err(Failure::bad_input("--queue must be at least 1"));
    }
    let mut store = PgStore::open(&args.store, &args.run, true).map_err(Failure::bad_input)?;
    let config: SearchConfig = store
        .config()
        .map_err(Failure::runtime)?
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Failure::bad_input(format!("the search `{}`'s configuration: {e}", args.run)))?
        .ok_or_else(|| {
            Failure::bad_input(format!("the search `{}` has no configuration", args.run))
        })?;
    eprintln!(
        "coordinating `{}` ({:?}, budget {}), {} proposals pending",
        args.run, config.strategy, config.budget, args.queue
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
