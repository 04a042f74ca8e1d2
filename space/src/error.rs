//! Typed errors. Each one names where the problem is (a stage index and a field, in
//! the JSON path a user would edit) and what is wrong with it.

use std::fmt;

/// Where in an architecture spec a problem lies: `stages[2].kernel`, `classes`, …
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// 0-based index into `stages`, or `None` for a field of the spec itself.
    pub stage: Option<usize>,
    pub field: &'static str,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stage {
            Some(i) => write!(f, "stages[{i}].{}", self.field),
            None => f.write_str(self.field),
        }
    }
}

/// What is wrong with the value at a [`Location`].
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// A count that must be at least 1 is 0.
    Zero,
    UnsupportedKernel(usize),
    UnsupportedStride(usize),
    /// SE ratios live in (0, 1].
    SeRatioOutOfRange(f64),
    /// A stage's input channels differ from the previous stage's output (or the stem).
    ChannelMismatch {
        expected: usize,
        found: usize,
    },
    /// A count above the supported ceiling.
    TooLarge {
        value: usize,
        max: usize,
    },
    /// A probability or rate outside its interval.
    OutOfRange {
        value: f64,
        allowed: &'static str,
    },
    /// The image would shrink to 1×1 before the network's last downsampling layer.
    ImageTooSmall {
        size: usize,
        min: usize,
        total_stride: usize,
    },
    NoStages,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Zero => f.write_str("must be at least 1, got 0"),
            Problem::UnsupportedKernel(k) => {
                write!(f, "kernel {k} is not supported (use 1, 3, 5 or 7)")
            }
            Problem::UnsupportedStride(s) => write!(f, "stride {s} is not supported (use 1 or 2)"),
            Problem::SeRatioOutOfRange(r) => {
                write!(f, "SE ratio {r} is outside (0, 1]; leave it out for no SE")
            }
            Problem::ChannelMismatch { expected, found } => write!(
                f,
                "{found} input channels, but the layer before outputs {expected}"
            ),
            Problem::TooLarge { value, max } => {
                write!(f, "{value} is above the supported maximum {max}")
            }
            Problem::OutOfRange { value, allowed } => write!(f, "{value} is outside {allowed}"),
            Problem::ImageTooSmall {
                size,
                min,
                total_stride,
            } => write!(
                f,
                "{size} px is too small for a network with total stride {total_stride}: \
                 the image would shrink to 1x1 before the last downsampling layer \
                 (need at least {min} px)"
            ),
            Problem::NoStages => f.write_str("a network needs at least one stage"),
        }
    }
}

/// An architecture spec that cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct SpecError {
    pub location: Location,
    pub problem: Problem,
}

impl SpecError {
    pub fn stage(stage: usize, field: &'static str, problem: Problem) -> Self {
        SpecError {
            location: Location {
                stage: Some(stage),
                field,
            },
            problem,
        }
    }

    pub fn field(field: &'static str, problem: Problem) -> Self {
        SpecError {
            location: Location { stage: None, field },
            problem,
        }
    }
}

/// A block string in the official notation that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("block `{block}`: {problem}")]
pub struct NotationError {
    pub block: String,
    pub problem: NotationProblem,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotationProblem {
    #[error("empty block string")]
    Empty,
    #[error("missing `{0}` (every block needs r, k, s, e, i and o)")]
    Missing(&'static str),
    #[error("`{0}` appears twice")]
    Duplicate(String),
    #[error("unknown option `{0}` (known: r, k, s, e, i, o, se, c)")]
    Unknown(String),
    #[error("`{token}`: `{value}` is not a {expected}")]
    BadValue {
        token: String,
        value: String,
        expected: &'static str,
    },
    #[error("stride `s{0}` differs between height and width; only square strides are supported")]
    AsymmetricStride(String),
    #[error("`c{0}`: conv type must be 0 (MBConv) or 1 (Fused-MBConv)")]
    ConvType(String),
}

/// A search space, or a point in one, that is not usable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpaceError {
    #[error("stages[{stage}].{field}: {problem}")]
    Stage {
        stage: usize,
        field: &'static str,
        problem: String,
    },
    #[error("{field}: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("choice vector has {found} entries; this space needs {expected}")]
    ChoiceLength { expected: usize, found: usize },
    #[error(
        "choice {position} (stages[{stage}].{field}) is {index}, but only {options} options exist"
    )]
    ChoiceIndex {
        position: usize,
        stage: usize,
        field: &'static str,
        index: usize,
        options: usize,
    },
    #[error("every stage has 0 repeats: the decoded network would have no blocks")]
    NoBlocks,
    #[error("decoded architecture is invalid: {0}")]
    Spec(#[from] SpecError),
}
