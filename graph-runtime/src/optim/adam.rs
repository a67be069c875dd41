//! [`Adam`] and [`AdamW`]: PyTorch's `torch.optim.Adam` and `torch.optim.AdamW`, one
//! algorithm that differs only in where weight decay applies. Sees only `Parameters`.

use super::walk::{flush_subnormal, for_each_element, specialise, walk};
use super::{check_non_negative, sized_buffer, Optimizer, OptimizerState};
use crate::{Parameters, Real, Result};

/// Adam: PyTorch's `torch.optim.Adam`, with its L2 weight decay added to the gradient.
///
/// Defaults are PyTorch's: betas (0.9, 0.999), eps 1e-8, weight decay 0, no AMSGrad,
/// minimising. The algorithm (PyTorch's docs, `pytorch/pytorch: torch/optim/adam.py`), for
/// each step t ≥ 1:
///
/// ```text
/// g ← −∇f(θ) if maximize, else ∇f(θ)
/// if λ ≠ 0:  g ← g + λ·θ
/// m ← β₁·m + (1 − β₁)·g
/// v ← β₂·v + (1 − β₂)·g²
/// if amsgrad: v_max ← max(v_max, v), and v_max replaces v below
/// θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
/// ```
///
/// PyTorch adds `eps` after dividing the root of the second moment by the root of its bias
/// correction, as written above. chainrule computes the last line as
/// θ − γ·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε·√(1 − β₂ᵗ)), the same number with one vector
/// division per element instead of PyTorch's two: divisions and the square root bound the
/// step's speed, and the results differ from PyTorch's by a rounding of the update only.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::optim::{Adam, Optimizer};
///
/// // Any parameter type steps: here a 2×2 matrix, towards the identity.
/// let mut w = SMatrix::<f64, 2, 2>::new(3.0, -1.0, 0.5, 2.0);
/// let mut adam = Adam::new(0.05);
/// for _ in 0..1000 {
///     let grad = 2.0 * (w - SMatrix::identity());
///     adam.step(&mut w, &grad);
/// }
/// assert!((w - SMatrix::identity()).norm() < 1e-3);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T: Real> {
    core: AdamCore<T>,
}

/// AdamW: PyTorch's `torch.optim.AdamW`, Adam with decoupled weight decay.
///
/// The parameters shrink by a factor 1 − γ·λ before the Adam update, instead of λ·θ joining
/// the gradient (PyTorch's docs, `pytorch/pytorch: torch/optim/adamw.py`):
///
/// ```text
/// g ← −∇f(θ) if maximize, else ∇f(θ)
/// θ ← θ − γ·λ·θ
/// m, v, v_max and the update of θ as in Adam
/// ```
///
/// Defaults are PyTorch's: betas (0.9, 0.999), eps 1e-8, **weight decay 1e-2**, no AMSGrad.
///
/// ```
/// use chainrule::optim::{AdamW, Optimizer};
///
/// // With a zero gradient only the decay acts: θ ← θ·(1 − γλ).
/// let mut x = 2.0_f64;
/// let mut adamw = AdamW::new(0.1);
/// adamw.step(&mut x, &0.0);
/// assert_eq!(x, 2.0 * (1.0 - 0.1 * 1e-2));
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<T: Real> {
    core: AdamCore<T>,
}

/// What `Adam` and `AdamW` share: hyperparameters, the step count and the three buffers.
#[derive(Clone, Debug)]
struct AdamCore<T> {
    lr: T,
    beta1: T,
    beta2: T,
    eps: T,
    weight_decay: T,
    amsgrad: bool,
    maximize: bool,
    step: usize,
    /// The first moment m, one value per parameter scalar; `None` before the first step.
    exp_avg: Option<Vec<T>>,
    /// The second moment v.
    exp_avg_sq: Option<Vec<T>>,
    /// AMSGrad's running maximum of v; only with `amsgrad`.
    max_exp_avg_sq: Option<Vec<T>>,
}

impl<T: Real> AdamCore<T> {
    #[track_caller]
    fn new(lr: T, weight_decay: T) -> Self {
        check_non_negative("learning rate", lr);
        AdamCore {
            lr,
            beta1: T::from_f64(0.9),
            beta2: T::from_f64(0.999),
            eps: T::from_f64(1e-8),
            weight_decay,
            amsgrad: false,
            maximize: false,
            step: 0,
            exp_avg: None,
            exp_avg_sq: None,
            max_exp_avg_sq: None,
        }
    }

