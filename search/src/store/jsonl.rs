//! Append-only JSON-lines files: one record per line, each synced to disk before
//! the append returns, so a killed process loses at most the line it was writing.
//! That torn line (bytes after the last newline) is dropped; any other line that
//! does not parse is an error naming the file and line, never silently lost.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

pub(crate) fn err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{}: {e}", path.display()))
}

/// The file's bytes up to and including its last newline (`None`: no file).
fn complete_lines(path: &Path) -> Result<Option<(Vec<u8>, usize)>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(path, e)),
    };
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some((bytes, end)))
}

/// The records of `path`; a missing file holds none, a torn last line is skipped.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, StoreError> {
    let Some((bytes, end)) = complete_lines(path)? else {
        return Ok(Vec::new());
    };
    let text = std::str::from_utf8(&bytes[..end]).map_err(|e| err(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| err(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
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

/// Cuts a torn last line off `path`, so the next append starts on a fresh line.
pub fn repair(path: &Path) -> Result<(), StoreError> {
    if let Some((bytes, end)) = complete_lines(path)?
        && end < bytes.len()
    {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| err(path, e))?;
        file.set_len(end as u64).map_err(|e| err(path, e))?;
        file.sync_all().map_err(|e| err(path, e))?;
    }
    Ok(())
}

/// Writes `text` to `path` through a synced temporary file and a rename, so after
/// a kill or a power cut a reader finds the old content or the new, never half.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), StoreError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp: PathBuf = path.with_file_name(name);
    let mut f = File::create(&tmp).map_err(|e| err(&tmp, e))?;
    f.write_all(text.as_bytes()).map_err(|e| err(&tmp, e))?;
    f.sync_all().map_err(|e| err(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| err(path, e))
}

/// A JSON file read into `T`; `None` if it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| err(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_and_other_bad_lines_are_errors() {
        let dir = std::env::temp_dir().join(format!("effnas-jsonl-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.jsonl");
        let _ = fs::remove_file(&path);
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
        let e = read::<u32>(&path).unwrap_err().to_string();
        assert!(e.contains("records.jsonl: line 2"), "{e}");
        repair(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\nnot json\n3\n");

        write_atomically(&dir.join("x.json"), "[1]").unwrap();
        assert_eq!(
            read_json::<Vec<u32>>(&dir.join("x.json")).unwrap(),
            Some(vec![1])
        );
        assert_eq!(read_json::<u32>(&dir.join("missing.json")).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
