//! The PostgreSQL store against a real server: the one `EFFNAS_TEST_POSTGRES` names
//! (`.ci/run` starts one with `scripts/test-postgres.sh`). Without it these tests say
//! so and pass: the README's test command must run on a machine with only Rust.

use nas::halving::{Plan, Ranking};
use nas::store::postgres::{OpenError, SCHEMA_VERSION, connect};
use nas::store::{Counts, PgStore, SharedStore, TrialStore};
use records::{Proposal, Rung, StepStats, Trial, TrialStatus};
use space::Choices;

fn server() -> Option<String> {
    let url = std::env::var("EFFNAS_TEST_POSTGRES").ok();
    if url.is_none() {
        eprintln!("EFFNAS_TEST_POSTGRES is not set: no PostgreSQL server to test against");
    }
    url
}

/// A run name no other test (or earlier run of this one) uses.
fn run_name(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{nanos}", std::process::id())
}

fn trial(id: usize, status: TrialStatus) -> Trial {
    Trial {
        id,
        status,
        spec: space::presets::preset("efficientnetv2-b0").unwrap(),
        key: format!("key-{id}"),
        choices: Choices(vec![id, 1, 2]),
        accuracy: (status == TrialStatus::Done).then_some(0.5 + id as f64 / 100.0),
        step_ms: (status == TrialStatus::Done).then_some(StepStats {
            median: 10.0 + id as f64,
            min: 9.0,
            max: 12.0,
            iqr: 0.5,
        }),
        params: 1000 + id as u64,
        macs: 2000,
        memory_bytes: 3000,
        reward: (status == TrialStatus::Done).then_some(0.4),
        error: (status == TrialStatus::Failed).then(|| "diverged".to_string()),
        step_time_s: 1.0,
        train_s: 2.0,
        total_s: 3.0,
        seed: 7,
        rungs: Vec::new(),
        reference: None,
    }
}

/// A proposal as a strategy makes one: spec and choices, no results.
fn proposal(choices: Choices) -> Proposal {
    Proposal {
        choices,
        ..trial(0, TrialStatus::Failed).proposal()
    }
}

fn counts(pending: usize, running: usize, finished: usize) -> Counts {
    Counts {
        pending,
        running,
        finished,
        promoting: 0,
    }
}

/// A done trial with `rewards` (and accuracies) at its rungs.
fn in_rungs(id: usize, rewards: &[f64]) -> Trial {
    let mut t = trial(id, TrialStatus::Done);
    t.rungs = rewards
        .iter()
        .enumerate()
        .map(|(r, &x)| Rung {
            epochs: r + 1,
            size: 12 + 4 * r,
            accuracy: x,
            reward: x,
            seconds: 1.0,
        })
        .collect();
    t.reward = rewards.last().copied();
    t
}

