//! `search worker`: one worker of a search shared through PostgreSQL.

use clap::Args;

use models::ops::OpSet;
use search::Failure;
use search::data::load_data;
use search::driver::SearchConfig;
use search::store::{PgStore, TrialStore};
use search::worker::{WorkerEvent, run_worker};

#[derive(Args)]
pub struct WorkerArgs {
    /// The database: `postgres://user:password@host:port/database`.
    #[arg(long, value_name = "URL")]
    store: String,
    /// The search to join, as named when it was started (`search --store … --run NAME`).
    #[arg(long, value_name = "NAME")]
    run: String,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// This worker's name in the database [default: host and process id].
    #[arg(long)]
    name: Option<String>,
    #[arg(long, default_value = "fast")]
    ops: OpSet,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    let device = models::parse_device(&args.device).map_err(Failure::bad_input)?;
    let mut store = PgStore::open(&args.store, &args.run, true).map_err(Failure::bad_input)?;
    let config = store.config().map_err(Failure::runtime)?.ok_or_else(|| {
        Failure::bad_input(format!("the search `{}` has no configuration", args.run))
    })?;
    let config: SearchConfig = serde_json::from_value(config).map_err(|e| {
        Failure::bad_input(format!("the search `{}`'s configuration: {e}", args.run))
    })?;
    let splits =
        load_data(config.data.as_deref().or(Some("embedded"))).map_err(Failure::bad_input)?;
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    eprintln!(
        "worker {name} joins `{}` (budget {}, {:?}) on {}",
        args.run, config.budget, config.strategy, args.device
    );
    let recorded = run_worker(
        &mut store,
        &args.store,
        &name,
        &config,
        &splits,
        &device,
        args.ops,
        &|event| match event {
            WorkerEvent::Started(t, attempt) => {
                eprintln!("evaluating #{} {} (attempt {attempt})", t.id, t.spec.name)
            }
            WorkerEvent::Finished(t) => eprintln!(
                "#{} {:?}: accuracy {:?}, reward {:?}",
                t.id, t.status, t.accuracy, t.reward
            ),
            WorkerEvent::Lost(id) => eprintln!("#{id} was given to another worker meanwhile"),
        },
    )
    .map_err(Failure::runtime)?;
    eprintln!("worker {name}: the search is complete; {recorded} trials recorded here");
    Ok(())
}
