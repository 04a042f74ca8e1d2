//! effnas: training-aware neural architecture search for EfficientNetV2-style
//! networks. This crate only gathers the workspace's libraries under one name; the
//! `search` package holds the command line.

pub use models;
pub use nas;
pub use records;
pub use reports;
pub use space;
pub use train;
