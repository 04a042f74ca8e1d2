//! What every CLI test uses: running the binary, reading what it printed, scratch
//! directories, and the tiny search the fixtures make.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn search(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_search"))
        .args(args)
        .output()
        .expect("the search binary runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Asserts exit code 2 and that the message on stderr contains `needle`.
pub fn bad_input(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(out));
    assert!(
        stderr(out).contains(needle),
        "expected {needle:?} in: {}",
        stderr(out)
    );
}

/// A shared fixture (`tests/fixtures/` at the workspace's root).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// The tiny search space, as text.
pub fn tiny_space() -> String {
    std::fs::read_to_string(fixture("tiny-space.json")).unwrap()
}

/// The flags of a search small enough for tests, writing to `out`.
pub fn tiny_search(out: &Path, budget: &str) -> Vec<String> {
    let mut flags = tiny_search_flags(budget);
    flags.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    flags
}

/// The flags of a search small enough for tests, less where it is kept.
pub fn tiny_search_flags(budget: &str) -> Vec<String> {
    let (space, reference) = (fixture("tiny-space.json"), fixture("tiny-reference.json"));
    [
        "--budget",
        budget,
        "--space",
        space.to_str().unwrap(),
        "--reference",
        reference.to_str().unwrap(),
        "--references",
        reference.to_str().unwrap(),
        "--proxy-epochs",
        "1",
        "--proxy-batch",
        "64",
        "--proxy-size",
        "16",
        "--step-batch",
        "2",
        "--step-size",
        "16",
        "--step-steps",
        "1",
        "--seed",
        "3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn trial_lines(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("trials.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}
