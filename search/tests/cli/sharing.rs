//! A search shared through PostgreSQL: starter, workers, coordinator, pull; each
//! test needs the server `EFFNAS_TEST_POSTGRES` names (`.ci/run` starts one).

use std::process::Command;

use crate::common::*;

/// The test server's URL, or `None` (and a note) where there is none.
fn server() -> Option<String> {
    let url = std::env::var("EFFNAS_TEST_POSTGRES").ok();
    if url.is_none() {
        eprintln!("EFFNAS_TEST_POSTGRES is not set: no PostgreSQL server to test against");
    }
    url
}

/// The tiny search kept in the database at `url` as `name`, with `extra` flags.
fn shared_search(url: &str, name: &str, budget: &str, extra: &[&str]) -> Vec<String> {
    let mut flags = tiny_search_flags(budget);
    flags.extend(["--store", url, "--run", name].map(String::from));
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

/// `search ARGS` in the background, its stderr in `log`.
fn spawn_logged(args: &[String], log: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_search"))
        .args(args)
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// `search worker --name id` on the search `name`, its stderr in `dir/<id>.log`.
fn spawn_worker(url: &str, name: &str, id: &str, dir: &std::path::Path) -> std::process::Child {
    let args = ["worker", "--store", url, "--run", name, "--name", id].map(String::from);
    spawn_logged(&args, &dir.join(format!("{id}.log")))
}

/// Waits until `ready` gives a value, failing with `what` after `secs` seconds.
fn wait_for<T>(secs: u64, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(started.elapsed().as_secs() < secs, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until the search `name` is in the database (its first process made it).
fn wait_for_run(db: &mut postgres::Client, name: &str) {
    wait_for(60, "the search never appeared", || {
        db.query_opt("SELECT 1 FROM effnas_runs WHERE name = $1", &[&name])
            .unwrap()
    });
}

/// The trials of the search `name` as the database holds them: (id, state,
/// attempts, result), by id.
fn trial_rows(
    db: &mut postgres::Client,
    name: &str,
) -> Vec<(i32, String, i32, Option<serde_json::Value>)> {
    db.query(
        "SELECT t.id, t.state, t.attempts, t.result FROM effnas_trials t
         JOIN effnas_runs r ON r.id = t.run_id WHERE r.name = $1 ORDER BY t.id",
        &[&name],
    )
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

/// A search in PostgreSQL with three processes (the one that starts it and two
/// `search worker`s); one worker is killed with SIGKILL while it holds a trial. The
/// budget is still finished, every trial exactly once, and the killed one retried.
/// Needs the server `EFFNAS_TEST_POSTGRES` names (`.ci/run` starts one).
#[test]
fn a_shared_search_survives_a_killed_worker() {
    let Some(url) = server() else { return };
    let dir = scratch("shared");
    let name = format!("cli-shared-{}", std::process::id());
    let args = shared_search(&url, &name, "6", &["--heartbeat", "0.2", "--grace", "1"]);
    let starter = spawn_logged(&args, &dir.join("starter.log"));
    // On a fresh server the schema appears with the first process; make it now.
    let mut db = nas::store::postgres::connect(&url).unwrap();
    wait_for_run(&mut db, &name);
    let mut doomed = spawn_worker(&url, &name, "doomed", &dir);
    let mut survivor = spawn_worker(&url, &name, "survivor", &dir);
    // A coordinator too: it keeps proposals queued, the workers add their own.
    let args = ["coordinate", "--store", &url, "--run", &name].map(String::from);
    let mut coordinator = spawn_logged(&args, &dir.join("coordinator.log"));
    // Kill the doomed worker while it holds a trial.
    let held = wait_for(120, "the doomed worker never claimed a trial", || {
        db.query_opt(
            "SELECT t.id FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
             WHERE r.name = $1 AND t.worker = 'doomed' AND t.state = 'running'",
            &[&name],
        )
        .unwrap()
        .map(|row| row.get::<_, i32>(0))
    });
    doomed.kill().unwrap(); // SIGKILL
    doomed.wait().unwrap();
    let log = |id: &str| std::fs::read_to_string(dir.join(format!("{id}.log"))).unwrap();
    assert!(survivor.wait().unwrap().success(), "{}", log("survivor"));
    let mut starter = starter;
    assert!(starter.wait().unwrap().success(), "{}", log("starter"));
    assert!(
        coordinator.wait().unwrap().success(),
        "{}",
        log("coordinator")
    );

    let rows = trial_rows(&mut db, &name);
    let ids: Vec<i32> = rows.iter().map(|r| r.0).collect();
    assert_eq!(ids, (0..6).collect::<Vec<_>>());
    for (_, state, _, _) in &rows {
        assert!(
            ["done", "failed", "skipped"].contains(&state.as_str()),
            "{state}"
        );
    }
    let attempts = rows.iter().find(|r| r.0 == held).unwrap().2;
    assert_eq!(attempts, 2, "the killed worker's trial is retried once");

    // Pulled into a run directory, it reports like any run.
    let pulled = dir.join("pulled");
    let pull = |out: &std::path::Path| {
        search(&[
            "pull",
            "--store",
            &url,
            "--run",
            &name,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = pull(&pulled);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(trial_lines(&pulled).len(), 6);
    let out = search(&["report", pulled.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pulled.join("report/index.html").exists());
    bad_input(&pull(&pulled), "not empty");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Unreachable servers, wrong passwords and searches that are not there: exit 2, a
/// message naming the problem, and nothing written.
#[test]
fn shared_search_bad_input_exits_with_code_2() {
    let Some(url) = server() else { return };
    let nowhere = "postgres://effnas:effnas@127.0.0.1:1/effnas";
    bad_input(
        &search(&["worker", "--store", nowhere, "--run", "x"]),
        "cannot connect to postgres://effnas:***@127.0.0.1:1",
    );
    let wrong = url.replacen(":effnas@", ":wrong@", 1);
    let out = search(&["worker", "--store", &wrong, "--run", "x"]);
    bad_input(&out, "password authentication failed");
    assert!(
        !stderr(&out).contains(":wrong@"),
        "the password is not printed"
    );
    let missing = format!("missing-{}", std::process::id());
    for command in ["worker", "coordinate"] {
        bad_input(
            &search(&[command, "--store", &url, "--run", &missing]),
            "no search named",
        );
    }
    let dir = scratch("pull-missing");
    let out_dir = dir.join("out");
    let out_arg = out_dir.to_str().unwrap();
    bad_input(
        &search(&["pull", "--store", &url, "--run", &missing, "--out", out_arg]),
        "no search named",
    );
    assert!(!out_dir.exists(), "nothing written");
    bad_input(&search(&["--store", &url]), "--run");
    bad_input(
        &search(&["--store", &url, "--run", &missing, "--resume"]),
        "no search named",
    );
    let mut db = nas::store::postgres::connect(&url).unwrap(); // after the commands
    let runs = db
        .query("SELECT 1 FROM effnas_runs WHERE name = $1", &[&missing])
        .unwrap();
    assert!(runs.is_empty(), "no search was created");
    std::fs::remove_dir_all(dir).unwrap();
}

/// REINFORCE's workers only evaluate: `search coordinate` proposes for them.
#[test]
fn a_shared_reinforce_search_is_fed_by_its_coordinator() {
    let Some(url) = server() else { return };
    let dir = scratch("shared-reinforce");
    let name = format!("cli-reinforce-{}", std::process::id());
    let args = shared_search(&url, &name, "3", &["--strategy", "reinforce"]);
    let starter = spawn_logged(&args, &dir.join("starter.log"));
    // The coordinator may start before the search exists: it is refused, and retried.
    let started = std::time::Instant::now();
    let coordinated = loop {
        let out = search(&[
            "coordinate",
            "--store",
            &url,
            "--run",
            &name,
            "--queue",
            "1",
        ]);
        if out.status.success() {
            break out;
        }
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(started.elapsed().as_secs() < 60, "{}", stderr(&out));
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        stderr(&coordinated).contains("3 proposals made here"),
        "{}",
        stderr(&coordinated)
    );
    let mut starter = starter;
    let log = std::fs::read_to_string(dir.join("starter.log")).unwrap_or_default();
    assert!(starter.wait().unwrap().success(), "{log}");
    let pulled = dir.join("pulled");
    let out = search(&[
        "pull",
        "--store",
        &url,
        "--run",
        &name,
        "--out",
        pulled.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(trial_lines(&pulled).len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Successive halving in a shared search: two processes (the one that starts it
/// and a `search worker`) share the candidates and their promotions; every rung
/// is trained once, by whichever worker claims it, from the training the other
/// kept in the database, and nothing is kept once the search ends.
#[test]
fn two_workers_share_the_rungs_of_a_shared_search() {
    let Some(url) = server() else { return };
    let dir = scratch("shared-rungs");
    let name = format!("cli-shared-rungs-{}", std::process::id());
    let mut args = shared_search(&url, &name, "6", &["--rungs", "2", "--rung-min-size", "12"]);
    let epochs = args.iter().position(|a| a == "--proxy-epochs").unwrap();
    args[epochs + 1] = "2".into();
    let mut starter = spawn_logged(&args, &dir.join("starter.log"));
    let mut db = nas::store::postgres::connect(&url).unwrap();
    wait_for_run(&mut db, &name);
    let mut worker = spawn_worker(&url, &name, "second", &dir);
    let log = |id: &str| std::fs::read_to_string(dir.join(format!("{id}.log"))).unwrap();
    assert!(starter.wait().unwrap().success(), "{}", log("starter"));
    assert!(worker.wait().unwrap().success(), "{}", log("second"));

    let trials: Vec<(i32, String, serde_json::Value)> = trial_rows(&mut db, &name)
        .into_iter()
        .map(|(id, state, _, result)| (id, state, result.unwrap_or_default()))
        .collect();
    assert_eq!(trials.len(), 6);
    let rungs = |result: &serde_json::Value| result["rungs"].as_array().unwrap().clone();
    let mut by_first = Vec::new();
    for (id, state, result) in &trials {
        assert_eq!(state, "done", "#{id}: {result}");
        by_first.push((rungs(result)[0]["reward"].as_f64().unwrap(), *id));
    }
    // The two best first rungs rose (plus at most one that led earlier).
    by_first.sort_by(|a, b| b.0.total_cmp(&a.0));
    let risen: Vec<i32> = trials
        .iter()
        .filter(|t| rungs(&t.2).len() == 2)
        .map(|t| t.0)
        .collect();
    assert!((2..=3).contains(&risen.len()), "{risen:?}");
    assert!(by_first[..2].iter().all(|(_, id)| risen.contains(id)));
    // Each promotion claimed once and finished at its first attempt.
    let promotions: Vec<(i32, i32, String, i32)> = db
        .query(
            "SELECT p.id, p.rung, p.state, p.attempts FROM effnas_promotions p
             JOIN effnas_runs r ON r.id = p.run_id WHERE r.name = $1 ORDER BY p.id",
            &[&name],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let expected: Vec<(i32, i32, String, i32)> =
        risen.iter().map(|&id| (id, 1, "done".into(), 1)).collect();
    assert_eq!(promotions, expected);
    // Every rung trained once: a start per candidate and a rise per promotion
    // across both workers' logs.
    let logs = log("starter") + &log("second");
    assert_eq!(logs.matches("evaluating #").count(), 6, "{logs}");
    assert_eq!(
        logs.matches("rises to rung 2/2").count(),
        risen.len(),
        "{logs}"
    );
    let kept: i64 = db
        .query_one(
            "SELECT count(*) FROM effnas_checkpoints c JOIN effnas_runs r ON r.id = c.run_id
             WHERE r.name = $1",
            &[&name],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 0, "nothing kept once the search ends");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The database cuts a shared search's connections (as a server restart does)
/// while a worker trains: the worker reconnects and goes on, and every trial is
/// still evaluated once.
#[test]
fn a_shared_search_survives_its_connections_being_cut() {
    let Some(url) = server() else { return };
    let dir = scratch("shared-cut");
    let name = format!("cli-shared-cut-{}", std::process::id());
    // Its own application name, so that only its connections are cut.
    let app = format!("effnas-cut-{}", std::process::id());
    let cut_url = format!("{url}?application_name={app}");
    let args = shared_search(&cut_url, &name, "4", &["--heartbeat", "0.2"]);
    let mut starter = spawn_logged(&args, &dir.join("starter.log"));
    let mut db = nas::store::postgres::connect(&url).unwrap();
    wait_for(120, "no trial ever ran", || {
        db.query_opt(
            "SELECT 1 FROM effnas_trials t JOIN effnas_runs r ON r.id = t.run_id
             WHERE r.name = $1 AND t.state = 'running'",
            &[&name],
        )
        .unwrap()
    });
    let mut cut = 0;
    for _ in 0..3 {
        cut += db
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .unwrap()
            .len();
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    assert!(cut >= 2, "the search's connections were cut ({cut})");
    let log = || std::fs::read_to_string(dir.join("starter.log")).unwrap();
    assert!(starter.wait().unwrap().success(), "{}", log());
    let rows: Vec<(i32, String, i32)> = trial_rows(&mut db, &name)
        .into_iter()
        .map(|(id, state, attempts, _)| (id, state, attempts))
        .collect();
    let expected: Vec<(i32, String, i32)> = (0..4).map(|id| (id, "done".into(), 1)).collect();
    assert_eq!(rows, expected, "{}", log());
    assert_eq!(log().matches("evaluating #").count(), 4, "{}", log());
    std::fs::remove_dir_all(dir).unwrap();
}
