//! The PostgreSQL store: one database holds many searches ("runs", by name), so
//! workers on many machines can share one. A trial moves through states — pending
//! (proposed), running (claimed by a worker, which heartbeats), then done, failed or
//! skipped — and a claim is atomic (`FOR UPDATE SKIP LOCKED`), so no two workers
//! evaluate the same trial. In successive halving a finished trial can rise to a
//! further rung: the promotion is decided and claimed under the run's lock, moves
//! through the same states in `effnas_promotions`, and the candidate's training
//! between rungs is kept in `effnas_checkpoints`, so that a worker on any machine
//! can continue it. The schema is created and versioned by this module.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls, Transaction};

use records::{Proposal, Trial, TrialStatus};

use super::{Claim, Counts, Promotion, SharedStore, StoreError, TrialStore};
use crate::halving::Plan;

/// The schema this build reads and writes. Version 2 stores a pending trial's
/// `proposal` as a proposal record (id, spec, key, choices) where version 1 stored a
/// whole trial with status `failed`; the tables are the same, and version 1 rows
/// still read. Version 3 adds the tables of successive halving. An older database
/// is upgraded on connecting, so that older workers, which cannot read the new
/// proposals or take part in promotions, are refused ("upgrade effnas") instead of
/// failing on them.
pub const SCHEMA_VERSION: i32 = 3;

/// How long a store tries to reach its database again after the connection broke.
const RECONNECT_FOR: Duration = Duration::from_secs(300);

/// The waits between tries to reach the server again: 0.25 s doubling to 10 s,
/// for up to [`RECONNECT_FOR`] from the first failure.
struct Backoff {
    started: Instant,
    wait: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            started: Instant::now(),
            wait: Duration::from_millis(250),
        }
    }

    /// Whether there is time left to try again.
    fn more(&self) -> bool {
        self.started.elapsed() < RECONNECT_FOR
    }

    /// Sleeps before the next try, if there is time left for one.
    fn pause(&mut self) -> bool {
        if !self.more() {
            return false;
        }
        std::thread::sleep(self.wait);
        self.wait = (self.wait * 2).min(Duration::from_secs(10));
        true
    }
}

/// Serialises schema creation between processes that start at once.
const SCHEMA_LOCK: i64 = 0x0eff_0a55;

const SCHEMA: &str = "
CREATE TABLE effnas_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE effnas_runs (
    id bigserial PRIMARY KEY,
    name text UNIQUE NOT NULL,
    config jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE effnas_trials (
    run_id bigint NOT NULL REFERENCES effnas_runs (id) ON DELETE CASCADE,
    id integer NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
    choices jsonb NOT NULL,
    proposal jsonb NOT NULL,
    result jsonb,
    worker text,
    attempts integer NOT NULL DEFAULT 0,
    error text,
    heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (run_id, id)
);
CREATE INDEX effnas_trials_state ON effnas_trials (run_id, state);
CREATE TABLE effnas_references (
    run_id bigint NOT NULL REFERENCES effnas_runs (id) ON DELETE CASCADE,
    idx integer NOT NULL,
    result jsonb NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE effnas_workers (
    run_id bigint NOT NULL REFERENCES effnas_runs (id) ON DELETE CASCADE,
    name text NOT NULL,
    device text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, name)
);
";

/// Successive halving's tables (version 3): created with the schema, or added to
/// an older one.
const HALVING_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS effnas_promotions (
    run_id bigint NOT NULL,
    id integer NOT NULL,
    rung integer NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    worker text,
    attempts integer NOT NULL DEFAULT 0,
    heartbeat_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (run_id, id, rung),
    FOREIGN KEY (run_id, id) REFERENCES effnas_trials (run_id, id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS effnas_checkpoints (
    run_id bigint NOT NULL,
    id integer NOT NULL,
    path text NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (run_id, id, path),
    FOREIGN KEY (run_id, id) REFERENCES effnas_trials (run_id, id) ON DELETE CASCADE
);
";

/// Why a store could not be opened; each is the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error(
        "the database holds effnas schema version {found}, newer than this build's {SCHEMA_VERSION}: upgrade effnas"
    )]
    NewerSchema { found: i32 },
    #[error("the database holds no search named `{0}`")]
    NoRun(String),
    #[error("the database holds no effnas searches")]
    NoSchema,
    #[error("{0}")]
    Database(String),
}

