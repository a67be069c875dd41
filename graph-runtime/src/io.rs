//! safetensors files in PyTorch's `state_dict` layout, so weights move to and from PyTorch
//! and candle unchanged. Reads and writes whole files; never changes a value, only its order.
//!
//! **Layout.** Each tensor is stored under the name [`Parameters::visit_named`] gives it
//! (`0.weight`, `0.bias`, `2.weight`, … for a `Sequential`), with its PyTorch shape (`[out, in]`
//! for a weight, `[out]` for a bias, `[]` for a scalar), in row-major order, little-endian,
//! as `F32` or `F64` after `T`, or as `I64` for a tensor of whole numbers
//! ([`TensorRef::integer`](crate::params::TensorRef::integer): `BatchNorm1d`'s
//! `num_batches_tracked`, as PyTorch stores it). nalgebra stores matrices column-major, so weights are
//! transposed on the way out and back on the way in: the file's element `[o, i]` is
//! `weight[(o, i)]`.
//!
//! **Loading is checked, then written.** Every tensor of the model must be in the file with
//! the model's shape and dtype, and the file may hold nothing else. All of that, and the file's
//! own structure, is checked before the first element is written, so a failed load returns an
//! [`Error`] naming the tensor (and both shapes or dtypes) and leaves the model as it was.
//! There is no dtype conversion: an `f32` file does not load into an `f64` model.
//!
//! **Saving is atomic.** The bytes go to a uniquely named temporary file in the target's
//! directory, which is flushed to disk (`sync_all`) and then renamed over the target; on unix
//! the directory is then synced too, as a best effort. A crash or an error mid-save leaves the
//! previous file whole, and an error removes the temporary file. (Replacing the file also
//! replaces its permissions with the defaults, and a symbolic link with a file.)
//!
//! **Checkpoints.** [`save_checkpoint`] stores, beside the parameters, extra flat tensors (an
//! optimizer's state buffers) and a string map in the header's `__metadata__` (the step, the
//! learning rate, …); [`load_checkpoint`] reads all three back with the same checks.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use safetensors::tensor::TensorInfo;
use safetensors::{Dtype, SafeTensorError, SafeTensors, View};

use crate::params::Parameters;
use crate::{Error, Real, Result};

/// The name safetensors reserves in the header for the metadata map.
const METADATA_KEY: &str = "__metadata__";

/// Saves every tensor of `params` to a safetensors file at `path`, replacing it atomically.
///
/// The file is what `safetensors.torch.save_file(model.state_dict(), path)` writes for the
/// same model (see the [module docs](self) for the layout).
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be written (the previous file, if any, is then intact);
/// [`Error::DuplicateKey`] if two tensors share a name.
///
/// ```
/// use graph_runtime::io::{load_safetensors, save_safetensors};
/// use graph_runtime::nalgebra::SMatrix;
///
/// let path = std::env::temp_dir().join(format!("doc-save-{}.safetensors", std::process::id()));
/// let weight = SMatrix::<f32, 2, 3>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// save_safetensors(&weight, &path)?;
///
/// let mut loaded = SMatrix::<f32, 2, 3>::zeros();
/// load_safetensors(&mut loaded, &path)?;
/// assert_eq!(loaded, weight);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn save_safetensors<T, P>(params: &P, path: impl AsRef<Path>) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    save_checkpoint(params, &[], &HashMap::new(), path)
}

/// As [`save_safetensors`], with `metadata` in the header's `__metadata__` (an empty map
/// writes no `__metadata__` at all, as PyTorch does for `metadata=None`).
///
/// # Errors
///
/// As [`save_safetensors`].
///
/// ```
/// use std::collections::HashMap;
/// use graph_runtime::io::{load_safetensors_with_metadata, save_safetensors_with_metadata};
/// use graph_runtime::nalgebra::SVector;
///
/// let path = std::env::temp_dir().join(format!("doc-meta-{}.safetensors", std::process::id()));
/// let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
/// save_safetensors_with_metadata(&SVector::<f64, 3>::repeat(0.5), &metadata, &path)?;
///
/// let mut bias = SVector::<f64, 3>::zeros();
/// assert_eq!(load_safetensors_with_metadata(&mut bias, &path)?, metadata);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn save_safetensors_with_metadata<T, P>(
    params: &P,
    metadata: &HashMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    save_checkpoint(params, &[], metadata, path)
}

