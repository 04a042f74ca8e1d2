//! Reproducing the paper's findings on this machine (`search reproduce`): the
//! Table 2 and Table 3 analogs, the search, and the found network's family, each
//! recorded in one directory (`records::ReproductionDir`) as it finishes, so a
//! reproduction cut off at any point resumes where it stopped. The report reads
//! only these files.
//!
//! - [`plan`]: what a reproduction runs, full or in miniature;
//! - [`throughput`]: Table 2, training throughput against image and batch size;
//! - [`fused`]: Table 3, Fused-MBConv in the early stages;
//! - [`family`]: the search's best network scaled to S/M/L;
//! - [`miniature`]: the networks and spaces of the quick variant.
//!
//! The search phase in between is an ordinary search, run with the plan's flags.

pub mod family;
pub mod fused;
pub mod miniature;
pub mod plan;
pub mod throughput;

pub use family::{FamilyOutcome, scale_best};
pub use fused::run_fused;
pub use plan::Plan;
pub use throughput::{ThroughputPlan, run_throughput};

/// What the experiments tell an observer as they go.
pub enum Progress<'a> {
    /// Table 2: point `index` of `total` is being measured.
    Point {
        index: usize,
        total: usize,
        network: &'a str,
        size: usize,
        batch: usize,
    },
    PointMeasured(&'a records::ThroughputRecord),
    /// Table 3: variant `index` of `total` is being evaluated.
    Variant {
        index: usize,
        total: usize,
        name: &'a str,
    },
    VariantEvaluated(&'a records::Trial),
}
