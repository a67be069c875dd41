//! Learning-rate schedules: PyTorch's `torch.optim.lr_scheduler`. Never touches an optimizer;
//! training code calls [`Optimizer::set_lr`](super::Optimizer::set_lr) with what a schedule
//! returns.
//!
//! A [`Schedule`] is a pure function of the step index, PyTorch's closed forms: `StepLR`,
//! [`MultiStepLR`], `ExponentialLR`, `CosineAnnealingLR`, `LinearLR`, `SequentialLR` and
//! [`OneCycleLR`], which also cycles the momentum ([`Schedule::momentum`]). It keeps no
//! state, so resuming from a checkpoint needs only the step count. Step `k` here is PyTorch's
//! `last_epoch` after `k` calls to `scheduler.step()`: the first optimizer step uses
//! `lr(base_lr, 0)`. Like PyTorch's Python floats, the factors are computed in `f64` and
//! rounded to `T` at the end, so for `f64` they agree with PyTorch's closed forms
//! (`_get_closed_form_lr`) to the last bit.
//!
//! [`ReduceLROnPlateau`] is the exception: it follows a validation metric, so it keeps state
//! and is stepped once per epoch with the metric and the current rate.
//!
//! ```
//! use chainrule::optim::schedule::{CosineAnnealingLR, LinearLR, Schedule, SequentialLR};
//! use chainrule::optim::{Optimizer, Sgd};
//!
//! // Warm up over 10 steps from a tenth of the base rate, then anneal to 0 over 90.
//! let schedule = SequentialLR::new(LinearLR::warmup(0.1, 10), 10, CosineAnnealingLR::new(90, 0.0));
//! let base_lr = 0.5;
//! let (mut x, mut sgd) = (1.0_f64, Sgd::new(base_lr));
//! for _ in 0..100 {
//!     sgd.set_lr(schedule.lr(base_lr, sgd.step_count()));
//!     let grad = 2.0 * x;
//!     sgd.step(&mut x, &grad);
//! }
//! assert!((schedule.lr(base_lr, 0) - 0.05).abs() < 1e-15);
//! assert_eq!(schedule.lr(base_lr, 10), 0.5);
//! assert!(x.abs() < 1e-9);
//! ```

mod one_cycle;
mod plateau;

pub use one_cycle::{Anneal, OneCycleLR};
pub use plateau::{Mode, PlateauState, ReduceLROnPlateau, ThresholdMode};

use crate::Real;

/// A learning rate as a function of the step index: PyTorch's `LRScheduler`, without state.
///
/// ```
/// use chainrule::optim::schedule::Schedule;
///
/// /// Halves the rate every 10 steps, without a lower bound.
/// struct Halving;
/// impl Schedule<f64> for Halving {
///     fn lr(&self, base_lr: f64, step: usize) -> f64 {
///         base_lr * 0.5f64.powi((step / 10) as i32)
///     }
/// }
/// assert_eq!(Halving.lr(1.0, 25), 0.25);
/// ```
pub trait Schedule<T: Real> {
    /// The learning rate of step `step` (0 for the first step), given the rate the optimizer
    /// was built with.
    fn lr(&self, base_lr: T, step: usize) -> T;

    /// The momentum of step `step`, for a schedule that cycles it ([`OneCycleLR`]), else
    /// `None` (the default): the optimizer keeps its own.
    ///
    /// It is SGD's `momentum` or Adam's β₁, whichever the optimizer has, as PyTorch writes
    /// `group["momentum"]` or `group["betas"][0]`: before step `step`, training code sets
    /// `Sgd::momentum(m)` or `Adam::betas(m, beta2)` with it, as it sets the rate.
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule, StepLR};
    /// assert_eq!(Schedule::<f64>::momentum(&StepLR::new(10, 0.5), 3), None);
    /// assert_eq!(Schedule::<f64>::momentum(&OneCycleLR::new(0.1, 100), 0), Some(0.95));
    /// ```
    fn momentum(&self, step: usize) -> Option<T> {
        let _ = step;
        None
    }
}

impl<T: Real, S: Schedule<T> + ?Sized> Schedule<T> for &S {
    fn lr(&self, base_lr: T, step: usize) -> T {
        (**self).lr(base_lr, step)
    }
    fn momentum(&self, step: usize) -> Option<T> {
        (**self).momentum(step)
    }
}

impl<T: Real, S: Schedule<T> + ?Sized> Schedule<T> for Box<S> {
    fn lr(&self, base_lr: T, step: usize) -> T {
        (**self).lr(base_lr, step)
    }
    fn momentum(&self, step: usize) -> Option<T> {
        (**self).momentum(step)
    }
}

