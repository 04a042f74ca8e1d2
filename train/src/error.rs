//! What stops a training run.

/// A setting that cannot work, named with the rule it breaks (bad input).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{setting} {value} must be {rule}")]
pub struct SettingError {
    /// `learning rate`, `progressive schedule: size`, …
    pub setting: String,
    pub value: String,
    pub rule: String,
}

impl SettingError {
    pub fn new(
        setting: impl Into<String>,
        value: impl std::fmt::Display,
        rule: impl Into<String>,
    ) -> SettingError {
        SettingError {
            setting: setting.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }

    /// The same problem, in a named part of a larger setting.
    pub fn within(self, part: &str) -> SettingError {
        SettingError {
            setting: format!("{part}: {}", self.setting),
            ..self
        }
    }
}

/// A training run that could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting is impossible (bad input).
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The network cannot train at the schedule's image sizes (bad input).
    #[error("stage {stage}: {source}")]
    ImageSize {
        stage: usize,
        source: space::SpecError,
    },
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("{0}")]
    Tensor(#[from] candle_core::Error),
    /// The run directory could not be read or written.
    #[error(transparent)]
    Files(#[from] records::RecordsError),
}

impl TrainError {
    /// Whether the user's input is at fault (exit code 2 in the CLI).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, TrainError::Setting(_) | TrainError::ImageSize { .. })
    }
}
