//! Datasets held in memory: read from files (CSV, NumPy's `.npy`, MNIST's IDX), shipped with
//! the crate (the handwritten [`digits`]), or made in-process from a seed: sin with noise, two
//! spirals, moons, XOR, and the hierarchical items of Saxe, McClelland & Ganguli (2013) with
//! the analytic singular values of their input–output correlation. Nothing is downloaded;
//! nothing here trains or touches a model.
//!
//! A [`Dataset`] holds one input column `SVector<T, I>` per sample and one target: a class
//! index (`usize`) for classification, an `SVector<T, O>` for regression. [`Dataset::batch`]
//! gathers samples into the `SMatrix<T, I, B>` a layer takes (one sample per column) and the
//! target batch a loss takes, as [`Target`] says: `[usize; B]` for classes (what
//! [`CrossEntropy`](crate::loss::CrossEntropy) takes), `SMatrix<T, O, B>` for vectors.
//!
//! **Seeds.** Every generator draws in `f64` from `StdRng::seed_from_u64(seed)` and rounds to
//! `T` with [`Real::from_f64`], so the same seed gives the same samples (with the same versions
//! of rand and rand_distr), and `f32` and `f64` sets agree up to rounding. Classes alternate
//! (sample `i` has class `i % classes`), so every prefix is balanced. [`Dataset::split`]
//! shuffles from a seed the same way.
//!
//! **Files.** [`Dataset::from_csv`], [`Dataset::from_npy`] and [`mnist::load`] return
//! [`Error::InvalidDataFile`], naming the file and what is
//! wrong (and the line and column, for CSV), rather than panicking on a bad file.
//!
//! ```
//! use chainrule::data;
//!
//! let spirals = data::two_spirals::<f32>(200, 0.0, 7);
//! assert_eq!(spirals.len(), 200);
//! assert_eq!(spirals.targets()[..4], [0, 1, 0, 1]);
//! let (x, classes) = spirals.batch::<4>(&[0, 1, 2, 3]);
//! assert_eq!(x.column(1), spirals.inputs()[1]);
//! assert_eq!(classes, [0, 1, 0, 1]);
//! ```

mod csv_file;
mod digits;
pub mod mnist;
mod npy_file;
mod synthetic;

use std::path::Path;

use nalgebra::{SMatrix, SVector};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{Error, Real};

pub use digits::digits;
pub use synthetic::{hierarchical, hierarchical_modes, moons, sine, two_spirals, xor, Mode};

/// What a sample's target is, and how a batch of them is shaped for a loss.
///
/// Implemented for `usize` (a class index; a batch is `[usize; B]`, and a prediction is
/// correct when its largest element is at that index) and for `SVector<T, O>` (a regression
/// target; a batch is `SMatrix<T, O, B>`, and there is no accuracy).
///
/// ```
/// use chainrule::data::Target;
/// use chainrule::nalgebra::SVector;
///
/// let classes = [2_usize, 0, 1];
/// assert_eq!(<usize as Target<f32>>::gather(&classes, &[1, 2]), [0, 1]);
/// assert_eq!(<usize as Target<f32>>::is_correct(&[0.1, 0.2, 0.7], &2), Some(true));
///
/// let values = [SVector::<f64, 1>::new(0.5), SVector::<f64, 1>::new(-1.0)];
/// let batch = <SVector<f64, 1> as Target<f64>>::gather(&values, &[1, 1, 0]);
/// assert_eq!(batch.as_slice(), [-1.0, -1.0, 0.5]);
/// assert_eq!(<SVector<f64, 1> as Target<f64>>::is_correct(&[0.5], &values[0]), None);
/// ```
pub trait Target<T: Real>: Clone {
    /// `B` targets, as a loss takes them.
    type Batch<const B: usize>;

    /// The targets at `indices`, in that order.
    ///
    /// # Panics
    ///
    /// If an index is not below `targets.len()`.
    fn gather<const B: usize>(targets: &[Self], indices: &[usize; B]) -> Self::Batch<B>;

    /// Whether `prediction` (one column of a model's output) gets `target` right, or `None`
    /// if accuracy means nothing for this kind of target.
    fn is_correct(prediction: &[T], target: &Self) -> Option<bool>;
}

/// A class index: the batch is `[usize; B]`, and a prediction is right when its largest
/// element (the first, on a tie; never a NaN) is at the class's index.
impl<T: Real> Target<T> for usize {
    type Batch<const B: usize> = [usize; B];

    fn gather<const B: usize>(targets: &[Self], indices: &[usize; B]) -> [usize; B] {
        indices.map(|index| targets[index])
    }

    fn is_correct(prediction: &[T], target: &Self) -> Option<bool> {
        Some(argmax(prediction) == Some(*target))
    }
}

