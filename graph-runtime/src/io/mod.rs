//! safetensors files in PyTorch's `state_dict` layout, so weights move to and from PyTorch
//! and candle unchanged. Reads and writes whole files; never changes a value, only its order.
//!
//! **Layout.** Each tensor is stored under the name [`Parameters::visit_named`] gives it
//! (`0.weight`, `0.bias`, `2.weight`, … for a `Sequential`), with its PyTorch shape (`[out, in]`
//! for a weight, `[out]` for a bias, `[]` for a scalar), in row-major order, little-endian,
//! as `F32` or `F64` after `T`. nalgebra stores matrices column-major, so weights are
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
//! directory (`tempfile`'s `NamedTempFile`), which is flushed to disk (`sync_all`) and then
//! renamed over the target (`persist`); on unix the directory is then synced too, as a best
//! effort. A crash or an error mid-save leaves the previous file whole, and an error removes
//! the temporary file. (Replacing the file also replaces its permissions with the defaults
//! `File::create` gives, and a symbolic link with a file.)
//!
//! **Extra tensors.** [`save_safetensors_with_extra`] stores, beside the parameters, extra
//! flat tensors (an optimizer's state buffers) and a string map in the header's
//! `__metadata__` (the step, the learning rate, …); [`load_safetensors_with_extra`] reads all
//! three back with the same checks. A `Trainer`'s checkpoint is built on them.

mod atomic;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{SafeTensorError, SafeTensors, View};

use self::atomic::write_atomically;
use crate::params::{Parameters, TensorRef};
use crate::{Error, Real, Result};

/// How a file stores a tensor's elements; a [`Real`]'s is its [`Real::DTYPE`]. safetensors'
/// own type, re-exported.
///
/// ```
/// use chainrule::io::Dtype;
/// assert_eq!(Dtype::F64.to_string(), "F64");
/// ```
pub use safetensors::Dtype;

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
/// use chainrule::io::{load_safetensors, save_safetensors};
/// use chainrule::nalgebra::SMatrix;
///
/// let path = std::env::temp_dir().join(format!("doc-save-{}.safetensors", std::process::id()));
/// let weight = SMatrix::<f32, 2, 3>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// save_safetensors(&weight, &path)?;
///
/// let mut loaded = SMatrix::<f32, 2, 3>::zeros();
/// load_safetensors(&mut loaded, &path)?;
/// assert_eq!(loaded, weight);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn save_safetensors<T, P>(params: &P, path: impl AsRef<Path>) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    save_safetensors_with_extra(params, &[], &HashMap::new(), path)
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
/// use chainrule::io::{load_safetensors_with_metadata, save_safetensors_with_metadata};
/// use chainrule::nalgebra::SVector;
///
/// let path = std::env::temp_dir().join(format!("doc-meta-{}.safetensors", std::process::id()));
/// let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
/// save_safetensors_with_metadata(&SVector::<f64, 3>::repeat(0.5), &metadata, &path)?;
///
/// let mut bias = SVector::<f64, 3>::zeros();
/// assert_eq!(load_safetensors_with_metadata(&mut bias, &path)?, metadata);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
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
    save_safetensors_with_extra(params, &[], metadata, path)
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
/// use chainrule::io::{load_safetensors, save_safetensors};
/// use chainrule::nalgebra::{SMatrix, SVector};
/// use chainrule::Error;
///
/// let path = std::env::temp_dir().join(format!("doc-load-{}.safetensors", std::process::id()));
/// save_safetensors(&SVector::<f32, 4>::repeat(1.0), &path)?;
///
/// let mut wrong = SMatrix::<f32, 2, 2>::zeros();
/// let error = load_safetensors(&mut wrong, &path).unwrap_err();
/// assert!(matches!(error, Error::ShapeMismatch { .. }));
/// assert_eq!(wrong, SMatrix::<f32, 2, 2>::zeros()); // untouched
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn load_safetensors<T, P>(params: &mut P, path: impl AsRef<Path>) -> Result<()>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    load_safetensors_with_extra(params, &mut [], path).map(drop)
}

