//! MNIST from its IDX files, raw or gzip-compressed, as a user downloads them.
//!
//! The format is LeCun's: a big-endian magic number (two zero bytes, the element type, `0x08`
//! for unsigned bytes, and the number of dimensions), one big-endian `u32` per dimension, then
//! the elements. Fashion-MNIST and KMNIST use the same files, names and sizes, so [`load`]
//! reads them too.
//!
//! ```no_run
//! let (train, test) = chainrule::data::mnist::load::<f32>("data/mnist")?;
//! assert_eq!((train.len(), test.len()), (60_000, 10_000));
//! let train = train.map_inputs(|pixels| pixels / 255.0);
//! # Ok::<(), chainrule::Error>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use nalgebra::SVector;

use super::{invalid, reading, Dataset};
use crate::{Real, Result};

/// Rows and columns of an MNIST image.
const SIDE: usize = 28;

/// Pixels in an MNIST image, 28 × 28: the inputs of its [`Dataset`]s.
///
/// ```
/// use chainrule::data::{mnist, Dataset};
/// let empty: Dataset<f32, { mnist::PIXELS }, usize> = Dataset::new();
/// assert_eq!(mnist::PIXELS, 784);
/// ```
pub const PIXELS: usize = SIDE * SIDE;

/// The IDX element type of unsigned bytes, MNIST's only one.
const UNSIGNED_BYTE: u8 = 0x08;

/// Reads MNIST's training and test sets from `dir`, as `(train, test)`: the files
/// `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte`, each raw or with `.gz` appended (as downloaded).
///
/// An image is a column of 784 pixels, row by row (PyTorch's `(1, 28, 28)` in row-major
/// order), each 0 to 255 as the file stores it; scale by 1/255 with [`Dataset::map_inputs`].
/// Labels are the digits 0 to 9.
///
/// ```
/// use chainrule::data::mnist;
///
/// let dir = tempfile::tempdir()?;
/// let error = mnist::load::<f32>(dir.path()).unwrap_err();
/// assert!(error.to_string().contains("neither it nor `train-images-idx3-ubyte.gz` exists"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`](crate::Error::Io) if a file cannot be read, and
/// [`Error::InvalidDataFile`](crate::Error::InvalidDataFile) naming the file if it is missing,
/// is not valid gzip, has a bad magic number, is truncated or too long, holds images of
/// another size than 28×28 or labels above 9, or if an images file and its labels file hold
/// different numbers of samples.
pub fn load<T: Real>(
    dir: impl AsRef<Path>,
) -> Result<(Dataset<T, PIXELS, usize>, Dataset<T, PIXELS, usize>)> {
    let dir = dir.as_ref();
    let split = |prefix: &str| {
        let images = find(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        read(images, labels)
    };
    Ok((split("train")?, split("t10k")?))
}

/// Reads one set of MNIST images and their labels from two IDX files, each raw or
/// gzip-compressed (told apart by their first bytes, not their names). [`load`] reads the
/// training and test sets with it.
///
/// ```
/// use chainrule::data::mnist;
///
/// // Two images of 28×28 pixels, all 0 but the first pixel, labelled 3 and 7.
/// let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
/// images.extend([0_u8; 2 * 784]);
/// images[16] = 255;
/// let labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 7];
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("images"), &images)?;
/// std::fs::write(dir.path().join("labels"), labels)?;
/// let data = mnist::read::<f32>(dir.path().join("images"), dir.path().join("labels"))?;
/// assert_eq!(data.targets(), [3, 7]);
/// assert_eq!((data.inputs()[0][0], data.inputs()[1][0]), (255.0, 0.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`load`]'s.
pub fn read<T: Real>(
    images: impl AsRef<Path>,
    labels: impl AsRef<Path>,
) -> Result<Dataset<T, PIXELS, usize>> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let images = read_idx(images_path, &[SIDE, SIDE], "images")?;
    let labels = read_idx(labels_path, &[], "labels")?;
    if labels.count != images.count {
        let problem = format!(
            "count mismatch: {} labels, but `{}` has {} images",
            labels.count,
            images_path.display(),
            images.count
        );
        return Err(invalid(labels_path, None, None, problem));
    }
    if let Some(index) = labels.data.iter().position(|&label| label > 9) {
        let problem = format!("label {index} is {}, not a digit 0–9", labels.data[index]);
        return Err(invalid(labels_path, None, None, problem));
    }
    let samples = images.data.chunks_exact(PIXELS).zip(&labels.data);
    Ok(samples
        .map(|(pixels, &label)| {
            let image = SVector::from_fn(|pixel, _| T::from_f64(f64::from(pixels[pixel])));
            (image, usize::from(label))
        })
        .collect())
}

/// `dir/name`, or `dir/name.gz` if only that exists.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    let compressed = dir.join(format!("{name}.gz"));
    if raw.exists() {
        return Ok(raw);
    }
    if compressed.exists() {
        return Ok(compressed);
    }
    let problem = format!("neither it nor `{name}.gz` exists");
    Err(invalid(&raw, None, None, problem))
}

/// An IDX file of unsigned bytes: how many items it holds, and their bytes, item by item.
struct Idx {
    count: usize,
    data: Vec<u8>,
}

/// Reads the IDX file at `path`, whose items must have the dimensions `item` (`[]` for
/// scalars); `what` names the items in messages.
fn read_idx(path: &Path, item: &[usize], what: &str) -> Result<Idx> {
    let mut bytes = read_maybe_gzip(path)?;
    let fail = |problem: String| invalid(path, None, None, problem);
    let dimensions = item.len() + 1;
    let header_len = 4 + 4 * dimensions;
    let words: Vec<usize> = bytes
        .chunks_exact(4)
        .take(1 + dimensions)
        .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]) as usize)
        .collect();
    let expected_magic = usize::from(UNSIGNED_BYTE) << 8 | dimensions;
    match words.first() {
        Some(&magic) if magic != expected_magic => {
            return Err(fail(format!(
                "bad magic number 0x{magic:08x}: an IDX file of {what} starts with \
                 0x{expected_magic:08x} (unsigned bytes in {dimensions} dimension(s))"
            )))
        }
        _ if bytes.len() < header_len => {
            return Err(fail(format!(
                "truncated: the header of an IDX file of {what} takes {header_len} bytes, but \
                 the file has {}",
                bytes.len()
            )))
        }
        _ => {}
    }
    let (count, found) = (words[1], &words[2..]);
    if found != item {
        return Err(fail(format!(
            "wrong image size: {what} of {}, but MNIST's are {}",
            times(found),
            times(item)
        )));
    }
    let data_len = count.saturating_mul(item.iter().product());
    let found_len = bytes.len() - header_len;
    if found_len != data_len {
        let problem = if found_len < data_len {
            "truncated"
        } else {
            "too long"
        };
        return Err(fail(format!(
            "{problem}: the header announces {count} {what} ({data_len} bytes), but {found_len} \
             bytes follow it"
        )));
    }
    bytes.drain(..header_len);
    Ok(Idx { count, data: bytes })
}

/// The file's bytes, decompressed if they start with gzip's magic number.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(reading(path))?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut decompressed = Vec::new();
    GzDecoder::new(&bytes[..])
        .read_to_end(&mut decompressed)
        .map_err(|error| invalid(path, None, None, format!("not valid gzip: {error}")))?;
    Ok(decompressed)
}

/// "28×28".
fn times(sizes: &[usize]) -> String {
    let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
    sizes.join("×")
}