fn db(e: postgres::Error) -> OpenError {
    OpenError::Database(describe(&e))
}

/// A driver error with the server's own message where there is one.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.severity(), d.message()),
        None => e.to_string(),
    }
}

fn store_err(e: postgres::Error) -> StoreError {
    StoreError::Database(describe(&e))
}

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what,
        message: e.to_string(),
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Connects and makes sure the schema is there and not newer than ours.
pub fn connect(url: &str) -> Result<Client, OpenError> {
    connect_with(url, true)
}

/// As [`connect`]; without `create`, a database with no schema is left untouched
/// (a worker joining a search that is not there writes nothing).
fn connect_with(url: &str, create: bool) -> Result<Client, OpenError> {
    let mut client = Client::connect(url, NoTls).map_err(|e| OpenError::Connect {
        url: redact(url),
        reason: describe(&e),
    })?;
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .map_err(db)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('effnas_meta') IS NOT NULL", &[])
        .map_err(db)?
        .get(0);
    if exists {
        let found: i32 = tx
            .query_one(
                "SELECT value::integer FROM effnas_meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(db)?
            .get(0);
        if found > SCHEMA_VERSION {
            return Err(OpenError::NewerSchema { found });
        }
        if found < SCHEMA_VERSION {
            tx.batch_execute(HALVING_SCHEMA).map_err(db)?;
            tx.execute(
                "UPDATE effnas_meta SET value = $1 WHERE key = 'schema_version'",
                &[&SCHEMA_VERSION.to_string()],
            )
            .map_err(db)?;
        }
    } else if !create {
        return Err(OpenError::NoSchema);
    } else {
        tx.batch_execute(SCHEMA).map_err(db)?;
        tx.batch_execute(HALVING_SCHEMA).map_err(db)?;
        tx.execute(
            "INSERT INTO effnas_meta (key, value) VALUES ('schema_version', $1)",
            &[&SCHEMA_VERSION.to_string()],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    Ok(client)
}

/// One search's records in the database.
pub struct PgStore {
    /// Behind a lock because the store's readers take `&self` and the client
    /// needs `&mut`.
    client: Mutex<Client>,
    /// Where the database is, for a second connection (heartbeats).
    url: String,
    name: String,
    /// The run's row, once its configuration is saved.
    run_id: Option<i64>,
}

impl PgStore {
    /// Opens the search `name` at `url`. With `must_exist`, a name the database does
    /// not hold is an error (workers join searches; only a new search creates one).
    pub fn open(url: &str, name: &str, must_exist: bool) -> Result<PgStore, OpenError> {
        let mut client = match connect_with(url, !must_exist) {
            Err(OpenError::NoSchema) => return Err(OpenError::NoRun(name.to_string())),
            other => other?,
        };
        let run_id = client
            .query_opt("SELECT id FROM effnas_runs WHERE name = $1", &[&name])
            .map_err(db)?
            .map(|row| row.get::<_, i64>(0));
        if must_exist && run_id.is_none() {
            return Err(OpenError::NoRun(name.to_string()));
        }
        Ok(PgStore {
            client: Mutex::new(client),
            url: url.to_string(),
            name: name.to_string(),
            run_id,
        })
    }

    /// Runs `op` on the connection. When the connection has broken (the server
    /// restarted, the network cut it), reconnects, waiting longer after each
    /// failed try for up to [`RECONNECT_FOR`], and runs `op` again. Each
    /// operation is one statement or one transaction, so one that failed with its
    /// connection did not happen, unless the server committed it and only the
    /// answer was lost; then a claim is retried after its grace, and a finish
    /// already recorded is reported as lost.
    fn session<T>(
        &self,
        mut op: impl FnMut(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        let mut backoff = Backoff::new();
        let mut broken = false;
        loop {
            if broken || client.is_closed() {
                match Client::connect(&self.url, NoTls) {
                    Ok(fresh) => *client = fresh,
                    Err(_) if backoff.pause() => continue,
                    Err(e) => {
                        return Err(StoreError::Database(format!(
                            "the connection broke and {} could not be reached again for {} s: {}",
                            redact(&self.url),
                            RECONNECT_FOR.as_secs(),
                            describe(&e)
                        )));
                    }
                }
            }
            match op(&mut client) {
                // A terminated backend's error can arrive before the client has
                // noticed that its connection is gone: ask the connection itself.
                Err(StoreError::Database(_))
                    if backoff.more()
                        && (client.is_closed()
                            || client.is_valid(Duration::from_secs(5)).is_err()) =>
                {
                    broken = true;
                    continue;
                }
                result => return result,
            }
        }
    }

    fn run_id(&self) -> Result<i64, StoreError> {
        self.run_id
            .ok_or_else(|| StoreError::NoConfig(self.name.clone()))
    }
}

impl SharedStore for PgStore {
    fn name(&self) -> &str {
        &self.name
    }

    /// Proposals from several processes are serialised on the run's row.
    fn propose(&mut self, proposals: &[Proposal], budget: usize) -> Result<Vec<usize>, StoreError> {
        let run = self.run_id()?;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            lock_run(&mut tx, run)?;
            let row = tx
                .query_one(
                    "SELECT count(*), coalesce(max(id) + 1, 0) FROM effnas_trials WHERE run_id = $1",
                    &[&run],
                )
                .map_err(store_err)?;
            let (count, mut next): (i64, i32) = (row.get(0), row.get(1));
            let mut ids = Vec::new();
            for proposal in proposals.iter().take(budget.saturating_sub(count as usize)) {
                let mut proposal = proposal.clone();
                proposal.id = next as usize;
                let choices = serde_json::to_value(&proposal.choices).expect("choices serialise");
                let value = serde_json::to_value(&proposal).expect("trials serialise");
                tx.execute(
                    "INSERT INTO effnas_trials (run_id, id, state, choices, proposal)
                     VALUES ($1, $2, 'pending', $3, $4)",
                    &[&run, &next, &choices, &value],
                )
                .map_err(store_err)?;
                ids.push(next as usize);
                next += 1;
            }
            tx.commit().map_err(store_err)?;
            Ok(ids)
        })
    }

    /// Claims the oldest pending trial for `worker`, atomically: of two workers asking
    /// at once, each gets a different trial (or none).
    fn claim(&mut self, worker: &str) -> Result<Option<Claim>, StoreError> {
        let run = self.run_id()?;
        let row = self.session(|client| {
            client
                .query_opt(
                    // The subquery is a scalar in WHERE, evaluated once: as a joined
                    // FROM item it can be re-evaluated when a concurrent claim commits,
                    // and then claim two rows (seen in the concurrency test).
                    "UPDATE effnas_trials
                     SET state = 'running', worker = $2, attempts = attempts + 1,
                     heartbeat_at = now()
                     WHERE run_id = $1 AND id = (
                     SELECT id FROM effnas_trials
                     WHERE run_id = $1 AND state = 'pending'
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING proposal, attempts",
                    &[&run, &worker],
                )
                .map_err(store_err)
        })?;
        row.map(|row| {
            let proposal: serde_json::Value = row.get(0);
            Ok(Claim {
                proposal: serde_json::from_value(proposal).map_err(|e| corrupt("a proposal", e))?,
                attempt: row.get(1),
            })
        })
        .transpose()
    }

    /// Records that `worker` (on `device`) works on this search, or still does:
    /// `effnas_workers` lists every worker with its last sign of life.
    fn register_worker(&mut self, worker: &str, device: &str) -> Result<(), StoreError> {
        let run = self.run_id()?;
        self.session(|client| {
            client
                .execute(
                    "INSERT INTO effnas_workers (run_id, name, device) VALUES ($1, $2, $3)
                     ON CONFLICT (run_id, name) DO UPDATE
                     SET device = EXCLUDED.device, heartbeat_at = now()",
                    &[&run, &worker, &device],
                )
                .map_err(store_err)
        })?;
        Ok(())
    }

    /// Tells the database `worker` is still evaluating trial `id`, or training it
    /// through a rung; false if the trial is no longer its own (it was given back
    /// after a missed heartbeat).
    fn heartbeat(&mut self, worker: &str, id: usize) -> Result<bool, StoreError> {
        let run = self.run_id()?;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            let mut n = 0;
            for table in ["effnas_trials", "effnas_promotions"] {
                n += tx
                    .execute(
                        &format!(
                            "UPDATE {table} SET heartbeat_at = now()
                             WHERE run_id = $1 AND id = $2 AND worker = $3 AND state = 'running'"
                        ),
                        &[&run, &(id as i32), &worker],
                    )
                    .map_err(store_err)?;
            }
            tx.execute(
                "UPDATE effnas_workers SET heartbeat_at = now() WHERE run_id = $1 AND name = $2",
                &[&run, &worker],
            )
            .map_err(store_err)?;
            tx.commit().map_err(store_err)?;
            Ok(n == 1)
        })
    }

    /// Records `worker`'s result for its claimed trial, or for the rung it was
    /// promoted to; false (and nothing written) if the trial is no longer its own.
    fn finish(&mut self, worker: &str, trial: &Trial) -> Result<bool, StoreError> {
        let run = self.run_id()?;
        let id = trial.id as i32;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            let claimed = tx
                .execute(
                    "UPDATE effnas_trials SET worker = worker
                     WHERE run_id = $1 AND id = $2 AND worker = $3 AND state = 'running'",
                    &[&run, &id, &worker],
                )
                .map_err(store_err)?;
            let promoted = if claimed == 1 {
                0
            } else {
                let state = if trial.is_done() { "done" } else { "failed" };
                tx.execute(
                    "UPDATE effnas_promotions SET state = $4, finished_at = now()
                     WHERE run_id = $1 AND id = $2 AND worker = $3 AND state = 'running'",
                    &[&run, &id, &worker, &state],
                )
                .map_err(store_err)?
            };
            if claimed + promoted == 0 {
                return Ok(false);
            }
            write_result(&mut tx, run, trial)?;
            tx.commit().map_err(store_err)?;
            Ok(true)
        })
    }

    /// Decided under the run's lock, so that two workers asking at once cannot
    /// both be given the same promotion.
    fn claim_promotion(
        &mut self,
        worker: &str,
        plan: &Plan,
    ) -> Result<Option<Promotion>, StoreError> {
        if !plan.is_halving() {
            return Ok(None);
        }
        let run = self.run_id()?;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            lock_run(&mut tx, run)?;
            // A promotion given back by a worker that stopped goes first.
            let retry = tx
                .query_opt(
                    "UPDATE effnas_promotions
                     SET state = 'running', worker = $2, attempts = attempts + 1, heartbeat_at = now()
                     WHERE run_id = $1 AND (id, rung) = (
                         SELECT id, rung FROM effnas_promotions
                         WHERE run_id = $1 AND state = 'pending' ORDER BY rung DESC, id LIMIT 1)
                     RETURNING id, rung, attempts",
                    &[&run, &worker],
                )
                .map_err(store_err)?;
            let (trial, rung, attempt) = match retry {
                Some(row) => {
                    let trial = trial_result(&mut tx, run, row.get(0))?;
                    (trial, row.get::<_, i32>(1) as usize, row.get(2))
                }
                None => {
                    // The promotions in training first, then the trials: a promotion
                    // that finishes in between has written its rung by the time the
                    // trials are read (both in one commit), so it is never decided
                    // twice. (Claims cannot slip in between: they hold the run's lock.)
                    let busy: HashSet<usize> = tx
                        .query(
                            "SELECT id FROM effnas_promotions
                             WHERE run_id = $1 AND state IN ('pending', 'running')",
                            &[&run],
                        )
                        .map_err(store_err)?
                        .iter()
                        .map(|row| row.get::<_, i32>(0) as usize)
                        .collect();
                    let mut trials = finished_trials(&mut tx, run)?;
                    let Some((id, rung)) = plan.next(&trials, &busy) else {
                        return Ok(None);
                    };
                    tx.execute(
                        "INSERT INTO effnas_promotions
                             (run_id, id, rung, state, worker, attempts, heartbeat_at)
                         VALUES ($1, $2, $3, 'running', $4, 1, now())",
                        &[&run, &(id as i32), &(rung as i32), &worker],
                    )
                    .map_err(store_err)?;
                    let at = trials.iter().position(|t| t.id == id).expect("ranked");
                    (trials.swap_remove(at), rung, 1)
                }
            };
            tx.commit().map_err(store_err)?;
            Ok(Some(Promotion {
                trial,
                rung,
                attempt,
            }))
        })
    }

    fn keep_checkpoint(&mut self, id: usize, dir: &Path) -> Result<(), StoreError> {
        let run = self.run_id()?;
        let files = files_under(dir)
            .map_err(|e| StoreError::Checkpoint(format!("cannot read {}: {e}", dir.display())))?;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            tx.execute(
                "DELETE FROM effnas_checkpoints WHERE run_id = $1 AND id = $2",
                &[&run, &(id as i32)],
            )
            .map_err(store_err)?;
            for (path, data) in &files {
                tx.execute(
                    "INSERT INTO effnas_checkpoints (run_id, id, path, data) VALUES ($1, $2, $3, $4)",
                    &[&run, &(id as i32), path, data],
                )
                .map_err(store_err)?;
            }
            tx.commit().map_err(store_err)
        })
    }

    fn restore_checkpoint(&mut self, id: usize, dir: &Path) -> Result<bool, StoreError> {
        let run = self.run_id()?;
        let rows = self.session(|client| {
            client
                .query(
                    "SELECT path, data FROM effnas_checkpoints WHERE run_id = $1 AND id = $2",
                    &[&run, &(id as i32)],
                )
                .map_err(store_err)
        })?;
        let write = |path: &str, data: &[u8]| -> std::io::Result<()> {
            let target = dir.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(target, data)
        };
        for row in &rows {
            let (path, data): (&str, &[u8]) = (row.get(0), row.get(1));
            // Kept paths are relative and plain (see `files_under`); anything else
            // was not written by effnas.
            if Path::new(path)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(corrupt("a kept checkpoint", format!("the path `{path}`")));
            }
            write(path, data).map_err(|e| {
                StoreError::Checkpoint(format!("cannot write {}: {e}", dir.join(path).display()))
            })?;
        }
        Ok(!rows.is_empty())
    }

    fn wind_up(&mut self, budget: usize, plan: &Plan) -> Result<bool, StoreError> {
        let run = self.run_id()?;
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            lock_run(&mut tx, run)?;
            let counts = counts_of(&mut tx, run)?;
            if counts.finished < budget || counts.promoting > 0 {
                return Ok(false);
            }
            if plan
                .next(&finished_trials(&mut tx, run)?, &HashSet::new())
                .is_some()
            {
                return Ok(false);
            }
            tx.execute("DELETE FROM effnas_checkpoints WHERE run_id = $1", &[&run])
                .map_err(store_err)?;
            tx.commit().map_err(store_err)?;
            Ok(true)
        })
    }

    /// A trial out of attempts is recorded as failed with the reason, as a trial
    /// with nothing measured.
    fn requeue_stale(&mut self, grace_s: f64, max_attempts: i32) -> Result<(u64, u64), StoreError> {
        let run = self.run_id()?;
        let stale = "run_id = $1 AND state = 'running' AND heartbeat_at < now() - make_interval(secs => $2)";
        self.session(|client| {
            let mut tx = client.transaction().map_err(store_err)?;
            let spent = tx
                .query(
                    &format!(
                        "SELECT id, proposal, attempts FROM effnas_trials
                         WHERE {stale} AND attempts >= $3 FOR UPDATE"
                    ),
                    &[&run, &grace_s, &max_attempts],
                )
                .map_err(store_err)?;
            for row in &spent {
                let (id, attempts): (i32, i32) = (row.get(0), row.get(2));
                let proposal: Proposal =
                    serde_json::from_value(row.get(1)).map_err(|e| corrupt("a proposal", e))?;
                let why = format!("its worker stopped heartbeating {attempts} times");
                let failed = Trial::unmeasured(proposal, 0, TrialStatus::Failed, &why);
                let value = serde_json::to_value(&failed).expect("trials serialise");
                tx.execute(
                    "UPDATE effnas_trials SET state = 'failed', finished_at = now(), error = $3,
                     result = $4 WHERE run_id = $1 AND id = $2",
                    &[&run, &id, &why, &value],
                )
                .map_err(store_err)?;
            }
            let mut requeued = tx
                .execute(
                    &format!("UPDATE effnas_trials SET state = 'pending', worker = NULL WHERE {stale}"),
                    &[&run, &grace_s],
                )
                .map_err(store_err)?;
            // A promotion out of attempts fails its candidate at that rung (its
            // earlier rungs stay), as a rung that fails in training does.
            let spent_promotions = tx
                .query(
                    &format!(
                        "UPDATE effnas_promotions SET state = 'failed', finished_at = now()
                         WHERE {stale} AND attempts >= $3 RETURNING id, rung, attempts"
                    ),
                    &[&run, &grace_s, &max_attempts],
                )
                .map_err(store_err)?;
            for row in &spent_promotions {
                let (id, rung, attempts): (i32, i32, i32) = (row.get(0), row.get(1), row.get(2));
                let mut trial = trial_result(&mut tx, run, id)?;
                trial.fail_in_rung(format!(
                    "rung {}: its worker stopped heartbeating {attempts} times",
                    rung + 1
                ));
                write_result(&mut tx, run, &trial)?;
            }
            requeued += tx
                .execute(
                    &format!(
                        "UPDATE effnas_promotions SET state = 'pending', worker = NULL WHERE {stale}"
                    ),
                    &[&run, &grace_s],
                )
                .map_err(store_err)?;
            tx.commit().map_err(store_err)?;
            Ok((requeued, (spent.len() + spent_promotions.len()) as u64))
        })
    }

    /// The canonical keys of every trial proposed so far, in any state.
    fn proposed_keys(&mut self) -> Result<Vec<String>, StoreError> {
        let run = self.run_id()?;
        let rows = self.session(|client| {
            client
                .query(
                    "SELECT proposal ->> 'key' FROM effnas_trials WHERE run_id = $1",
                    &[&run],
                )
                .map_err(store_err)
        })?;
        Ok(rows.into_iter().filter_map(|row| row.get(0)).collect())
    }

    fn counts(&mut self) -> Result<Counts, StoreError> {
        let run = self.run_id()?;
        self.session(|client| counts_of(client, run))
    }

    /// A second connection, tried again with the same backoff as a broken one:
    /// a worker opens one per trial for its heartbeats, and a cut that lands on
    /// that moment must not end the worker.
    fn reopen(&self) -> Result<Box<dyn SharedStore>, StoreError> {
        let mut backoff = Backoff::new();
        loop {
            match PgStore::open(&self.url, &self.name, true) {
                Ok(store) => return Ok(Box::new(store)),
                Err(OpenError::Connect { .. } | OpenError::Database(_)) if backoff.pause() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn counts_of(client: &mut impl GenericClient, run: i64) -> Result<Counts, StoreError> {
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE state = 'pending'),
                    count(*) FILTER (WHERE state = 'running'),
                    count(*) FILTER (WHERE state IN ('done', 'failed', 'skipped')),
                    (SELECT count(*) FROM effnas_promotions
                     WHERE run_id = $1 AND state IN ('pending', 'running'))
             FROM effnas_trials WHERE run_id = $1",
            &[&run],
        )
        .map_err(store_err)?;
    Ok(Counts {
        pending: row.get::<_, i64>(0) as usize,
        running: row.get::<_, i64>(1) as usize,
        finished: row.get::<_, i64>(2) as usize,
        promoting: row.get::<_, i64>(3) as usize,
    })
}

/// The finished trials (pending and running ones have no result yet), by id.
fn finished_trials(client: &mut impl GenericClient, run: i64) -> Result<Vec<Trial>, StoreError> {
    let rows = client
        .query(
            "SELECT result FROM effnas_trials
             WHERE run_id = $1 AND state IN ('done', 'failed', 'skipped') ORDER BY id",
            &[&run],
        )
        .map_err(store_err)?;
    parse_results(rows, "a trial")
}

/// Trial `id`'s recorded result (a promoted candidate's latest state).
fn trial_result(client: &mut impl GenericClient, run: i64, id: i32) -> Result<Trial, StoreError> {
    let row = client
        .query_one(
            "SELECT result FROM effnas_trials WHERE run_id = $1 AND id = $2",
            &[&run, &id],
        )
        .map_err(store_err)?;
    serde_json::from_value(row.get(0)).map_err(|e| corrupt("a trial", e))
}

/// Writes a finished trial's result (its new state) into its row.
fn write_result(tx: &mut Transaction<'_>, run: i64, trial: &Trial) -> Result<(), StoreError> {
    let value = serde_json::to_value(trial).expect("trials serialise");
    tx.execute(
        "UPDATE effnas_trials SET state = $3, result = $4, error = $5, finished_at = now()
         WHERE run_id = $1 AND id = $2",
        &[
            &run,
            &(trial.id as i32),
            &row_state(trial.status),
            &value,
            &trial.error,
        ],
    )
    .map_err(store_err)?;
    Ok(())
}

/// Every file under `dir`, with its path relative to `dir` ('/'-separated).
fn files_under(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                let name: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push((name.join("/"), std::fs::read(&path)?));
            }
        }
    }
    Ok(files)
}

