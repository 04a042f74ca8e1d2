//! Loaders on small fixture files, including broken ones, and the batch pipeline's
//! determinism.

use std::io::Write;
use std::path::{Path, PathBuf};

use train::augment::Augment;
use train::data::{embedded_fashion_mnist, load_data, load_folder, load_idx_dir};
use train::loader::make_batch;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("effnas-data-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An MNIST-layout directory: 6 train and 3 test images of 4×4, 3 classes.
fn write_idx_dir(dir: &Path) {
    let images = |n: u32| {
        idx(
            &[n, 4, 4],
            &(0..n * 16).map(|i| (i * 7 % 256) as u8).collect::<Vec<_>>(),
        )
    };
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gz(&images(6))).unwrap();
    std::fs::write(
        dir.join("train-labels-idx1-ubyte.gz"),
        gz(&idx(&[6], &[0, 1, 2, 0, 1, 2])),
    )
    .unwrap();
    // Raw (not gzipped) files are read too.
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(3)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(&[3], &[2, 1, 0])).unwrap();
}

#[test]
fn idx_directories_load_and_broken_files_are_named() {
    let dir = scratch("idx");
    write_idx_dir(&dir);
    let s = load_idx_dir(&dir).unwrap();
    assert_eq!(
        (s.train.len(), s.val.len(), s.train.classes, s.train.height),
        (6, 3, 3, 4)
    );
    assert_eq!(s.val.labels, [2, 1, 0]);
    // load_data recognises the layout.
    assert_eq!(
        load_data(Some(dir.to_str().unwrap())).unwrap().train.len(),
        6
    );

    // Truncated data, a corrupt gzip, mismatched counts, a missing file.
    let truncated = gz(&idx(&[6, 4, 4], &[0; 50]));
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), truncated).unwrap();
    let err = load_idx_dir(&dir).unwrap_err().to_string();
    assert!(
        err.contains("train-images-idx3-ubyte.gz") && err.contains("truncated"),
        "{err}"
    );
    std::fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        [0x1f, 0x8b, 1, 2, 3],
    )
    .unwrap();
    let err = load_idx_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("corrupt gzip"), "{err}");
    write_idx_dir(&dir);
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(&[2], &[2, 1])).unwrap();
    let err = load_idx_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("3 images but labels of shape [2]"), "{err}");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let err = load_idx_dir(&dir).unwrap_err().to_string();
    assert!(
        err.contains("t10k-labels-idx1-ubyte.gz") && err.contains("missing"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn image_folders_load_with_classes_and_a_held_out_split() {
    let dir = scratch("folder");
    for (class, value) in [("cat", 40u8), ("dog", 200u8)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..10 {
            let img = image::GrayImage::from_pixel(20, 12, image::Luma([value + i]));
            img.save(dir.join(class).join(format!("{i:02}.png")))
                .unwrap();
        }
    }
    let s = load_folder(&dir).unwrap();
    assert_eq!(
        (
            s.train.len(),
            s.val.len(),
            s.train.classes,
            s.train.channels
        ),
        (18, 2, 2, 1)
    );
    assert_eq!(
        (s.train.height, s.train.width),
        (train::data::FOLDER_SIDE, train::data::FOLDER_SIDE)
    );
    assert_eq!(s.val.labels, [0, 1]);
    assert!(s.description.contains("cat, dog"));
    // A colour image makes the whole set RGB.
    image::RgbImage::from_pixel(8, 8, image::Rgb([255, 0, 0]))
        .save(dir.join("dog").join("red.png"))
        .unwrap();
    let s = load_folder(&dir).unwrap();
    assert_eq!(s.train.channels, 3);
    // A corrupt image is named.
    std::fs::write(dir.join("cat").join("05.png"), b"not a png").unwrap();
    let err = load_folder(&dir).unwrap_err().to_string();
    assert!(err.contains("05.png") && err.contains("cannot"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
    // Neither a directory nor a known name.
    let err = load_data(Some("/nonexistent/data"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/data"), "{err}");
}

#[test]
fn augmented_batches_are_deterministic_under_a_seed() {
    let s = embedded_fashion_mnist().unwrap();
    let stats = s.train.channel_stats();
    let augment = Augment {
        size: 32,
        crop_pad: 2,
        flip: true,
        randaug_ops: 2,
        randaug_magnitude: 9.0,
        mixup_alpha: 0.2,
        cutmix_alpha: 0.0,
    };
    let indices: Vec<usize> = (0..16).collect();
    let a = make_batch(&s.train, &indices, &augment, &stats, &[7, 1]);
    let b = make_batch(&s.train, &indices, &augment, &stats, &[7, 1]);
    let c = make_batch(&s.train, &indices, &augment, &stats, &[8, 1]);
    assert_eq!(a.images, b.images);
    assert_eq!(a.targets, b.targets);
    assert_ne!(a.images, c.images);
    assert_eq!(a.images.len(), 16 * 32 * 32);
    // Soft targets remain distributions; normalised images are centred-ish.
    for t in a.targets.chunks(10) {
        assert!((t.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let plain = make_batch(&s.train, &indices, &Augment::eval(28), &stats, &[0]);
    let mean = plain.images.iter().sum::<f32>() / plain.images.len() as f32;
    assert!(mean.abs() < 0.5, "{mean}");
}
