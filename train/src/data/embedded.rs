//! A small real subset of Fashion-MNIST compiled into the binary, so the main job
//! runs anywhere: 4,000 training images (400 per class) and 1,000 validation images
//! (100 per class, from the official test set). See
//! `train/data/fashion-mnist-subset/LICENSE` for its origin and MIT licence.

use std::path::Path;

use super::idx::{images_and_labels, parse_idx};
use super::{DataError, Splits};

const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../data/fashion-mnist-subset/train-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../data/fashion-mnist-subset/train-labels-idx1-ubyte.gz");
const VAL_IMAGES: &[u8] =
    include_bytes!("../../data/fashion-mnist-subset/val-images-idx3-ubyte.gz");
const VAL_LABELS: &[u8] =
    include_bytes!("../../data/fashion-mnist-subset/val-labels-idx1-ubyte.gz");

/// The embedded subset.
pub fn embedded_fashion_mnist() -> Result<Splits, DataError> {
    let origin = Path::new("<embedded fashion-mnist subset>");
    let split = |images, labels| {
        images_and_labels(
            parse_idx(images, origin)?,
            parse_idx(labels, origin)?,
            origin,
        )
    };
    Splits::new(
        split(TRAIN_IMAGES, TRAIN_LABELS)?,
        split(VAL_IMAGES, VAL_LABELS)?,
        "embedded Fashion-MNIST subset (4,000 train / 1,000 validation)".into(),
        origin,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_is_balanced_and_whole() {
        let s = embedded_fashion_mnist().unwrap();
        assert_eq!((s.train.len(), s.val.len()), (4000, 1000));
        assert_eq!(
            (
                s.train.channels,
                s.train.height,
                s.train.width,
                s.train.classes
            ),
            (1, 28, 28, 10)
        );
        for class in 0..10 {
            assert_eq!(s.train.labels.iter().filter(|&&l| l == class).count(), 400);
            assert_eq!(s.val.labels.iter().filter(|&&l| l == class).count(), 100);
        }
        // Real images: Fashion-MNIST's mean pixel is about 0.286.
        let (mean, std) = s.train.channel_stats()[0];
        assert!(
            (0.25..0.32).contains(&mean) && (0.3..0.4).contains(&std),
            "{mean} {std}"
        );
    }
}