/// Loads every tensor of `params` from the safetensors file at `path`, checked.
///
/// The file must hold exactly the tensors of `params`, each with its name, shape and dtype;
/// `__metadata__` is ignored. Loads a file from `safetensors.torch.save_file(model.state_dict())`
/// for the same architecture.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read, [`Error::Corrupt`] if it is not a valid
/// safetensors file, [`Error::MissingTensor`], [`Error::UnexpectedTensor`],
/// [`Error::ShapeMismatch`] and [`Error::DtypeMismatch`] if it does not match `params`. On any
/// error `params` is unchanged.
///
/// ```
/// use graph_runtime::io::{load_safetensors, save_safetensors};
/// use graph_runtime::nalgebra::{SMatrix, SVector};
/// use graph_runtime::Error;
///
/// let path = std::env::temp_dir().join(format!("doc-load-{}.safetensors", std::process::id()));
/// save_safetensors(&SVector::<f32, 4>::repeat(1.0), &path)?;
///
/// let mut wrong = SMatrix::<f32, 2, 2>::zeros();
/// let error = load_safetensors(&mut wrong, &path).unwrap_err();
/// assert!(matches!(error, Error::ShapeMismatch { .. }));
/// assert_eq!(wrong, SMatrix::<f32, 2, 2>::zeros()); // untouched
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn load_safetensors<T, P>(params: &mut P, path: impl AsRef<Path>) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    load_checkpoint(params, &mut [], path).map(drop)
}

/// As [`load_safetensors`], returning the header's `__metadata__` (empty if it has none).
///
/// # Errors
///
/// As [`load_safetensors`].
///
/// ```
/// use std::collections::HashMap;
/// use graph_runtime::io::{load_safetensors_with_metadata, save_safetensors};
///
/// let path = std::env::temp_dir().join(format!("doc-nometa-{}.safetensors", std::process::id()));
/// save_safetensors(&2.0_f64, &path)?;
/// let mut scalar = 0.0_f64;
/// assert_eq!(load_safetensors_with_metadata(&mut scalar, &path)?, HashMap::new());
/// assert_eq!(scalar, 2.0);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn load_safetensors_with_metadata<T, P>(
    params: &mut P,
    path: impl AsRef<Path>,
) -> Result<HashMap<String, String>>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    load_checkpoint(params, &mut [], path)
}

/// Saves `params`, the flat tensors `extra` (each `(name, elements)`, stored with shape
/// `[len]`) and `metadata` to one safetensors file at `path`, replacing it atomically.
///
/// This is a training checkpoint: `extra` holds an optimizer's state buffers, `metadata`
/// its step count and hyperparameters as strings. The names of `extra` share one namespace
/// with the parameters' names, so pick ones no layer uses (`optim.exp_avg`, say).
///
/// # Errors
///
/// [`Error::DuplicateKey`] if a name is used twice (or is `__metadata__`), [`Error::Io`] if the
/// file cannot be written. The previous file, if any, is then intact.
///
/// ```
/// use std::collections::HashMap;
/// use graph_runtime::io::{load_checkpoint, save_checkpoint};
/// use graph_runtime::nalgebra::SMatrix;
///
/// let path = std::env::temp_dir().join(format!("doc-ckpt-{}.safetensors", std::process::id()));
/// let weight = SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
/// let momentum = vec![0.1, 0.2, 0.3, 0.4];
/// let metadata = HashMap::from([("step".to_string(), "100".to_string())]);
/// save_checkpoint(&weight, &[("optim.momentum", &momentum[..])], &metadata, &path)?;
///
/// let mut restored_weight = SMatrix::<f64, 2, 2>::zeros();
/// let mut restored_momentum = vec![0.0; 4];
/// let restored_metadata = load_checkpoint(
///     &mut restored_weight,
///     &mut [("optim.momentum", &mut restored_momentum[..])],
///     &path,
/// )?;
/// assert_eq!((restored_weight, restored_momentum), (weight, momentum));
/// assert_eq!(restored_metadata["step"], "100");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn save_checkpoint<T, P>(
    params: &P,
    extra: &[(&str, &[T])],
    metadata: &HashMap<String, String>,
    path: impl AsRef<Path>,
) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    let path = path.as_ref();
    let mut entries = Vec::new();
    let mut inconsistent = None;
    params.visit_named("", &mut |key, tensor| {
        if tensor.data.len() != element_count(tensor.shape) {
            inconsistent.get_or_insert_with(|| Error::InconsistentTensor {
                key: key.to_string(),
                shape: tensor.shape.to_vec(),
                len: tensor.data.len(),
            });
            return;
        }
        let dtype = file_dtype::<T>(tensor.integer);
        entries.push(Entry {
            key: key.to_string(),
            shape: tensor.shape.to_vec(),
            bytes: to_row_major_bytes(tensor.shape, tensor.data, dtype),
            dtype,
        });
    });
    if let Some(error) = inconsistent {
        return Err(error);
    }
    for &(key, data) in extra {
        entries.push(Entry {
            key: key.to_string(),
            shape: vec![data.len()],
            bytes: to_row_major_bytes(&[data.len()], data, dtype_of::<T>()),
            dtype: dtype_of::<T>(),
        });
    }
    check_unique(entries.iter().map(|entry| entry.key.as_str()))?;

    let metadata = (!metadata.is_empty()).then(|| metadata.clone());
    let named = entries.into_iter().map(|entry| (entry.key.clone(), entry));
    let bytes = safetensors::serialize(named, metadata).map_err(|error| Error::Io {
        action: "serializing tensors for",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, error.to_string()),
    })?;
    write_atomically(path, &bytes)
}

