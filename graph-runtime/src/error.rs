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
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
