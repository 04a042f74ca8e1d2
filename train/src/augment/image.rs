//! A float image `[C, H, W]` on the 0–1 scale, and the geometric and pixel
//! operations augmentation needs.

/// One image being augmented.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<f32>,
}

impl Image {
    pub fn from_bytes(bytes: &[u8], channels: usize, height: usize, width: usize) -> Image {
        Image {
            channels,
            height,
            width,
            data: bytes.iter().map(|&b| b as f32 / 255.0).collect(),
        }
    }

    fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Bilinear sample of channel `c` at (y, x) in pixel-centre coordinates;
    /// `fill` outside the image.
    #[inline]
    fn sample(&self, c: usize, y: f32, x: f32, fill: f32) -> f32 {
        let (h, w) = (self.height as f32, self.width as f32);
        if y < -0.5 || x < -0.5 || y > h - 0.5 || x > w - 0.5 {
            return fill;
        }
        let (y, x) = (y.clamp(0.0, h - 1.0), x.clamp(0.0, w - 1.0));
        let (y0, x0) = (y.floor() as usize, x.floor() as usize);
        let (y1, x1) = ((y0 + 1).min(self.height - 1), (x0 + 1).min(self.width - 1));
        let (dy, dx) = (y - y0 as f32, x - x0 as f32);
        let p = &self.data[c * self.plane()..(c + 1) * self.plane()];
        let at = |yy: usize, xx: usize| p[yy * self.width + xx];
        let top = at(y0, x0) * (1.0 - dx) + at(y0, x1) * dx;
        let bottom = at(y1, x0) * (1.0 - dx) + at(y1, x1) * dx;
        top * (1.0 - dy) + bottom * dy
    }

    /// Bilinear resize to `height × width` (pixel centres aligned, as PyTorch's
    /// `interpolate(..., align_corners=False)`).
    pub fn resize(&self, height: usize, width: usize) -> Image {
        if (height, width) == (self.height, self.width) {
            return self.clone();
        }
        let (sy, sx) = (
            self.height as f32 / height as f32,
            self.width as f32 / width as f32,
        );
        let mut data = Vec::with_capacity(self.channels * height * width);
        for c in 0..self.channels {
            for y in 0..height {
                let src_y = ((y as f32 + 0.5) * sy - 0.5).max(0.0);
                for x in 0..width {
                    let src_x = ((x as f32 + 0.5) * sx - 0.5).max(0.0);
                    data.push(self.sample(c, src_y, src_x, 0.0));
                }
            }
        }
        Image {
            channels: self.channels,
            height,
            width,
            data,
        }
    }

    /// The window at (top, left) of the image padded with `pad` zero pixels on each
    /// side, of the original size: a random crop with padding.
    pub fn crop_padded(&self, pad: usize, top: usize, left: usize) -> Image {
        let mut out = vec![0.0; self.data.len()];
        for c in 0..self.channels {
            for y in 0..self.height {
                let sy = y as isize + top as isize - pad as isize;
                if !(0..self.height as isize).contains(&sy) {
                    continue;
                }
                for x in 0..self.width {
                    let sx = x as isize + left as isize - pad as isize;
                    if (0..self.width as isize).contains(&sx) {
                        out[c * self.plane() + y * self.width + x] =
                            self.data[c * self.plane() + sy as usize * self.width + sx as usize];
                    }
                }
            }
        }
        Image { data: out, ..*self }
    }

    pub fn flip_horizontal(&self) -> Image {
        let mut out = self.data.clone();
        for row in out.chunks_mut(self.width) {
            row.reverse();
        }
        Image { data: out, ..*self }
    }

    /// Resamples through an affine map from output to input coordinates, around
    /// the image centre: `[a b; c d]` and a translation in pixels.
    pub fn warp(&self, m: [f32; 4], shift: (f32, f32), fill: f32) -> Image {
        let (cy, cx) = (
            (self.height as f32 - 1.0) / 2.0,
            (self.width as f32 - 1.0) / 2.0,
        );
        let mut data = Vec::with_capacity(self.data.len());
        for c in 0..self.channels {
            for y in 0..self.height {
                for x in 0..self.width {
                    let (v, u) = (y as f32 - cy, x as f32 - cx);
                    let sy = m[2] * u + m[3] * v + cy + shift.0;
                    let sx = m[0] * u + m[1] * v + cx + shift.1;
                    data.push(self.sample(c, sy, sx, fill));
                }
            }
        }
        Image { data, ..*self }
    }

    pub fn map(&self, f: impl Fn(f32) -> f32) -> Image {
        Image {
            data: self.data.iter().map(|&v| f(v)).collect(),
            ..*self
        }
    }

    /// Per-channel mean.
    pub fn channel_means(&self) -> Vec<f32> {
        self.data
            .chunks(self.plane())
            .map(|p| p.iter().sum::<f32>() / p.len() as f32)
            .collect()
    }

    /// `(x − mean) / std` per channel.
    pub fn normalize(&mut self, stats: &[(f32, f32)]) {
        let plane = self.plane();
        for (c, p) in self.data.chunks_mut(plane).enumerate() {
            let (mean, std) = stats[c];
            for v in p {
                *v = (*v - mean) / std;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Image {
        Image {
            channels: 1,
            height: 4,
            width: 4,
            data: (0..16).map(|i| i as f32 / 15.0).collect(),
        }
    }

    #[test]
    fn resize_matches_bilinear_with_centres_aligned() {
        let img = ramp();
        assert_eq!(img.resize(4, 4), img);
        let up = img.resize(8, 8);
        assert_eq!((up.height, up.width, up.data.len()), (8, 8, 64));
        // Output pixel (0, 1) lies at source (−0.25, 0.25) → clamped to row 0,
        // a quarter of the way from column 0 to 1.
        assert!((up.data[1] - 0.25 / 15.0).abs() < 1e-6, "{}", up.data[1]);
        // Downsampling by 2 averages 2×2 blocks.
        let down = img.resize(2, 2);
        assert!((down.data[0] - (0.0 + 1.0 + 4.0 + 5.0) / 4.0 / 15.0).abs() < 1e-6);
    }

    #[test]
    fn crop_flip_and_warp() {
        let img = ramp();
        assert_eq!(img.crop_padded(2, 2, 2), img);
        let shifted = img.crop_padded(1, 0, 0);
        assert_eq!(shifted.data[5], img.data[0]);
        assert_eq!(shifted.data[0], 0.0);
        assert_eq!(
            img.flip_horizontal().data[..4],
            [3.0, 2.0, 1.0, 0.0].map(|v| v / 15.0)
        );
        assert_eq!(img.warp([1.0, 0.0, 0.0, 1.0], (0.0, 0.0), 0.0), img);
        // A 180° rotation reverses the pixels.
        let turned = img.warp([-1.0, 0.0, 0.0, -1.0], (0.0, 0.0), 0.0);
        let reversed: Vec<f32> = img.data.iter().rev().copied().collect();
        for (a, b) in turned.data.iter().zip(&reversed) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
