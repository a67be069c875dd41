//! [`ReduceLROnPlateau`]: PyTorch's rate cut when a validation metric stops improving. Unlike
//! a [`Schedule`](super::Schedule), it follows the metric, so it keeps state.

use crate::Real;

/// Whether a lower or a higher metric is better: PyTorch's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better (a loss): PyTorch's default, `'min'`.
    #[default]
    Min,
    /// Higher is better (an accuracy): `'max'`.
    Max,
}

/// How far past the best a metric must be to count as better: PyTorch's `threshold_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThresholdMode {
    /// By a fraction of the best: below `best·(1 − threshold)` in [`Mode::Min`], above
    /// `best·(1 + threshold)` in [`Mode::Max`]. PyTorch's default, `'rel'`.
    #[default]
    Rel,
    /// By an amount: below `best − threshold`, or above `best + threshold`. `'abs'`.
    Abs,
}

/// What [`ReduceLROnPlateau`] has accumulated, for a checkpoint: PyTorch's `best`,
/// `num_bad_epochs` and `cooldown_counter`.
///
/// ```
/// use chainrule::optim::schedule::ReduceLROnPlateau;
/// let mut plateau = ReduceLROnPlateau::new();
/// plateau.step(0.5, 0.1);
/// plateau.step(0.6, 0.1);
/// let state = plateau.state();
/// assert_eq!((state.best, state.num_bad_epochs), (0.5, 1));
///
/// let mut resumed = ReduceLROnPlateau::new();
/// resumed.load_state(state);
/// assert_eq!(resumed, plateau);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauState {
    /// The best metric so far (∞ in [`Mode::Min`], −∞ in [`Mode::Max`] before the first).
    pub best: f64,
    /// The epochs since the metric last improved, not counting the cooldown.
    pub num_bad_epochs: usize,
    /// The epochs of cooldown left after a cut, during which bad epochs are not counted.
    pub cooldown_counter: usize,
}

/// Cuts the learning rate by `factor` once a metric has not improved for more than
/// `patience` epochs: PyTorch's `ReduceLROnPlateau`, fed the validation loss once per epoch.
///
/// Defaults are PyTorch's: [`Mode::Min`], `factor` 0.1, `patience` 10, `threshold` 10⁻⁴
/// [`ThresholdMode::Rel`], `cooldown` 0, `min_lr` 0 and `eps` 10⁻⁸. It is a state machine
/// rather than a function of the step: [`step`](ReduceLROnPlateau::step) takes the epoch's
/// metric and the optimizer's current rate, and returns the rate for the next epoch, which
/// training code hands back to the optimizer (PyTorch's `scheduler.step(val_loss)`, which
/// writes the optimizer's rate itself). Its [`state`](ReduceLROnPlateau::state) goes into a
/// checkpoint.
///
/// ```
/// use chainrule::optim::schedule::ReduceLROnPlateau;
/// use chainrule::optim::{Optimizer, Sgd};
///
/// let mut sgd = Sgd::new(0.1_f64);
/// let mut plateau = ReduceLROnPlateau::new().patience(2);
/// for validation_loss in [1.0, 0.9, 0.9, 0.9, 0.9] {
///     // ... an epoch of training, then the validation loss ...
///     sgd.set_lr(plateau.step(validation_loss, sgd.lr()));
/// }
/// // Three epochs without improvement, more than the patience of 2: cut by 10.
/// assert!((sgd.lr() - 0.01).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLROnPlateau {
    mode: Mode,
    factor: f64,
    patience: usize,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
    state: PlateauState,
}

impl Default for ReduceLROnPlateau {
    fn default() -> Self {
        ReduceLROnPlateau {
            mode: Mode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            state: PlateauState {
                best: f64::INFINITY,
                num_bad_epochs: 0,
                cooldown_counter: 0,
            },
        }
    }
}