/// Decays the rate by `gamma` every `step_size` steps: PyTorch's `StepLR`,
/// `base_lr · gamma^⌊step / step_size⌋`.
///
/// ```
/// use chainrule::optim::schedule::{Schedule, StepLR};
/// let schedule = StepLR::new(30, 0.1);
/// assert_eq!(schedule.lr(0.05, 29), 0.05);
/// assert_eq!(schedule.lr(0.05, 30), 0.05 * 0.1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLR {
    step_size: usize,
    gamma: f64,
}

impl StepLR {
    /// Multiplies the rate by `gamma` (PyTorch's default is 0.1) every `step_size` steps.
    ///
    /// ```
    /// use chainrule::optim::schedule::{Schedule, StepLR};
    /// assert_eq!(StepLR::new(2, 0.5).lr(1.0_f32, 5), 0.25);
    /// ```
    ///
    /// # Panics
    ///
    /// If `step_size` is 0.
    #[track_caller]
    pub fn new(step_size: usize, gamma: f64) -> Self {
        assert!(step_size > 0, "`StepLR` needs a `step_size` of at least 1");
        StepLR { step_size, gamma }
    }
}

impl<T: Real> Schedule<T> for StepLR {
    fn lr(&self, base_lr: T, step: usize) -> T {
        let exponent = (step / self.step_size) as f64;
        T::from_f64(base_lr.to_f64() * self.gamma.powf(exponent))
    }
}

/// Decays the rate by `gamma` at each milestone: PyTorch's `MultiStepLR`,
/// `base_lr · gamma^(the number of milestones ≤ step)`.
///
/// ```
/// use chainrule::optim::schedule::{MultiStepLR, Schedule};
/// let schedule = MultiStepLR::new([30, 80], 0.1);
/// assert_eq!(schedule.lr(0.05, 29), 0.05);
/// assert_eq!(schedule.lr(0.05, 30), 0.05 * 0.1);
/// assert_eq!(schedule.lr(0.05, 80), 0.05 * 0.1f64.powi(2));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiStepLR {
    /// Sorted; a repeated milestone decays twice there, as in PyTorch's `Counter`.
    milestones: Vec<usize>,
    gamma: f64,
}

impl MultiStepLR {
    /// Multiplies the rate by `gamma` (PyTorch's default is 0.1) at each of `milestones`, in
    /// any order.
    ///
    /// ```
    /// use chainrule::optim::schedule::{MultiStepLR, Schedule};
    /// let schedule = MultiStepLR::new(vec![4, 2, 2], 0.5);
    /// let rates: Vec<f64> = (0..6).map(|step| schedule.lr(1.0, step)).collect();
    /// assert_eq!(rates, [1.0, 1.0, 0.25, 0.25, 0.125, 0.125]);
    /// ```
    pub fn new(milestones: impl IntoIterator<Item = usize>, gamma: f64) -> Self {
        let mut milestones: Vec<usize> = milestones.into_iter().collect();
        milestones.sort_unstable();
        MultiStepLR { milestones, gamma }
    }
}

impl<T: Real> Schedule<T> for MultiStepLR {
    fn lr(&self, base_lr: T, step: usize) -> T {
        // PyTorch's `bisect_right(milestones, last_epoch)`.
        let passed = self
            .milestones
            .partition_point(|&milestone| milestone <= step);
        T::from_f64(base_lr.to_f64() * self.gamma.powf(passed as f64))
    }
}

/// Decays the rate by `gamma` every step: PyTorch's `ExponentialLR`, `base_lr · gamma^step`.
///
/// ```
/// use chainrule::optim::schedule::{ExponentialLR, Schedule};
/// let schedule = ExponentialLR::new(0.5);
/// assert_eq!(schedule.lr(1.0, 3), 0.125);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialLR {
    gamma: f64,
}

impl ExponentialLR {
    /// Multiplies the rate by `gamma` every step.
    ///
    /// ```
    /// use chainrule::optim::schedule::{ExponentialLR, Schedule};
    /// assert_eq!(ExponentialLR::new(0.9).lr(2.0, 0), 2.0);
    /// ```
    pub fn new(gamma: f64) -> Self {
        ExponentialLR { gamma }
    }
}

impl<T: Real> Schedule<T> for ExponentialLR {
    fn lr(&self, base_lr: T, step: usize) -> T {
        T::from_f64(base_lr.to_f64() * self.gamma.powf(step as f64))
    }
}

