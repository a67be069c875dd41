//! The training loop: a [`Trainer`] that shuffles a [`Dataset`] into fixed-size minibatches,
//! steps an optimizer through epochs under a learning-rate schedule, records the loss, checks
//! every step for divergence, validates, stops early, reports progress and checkpoints
//! exactly. Built on the calls a hand-written loop makes, `loss_and_grad` then
//! `Optimizer::step`; never touches a layer's internals, a loss's formula or the macro.
//!
//! The loop by hand stays the first way to train, and what a `Trainer` step is:
//!
//! ```
//! use chainrule::loss::Mse;
//! use chainrule::nn::{Linear, Module, Sequential, Tanh};
//! use chainrule::optim::{Optimizer, Sgd};
//! use chainrule::rand::{rngs::StdRng, SeedableRng};
//!
//! type Mlp = Sequential<(Linear<f64, 1, 8>, Tanh, Linear<f64, 8, 1>)>;
//! let mut model = Mlp::init(&mut StdRng::seed_from_u64(0));
//! let data = chainrule::data::sine::<f64>(32, 0.0, 1);
//! let (x, y) = data.batch::<32>(&std::array::from_fn(|i| i));
//! let mut sgd = Sgd::new(0.1);
//! for _ in 0..100 {
//!     let (_, grads) = model.loss_and_grad(&x, &y, Mse);
//!     sgd.step(&mut model, &grads);
//! }
//! ```
//!
//! The same with a `Trainer`, in minibatches of 8, for 50 epochs:
//!
//! ```
//! use chainrule::loss::Mse;
//! use chainrule::nn::{Linear, Sequential, Tanh};
//! use chainrule::optim::{schedule::CosineAnnealingLR, Adam};
//! use chainrule::rand::{rngs::StdRng, SeedableRng};
//! use chainrule::train::{Stop, Trainer};
//!
//! type Mlp = Sequential<(Linear<f64, 1, 8>, Tanh, Linear<f64, 8, 1>)>;
//! let model = Mlp::init(&mut StdRng::seed_from_u64(0));
//! let data = chainrule::data::sine::<f64>(64, 0.0, 1);
//! let mut trainer = Trainer::new(model, Adam::new(0.02), Mse)
//!     .epochs(50)
//!     .seed(3)
//!     .schedule(CosineAnnealingLR::new(50 * 8, 0.0));
//! assert_eq!(trainer.fit::<8>(&data)?, Stop::Finished);
//! let history = trainer.history();
//! assert_eq!((history.steps.len(), history.epochs.len()), (50 * 8, 50));
//! assert!(history.epochs[49].loss < history.epochs[0].loss / 10.0);
//! # Ok::<(), chainrule::Error>(())
//! ```
//!
//! **Minibatches.** Epoch `e` visits the samples in the order [`epoch_order`]`(seed, e, n)`
//! and cuts it into `n / B` batches of exactly `B`. By default the remaining `n mod B` samples
//! of that order are dropped for the epoch, as PyTorch's `DataLoader(drop_last=True)`: every
//! step then has the batch size its types say, and as each epoch's order is new, every sample
//! is dropped only now and then, no sample always. Choose `B` dividing `n` to use them all, or
//! [`drop_last(false)`](Trainer::drop_last) to end each epoch with a smaller batch of them,
//! run as a padded batch of `B` whose padding weighs nothing.
//!
//! **Modes.** `fit` puts the model in training mode ([`Mode::train`](crate::nn::Mode::train))
//! and validates it in evaluation mode ([`Mode::eval`](crate::nn::Mode::eval)), as PyTorch
//! Lightning does; [`evaluate`](Trainer::evaluate), [`predict`](Trainer::predict) and
//! [`predict_classes`](Trainer::predict_classes) run in evaluation mode too, and each leaves
//! the model in training mode. So a trained model implements [`Mode`](crate::nn::Mode): every
//! layer of `chainrule::nn` and every `Sequential` of them does, and a model of your own
//! without dropout or batch statistics needs one line, `impl Mode for MyModel {}` (the
//! trait's methods default to doing nothing).
//!
//! **Steps.** Step `k` (counted from 0 over the whole run) sets the optimizer's learning rate
//! to `schedule.lr(base_lr, k)`, computes `loss_and_grad` of its batch, checks that the loss
//! and every gradient are finite ([`Parameters::all_finite`](crate::Parameters::all_finite)),
//! steps the optimizer, and checks the parameters. Anything non-finite ends training with
//! [`Error::Diverged`](crate::Error::Diverged), naming the step, the epoch, the learning rate
//! and what was not finite; the model keeps the parameters it had before that step (see
//! [`Trainer::fit`]).
//!
//! **Exact resumption.** A [`Trainer`]'s whole state is its model, its optimizer's
//! [`state`](crate::optim::Optimizer::state), the step, the epoch and the position in it, the
//! seed, and its history. [`Trainer::save_checkpoint`] writes all of it to one safetensors
//! file, and a trainer of the same configuration that loads it ends its run bit for bit where
//! the uninterrupted run ends. Nothing else is random: the shuffle is a pure function of the
//! seed and the epoch.
//!
//! **Data parallelism.** [`Trainer::fit_parallel`] computes each step's gradient in chunks
//! on rayon's threads with [`DataParallel`], with a result independent of the thread count.
//! Beyond one machine, move the weights to PyTorch with [`io`](crate::io) (safetensors in its
//! `state_dict` layout) and train there; chainrule has no cluster layer.

