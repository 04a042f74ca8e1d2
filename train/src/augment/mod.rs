//! Training-time augmentation: crop, flip and RandAugment per image, resizing to
//! the size the schedule asks for, normalisation, and Mixup/CutMix per batch.

pub mod image;
pub mod mix;
pub mod randaugment;

pub use image::Image;
pub use mix::mix_batch;
pub use randaugment::rand_augment;

use rand::Rng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// How to turn a stored image into a training input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Side of the network input.
    pub size: usize,
    /// Zero padding for the random crop, in source pixels (0: no crop).
    pub crop_pad: usize,
    pub flip: bool,
    /// RandAugment operations per image, and their magnitude (0: off).
    pub randaug_ops: usize,
    pub randaug_magnitude: f64,
    /// Beta parameters of Mixup and CutMix (0: off).
    pub mixup_alpha: f64,
    pub cutmix_alpha: f64,
}

impl Augment {
    /// No augmentation: only resizing (for evaluation).
    pub fn eval(size: usize) -> Augment {
        Augment {
            size,
            crop_pad: 0,
            flip: false,
            randaug_ops: 0,
            randaug_magnitude: 0.0,
            mixup_alpha: 0.0,
            cutmix_alpha: 0.0,
        }
    }

    /// The per-image part: crop, flip, RandAugment at the source size (cheaper
    /// than at a larger training size), then resize.
    pub fn image(&self, source: &Image, rng: &mut StdRng) -> Image {
        let mut img = source.clone();
        if self.crop_pad > 0 {
            let span = 2 * self.crop_pad + 1;
            img = img.crop_padded(
                self.crop_pad,
                rng.random_range(0..span),
                rng.random_range(0..span),
            );
        }
        if self.flip && rng.random::<bool>() {
            img = img.flip_horizontal();
        }
        if self.randaug_ops > 0 && self.randaug_magnitude > 0.0 {
            img = rand_augment(&img, self.randaug_ops, self.randaug_magnitude, rng);
        }
        img.resize(self.size, self.size)
    }
}
