//! [`Trainer`]: epochs of shuffled minibatches, each step `loss_and_grad` then
//! `Optimizer::step`, with divergence checks, validation, early stopping, a callback and a
//! progress bar. Owns the model and the optimizer; borrows the training data for each `fit`.

use std::cmp::Ordering;
use std::ops::ControlFlow;
use std::path::PathBuf;

use nalgebra::SMatrix;

use super::progress::{self, ShowProgress};
use super::{
    epoch_order, Columns, DataParallel, EpochSummary, Event, History, Metrics, Progress, Stop,
};
use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::nn::{Init, Module};
use crate::optim::schedule::Schedule;
use crate::optim::Optimizer;
use crate::{Error, Parameters, Real, Result};

/// What the callback is.
type Callback<T> = Box<dyn FnMut(&Progress<'_, T>) -> ControlFlow<()> + Send>;

/// Trains a model `M` with an optimizer `O` on a loss `L`, in minibatches of a size fixed at
/// compile time: PyTorch Lightning's `Trainer.fit`, Keras' `Model.fit`, burn's `Learner`.
///
/// `T` is the scalar type, `I` the input size and `Y` the target type of the datasets it
/// trains and validates on (`usize` for classes, `SVector<T, O>` for regression). Build it
/// with [`new`](Trainer::new) and the builder methods, then call
/// [`fit`](Trainer::fit)`::<B>(&train)` with the batch size `B`. See the
/// [module docs](super) for how batches, steps and checkpoints work.
///
/// ```
/// use graph_runtime::data;
/// use graph_runtime::loss::CrossEntropy;
/// use graph_runtime::nn::{Linear, Sequential, Tanh};
/// use graph_runtime::optim::Adam;
/// use graph_runtime::rand::{rngs::StdRng, SeedableRng};
/// use graph_runtime::train::Trainer;
///
/// type Classifier = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 2>)>;
/// let (train, validation) = data::xor::<f32>(320, 0.0, 1).split_at(256);
/// let model = Classifier::init(&mut StdRng::seed_from_u64(2));
/// let mut trainer = Trainer::new(model, Adam::new(0.02), CrossEntropy)
///     .epochs(30)
///     .validation(validation)
///     .early_stopping(5);
/// trainer.fit::<16>(&train)?;
/// let last = trainer.history().epochs.last().unwrap();
/// assert!(last.validation.unwrap().accuracy.unwrap() > 0.9);
/// # Ok::<(), graph_runtime::Error>(())
/// ```
pub struct Trainer<T: Real, M, O, L, const I: usize, Y> {
    pub(super) model: M,
    pub(super) optimizer: O,
    loss: L,
    pub(super) config: Config<T>,
    schedule: Option<Box<dyn Schedule<T> + Send>>,
    validation: Option<Dataset<T, I, Y>>,
    callback: Option<Callback<T>>,
    pub(super) state: State<T>,
    /// The parameters before the current step, to restore if its update is not finite.
    /// Allocated on the first step.
    backup: Option<Box<M>>,
}

/// What the builder methods set.
pub(super) struct Config<T> {
    pub(super) base_lr: T,
    pub(super) epochs: usize,
    pub(super) seed: u64,
    pub(super) patience: Option<usize>,
    pub(super) show_progress: ShowProgress,
    pub(super) checkpoint: Option<(usize, PathBuf)>,
}

/// Where the run is: everything a checkpoint restores besides the model and optimizer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct State<T> {
    /// The epoch in progress (or next), from 0.
    pub(super) epoch: usize,
    /// Batches of `epoch` done.
    pub(super) batch_in_epoch: usize,
    /// Steps done over the whole run: the schedule's position.
    pub(super) step: usize,
    pub(super) history: History<T>,
    /// The lowest monitored loss so far, for early stopping, and its epoch.
    pub(super) best: Option<(T, usize)>,
    pub(super) epochs_without_improvement: usize,
    /// The batch size and training-set size of the last `fit`, which a run stopped
    /// mid-epoch must resume with.
    pub(super) batch_size: Option<usize>,
    pub(super) train_samples: Option<usize>,
}