/// Anneals the rate from `base_lr` to `eta_min` along half a cosine over `t_max` steps:
/// PyTorch's `CosineAnnealingLR` in its closed form,
/// `eta_min + (base_lr − eta_min)·(1 + cos(π·step/t_max))/2`.
///
/// As in PyTorch, the cosine goes on past `t_max`, so the rate rises again towards `base_lr`
/// at `2·t_max`; train for `t_max` steps, or follow it with another schedule in a
/// [`SequentialLR`].
///
/// ```
/// use chainrule::optim::schedule::{CosineAnnealingLR, Schedule};
/// let schedule = CosineAnnealingLR::new(100, 0.001);
/// assert_eq!(schedule.lr(0.1, 0), 0.1);
/// assert!((schedule.lr(0.1_f64, 50) - 0.0505).abs() < 1e-15);
/// assert_eq!(schedule.lr(0.1, 100), 0.001);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealingLR {
    /// Anneals to `eta_min` (PyTorch's default is 0) in `t_max` steps.
    ///
    /// ```
    /// use chainrule::optim::schedule::{CosineAnnealingLR, Schedule};
    /// assert_eq!(CosineAnnealingLR::new(10, 0.0).lr(1.0, 10), 0.0);
    /// ```
    ///
    /// # Panics
    ///
    /// If `t_max` is 0.
    #[track_caller]
    pub fn new(t_max: usize, eta_min: f64) -> Self {
        assert!(
            t_max > 0,
            "`CosineAnnealingLR` needs a `t_max` of at least 1"
        );
        CosineAnnealingLR { t_max, eta_min }
    }
}

impl<T: Real> Schedule<T> for CosineAnnealingLR {
    fn lr(&self, base_lr: T, step: usize) -> T {
        let eta_min = self.eta_min;
        let cosine = (std::f64::consts::PI * step as f64 / self.t_max as f64).cos();
        T::from_f64(eta_min + (base_lr.to_f64() - eta_min) * (1.0 + cosine) / 2.0)
    }
}

/// Scales the rate by a factor that moves linearly from `start_factor` to `end_factor` over
/// `total_iters` steps, then stays: PyTorch's `LinearLR`,
/// `base_lr · (start + (end − start)·min(step, total_iters)/total_iters)`.
///
/// Its usual use is a warm-up, [`LinearLR::warmup`].
///
/// ```
/// use chainrule::optim::schedule::{LinearLR, Schedule};
/// let schedule = LinearLR::new(0.5, 1.0, 4);
/// let factors: Vec<f64> = (0..6).map(|step| schedule.lr(1.0, step)).collect();
/// assert_eq!(factors, [0.5, 0.625, 0.75, 0.875, 1.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearLR {
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
}

impl LinearLR {
    /// Moves the factor from `start_factor` to `end_factor` in `total_iters` steps (PyTorch's
    /// defaults are 1/3, 1 and 5).
    ///
    /// ```
    /// use chainrule::optim::schedule::{LinearLR, Schedule};
    /// // A linear decay to a tenth.
    /// assert!((LinearLR::new(1.0, 0.1, 10).lr(2.0_f64, 10) - 0.2).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    ///
    /// As PyTorch raises: if `start_factor` is not in (0, 1], `end_factor` not in [0, 1], or
    /// `total_iters` is 0.
    #[track_caller]
    pub fn new(start_factor: f64, end_factor: f64, total_iters: usize) -> Self {
        assert!(
            start_factor > 0.0 && start_factor <= 1.0,
            "`LinearLR`'s `start_factor` is `{start_factor}`, but it must be in (0, 1]"
        );
        assert!(
            (0.0..=1.0).contains(&end_factor),
            "`LinearLR`'s `end_factor` is `{end_factor}`, but it must be in [0, 1]"
        );
        assert!(
            total_iters > 0,
            "`LinearLR` needs a `total_iters` of at least 1"
        );
        LinearLR {
            start_factor,
            end_factor,
            total_iters,
        }
    }

    /// A linear warm-up: from `start_factor`·`base_lr` to `base_lr` in `warmup_steps` steps,
    /// `LinearLR::new(start_factor, 1.0, warmup_steps)`.
    ///
    /// ```
    /// use chainrule::optim::schedule::{LinearLR, Schedule};
    /// let warmup = LinearLR::warmup(0.25, 3);
    /// let rates: Vec<f64> = (0..5).map(|step| warmup.lr(0.5, step)).collect();
    /// assert_eq!(rates, [0.125, 0.25, 0.375, 0.5, 0.5]);
    ///
    /// // PyTorch's arithmetic, rounding included: 0.1 + 0.9·9/9 is not quite 1.
    /// assert_eq!(LinearLR::warmup(0.1, 9).lr(1.0, 9), 0.9999999999999999);
    /// ```
    ///
    /// # Panics
    ///
    /// As [`LinearLR::new`].
    #[track_caller]
    pub fn warmup(start_factor: f64, warmup_steps: usize) -> Self {
        LinearLR::new(start_factor, 1.0, warmup_steps)
    }
}

