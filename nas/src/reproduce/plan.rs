//! What a reproduction runs, saved as `reproduction.json` when it starts: the full
//! reproduction (B0 and B4 for Table 3, B4 for Table 2 — the paper used B6, too slow
//! here — and the paper's space and reward for the search), or the quick one, the
//! same experiments on miniatures in about a minute.

use std::path::Path;

use records::{RecordsError, ReproductionDir};
use serde::{Deserialize, Serialize};
use space::spaces::builtin_space;
use space::{ArchSpec, estimate_training_memory, preset};

use super::miniature::{miniature, miniature_space};
use super::throughput::ThroughputPlan;
use crate::error::NasError;

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

const GIB: u64 = 1 << 30;
/// The networks of the paper's Pareto plot.
const REFERENCES: [&str; 3] = ["efficientnet-b0", "efficientnetv2-b0", "efficientnetv2-s"];

fn named(name: &str) -> ArchSpec {
    preset(name).expect("the plans name presets")
}

impl Plan {
    /// The full reproduction; `data` is the search's `--data`, if given.
    pub fn full(seed: u64, budget: Option<u64>, data: Option<&str>) -> Plan {
        // The paper trained every candidate of its search in full: no halving.
        let mut search_args = vec![
            "--seed".into(),
            seed.to_string(),
            "--references".into(),
            REFERENCES.join(","),
            "--rungs".into(),
            "1".into(),
        ];
        if let Some(data) = data {
            search_args.extend(["--data".into(), data.into()]);
        }
        Plan {
            quick: false,
            seed,
            backbones: vec![named("efficientnet-b0"), named("efficientnet-b4")],
            throughput: ThroughputPlan {
                network: named("efficientnet-b4"),
                sizes: vec![128, 192, 256, 320],
                batches: vec![8, 16, 32],
                steps: 3,
                memory_cap_bytes: 8 * GIB,
            },
            search_budget: budget.unwrap_or(100),
            search_args,
            compare_with: named("efficientnetv2-s"),
        }
    }

    /// The quick reproduction: miniatures of every network and of the paper's
    /// space, written to `dir`'s `networks/` so the search phase can name them (by
    /// absolute path, which a resume from another working directory still finds).
    pub fn quick(
        seed: u64,
        budget: Option<u64>,
        data: Option<&str>,
        dir: &ReproductionDir,
    ) -> Result<Plan, NasError> {
        let networks = dir.networks();
        std::fs::create_dir_all(&networks).map_err(|e| RecordsError::io(&networks, e))?;
        let write = |name: &str, text: String| -> Result<String, RecordsError> {
            let path = networks.join(format!("{name}.json"));
            records::write_atomically(&path, &text)?;
            let path = path
                .canonicalize()
                .map_err(|e| RecordsError::io(&path, e))?;
            Ok(path_arg(&path))
        };
        let mini = |name: &str| miniature(&named(name));
        let references = REFERENCES
            .iter()
            .map(|name| {
                let spec = mini(name);
                write(&spec.name, spec.to_json())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let space = miniature_space(&builtin_space("paper").expect("a built-in space"));
        let space_file = write(&space.name, space.to_json())?;
        let b4 = mini("efficientnet-b4");
        // The largest point is over the cap, as B6 at 512 px was in the paper.
        let largest = estimate_training_memory(&b4, 4, 64)
            .expect("miniatures of presets are valid (tested)")
            .total;
        let seed_arg = seed.to_string();
        let mut search_args: Vec<String> = [
            "--space",
            &space_file,
            "--reference",
            &references[0],
            "--references",
            &references.join(","),
            "--proxy-epochs",
            "1",
            "--rungs",
            "1",
            "--proxy-size",
            "32",
            "--step-batch",
            "2",
            "--step-size",
            "32",
            "--step-steps",
            "1",
            "--seed",
            &seed_arg,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(data) = data {
            search_args.extend(["--data".into(), data.into()]);
        }
        Ok(Plan {
            quick: true,
            seed,
            backbones: vec![mini("efficientnet-b0"), b4.clone()],
            throughput: ThroughputPlan {
                network: b4,
                sizes: vec![32, 64],
                batches: vec![2, 4],
                steps: 1,
                memory_cap_bytes: largest - 1,
            },
            search_budget: budget.unwrap_or(2),
            search_args,
            compare_with: mini("efficientnetv2-s"),
        })
    }

    /// The plan saved in `dir`, if any.
    pub fn load(dir: &ReproductionDir) -> Result<Option<Plan>, RecordsError> {
        records::read_json(&dir.plan())
    }

    pub fn save(&self, dir: &ReproductionDir) -> Result<(), RecordsError> {
        records::write_json_atomically(&dir.plan(), self)
    }
}

/// A path as a command-line word.
pub fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
