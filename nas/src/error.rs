//! What stops a search (a failing candidate does not: it becomes a failed trial).

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NasError {
    /// The store could not record or read trials.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A search needs at least one device to evaluate on.
    #[error("no device to evaluate on")]
    NoDevice,
    /// A reproduction's files could not be read or written.
    #[error(transparent)]
    Files(#[from] records::RecordsError),
    /// A model could not be built or timed.
    #[error(transparent)]
    Model(#[from] models::ModelError),
    /// A reproduction's data could not be loaded.
    #[error(transparent)]
    Data(#[from] train::DataError),
    /// A saved search or reproduction this version cannot continue.
    #[error("{0}")]
    Saved(String),
}