/// As [`load_safetensors`], returning the header's `__metadata__` (empty if it has none).
///
/// # Errors
///
/// As [`load_safetensors`].
///
/// ```
/// use std::collections::HashMap;
/// use chainrule::io::{load_safetensors_with_metadata, save_safetensors};
///
/// let path = std::env::temp_dir().join(format!("doc-nometa-{}.safetensors", std::process::id()));
/// save_safetensors(&2.0_f64, &path)?;
/// let mut scalar = 0.0_f64;
/// assert_eq!(load_safetensors_with_metadata(&mut scalar, &path)?, HashMap::new());
/// assert_eq!(scalar, 2.0);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn load_safetensors_with_metadata<T, P>(
    params: &mut P,
    path: impl AsRef<Path>,
) -> Result<HashMap<String, String>>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    load_safetensors_with_extra(params, &mut [], path)
}

/// Saves `params`, the flat tensors `extra` (each `(name, elements)`, stored with shape
/// `[len]`) and `metadata` to one safetensors file at `path`, replacing it atomically.
///
/// What a training checkpoint is made of: `extra` holds an optimizer's state buffers,
/// `metadata` its step count and hyperparameters as strings. (`Trainer::save_checkpoint`
/// writes a whole training run this way.) The names of `extra` share one namespace with the
/// parameters' names, so pick ones no layer uses (`optim.exp_avg`, say).
///
/// # Errors
///
/// [`Error::DuplicateKey`] if a name is used twice (or is `__metadata__`), [`Error::Io`] if the
/// file cannot be written. The previous file, if any, is then intact.
///
/// ```
/// use std::collections::HashMap;
/// use chainrule::io::{load_safetensors_with_extra, save_safetensors_with_extra};
/// use chainrule::nalgebra::SMatrix;
///
/// let path = std::env::temp_dir().join(format!("doc-ckpt-{}.safetensors", std::process::id()));
/// let weight = SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0);
/// let momentum = vec![0.1, 0.2, 0.3, 0.4];
/// let metadata = HashMap::from([("step".to_string(), "100".to_string())]);
/// save_safetensors_with_extra(&weight, &[("optim.momentum", &momentum[..])], &metadata, &path)?;
///
/// let mut restored_weight = SMatrix::<f64, 2, 2>::zeros();
/// let mut restored_momentum = vec![0.0; 4];
/// let restored_metadata = load_safetensors_with_extra(
///     &mut restored_weight,
///     &mut [("optim.momentum", &mut restored_momentum[..])],
///     &path,
/// )?;
/// assert_eq!((restored_weight, restored_momentum), (weight, momentum));
/// assert_eq!(restored_metadata["step"], "100");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn save_safetensors_with_extra<T, P>(
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
    let mut entries = parameter_entries(params)?;
    entries.extend(
        extra
            .iter()
            .map(|&(key, data)| Entry::new(key, &[data.len()], data, T::DTYPE)),
    );
    check_unique(entries.iter().map(|entry| entry.key.as_str()))?;
    let metadata = (!metadata.is_empty()).then(|| metadata.clone());
    let named = entries.into_iter().map(|entry| (entry.key.clone(), entry));
    let bytes = safetensors::serialize(named, metadata).map_err(|error| Error::Io {
        action: "serializing tensors for",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, error.to_string()),
    })?;
    write_atomically(path, |file| file.write_all(&bytes))
}

