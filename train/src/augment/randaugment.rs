//! RandAugment (Cubuk et al., 2020): `ops` operations drawn uniformly from a fixed
//! list, each applied at one global magnitude.
//!
//! Magnitudes are on the paper's scale, where 10 gives each operation its standard
//! full range (rotation ±30°, shear ±0.3, translation ±45% of the side, contrast,
//! brightness and sharpness factors 1 ± 0.9, posterize to 4 bits, solarize at
//! half range); EfficientNetV2's schedules go from 5 to 15–25, beyond which ranges
//! are clamped where they would stop making sense.

use rand::Rng;
use rand::rngs::StdRng;

use super::image::Image;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Identity,
    AutoContrast,
    Equalize,
    Rotate,
    Solarize,
    Posterize,
    Contrast,
    Brightness,
    Sharpness,
    ShearX,
    ShearY,
    TranslateX,
    TranslateY,
}

pub const OPS: [Op; 13] = [
    Op::Identity,
    Op::AutoContrast,
    Op::Equalize,
    Op::Rotate,
    Op::Solarize,
    Op::Posterize,
    Op::Contrast,
    Op::Brightness,
    Op::Sharpness,
    Op::ShearX,
    Op::ShearY,
    Op::TranslateX,
    Op::TranslateY,
];

/// Applies `ops` random operations at `magnitude` (0 leaves images unchanged).
pub fn rand_augment(img: &Image, ops: usize, magnitude: f64, rng: &mut StdRng) -> Image {
    if magnitude <= 0.0 {
        return img.clone();
    }
    let mut out = img.clone();
    for _ in 0..ops {
        let op = OPS[rng.random_range(0..OPS.len())];
        out = apply(&out, op, magnitude as f32 / 10.0, rng);
    }
    out
}

/// One operation at `level` (1 = the standard full range); geometric and
/// enhancement operations pick a random direction.
pub fn apply(img: &Image, op: Op, level: f32, rng: &mut StdRng) -> Image {
    let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
    let factor = (1.0 + sign * 0.9 * level).max(0.0);
    match op {
        Op::Identity => img.clone(),
        Op::AutoContrast => auto_contrast(img),
        Op::Equalize => equalize(img),
        Op::Rotate => {
            let angle = (sign * 30.0 * level).to_radians();
            let (s, c) = angle.sin_cos();
            img.warp([c, -s, s, c], (0.0, 0.0), 0.0)
        }
        Op::Solarize => {
            let threshold = (1.0 - 0.5 * level).max(0.0);
            img.map(|v| if v >= threshold { 1.0 - v } else { v })
        }
        Op::Posterize => {
            let bits = (8.0 - (4.0 * level).round()).clamp(1.0, 8.0) as u32;
            let step = (1u32 << (8 - bits)) as f32;
            img.map(|v| ((v * 255.0 / step).floor() * step) / 255.0)
        }
        Op::Contrast => {
            let means = img.channel_means();
            let mean = means.iter().sum::<f32>() / means.len() as f32;
            img.map(|v| (mean + factor * (v - mean)).clamp(0.0, 1.0))
        }
        Op::Brightness => img.map(|v| (v * factor).clamp(0.0, 1.0)),
        Op::Sharpness => sharpness(img, factor),
        Op::ShearX => img.warp([1.0, sign * 0.3 * level, 0.0, 1.0], (0.0, 0.0), 0.0),
        Op::ShearY => img.warp([1.0, 0.0, sign * 0.3 * level, 1.0], (0.0, 0.0), 0.0),
        Op::TranslateX => img.warp(
            [1.0, 0.0, 0.0, 1.0],
            (0.0, sign * 0.45 * level * img.width as f32),
            0.0,
        ),
        Op::TranslateY => img.warp(
            [1.0, 0.0, 0.0, 1.0],
            (sign * 0.45 * level * img.height as f32, 0.0),
            0.0,
        ),
    }
}

fn auto_contrast(img: &Image) -> Image {
    let plane = img.height * img.width;
    let mut out = img.clone();
    for p in out.data.chunks_mut(plane) {
        let (lo, hi) = p
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        if hi > lo {
            for v in p {
                *v = (*v - lo) / (hi - lo);
            }
        }
    }
    out
}

fn equalize(img: &Image) -> Image {
    let plane = img.height * img.width;
    let mut out = img.clone();
    for p in out.data.chunks_mut(plane) {
        let mut histogram = [0usize; 256];
        for &v in p.iter() {
            histogram[(v.clamp(0.0, 1.0) * 255.0).round() as usize] += 1;
        }
        let mut cdf = [0usize; 256];
        let mut total = 0;
        for (i, &h) in histogram.iter().enumerate() {
            total += h;
            cdf[i] = total;
        }
        let first = cdf.iter().copied().find(|&c| c > 0).unwrap_or(0);
        if total == first {
            continue;
        }
        for v in p.iter_mut() {
            let bin = (v.clamp(0.0, 1.0) * 255.0).round() as usize;
            *v = (cdf[bin] - first) as f32 / (total - first) as f32;
        }
    }
    out
}

/// Blends with a 3×3 smoothed copy: factors above 1 sharpen, below 1 blur.
fn sharpness(img: &Image, factor: f32) -> Image {
    let (h, w) = (img.height, img.width);
    let mut out = img.clone();
    for c in 0..img.channels {
        let p = &img.data[c * h * w..(c + 1) * h * w];
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                let mut smooth = 4.0 * p[y * w + x];
                for (dy, dx) in [
                    (-1, -1),
                    (-1, 0),
                    (-1, 1),
                    (0, -1),
                    (0, 1),
                    (1, -1),
                    (1, 0),
                    (1, 1),
                ] {
                    smooth += p[(y as isize + dy) as usize * w + (x as isize + dx) as usize];
                }
                let smooth = smooth / 12.0;
                out.data[c * h * w + y * w + x] =
                    (smooth + factor * (p[y * w + x] - smooth)).clamp(0.0, 1.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn image() -> Image {
        Image {
            channels: 1,
            height: 8,
            width: 8,
            data: (0..64)
                .map(|i| ((i * 37) % 64) as f32 / 63.0 * 0.8 + 0.1)
                .collect(),
        }
    }

    #[test]
    fn every_op_keeps_shape_and_range() {
        let img = image();
        let mut rng = StdRng::seed_from_u64(0);
        for op in OPS {
            for level in [0.5, 1.0, 2.5] {
                let out = apply(&img, op, level, &mut rng);
                assert_eq!(out.data.len(), img.data.len(), "{op:?}");
                assert!(
                    out.data.iter().all(|v| (-1e-6..=1.0 + 1e-6).contains(v)),
                    "{op:?} at {level}"
                );
            }
        }
        let stretched = apply(&img, Op::AutoContrast, 1.0, &mut rng);
        let max = stretched.data.iter().cloned().fold(0.0, f32::max);
        assert!((max - 1.0).abs() < 1e-6);
    }

    #[test]
    fn seeded_and_magnitude_zero_is_identity() {
        let img = image();
        let run = |seed| rand_augment(&img, 2, 9.0, &mut StdRng::seed_from_u64(seed));
        assert_eq!(run(3), run(3));
        assert!((0..10).any(|s| run(s) != img));
        assert_eq!(
            rand_augment(&img, 2, 0.0, &mut StdRng::seed_from_u64(1)),
            img
        );
    }
}