/// Loads `params`, the flat tensors `extra` (each `(name, destination)`, expected with shape
/// `[destination.len()]`) and the metadata from a file [`save_checkpoint`] wrote.
///
/// The file must hold exactly these tensors, as [`load_safetensors`] requires; so a checkpoint
/// does not load with [`load_safetensors`] (its extra tensors are unexpected), and a plain
/// parameters file does not load as a checkpoint that expects extras. Allocate the
/// destinations first: an optimizer knows their length from `params.len()`.
///
/// # Errors
///
/// As [`load_safetensors`], for `extra` as for the parameters, plus [`Error::DuplicateKey`] if
/// a name is used twice. On any error `params` and every destination are unchanged.
///
/// ```
/// use std::collections::HashMap;
/// use graph_runtime::io::{load_checkpoint, save_checkpoint};
/// use graph_runtime::Error;
///
/// let path = std::env::temp_dir().join(format!("doc-ckpt2-{}.safetensors", std::process::id()));
/// save_checkpoint(&1.0_f32, &[("optim.velocity", &[0.5_f32][..])], &HashMap::new(), &path)?;
///
/// let mut scalar = 0.0_f32;
/// let mut too_long = vec![0.0_f32; 2];
/// let error = load_checkpoint(&mut scalar, &mut [("optim.velocity", &mut too_long[..])], &path);
/// assert!(matches!(error, Err(Error::ShapeMismatch { key, .. }) if key == "optim.velocity"));
/// assert_eq!((scalar, too_long), (0.0, vec![0.0, 0.0]));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub fn load_checkpoint<T, P>(
    params: &mut P,
    extra: &mut [(&str, &mut [T])],
    path: impl AsRef<Path>,
) -> Result<HashMap<String, String>>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| Error::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let (header_len, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|error| corrupt(corruption_reason(&error, bytes.len())))?;
    // `read_metadata` has checked that the header fits in the file and the data exactly fills
    // the rest, so this slice and every tensor's offsets within it are in bounds.
    let data = bytes
        .get(8 + header_len..)
        .ok_or_else(|| corrupt("the header runs past the end of the file".into()))?;

    // What the model expects, in visit order.
    let mut expected: Vec<(String, Vec<usize>, Dtype)> = Vec::new();
    let mut inconsistent = None;
    params.visit_named("", &mut |key, tensor| {
        if tensor.data.len() != element_count(tensor.shape) {
            inconsistent.get_or_insert_with(|| Error::InconsistentTensor {
                key: key.to_string(),
                shape: tensor.shape.to_vec(),
                len: tensor.data.len(),
            });
        }
        let dtype = file_dtype::<T>(tensor.integer);
        expected.push((key.to_string(), tensor.shape.to_vec(), dtype));
    });
    if let Some(error) = inconsistent {
        return Err(error);
    }
    expected.extend(
        extra
            .iter()
            .map(|(key, data)| (key.to_string(), vec![data.len()], dtype_of::<T>())),
    );
    check_unique(expected.iter().map(|(key, _, _)| key.as_str()))?;

    // Check everything and decode into scratch buffers before touching `params`.
    let mut decoded: Vec<Vec<T>> = Vec::with_capacity(expected.len());
    for (key, shape, dtype) in &expected {
        let info = header.info(key).ok_or_else(|| Error::MissingTensor {
            key: key.clone(),
            expected: shape.clone(),
        })?;
        decoded.push(decode(key, shape, *dtype, info, data, &corrupt)?);
    }
    let expected_keys: HashSet<&str> = expected.iter().map(|(key, _, _)| key.as_str()).collect();
    if let Some(key) = header
        .offset_keys()
        .into_iter()
        .find(|key| !expected_keys.contains(key.as_str()))
    {
        let found = header
            .info(&key)
            .map_or_else(Vec::new, |info| info.shape.clone());
        return Err(Error::UnexpectedTensor { key, found });
    }

    // Nothing can fail from here on. Match by name, not position, so a `Parameters` impl whose
    // two visits disagree cannot put a tensor in the wrong place.
    let mut by_key: HashMap<String, Vec<T>> = expected
        .into_iter()
        .map(|(key, _, _)| key)
        .zip(decoded)
        .collect();
    for (key, destination) in extra.iter_mut() {
        if let Some(values) = by_key.remove(*key) {
            if values.len() == destination.len() {
                destination.copy_from_slice(&values);
            }
        }
    }
    params.visit_named_mut("", &mut |key, tensor| {
        if let Some(values) = by_key.remove(key) {
            if values.len() == tensor.data.len() {
                tensor.data.copy_from_slice(&values);
            }
        }
    });
    Ok(header.metadata().clone().unwrap_or_default())
}

