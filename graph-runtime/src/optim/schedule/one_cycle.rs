//! [`OneCycleLR`]: PyTorch's 1cycle policy, the rate up to `max_lr` and down far below where
//! it started, the momentum the other way, as a pure function of the step.

use std::f64::consts::PI;

use super::Schedule;
use crate::Real;

/// How [`OneCycleLR`] moves between two values: PyTorch's `anneal_strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine, `'cos'`: PyTorch's default.
    #[default]
    Cos,
    /// A straight line, `'linear'`.
    Linear,
}

impl Anneal {
    /// From `start` to `end` as `pct` goes from 0 to 1, in PyTorch's arithmetic
    /// (`_annealing_cos`, `_annealing_linear`).
    fn between(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The 1cycle policy of Smith & Topin (2017): PyTorch's `OneCycleLR`, stepped once per batch.
///
/// With PyTorch's defaults, the rate rises from `max_lr / 25` to `max_lr` over the first 30%
/// of `total_steps` and anneals to `max_lr / 25 / 10⁴` by the last step, each along half a
/// cosine; the momentum moves the other way, from 0.95 down to 0.85 and back. With
/// [`three_phase`](OneCycleLR::three_phase), the rate goes back down to `max_lr / 25`
/// symmetrically before a third phase anneals it to the minimum, as in the paper.
///
/// As in PyTorch, the optimizer's own rate is not used: `max_lr` sets the cycle, and `lr`
/// ignores its `base_lr`. Past the last step, `total_steps − 1`, the rate stays at the minimum
/// (PyTorch raises an error after stepping past `total_steps`). The momentum comes from
/// [`Schedule::momentum`]: set it on the optimizer along with the rate.
///
/// ```
/// use chainrule::optim::schedule::{OneCycleLR, Schedule};
/// use chainrule::optim::{Optimizer, Sgd};
///
/// let total_steps = 100;
/// let schedule = OneCycleLR::new(0.1, total_steps);
/// let mut sgd = Sgd::new(0.1);
/// let mut x = 1.0_f64;
/// for step in 0..total_steps {
///     sgd.set_lr(schedule.lr(sgd.lr(), step));
///     if let Some(momentum) = schedule.momentum(step) {
///         sgd = sgd.momentum(momentum); // PyTorch's `group["momentum"] = ...`
///     }
///     let grad = 2.0 * x;
///     sgd.step(&mut x, &grad);
/// }
/// assert!((schedule.lr(1.0_f64, 0) - 0.1 / 25.0).abs() < 1e-15);
/// assert_eq!(schedule.lr(1.0, 29), 0.1); // the peak, at 30% of the steps
/// assert!((schedule.lr(1.0_f64, 99) - 0.1 / 25.0 / 1e4).abs() < 1e-18);
/// // PyTorch 2.15's `SGD(momentum=0.9)` with `OneCycleLR(max_lr=0.1, total_steps=100)` on
/// // the same x² ends at the same point, to rounding.
/// assert!((x - -0.005_923_989_484_169_402).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycleLR {
    max_lr: f64,
    total_steps: usize,
    pct_start: f64,
    anneal: Anneal,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
}

/// One phase of the cycle: where it ends and what it anneals between, `(lr, momentum)`.
#[derive(Clone, Copy)]
struct Phase {
    end_step: f64,
    start: (f64, f64),
    end: (f64, f64),
}

impl OneCycleLR {
    /// A cycle peaking at `max_lr` over `total_steps` optimizer steps (PyTorch's
    /// `total_steps`, or `epochs * steps_per_epoch`), with PyTorch's defaults: `pct_start`
    /// 0.3, cosine annealing, momentum cycled between 0.85 and 0.95, `div_factor` 25,
    /// `final_div_factor` 10⁴, two phases.
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let (epochs, steps_per_epoch) = (10, 50);
    /// let schedule = OneCycleLR::new(0.01, epochs * steps_per_epoch);
    /// assert_eq!(schedule.lr(0.0_f32, 149), 0.01); // 0.3 · 500 − 1
    /// ```
    ///
    /// # Panics
    ///
    /// If `total_steps` is 0, as PyTorch raises.
    #[track_caller]
    pub fn new(max_lr: f64, total_steps: usize) -> Self {
        assert!(
            total_steps > 0,
            "`OneCycleLR` needs a `total_steps` of at least 1"
        );
        OneCycleLR {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal: Anneal::Cos,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
        }
    }

