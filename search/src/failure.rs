//! How a command fails: bad input (exit code 2) or a runtime failure (exit code 1),
//! always with a message that names the problem.

use std::fmt;
use std::process::ExitCode;

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// The user asked for something impossible: a malformed file, an unknown name,
    /// an invalid architecture. Exit code 2.
    BadInput(String),
    /// Valid input, but the work failed. Exit code 1.
    Runtime(String),
}

impl Failure {
    pub fn bad_input(message: impl fmt::Display) -> Failure {
        Failure::BadInput(message.to_string())
    }

    pub fn runtime(message: impl fmt::Display) -> Failure {
        Failure::Runtime(message.to_string())
    }

    /// A store's error: a record it cannot read (a corrupt or foreign run
    /// directory, a damaged row) is the user's to fix; a file system or database
    /// that fails is a runtime failure.
    pub fn store(e: nas::store::StoreError) -> Failure {
        use nas::store::StoreError;
        use records::RecordsError;
        match &e {
            StoreError::Files(RecordsError::BadLine { .. } | RecordsError::BadFile { .. })
            | StoreError::Corrupt { .. } => Failure::bad_input(e),
            _ => Failure::runtime(e),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::BadInput(_) => ExitCode::from(2),
            Failure::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::BadInput(m) | Failure::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}