/// Why safetensors rejected a file of `file_len` bytes, in words a user can act on.
fn corruption_reason(error: &SafeTensorError, file_len: usize) -> String {
    match error {
        SafeTensorError::HeaderTooSmall => {
            format!("it has {file_len} bytes, fewer than the 8 of the header length")
        }
        SafeTensorError::InvalidHeaderLength => {
            format!("its header length runs past the end of the file ({file_len} bytes)")
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensors' data does not fill the rest of the file exactly (truncated?)".into()
        }
        other => other.to_string(),
    }
}

/// One tensor ready to serialize: row-major little-endian bytes.
struct Entry {
    key: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
    dtype: Dtype,
}

impl View for Entry {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The safetensors dtype of `T`: `F32` or `F64`, the only two `Real`s.
fn dtype_of<T: Real>() -> Dtype {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>() {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// The safetensors dtype of a tensor of `T`s: `I64` for whole numbers (see
/// [`TensorRef::integer`](crate::params::TensorRef::integer)), else `T`'s own.
fn file_dtype<T: Real>(integer: bool) -> Dtype {
    if integer {
        Dtype::I64
    } else {
        dtype_of::<T>()
    }
}

/// The number of elements of a tensor of this shape (1 for a scalar's `[]`).
fn element_count(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// `Err(DuplicateKey)` for the first name used twice, or named `__metadata__`.
fn check_unique<'a>(keys: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for key in keys {
        if key == METADATA_KEY || !seen.insert(key) {
            return Err(Error::DuplicateKey {
                key: key.to_string(),
            });
        }
    }
    Ok(())
}

/// For each element in row-major (C, PyTorch) order, its index in column-major (Fortran,
/// nalgebra) order. The identity for scalars and vectors; a transposition for matrices.
fn column_major_index_of_each_row_major_element(shape: &[usize]) -> Vec<usize> {
    let count = element_count(shape);
    if shape.len() <= 1 {
        return (0..count).collect();
    }
    // Column-major strides: the first axis varies fastest.
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1;
    for &dim in shape {
        strides.push(stride);
        stride *= dim;
    }
    let mut order = Vec::with_capacity(count);
    let mut index = vec![0; shape.len()];
    for _ in 0..count {
        order.push(index.iter().zip(&strides).map(|(i, s)| i * s).sum());
        // Advance the row-major odometer: the last axis varies fastest.
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    order
}

/// The elements of a column-major tensor, reordered row-major, as little-endian bytes of
/// `dtype` (`T`'s own, or `I64`). `data.len()` is the shape's element count (checked by the
/// caller).
fn to_row_major_bytes<T: Real>(shape: &[usize], data: &[T], dtype: Dtype) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(data.len() * dtype.bitsize() / 8);
    for position in column_major_index_of_each_row_major_element(shape) {
        let value = data.get(position).map_or(0.0, |x| x.to_f64());
        match dtype {
            // Exact: the value came from an f32.
            Dtype::F32 => bytes.extend_from_slice(&(value as f32).to_le_bytes()),
            // Exact for the whole numbers an integer tensor holds.
            Dtype::I64 => bytes.extend_from_slice(&(value as i64).to_le_bytes()),
            _ => bytes.extend_from_slice(&value.to_le_bytes()),
        }
    }
    bytes
}

/// Checks one file tensor against the model's expectation and decodes it into column-major
/// order.
fn decode<T: Real>(
    key: &str,
    shape: &[usize],
    dtype: Dtype,
    info: &TensorInfo,
    data: &[u8],
    corrupt: &dyn Fn(String) -> Error,
) -> Result<Vec<T>> {
    if info.dtype != dtype {
        return Err(Error::DtypeMismatch {
            key: key.to_string(),
            expected: dtype.to_string(),
            found: info.dtype.to_string(),
        });
    }
    if info.shape != shape {
        return Err(Error::ShapeMismatch {
            key: key.to_string(),
            expected: shape.to_vec(),
            found: info.shape.clone(),
        });
    }
    let (start, end) = info.data_offsets;
    let bytes = data
        .get(start..end)
        .ok_or_else(|| corrupt(format!("tensor `{key}` lies outside the file")))?;
    let values: Vec<T> = match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| T::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]).into()))
            .collect(),
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| {
                T::from_f64(
                    i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64,
                )
            })
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| {
                T::from_f64(f64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            })
            .collect(),
    };
    if values.len() != element_count(shape) {
        return Err(corrupt(format!(
            "tensor `{key}` has {} bytes of data for shape {shape:?}",
            bytes.len()
        )));
    }
    let mut column_major = vec![T::ZERO; values.len()];
    for (value, position) in values
        .into_iter()
        .zip(column_major_index_of_each_row_major_element(shape))
    {
        column_major[position] = value;
    }
    Ok(column_major)
}