    /// The fraction of the steps spent raising the rate (default 0.3).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).pct_start(0.5);
    /// assert_eq!(schedule.lr(0.0, 49), 1.0);
    /// ```
    ///
    /// # Panics
    ///
    /// As PyTorch raises, if `pct_start` is not in [0, 1]; and if `pct_start · total_steps`
    /// is exactly 1, which makes the first phase end where it starts (PyTorch divides by
    /// zero at its first step).
    #[track_caller]
    pub fn pct_start(mut self, pct_start: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&pct_start),
            "`OneCycleLR`'s `pct_start` is `{pct_start}`, but it must be in [0, 1]"
        );
        assert!(
            pct_start * self.total_steps as f64 != 1.0,
            "`OneCycleLR`'s `pct_start` of `{pct_start}` gives a first phase of 0 steps \
             over {} steps",
            self.total_steps
        );
        self.pct_start = pct_start;
        self
    }

    /// How the rate and momentum move within a phase (default [`Anneal::Cos`]).
    ///
    /// ```
    /// use chainrule::optim::schedule::{Anneal, OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).pct_start(0.21).anneal_strategy(Anneal::Linear);
    /// // Halfway up from 1/25 to 1, at step 10 of 0 to 20.
    /// assert!((schedule.lr(0.0_f64, 10) - 0.52).abs() < 1e-15);
    /// ```
    pub fn anneal_strategy(mut self, anneal: Anneal) -> Self {
        self.anneal = anneal;
        self
    }

    /// The momentum at the rate's peak (default 0.85).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).base_momentum(0.8);
    /// assert_eq!(Schedule::<f64>::momentum(&schedule, 29), Some(0.8));
    /// ```
    pub fn base_momentum(mut self, base_momentum: f64) -> Self {
        self.base_momentum = base_momentum;
        self
    }

    /// The momentum where the rate is lowest, at the start and the end (default 0.95).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).max_momentum(0.99);
    /// assert_eq!(Schedule::<f64>::momentum(&schedule, 0), Some(0.99));
    /// assert_eq!(Schedule::<f64>::momentum(&schedule, 99), Some(0.99));
    /// ```
    pub fn max_momentum(mut self, max_momentum: f64) -> Self {
        self.max_momentum = max_momentum;
        self
    }

    /// Whether to cycle the momentum (default `true`); without, [`Schedule::momentum`] is
    /// `None` and the optimizer keeps its own.
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).cycle_momentum(false);
    /// assert_eq!(Schedule::<f64>::momentum(&schedule, 0), None);
    /// ```
    pub fn cycle_momentum(mut self, cycle_momentum: bool) -> Self {
        self.cycle_momentum = cycle_momentum;
        self
    }

    /// The initial rate is `max_lr / div_factor` (default 25).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).div_factor(10.0);
    /// // PyTorch's arithmetic, rounding included: 1 + (0.1 − 1)/2·2 is not quite 0.1.
    /// assert_eq!(schedule.lr(0.0, 0), 0.09999999999999998);
    /// ```
    pub fn div_factor(mut self, div_factor: f64) -> Self {
        self.div_factor = div_factor;
        self
    }

    /// The final rate is the initial one over `final_div_factor` (default 10⁴).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).div_factor(10.0).final_div_factor(100.0);
    /// assert_eq!(schedule.lr(0.0, 99), 0.001);
    /// ```
    pub fn final_div_factor(mut self, final_div_factor: f64) -> Self {
        self.final_div_factor = final_div_factor;
        self
    }

    /// With `true`, three phases, as in the paper: up to `max_lr`, back down to the initial
    /// rate over as many steps, then down to the minimum (default `false`, fastai's two).
    ///
    /// ```
    /// use chainrule::optim::schedule::{OneCycleLR, Schedule};
    /// let schedule = OneCycleLR::new(1.0, 100).three_phase(true);
    /// assert_eq!(schedule.lr(0.0, 29), 1.0);
    /// assert_eq!(schedule.lr(0.0, 58), 0.04); // 2 · 0.3 · 100 − 2
    /// ```
    pub fn three_phase(mut self, three_phase: bool) -> Self {
        self.three_phase = three_phase;
        self
    }

    /// The phases, as PyTorch's `_schedule_phases`, and how many there are (two phases
    /// leave the third entry unused).
    fn phases(&self) -> ([Phase; 3], usize) {
        let total = self.total_steps as f64;
        let initial_lr = self.max_lr / self.div_factor;
        let min_lr = initial_lr / self.final_div_factor;
        let (base_momentum, max_momentum) = (self.base_momentum, self.max_momentum);
        let up = Phase {
            end_step: self.pct_start * total - 1.0,
            start: (initial_lr, max_momentum),
            end: (self.max_lr, base_momentum),
        };
        let last_step = total - 1.0;
        if self.three_phase {
            let down = Phase {
                end_step: 2.0 * self.pct_start * total - 2.0,
                start: (self.max_lr, base_momentum),
                end: (initial_lr, max_momentum),
            };
            let annihilate = Phase {
                end_step: last_step,
                start: (initial_lr, max_momentum),
                end: (min_lr, max_momentum),
            };
            ([up, down, annihilate], 3)
        } else {
            let down = Phase {
                end_step: last_step,
                start: (self.max_lr, base_momentum),
                end: (min_lr, max_momentum),
            };
            ([up, down, down], 2)
        }
    }

    /// The rate and the momentum at `step`: PyTorch's `get_lr`, the first phase whose end is
    /// not before `step` (or the last), annealed by the fraction of it done.
    fn at(&self, step: usize) -> (f64, f64) {
        let (phases, n_phases) = self.phases();
        let phases = &phases[..n_phases];
        let step = step.min(self.total_steps - 1) as f64;
        let index = phases
            .iter()
            .position(|phase| step <= phase.end_step)
            .unwrap_or(n_phases - 1);
        let start_step = match index {
            0 => 0.0,
            _ => phases[index - 1].end_step,
        };
        let phase = phases[index];
        let pct = (step - start_step) / (phase.end_step - start_step);
        (
            self.anneal.between(phase.start.0, phase.end.0, pct),
            self.anneal.between(phase.start.1, phase.end.1, pct),
        )
    }
}

impl<T: Real> Schedule<T> for OneCycleLR {
    fn lr(&self, _base_lr: T, step: usize) -> T {
        T::from_f64(self.at(step).0)
    }

    fn momentum(&self, step: usize) -> Option<T> {
        self.cycle_momentum.then(|| T::from_f64(self.at(step).1))
    }
}