    #[track_caller]
    fn betas(&mut self, beta1: T, beta2: T) {
        for (index, beta) in [beta1, beta2].into_iter().enumerate() {
            assert!(
                beta >= T::ZERO && beta < T::ONE,
                "invalid beta parameter at index {index} `{beta}`: it must be in [0, 1)"
            );
        }
        (self.beta1, self.beta2) = (beta1, beta2);
    }

    #[track_caller]
    fn eps(&mut self, eps: T) {
        check_non_negative("epsilon value", eps);
        self.eps = eps;
    }

    #[track_caller]
    fn weight_decay(&mut self, weight_decay: T) {
        check_non_negative("weight_decay value", weight_decay);
        self.weight_decay = weight_decay;
    }

    /// One step of Adam, or of AdamW if `decoupled`. `optimizer` names the type in panics.
    // `_single_tensor_adam`: the step's scalars are Python floats (`f64` here, rounded to `T`
    // where they meet a tensor), and the tensor arithmetic is the CPU kernels' (`lerp_`,
    // `mul_(β₂).addcmul_(g, g, value=1 − β₂)`, `addcdiv_(m, denom, value=−step_size)`).
    fn step<P: Parameters<T> + ?Sized>(
        &mut self,
        params: &mut P,
        grads: &P,
        decoupled: bool,
        optimizer: &str,
    ) {
        let step = (self.step + 1) as f64;
        let (lr, beta1, beta2) = (self.lr.to_f64(), self.beta1.to_f64(), self.beta2.to_f64());
        let bias_correction1 = 1.0 - beta1.powf(step);
        let bias_correction2 = 1.0 - beta2.powf(step);
        let step_size = lr / bias_correction1;
        // `bias_correction2**0.5` in PyTorch: `pow`, which may round differently from `sqrt`.
        let bias_correction2_sqrt = bias_correction2.powf(0.5);
        let exp_avg_weight = T::from_f64(1.0 - beta1);
        let constants = AdamConstants {
            weight_decay: self.weight_decay,
            param_factor: T::from_f64(1.0 - lr * self.weight_decay.to_f64()),
            exp_avg_weight,
            beta2: self.beta2,
            exp_avg_sq_weight: T::from_f64(1.0 - beta2),
            scaled_eps: T::from_f64(self.eps.to_f64() * bias_correction2_sqrt),
            scaled_neg_step_size: T::from_f64(-step_size * bias_correction2_sqrt),
        };
        let has_decay = self.weight_decay != T::ZERO;
        let flags = (
            self.maximize,
            has_decay && !decoupled,
            has_decay && decoupled,
            is_lerp_weight_small(exp_avg_weight),
        );
        let (maximize, grad_decay, param_decay, small_weight) = flags;
        let n_params = params.len();
        let (exp_avg, _) = sized_buffer(&mut self.exp_avg, "exp_avg", n_params, optimizer);
        let (exp_avg_sq, _) = sized_buffer(&mut self.exp_avg_sq, "exp_avg_sq", n_params, optimizer);
        if self.amsgrad {
            let name = "max_exp_avg_sq";
            let (max_exp_avg_sq, _) =
                sized_buffer(&mut self.max_exp_avg_sq, name, n_params, optimizer);
            let buffers = [exp_avg, exp_avg_sq, max_exp_avg_sq];
            let tensor_loop =
                specialise!(amsgrad_loop [T] [maximize, grad_decay, param_decay, small_weight]);
            walk(optimizer, params, grads, buffers, &constants, tensor_loop);
        } else {
            let buffers = [exp_avg, exp_avg_sq];
            let tensor_loop =
                specialise!(adam_loop [T] [maximize, grad_decay, param_decay, small_weight]);
            walk(optimizer, params, grads, buffers, &constants, tensor_loop);
        }
        self.step += 1;
    }

