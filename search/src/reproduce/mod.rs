//! Reproducing the paper's findings on this machine (`search reproduce`): the
//! Table 2 and Table 3 analogs, the search, and the found network's family, each
//! recorded in one directory as it finishes, so a reproduction cut off at any
//! point resumes where it stopped. The report (`reports::reproduction`) reads
//! only these files.

pub mod fused;
pub mod miniature;
pub mod throughput;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use space::ArchSpec;

pub use throughput::{PointStatus, ThroughputPlan, ThroughputPoint};

/// What a reproduction runs, saved as `reproduction.json` when it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The miniature variant (`--quick`).
    pub quick: bool,
    pub seed: u64,
    /// Backbones of the Table 3 analog; each is evaluated with stages 1-3, 1-5
    /// and all fused, as well as unchanged.
    pub backbones: Vec<ArchSpec>,
    /// The Table 2 analog.
    pub throughput: ThroughputPlan,
    /// The flags of the search phase, exactly as `search` takes them (less
    /// `--budget`, which is `search_budget`).
    pub search_args: Vec<String>,
    pub search_budget: u64,
    /// The network the found one is compared with, stage by stage.
    pub compare_with: ArchSpec,
}

/// Where each part of a reproduction lives.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }
    /// The plan; its presence marks a reproduction directory.
    pub fn plan(&self) -> PathBuf {
        self.root.join(PLAN_FILE)
    }
    /// Table 2 analog: one [`ThroughputPoint`] per line.
    pub fn throughput(&self) -> PathBuf {
        self.root.join("throughput.jsonl")
    }
    /// Table 3 analog: one evaluated variant (a search trial record) per line.
    pub fn fused(&self) -> PathBuf {
        self.root.join("fused.jsonl")
    }
    /// The search's own run directory.
    pub fn search(&self) -> PathBuf {
        self.root.join("search")
    }
    /// The found network scaled to S/M/L (`space::FamilyMember`s).
    pub fn family(&self) -> PathBuf {
        self.root.join("family.json")
    }
    /// Spec and space files the plan's search flags name (the quick variant's
    /// miniatures).
    pub fn networks(&self) -> PathBuf {
        self.root.join("networks")
    }
}

/// The file that marks a reproduction directory (the name reports look for).
pub const PLAN_FILE: &str = reports::run::REPRODUCTION_PLAN;
