//! Image classification data: loaders for the formats users have, the embedded
//! Fashion-MNIST subset, and how a `--data` argument picks one.

mod cifar;
mod embedded;
mod folder;
mod idx;
mod source;

pub use cifar::load_cifar;
pub use embedded::embedded_fashion_mnist;
pub use folder::{FOLDER_SIDE, load_folder};
pub use idx::{load_idx_dir, read_idx};
pub use source::{FULL_FASHION_MNIST, load_data};

use std::path::{Path, PathBuf};

/// Images as bytes, `[N, C, H, W]` row-major, with one label each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Vec<u32>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub classes: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Image `i`'s bytes, `[C, H, W]`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.image_len()..(i + 1) * self.image_len()]
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            images: indices
                .iter()
                .flat_map(|&i| self.image(i).iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            ..self.clone()
        }
    }

    /// Per-channel mean and standard deviation of the pixels, on the 0–1 scale.
    pub fn channel_stats(&self) -> Vec<(f32, f32)> {
        let plane = self.height * self.width;
        (0..self.channels)
            .map(|c| {
                let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
                for i in 0..self.len() {
                    for &v in &self.image(i)[c * plane..(c + 1) * plane] {
                        let v = v as f64 / 255.0;
                        sum += v;
                        sq += v * v;
                        n += 1.0;
                    }
                }
                let mean = sum / n.max(1.0);
                let var = (sq / n.max(1.0) - mean * mean).max(1e-12);
                (mean as f32, var.sqrt() as f32)
            })
            .collect()
    }

    /// Checks that labels fit the class count and sizes agree.
    fn check(&self, origin: &Path) -> Result<(), DataError> {
        if self.images.len() != self.len() * self.image_len() {
            return Err(DataError::new(
                origin,
                "image bytes do not match the image count",
            ));
        }
        if let Some(bad) = self.labels.iter().find(|&&l| l as usize >= self.classes) {
            return Err(DataError::new(
                origin,
                format!("label {bad} is outside the {} classes", self.classes),
            ));
        }
        Ok(())
    }
}

/// A training set and the held-out set the trainer evaluates on.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub val: Dataset,
    /// What was loaded, for logs and run records.
    pub description: String,
}

impl Splits {
    fn new(
        train: Dataset,
        val: Dataset,
        description: String,
        origin: &Path,
    ) -> Result<Splits, DataError> {
        train.check(origin)?;
        val.check(origin)?;
        if (train.channels, train.height, train.width) != (val.channels, val.height, val.width) {
            return Err(DataError::new(
                origin,
                "training and validation images differ in shape",
            ));
        }
        if train.is_empty() || val.is_empty() {
            return Err(DataError::new(origin, "a split has no images"));
        }
        let classes = train.classes.max(val.classes);
        Ok(Splits {
            train: Dataset { classes, ..train },
            val: Dataset { classes, ..val },
            description,
        })
    }

    /// `train` training and `val` validation images (all, where a split has fewer),
    /// spread evenly over each split, so that data stored class by class keeps
    /// every class.
    pub fn truncated(&self, train: usize, val: usize) -> Splits {
        let spread = |d: &Dataset, n: usize| {
            let n = n.min(d.len());
            d.subset(&(0..n).map(|j| j * d.len() / n).collect::<Vec<_>>())
        };
        Splits {
            train: spread(&self.train, train),
            val: spread(&self.val, val),
            description: format!(
                "{} ({} of its training / {} of its validation images)",
                self.description,
                train.min(self.train.len()),
                val.min(self.val.len())
            ),
        }
    }

    /// These splits with at most `images` training images (`None`: all), the
    /// validation split whole.
    pub fn with_train_images(self, images: Option<usize>) -> Splits {
        match images {
            Some(n) if n < self.train.len() => self.truncated(n, usize::MAX),
            _ => self,
        }
    }
}

/// Data that cannot be used, and which file it is.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct DataError {
    pub path: PathBuf,
    pub problem: String,
}

impl DataError {
    pub fn new(path: &Path, problem: impl std::fmt::Display) -> DataError {
        DataError {
            path: path.to_path_buf(),
            problem: problem.to_string(),
        }
    }
}
