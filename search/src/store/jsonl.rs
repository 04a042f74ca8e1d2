//! Append-only JSON-lines files: one record per line, each synced to disk before
//! the append returns, so a killed process loses at most the line it was writing.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

pub(crate) fn err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{}: {e}", path.display()))
}

/// The records of `path` that parse; a missing file holds none. A torn last line
/// (from a killed writer) is skipped, not an error.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err(path, e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Appends one record and syncs it to disk before returning.
pub fn append<T: Serialize>(path: &Path, record: &T) -> Result<(), StoreError> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| err(path, e))?;
    let line = serde_json::to_string(record).expect("records serialise");
    writeln!(f, "{line}").map_err(|e| err(path, e))?;
    f.sync_data().map_err(|e| err(path, e))
}

/// Keeps only the lines of `path` that parse as `T`, so appending after a torn
/// line starts on a fresh line.
pub fn repair<T: DeserializeOwned>(path: &Path) -> Result<(), StoreError> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let clean: String = text
        .lines()
        .filter(|l| serde_json::from_str::<T>(l).is_ok())
        .map(|l| format!("{l}\n"))
        .collect();
    if clean != text {
        write_atomically(path, &clean)?;
    }
    Ok(())
}

/// Writes `text` to `path` through a temporary file and a rename, so a reader
/// sees the old content or the new, never half of it.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(|e| err(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| err(path, e))
}
