//! [`Sgd`]: PyTorch's `torch.optim.SGD`, with momentum, dampening, Nesterov, weight decay and
//! maximize. Sees only `Parameters`.

use super::walk::{flush_subnormal, for_each_element, specialise, walk};
use super::{check_non_negative, sized_buffer, Optimizer, OptimizerState};
use crate::{Parameters, Real, Result};

/// Stochastic gradient descent, optionally with momentum: PyTorch's `torch.optim.SGD`.
///
/// Defaults are PyTorch's: momentum 0, dampening 0, no Nesterov, weight decay 0, minimising.
/// The algorithm (PyTorch's docs, `pytorch/pytorch: torch/optim/sgd.py`), for each step t ≥ 1:
///
/// ```text
/// g ← −∇f(θ) if maximize, else ∇f(θ)
/// if λ ≠ 0:  g ← g + λ·θ                          (weight decay)
/// if μ ≠ 0:  b ← g at t = 1, else μ·b + (1 − τ)·g  (momentum, dampening τ)
///            g ← g + μ·b if nesterov, else b
/// θ ← θ − γ·g
/// ```
///
/// The momentum buffer `b` starts as the first gradient, so dampening does not apply to the
/// first step.
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::optim::{Optimizer, Sgd};
///
/// let mut w = SVector::<f64, 4>::repeat(1.0);
/// let mut sgd = Sgd::new(0.1).momentum(0.9);
/// for _ in 0..300 {
///     let grad = 2.0 * w; // minimise |w|²
///     sgd.step(&mut w, &grad);
/// }
/// assert!(w.norm() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T: Real> {
    lr: T,
    momentum: T,
    dampening: T,
    weight_decay: T,
    nesterov: bool,
    maximize: bool,
    step: usize,
    /// One value per parameter scalar; `None` until the first step with momentum.
    momentum_buffer: Option<Vec<T>>,
}

impl<T: Real> Sgd<T> {
    /// Plain SGD with learning rate `lr`; `T` is inferred from the first step.
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let mut x = 1.0_f64;
    /// let mut sgd = Sgd::new(0.25);
    /// sgd.step(&mut x, &2.0);
    /// assert_eq!(x, 0.5); // 1 − 0.25·2
    /// ```
    ///
    /// # Panics
    ///
    /// If `lr` is negative or NaN.
    #[track_caller]
    pub fn new(lr: T) -> Self {
        check_non_negative("learning rate", lr);
        Sgd {
            lr,
            momentum: T::ZERO,
            dampening: T::ZERO,
            weight_decay: T::ZERO,
            nesterov: false,
            maximize: false,
            step: 0,
            momentum_buffer: None,
        }
    }

    /// Sets the momentum factor μ (default 0, no momentum).
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let (mut x, mut sgd) = (0.0_f64, Sgd::new(1.0).momentum(0.5));
    /// sgd.step(&mut x, &1.0); // b = 1
    /// sgd.step(&mut x, &1.0); // b = 0.5·1 + 1
    /// assert_eq!(x, -2.5);
    /// ```
    ///
    /// # Panics
    ///
    /// If `momentum` is negative or NaN.
    #[track_caller]
    pub fn momentum(mut self, momentum: T) -> Self {
        check_non_negative("momentum value", momentum);
        self.momentum = momentum;
        self
    }

    /// Sets the dampening τ (default 0): from the second step on, the buffer adds (1 − τ)·g.
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let (mut x, mut sgd) = (0.0_f64, Sgd::new(1.0).momentum(0.5).dampening(0.5));
    /// sgd.step(&mut x, &1.0); // b = 1: no dampening on the first step
    /// sgd.step(&mut x, &1.0); // b = 0.5·1 + 0.5·1
    /// assert_eq!(x, -2.0);
    /// ```
    pub fn dampening(mut self, dampening: T) -> Self {
        self.dampening = dampening;
        self
    }