    #[track_caller]
    fn set_lr(&mut self, lr: T) {
        check_non_negative("learning rate", lr);
        self.lr = lr;
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState::collect(
            self.step,
            &[
                ("exp_avg", &self.exp_avg),
                ("exp_avg_sq", &self.exp_avg_sq),
                ("max_exp_avg_sq", &self.max_exp_avg_sq),
            ],
        )
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let (step, [exp_avg, exp_avg_sq, max_exp_avg_sq]) = state.unpack([
            ("exp_avg", true),
            ("exp_avg_sq", true),
            ("max_exp_avg_sq", self.amsgrad),
        ])?;
        self.step = step;
        self.exp_avg = exp_avg;
        self.exp_avg_sq = exp_avg_sq;
        self.max_exp_avg_sq = max_exp_avg_sq;
        Ok(())
    }
}

/// One step's constants, computed once per step.
#[derive(Clone, Copy)]
struct AdamConstants<T> {
    /// Adam's λ, added to the gradient as λ·θ.
    weight_decay: T,
    /// AdamW's 1 − γ·λ, multiplying θ.
    param_factor: T,
    /// 1 − β₁, the weight of the gradient in m.
    exp_avg_weight: T,
    beta2: T,
    /// 1 − β₂.
    exp_avg_sq_weight: T,
    /// ε·√(1 − β₂ᵗ).
    scaled_eps: T,
    /// −γ/(1 − β₁ᵗ)·√(1 − β₂ᵗ).
    scaled_neg_step_size: T,
}

/// Adam over one tensor, without AMSGrad. Each flag is a constant, so each configuration is
/// its own branch-free loop: `GRAD_DECAY` is Adam's weight decay, `PARAM_DECAY` AdamW's, and
/// `SMALL_WEIGHT` picks `lerp`'s formula.
fn adam_loop<
    T: Real,
    const MAXIMIZE: bool,
    const GRAD_DECAY: bool,
    const PARAM_DECAY: bool,
    const SMALL_WEIGHT: bool,
>(
    constants: &AdamConstants<T>,
    params: &mut [T],
    grads: &[T],
    buffers: [&mut [T]; 2],
) {
    // A copy, which the compiler knows no store in the loop can change.
    let constants = *constants;
    for_each_element(
        params,
        grads,
        buffers,
        |param, grad, [exp_avg, exp_avg_sq]| {
            // Every load before the first store (see `for_each_element`).
            let (param_value, m, v) = (*param, *exp_avg, *exp_avg_sq);
            let (param_value, grad) =
                constants.decay::<MAXIMIZE, GRAD_DECAY, PARAM_DECAY>(param_value, grad);
            let (m, v) = constants.moments::<SMALL_WEIGHT>(grad, m, v);
            (*exp_avg, *exp_avg_sq) = (m, v);
            *param = constants.updated_param(param_value, m, v);
        },
    );
}

/// Adam over one tensor with AMSGrad: as [`adam_loop`], dividing by the running maximum of
/// the second moment.
fn amsgrad_loop<
    T: Real,
    const MAXIMIZE: bool,
    const GRAD_DECAY: bool,
    const PARAM_DECAY: bool,
    const SMALL_WEIGHT: bool,
>(
    constants: &AdamConstants<T>,
    params: &mut [T],
    grads: &[T],
    buffers: [&mut [T]; 3],
) {
    let constants = *constants;
    for_each_element(
        params,
        grads,
        buffers,
        |param, grad, [exp_avg, exp_avg_sq, max]| {
            let (param_value, m, v, v_max) = (*param, *exp_avg, *exp_avg_sq, *max);
            let (param_value, grad) =
                constants.decay::<MAXIMIZE, GRAD_DECAY, PARAM_DECAY>(param_value, grad);
            let (m, v) = constants.moments::<SMALL_WEIGHT>(grad, m, v);
            let v_max = flush_subnormal(maximum(v_max, v));
            (*exp_avg, *exp_avg_sq, *max) = (m, v, v_max);
            *param = constants.updated_param(param_value, m, v_max);
        },
    );
}

