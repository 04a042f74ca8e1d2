//! The IDX format of MNIST and Fashion-MNIST, gzipped or raw.

use std::io::Read;
use std::path::Path;

use super::{DataError, Dataset, Splits};

/// An IDX array of unsigned bytes: its dimensions and data.
#[derive(Debug, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes; gzip is recognised by its magic number.
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::new(path, format!("cannot read: {e}")))?;
    parse_idx(&raw, path)
}

pub(crate) fn parse_idx(raw: &[u8], path: &Path) -> Result<IdxArray, DataError> {
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw)
            .read_to_end(&mut out)
            .map_err(|e| DataError::new(path, format!("corrupt gzip data: {e}")))?;
        out
    } else {
        raw.to_vec()
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::new(path, "not an IDX file (bad magic number)"));
    }
    if bytes[2] != 0x08 {
        return Err(DataError::new(
            path,
            format!(
                "IDX element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                bytes[2]
            ),
        ));
    }
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if rank == 0 || bytes.len() < header {
        return Err(DataError::new(path, "truncated IDX header"));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
        })
        .collect();
    let expected = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let found = bytes.len() - header;
    match expected {
        Some(n) if n == found => Ok(IdxArray {
            dims,
            data: bytes[header..].to_vec(),
        }),
        Some(n) if n > found => Err(DataError::new(
            path,
            format!("truncated: {dims:?} needs {n} bytes of data, found {found}"),
        )),
        Some(n) => Err(DataError::new(
            path,
            format!("{} bytes of trailing data after {dims:?}", found - n),
        )),
        None => Err(DataError::new(
            path,
            format!("dimensions {dims:?} are impossibly large"),
        )),
    }
}

/// Images `[N, H, W]` and labels `[N]` as a dataset.
pub(crate) fn images_and_labels(
    images: IdxArray,
    labels: IdxArray,
    path: &Path,
) -> Result<Dataset, DataError> {
    let [n, height, width] = images.dims[..] else {
        return Err(DataError::new(
            path,
            format!("images must be [N, H, W], found {:?}", images.dims),
        ));
    };
    if labels.dims != [n] {
        return Err(DataError::new(
            path,
            format!("{n} images but labels of shape {:?}", labels.dims),
        ));
    }
    let labels: Vec<u32> = labels.data.iter().map(|&l| l as u32).collect();
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    Ok(Dataset {
        images: images.data,
        labels,
        channels: 1,
        height,
        width,
        classes,
    })
}

/// The first existing file among `names` in `dir`.
fn find(dir: &Path, names: &[&str]) -> Result<std::path::PathBuf, DataError> {
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .ok_or_else(|| {
            DataError::new(
                &dir.join(names[0]),
                "missing (also looked for the names without .gz)",
            )
        })
}

/// A directory in the MNIST layout: `train-images-idx3-ubyte[.gz]`,
/// `train-labels-idx1-ubyte[.gz]`, `t10k-images-…`, `t10k-labels-…`. The test
/// set is the validation split.
pub fn load_idx_dir(dir: &Path) -> Result<Splits, DataError> {
    let split = |prefix: &str| -> Result<Dataset, DataError> {
        let images = find(
            dir,
            &[
                &format!("{prefix}-images-idx3-ubyte.gz"),
                &format!("{prefix}-images-idx3-ubyte"),
            ],
        )?;
        let labels = find(
            dir,
            &[
                &format!("{prefix}-labels-idx1-ubyte.gz"),
                &format!("{prefix}-labels-idx1-ubyte"),
            ],
        )?;
        images_and_labels(read_idx(&images)?, read_idx(&labels)?, &images)
    };
    Splits::new(
        split("train")?,
        split("t10k")?,
        format!("IDX files in {}", dir.display()),
        dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    #[test]
    fn reads_raw_and_gzipped_arrays() {
        let raw = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx(&raw, Path::new("x")).unwrap();
        assert_eq!(a.dims, [2, 2, 3]);
        assert_eq!(a.data.len(), 12);
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &raw).unwrap();
        assert_eq!(
            parse_idx(&encoder.finish().unwrap(), Path::new("x")).unwrap(),
            a
        );
    }

    #[test]
    fn rejects_bad_files_with_the_reason() {
        let p = Path::new("images.idx");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "bad magic"),
            (b"hello world".to_vec(), "bad magic"),
            (vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0], "not supported"),
            (vec![0, 0, 0x08, 3, 0, 0], "truncated IDX header"),
            (
                idx(&[2, 2, 3], &[1, 2, 3]),
                "truncated: [2, 2, 3] needs 12 bytes of data, found 3",
            ),
            (idx(&[1], &[1, 2]), "trailing data"),
            (vec![0x1f, 0x8b, 8, 0, 1, 2, 3], "corrupt gzip"),
        ];
        for (bytes, needle) in cases {
            let err = parse_idx(&bytes, p).unwrap_err().to_string();
            assert!(
                err.contains(needle) && err.starts_with("images.idx"),
                "{err}"
            );
        }
    }
}
