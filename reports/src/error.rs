use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory holds neither a search nor a training run.
    #[error("{0}: not a run directory (no trials.jsonl or metrics.jsonl)")]
    NotARun(PathBuf),
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("drawing {plot}: {message}")]
    Plot { plot: String, message: String },
}

impl ReportError {
    pub fn read(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> ReportError {
        ReportError::Read {
            path: path.into(),
            message: e.to_string(),
        }
    }

    pub fn write(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> ReportError {
        ReportError::Write {
            path: path.into(),
            message: e.to_string(),
        }
    }

    /// Bad input (exit code 2 in the CLI) rather than a failure while writing.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ReportError::NotARun(_) | ReportError::Read { .. })
    }
}
