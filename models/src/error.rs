//! What can go wrong outside candle's own tensor errors.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid architecture: {0}")]
    Spec(#[from] space::SpecError),
    #[error("unknown device `{0}`: use `cpu`, `cuda` or `cuda:N`")]
    UnknownDevice(String),
    #[error(
        "device `{0}` needs CUDA, but this binary was built without it: rebuild with `--features cuda`"
    )]
    NoCuda(String),
    #[error(
        "cannot open `{device}`: {reason} (is there an NVIDIA GPU with that number and a working driver?)"
    )]
    DeviceUnavailable { device: String, reason: String },
    #[error("{path}: {problem}")]
    Checkpoint { path: PathBuf, problem: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A network that has no form in an export format.
    #[error("cannot export: {0}")]
    Export(String),
}

impl ModelError {
    pub fn checkpoint(path: &std::path::Path, problem: impl std::fmt::Display) -> ModelError {
        ModelError::Checkpoint {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }
}