/// The index of the largest finite element (the first, on a tie), or `None` if none is
/// finite: the class a prediction picks.
pub(crate) fn argmax<T: Real>(prediction: &[T]) -> Option<usize> {
    let mut best: Option<(usize, T)> = None;
    for (index, &value) in prediction.iter().enumerate() {
        // `!(value <= best)` would let a NaN win; a NaN never wins here.
        if value.is_finite() && best.is_none_or(|(_, best)| value > best) {
            best = Some((index, value));
        }
    }
    best.map(|(index, _)| index)
}

/// A regression target: the batch is `SMatrix<T, O, B>`, one target per column.
impl<T: Real, const O: usize> Target<T> for SVector<T, O> {
    type Batch<const B: usize> = SMatrix<T, O, B>;

    fn gather<const B: usize>(targets: &[Self], indices: &[usize; B]) -> SMatrix<T, O, B> {
        SMatrix::from_fn(|row, column| targets[indices[column]][row])
    }

    fn is_correct(_: &[T], _: &Self) -> Option<bool> {
        None
    }
}

/// A [`Target`] that files store in columns, as [`Dataset::from_csv`] and
/// [`Dataset::from_npy`] read it: a class index in one column, an `SVector<T, O>` in `O`.
///
/// ```
/// use chainrule::data::TargetColumns;
/// use chainrule::nalgebra::SVector;
///
/// assert_eq!(<usize as TargetColumns<f32>>::from_columns(&[3.0]), Ok(3));
/// assert!(<usize as TargetColumns<f32>>::from_columns(&[2.5]).is_err());
/// let pair = <SVector<f64, 2> as TargetColumns<f64>>::from_columns(&[0.5, -1.0]);
/// assert_eq!(pair, Ok(SVector::from([0.5, -1.0])));
/// ```
pub trait TargetColumns<T: Real>: Target<T> {
    /// How many columns one target takes.
    const COLUMNS: usize;

    /// The target from the finite values of its `COLUMNS` columns, or what is wrong with them.
    fn from_columns(values: &[f64]) -> Result<Self, String>;
}

/// A class index: one column holding a whole number, 0 or more.
impl<T: Real> TargetColumns<T> for usize {
    const COLUMNS: usize = 1;

    fn from_columns(values: &[f64]) -> Result<usize, String> {
        // Beyond 2⁵³ an f64 no longer holds every whole number, so it cannot be a class index.
        const EXACT: f64 = (1_u64 << f64::MANTISSA_DIGITS) as f64;
        match *values {
            [value] if value >= 0.0 && value.fract() == 0.0 && value <= EXACT => Ok(value as usize),
            [value] => Err(format!(
                "`{value}` is not a class index (a whole number, 0 or more)"
            )),
            _ => Err(format!(
                "a class index takes 1 column, not {}",
                values.len()
            )),
        }
    }
}

/// A regression target: `O` columns, each a value rounded to `T`.
impl<T: Real, const O: usize> TargetColumns<T> for SVector<T, O> {
    const COLUMNS: usize = O;

    fn from_columns(values: &[f64]) -> Result<Self, String> {
        if values.len() != O {
            return Err(format!(
                "the target takes {O} columns, not {}",
                values.len()
            ));
        }
        Ok(SVector::from_fn(|row, _| T::from_f64(values[row])))
    }
}

/// Samples in memory: one input column `SVector<T, I>` and one target `Y` each.
///
/// Built by [`push`](Dataset::push), by collecting `(input, target)` pairs, or by the
/// generators of this module.
///
/// ```
/// use chainrule::data::Dataset;
/// use chainrule::nalgebra::SVector;
///
/// let squares: Dataset<f64, 1, SVector<f64, 1>> = (0..10)
///     .map(|i| (SVector::from([i as f64]), SVector::from([(i * i) as f64])))
///     .collect();
/// let (x, y) = squares.batch::<2>(&[3, 9]);
/// assert_eq!((x[1], y[1]), (9.0, 81.0));
/// let (first, rest) = squares.split_at(8);
/// assert_eq!((first.len(), rest.len()), (8, 2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Real, const I: usize, Y> {
    inputs: Vec<SVector<T, I>>,
    targets: Vec<Y>,
}

impl<T: Real, const I: usize, Y> Default for Dataset<T, I, Y> {
    fn default() -> Self {
        Dataset {
            inputs: Vec::new(),
            targets: Vec::new(),
        }
    }
}

