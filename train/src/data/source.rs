//! Which data a `--data` argument names.

use std::path::Path;

use super::{DataError, Splits, embedded_fashion_mnist, load_cifar, load_folder, load_idx_dir};

/// Where Debian's dataset-fashion-mnist installs the full set.
pub const FULL_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Loads the data `spec` names:
/// - nothing: the full Fashion-MNIST if installed, else the embedded subset;
/// - `embedded`: the embedded subset; `fashion-mnist`: the installed full set;
/// - a directory of IDX files, CIFAR binaries, or class folders of images.
pub fn load_data(spec: Option<&str>) -> Result<Splits, DataError> {
    match spec {
        None if Path::new(FULL_FASHION_MNIST).is_dir() => {
            load_idx_dir(Path::new(FULL_FASHION_MNIST))
        }
        None | Some("embedded") => embedded_fashion_mnist(),
        Some("fashion-mnist") => {
            let dir = Path::new(FULL_FASHION_MNIST);
            if !dir.is_dir() {
                return Err(DataError::new(
                    dir,
                    "not installed (apt-get install dataset-fashion-mnist)",
                ));
            }
            load_idx_dir(dir)
        }
        Some(path) => {
            let dir = Path::new(path);
            if !dir.is_dir() {
                return Err(DataError::new(
                    dir,
                    "is neither a directory nor one of `embedded`, `fashion-mnist`",
                ));
            }
            let has = |name: &str| dir.join(name).exists();
            if has("train-images-idx3-ubyte.gz") || has("train-images-idx3-ubyte") {
                load_idx_dir(dir)
            } else if has("data_batch_1.bin") || has("train.bin") {
                load_cifar(dir)
            } else {
                load_folder(dir)
            }
        }
    }
}
