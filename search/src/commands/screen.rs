//! The default action. Until the trainer and the training-aware evaluator exist,
//! it samples distinct candidates from a space and reports what can be known of
//! them without training: parameters, MACs and training memory.

use std::collections::HashSet;

use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use search::Failure;
use search::inputs::load_space;
use search::table::{Table, bytes, si, thousands};
use space::{ArchSpec, BlockKind, analyze, estimate_training_memory};

use super::{CostArgs, print_json};

#[derive(Args)]
pub struct ScreenArgs {
    /// Number of distinct candidates to sample.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    budget: u64,
    /// A built-in space (paper, efficientnetv2-s) or a search-space JSON file.
    #[arg(long, default_value = "paper")]
    space: String,
    /// Seed of the sampler; the same seed gives the same candidates.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    cost: CostArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A compact stage summary: `F4k3x4` is Fused-MBConv, expand 4, kernel 3, 4 layers;
/// a trailing `se` marks SE.
fn summary(spec: &ArchSpec) -> String {
    spec.stages
        .iter()
        .map(|s| {
            let op = if s.kind == BlockKind::FusedMbConv {
                "F"
            } else {
                "M"
            };
            let se = if s.se_ratio.is_some() { "se" } else { "" };
            format!("{op}{}k{}x{}{se}", s.expand_ratio, s.kernel, s.repeats)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: ScreenArgs) -> Result<(), Failure> {
    let space = load_space(&args.space)?;
    let size = args.cost.size.unwrap_or(space.train_size);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let budget = args.budget as usize;

    let mut seen = HashSet::new();
    let mut candidates = Vec::new();
    // Small spaces may hold fewer distinct networks than the budget.
    for _ in 0..budget.saturating_mul(100) {
        if candidates.len() == budget {
            break;
        }
        let choices = space.sample(&mut rng);
        let spec = space.decode(&choices).map_err(Failure::bad_input)?;
        if seen.insert(spec.canonical_key()) {
            candidates.push((choices, spec));
        }
    }

    let mut rows = Vec::new();
    for (choices, spec) in &candidates {
        let analysis =
            analyze(spec, size).map_err(|e| Failure::bad_input(format!("--size: {e}")))?;
        let memory =
            estimate_training_memory(spec, args.cost.batch, size).map_err(Failure::bad_input)?;
        rows.push((choices, spec, analysis, memory));
    }

    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(choices, spec, a, m)| {
                json!({"name": spec.name, "choices": choices, "blocks": spec.blocks(),
                       "params": a.params, "macs": a.macs, "size": size,
                       "train_memory_bytes": m.total, "batch": args.cost.batch})
            })
            .collect();
        print_json(&out);
        return Ok(());
    }

    println!(
        "{} distinct candidates from space `{}` ({:.3e} points), seed {}",
        rows.len(),
        space.name,
        space.cardinality() as f64,
        args.seed
    );
    let mut table = Table::new(&[
        "#",
        "candidate",
        "layers",
        "params",
        &format!("MACs @{size}px"),
        &format!("memory @b{}", args.cost.batch),
        "stages",
    ]);
    for (i, (_, spec, a, m)) in rows.iter().enumerate() {
        table.row(&[
            (i + 1).to_string(),
            spec.name.clone(),
            spec.num_blocks().to_string(),
            thousands(a.params),
            si(a.macs),
            bytes(m.total),
            summary(spec),
        ]);
    }
    print!("{}", table.render());
    println!(
        "stages: F = Fused-MBConv, M = MBConv, then expansion, kernel, x layers, se = SE.\n\
         These figures are analytic. Accuracy and measured training step time need the \
         trainer and the training-aware evaluator, which are not built yet (see the README)."
    );
    Ok(())
}
