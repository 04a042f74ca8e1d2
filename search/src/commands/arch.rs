//! `search arch show|list`: what a network is made of and what it costs.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::failure::Failure;
use crate::inputs::load_arch;
use crate::table::{Table, bytes, si, thousands};
use space::{Analysis, ArchSpec, PRESET_NAMES, analyze, estimate_training_memory, preset};

use super::print_json;
use crate::flags::CostArgs;

#[derive(Subcommand)]
pub enum ArchCommand {
    /// Stage table, parameters, MACs and estimated training memory of one network.
    Show(ShowArgs),
    /// Every preset with its parameters and MACs at its evaluation size.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ShowArgs {
    /// A preset (efficientnet-b0…b7, efficientnetv2-b0…b3, efficientnetv2-s|m|l|xl)
    /// or an architecture JSON file.
    arch: String,
    #[command(flatten)]
    cost: CostArgs,
    /// Print JSON (keys `params`, `macs`, `parts`, `blocks`, `memory`, `spec`).
    #[arg(long)]
    json: bool,
}

pub fn run(command: ArchCommand) -> Result<(), Failure> {
    match command {
        ArchCommand::Show(args) => show(args),
        ArchCommand::List { json } => list(json),
    }
}

fn show(args: ShowArgs) -> Result<(), Failure> {
    let spec = load_arch(&args.arch)?;
    let size = args.cost.size.unwrap_or(spec.eval_size);
    let analysis = analyze(&spec, size).map_err(Failure::bad_input)?;
    let memory =
        estimate_training_memory(&spec, args.cost.batch, size).map_err(Failure::bad_input)?;

    if args.json {
        print_json(&json!({
            "name": spec.name,
            "size": size,
            "params": analysis.params,
            "macs": analysis.macs,
            "layers": spec.num_blocks(),
            "min_image_size": spec.min_image_size(),
            "blocks": spec.blocks(),
            "parts": analysis.parts,
            "memory": {
                "batch": args.cost.batch,
                "activations_bytes": memory.activations,
                "parameters_bytes": memory.parameters,
                "total_bytes": memory.total,
            },
            "spec": spec,
        }));
        return Ok(());
    }

    println!(
        "{}: {} input channels, {} classes, train {} px / eval {} px, dropout {}, survival {}",
        spec.name,
        spec.input_channels,
        spec.classes,
        spec.train_size,
        spec.eval_size,
        spec.dropout,
        spec.survival_prob
    );
    println!();
    print!("{}", stage_table(&spec, &analysis, size));
    println!(
        "total: {} parameters, {} MACs at {size} px, {} layers",
        thousands(analysis.params),
        si(analysis.macs),
        spec.num_blocks()
    );
    println!(
        "training memory (estimate) at batch {}: {} ({} activations + {} weights, gradients, optimizer)",
        args.cost.batch,
        bytes(memory.total),
        bytes(memory.activations),
        bytes(memory.parameters)
    );
    println!("smallest image: {} px", spec.min_image_size());
    println!("blocks: {}", spec.blocks().join(" "));
    Ok(())
}

/// The paper's Table 4 layout: stem, stages and head with their costs.
fn stage_table(spec: &ArchSpec, analysis: &Analysis, size: usize) -> String {
    let mut table = Table::new(&[
        "stage",
        "operator",
        "stride",
        "channels",
        "layers",
        "output",
        "params",
        &format!("MACs @{size}px"),
    ]);
    let part = |i: usize| &analysis.parts[i];
    let output = |i: usize| format!("{0}x{0}", part(i).out_side);
    table.row(&[
        "0".to_string(),
        "Conv3x3".to_string(),
        spec.stem_stride.to_string(),
        spec.stem_channels.to_string(),
        "1".to_string(),
        output(0),
        thousands(part(0).params),
        si(part(0).macs),
    ]);
    for (i, stage) in spec.stages.iter().enumerate() {
        table.row(&[
            (i + 1).to_string(),
            stage.operator(),
            stage.stride.to_string(),
            stage.out_channels.to_string(),
            stage.repeats.to_string(),
            output(i + 1),
            thousands(part(i + 1).params),
            si(part(i + 1).macs),
        ]);
    }
    let head = spec.stages.len() + 1;
    table.row(&[
        (head).to_string(),
        "Conv1x1 & Pooling & FC".to_string(),
        "-".to_string(),
        spec.head_channels.to_string(),
        "1".to_string(),
        output(head),
        thousands(part(head).params + part(head + 1).params),
        si(part(head).macs + part(head + 1).macs),
    ]);
    table.render()
}

fn list(json: bool) -> Result<(), Failure> {
    let specs: Vec<ArchSpec> = PRESET_NAMES
        .iter()
        .map(|name| preset(name).expect("every listed preset exists"))
        .collect();
    let analyses: Vec<_> = specs
        .iter()
        .map(|s| analyze(s, s.eval_size).expect("presets are valid"))
        .collect();
    if json {
        let rows: Vec<_> = specs
            .iter()
            .zip(&analyses)
            .map(|(s, a)| {
                json!({"name": s.name, "params": a.params, "macs": a.macs, "size": a.size,
                       "train_size": s.train_size, "layers": s.num_blocks()})
            })
            .collect();
        print_json(&rows);
        return Ok(());
    }
    let mut table = Table::new(&["preset", "params", "MACs", "train px", "eval px", "layers"]);
    for (s, a) in specs.iter().zip(&analyses) {
        table.row(&[
            s.name.clone(),
            thousands(a.params),
            si(a.macs),
            s.train_size.to_string(),
            s.eval_size.to_string(),
            s.num_blocks().to_string(),
        ]);
    }
    print!("{}", table.render());
    println!("MACs at each preset's evaluation size, 1000 classes.");
    Ok(())
}