impl<T: Real> Schedule<T> for LinearLR {
    fn lr(&self, base_lr: T, step: usize) -> T {
        let LinearLR {
            start_factor,
            end_factor,
            total_iters,
        } = *self;
        let progress = step.min(total_iters) as f64;
        let factor = start_factor + (end_factor - start_factor) * progress / total_iters as f64;
        T::from_f64(base_lr.to_f64() * factor)
    }
}

/// `first` for the steps before `milestone`, then `second`, restarted at its own step 0:
/// PyTorch's `SequentialLR` with two schedules. Nest it to chain more.
///
/// ```
/// use chainrule::optim::schedule::{ExponentialLR, LinearLR, Schedule, SequentialLR};
/// let schedule = SequentialLR::new(LinearLR::warmup(0.5, 2), 2, ExponentialLR::new(0.5));
/// let rates: Vec<f64> = (0..5).map(|step| schedule.lr(1.0, step)).collect();
/// assert_eq!(rates, [0.5, 0.75, 1.0, 0.5, 0.25]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequentialLR<First, Second> {
    first: First,
    milestone: usize,
    second: Second,
}

impl<First, Second> SequentialLR<First, Second> {
    /// Follows `first` up to step `milestone` (exclusive), then `second` from its step 0.
    ///
    /// ```
    /// use chainrule::optim::schedule::{Schedule, SequentialLR, StepLR};
    /// let schedule = SequentialLR::new(StepLR::new(1, 0.5), 3, StepLR::new(1, 0.1));
    /// assert_eq!(schedule.lr(1.0, 2), 0.25);
    /// assert_eq!(schedule.lr(1.0, 3), 1.0);
    /// ```
    pub fn new(first: First, milestone: usize, second: Second) -> Self {
        SequentialLR {
            first,
            milestone,
            second,
        }
    }
}

impl<T: Real, First: Schedule<T>, Second: Schedule<T>> Schedule<T> for SequentialLR<First, Second> {
    fn lr(&self, base_lr: T, step: usize) -> T {
        match step.checked_sub(self.milestone) {
            Some(step_in_second) => self.second.lr(base_lr, step_in_second),
            None => self.first.lr(base_lr, step),
        }
    }
    fn momentum(&self, step: usize) -> Option<T> {
        match step.checked_sub(self.milestone) {
            Some(step_in_second) => self.second.momentum(step_in_second),
            None => self.first.momentum(step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_schedules_panic_as_pytorch_raises() {
        use std::panic::catch_unwind;
        assert!(catch_unwind(|| StepLR::new(0, 0.1)).is_err());
        assert!(catch_unwind(|| CosineAnnealingLR::new(0, 0.0)).is_err());
        assert!(catch_unwind(|| LinearLR::new(0.0, 1.0, 5)).is_err());
        assert!(catch_unwind(|| LinearLR::new(1.5, 1.0, 5)).is_err());
        assert!(catch_unwind(|| LinearLR::new(0.5, -0.1, 5)).is_err());
        assert!(catch_unwind(|| LinearLR::warmup(0.5, 0)).is_err());
        assert!(catch_unwind(|| LinearLR::new(f64::NAN, 1.0, 5)).is_err());
    }

    #[test]
    fn the_cosine_rises_again_after_t_max_as_in_pytorch() {
        let schedule = CosineAnnealingLR::new(10, 0.0);
        let lr = |step| Schedule::<f64>::lr(&schedule, 1.0, step);
        assert!(lr(15) > lr(10));
        assert_eq!(lr(20), 1.0);
    }

    #[test]
    fn a_boxed_schedule_is_a_schedule() {
        let boxed: Box<dyn Schedule<f32>> = Box::new(ExponentialLR::new(0.5));
        assert_eq!(boxed.lr(1.0, 2), 0.25);
        fn at_step_one<S: Schedule<f32>>(schedule: S) -> f32 {
            schedule.lr(1.0, 1)
        }
        assert_eq!(at_step_one(&boxed), 0.5);
    }
}