/// Distinguishes temporary files made by one process at the same instant.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` through a synced temporary file renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_error = |action: &'static str| {
        move |source: io::Error| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let file_name = path.file_name().ok_or_else(|| {
        io_error("writing")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let (temp_path, mut file) = create_temp_file(directory, file_name)
        .map_err(io_error("creating a temporary file to write"))?;

    let mut result = file.write_all(bytes).map_err(io_error("writing"));
    if result.is_ok() {
        result = file.sync_all().map_err(io_error("syncing"));
    }
    // Close before renaming: Windows cannot rename an open file.
    drop(file);
    if result.is_ok() {
        result = fs::rename(&temp_path, path).map_err(io_error("renaming into place"));
    }
    if result.is_err() {
        // The error that matters is the one above; a leftover temp file is all this can leave.
        let _ = fs::remove_file(&temp_path);
        return result;
    }
    sync_directory(directory);
    Ok(())
}

/// Creates a new, empty file beside the target, named `.<file name>.<pid>.<n>.tmp`.
fn create_temp_file(directory: &Path, file_name: &std::ffi::OsStr) -> io::Result<(PathBuf, File)> {
    let mut attempts = 0;
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = std::ffi::OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let temp_path = directory.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            // A leftover from a crashed process with our pid: try the next name.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                attempts += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Makes the rename durable on unix. Best effort: the rename has happened either way, and some
/// file systems refuse to sync a directory.
fn sync_directory(directory: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(directory) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = directory;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_order_transposes_a_matrix_and_keeps_a_vector() {
        // A 2×3 matrix stored column-major: [a00, a10, a01, a11, a02, a12].
        assert_eq!(
            column_major_index_of_each_row_major_element(&[2, 3]),
            vec![0, 2, 4, 1, 3, 5]
        );
        assert_eq!(
            column_major_index_of_each_row_major_element(&[3]),
            vec![0, 1, 2]
        );
        assert_eq!(column_major_index_of_each_row_major_element(&[]), vec![0]);
        // 2×2×2: row-major (i, j, k) ↦ column-major i + 2j + 4k.
        assert_eq!(
            column_major_index_of_each_row_major_element(&[2, 2, 2]),
            vec![0, 4, 2, 6, 1, 5, 3, 7]
        );
        assert!(column_major_index_of_each_row_major_element(&[0, 4]).is_empty());
    }

    #[test]
    fn metadata_key_is_reserved_and_names_are_unique() {
        assert!(check_unique(["a", "b"].into_iter()).is_ok());
        assert!(matches!(
            check_unique(["a", "b", "a"].into_iter()),
            Err(Error::DuplicateKey { key }) if key == "a"
        ));
        assert!(matches!(
            check_unique(["__metadata__"].into_iter()),
            Err(Error::DuplicateKey { .. })
        ));
    }
}
