//! Mixup (Zhang et al., 2018) and CutMix (Yun et al., 2019) on a batch: each image
//! is blended with its partner in the reversed batch, and so are the labels.

use rand::Rng;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution};

/// Mixes `images` (`[B, C, H, W]`) and soft `targets` (`[B, K]`) in place. With
/// both alphas positive, each batch picks one of the two at random. Returns the
/// weight λ of the original images (1 when nothing was mixed).
#[allow(clippy::too_many_arguments)]
pub fn mix_batch(
    images: &mut [f32],
    targets: &mut [f32],
    batch: usize,
    channels: usize,
    side: usize,
    classes: usize,
    mixup_alpha: f64,
    cutmix_alpha: f64,
    rng: &mut StdRng,
) -> f64 {
    let use_cutmix = match (mixup_alpha > 0.0, cutmix_alpha > 0.0) {
        (false, false) => return 1.0,
        (true, false) => false,
        (false, true) => true,
        (true, true) => rng.random(),
    };
    if batch < 2 {
        return 1.0;
    }
    let alpha = if use_cutmix {
        cutmix_alpha
    } else {
        mixup_alpha
    };
    let mut lambda = Beta::new(alpha, alpha)
        .expect("alpha is positive")
        .sample(rng);
    let image = channels * side * side;
    let original = images.to_vec();
    let partner = |b: usize| batch - 1 - b;
    if use_cutmix {
        // A box of area (1 − λ), then λ recomputed from the clipped box.
        let cut = ((1.0 - lambda).sqrt() * side as f64) as usize;
        let (cy, cx) = (rng.random_range(0..side), rng.random_range(0..side));
        let (y0, y1) = (cy.saturating_sub(cut / 2), (cy + cut / 2).min(side));
        let (x0, x1) = (cx.saturating_sub(cut / 2), (cx + cut / 2).min(side));
        lambda = 1.0 - ((y1 - y0) * (x1 - x0)) as f64 / (side * side) as f64;
        for b in 0..batch {
            let src = &original[partner(b) * image..(partner(b) + 1) * image];
            let dst = &mut images[b * image..(b + 1) * image];
            for c in 0..channels {
                for y in y0..y1 {
                    let row = c * side * side + y * side;
                    dst[row + x0..row + x1].copy_from_slice(&src[row + x0..row + x1]);
                }
            }
        }
    } else {
        let l = lambda as f32;
        for b in 0..batch {
            let src = &original[partner(b) * image..(partner(b) + 1) * image];
            for (d, &s) in images[b * image..(b + 1) * image].iter_mut().zip(src) {
                *d = l * *d + (1.0 - l) * s;
            }
        }
    }
    let original_targets = targets.to_vec();
    let l = lambda as f32;
    for b in 0..batch {
        let src = &original_targets[partner(b) * classes..(partner(b) + 1) * classes];
        for (d, &s) in targets[b * classes..(b + 1) * classes].iter_mut().zip(src) {
            *d = l * *d + (1.0 - l) * s;
        }
    }
    lambda
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn targets_stay_distributions_and_match_the_mix() {
        let (batch, side, classes) = (4, 6, 3);
        for (mixup, cutmix) in [(0.4, 0.0), (0.0, 1.0), (0.2, 0.2)] {
            let mut images: Vec<f32> = (0..batch * side * side)
                .map(|i| (i / (side * side)) as f32)
                .collect();
            let mut targets = vec![0.0; batch * classes];
            for b in 0..batch {
                targets[b * classes + b % classes] = 1.0;
            }
            let mut rng = StdRng::seed_from_u64(5);
            let lambda = mix_batch(
                &mut images,
                &mut targets,
                batch,
                1,
                side,
                classes,
                mixup,
                cutmix,
                &mut rng,
            );
            assert!((0.0..=1.0).contains(&lambda));
            for b in 0..batch {
                let t = &targets[b * classes..(b + 1) * classes];
                assert!((t.iter().sum::<f32>() - 1.0).abs() < 1e-6);
                // The image is λ of itself and 1 − λ of its partner, on average.
                let mean = images[b * side * side..(b + 1) * side * side]
                    .iter()
                    .sum::<f32>()
                    / (side * side) as f32;
                let expected =
                    lambda as f32 * b as f32 + (1.0 - lambda as f32) * (batch - 1 - b) as f32;
                assert!((mean - expected).abs() < 1e-4, "{mean} vs {expected}");
            }
        }
        let mut images = vec![1.0; 2 * 4];
        let mut targets = vec![1.0, 0.0, 0.0, 1.0];
        assert_eq!(
            mix_batch(
                &mut images,
                &mut targets,
                2,
                1,
                2,
                2,
                0.0,
                0.0,
                &mut StdRng::seed_from_u64(0)
            ),
            1.0
        );
    }
}