mod checkpoint;
mod fit;
mod padding;
mod parallel;
mod predict;
mod progress;
mod run;
mod shuffle;
mod trainer;

pub use parallel::DataParallel;
pub use progress::ShowProgress;
pub use shuffle::epoch_order;
pub use trainer::Trainer;

pub use crate::data::{Dataset, Target};

/// The thread pools [`DataParallel`] and [`Trainer::fit_parallel`] run on:
/// `rayon::ThreadPoolBuilder::new().num_threads(n).build()?.install(|| trainer.fit_parallel::<B, C>(&data))`.
pub use rayon;

use indicatif::ProgressBar;
use nalgebra::SMatrix;

use crate::Real;

/// A model's output for a batch, one sample per column: what validation reads a
/// prediction from.
///
/// Implemented for every `SMatrix<T, K, B>`.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::train::Columns;
///
/// let logits = SMatrix::<f64, 2, 3>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(logits.sample(1), [3.0, 4.0]);
/// assert_eq!(logits.repeat_sample(2), SMatrix::<f64, 2, 3>::from_column_slice(&[5.0, 6.0, 5.0, 6.0, 5.0, 6.0]));
/// let mut scaled = logits;
/// scaled.scale_sample(0, 0.0);
/// assert_eq!(scaled.sample(0), [0.0, 0.0]);
/// ```
pub trait Columns<T> {
    /// The prediction for sample `index` (column `index`).
    ///
    /// # Panics
    ///
    /// If there is no such column.
    fn sample(&self, index: usize) -> &[T];

    /// A batch of the same shape whose every column is column `index`: a loss averaged over
    /// it is that one sample's loss.
    fn repeat_sample(&self, index: usize) -> Self;

    /// Multiplies column `index` by `factor`: how a padded batch weighs its samples.
    ///
    /// # Panics
    ///
    /// If there is no such column.
    fn scale_sample(&mut self, index: usize, factor: T);
}

impl<T: Real, const K: usize, const B: usize> Columns<T> for SMatrix<T, K, B> {
    fn sample(&self, index: usize) -> &[T] {
        &self.as_slice()[index * K..(index + 1) * K]
    }

    fn repeat_sample(&self, index: usize) -> Self {
        SMatrix::from_fn(|row, _| self[(row, index)])
    }

    fn scale_sample(&mut self, index: usize, factor: T) {
        for value in self.column_mut(index).iter_mut() {
            *value *= factor;
        }
    }
}

/// How a model does on a dataset: its mean loss over every sample and, for class targets,
/// the fraction it classifies right.
///
/// ```
/// use chainrule::train::Metrics;
/// let metrics = Metrics { loss: 0.25_f32, accuracy: Some(0.5) };
/// assert_eq!(metrics.to_string(), "loss 0.25, accuracy 50.0%");
/// assert_eq!(format!("{metrics:.3}"), "loss 0.250, accuracy 50.0%");
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Metrics<T> {
    /// The loss averaged over every sample (none dropped, unlike training batches).
    pub loss: T,
    /// Correct predictions over samples, in [0, 1]; `None` for regression targets.
    pub accuracy: Option<T>,
}

