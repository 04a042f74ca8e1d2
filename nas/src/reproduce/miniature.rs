//! Miniatures of networks and spaces for `search reproduce --quick`: the same
//! layouts (ops, kernels, expansions, SE, strides) with fewer channels and
//! layers, so every step of the reproduction runs in seconds.

use space::rounding::{Rounding, round_filters};
use space::{ArchSpec, SearchSpace};

/// Channel multiplier of the miniatures.
pub const WIDTH: f64 = 0.25;

fn narrow(channels: usize) -> usize {
    round_filters(channels, WIDTH, Rounding::V2)
}

/// `spec` with a quarter of the channels (multiples of 8) and at most two layers
/// per stage; named `<name>-mini`.
pub fn miniature(spec: &ArchSpec) -> ArchSpec {
    let mut mini = spec.clone();
    mini.name = format!("{}-mini", spec.name);
    mini.stem_channels = narrow(spec.stem_channels);
    mini.head_channels = narrow(spec.head_channels);
    for stage in &mut mini.stages {
        stage.in_channels = narrow(stage.in_channels);
        stage.out_channels = narrow(stage.out_channels);
        stage.repeats = stage.repeats.min(2);
    }
    mini
}

/// `space` with a quarter of the channels and each stage's layer range cut to
/// its lower end (at most one layer where a stage may be removed).
pub fn miniature_space(space: &SearchSpace) -> SearchSpace {
    let mut mini = space.clone();
    mini.name = format!("{}-mini", space.name);
    mini.stem_channels = narrow(space.stem_channels);
    mini.head_channels = narrow(space.head_channels);
    for stage in &mut mini.stages {
        stage.out_channels = narrow(stage.out_channels);
        let low = stage.repeats[0].min(2);
        stage.repeats = [low, low.max(1)];
    }
    mini
}

#[cfg(test)]
mod tests {
    use super::*;
    use space::spaces::builtin_space;
    use space::{BlockKind, preset};

    #[test]
    fn miniatures_keep_the_layout_and_stay_valid() {
        for name in ["efficientnet-b0", "efficientnet-b4", "efficientnetv2-s"] {
            let full = preset(name).unwrap();
            let mini = miniature(&full);
            mini.validate().unwrap();
            assert!(mini.param_count() * 8 < full.param_count(), "{name}");
            for (a, b) in full.stages.iter().zip(&mini.stages) {
                assert_eq!(
                    (a.kind, a.kernel, a.expand_ratio, a.stride, a.se_ratio),
                    (b.kind, b.kernel, b.expand_ratio, b.stride, b.se_ratio)
                );
                assert!(b.repeats <= 2 && b.out_channels % 8 == 0);
            }
        }
        let space = builtin_space("paper").unwrap();
        let mini = miniature_space(&space);
        mini.validate().unwrap();
        assert!(mini.cardinality() < space.cardinality());
        assert_eq!(
            mini.stages[0].ops,
            vec![BlockKind::MbConv, BlockKind::FusedMbConv]
        );
    }
}
