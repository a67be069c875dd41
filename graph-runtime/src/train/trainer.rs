//! [`Trainer`]: epochs of shuffled minibatches, each step `loss_and_grad` then
//! `Optimizer::step`, with divergence checks, validation, early stopping, a callback and a
//! progress bar. Owns the model and the optimizer; borrows the training data for each `fit`.

use std::ops::ControlFlow;
use std::path::PathBuf;

use super::progress::ShowProgress;
use super::{History, Progress};
use crate::data::Dataset;
use crate::optim::schedule::Schedule;
use crate::optim::{check_non_negative, Optimizer};
use crate::Real;

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
/// `fit` trains in training mode and validates in evaluation mode, and `evaluate`, `predict`
/// and `predict_classes` run in evaluation mode, so they take a model that implements
/// [`Mode`](crate::nn::Mode), as every layer of `chainrule::nn`, every `Sequential` of them
/// and `Box`es of them do. A model of your own with no dropout or batch statistics takes
/// one line, `impl Mode for MyModel {}` (the methods default to doing nothing); without it,
/// the compiler's error says so. We chose that line over a blanket impl, which would make
/// every type "modeless" and let a `Dropout` hidden in a model of your own stay in training
/// mode during validation without a word.
///
/// ```
/// use chainrule::data;
/// use chainrule::loss::CrossEntropy;
/// use chainrule::nn::{Linear, Sequential, Tanh};
/// use chainrule::optim::Adam;
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
/// use chainrule::train::Trainer;
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
/// # Ok::<(), chainrule::Error>(())
/// ```
pub struct Trainer<T: Real, M, O, L, const I: usize, Y> {
    pub(super) model: M,
    pub(super) optimizer: O,
    pub(super) loss: L,
    pub(super) config: Config<T>,
    schedule: Option<Box<dyn Schedule<T> + Send>>,
    pub(super) validation: Option<Dataset<T, I, Y>>,
    pub(super) callback: Option<Callback<T>>,
    pub(super) state: State<T>,
    /// The parameters before the current step, to restore if its update is not finite.
    /// Allocated on the first step.
    pub(super) backup: Option<Box<M>>,
    /// For [`restore_best`](Trainer::restore_best): every named tensor of the best epoch's
    /// model, in `visit_named` order, and that epoch. Allocated at the first improvement,
    /// then overwritten in place.
    pub(super) best_weights: Option<(usize, Vec<T>)>,
}

/// How [`Trainer::clip_grad_norm`] or [`Trainer::clip_grad_value`] clips every gradient.
#[derive(Clone, Copy, Debug)]
pub(super) enum Clip<T> {
    Norm(T),
    Value(T),
}