/// Loads `params`, the flat tensors `extra` (each `(name, destination)`, expected with shape
/// `[destination.len()]`) and the metadata from a file [`save_safetensors_with_extra`] wrote.
///
/// The file must hold exactly these tensors, as [`load_safetensors`] requires; so a file with
/// extra tensors does not load with [`load_safetensors`] (they are unexpected), and a plain
/// parameters file does not load here when `extra` is not empty. Allocate the destinations
/// first: an optimizer knows their length from `params.len()`.
///
/// # Errors
///
/// As [`load_safetensors`], for `extra` as for the parameters, plus [`Error::DuplicateKey`] if
/// a name is used twice. On any error `params` and every destination are unchanged.
///
/// ```
/// use std::collections::HashMap;
/// use chainrule::io::{load_safetensors_with_extra, save_safetensors_with_extra};
/// use chainrule::Error;
///
/// let path = std::env::temp_dir().join(format!("doc-ckpt2-{}.safetensors", std::process::id()));
/// save_safetensors_with_extra(&1.0_f32, &[("optim.velocity", &[0.5_f32][..])], &HashMap::new(), &path)?;
///
/// let mut scalar = 0.0_f32;
/// let mut too_long = vec![0.0_f32; 2];
/// let error = load_safetensors_with_extra(&mut scalar, &mut [("optim.velocity", &mut too_long[..])], &path);
/// assert!(matches!(error, Err(Error::ShapeMismatch { key, .. }) if key == "optim.velocity"));
/// assert_eq!((scalar, too_long), (0.0, vec![0.0, 0.0]));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), chainrule::Error>(())
/// ```
pub fn load_safetensors_with_extra<T, P>(
    params: &mut P,
    extra: &mut [(&str, &mut [T])],
    path: impl AsRef<Path>,
) -> Result<HashMap<String, String>>
where
    T: Real,
    P: Parameters<T> + ?Sized,
{
    let file = SafetensorsFile::read(path.as_ref())?;
    let mut expected = parameter_shapes(params)?;
    expected.extend(
        extra
            .iter()
            .map(|(key, data)| (key.to_string(), vec![data.len()], T::DTYPE)),
    );
    check_unique(expected.iter().map(|(key, _, _)| key.as_str()))?;
    // Check everything and decode into scratch buffers before touching `params`.
    let mut decoded = file.decode_exactly(&expected)?;

    // Nothing can fail from here on. Match by name, not position, so a `Parameters` impl whose
    // two visits disagree cannot put a tensor in the wrong place.
    for (key, destination) in extra.iter_mut() {
        copy_if_same_len(decoded.remove(*key), destination);
    }
    params.visit_named_mut("", &mut |key, tensor| {
        copy_if_same_len(decoded.remove(key), tensor.data);
    });
    Ok(file.header.metadata().clone().unwrap_or_default())
}

/// Copies `values` into `destination` if there are values of its length (which a checked load
/// guarantees).
fn copy_if_same_len<T: Real>(values: Option<Vec<T>>, destination: &mut [T]) {
    if let Some(values) = values.filter(|values| values.len() == destination.len()) {
        destination.copy_from_slice(&values);
    }
}

/// A safetensors file read whole, its header parsed and its structure checked.
struct SafetensorsFile<'a> {
    path: &'a Path,
    header: Metadata,
    /// The bytes after the header: every tensor's data.
    bytes: Vec<u8>,
    /// Where the data starts in `bytes`.
    data_start: usize,
}

impl<'a> SafetensorsFile<'a> {
    fn read(path: &'a Path) -> Result<Self> {
        let bytes = fs::read(path).map_err(|source| Error::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |reason| Error::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let (header_len, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|error| corrupt(corruption_reason(&error, bytes.len())))?;
        // `read_metadata` has checked that the header fits in the file and the data exactly
        // fills the rest, so the data and every tensor's offsets within it are in bounds.
        let data_start = 8 + header_len;
        if data_start > bytes.len() {
            return Err(corrupt("the header runs past the end of the file".into()));
        }
        Ok(SafetensorsFile {
            path,
            header,
            bytes,
            data_start,
        })
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.to_path_buf(),
            reason,
        }
    }

    /// Every `expected` tensor, checked and decoded into column-major order, by name; an
    /// error if one is missing or different, or if the file holds any other tensor.
    fn decode_exactly<T: Real>(
        &self,
        expected: &[(String, Vec<usize>, Dtype)],
    ) -> Result<HashMap<String, Vec<T>>> {
        let mut decoded = HashMap::with_capacity(expected.len());
        for (key, shape, dtype) in expected {
            let info = self.header.info(key).ok_or_else(|| Error::MissingTensor {
                key: key.clone(),
                expected: shape.clone(),
            })?;
            decoded.insert(key.clone(), self.decode(key, shape, *dtype, info)?);
        }
        if let Some(key) = self
            .header
            .offset_keys()
            .into_iter()
            .find(|key| !decoded.contains_key(key))
        {
            let found = self
                .header
                .info(&key)
                .map_or_else(Vec::new, |info| info.shape.clone());
            return Err(Error::UnexpectedTensor { key, found });
        }
        Ok(decoded)
    }

