//! CIFAR-10 and CIFAR-100 in their binary versions.
//!
//! CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`, records
//! of 1 label byte and 3072 pixel bytes (32×32, red, green, blue planes).
//! CIFAR-100: `train.bin` and `test.bin`, records of a coarse and a fine label byte
//! and the same pixels; the fine labels (100 classes) are used.

use std::path::Path;

use super::{DataError, Dataset, Splits};

const PIXELS: usize = 3 * 32 * 32;

fn read_records(path: &Path, label_bytes: usize, classes: usize) -> Result<Dataset, DataError> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::new(path, format!("cannot read: {e}")))?;
    let record = label_bytes + PIXELS;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError::new(
            path,
            format!(
                "{} bytes is not a whole number of {record}-byte records (truncated or not CIFAR)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut images = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for r in bytes.chunks_exact(record) {
        let label = r[label_bytes - 1] as u32;
        if label as usize >= classes {
            return Err(DataError::new(
                path,
                format!("label {label} is outside the {classes} classes"),
            ));
        }
        labels.push(label);
        images.extend_from_slice(&r[label_bytes..]);
    }
    Ok(Dataset {
        images,
        labels,
        channels: 3,
        height: 32,
        width: 32,
        classes,
    })
}

fn concat(parts: Vec<Dataset>) -> Dataset {
    let mut all = parts[0].clone();
    for part in &parts[1..] {
        all.images.extend_from_slice(&part.images);
        all.labels.extend_from_slice(&part.labels);
    }
    all
}

/// CIFAR-10 or CIFAR-100, whichever `dir` holds.
pub fn load_cifar(dir: &Path) -> Result<Splits, DataError> {
    if dir.join("train.bin").exists() {
        let train = read_records(&dir.join("train.bin"), 2, 100)?;
        let test = read_records(&dir.join("test.bin"), 2, 100)?;
        return Splits::new(train, test, format!("CIFAR-100 in {}", dir.display()), dir);
    }
    let batches = (1..=5)
        .map(|i| read_records(&dir.join(format!("data_batch_{i}.bin")), 1, 10))
        .collect::<Result<Vec<_>, _>>()?;
    let test = read_records(&dir.join("test_batch.bin"), 1, 10)?;
    Splits::new(
        concat(batches),
        test,
        format!("CIFAR-10 in {}", dir.display()),
        dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cifar10_and_rejects_truncated_batches() {
        let dir = std::env::temp_dir().join(format!("effnas-cifar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = |label: u8| {
            let mut r = vec![label];
            r.extend((0..PIXELS).map(|i| (i % 251) as u8));
            r
        };
        for i in 1..=5 {
            std::fs::write(
                dir.join(format!("data_batch_{i}.bin")),
                [record(i), record(9)].concat(),
            )
            .unwrap();
        }
        std::fs::write(dir.join("test_batch.bin"), record(3)).unwrap();
        let splits = load_cifar(&dir).unwrap();
        assert_eq!(
            (splits.train.len(), splits.val.len(), splits.train.classes),
            (10, 1, 10)
        );
        assert_eq!(splits.train.labels[..4], [1, 9, 2, 9]);
        assert_eq!(splits.val.image(0)[5], 5);

        std::fs::write(dir.join("test_batch.bin"), &record(3)[..100]).unwrap();
        let err = load_cifar(&dir).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("truncated"),
            "{err}"
        );
        std::fs::write(dir.join("test_batch.bin"), record(12)).unwrap();
        let err = load_cifar(&dir).unwrap_err().to_string();
        assert!(err.contains("label 12"), "{err}");
        std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
        let err = load_cifar(&dir).unwrap_err().to_string();
        assert!(
            err.contains("data_batch_4.bin") && err.contains("cannot read"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
