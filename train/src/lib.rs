//! Training effnas networks: data sets and augmentation, the trainer with
//! progressive learning and adaptive regularization (paper §4) and the paper's
//! recipe, and the timing of training steps and single operations.
//!
//! - [`data`]: image data sets (IDX, CIFAR, image folders, the embedded
//!   Fashion-MNIST subset) and how a `--data` argument names one;
//! - [`augment`] and [`loader`]: per-image augmentation and seeded, prefetched batches;
//! - [`config`], [`schedule`] and [`progressive`]: what a run trains with — the
//!   paper's recipe, the search's proxy recipe, learning-rate schedules, and the
//!   progressive stages;
//! - [`trainer`]: the training loop, with [`checkpoint`] for exact resume;
//! - [`step_time`] and [`op_time`]: measured training step and op times;
//! - [`rng`]: the seeded random streams every part draws from.

pub mod augment;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod loader;
pub mod loss;
pub mod op_time;
pub mod progressive;
pub mod rng;
pub mod schedule;
pub mod step_time;
pub mod trainer;

pub use config::{OptimizerKind, TrainConfig};
pub use data::{DataError, Dataset, Splits, load_data};
pub use error::{SettingError, TrainError};
pub use progressive::Progressive;
pub use records::StageSettings;
pub use rng::rng_for;
pub use schedule::{LrDecay, LrSchedule};
pub use step_time::{StepTimer, StepTimes};
pub use trainer::{Event, Outcome, TrainReport, Trainer, evaluate};
