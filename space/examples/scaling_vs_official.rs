//! Prints, as Markdown, how the S/M/L family the scaler makes from
//! efficientnetv2-s compares with the official EfficientNetV2-M and -L.
//! `cargo run -p space --example scaling_vs_official` regenerates the tables in
//! docs/scaling.md.

use space::{family, preset};

fn main() {
    let base = preset("efficientnetv2-s").expect("preset exists");
    let members = family(&base).expect("the family of a preset scales");
    for (member, official) in members[1..]
        .iter()
        .zip(["efficientnetv2-m", "efficientnetv2-l"])
    {
        let official = preset(official).expect("preset exists");
        let ours = &member.spec;
        let config = member
            .config
            .as_ref()
            .expect("scaled members have a config");
        println!(
            "### {} (width {}, depth {}, resolution {}) vs {}\n",
            member.label, config.width, config.depth, config.resolution, official.name
        );
        println!(
            "| stage | ours: layers | official: layers | ours: channels | official: channels |"
        );
        println!("|---|---|---|---|---|");
        let rows = ours.stages.len().max(official.stages.len());
        let cell = |spec: &space::ArchSpec, i: usize, f: fn(&space::StageSpec) -> usize| {
            spec.stages
                .get(i)
                .map_or("—".to_string(), |s| f(s).to_string())
        };
        println!(
            "| stem | | | {} | {} |",
            ours.stem_channels, official.stem_channels
        );
        for i in 0..rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                i + 1,
                cell(ours, i, |s| s.repeats),
                cell(&official, i, |s| s.repeats),
                cell(ours, i, |s| s.out_channels),
                cell(&official, i, |s| s.out_channels),
            );
        }
        println!(
            "| head | | | {} | {} |",
            ours.head_channels, official.head_channels
        );
        let (p, q) = (ours.param_count(), official.param_count());
        println!(
            "\nLayers {} vs {}; parameters {:.2} M vs {:.2} M ({:+.1}%); train/eval size {}/{} vs {}/{}.\n",
            ours.num_blocks(),
            official.num_blocks(),
            p as f64 / 1e6,
            q as f64 / 1e6,
            100.0 * (p as f64 / q as f64 - 1.0),
            ours.train_size,
            ours.eval_size,
            official.train_size,
            official.eval_size
        );
    }
}
