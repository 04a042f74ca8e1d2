//! `search scale`: grow a base network (paper §3.4), or make its S/M/L family.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::failure::Failure;
use crate::flags::finite;
use crate::inputs::load_arch;
use crate::table::{Table, si, thousands};
use space::scaler::{DEFAULT_LATER_BIAS, DEFAULT_MAX_SIZE, TailStage};
use space::{ArchSpec, FamilyMember, ScaleConfig, analyze, family, scale};

use super::print_json;

#[derive(Args)]
pub struct ScaleArgs {
    /// The base network: a preset or an architecture JSON file.
    #[arg(long)]
    base: String,
    /// Make the S/M/L family of the base instead of one scaled network.
    #[arg(long, conflicts_with_all = ["width", "depth", "resolution", "later_bias", "tail_channels", "tail_share", "dropout", "name"])]
    family: bool,
    /// Channel multiplier (channels stay multiples of 8).
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    width: f64,
    /// Multiplier of the total number of layers (at least 1).
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    depth: f64,
    /// Image-size multiplier.
    #[arg(long, default_value_t = 1.0, value_parser = finite)]
    resolution: f64,
    /// How strongly extra layers favour later stages (0: in proportion to each
    /// stage's depth).
    #[arg(long, default_value_t = DEFAULT_LATER_BIAS, value_parser = finite)]
    later_bias: f64,
    /// Cap on the evaluation image size.
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE, value_name = "PX")]
    max_size: usize,
    /// Append a stride-1 stage with this many times the last stage's channels.
    #[arg(long, requires = "tail_share", value_name = "RATIO", value_parser = finite)]
    tail_channels: Option<f64>,
    /// The appended stage's share of all layers (0–1).
    #[arg(long, requires = "tail_channels", value_name = "SHARE", value_parser = finite)]
    tail_share: Option<f64>,
    /// Dropout of the scaled network [default: the base's].
    #[arg(long, value_parser = finite)]
    dropout: Option<f64>,
    /// Name of the scaled network.
    #[arg(long)]
    name: Option<String>,
    /// Write the scaled spec (or, with --family, one `<name>.json` per member) here.
    /// Existing files are not overwritten.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ScaleArgs) -> Result<(), Failure> {
    let base = load_arch(&args.base)?;
    let members: Vec<FamilyMember> = if args.family {
        family(&base).map_err(Failure::bad_input)?
    } else {
        let config = ScaleConfig {
            later_bias: args.later_bias,
            max_size: args.max_size,
            tail: args
                .tail_channels
                .zip(args.tail_share)
                .map(|(channel_ratio, depth_share)| TailStage {
                    channel_ratio,
                    depth_share,
                }),
            dropout: args.dropout,
            name: args.name.clone(),
            ..ScaleConfig::new(args.width, args.depth, args.resolution)
        };
        let scaled = scale(&base, &config).map_err(Failure::bad_input)?;
        vec![
            FamilyMember {
                label: "base".into(),
                config: None,
                spec: base,
            },
            FamilyMember {
                label: "scaled".into(),
                config: Some(config),
                spec: scaled,
            },
        ]
    };

    if let Some(out) = &args.out {
        write_specs(out, &members, args.family)?;
    }
    if args.json {
        let rows: Vec<_> = members
            .iter()
            .map(|m| {
                let a = analyze(&m.spec, m.spec.eval_size).expect("scaled specs are validated");
                json!({"label": m.label, "config": m.config, "params": a.params, "macs": a.macs,
                       "blocks": m.spec.blocks(), "spec": m.spec})
            })
            .collect();
        print_json(&rows);
    } else {
        print!("{}", render(&members));
    }
    Ok(())
}

/// Stage by stage, `layers × channels` for every member, then the totals.
fn render(members: &[FamilyMember]) -> String {
    let mut header = vec!["stage".to_string(), "operator".to_string()];
    header.extend(
        members
            .iter()
            .map(|m| format!("{} ({})", m.label, m.spec.name)),
    );
    let mut table = Table::new(&header);
    table.row(
        &[String::from("stem"), String::from("Conv3x3")]
            .into_iter()
            .chain(
                members
                    .iter()
                    .map(|m| format!("1 x {}", m.spec.stem_channels)),
            )
            .collect::<Vec<_>>(),
    );
    let stages = members
        .iter()
        .map(|m| m.spec.stages.len())
        .max()
        .unwrap_or(0);
    for i in 0..stages {
        let op = members
            .iter()
            .rev()
            .find_map(|m| m.spec.stages.get(i))
            .map(space::StageSpec::operator)
            .unwrap_or_default();
        let mut row = vec![(i + 1).to_string(), op];
        row.extend(members.iter().map(|m| {
            m.spec.stages.get(i).map_or("-".to_string(), |s| {
                format!("{} x {}", s.repeats, s.out_channels)
            })
        }));
        table.row(&row);
    }
    let mut total = |name: &str, cell: &dyn Fn(&ArchSpec) -> String| {
        let mut row = vec![name.to_string(), String::new()];
        row.extend(members.iter().map(|m| cell(&m.spec)));
        table.row(&row);
    };
    total("head", &|s| format!("1 x {}", s.head_channels));
    total("layers", &|s| s.num_blocks().to_string());
    total("params", &|s| thousands(s.param_count()));
    total("MACs", &|s| {
        let a = analyze(s, s.eval_size).expect("scaled specs are validated");
        format!("{} @{}px", si(a.macs), s.eval_size)
    });
    total("train/eval", &|s| {
        format!("{} / {} px", s.train_size, s.eval_size)
    });
    total("dropout", &|s| s.dropout.to_string());
    let mut text = table.render();
    text.push_str("cells: layers x output channels\n");
    text
}

fn write_specs(
    out: &std::path::Path,
    members: &[FamilyMember],
    family: bool,
) -> Result<(), Failure> {
    let written: Vec<(PathBuf, &ArchSpec)> = if family {
        std::fs::create_dir_all(out).map_err(|e| {
            Failure::bad_input(format!("{}: cannot create directory: {e}", out.display()))
        })?;
        members
            .iter()
            .map(|m| (out.join(format!("{}.json", m.spec.name)), &m.spec))
            .collect()
    } else {
        vec![(out.to_path_buf(), &members[1].spec)]
    };
    // Check every target first, so nothing is half-written.
    if let Some((path, _)) = written.iter().find(|(p, _)| p.exists()) {
        return Err(Failure::bad_input(format!(
            "{} already exists; not overwriting it",
            path.display()
        )));
    }
    for (path, spec) in written {
        std::fs::write(&path, spec.to_json() + "\n")
            .map_err(|e| Failure::runtime(format!("{}: cannot write: {e}", path.display())))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