/// Runs `work(store, worker)` in four workers at once, each with its own
/// connection to the search; every id they return, sorted.
fn four_workers(
    url: &str,
    name: &str,
    work: impl Fn(&mut PgStore, &str) -> Vec<usize> + Sync,
) -> Vec<usize> {
    let mut ids: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let work = &work;
                scope.spawn(move || {
                    let mut store = PgStore::open(url, name, true).unwrap();
                    work(&mut store, &format!("worker-{w}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    ids.sort_unstable();
    ids
}

/// Two rungs, a third of each rising, by reward.
const TWO_RUNGS: Plan = Plan {
    rungs: 2,
    eta: 3,
    ranking: Ranking::Reward,
};

#[test]
fn a_search_round_trips_through_the_database() {
    let Some(url) = server() else { return };
    let name = run_name("round-trip");
    let mut store = PgStore::open(&url, &name, false).unwrap();
    assert_eq!(store.config().unwrap(), None);
    assert!(store.trials().unwrap().is_empty());
    let config = serde_json::json!({"budget": 3, "space": {"name": "paper"}});
    store.save_config(&config).unwrap();
    let trials = [
        trial(0, TrialStatus::Done),
        trial(1, TrialStatus::Failed),
        trial(2, TrialStatus::Skipped),
        // A `skipped` row (tables made before this status keep their check) that
        // reads back as infeasible.
        trial(3, TrialStatus::Infeasible),
    ];
    for t in &trials {
        store.append(t).unwrap();
    }
    store
        .append_reference(&trial(0, TrialStatus::Done))
        .unwrap();
    store
        .append_reference(&trial(9, TrialStatus::Done))
        .unwrap();

    // Another process sees the same search, exactly.
    let other = PgStore::open(&url, &name, true).unwrap();
    assert_eq!(other.config().unwrap(), Some(config));
    assert_eq!(other.trials().unwrap(), trials);
    let references = other.references().unwrap();
    assert_eq!(references.iter().map(|t| t.id).collect::<Vec<_>>(), [0, 9]);
}

#[test]
fn a_run_that_does_not_exist_is_named() {
    let Some(url) = server() else { return };
    let name = run_name("missing");
    match PgStore::open(&url, &name, true) {
        Err(e @ OpenError::NoRun(_)) => assert!(e.to_string().contains(&name)),
        other => panic!("expected NoRun, got {:?}", other.err()),
    }
}

#[test]
fn unreachable_servers_and_wrong_passwords_are_clear_errors_without_the_password() {
    let Some(url) = server() else { return };
    let wrong = url.replacen(":effnas@", ":not-the-password@", 1);
    assert_ne!(
        wrong, url,
        "the test server's URL carries the password `effnas`"
    );
    let e = connect(&wrong).err().expect("a wrong password is refused");
    let text = e.to_string();
    assert!(matches!(e, OpenError::Connect { .. }), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    let e = connect("postgres://effnas:x@127.0.0.1:1/effnas")
        .err()
        .expect("nothing listens on port 1");
    assert!(matches!(e, OpenError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

#[test]
fn a_schema_from_a_newer_version_is_refused() {
    let Some(url) = server() else { return };
    // A database of its own, so that the shared one keeps its schema.
    let database = format!("effnas_newer_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let newer = format!("{base}/{database}");
    let mut client = connect(&newer).unwrap();
    let found: String = client
        .query_one(
            "SELECT value FROM effnas_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(found, SCHEMA_VERSION.to_string());
    // A version 2 database (without successive halving's tables) is upgraded.
    client
        .batch_execute(
            "DROP TABLE effnas_promotions, effnas_checkpoints;
             UPDATE effnas_meta SET value = '2' WHERE key = 'schema_version'",
        )
        .unwrap();
    drop(client);
    let mut client = connect(&newer).unwrap();
    let upgraded: String = client
        .query_one(
            "SELECT value FROM effnas_meta WHERE key = 'schema_version'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(upgraded, "3");
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables
             WHERE table_name IN ('effnas_promotions', 'effnas_checkpoints')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 2);
    client
        .execute(
            "UPDATE effnas_meta SET value = '99' WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
    drop(client);
    let e = connect(&newer).err().expect("a newer schema is refused");
    assert!(matches!(e, OpenError::NewerSchema { found: 99 }), "{e}");
    assert!(e.to_string().contains("upgrade effnas"), "{e}");
    admin
        .batch_execute(&format!("DROP DATABASE {database}"))
        .unwrap();
}

#[test]
fn concurrent_workers_claim_each_trial_exactly_once() {
    let Some(url) = server() else { return };
    let name = run_name("claims");
    let mut store = PgStore::open(&url, &name, false).unwrap();
    store.save_config(&serde_json::json!({})).unwrap();
    let proposals: Vec<Proposal> = (0..30).map(|i| proposal(Choices(vec![i]))).collect();
    // The budget caps what is added.
    assert_eq!(
        store.propose(&proposals, 24).unwrap(),
        (0..24).collect::<Vec<_>>()
    );
    assert!(store.propose(&proposals, 24).unwrap().is_empty());

    let claimed = four_workers(&url, &name, |store, worker| {
        store.register_worker(worker, "cpu").unwrap();
        let mut mine = Vec::new();
        while let Some(claim) = store.claim(worker).unwrap() {
            let id = claim.proposal.id;
            assert_eq!(claim.proposal.choices, Choices(vec![id]));
            assert_eq!(claim.attempt, 1);
            assert!(store.heartbeat(worker, id).unwrap());
            let done = trial(id, TrialStatus::Done);
            assert!(store.finish(worker, &done).unwrap());
            mine.push(id);
        }
        mine
    });
    assert_eq!(claimed, (0..24).collect::<Vec<_>>());
    assert_eq!(store.counts().unwrap(), counts(0, 0, 24));
    assert_eq!(store.trials().unwrap().len(), 24);
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let workers = db
        .query(
            "SELECT w.name FROM effnas_workers w JOIN effnas_runs r ON r.id = w.run_id
             WHERE r.name = $1 AND w.heartbeat_at >= w.started_at ORDER BY w.name",
            &[&name],
        )
        .unwrap();
    let workers: Vec<String> = workers.iter().map(|r| r.get(0)).collect();
    assert_eq!(workers, ["worker-0", "worker-1", "worker-2", "worker-3"]);
}

#[test]
fn a_trial_whose_worker_stops_heartbeating_is_retried_then_failed() {
    let Some(url) = server() else { return };
    let name = run_name("stale");
    let mut store = PgStore::open(&url, &name, false).unwrap();
    store.save_config(&serde_json::json!({})).unwrap();
    store.propose(&[proposal(Choices(vec![5]))], 10).unwrap();

    let first = store.claim("killed").unwrap().unwrap();
    assert_eq!((first.proposal.id, first.attempt), (0, 1));
    // Within the grace period nothing moves.
    assert_eq!(store.requeue_stale(3600.0, 2).unwrap(), (0, 0));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(store.requeue_stale(0.01, 2).unwrap(), (1, 0));
    // The stopped worker's late result is not taken.
    assert!(!store.heartbeat("killed", 0).unwrap());
    assert!(
        !store
            .finish("killed", &trial(0, TrialStatus::Done))
            .unwrap()
    );

    let second = store.claim("second").unwrap().unwrap();
    assert_eq!((second.proposal.id, second.attempt), (0, 2));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(store.requeue_stale(0.01, 2).unwrap(), (0, 1));
    assert_eq!(store.counts().unwrap(), counts(0, 0, 1));
    assert!(store.claim("third").unwrap().is_none());
    // The failed trial is recorded as the proposal with the reason.
    let failed = &store.trials().unwrap()[0];
    assert_eq!(failed.status, TrialStatus::Failed);
    assert_eq!(failed.choices, Choices(vec![5]));
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("stopped heartbeating 2 times")
    );
}

/// Six candidates finished their first rung: at η = 3 the two best rise, each
/// claimed by exactly one of four workers at once, their training carried
/// between rungs through the database; then the search winds up.
#[test]
fn promotions_are_claimed_once_and_carry_their_training() {
    let Some(url) = server() else { return };
    let name = run_name("promotions");
    let mut store = PgStore::open(&url, &name, false).unwrap();
    store.save_config(&serde_json::json!({})).unwrap();
    let firsts = [0.3, 0.9, 0.1, 0.7, 0.2, 0.4];
    for (id, &r) in firsts.iter().enumerate() {
        store.append(&in_rungs(id, &[r])).unwrap();
    }
    // The training of candidate 1, kept by the worker that trained its rung.
    let kept = std::env::temp_dir().join(format!("{name}-kept"));
    std::fs::create_dir_all(kept.join("checkpoint")).unwrap();
    std::fs::write(kept.join("metrics.jsonl"), b"{}\n").unwrap();
    std::fs::write(kept.join("checkpoint/model.safetensors"), [0u8, 1, 2, 255]).unwrap();
    store.keep_checkpoint(1, &kept).unwrap();
    assert!(
        !store.wind_up(6, &TWO_RUNGS).unwrap(),
        "two have earned a rise"
    );
    // Without halving there is nothing to promote, and the budget is done.
    let one_rung = Plan {
        rungs: 1,
        ..TWO_RUNGS
    };
    assert!(store.claim_promotion("w", &one_rung).unwrap().is_none());

    let claimed = four_workers(&url, &name, |store, worker| {
        let mut mine = Vec::new();
        while let Some(p) = store.claim_promotion(worker, &TWO_RUNGS).unwrap() {
            assert_eq!((p.rung, p.attempt, p.trial.rungs.len()), (1, 1, 1));
            assert!(store.heartbeat(worker, p.trial.id).unwrap());
            mine.push(p.trial.id);
            let risen = in_rungs(p.trial.id, &[p.trial.rungs[0].reward, 0.95]);
            assert!(store.finish(worker, &risen).unwrap());
        }
        mine
    });
    assert_eq!(claimed, [1, 3], "the top third, each once");
    let trials = store.trials().unwrap();
    let rungs: Vec<usize> = trials.iter().map(|t| t.rungs.len()).collect();
    assert_eq!(rungs, [1, 2, 1, 2, 1, 1]);
    assert_eq!(store.counts().unwrap(), counts(0, 0, 6));

    // Any worker restores the kept training exactly; a candidate with none
    // kept restores nothing.
    let restored = std::env::temp_dir().join(format!("{name}-restored"));
    assert!(store.restore_checkpoint(1, &restored).unwrap());
    assert_eq!(
        std::fs::read(restored.join("checkpoint/model.safetensors")).unwrap(),
        [0, 1, 2, 255]
    );
    assert_eq!(
        std::fs::read(restored.join("metrics.jsonl")).unwrap(),
        b"{}\n"
    );
    assert!(!store.restore_checkpoint(3, &restored.join("none")).unwrap());
    assert!(!restored.join("none").exists());

    // Nothing more can rise: the search winds up and drops what it kept.
    assert!(!store.wind_up(7, &TWO_RUNGS).unwrap(), "a seventh is due");
    assert!(store.wind_up(6, &TWO_RUNGS).unwrap());
    assert!(!store.restore_checkpoint(1, &restored.join("gone")).unwrap());
    for dir in [kept, restored] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// A promotion whose worker stops is given back, retried by another, and after
/// too many attempts fails its candidate at that rung (its first rung kept);
/// meanwhile the search does not wind up.
#[test]
fn a_promotion_whose_worker_stops_is_retried_then_failed() {
    let Some(url) = server() else { return };
    let name = run_name("stale-promotion");
    let mut store = PgStore::open(&url, &name, false).unwrap();
    store.save_config(&serde_json::json!({})).unwrap();
    for (id, r) in [(0, 0.5), (1, 0.8), (2, 0.6)] {
        store.append(&in_rungs(id, &[r])).unwrap();
    }
    let first = store
        .claim_promotion("killed", &TWO_RUNGS)
        .unwrap()
        .unwrap();
    assert_eq!((first.trial.id, first.rung, first.attempt), (1, 1, 1));
    assert_eq!(store.counts().unwrap().promoting, 1);
    assert!(
        !store.wind_up(3, &TWO_RUNGS).unwrap(),
        "a rung is in training"
    );
    assert!(
        store
            .claim_promotion("other", &TWO_RUNGS)
            .unwrap()
            .is_none(),
        "the quota of three is one"
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(store.requeue_stale(0.01, 2).unwrap(), (1, 0));
    // The stopped worker's late result is not taken.
    assert!(!store.heartbeat("killed", 1).unwrap());
    assert!(!store.finish("killed", &in_rungs(1, &[0.8, 0.9])).unwrap());
    assert!(!store.wind_up(3, &TWO_RUNGS).unwrap(), "a rung is pending");
    let second = store
        .claim_promotion("second", &TWO_RUNGS)
        .unwrap()
        .unwrap();
    assert_eq!((second.trial.id, second.rung, second.attempt), (1, 1, 2));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(store.requeue_stale(0.01, 2).unwrap(), (0, 1));
    let failed = store.trials().unwrap().remove(1);
    assert_eq!(failed.status, TrialStatus::Failed);
    assert_eq!(failed.rungs.len(), 1, "its first rung stays");
    let why = failed.error.as_deref().unwrap();
    assert!(why.contains("rung 2") && why.contains("2 times"), "{why}");
    // A failed rung is never tried again; nothing else is due.
    assert!(
        store
            .claim_promotion("third", &TWO_RUNGS)
            .unwrap()
            .is_none()
    );
    assert!(store.wind_up(3, &TWO_RUNGS).unwrap());
}