/// The steps of one element's update, on values, so that the loops can load all of an
/// element's values before they store any.
impl<T: Real> AdamConstants<T> {
    /// θ and the gradient as the moments see it: negated if maximising, plus λ·θ for Adam's
    /// weight decay; θ decayed by AdamW's factor.
    #[inline(always)]
    fn decay<const MAXIMIZE: bool, const GRAD_DECAY: bool, const PARAM_DECAY: bool>(
        &self,
        param: T,
        grad: T,
    ) -> (T, T) {
        let mut grad = if MAXIMIZE { -grad } else { grad };
        if GRAD_DECAY {
            grad += self.weight_decay * param;
        }
        let param = if PARAM_DECAY {
            param * self.param_factor
        } else {
            param
        };
        (param, grad)
    }

    /// The moments m and v updated from `grad`, subnormals flushed to zero (see the module
    /// docs).
    #[inline(always)]
    fn moments<const SMALL_WEIGHT: bool>(&self, grad: T, m: T, v: T) -> (T, T) {
        let m = lerp::<T, SMALL_WEIGHT>(m, grad, self.exp_avg_weight);
        let v = v * self.beta2 + self.exp_avg_sq_weight * grad * grad;
        (flush_subnormal(m), flush_subnormal(v))
    }

    /// θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε), with v the second moment used, as
    /// θ − γ/(1 − β₁ᵗ)·√(1 − β₂ᵗ) · m / (√v + ε·√(1 − β₂ᵗ)): the same number, with one
    /// division where PyTorch's single-tensor code has two (see the struct's docs).
    #[inline(always)]
    fn updated_param(&self, param: T, exp_avg: T, second_moment: T) -> T {
        let denom = second_moment.sqrt() + self.scaled_eps;
        param + self.scaled_neg_step_size * exp_avg / denom
    }
}

/// Whether PyTorch's `lerp` computes from the start for this weight (`is_lerp_weight_small`).
fn is_lerp_weight_small<T: Real>(weight: T) -> bool {
    weight.abs() < T::from_f64(0.5)
}

/// `start + weight·(end − start)` as PyTorch's `lerp` computes it: from the end nearer the
/// result, which loses less precision when `weight` is close to 1. `SMALL_WEIGHT` is
/// [`is_lerp_weight_small`]`(weight)`, decided once per step.
#[inline(always)]
fn lerp<T: Real, const SMALL_WEIGHT: bool>(start: T, end: T, weight: T) -> T {
    if SMALL_WEIGHT {
        start + weight * (end - start)
    } else {
        end - (end - start) * (T::ONE - weight)
    }
}

/// The larger of `a` and `b`, NaN if either is, as `torch.maximum` (`f64::max` drops a NaN).
/// Selects, not branches, so it vectorises.
#[inline(always)]
fn maximum<T: Real>(a: T, b: T) -> T {
    let larger = if b > a { b } else { a };
    // Neither `a >= b` nor `b > a` holds only if one is NaN; `a + b` is then NaN.
    if a >= b || b > a {
        larger
    } else {
        a + b
    }
}

