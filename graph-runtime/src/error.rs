//! [`Error`]: everything the runtime can report, in one enum.

use std::path::PathBuf;

/// What went wrong in the runtime: reading or writing a file, or training.
///
/// Every message names what it is about, so a user can act on it without a debugger:
///
/// ```
/// use graph_runtime::Error;
/// let error = Error::ShapeMismatch {
///     key: "0.weight".into(),
///     expected: vec![16, 2],
///     found: vec![2, 16],
/// };
/// assert_eq!(
///     error.to_string(),
///     "tensor `0.weight` has shape [2, 16] in the file, but the model expects [16, 2]"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused a read or a write.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done: "reading", "writing", "renaming into place", …
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid safetensors file (truncated, corrupt header, overlapping data…).
    #[error("`{path}` is not a valid safetensors file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// The model has a tensor the file lacks.
    #[error("tensor `{key}` (shape {expected:?}) is missing from the file")]
    MissingTensor { key: String, expected: Vec<usize> },
    /// The file has a tensor the model lacks, so loading it would silently drop weights.
    #[error("the file has tensor `{key}` (shape {found:?}), which the model does not have")]
    UnexpectedTensor { key: String, found: Vec<usize> },
    /// A tensor's shape differs from the model's.
    #[error("tensor `{key}` has shape {found:?} in the file, but the model expects {expected:?}")]
    ShapeMismatch {
        key: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// A tensor's element type differs from the model's.
    #[error("tensor `{key}` is {found} in the file, but the model computes in {expected}")]
    DtypeMismatch {
        key: String,
        expected: String,
        found: String,
    },
    /// Two tensors would share one name in a safetensors header (or a tensor is named
    /// `__metadata__`, which the format reserves), so one of them could not be found again.
    #[error(
        "the name `{key}` is used twice in the safetensors header; every tensor needs its own \
         name, and `__metadata__` is reserved for the metadata"
    )]
    DuplicateKey { key: String },
    /// A tensor view holds a different number of elements than its shape says: a bug in the
    /// `Parameters` implementation that produced it.
    #[error(
        "tensor `{key}` has shape {shape:?} but holds {len} elements; its `Parameters` \
         implementation is inconsistent"
    )]
    InconsistentTensor {
        key: String,
        shape: Vec<usize>,
        len: usize,
    },
    /// Kaiming or Xavier initialisation of a tensor with fewer than two dimensions, whose
    /// fan-in and fan-out are undefined (PyTorch raises a `ValueError` here).
    #[error(
        "cannot compute the fan-in and fan-out of tensor `{key}` with shape {shape:?}: Kaiming \
         and Xavier initialisation need at least 2 dimensions; initialise it with `uniform`, \
         `normal` or `zeros`"
    )]
    FanUndefined { key: String, shape: Vec<usize> },
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