impl<T: Real, M, O: Optimizer<T>, L, const I: usize, Y> Trainer<T, M, O, L, I, Y> {
    /// A trainer of `model` by `optimizer` on `loss`, for one epoch, seed 0, at the
    /// optimizer's learning rate with no schedule, without validation, early stopping,
    /// callback or checkpoints, with a progress bar when [`ShowProgress::Auto`] says so.
    ///
    /// ```
    /// use graph_runtime::loss::Mse;
    /// use graph_runtime::nn::Linear;
    /// use graph_runtime::optim::Sgd;
    /// use graph_runtime::train::Trainer;
    ///
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.5), Mse);
    /// trainer.fit::<4>(&graph_runtime::data::sine(8, 0.0, 0))?;
    /// assert_eq!((trainer.epoch(), trainer.step()), (1, 2));
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn new(model: M, optimizer: O, loss: L) -> Self {
        Trainer {
            model,
            config: Config {
                base_lr: optimizer.lr(),
                epochs: 1,
                seed: 0,
                patience: None,
                show_progress: ShowProgress::Auto,
                checkpoint: None,
            },
            optimizer,
            loss,
            schedule: None,
            validation: None,
            callback: None,
            state: State::default(),
            backup: None,
        }
    }

    /// Trains until epoch `epochs` (counted over the whole run: a resumed run goes on to the
    /// same total). The default is 1.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(20);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.total_epochs(), 20);
    /// ```
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.config.epochs = epochs;
        self
    }

    /// Seeds the shuffle: epoch `e` visits the samples in [`epoch_order`]`(seed, e, n)`. The
    /// default is 0.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).seed(42);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.shuffle_seed(), 42);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Sets each step's learning rate to `schedule.lr(base_lr, step)`, `base_lr` being the
    /// optimizer's rate when the trainer was made (or [`set_base_lr`](Trainer::set_base_lr)'s).
    /// Without a schedule every step uses `base_lr`.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// use graph_runtime::optim::schedule::StepLR;
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .epochs(3)
    ///     .schedule(StepLR::new(2, 0.5));
    /// trainer.fit::<2>(&graph_runtime::data::sine(4, 0.0, 0))?; // 2 steps an epoch
    /// assert_eq!(trainer.lr(), 0.0125); // the next step, 6: 0.1 · 0.5³
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn schedule(mut self, schedule: impl Schedule<T> + Send + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Evaluates `validation` after every epoch (its [`Metrics`] go into the history and to
    /// the callback), and monitors its loss for [`early_stopping`](Trainer::early_stopping).
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let (train, validation) = graph_runtime::data::sine::<f64>(40, 0.0, 0).split_at(32);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .validation(validation);
    /// trainer.fit::<8>(&train)?;
    /// assert!(trainer.history().epochs[0].validation.is_some());
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn validation(mut self, validation: Dataset<T, I, Y>) -> Self {
        self.validation = Some(validation);
        self
    }

    /// Stops when the monitored loss has not gone below its lowest for `patience` epochs in
    /// a row: the validation loss if there is a validation set, else the epoch's mean
    /// training loss (Keras' `EarlyStopping(monitor="val_loss")`, falling back to `"loss"`).
    /// The model is the last epoch's, not the best one's.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::{Stop, Trainer}};
    /// // A learning rate of 0 never improves: stop after the first epoch and 2 more.
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.0), Mse)
    ///     .epochs(100)
    ///     .early_stopping(2);
    /// let stop = trainer.fit::<4>(&graph_runtime::data::sine(8, 0.0, 0))?;
    /// assert_eq!(stop, Stop::EarlyStopping { best_epoch: 0 });
    /// assert_eq!(trainer.epoch(), 3);
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.config.patience = Some(patience);
        self
    }

    /// When to draw the progress bar; the default is [`ShowProgress::Auto`].
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::{ShowProgress, Trainer}};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .progress_bar(ShowProgress::Never);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// ```
    pub fn progress_bar(mut self, show: ShowProgress) -> Self {
        self.config.show_progress = show;
        self
    }

    /// Calls `callback` after every step and after every epoch with a view of the
    /// [`Progress`]; returning `ControlFlow::Break(())` stops training there, and `fit` returns
    /// [`Stop::Callback`]. (An example is on [`Progress`].)
    pub fn callback(
        mut self,
        callback: impl FnMut(&Progress<'_, T>) -> ControlFlow<()> + Send + 'static,
    ) -> Self {
        self.callback = Some(Box::new(callback));
        self
    }

    /// Saves a checkpoint to `path` (atomically, replacing the last) after every
    /// `every_steps` steps. A failed save stops `fit` with its [`Error::Io`]; the trainer is
    /// then as it was after the step, and the previous checkpoint intact.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let path = std::env::temp_dir().join(format!("doc-every-{}.safetensors", std::process::id()));
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .epochs(2)
    ///     .checkpoint_every(3, &path);
    /// trainer.fit::<2>(&graph_runtime::data::sine(8, 0.0, 0))?; // 8 steps: saved at 3 and 6
    /// let mut resumed = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(2);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &resumed;
    /// resumed.load_checkpoint(&path)?;
    /// assert_eq!(resumed.step(), 6);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `every_steps` is 0.
    #[track_caller]
    pub fn checkpoint_every(mut self, every_steps: usize, path: impl Into<PathBuf>) -> Self {
        assert!(
            every_steps > 0,
            "`checkpoint_every` needs at least 1 step between saves"
        );
        self.config.checkpoint = Some((every_steps, path.into()));
        self
    }

    /// The learning rate the schedule scales; from now on, instead of the optimizer's
    /// original one. After [`Error::Diverged`], lower it and call `fit` again to retry the
    /// failed step and go on.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// trainer.set_base_lr(0.01);
    /// assert_eq!(trainer.base_lr(), 0.01);
    /// ```
    pub fn set_base_lr(&mut self, lr: T) {
        self.config.base_lr = lr;
    }

    /// The learning rate the schedule scales.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.base_lr(), 0.1);
    /// ```
    pub fn base_lr(&self) -> T {
        self.config.base_lr
    }

    /// The learning rate of step [`step`](Trainer::step), the next one.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// use graph_runtime::optim::schedule::ExponentialLR;
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .schedule(ExponentialLR::new(0.5));
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.lr(), 0.1);
    /// ```
    pub fn lr(&self) -> T {
        self.lr_at(self.state.step)
    }

    fn lr_at(&self, step: usize) -> T {
        match &self.schedule {
            Some(schedule) => schedule.lr(self.config.base_lr, step),
            None => self.config.base_lr,
        }
    }

    /// The model as trained so far.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.model().bias[0], 0.0);
    /// ```
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, mutably: to change parameters between `fit` calls.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// trainer.model_mut().bias[0] = 1.0;
    /// assert_eq!(trainer.model().bias[0], 1.0);
    /// ```
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The model, giving up the trainer.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// let model: Linear<f64, 1, 1> = trainer.into_model();
    /// ```
    pub fn into_model(self) -> M {
        self.model
    }

    /// The optimizer, with its accumulated state.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::{Optimizer, Sgd}, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// trainer.fit::<4>(&graph_runtime::data::sine(8, 0.0, 0))?;
    /// assert_eq!(trainer.optimizer().step_count(), 2);
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// Every step's loss and every finished epoch's summary.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(2);
    /// trainer.fit::<4>(&graph_runtime::data::sine(8, 0.0, 0))?;
    /// assert_eq!(trainer.history().steps.len(), 4);
    /// let first_epoch = (trainer.history().steps[0] + trainer.history().steps[1]) / 2.0;
    /// assert_eq!(trainer.history().epochs[0].loss, first_epoch);
    /// # Ok::<(), graph_runtime::Error>(())
    /// ```
    pub fn history(&self) -> &History<T> {
        &self.state.history
    }

    /// The number of steps done: the index of the next step, and the schedule's position.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.step(), 0);
    /// ```
    pub fn step(&self) -> usize {
        self.state.step
    }

    /// The epoch in progress, from 0 (after a finished run, the number of epochs).
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.epoch(), 0);
    /// ```
    pub fn epoch(&self) -> usize {
        self.state.epoch
    }

    /// The number of epochs the run trains for.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.total_epochs(), 1);
    /// ```
    pub fn total_epochs(&self) -> usize {
        self.config.epochs
    }

    /// The seed of the shuffle.
    ///
    /// ```
    /// # use graph_runtime::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, graph_runtime::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.shuffle_seed(), 0);
    /// ```
    pub fn shuffle_seed(&self) -> u64 {
        self.config.seed
    }
}

