//! Append-only JSON-lines files: one record per line, each flushed and synced to
//! disk before the append returns, so a killed process loses at most the line it
//! was writing. That torn line (the bytes after the last newline) is skipped when
//! read and cut off by [`repair`]; any other line that does not parse is an error
//! naming the file and line, never silently lost.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::atomic::write_atomically;
use crate::error::RecordsError;

/// The file's bytes and where its complete lines end (`None`: no file).
fn complete_lines(path: &Path) -> Result<Option<(Vec<u8>, usize)>, RecordsError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RecordsError::io(path, e)),
    };
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some((bytes, end)))
}

/// The complete, non-blank lines of `path` with their 1-based numbers.
fn lines(path: &Path) -> Result<Vec<(usize, String)>, RecordsError> {
    let Some((bytes, end)) = complete_lines(path)? else {
        return Ok(Vec::new());
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|e| RecordsError::bad_file(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect())
}

fn parse<T: DeserializeOwned>(path: &Path, line: usize, text: &str) -> Result<T, RecordsError> {
    serde_json::from_str(text).map_err(|e| RecordsError::BadLine {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    })
}

/// The records of `path`; a missing file holds none, a torn last line is skipped.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, RecordsError> {
    lines(path)?
        .iter()
        .map(|(n, l)| parse(path, *n, l))
        .collect()
}

/// Appends one record, flushed and synced to disk before returning.
pub fn append<T: Serialize>(path: &Path, record: &T) -> Result<(), RecordsError> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| RecordsError::io(path, e))?;
    let line = serde_json::to_string(record).expect("records serialise");
    writeln!(f, "{line}").map_err(|e| RecordsError::io(path, e))?;
    f.flush().map_err(|e| RecordsError::io(path, e))?;
    f.sync_data().map_err(|e| RecordsError::io(path, e))
}

/// Cuts a torn last line off `path`, so the next append starts on a fresh line.
pub fn repair(path: &Path) -> Result<(), RecordsError> {
    if let Some((bytes, end)) = complete_lines(path)?
        && end < bytes.len()
    {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| RecordsError::io(path, e))?;
        file.set_len(end as u64)
            .map_err(|e| RecordsError::io(path, e))?;
        file.sync_all().map_err(|e| RecordsError::io(path, e))?;
    }
    Ok(())
}

/// Keeps the records for which `keep` holds, as they were written, and drops the
/// rest (and a torn last line); the file is replaced atomically.
pub fn retain<T: DeserializeOwned>(
    path: &Path,
    keep: impl Fn(&T) -> bool,
) -> Result<(), RecordsError> {
    if !path.exists() {
        return Ok(());
    }
    let mut kept = String::new();
    for (n, line) in lines(path)? {
        if keep(&parse(path, n, &line)?) {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    write_atomically(path, &kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("effnas-jsonl-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_torn_last_line_is_cut_and_other_bad_lines_are_errors() {
        let dir = scratch("torn");
        let path = dir.join("records.jsonl");
        assert!(read::<u32>(&path).unwrap().is_empty());
        append(&path, &1u32).unwrap();
        append(&path, &2u32).unwrap();
        // A kill in the middle of a multi-byte character.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&"\"é".as_bytes()[..2]).unwrap();
        assert_eq!(read::<u32>(&path).unwrap(), [1, 2]);
        repair(&path).unwrap();
        append(&path, &3u32).unwrap();
        assert_eq!(read::<u32>(&path).unwrap(), [1, 2, 3]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n2\n3\n");

        fs::write(&path, "1\nnot json\n3\n").unwrap();
        let e = read::<u32>(&path).unwrap_err();
        assert!(matches!(e, RecordsError::BadLine { line: 2, .. }), "{e}");
        assert!(e.to_string().contains("records.jsonl: line 2"), "{e}");
        repair(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\nnot json\n3\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn retain_keeps_lines_as_written_and_drops_a_torn_one() {
        let dir = scratch("retain");
        let path = dir.join("records.jsonl");
        retain::<u32>(&path, |_| true).unwrap();
        assert!(!path.exists(), "nothing is created");
        fs::write(&path, "1\n{\"b\": 2, \"a\": 1}\n 3\n4").unwrap();
        retain::<serde_json::Value>(&path, |v| v != &serde_json::json!(1)).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "{\"b\": 2, \"a\": 1}\n 3\n"
        );
        fs::write(&path, "1\nx\n").unwrap();
        assert!(retain::<u32>(&path, |_| true).is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\nx\n", "untouched");
        fs::remove_dir_all(&dir).unwrap();
    }
}
