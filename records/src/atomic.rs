//! Whole files replaced atomically, and JSON files read back.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::RecordsError;

/// Writes `text` to `path` through a synced temporary file and a rename, so after
/// a kill or a power cut a reader finds the old content or the new, never half.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), RecordsError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp: PathBuf = path.with_file_name(name);
    let mut f = File::create(&tmp).map_err(|e| RecordsError::io(&tmp, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| RecordsError::io(&tmp, e))?;
    f.sync_all().map_err(|e| RecordsError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RecordsError::io(path, e))
}

/// `value` as pretty JSON, written atomically.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<(), RecordsError> {
    let text = serde_json::to_string_pretty(value).expect("records serialise");
    write_atomically(path, &text)
}

/// A JSON file read into `T`; `None` if it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, RecordsError> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RecordsError::bad_file(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RecordsError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_replaced_whole_and_read_back() {
        let dir = std::env::temp_dir().join(format!("effnas-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.json");
        write_atomically(&path, "[1]").unwrap();
        write_json_atomically(&path, &vec![1u32, 2]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2]));
        assert!(!dir.join("x.json.tmp").exists());
        assert_eq!(read_json::<u32>(&dir.join("missing.json")).unwrap(), None);
        fs::write(&path, "{").unwrap();
        let e = read_json::<u32>(&path).unwrap_err();
        assert!(matches!(e, RecordsError::BadFile { .. }) && e.path() == path);
        fs::remove_dir_all(&dir).unwrap();
    }
}