impl<T, M, O, L, const I: usize, Y> Trainer<T, M, O, L, I, Y>
where
    T: Real,
    M: Parameters<T> + Init,
    O: Optimizer<T>,
    Y: Target<T>,
{
    /// Trains on `train` in minibatches of `B` until the last epoch, an early stop or the
    /// callback's stop, continuing from where the trainer is (a fresh one starts at step 0;
    /// one that stopped, or loaded a checkpoint, goes on from there).
    ///
    /// Each step is `loss_and_grad` of one batch, then [`Optimizer::step`]. Validation, when
    /// set, runs after every epoch in batches of `B` too, over every sample (the last batch
    /// padded, the padding not counted).
    ///
    /// # Errors
    ///
    /// - [`Error::Diverged`] if a step's loss or gradient is not finite, or its update made
    ///   a parameter not finite. The trainer keeps the parameters from before that step (the
    ///   last finite ones), its step count, epoch and history; when the update was at fault,
    ///   the optimizer has taken the step (its count and buffers include it). Lower the rate
    ///   with [`set_base_lr`](Trainer::set_base_lr) and call `fit` again to retry, or take the
    ///   model with [`into_model`](Trainer::into_model).
    /// - [`Error::TooFewSamples`] if `train` has fewer than `B` samples or the validation
    ///   set is empty.
    /// - [`Error::ResumeMismatch`] if the run stopped mid-epoch and `B` or the number of
    ///   samples changed since, so the rest of the epoch would be another shuffle's.
    /// - [`Error::Io`] if a [`checkpoint_every`](Trainer::checkpoint_every) save fails.
    ///
    /// ```
    /// use graph_runtime::loss::Mse;
    /// use graph_runtime::nn::{Linear, Sequential, Tanh};
    /// use graph_runtime::optim::Sgd;
    /// use graph_runtime::rand::{rngs::StdRng, SeedableRng};
    /// use graph_runtime::train::Trainer;
    /// use graph_runtime::{Error, Parameters};
    ///
    /// type Mlp = Sequential<(Linear<f64, 1, 16>, Tanh, Linear<f64, 16, 1>)>;
    /// let data = graph_runtime::data::sine::<f64>(64, 0.0, 0);
    /// let model = Mlp::init(&mut StdRng::seed_from_u64(0));
    /// let mut trainer = Trainer::new(model, Sgd::new(1e3), Mse).epochs(10);
    /// let error = trainer.fit::<16>(&data).unwrap_err();
    /// let Error::Diverged { step, lr, .. } = error else { panic!("{error}") };
    /// assert_eq!((step, lr), (trainer.step(), 1e3));
    /// assert!(trainer.model().all_finite());
    /// ```
    pub fn fit<const B: usize>(&mut self, train: &Dataset<T, I, Y>) -> Result<Stop>
    where
        M: Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, B>>>::Output, Y::Batch<B>, Value = T> + Clone,
    {
        self.run::<B>(
            train,
            |model, loss, data, indices| {
                let (x, y) = data.batch(indices);
                model.loss_and_grad(&x, &y, loss.clone())
            },
            |model, loss, data| metrics::<B, T, M, L, I, Y>(model, loss, data),
        )
    }

    /// As [`fit`](Trainer::fit), with each step's gradient computed by
    /// [`DataParallel::<C>`](DataParallel) in chunks of `C` on rayon's current thread pool:
    /// the same result with any number of threads (and exactly `fit`'s when `C == B`).
    /// Validation runs in batches of `C`.
    ///
    /// # Errors
    ///
    /// As [`fit`](Trainer::fit).
    ///
    /// ```
    /// use graph_runtime::loss::CrossEntropy;
    /// use graph_runtime::nn::{Linear, Sequential, Tanh};
    /// use graph_runtime::optim::Adam;
    /// use graph_runtime::rand::{rngs::StdRng, SeedableRng};
    /// use graph_runtime::train::{rayon::ThreadPoolBuilder, Trainer};
    ///
    /// type Classifier = Sequential<(Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 2>)>;
    /// let data = graph_runtime::data::moons::<f32>(128, 0.05, 1);
    /// let train_with = |threads| {
    ///     let model = Classifier::init(&mut StdRng::seed_from_u64(0));
    ///     let mut trainer = Trainer::new(model, Adam::new(0.01), CrossEntropy).epochs(3);
    ///     let pool = ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    ///     pool.install(|| trainer.fit_parallel::<32, 8>(&data)).unwrap();
    ///     trainer.into_model()
    /// };
    /// assert_eq!(train_with(1), train_with(2));
    /// ```
    pub fn fit_parallel<const B: usize, const C: usize>(
        &mut self,
        train: &Dataset<T, I, Y>,
    ) -> Result<Stop>
    where
        M: Module<SMatrix<T, I, C>> + Send + Sync,
        <M as Module<SMatrix<T, I, C>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, C>>>::Output, Y::Batch<C>, Value = T> + Clone + Sync,
        Y: Sync,
    {
        self.run::<B>(
            train,
            |model, loss, data, indices| {
                DataParallel::<C>::loss_and_grad(model, loss, data, indices)
            },
            |model, loss, data| metrics::<C, T, M, L, I, Y>(model, loss, data),
        )
    }

    /// The model's [`Metrics`] on `data`, in batches of `B`, over every sample: the mean
    /// loss, and for class targets the accuracy. An empty `data` (or `B` of 0) has a NaN
    /// loss.
    ///
    /// ```
    /// use graph_runtime::loss::Mse;
    /// use graph_runtime::nn::Linear;
    /// use graph_runtime::optim::Sgd;
    /// use graph_runtime::train::Trainer;
    ///
    /// let data = graph_runtime::data::sine::<f64>(5, 0.0, 0);
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// // The zero model predicts 0: its loss is the mean of sin².
    /// let expected = data.targets().iter().map(|y| y[0] * y[0]).sum::<f64>() / 5.0;
    /// let metrics = trainer.evaluate::<2>(&data); // batches of 2, 2 and 1
    /// assert!((metrics.loss - expected).abs() < 1e-15);
    /// assert_eq!(metrics.accuracy, None);
    /// ```
    pub fn evaluate<const B: usize>(&self, data: &Dataset<T, I, Y>) -> Metrics<T>
    where
        M: Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, B>>>::Output, Y::Batch<B>, Value = T>,
    {
        metrics::<B, T, M, L, I, Y>(&self.model, &self.loss, data)
    }

    /// The loop both `fit`s share: `gradient` computes a step's loss and gradient, `evaluate`
    /// the validation metrics.
    fn run<const B: usize>(
        &mut self,
        train: &Dataset<T, I, Y>,
        gradient: impl Fn(&M, &L, &Dataset<T, I, Y>, &[usize; B]) -> (T, M),
        evaluate: impl Fn(&M, &L, &Dataset<T, I, Y>) -> Metrics<T>,
    ) -> Result<Stop> {
        let n = train.len();
        if n < B || B == 0 {
            return Err(Error::TooFewSamples {
                what: "training set",
                samples: n,
                needed: B.max(1),
            });
        }
        if let Some(validation) = &self.validation {
            if validation.is_empty() {
                return Err(Error::TooFewSamples {
                    what: "validation set",
                    samples: 0,
                    needed: 1,
                });
            }
        }
        if self.state.batch_in_epoch > 0 {
            for (what, resumed, given) in [
                ("batch size", self.state.batch_size, B),
                ("number of training samples", self.state.train_samples, n),
            ] {
                if resumed.is_some_and(|resumed| resumed != given) {
                    return Err(Error::ResumeMismatch {
                        what,
                        expected: resumed.unwrap_or_default(),
                        found: given,
                    });
                }
            }
        }
        self.state.batch_size = Some(B);
        self.state.train_samples = Some(n);
        let steps_per_epoch = n / B;

        let epochs = self.config.epochs;
        let done = (self.state.epoch * steps_per_epoch + self.state.batch_in_epoch) as u64;
        let total = (epochs * steps_per_epoch) as u64;
        let bar = progress::bar(self.config.show_progress, total, done.min(total));

        while self.state.epoch < epochs {
            let epoch = self.state.epoch;
            let order = epoch_order(self.config.seed, epoch, n);
            while self.state.batch_in_epoch < steps_per_epoch {
                let start = self.state.batch_in_epoch * B;
                let indices: [usize; B] = std::array::from_fn(|i| order[start + i]);
                let lr = self.lr_at(self.state.step);
                self.optimizer.set_lr(lr);
                let (loss, grads) = gradient(&self.model, &self.loss, train, &indices);
                if let Err(error) = self.apply(loss, &grads, lr) {
                    if let Some(bar) = &bar {
                        bar.abandon_with_message(format!("diverged at step {}", self.state.step));
                    }
                    return Err(error);
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                progress::say(bar.as_ref(), || {
                    format!(
                        "epoch {}/{epochs} loss {loss:.4} lr {:.2e}",
                        epoch + 1,
                        lr.to_f64()
                    )
                    .into()
                });
                let step = self.state.step;
                if let Some((every, path)) = &self.config.checkpoint {
                    if step.is_multiple_of(*every) {
                        let path = path.clone();
                        self.save_checkpoint(&path)?;
                    }
                }
                if let Some(callback) = self.callback.as_mut() {
                    let progress = Progress {
                        event: Event::Step,
                        epoch,
                        epochs,
                        step,
                        steps_per_epoch,
                        lr,
                        loss,
                        validation: None,
                        history: &self.state.history,
                        bar: bar.as_ref(),
                    };
                    if callback(&progress).is_break() {
                        return Ok(Stop::Callback);
                    }
                }
            }

            // The epoch's end.
            let steps = &self.state.history.steps;
            let this_epoch = &steps[steps.len() - steps_per_epoch..];
            let sum = this_epoch.iter().fold(T::ZERO, |sum, &loss| sum + loss);
            let epoch_loss = sum / T::from_f64(steps_per_epoch as f64);
            let validation = self
                .validation
                .as_ref()
                .map(|validation| evaluate(&self.model, &self.loss, validation));
            self.state.history.epochs.push(EpochSummary {
                loss: epoch_loss,
                validation,
            });
            let monitored = validation.map_or(epoch_loss, |metrics| metrics.loss);
            match self.state.best {
                Some((best, _)) if monitored.partial_cmp(&best) != Some(Ordering::Less) => {
                    self.state.epochs_without_improvement += 1;
                }
                _ => {
                    self.state.best = Some((monitored, epoch));
                    self.state.epochs_without_improvement = 0;
                }
            }
            self.state.epoch += 1;
            self.state.batch_in_epoch = 0;
            if let Some(bar) = &bar {
                let line = match validation {
                    Some(metrics) => format!(
                        "epoch {}/{epochs} loss {epoch_loss:.4}, validation {metrics:.4}",
                        epoch + 1
                    ),
                    None => format!("epoch {}/{epochs} loss {epoch_loss:.4}", epoch + 1),
                };
                bar.set_message(line);
            }
            let last_lr = self.lr_at(self.state.step.saturating_sub(1));
            if let Some(callback) = self.callback.as_mut() {
                let progress = Progress {
                    event: Event::Epoch,
                    epoch,
                    epochs,
                    step: self.state.step,
                    steps_per_epoch,
                    lr: last_lr,
                    loss: epoch_loss,
                    validation,
                    history: &self.state.history,
                    bar: bar.as_ref(),
                };
                if callback(&progress).is_break() {
                    return Ok(Stop::Callback);
                }
            }
            if let (Some(patience), Some((_, best_epoch))) = (self.config.patience, self.state.best)
            {
                if self.state.epochs_without_improvement >= patience {
                    if let Some(bar) = &bar {
                        bar.finish();
                    }
                    return Ok(Stop::EarlyStopping { best_epoch });
                }
            }
        }
        if let Some(bar) = &bar {
            bar.finish();
        }
        Ok(Stop::Finished)
    }

    /// One step's update, checked: the loss and gradient must be finite before it and the
    /// parameters after it.
    fn apply(&mut self, loss: T, grads: &M, lr: T) -> Result<()> {
        let diverged = |what: String| Error::Diverged {
            step: self.state.step,
            epoch: self.state.epoch,
            // The decimal the rate prints as (`1.1`, not f32's `1.100000023841858`).
            lr: lr.to_string().parse().unwrap_or(lr.to_f64()),
            what,
        };
        if !loss.is_finite() {
            return Err(diverged(format!("the loss is {loss}")));
        }
        if !grads.all_finite() {
            let name = first_non_finite(grads);
            return Err(diverged(format!("the gradient of {name} is not finite")));
        }
        let backup = self.backup.get_or_insert_with(|| Box::new(M::zeros()));
        backup.copy_from(&self.model);
        self.optimizer.step(&mut self.model, grads);
        if !self.model.all_finite() {
            let name = first_non_finite(&self.model);
            self.model.copy_from(backup);
            return Err(diverged(format!("the update made {name} not finite")));
        }
        self.state.history.steps.push(loss);
        self.state.step += 1;
        self.state.batch_in_epoch += 1;
        Ok(())
    }
}

/// The name of the first tensor with a non-finite element, in backticks, for a message.
fn first_non_finite<T: Real, P: Parameters<T>>(params: &P) -> String {
    let mut found = None;
    params.visit_named("", &mut |name, tensor| {
        if found.is_none() && !tensor.data.iter().all(|x| x.is_finite()) {
            found = Some(name.to_string());
        }
    });
    match found {
        Some(name) if !name.is_empty() => format!("`{name}`"),
        _ => "the parameters".to_string(),
    }
}

/// [`Trainer::evaluate`]'s computation: full batches' losses weigh `B` samples; in the last,
/// padded batch, each real sample's loss is the loss of a batch of copies of it.
fn metrics<const B: usize, T, M, L, const I: usize, Y>(
    model: &M,
    loss: &L,
    data: &Dataset<T, I, Y>,
) -> Metrics<T>
where
    T: Real,
    M: Module<SMatrix<T, I, B>>,
    M::Output: Columns<T>,
    L: Loss<M::Output, Y::Batch<B>, Value = T>,
    Y: Target<T>,
{
    let n = if B == 0 { 0 } else { data.len() };
    let mut total = 0.0_f64;
    let mut correct = 0_usize;
    let mut has_accuracy = true;
    for start in (0..n).step_by(B.max(1)) {
        let real = B.min(n - start);
        // Pad a short last batch with copies of its last sample.
        let indices: [usize; B] = std::array::from_fn(|i| start + i.min(real - 1));
        let (x, y) = data.batch(&indices);
        let output = model.forward(&x);
        if real == B {
            total += loss.loss(&output, &y).to_f64() * B as f64;
        } else {
            for sample in 0..real {
                let targets = Y::gather(data.targets(), &[start + sample; B]);
                total += loss.loss(&output.repeat_sample(sample), &targets).to_f64();
            }
        }
        for sample in 0..real {
            match Y::is_correct(output.sample(sample), &data.targets()[start + sample]) {
                Some(right) => correct += usize::from(right),
                None => has_accuracy = false,
            }
        }
    }
    let n = n as f64;
    Metrics {
        loss: T::from_f64(total / n),
        accuracy: (has_accuracy && n > 0.0).then(|| T::from_f64(correct as f64 / n)),
    }
}