/// The builder methods both variants share, and their `Optimizer` impl.
macro_rules! adam_variant {
    ($name:ident, decoupled = $decoupled:expr) => {
        impl<T: Real> $name<T> {
            /// Sets the coefficients β₁, β₂ of the running averages of the gradient and of its
            /// square (default `(0.9, 0.999)`).
            ///
            /// ```
            #[doc = concat!("use graph_runtime::optim::{", stringify!($name), ", Optimizer};")]
            #[doc = concat!("let mut opt = ", stringify!($name), "::new(0.1).betas(0.0, 0.0);")]
            /// let mut x = 0.0_f64;
            /// opt.step(&mut x, &4.0);
            /// opt.step(&mut x, &1.0);
            /// // Without averaging every step is γ·sign(g) (and AdamW's decay is small).
            /// assert!((x + 0.2).abs() < 1e-3);
            /// ```
            ///
            /// # Panics
            ///
            /// If either is outside [0, 1) or NaN.
            #[track_caller]
            pub fn betas(mut self, beta1: T, beta2: T) -> Self {
                self.core.betas(beta1, beta2);
                self
            }

            /// Sets ε, added to the denominator for numerical stability (default 1e-8).
            ///
            /// ```
            #[doc = concat!("use graph_runtime::optim::{", stringify!($name), ", Optimizer};")]
            #[doc = concat!("let mut opt = ", stringify!($name), "::new(0.1).eps(1.0);")]
            /// let mut x = 0.0_f64;
            /// opt.step(&mut x, &1.0);
            /// // The first step is γ·g/(|g| + ε).
            /// assert!((x + 0.05).abs() < 1e-6);
            /// ```
            ///
            /// # Panics
            ///
            /// If `eps` is negative or NaN.
            #[track_caller]
            pub fn eps(mut self, eps: T) -> Self {
                self.core.eps(eps);
                self
            }

            /// Uses the AMSGrad variant (default off), which divides by the running maximum
            /// of the second moment instead of the second moment itself.
            ///
            /// ```
            #[doc = concat!("use graph_runtime::optim::{", stringify!($name), ", Optimizer};")]
            #[doc = concat!("let mut opt = ", stringify!($name), "::new(0.1).amsgrad(true);")]
            /// let mut x = 0.0_f64;
            /// opt.step(&mut x, &3.0);
            /// opt.step(&mut x, &0.0);
            /// let state = opt.state();
            /// // The average of g² decays; its maximum does not.
            /// assert!(state.buffers["exp_avg_sq"][0] < state.buffers["max_exp_avg_sq"][0]);
            /// ```
            pub fn amsgrad(mut self, amsgrad: bool) -> Self {
                self.core.amsgrad = amsgrad;
                self
            }

            /// Maximises the objective instead of minimising it (default off): the gradient
            /// is negated before anything else, as in PyTorch.
            ///
            /// ```
            #[doc = concat!("use graph_runtime::optim::{", stringify!($name), ", Optimizer};")]
            #[doc = concat!("let mut opt = ", stringify!($name), "::new(0.1).maximize(true);")]
            /// let mut x = 0.0_f64;
            /// opt.step(&mut x, &1.0);
            /// assert!(x > 0.0); // uphill
            /// ```
            pub fn maximize(mut self, maximize: bool) -> Self {
                self.core.maximize = maximize;
                self
            }
        }

        impl<T: Real> Optimizer<T> for $name<T> {
            fn step<P: Parameters<T> + ?Sized>(&mut self, params: &mut P, grads: &P) {
                self.core.step(params, grads, $decoupled, stringify!($name));
            }

            fn lr(&self) -> T {
                self.core.lr
            }

            #[track_caller]
            fn set_lr(&mut self, lr: T) {
                self.core.set_lr(lr);
            }

            fn step_count(&self) -> usize {
                self.core.step
            }

            fn state(&self) -> OptimizerState<T> {
                self.core.state()
            }

            fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
                self.core.load_state(state)
            }
        }
    };
}

adam_variant!(Adam, decoupled = false);
adam_variant!(AdamW, decoupled = true);

impl<T: Real> Adam<T> {
    /// Adam with learning rate `lr` and PyTorch's defaults; `T` is inferred from the first
    /// step.
    ///
    /// ```
    /// use chainrule::optim::{Adam, Optimizer};
    /// let mut x = 1.0_f64;
    /// let mut adam = Adam::new(0.01);
    /// adam.step(&mut x, &5.0);
    /// // Adam's first step is γ·sign(g), whatever the gradient's size.
    /// assert!((x - 0.99).abs() < 1e-9);
    /// ```
    ///
    /// # Panics
    ///
    /// If `lr` is negative or NaN.
    #[track_caller]
    pub fn new(lr: T) -> Self {
        Adam {
            core: AdamCore::new(lr, T::ZERO),
        }
    }

    /// Sets the weight decay λ (default 0): an L2 penalty, λ·θ added to the gradient before
    /// the moments see it. For decay that bypasses the moments, use [`AdamW`].
    ///
    /// ```
    /// use chainrule::optim::{Adam, Optimizer};
    /// let mut x = 2.0_f64;
    /// let mut adam = Adam::new(0.1).weight_decay(0.5);
    /// adam.step(&mut x, &0.0);
    /// // The gradient is 0.5·2, so the first step is γ·sign(1).
    /// assert!((x - 1.9).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: T) -> Self {
        self.core.weight_decay(weight_decay);
        self
    }
}