    /// Checks one file tensor against the model's expectation and decodes it into
    /// column-major order.
    fn decode<T: Real>(
        &self,
        key: &str,
        shape: &[usize],
        dtype: Dtype,
        info: &TensorInfo,
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
        let bytes = self.bytes[self.data_start..]
            .get(start..end)
            .ok_or_else(|| self.corrupt(format!("tensor `{key}` lies outside the file")))?;
        let values: Vec<T> = from_le_bytes(bytes, dtype);
        if values.len() != element_count(shape) {
            return Err(self.corrupt(format!(
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

/// `Err(InconsistentTensor)` if the view holds another number of elements than its shape
/// says: a broken `Parameters` impl, which no file can store.
fn check_consistent<T>(key: &str, tensor: &TensorRef<'_, T>) -> Result<()> {
    if tensor.data.len() == element_count(tensor.shape) {
        return Ok(());
    }
    Err(Error::InconsistentTensor {
        key: key.to_string(),
        shape: tensor.shape.to_vec(),
        len: tensor.data.len(),
    })
}

/// Every tensor of `params`, ready to serialize, in visit order.
fn parameter_entries<T: Real, P: Parameters<T> + ?Sized>(params: &P) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut first_error = None;
    params.visit_named("", &mut |key, tensor| {
        if let Err(error) = check_consistent(key, &tensor) {
            first_error.get_or_insert(error);
        } else {
            let dtype = file_dtype::<T>(tensor.integer);
            entries.push(Entry::new(key, tensor.shape, tensor.data, dtype));
        }
    });
    first_error.map_or(Ok(entries), Err)
}

/// The name, shape and file dtype of every tensor of `params`, in visit order: what a file
/// must hold.
fn parameter_shapes<T: Real, P: Parameters<T> + ?Sized>(
    params: &P,
) -> Result<Vec<(String, Vec<usize>, Dtype)>> {
    let mut shapes = Vec::new();
    let mut first_error = None;
    params.visit_named("", &mut |key, tensor| {
        if let Err(error) = check_consistent(key, &tensor) {
            first_error.get_or_insert(error);
        }
        let dtype = file_dtype::<T>(tensor.integer);
        shapes.push((key.to_string(), tensor.shape.to_vec(), dtype));
    });
    first_error.map_or(Ok(shapes), Err)
}

/// One tensor ready to serialize: row-major little-endian bytes.
struct Entry {
    key: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
    dtype: Dtype,
}

impl Entry {
    /// The tensor `key` of this shape, from its column-major elements (as many as the shape
    /// says; checked by the caller).
    fn new<T: Real>(key: &str, shape: &[usize], data: &[T], dtype: Dtype) -> Self {
        Entry {
            key: key.to_string(),
            shape: shape.to_vec(),
            bytes: to_row_major_bytes(shape, data, dtype),
            dtype,
        }
    }
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

/// The safetensors dtype of a tensor of `T`s: `I64` for whole numbers (see
/// [`TensorRef::integer`](crate::params::TensorRef::integer)), else `T`'s own.
fn file_dtype<T: Real>(integer: bool) -> Dtype {
    if integer {
        Dtype::I64
    } else {
        T::DTYPE
    }
}

/// The elements of a column-major tensor, reordered row-major, as little-endian bytes of
/// `dtype` (`T`'s own, or `I64`). `data.len()` is the shape's element count (checked by the
/// caller).
fn to_row_major_bytes<T: Real>(shape: &[usize], data: &[T], dtype: Dtype) -> Vec<u8> {
    let row_major = column_major_index_of_each_row_major_element(shape)
        .into_iter()
        .map(|position| data.get(position).map_or(0.0, |x| x.to_f64()));
    match dtype {
        // Exact: the value came from an f32.
        Dtype::F32 => row_major.flat_map(|x| (x as f32).to_le_bytes()).collect(),
        // Exact for the whole numbers an integer tensor holds.
        Dtype::I64 => row_major.flat_map(|x| (x as i64).to_le_bytes()).collect(),
        _ => row_major.flat_map(f64::to_le_bytes).collect(),
    }
}

/// The values of `T` whose little-endian bytes `bytes` holds, in order (a partial value at
/// the end is dropped; the caller checks the count).
fn from_le_bytes<T: Real>(bytes: &[u8], dtype: Dtype) -> Vec<T> {
    match dtype {
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| {
                let whole = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                T::from_f64(whole as f64)
            })
            .collect(),
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| T::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]).into()))
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| {
                T::from_f64(f64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            })
            .collect(),
    }
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