impl<T: Real> std::fmt::Display for Metrics<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:.4}` gives the loss 4 decimals; the accuracy always has one, in percent.
        match f.precision() {
            Some(decimals) => write!(f, "loss {:.*}", decimals, self.loss)?,
            None => write!(f, "loss {}", self.loss)?,
        }
        if let Some(accuracy) = self.accuracy {
            write!(f, ", accuracy {:.1}%", accuracy.to_f64() * 100.0)?;
        }
        Ok(())
    }
}

/// What one finished epoch left in the [`History`].
///
/// ```
/// use chainrule::train::{EpochSummary, Metrics};
/// let epoch = EpochSummary { loss: 0.5_f64, validation: Some(Metrics { loss: 0.6, accuracy: None }) };
/// assert!(epoch.validation.unwrap().loss > epoch.loss);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochSummary<T> {
    /// The mean of the epoch's step losses.
    pub loss: T,
    /// The validation set's metrics after the epoch, if the trainer has a validation set.
    pub validation: Option<Metrics<T>>,
}

/// The losses of a run: one per step, and a summary per finished epoch. Saved in checkpoints
/// and restored with them.
///
/// ```
/// use chainrule::train::History;
/// let history = History::<f32>::default();
/// assert!(history.steps.is_empty() && history.epochs.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History<T> {
    /// The loss of every step's batch, before that step's update, in order.
    pub steps: Vec<T>,
    /// Every finished epoch, in order.
    pub epochs: Vec<EpochSummary<T>>,
}

/// Why [`Trainer::fit`] returned without an error.
///
/// ```
/// use chainrule::train::Stop;
/// assert_ne!(Stop::Finished, Stop::Callback);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every epoch up to [`Trainer::epochs`] is done.
    Finished,
    /// The monitored loss (validation, else training) did not improve for `patience` epochs
    /// in a row; `best_epoch` (from 0) had the lowest.
    EarlyStopping {
        /// The epoch with the lowest monitored loss.
        best_epoch: usize,
    },
    /// The callback returned `ControlFlow::Break`. Calling `fit` again continues from here.
    Callback,
}

/// When the callback is called.
///
/// ```
/// use chainrule::train::Event;
/// assert_ne!(Event::Step, Event::Epoch);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// After a step's update.
    Step,
    /// After an epoch's last step, its validation and early-stopping check.
    Epoch,
}

/// What the callback sees: where training is and how it goes.
///
/// ```
/// use std::ops::ControlFlow;
/// use chainrule::loss::Mse;
/// use chainrule::nn::Linear;
/// use chainrule::optim::Sgd;
/// use chainrule::train::{Event, Stop, Trainer};
///
/// let data = chainrule::data::sine::<f64>(40, 0.0, 0);
/// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
///     .epochs(10)
///     .callback(|progress| {
///         if progress.event == Event::Epoch {
///             progress.println(&format!("epoch {} loss {}", progress.epoch, progress.loss));
///         }
///         // Stop after 3 epochs.
///         if progress.event == Event::Epoch && progress.epoch == 2 {
///             ControlFlow::Break(())
///         } else {
///             ControlFlow::Continue(())
///         }
///     });
/// assert_eq!(trainer.fit::<10>(&data)?, Stop::Callback);
/// assert_eq!((trainer.epoch(), trainer.step()), (3, 12));
/// # Ok::<(), chainrule::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Progress<'a, T> {
    /// What just happened.
    pub event: Event,
    /// The epoch (from 0) of the step that just ran, or the epoch that just ended.
    pub epoch: usize,
    /// The number of epochs the run is configured for.
    pub epochs: usize,
    /// The number of steps done so far, this one included.
    pub step: usize,
    /// The steps in one epoch: `n / B`, or `n / B` rounded up with
    /// [`drop_last(false)`](Trainer::drop_last).
    pub steps_per_epoch: usize,
    /// The learning rate of the last step.
    pub lr: T,
    /// The last step's loss ([`Event::Step`]) or the epoch's mean ([`Event::Epoch`]).
    pub loss: T,
    /// The validation metrics of the epoch that just ended ([`Event::Epoch`] only).
    pub validation: Option<Metrics<T>>,
    /// Everything so far.
    pub history: &'a History<T>,
    bar: Option<&'a ProgressBar>,
}

impl<T> Progress<'_, T> {
    /// Prints `line` to stdout, above the progress bar if one is drawn (so the bar is not
    /// torn), else as `println!` does.
    ///
    /// (An example is on [`Progress`].)
    pub fn println(&self, line: &str) {
        match self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}
