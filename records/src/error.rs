//! Errors of reading and writing run files: each names the file, and the line
//! where one line of a JSON-lines file is at fault.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The file system refused (missing directory, permissions, a full disk).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// One line of a JSON-lines file is not a record (and not a torn last line).
    #[error("{}: line {line}: {message}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A JSON file that does not hold what it should.
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
}

impl RecordsError {
    pub fn io(path: &Path, source: std::io::Error) -> RecordsError {
        RecordsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn bad_file(path: &Path, message: impl std::fmt::Display) -> RecordsError {
        RecordsError::BadFile {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// The file at fault.
    pub fn path(&self) -> &Path {
        match self {
            RecordsError::Io { path, .. }
            | RecordsError::BadLine { path, .. }
            | RecordsError::BadFile { path, .. } => path,
        }
    }
}
