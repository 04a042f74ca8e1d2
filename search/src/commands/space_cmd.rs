//! `search space show`: what a search space contains.

use clap::{Args, Subcommand};

use crate::failure::Failure;
use crate::inputs::load_space;
use crate::table::Table;
use space::SearchSpace;

#[derive(Subcommand)]
pub enum SpaceCommand {
    /// Per-stage choices and the size of a space; `--json` prints an editable file.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct ShowArgs {
    /// A built-in space (paper, efficientnetv2-s) or a search-space JSON file.
    space: String,
    /// Print the space as JSON, ready to edit and pass back with `--space FILE`.
    #[arg(long)]
    json: bool,
}

pub fn run(command: SpaceCommand) -> Result<(), Failure> {
    match command {
        SpaceCommand::Show(args) => {
            let space = load_space(&args.space)?;
            if args.json {
                println!("{}", space.to_json());
            } else {
                print!("{}", render(&space));
            }
            Ok(())
        }
    }
}

fn list<T>(items: &[T], show: impl Fn(&T) -> String) -> String {
    items.iter().map(show).collect::<Vec<_>>().join(" ")
}

fn render(space: &SearchSpace) -> String {
    let mut out = format!(
        "space `{}`: stem {} (stride {}), head {}, {} classes, {} input channels, train {} / eval {} px\n\n",
        space.name,
        space.stem_channels,
        space.stem_stride,
        space.head_channels,
        space.classes,
        space.input_channels,
        space.train_size,
        space.eval_size
    );
    let mut table = Table::new(&[
        "stage", "channels", "stride", "ops", "kernels", "expand", "SE", "layers", "widths",
    ]);
    for (i, s) in space.stages.iter().enumerate() {
        table.row(&[
            (i + 1).to_string(),
            s.out_channels.to_string(),
            s.stride.to_string(),
            list(&s.ops, |k| k.name().to_string()),
            list(&s.kernels, |k| k.to_string()),
            list(&s.expand_ratios, |e| e.to_string()),
            list(&s.se_ratios, |r| r.map_or("none".into(), |r| r.to_string())),
            format!("{}-{}", s.repeats[0], s.repeats[1]),
            list(&s.width_multipliers, |w| w.to_string()),
        ]);
    }
    out.push_str(&table.render());
    out.push_str(&format!(
        "{} choice dimensions; {:.3e} points\n",
        space.dimensions(),
        space.cardinality() as f64
    ));
    out
}