/// What the builder methods set.
pub(super) struct Config<T> {
    pub(super) base_lr: T,
    pub(super) epochs: usize,
    pub(super) seed: u64,
    pub(super) patience: Option<usize>,
    pub(super) restore_best: bool,
    pub(super) drop_last: bool,
    pub(super) clip: Option<Clip<T>>,
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
    /// use chainrule::loss::Mse;
    /// use chainrule::nn::Linear;
    /// use chainrule::optim::Sgd;
    /// use chainrule::train::Trainer;
    ///
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.5), Mse);
    /// trainer.fit::<4>(&chainrule::data::sine(8, 0.0, 0))?;
    /// assert_eq!((trainer.epoch(), trainer.step()), (1, 2));
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn new(model: M, optimizer: O, loss: L) -> Self {
        Trainer {
            model,
            config: Config {
                base_lr: optimizer.lr(),
                epochs: 1,
                seed: 0,
                patience: None,
                restore_best: false,
                drop_last: true,
                clip: None,
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
            best_weights: None,
        }
    }

    /// Trains until epoch `epochs` (counted over the whole run: a resumed run goes on to the
    /// same total). The default is 1.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(20);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.total_epochs(), 20);
    /// ```
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.config.epochs = epochs;
        self
    }

    /// Seeds the shuffle: epoch `e` visits the samples in [`epoch_order`](super::epoch_order)`(seed, e, n)`. The
    /// default is 0.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).seed(42);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
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
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// use chainrule::optim::schedule::StepLR;
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .epochs(3)
    ///     .schedule(StepLR::new(2, 0.5));
    /// trainer.fit::<2>(&chainrule::data::sine(4, 0.0, 0))?; // 2 steps an epoch
    /// assert_eq!(trainer.lr(), 0.0125); // the next step, 6: 0.1 · 0.5³
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn schedule(mut self, schedule: impl Schedule<T> + Send + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Evaluates `validation` after every epoch (its [`Metrics`](super::Metrics) go into the history and to
    /// the callback), and monitors its loss for [`early_stopping`](Trainer::early_stopping).
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let (train, validation) = chainrule::data::sine::<f64>(40, 0.0, 0).split_at(32);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .validation(validation);
    /// trainer.fit::<8>(&train)?;
    /// assert!(trainer.history().epochs[0].validation.is_some());
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn validation(mut self, validation: Dataset<T, I, Y>) -> Self {
        self.validation = Some(validation);
        self
    }

    /// Stops when the monitored loss has not gone below its lowest for `patience` epochs in
    /// a row: the validation loss if there is a validation set, else the epoch's mean
    /// training loss (Keras' `EarlyStopping(monitor="val_loss")`, falling back to `"loss"`).
    /// The model is the last epoch's, unless [`restore_best`](Trainer::restore_best) asks for
    /// the best one's.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::{Stop, Trainer}};
    /// // A learning rate of 0 never improves: stop after the first epoch and 2 more.
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.0), Mse)
    ///     .epochs(100)
    ///     .early_stopping(2);
    /// let stop = trainer.fit::<4>(&chainrule::data::sine(8, 0.0, 0))?;
    /// assert_eq!(stop, Stop::EarlyStopping { best_epoch: 0 });
    /// assert_eq!(trainer.epoch(), 3);
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn early_stopping(mut self, patience: usize) -> Self {
        self.config.patience = Some(patience);
        self
    }

    /// With `true`, `fit` ends with the parameters of the epoch whose monitored loss was the
    /// lowest (see [`early_stopping`](Trainer::early_stopping)), when it stops early or
    /// finishes its epochs: Keras' `EarlyStopping(restore_best_weights=True)`, which restores
    /// only on an early stop. Every named tensor is kept, buffers such as `BatchNorm1d`'s
    /// running statistics included, in one copy on the heap made at the first improvement
    /// and overwritten in place after. The copy is not in checkpoints: a run resumed from one
    /// restores only an epoch it has seen since. The default is `false`.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::{Stop, Trainer}};
    /// // Steps of 1.5 overshoot ever further: an early epoch is the best.
    /// let (train, validation) = chainrule::data::sine::<f64>(40, 0.1, 0).split_at(32);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(1.5), Mse)
    ///     .epochs(100)
    ///     .validation(validation.clone())
    ///     .early_stopping(3)
    ///     .restore_best(true);
    /// let Stop::EarlyStopping { best_epoch } = trainer.fit::<8>(&train)? else { panic!() };
    /// let best = trainer.history().epochs[best_epoch].validation.unwrap().loss;
    /// assert_eq!(trainer.evaluate::<8>(&validation).loss, best);
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn restore_best(mut self, restore: bool) -> Self {
        self.config.restore_best = restore;
        self
    }

    /// With `false`, an epoch ends with a last, smaller batch of the `n mod B` samples its
    /// batches of `B` leave, so every sample is used every epoch: PyTorch's
    /// `DataLoader(drop_last=False)`. The batch size is a type, so that batch is run as a
    /// batch of `B` padded with copies of its last sample that weigh nothing: the loss and
    /// the gradient are the mean over its real samples, and the step is PyTorch's step on the
    /// smaller batch. This needs a loss that is a mean of per-sample losses (every loss in
    /// [`loss`](crate::loss) is) and a model whose samples do not interact: in training mode
    /// `BatchNorm1d`'s batch statistics include the copies.
    ///
    /// The default is `true`, unlike PyTorch's `DataLoader`: every step then has `B` real
    /// samples, which a model with batch statistics needs, and an epoch `n / B` steps, which
    /// schedules sized as `epochs * (n / B)` count on (see the [module docs](super)).
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let data = chainrule::data::sine(10, 0.0, 0);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .drop_last(false);
    /// trainer.fit::<4>(&data)?; // batches of 4, 4 and 2
    /// assert_eq!(trainer.step(), 3);
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.config.drop_last = drop_last;
        self
    }

    /// Clips every step's gradient to a total 2-norm of `max_norm` with
    /// [`optim::clip_grad_norm`](crate::optim::clip_grad_norm) between the backward pass and
    /// the optimizer's step, as a PyTorch loop calls `clip_grad_norm_` between
    /// `loss.backward()` and `optimizer.step()`. Replaces a
    /// [`clip_grad_value`](Trainer::clip_grad_value).
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// // Targets of 100: without clipping the first step of rate 1 would overshoot to ~200.
    /// let data = chainrule::data::Dataset::from_iter([(
    ///     chainrule::nalgebra::SVector::<f64, 1>::new(0.0),
    ///     chainrule::nalgebra::SVector::<f64, 1>::new(100.0),
    /// )]);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(1.0), Mse)
    ///     .clip_grad_norm(1.0);
    /// trainer.fit::<1>(&data)?;
    /// assert!((trainer.model().bias[0] - 1.0).abs() < 1e-5); // a step of length 1
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `max_norm` is negative or NaN.
    #[track_caller]
    pub fn clip_grad_norm(mut self, max_norm: T) -> Self {
        check_non_negative("max_norm", max_norm);
        self.config.clip = Some(Clip::Norm(max_norm));
        self
    }

    /// Clamps every step's gradient elements to [−`clip_value`, `clip_value`] with
    /// [`optim::clip_grad_value`](crate::optim::clip_grad_value) between the backward pass and
    /// the optimizer's step. Replaces a [`clip_grad_norm`](Trainer::clip_grad_norm).
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let data = chainrule::data::Dataset::from_iter([(
    ///     chainrule::nalgebra::SVector::<f64, 1>::new(0.0),
    ///     chainrule::nalgebra::SVector::<f64, 1>::new(100.0),
    /// )]);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(1.0), Mse)
    ///     .clip_grad_value(0.5);
    /// trainer.fit::<1>(&data)?;
    /// assert_eq!(trainer.model().bias[0], 0.5); // the gradient −200 clamped to −0.5
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `clip_value` is negative or NaN.
    #[track_caller]
    pub fn clip_grad_value(mut self, clip_value: T) -> Self {
        check_non_negative("clip_value", clip_value);
        self.config.clip = Some(Clip::Value(clip_value));
        self
    }

    /// When to draw the progress bar; the default is [`ShowProgress::Auto`].
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::{ShowProgress, Trainer}};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .progress_bar(ShowProgress::Never);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// ```
    pub fn progress_bar(mut self, show: ShowProgress) -> Self {
        self.config.show_progress = show;
        self
    }

    /// Calls `callback` after every step and after every epoch with a view of the
    /// [`Progress`]; returning `ControlFlow::Break(())` stops training there, and `fit` returns
    /// [`Stop::Callback`](super::Stop::Callback). (An example is on [`Progress`].)
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
    /// [`Error::Io`]: crate::Error::Io
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let path = std::env::temp_dir().join(format!("doc-every-{}.safetensors", std::process::id()));
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .epochs(2)
    ///     .checkpoint_every(3, &path);
    /// trainer.fit::<2>(&chainrule::data::sine(8, 0.0, 0))?; // 8 steps: saved at 3 and 6
    /// let mut resumed = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(2);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &resumed;
    /// resumed.load_checkpoint(&path)?;
    /// assert_eq!(resumed.step(), 6);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), chainrule::Error>(())
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
    /// [`Error::Diverged`]: crate::Error::Diverged
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// trainer.set_base_lr(0.01);
    /// assert_eq!(trainer.base_lr(), 0.01);
    /// ```
    pub fn set_base_lr(&mut self, lr: T) {
        self.config.base_lr = lr;
    }

    /// The learning rate the schedule scales.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.base_lr(), 0.1);
    /// ```
    pub fn base_lr(&self) -> T {
        self.config.base_lr
    }

    /// The learning rate of step [`step`](Trainer::step), the next one.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// use chainrule::optim::schedule::ExponentialLR;
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse)
    ///     .schedule(ExponentialLR::new(0.5));
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.lr(), 0.1);
    /// ```
    pub fn lr(&self) -> T {
        self.lr_at(self.state.step)
    }

    /// The learning rate of step `step`.
    pub(super) fn lr_at(&self, step: usize) -> T {
        match &self.schedule {
            Some(schedule) => schedule.lr(self.config.base_lr, step),
            None => self.config.base_lr,
        }
    }

    /// The model as trained so far.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.model().bias[0], 0.0);
    /// ```
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, mutably: to change parameters between `fit` calls.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// trainer.model_mut().bias[0] = 1.0;
    /// assert_eq!(trainer.model().bias[0], 1.0);
    /// ```
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The model, giving up the trainer.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// let model: Linear<f64, 1, 1> = trainer.into_model();
    /// ```
    pub fn into_model(self) -> M {
        self.model
    }

    /// The optimizer, with its accumulated state.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::{Optimizer, Sgd}, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// trainer.fit::<4>(&chainrule::data::sine(8, 0.0, 0))?;
    /// assert_eq!(trainer.optimizer().step_count(), 2);
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// Every step's loss and every finished epoch's summary.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse).epochs(2);
    /// trainer.fit::<4>(&chainrule::data::sine(8, 0.0, 0))?;
    /// assert_eq!(trainer.history().steps.len(), 4);
    /// let first_epoch = (trainer.history().steps[0] + trainer.history().steps[1]) / 2.0;
    /// assert_eq!(trainer.history().epochs[0].loss, first_epoch);
    /// # Ok::<(), chainrule::Error>(())
    /// ```
    pub fn history(&self) -> &History<T> {
        &self.state.history
    }

    /// The number of steps done: the index of the next step, and the schedule's position.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.step(), 0);
    /// ```
    pub fn step(&self) -> usize {
        self.state.step
    }

    /// The epoch in progress, from 0 (after a finished run, the number of epochs).
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.epoch(), 0);
    /// ```
    pub fn epoch(&self) -> usize {
        self.state.epoch
    }

    /// The number of epochs the run trains for.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.total_epochs(), 1);
    /// ```
    pub fn total_epochs(&self) -> usize {
        self.config.epochs
    }

    /// The seed of the shuffle.
    ///
    /// ```
    /// # use chainrule::{loss::Mse, nn::Linear, optim::Sgd, train::Trainer};
    /// let trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// # let _: &Trainer<f64, _, _, _, 1, chainrule::nalgebra::SVector<f64, 1>> = &trainer;
    /// assert_eq!(trainer.shuffle_seed(), 0);
    /// ```
    pub fn shuffle_seed(&self) -> u64 {
        self.config.seed
    }
}
