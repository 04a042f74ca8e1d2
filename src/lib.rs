//! effnas: training-aware neural architecture search for EfficientNetV2-style
//! networks. This crate only gathers the workspace's members under one name.

pub use models;
pub use reports;
pub use search;
pub use space;
