//! `search worker`: one worker of a search shared through PostgreSQL.

use clap::Args;
use nas::store::PgStore;
use nas::worker::run_worker;

use super::search_cmd::{saved_shared_config, worker_line};
use crate::failure::Failure;
use crate::flags::{DeviceArg, OpsArg, SharedRunArgs};

#[derive(Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    shared: SharedRunArgs,
    #[command(flatten)]
    device: DeviceArg,
    /// This worker's name in the database [default: host and process id].
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    ops: OpsArg,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    let device = args.device.open()?;
    let SharedRunArgs { store: url, run } = &args.shared;
    let mut store = PgStore::open(url, run, true).map_err(Failure::bad_input)?;
    let config = saved_shared_config(&store, run)?;
    let splits = config.load_data().map_err(Failure::bad_input)?;
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    eprintln!(
        "worker {name} joins `{run}` (budget {}, {:?}) on {}",
        config.budget, config.strategy, args.device.device
    );
    let recorded = run_worker(
        &mut store,
        &name,
        &config,
        &splits,
        &device,
        args.ops.ops,
        &|event| eprintln!("{}", worker_line(&event, config.rungs())),
    )
    .map_err(Failure::runtime)?;
    eprintln!("worker {name}: the search is complete; {recorded} results recorded here");
    Ok(())
}