    /// Uses Nesterov momentum (default off): the step is g + μ·b instead of b.
    ///
    /// It needs a positive momentum and zero dampening, as in PyTorch. Builder calls come in
    /// any order, so this is checked when stepping.
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let (mut x, mut sgd) = (0.0_f64, Sgd::new(1.0).momentum(0.5).nesterov(true));
    /// sgd.step(&mut x, &1.0); // b = 1, step 1 + 0.5·1
    /// assert_eq!(x, -1.5);
    /// ```
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the weight decay λ (default 0): an L2 penalty, λ·θ added to the gradient.
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let (mut x, mut sgd) = (2.0_f64, Sgd::new(0.5).weight_decay(0.5));
    /// sgd.step(&mut x, &0.0);
    /// assert_eq!(x, 1.5); // 2 − 0.5·(0 + 0.5·2)
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: T) -> Self {
        check_non_negative("weight_decay value", weight_decay);
        self.weight_decay = weight_decay;
        self
    }

    /// Maximises the objective instead of minimising it (default off): the gradient is negated
    /// before anything else, as in PyTorch.
    ///
    /// ```
    /// use chainrule::optim::{Optimizer, Sgd};
    /// let (mut x, mut sgd) = (0.0_f64, Sgd::new(0.5).maximize(true));
    /// sgd.step(&mut x, &2.0);
    /// assert_eq!(x, 1.0); // uphill
    /// ```
    pub fn maximize(mut self, maximize: bool) -> Self {
        self.maximize = maximize;
        self
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    /// One step of SGD.
    ///
    /// # Panics
    ///
    /// As [`Optimizer::step`], and if Nesterov momentum is on without a positive momentum or
    /// with dampening (PyTorch rejects that in its constructor).
    fn step<P: Parameters<T> + ?Sized>(&mut self, params: &mut P, grads: &P) {
        assert!(
            !self.nesterov || (self.momentum > T::ZERO && self.dampening == T::ZERO),
            "Nesterov momentum requires a momentum and zero dampening, but momentum is `{}` \
             and dampening `{}`",
            self.momentum,
            self.dampening,
        );
        let constants = SgdConstants {
            neg_lr: -self.lr,
            weight_decay: self.weight_decay,
            momentum: self.momentum,
            // PyTorch computes `1 - dampening` in a Python float and rounds it to `T`.
            buffer_weight: T::from_f64(1.0 - self.dampening.to_f64()),
        };
        let (maximize, decay) = (self.maximize, self.weight_decay != T::ZERO);
        if self.momentum == T::ZERO {
            let tensor_loop = specialise!(plain_loop [T] [maximize, decay]);
            walk("Sgd", params, grads, [], &constants, tensor_loop);
        } else {
            let n_params = params.len();
            let buffer = &mut self.momentum_buffer;
            let (buffer, first) = sized_buffer(buffer, "momentum_buffer", n_params, "Sgd");
            let nesterov = self.nesterov;
            let tensor_loop = specialise!(momentum_loop [T] [maximize, decay, first, nesterov]);
            walk("Sgd", params, grads, [buffer], &constants, tensor_loop);
        }
        self.step += 1;
    }

    fn lr(&self) -> T {
        self.lr
    }

    #[track_caller]
    fn set_lr(&mut self, lr: T) {
        check_non_negative("learning rate", lr);
        self.lr = lr;
    }

    fn step_count(&self) -> usize {
        self.step
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState::collect(self.step, &[("momentum_buffer", &self.momentum_buffer)])
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let (step, [momentum_buffer]) =
            state.unpack([("momentum_buffer", self.momentum != T::ZERO)])?;
        self.step = step;
        self.momentum_buffer = momentum_buffer;
        Ok(())
    }
}

/// One step's constants, computed once per step.
#[derive(Clone, Copy)]
struct SgdConstants<T> {
    /// −γ.
    neg_lr: T,
    /// λ.
    weight_decay: T,
    /// μ.
    momentum: T,
    /// 1 − τ, the weight of the gradient in the buffer after the first step.
    buffer_weight: T,
}

// The arithmetic below is `_single_tensor_sgd`'s: `add(x, alpha=a)` is `self + a·x`, and the
// buffer update is `(b·μ) + (1 − τ)·g`. Each flag is a constant, so each configuration is its
// own branch-free loop.