impl<T: Real, const I: usize, Y> Dataset<T, I, Y> {
    /// An empty dataset.
    ///
    /// ```
    /// use chainrule::data::Dataset;
    /// let empty = Dataset::<f32, 2, usize>::new();
    /// assert!(empty.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample.
    ///
    /// ```
    /// use chainrule::data::Dataset;
    /// use chainrule::nalgebra::SVector;
    /// let mut data = Dataset::<f32, 2, usize>::new();
    /// data.push(SVector::from([0.5, -0.5]), 1);
    /// assert_eq!((data.len(), data.targets()[0]), (1, 1));
    /// ```
    pub fn push(&mut self, input: SVector<T, I>, target: Y) {
        self.inputs.push(input);
        self.targets.push(target);
    }

    /// The number of samples.
    ///
    /// ```
    /// assert_eq!(chainrule::data::xor::<f64>(12, 0.0, 1).len(), 12);
    /// ```
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no samples.
    ///
    /// ```
    /// assert!(!chainrule::data::moons::<f64>(4, 0.0, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Every input, in order: the columns of an `I × len()` matrix, contiguous in memory.
    ///
    /// ```
    /// let data = chainrule::data::sine::<f64>(3, 0.0, 0);
    /// assert!(data.inputs().iter().all(|x| x[0].abs() <= std::f64::consts::PI));
    /// ```
    pub fn inputs(&self) -> &[SVector<T, I>] {
        &self.inputs
    }

    /// Every target, in order.
    ///
    /// ```
    /// let data = chainrule::data::sine::<f64>(3, 0.0, 0);
    /// assert_eq!(data.targets()[2][0], data.inputs()[2][0].sin());
    /// ```
    pub fn targets(&self) -> &[Y] {
        &self.targets
    }

    /// The first `n` samples and the rest (all of them and none if `n` exceeds the length):
    /// a training set and a validation set.
    ///
    /// ```
    /// let (train, validation) = chainrule::data::xor::<f32>(100, 0.0, 3).split_at(80);
    /// assert_eq!((train.len(), validation.len()), (80, 20));
    /// ```
    pub fn split_at(mut self, n: usize) -> (Self, Self) {
        let n = n.min(self.len());
        let rest = Dataset {
            inputs: self.inputs.split_off(n),
            targets: self.targets.split_off(n),
        };
        (self, rest)
    }

    /// The samples shuffled from `seed`, then split after the first `n` (all of them and none
    /// if `n` exceeds the length): a training set and a validation set drawn at random, as
    /// PyTorch's `random_split` and scikit-learn's `train_test_split` draw them. The same seed
    /// gives the same split (with the same version of rand); the permutation is rand's, not
    /// PyTorch's.
    ///
    /// ```
    /// let data = chainrule::data::moons::<f64>(100, 0.1, 0);
    /// let (train, validation) = data.clone().split(80, 42);
    /// assert_eq!((train.len(), validation.len()), (80, 20));
    /// assert_eq!(data.clone().split(80, 42), (train.clone(), validation));
    /// assert_ne!(train, data.split_at(80).0); // shuffled, unlike `split_at`
    /// ```
    pub fn split(self, n: usize, seed: u64) -> (Self, Self) {
        let mut pairs: Vec<(SVector<T, I>, Y)> =
            self.inputs.into_iter().zip(self.targets).collect();
        pairs.shuffle(&mut StdRng::seed_from_u64(seed));
        pairs.into_iter().collect::<Self>().split_at(n)
    }

    /// Every input mapped by `f`, the targets unchanged: to scale, normalise or reshape.
    ///
    /// ```
    /// let (train, _test) = chainrule::data::digits::<f32>();
    /// let scaled = train.map_inputs(|pixels| pixels / 16.0); // 0..=16 becomes 0..=1
    /// assert!(scaled.inputs().iter().flatten().all(|&pixel| (0.0..=1.0).contains(&pixel)));
    /// ```
    pub fn map_inputs<const J: usize>(
        self,
        f: impl FnMut(SVector<T, I>) -> SVector<T, J>,
    ) -> Dataset<T, J, Y> {
        Dataset {
            inputs: self.inputs.into_iter().map(f).collect(),
            targets: self.targets,
        }
    }

    /// The samples at `indices` as one batch: inputs as the columns of an `SMatrix<T, I, B>`,
    /// targets as [`Target::Batch`].
    ///
    /// ```
    /// let data = chainrule::data::two_spirals::<f64>(10, 0.1, 2);
    /// let (x, classes) = data.batch::<3>(&[9, 0, 9]);
    /// assert_eq!(x.column(0), x.column(2));
    /// assert_eq!(classes, [1, 0, 1]);
    /// ```
    ///
    /// # Panics
    ///
    /// If an index is not below [`len`](Dataset::len).
    pub fn batch<const B: usize>(&self, indices: &[usize; B]) -> (SMatrix<T, I, B>, Y::Batch<B>)
    where
        Y: Target<T>,
    {
        (
            self.batch_inputs(indices),
            Y::gather(&self.targets, indices),
        )
    }