fn lock_run(tx: &mut Transaction<'_>, run: i64) -> Result<(), StoreError> {
    tx.execute(
        "SELECT 1 FROM effnas_runs WHERE id = $1 FOR UPDATE",
        &[&run],
    )
    .map_err(store_err)?;
    Ok(())
}

fn parse_results(rows: Vec<postgres::Row>, what: &'static str) -> Result<Vec<Trial>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let value: serde_json::Value = row.get(0);
            serde_json::from_value(value).map_err(|e| corrupt(what, e))
        })
        .collect()
}

impl TrialStore for PgStore {
    fn config(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let row = self.session(|client| {
            client
                .query_opt(
                    "SELECT config FROM effnas_runs WHERE name = $1",
                    &[&self.name],
                )
                .map_err(store_err)
        })?;
        Ok(row.map(|row| row.get(0)))
    }

    fn save_config(&mut self, config: &serde_json::Value) -> Result<(), StoreError> {
        let row = self.session(|client| {
            client
                .query_one(
                    "INSERT INTO effnas_runs (name, config) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config
                     RETURNING id",
                    &[&self.name, config],
                )
                .map_err(store_err)
        })?;
        self.run_id = Some(row.get(0));
        Ok(())
    }

    /// The finished trials (pending and running ones have no result yet), by id.
    fn trials(&self) -> Result<Vec<Trial>, StoreError> {
        let Some(run) = self.run_id else {
            return Ok(Vec::new());
        };
        self.session(|client| finished_trials(client, run))
    }