/// The gradient as the update uses it: negated if maximising, plus λ·θ with weight decay.
#[inline(always)]
fn decayed_gradient<T: Real, const MAXIMIZE: bool, const DECAY: bool>(
    weight_decay: T,
    param: T,
    grad: T,
) -> T {
    let grad = if MAXIMIZE { -grad } else { grad };
    if DECAY {
        grad + weight_decay * param
    } else {
        grad
    }
}

/// SGD without momentum over one tensor.
fn plain_loop<T: Real, const MAXIMIZE: bool, const DECAY: bool>(
    constants: &SgdConstants<T>,
    params: &mut [T],
    grads: &[T],
    []: [&mut [T]; 0],
) {
    let SgdConstants {
        neg_lr,
        weight_decay,
        ..
    } = *constants;
    for_each_element(params, grads, [], |param, grad, []| {
        let grad = decayed_gradient::<T, MAXIMIZE, DECAY>(weight_decay, *param, grad);
        *param += neg_lr * grad;
    });
}

/// SGD with momentum over one tensor; `FIRST` on the buffer's first step, where it starts as
/// the gradient. Subnormal buffer values are flushed to zero (see the module docs).
fn momentum_loop<
    T: Real,
    const MAXIMIZE: bool,
    const DECAY: bool,
    const FIRST: bool,
    const NESTEROV: bool,
>(
    constants: &SgdConstants<T>,
    params: &mut [T],
    grads: &[T],
    [buffer]: [&mut [T]; 1],
) {
    let SgdConstants {
        neg_lr,
        weight_decay,
        momentum,
        buffer_weight,
    } = *constants;
    for_each_element(params, grads, [buffer], |param, grad, [buffer]| {
        // Both loads before the first store (see `for_each_element`).
        let (param_value, buffer_value) = (*param, *buffer);
        let grad = decayed_gradient::<T, MAXIMIZE, DECAY>(weight_decay, param_value, grad);
        let buffer_value = flush_subnormal(if FIRST {
            grad
        } else {
            buffer_value * momentum + buffer_weight * grad
        });
        *buffer = buffer_value;
        let grad = if NESTEROV {
            grad + momentum * buffer_value
        } else {
            buffer_value
        };
        *param = param_value + neg_lr * grad;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_momentum_step_is_the_gradient_and_later_ones_are_dampened() {
        let mut x = 0.0_f64;
        let mut sgd = Sgd::new(1.0).momentum(0.5).dampening(0.25);
        sgd.step(&mut x, &2.0);
        assert_eq!(x, -2.0);
        sgd.step(&mut x, &2.0); // b = 0.5·2 + 0.75·2 = 2.5
        assert_eq!(x, -4.5);
        assert_eq!(sgd.state().buffers["momentum_buffer"], vec![2.5]);
    }

    #[test]
    fn without_momentum_there_is_no_buffer() {
        let mut x = [1.0_f64, 2.0];
        let mut sgd = Sgd::new(0.5);
        for value in &mut x {
            sgd.step(value, &1.0);
        }
        assert_eq!(x, [0.5, 1.5]);
        assert!(sgd.state().buffers.is_empty());
        assert_eq!(sgd.step_count(), 2);
    }

    #[test]
    fn nesterov_without_momentum_panics_at_the_step() {
        let result = std::panic::catch_unwind(|| {
            let mut x = 0.0_f64;
            Sgd::new(0.1).nesterov(true).step(&mut x, &1.0);
        });
        assert!(result.is_err());
        let result = std::panic::catch_unwind(|| {
            let mut x = 0.0_f64;
            Sgd::new(0.1)
                .momentum(0.9)
                .dampening(0.1)
                .nesterov(true)
                .step(&mut x, &1.0);
        });
        assert!(result.is_err());
    }

    #[test]
    fn a_negative_learning_rate_panics() {
        assert!(std::panic::catch_unwind(|| Sgd::new(-0.1_f64)).is_err());
        assert!(std::panic::catch_unwind(|| Sgd::new(f64::NAN)).is_err());
        assert!(std::panic::catch_unwind(|| Sgd::new(0.1_f64).momentum(-0.9)).is_err());
        assert!(std::panic::catch_unwind(|| Sgd::new(0.1_f64).weight_decay(-1.0)).is_err());
        assert!(std::panic::catch_unwind(|| Sgd::new(0.1_f64).set_lr(-1.0)).is_err());
    }
}
