//! A folder of images, one subfolder per class: `DIR/<class>/*.png|jpg`, or with
//! explicit splits `DIR/train/<class>/…` and `DIR/val/<class>/…`. Without explicit
//! splits, every tenth image of each class (in name order) is held out.
//!
//! Images are decoded, converted to grey if every image is grey (else to RGB), and
//! resized to [`FOLDER_SIDE`]² so they can be batched; training resizes again to
//! whatever size the schedule asks for.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::{DataError, Dataset, Splits};

/// The side images from a folder are stored at.
pub const FOLDER_SIDE: usize = 64;

fn is_image(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::new(dir, format!("cannot list: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// The class folders of `dir` and the images in each.
fn classes(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, DataError> {
    let mut classes = Vec::new();
    for class in sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()) {
        let images: Vec<PathBuf> = sorted_entries(&class)?
            .into_iter()
            .filter(|p| is_image(p))
            .collect();
        let name = class
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        classes.push((name, images));
    }
    if classes.len() < 2 {
        return Err(DataError::new(
            dir,
            "needs at least two class subfolders with PNG or JPEG images",
        ));
    }
    if let Some((name, _)) = classes.iter().find(|(_, images)| images.is_empty()) {
        return Err(DataError::new(
            &dir.join(name),
            "class folder has no PNG or JPEG images",
        ));
    }
    Ok(classes)
}

fn decode(paths: &[(PathBuf, u32)], grey: bool, classes: usize) -> Result<Dataset, DataError> {
    let side = FOLDER_SIDE as u32;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (path, label) in paths {
        let img = image::open(path)
            .map_err(|e| DataError::new(path, format!("cannot decode image: {e}")))?;
        let img = img.resize_exact(side, side, FilterType::Triangle);
        let planes: Vec<u8> = if grey {
            img.to_luma8().into_raw()
        } else {
            // Interleaved RGB to planes.
            let rgb = img.to_rgb8().into_raw();
            (0..3)
                .flat_map(|c| rgb.iter().skip(c).step_by(3).copied().collect::<Vec<_>>())
                .collect()
        };
        images.extend(planes);
        labels.push(*label);
    }
    Ok(Dataset {
        images,
        labels,
        channels: if grey { 1 } else { 3 },
        height: FOLDER_SIDE,
        width: FOLDER_SIDE,
        classes,
    })
}

fn all_grey(paths: &[&(PathBuf, u32)]) -> Result<bool, DataError> {
    for (path, _) in paths {
        let reader = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| DataError::new(path, format!("cannot read: {e}")))?;
        let img = reader
            .decode()
            .map_err(|e| DataError::new(path, format!("cannot decode image: {e}")))?;
        if img.color().has_color() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Loads an image folder (see the module documentation).
pub fn load_folder(dir: &Path) -> Result<Splits, DataError> {
    let explicit =
        dir.join("train").is_dir() && (dir.join("val").is_dir() || dir.join("test").is_dir());
    let (train, val, names) = if explicit {
        let val_dir = if dir.join("val").is_dir() {
            dir.join("val")
        } else {
            dir.join("test")
        };
        let train = classes(&dir.join("train"))?;
        let val = classes(&val_dir)?;
        let names: Vec<String> = train.iter().map(|(n, _)| n.clone()).collect();
        let label = |name: &str| names.iter().position(|n| n == name);
        let mut val_paths = Vec::new();
        for (name, images) in &val {
            let l = label(name).ok_or_else(|| {
                DataError::new(
                    &val_dir.join(name),
                    "class is not among the training classes",
                )
            })?;
            val_paths.extend(images.iter().map(|p| (p.clone(), l as u32)));
        }
        let train_paths = train
            .iter()
            .enumerate()
            .flat_map(|(l, (_, images))| images.iter().map(move |p| (p.clone(), l as u32)))
            .collect::<Vec<_>>();
        (train_paths, val_paths, names)
    } else {
        let all = classes(dir)?;
        let (mut train, mut val) = (Vec::new(), Vec::new());
        for (l, (_, images)) in all.iter().enumerate() {
            for (i, p) in images.iter().enumerate() {
                if i % 10 == 9 { &mut val } else { &mut train }.push((p.clone(), l as u32));
            }
        }
        if val.is_empty() {
            return Err(DataError::new(
                dir,
                "too few images to hold out a validation split (need 10 in a class)",
            ));
        }
        (train, val, all.into_iter().map(|(n, _)| n).collect())
    };
    let grey = all_grey(&train.iter().chain(&val).collect::<Vec<_>>())?;
    let classes = names.len();
    Splits::new(
        decode(&train, grey, classes)?,
        decode(&val, grey, classes)?,
        format!(
            "image folder {} ({} classes: {})",
            dir.display(),
            classes,
            names.join(", ")
        ),
        dir,
    )
}