    fn append(&mut self, trial: &Trial) -> Result<(), StoreError> {
        let run = self.run_id()?;
        let value = serde_json::to_value(trial).expect("trials serialise");
        let choices = serde_json::to_value(&trial.choices).expect("choices serialise");
        self.session(|client| {
            client
                .execute(
                    "INSERT INTO effnas_trials
                     (run_id, id, state, choices, proposal, result, error, attempts, finished_at)
                     VALUES ($1, $2, $3, $4, $5, $5, $6, 1, now())
                     ON CONFLICT (run_id, id) DO UPDATE
                     SET state = EXCLUDED.state, result = EXCLUDED.result, error = EXCLUDED.error,
                     finished_at = now()",
                    &[
                        &run,
                        &(trial.id as i32),
                        &row_state(trial.status),
                        &choices,
                        &value,
                        &trial.error,
                    ],
                )
                .map_err(store_err)
        })?;
        Ok(())
    }

    fn references(&self) -> Result<Vec<Trial>, StoreError> {
        let Some(run) = self.run_id else {
            return Ok(Vec::new());
        };
        let rows = self.session(|client| {
            client
                .query(
                    "SELECT result FROM effnas_references WHERE run_id = $1 ORDER BY idx",
                    &[&run],
                )
                .map_err(store_err)
        })?;
        parse_results(rows, "a reference")
    }

    fn append_reference(&mut self, trial: &Trial) -> Result<(), StoreError> {
        let run = self.run_id()?;
        let value = serde_json::to_value(trial).expect("trials serialise");
        self.session(|client| {
            client
                .execute(
                    "INSERT INTO effnas_references (run_id, idx, result)
                     VALUES ($1, (SELECT count(*) FROM effnas_references WHERE run_id = $1), $2)",
                    &[&run, &value],
                )
                .map_err(store_err)
        })?;
        Ok(())
    }
}

/// The row's state for a finished trial. An infeasible trial is a `skipped`
/// row (not trained, finished), so tables made before that status existed keep
/// their check; its result says `infeasible`.
fn row_state(status: TrialStatus) -> &'static str {
    match status {
        TrialStatus::Infeasible => TrialStatus::Skipped.name(),
        status => status.name(),
    }
}
