//! The architecture space of effnas: everything about a network that can be known
//! without building it.
//!
//! Specs flow through the whole pipeline as data. A [`SearchSpace`] decodes a vector
//! of choices into an [`ArchSpec`]; an [`ArchSpec`] expands into [`BlockSpec`]s and
//! their [`Layer`]s, which the analytics count and the `models` crate builds. Nothing
//! here depends on a tensor library.
//!
//! Strategies see a space only as a [`ChoiceSpace`]: option counts, keys, sampling
//! and mutation. Besides the stage spaces, [`nb201`] is NAS-Bench-201's cell space,
//! a tabular yardstick for the strategies.

pub mod analytics;
pub mod arch;
pub mod block;
pub mod choice_space;
pub mod error;
pub mod memory;
pub mod nb201;
pub mod notation;
pub mod plan;
pub mod presets;
pub mod rounding;
pub mod scaler;
pub mod search_space;
pub mod small_images;
pub mod spaces;
mod stage_json;
pub mod timm;
pub mod validate;

pub use analytics::{Analysis, PartCost, analyze};
pub use arch::ArchSpec;
pub use block::{BlockKind, StageSpec};
pub use choice_space::ChoiceSpace;
pub use error::{NotationError, Problem, SpaceError, SpecError};
pub use memory::{MemoryEstimate, estimate_training_memory};
pub use notation::{format_block, format_blocks, parse_block, parse_blocks};
pub use plan::{BlockSpec, Layer};
pub use presets::{PRESET_NAMES, UnknownPreset, preset};
pub use scaler::{FamilyMember, ScaleConfig, family, scale};
pub use search_space::{Choices, SearchSpace, StageChoices};
pub use small_images::{SmallImages, UnknownRule, adapt_strides};