impl<T: Real> AdamW<T> {
    /// AdamW with learning rate `lr` and PyTorch's defaults, weight decay 1e-2 included; `T`
    /// is inferred from the first step.
    ///
    /// ```
    /// use chainrule::optim::{AdamW, Optimizer};
    /// let mut x = 1.0_f64;
    /// let mut adamw = AdamW::new(0.01);
    /// adamw.step(&mut x, &5.0);
    /// // Decay by 1 − 0.01·0.01, then Adam's first step of γ·sign(g).
    /// assert!((x - (0.9999 - 0.01)).abs() < 1e-9);
    /// ```
    ///
    /// # Panics
    ///
    /// If `lr` is negative or NaN.
    #[track_caller]
    pub fn new(lr: T) -> Self {
        AdamW {
            core: AdamCore::new(lr, T::from_f64(1e-2)),
        }
    }

    /// Sets the decoupled weight decay λ (default 1e-2): each step first multiplies the
    /// parameters by 1 − γ·λ.
    ///
    /// ```
    /// use chainrule::optim::{AdamW, Optimizer};
    /// let mut x = 2.0_f64;
    /// let mut adamw = AdamW::new(0.1).weight_decay(0.5);
    /// adamw.step(&mut x, &0.0);
    /// assert_eq!(x, 2.0 * (1.0 - 0.1 * 0.5)); // and no Adam step: the moments are zero
    /// ```
    ///
    /// # Panics
    ///
    /// If `weight_decay` is negative or NaN.
    #[track_caller]
    pub fn weight_decay(mut self, weight_decay: T) -> Self {
        self.core.weight_decay(weight_decay);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lerp_is_exact_at_both_ends() {
        let lerp = |start, end, weight| match is_lerp_weight_small(weight) {
            true => lerp::<f64, true>(start, end, weight),
            false => lerp::<f64, false>(start, end, weight),
        };
        assert_eq!(lerp(2.0_f64, 5.0, 0.0), 2.0);
        assert_eq!(lerp(2.0_f64, 5.0, 1.0), 5.0);
        assert_eq!(lerp(2.0_f64, 5.0, 0.25), 2.75);
        assert_eq!(lerp(2.0_f64, 5.0, 0.75), 4.25);
    }

    #[test]
    fn maximum_keeps_a_nan_where_f64_max_drops_it() {
        assert_eq!(maximum(1.0_f64, 2.0), 2.0);
        assert_eq!(maximum(3.0_f64, 2.0), 3.0);
        assert!(maximum(f64::NAN, 2.0).is_nan());
        assert!(maximum(2.0, f64::NAN).is_nan());
        assert_eq!(f64::max(2.0, f64::NAN), 2.0);
    }

    #[test]
    fn bad_hyperparameters_panic_at_construction() {
        use std::panic::catch_unwind;
        assert!(catch_unwind(|| Adam::new(-1e-3_f64)).is_err());
        assert!(catch_unwind(|| Adam::new(1e-3_f64).betas(1.0, 0.999)).is_err());
        assert!(catch_unwind(|| Adam::new(1e-3_f64).betas(0.9, -0.1)).is_err());
        assert!(catch_unwind(|| AdamW::new(1e-3_f64).betas(0.9, f64::NAN)).is_err());
        assert!(catch_unwind(|| AdamW::new(1e-3_f64).eps(-1e-8)).is_err());
        assert!(catch_unwind(|| AdamW::new(1e-3_f64).weight_decay(-1e-2)).is_err());
        // The edges PyTorch allows.
        let _ = Adam::new(0.0_f64)
            .betas(0.0, 0.0)
            .eps(0.0)
            .weight_decay(0.0);
    }

    #[test]
    fn adamw_without_decay_is_adam() {
        use nalgebra::SVector;
        let mut a = SVector::<f64, 2>::new(1.0, -2.0);
        let mut b = a;
        let mut adam = Adam::new(0.1).amsgrad(true);
        let mut adamw = AdamW::new(0.1).weight_decay(0.0).amsgrad(true);
        for step in 0..10 {
            let grad = SVector::<f64, 2>::new(a[0] * step as f64, a[1] - 1.0);
            adam.step(&mut a, &grad);
            let grad = SVector::<f64, 2>::new(b[0] * step as f64, b[1] - 1.0);
            adamw.step(&mut b, &grad);
        }
        assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits));
        assert_ne!(a, SVector::<f64, 2>::new(1.0, -2.0));
    }
}
