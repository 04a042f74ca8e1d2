//! Networks fitted to small images: at Fashion-MNIST's 28 px and the proxy's 32 px,
//! every preset and networks sampled from both built-in spaces end in feature maps
//! of at least 2×2 once adapted, stay valid, and change only in their strides.

use rand::SeedableRng;
use rand::rngs::StdRng;
use space::spaces::builtin_space;
use space::{ArchSpec, ChoiceSpace, PRESET_NAMES, SmallImages, preset};

/// The adapted copy of `spec` at `size` must keep 2×2 maps, be trainable at that
/// size, and differ from `spec` only in strides, each lowered to 1.
fn check(spec: &ArchSpec, size: usize) {
    let adapted = SmallImages::DEFAULT.apply(spec, size);
    let what = format!("{} at {size} px", spec.name);
    assert!(adapted.final_side(size) >= 2, "{what}");
    adapted.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
    adapted
        .check_image_size("size", size)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(adapted.stem_stride == spec.stem_stride || adapted.stem_stride == 1);
    for (a, s) in adapted.stages.iter().zip(&spec.stages) {
        assert!(a.stride == s.stride || a.stride == 1, "{what}");
        let (mut a, mut s) = (a.clone(), s.clone());
        (a.stride, s.stride) = (0, 0);
        assert_eq!(a, s, "{what}: only strides change");
    }
    // Nothing more than needed: with the last removed stride restored, the maps
    // would be smaller than 2×2 (or the network was fine as it was).
    if adapted != *spec {
        let mut restored = adapted.clone();
        let changed = (0..spec.stages.len())
            .rev()
            .find(|&i| adapted.stages[i].stride != spec.stages[i].stride);
        match changed {
            Some(i) => restored.stages[i].stride = spec.stages[i].stride,
            None => restored.stem_stride = spec.stem_stride,
        }
        assert!(
            restored.final_side(size) < 2,
            "{what}: adapted more than needed"
        );
    }
}

#[test]
fn every_preset_keeps_two_by_two_maps_at_28_and_32_px() {
    for name in PRESET_NAMES {
        let spec = preset(name).unwrap();
        for size in [28, 32] {
            check(&spec, size);
        }
    }
}

#[test]
fn sampled_networks_of_both_spaces_keep_two_by_two_maps() {
    for space_name in ["paper", "efficientnetv2-s"] {
        let space = builtin_space(space_name).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..40 {
            let spec = space.decode(&space.sample(&mut rng)).unwrap();
            for size in [28, 32] {
                check(&spec, size);
                assert_eq!(
                    SmallImages::Unchanged.apply(&spec, size),
                    spec,
                    "keep trains the network as designed"
                );
            }
        }
    }
}
