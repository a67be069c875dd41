//! [`Error`]: everything the runtime can report, in one enum.

use std::path::PathBuf;

/// What went wrong in the runtime: reading or writing a file, or training.
///
/// Every message names what it is about, so a user can act on it without a debugger:
///
/// ```
/// use chainrule::Error;
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
    /// Training produced a non-finite loss, gradient or parameter. `step` and `epoch` count
    /// from 0 (so `step` steps had completed); `lr` is the step's learning rate. The trainer
    /// keeps the parameters from before the step, the last finite ones.
    ///
    /// ```
    /// use chainrule::Error;
    /// let error = Error::Diverged { step: 41, epoch: 2, lr: 10.0, what: "the loss is NaN".into() };
    /// assert_eq!(
    ///     error.to_string(),
    ///     "training diverged at step 41 (epoch 2, learning rate 10): the loss is NaN; the model \
    ///      keeps its parameters from before this step, the last finite ones (try a lower \
    ///      learning rate)"
    /// );
    /// ```
    #[error(
        "training diverged at step {step} (epoch {epoch}, learning rate {lr}): {what}; the model \
         keeps its parameters from before this step, the last finite ones (try a lower learning \
         rate)"
    )]
    Diverged {
        step: usize,
        epoch: usize,
        lr: f64,
        /// What was not finite: "the loss is NaN", "the gradient of `0.weight` is not finite",
        /// "the update made `2.bias` not finite".
        what: String,
    },
    /// A checkpoint's metadata is missing, malformed or inconsistent.
    ///
    /// ```
    /// use chainrule::Error;
    /// let error = Error::BadCheckpoint {
    ///     path: "run.safetensors".into(),
    ///     key: "trainer.step".into(),
    ///     problem: "is `x`, not a whole number".into(),
    /// };
    /// assert_eq!(error.to_string(), "checkpoint `run.safetensors`: metadata `trainer.step` is `x`, not a whole number");
    /// ```
    #[error("checkpoint `{path}`: metadata `{key}` {problem}")]
    BadCheckpoint {
        path: PathBuf,
        key: String,
        problem: String,
    },
    /// A run stopped mid-epoch resumes with another batch size or training set, so the rest
    /// of the epoch would not be the same shuffle's.
    ///
    /// ```
    /// use chainrule::Error;
    /// let error = Error::ResumeMismatch { what: "batch size", expected: 32, found: 16 };
    /// assert!(error.to_string().starts_with("the run stopped mid-epoch with batch size 32"));
    /// ```
    #[error(
        "the run stopped mid-epoch with {what} {expected}, but `fit` was given {found}; resume \
         with the same batch size and training set, so the epoch's shuffle stays the same"
    )]
    ResumeMismatch {
        /// "batch size" or "number of training samples".
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// A dataset is too small to train or validate on.
    ///
    /// ```
    /// use chainrule::Error;
    /// let error = Error::TooFewSamples { what: "training set", samples: 10, needed: 32 };
    /// assert_eq!(error.to_string(), "the training set has 10 samples, but training needs at least 32");
    /// ```
    #[error("the {what} has {samples} samples, but training needs at least {needed}")]
    TooFewSamples {
        /// "training set" or "validation set".
        what: &'static str,
        samples: usize,
        needed: usize,
    },
    /// A data file (CSV, NumPy's `.npy`, MNIST's IDX) that does not hold the dataset asked
    /// for: malformed, truncated, or of other sizes than the `Dataset`'s. `line` and `column`
    /// locate the problem in a CSV file; lines count from 1, the header included.
    ///
    /// ```
    /// use chainrule::Error;
    /// let error = Error::InvalidDataFile {
    ///     path: "iris.csv".into(),
    ///     line: Some(7),
    ///     column: Some("petal_length".into()),
    ///     problem: "`1,4` is not a number".into(),
    /// };
    /// assert_eq!(
    ///     error.to_string(),
    ///     "`iris.csv`, line 7, column `petal_length`: `1,4` is not a number"
    /// );
    /// ```
    #[error("`{path}`{}: {problem}", location(*.line, .column.as_deref()))]
    InvalidDataFile {
        path: PathBuf,
        line: Option<u64>,
        column: Option<String>,
        /// What is wrong: "truncated: …", "`abc` is not a number", "bad magic number …".
        problem: String,
    },
}

/// ", line 7, column `x`", or the part of it that is known.
fn location(line: Option<u64>, column: Option<&str>) -> String {
    let line = line
        .map(|line| format!(", line {line}"))
        .unwrap_or_default();
    let column = column
        .map(|column| format!(", column `{column}`"))
        .unwrap_or_default();
    line + &column
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