    /// The inputs at `indices`, one per column.
    pub(crate) fn batch_inputs<const B: usize>(&self, indices: &[usize; B]) -> SMatrix<T, I, B> {
        let mut x = SMatrix::<T, I, B>::from_element(T::ZERO);
        for (mut column, &index) in x.column_iter_mut().zip(indices) {
            column.copy_from(&self.inputs[index]);
        }
        x
    }
}

impl<T: Real, const I: usize, Y> FromIterator<(SVector<T, I>, Y)> for Dataset<T, I, Y> {
    fn from_iter<It: IntoIterator<Item = (SVector<T, I>, Y)>>(pairs: It) -> Self {
        let (inputs, targets) = pairs.into_iter().unzip();
        Dataset { inputs, targets }
    }
}

impl<T: Real, const I: usize, Y> Extend<(SVector<T, I>, Y)> for Dataset<T, I, Y> {
    fn extend<It: IntoIterator<Item = (SVector<T, I>, Y)>>(&mut self, pairs: It) {
        for (input, target) in pairs {
            self.push(input, target);
        }
    }
}

/// The operating system's refusal to read `path`, as an [`Error::Io`].
fn reading(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        action: "reading",
        path: path.into(),
        source,
    }
}

/// An [`Error::InvalidDataFile`].
fn invalid(path: &Path, line: Option<u64>, column: Option<String>, problem: String) -> Error {
    Error::InvalidDataFile {
        path: path.into(),
        line,
        column,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_prediction_is_never_correct() {
        assert_eq!(
            <usize as Target<f64>>::is_correct(&[f64::NAN, 0.0], &0),
            Some(false)
        );
        assert_eq!(
            <usize as Target<f64>>::is_correct(&[f64::NAN, 0.0], &1),
            Some(true)
        );
        assert_eq!(
            <usize as Target<f64>>::is_correct(&[f64::NAN], &0),
            Some(false)
        );
        assert_eq!(
            <usize as Target<f64>>::is_correct(&[1.0, 1.0], &0),
            Some(true)
        );
    }

    #[test]
    fn split_shuffles_whole_samples_from_a_seed() {
        // Each target is its input's first element, so a pair split apart would show.
        let data: Dataset<f64, 2, SVector<f64, 1>> = (0..50)
            .map(|i| {
                (
                    SVector::from([i as f64, -(i as f64)]),
                    SVector::from([i as f64]),
                )
            })
            .collect();
        let (first, rest) = data.clone().split(40, 7);
        assert_eq!((first.len(), rest.len()), (40, 10));
        let mut seen: Vec<f64> = Vec::new();
        for part in [&first, &rest] {
            for (input, target) in part.inputs().iter().zip(part.targets()) {
                assert_eq!((input[0], input[1]), (target[0], -target[0]));
                seen.push(target[0]);
            }
        }
        assert_ne!(seen, (0..50).map(f64::from).collect::<Vec<_>>());
        seen.sort_by(f64::total_cmp);
        assert_eq!(seen, (0..50).map(f64::from).collect::<Vec<_>>());
        assert_eq!(data.clone().split(40, 7), (first.clone(), rest));
        assert_ne!(data.clone().split(40, 8).0, first);
        assert_eq!(data.split(80, 7).1.len(), 0);
    }

    #[test]
    fn class_index_columns_hold_whole_numbers_from_zero() {
        let class = <usize as TargetColumns<f32>>::from_columns;
        assert_eq!(class(&[0.0]), Ok(0));
        assert_eq!(class(&[9.0]), Ok(9));
        assert_eq!(
            class(&[-1.0]),
            Err("`-1` is not a class index (a whole number, 0 or more)".into())
        );
        assert!(class(&[0.5]).is_err());
        assert!(class(&[1e300]).is_err());
        assert!(class(&[1.0, 2.0]).is_err());
        let pair = <SVector<f32, 2> as TargetColumns<f32>>::from_columns;
        assert_eq!(pair(&[0.1, 2.0]), Ok(SVector::from([0.1_f32, 2.0])));
        assert!(pair(&[0.1]).is_err());
    }

    #[test]
    fn invalid_data_file_messages_name_what_is_known() {
        let file = invalid(Path::new("x.npy"), None, None, "too long".into());
        assert_eq!(file.to_string(), "`x.npy`: too long");
        let line = invalid(Path::new("a.csv"), Some(3), None, "2 fields".into());
        assert_eq!(line.to_string(), "`a.csv`, line 3: 2 fields");
    }
}