impl ReduceLROnPlateau {
    /// A plateau detector with PyTorch's defaults.
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new();
    /// let mut lr = 1.0_f32;
    /// for _ in 0..11 {
    ///     lr = plateau.step(2.0, lr); // the first sets the best, then 10 bad epochs
    /// }
    /// assert_eq!(lr, 1.0);
    /// assert_eq!(plateau.step(2.0, lr), 0.1); // the 11th bad epoch
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether lower (default) or higher metrics are better. Resets the best so far.
    ///
    /// ```
    /// use chainrule::optim::schedule::{Mode, ReduceLROnPlateau};
    /// let mut plateau = ReduceLROnPlateau::new().mode(Mode::Max).patience(0);
    /// assert_eq!(plateau.step(0.8, 1.0), 1.0); // accuracy 0.8: the best so far
    /// assert_eq!(plateau.step(0.7, 1.0), 0.1); // lower: a bad epoch, past a patience of 0
    /// ```
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self.state.best = match mode {
            Mode::Min => f64::INFINITY,
            Mode::Max => f64::NEG_INFINITY,
        };
        self
    }

    /// The factor a cut multiplies the rate by (default 0.1).
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().factor(0.5).patience(0);
    /// plateau.step(1.0, 1.0);
    /// assert_eq!(plateau.step(1.0, 1.0), 0.5);
    /// ```
    ///
    /// # Panics
    ///
    /// If `factor` is not below 1 (or is NaN), as PyTorch raises.
    #[track_caller]
    pub fn factor(mut self, factor: f64) -> Self {
        assert!(
            factor < 1.0,
            "`ReduceLROnPlateau`'s `factor` is `{factor}`, but it must be below 1"
        );
        self.factor = factor;
        self
    }

    /// The number of epochs without improvement to put up with before a cut (default 10):
    /// the rate is cut at the `patience + 1`-th.
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().patience(1);
    /// let rates: Vec<f64> = [3.0, 3.0, 3.0].iter().map(|&loss| plateau.step(loss, 1.0)).collect();
    /// assert_eq!(rates, [1.0, 1.0, 0.1]);
    /// ```
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// How much better a metric must be to count as an improvement (default 10⁻⁴,
    /// [`ThresholdMode::Rel`]).
    ///
    /// ```
    /// use chainrule::optim::schedule::{ReduceLROnPlateau, ThresholdMode};
    /// let mut plateau = ReduceLROnPlateau::new().threshold(0.05, ThresholdMode::Abs).patience(0);
    /// plateau.step(1.0, 1.0);
    /// assert_eq!(plateau.step(0.96, 1.0), 0.1); // better by 0.04 only: a bad epoch
    /// ```
    pub fn threshold(mut self, threshold: f64, threshold_mode: ThresholdMode) -> Self {
        self.threshold = threshold;
        self.threshold_mode = threshold_mode;
        self
    }

    /// The number of epochs after a cut during which bad epochs are not counted (default 0).
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().patience(0).cooldown(2);
    /// let mut lr = 1.0;
    /// let rates: Vec<f64> = (0..5).map(|_| { lr = plateau.step(5.0, lr); lr }).collect();
    /// // A cut, two epochs of cooldown, then the next bad epoch cuts again.
    /// assert_eq!(rates[..4], [1.0, 0.1, 0.1, 0.1]);
    /// assert!((rates[4] - 0.01).abs() < 1e-15);
    /// ```
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The rate is never cut below `min_lr` (default 0).
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().patience(0).min_lr(0.05);
    /// plateau.step(1.0, 1.0);
    /// assert_eq!(plateau.step(1.0, 0.2), 0.05);
    /// ```
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }

    /// A cut smaller than `eps` (default 10⁻⁸) is skipped.
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().patience(0).eps(0.5);
    /// plateau.step(1.0, 1.0);
    /// assert_eq!(plateau.step(1.0, 0.4), 0.4); // 0.4 → 0.04 would cut by less than 0.5
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Takes the metric of the epoch just finished and the optimizer's rate, and returns the
    /// rate for the next epoch: `lr`, or `lr` cut, as PyTorch's `step(metrics)`.
    ///
    /// A NaN metric is never better than the best, so it counts as a bad epoch, as in PyTorch.
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// let mut plateau = ReduceLROnPlateau::new().patience(0);
    /// assert_eq!(plateau.step(1.0, 0.5), 0.5);
    /// assert_eq!(plateau.step(0.5, 0.5), 0.5); // improved
    /// assert_eq!(plateau.step(f64::NAN, 0.5), 0.05);
    /// ```
    pub fn step<T: Real>(&mut self, metric: T, lr: T) -> T {
        let current = metric.to_f64();
        let better = self.is_better(current);
        let state = &mut self.state;
        if better {
            state.best = current;
            state.num_bad_epochs = 0;
        } else {
            state.num_bad_epochs += 1;
        }
        if state.cooldown_counter > 0 {
            state.cooldown_counter -= 1;
            state.num_bad_epochs = 0;
        }
        if state.num_bad_epochs <= self.patience {
            return lr;
        }
        state.cooldown_counter = self.cooldown;
        state.num_bad_epochs = 0;
        self.cut(lr)
    }

    /// What has been accumulated: the best metric and the two counters.
    ///
    /// ```
    /// use chainrule::optim::schedule::ReduceLROnPlateau;
    /// assert_eq!(ReduceLROnPlateau::new().state().best, f64::INFINITY);
    /// ```
    pub fn state(&self) -> PlateauState {
        self.state
    }

    /// Restores what [`state`](ReduceLROnPlateau::state) returned, so stepping goes on as it
    /// would have.
    ///
    /// ```
    /// use chainrule::optim::schedule::{PlateauState, ReduceLROnPlateau};
    /// let mut plateau = ReduceLROnPlateau::new().patience(3);
    /// plateau.load_state(PlateauState { best: 1.0, num_bad_epochs: 3, cooldown_counter: 0 });
    /// assert_eq!(plateau.step(1.0, 1.0), 0.1);
    /// ```
    pub fn load_state(&mut self, state: PlateauState) {
        self.state = state;
    }

    /// PyTorch's `_is_better(current, best)`.
    fn is_better(&self, current: f64) -> bool {
        let (best, threshold) = (self.state.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (Mode::Min, ThresholdMode::Rel) => current < best * (1.0 - threshold),
            (Mode::Min, ThresholdMode::Abs) => current < best - threshold,
            (Mode::Max, ThresholdMode::Rel) => current > best * (threshold + 1.0),
            (Mode::Max, ThresholdMode::Abs) => current > best + threshold,
        }
    }

    /// PyTorch's `_reduce_lr`: `max(lr·factor, min_lr)`, unless that changes `lr` by `eps` or
    /// less.
    fn cut<T: Real>(&self, lr: T) -> T {
        let old_lr = lr.to_f64();
        let new_lr = (old_lr * self.factor).max(self.min_lr);
        if old_lr - new_lr > self.eps {
            T::from_f64(new_lr)
        } else {
            lr
        }
    }
}
