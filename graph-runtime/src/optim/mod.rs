//! PyTorch's `torch.optim`: [`Sgd`], [`Adam`] and [`AdamW`], one [`Optimizer`] trait, and
//! learning-rate schedules in [`schedule`]. Optimizers see only [`Parameters`]; they never
//! touch layers, losses or the macro.
//!
//! Each optimizer follows the pseudo-code in PyTorch's documentation line by line, defaults
//! included, and does its arithmetic in the order PyTorch's single-tensor CPU code does (but
//! for Adam's one division where PyTorch has two, see [`Adam`]), so an `f64` trajectory agrees
//! with PyTorch's to rounding.
//!
//! **Order.** An optimizer walks the parameters and the gradients together with
//! [`Parameters::zip_mut`], so in the order of the `params` module: tensors in declaration
//! order, elements column-major. Its state (a momentum buffer, Adam's moments) is one flat
//! `Vec<T>` per kind, with one entry per scalar in that same order; [`Optimizer::state`] hands
//! out exactly those buffers, under PyTorch's names.
//!
//! **Allocation.** The buffers are created on the first [`Optimizer::step`] (as PyTorch creates
//! its state lazily). Every later step updates them in place and allocates nothing.
//!
//! **Speed.** Every optimizer takes the same walk over parameters, gradients and its buffers,
//! tensor by tensor. What a configuration decides (momentum or not, Nesterov, the first step
//! of a buffer, either weight decay, maximize, AMSGrad) is decided once per step, and selects
//! a loop compiled for that configuration alone. The loops have no branches inside and run
//! with the widest vectors the processor has (AVX-512, AVX2 or SSE2, chosen at run time by
//! the `pulp` crate); every width does the same IEEE operations in the same order, so the
//! results are the same bits. `BENCHMARKS.md` has their speed against a plain `p += a·g`.
//!
//! **Subnormals.** State values smaller in magnitude than the smallest normal number of `T`
//! (`f32::MIN_POSITIVE`, about 1.2·10⁻³⁸) are flushed to zero when they are stored; where they
//! are used in the same step's update, the flushed value is used. Without this, the buffers of
//! parameters whose gradient stays zero (dead ReLU units) decay into subnormal numbers, on
//! which arithmetic is many times slower, after about 800 steps of SGD with momentum 0.9, and
//! stay there: at the smallest subnormals, 0.9·b rounds back to b. PyTorch keeps them unless
//! `torch.set_flush_denormal(True)` is called. Besides Adam's division, this is the only
//! difference from PyTorch's arithmetic, and it changes values below 10⁻³⁸ (10⁻³⁰⁸ in `f64`)
//! only.
//!
//! ```
//! use chainrule::nalgebra::SVector;
//! use chainrule::optim::{Adam, Optimizer};
//!
//! // Minimise Σ cᵢ·wᵢ², whose gradient is 2·cᵢ·wᵢ.
//! let curvature = SVector::<f64, 3>::new(1.0, 4.0, 0.25);
//! let mut w = SVector::<f64, 3>::new(1.0, -1.0, 2.0);
//! let mut adam = Adam::new(0.1);
//! for _ in 0..500 {
//!     let grad = 2.0 * curvature.component_mul(&w);
//!     adam.step(&mut w, &grad);
//! }
//! assert!(w.norm() < 1e-2);
//! assert_eq!(adam.step_count(), 500);
//! ```

use std::collections::BTreeMap;

use crate::{Error, Parameters, Real, Result};

mod adam;
mod clip;
pub mod schedule;
mod sgd;
mod walk;

pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use sgd::Sgd;

/// An optimizer: updates any [`Parameters`] in place from gradients of the same type.
///
/// Hyperparameters are fixed by the builder (`Sgd::new(0.1).momentum(0.9)`), except the
/// learning rate, which a schedule may change between steps with [`set_lr`](Optimizer::set_lr).
/// What the optimizer accumulates (the step count and its buffers) is its
/// [`state`](Optimizer::state), which a checkpoint saves and [`load_state`](Optimizer::load_state)
/// restores bit for bit.
///
/// ```
/// use chainrule::optim::{Optimizer, Sgd};
///
/// // Generic training code sees only the trait.
/// fn descend<O: Optimizer<f64>>(optimizer: &mut O, x: &mut f64, steps: usize) {
///     for _ in 0..steps {
///         let grad = 2.0 * (*x - 3.0); // d/dx (x − 3)²
///         optimizer.step(x, &grad);
///     }
/// }
/// let mut x = 0.0;
/// descend(&mut Sgd::new(0.1), &mut x, 200);
/// assert!((x - 3.0).abs() < 1e-12);
/// ```
pub trait Optimizer<T: Real> {
    /// Takes one step: updates `params` in place from `grads`, the gradient of the objective
    /// at `params`. Both are walked together, tensor by tensor, in the `Parameters` order.
    ///
    /// The first step creates the state buffers, sized to `params`; later steps allocate
    /// nothing.
    ///
    /// # Panics
    ///
    /// If `params` has a different number of scalars than the optimizer's state buffers (the
    /// optimizer was stepping another model, or was given another model's state), or if
    /// `zip_mut` pairs tensors of different lengths. An optimizer without buffers (plain SGD)
    /// has nothing to compare against and steps anything.
    fn step<P: Parameters<T> + ?Sized>(&mut self, params: &mut P, grads: &P);

    /// The learning rate the next step uses.
    fn lr(&self) -> T;

    /// Sets the learning rate for the following steps, as a schedule does (PyTorch's
    /// `param_group["lr"] = ...`).
    ///
    /// # Panics
    ///
    /// If `lr` is negative or NaN, as in `new`.
    fn set_lr(&mut self, lr: T);

    /// The number of steps taken so far: 0 before the first, and what a schedule is indexed
    /// by. Restored by [`load_state`](Optimizer::load_state).
    fn step_count(&self) -> usize;

    /// A copy of everything the optimizer has accumulated: the step count and its buffers.
    /// Hyperparameters, the learning rate included, are configuration and not part of it.
    fn state(&self) -> OptimizerState<T>;

    /// Replaces the accumulated state with `state`, usually one [`state`](Optimizer::state)
    /// returned by an optimizer of the same kind and configuration. The next step then
    /// continues bit for bit where that optimizer would have. The buffers' length is checked
    /// against the parameters at that next step.
    ///
    /// # Errors
    ///
    /// - [`Error::UnexpectedTensor`] if `state` has a buffer this configuration does not keep
    ///   (`max_exp_avg_sq` for an Adam without AMSGrad), or has buffers at step 0;
    /// - [`Error::MissingTensor`] if it lacks one that this configuration keeps after the
    ///   first step;
    /// - [`Error::ShapeMismatch`] if its buffers differ in length.
    ///
    /// On error the optimizer is unchanged.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()>;
}

/// What an optimizer has accumulated: PyTorch's per-parameter `state`, flattened.
///
/// `buffers` maps PyTorch's names (`"momentum_buffer"` for SGD; `"exp_avg"`, `"exp_avg_sq"`
/// and, with AMSGrad, `"max_exp_avg_sq"` for Adam and AdamW) to one value per parameter scalar,
/// in the `Parameters` visit order. Before the first step there are no buffers.
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::optim::{Optimizer, Sgd};
///
/// let mut w = SVector::<f64, 2>::new(1.0, 2.0);
/// let mut sgd = Sgd::new(0.1).momentum(0.9);
/// assert!(sgd.state().buffers.is_empty());
/// sgd.step(&mut w, &SVector::<f64, 2>::new(0.5, -0.5));
/// let state = sgd.state();
/// assert_eq!(state.step, 1);
/// // The buffer starts as the first gradient.
/// assert_eq!(state.buffers["momentum_buffer"], vec![0.5, -0.5]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T> {
    /// The number of steps taken.
    pub step: usize,
    /// The state buffers by PyTorch's name, each one value per parameter scalar.
    pub buffers: BTreeMap<String, Vec<T>>,
}

impl<T: Real> OptimizerState<T> {
    /// The state with `buffers` present, skipping the ones not yet created.
    fn collect(step: usize, buffers: &[(&str, &Option<Vec<T>>)]) -> Self {
        let buffers = buffers
            .iter()
            .filter_map(|(name, buffer)| Some((name.to_string(), buffer.as_ref()?.clone())))
            .collect();
        OptimizerState { step, buffers }
    }

    /// Checks the state against the buffers a configuration keeps, `(name, kept)`, and returns
    /// the step count and the buffers in the order of `expected` (`None` where absent).
    fn unpack<const N: usize>(
        self,
        expected: [(&'static str, bool); N],
    ) -> Result<(usize, [Option<Vec<T>>; N])> {
        let OptimizerState { step, mut buffers } = self;
        let mut unpacked: [Option<Vec<T>>; N] = std::array::from_fn(|_| None);
        for (slot, (name, kept)) in unpacked.iter_mut().zip(expected) {
            if kept {
                *slot = buffers.remove(name);
            }
        }
        // Whatever is left is a buffer this configuration does not keep.
        if let Some((key, buffer)) = buffers.into_iter().next() {
            return Err(Error::UnexpectedTensor {
                key,
                found: vec![buffer.len()],
            });
        }
        let present = || {
            expected
                .iter()
                .zip(&unpacked)
                .filter_map(|((name, _), buffer)| Some((*name, buffer.as_ref()?.len())))
        };
        let n_params = present().next().map(|(_, len)| len);
        if step == 0 {
            // A fresh optimizer has no buffers: they are created by the first step.
            if let Some((name, len)) = present().next() {
                return Err(Error::UnexpectedTensor {
                    key: name.to_string(),
                    found: vec![len],
                });
            }
        }
        if let (Some(n_params), Some((name, len))) =
            (n_params, present().find(|&(_, len)| Some(len) != n_params))
        {
            return Err(Error::ShapeMismatch {
                key: name.to_string(),
                expected: vec![n_params],
                found: vec![len],
            });
        }
        if step > 0 {
            let missing = expected
                .iter()
                .zip(&unpacked)
                .find(|((_, kept), buffer)| *kept && buffer.is_none());
            if let Some(((name, _), _)) = missing {
                return Err(Error::MissingTensor {
                    key: name.to_string(),
                    expected: n_params.into_iter().collect(),
                });
            }
        }
        Ok((step, unpacked))
    }
}

/// The buffer `name` as a slice of `n_params` values, created as zeros if it does not exist
/// yet (the second value is then `true`: this is the buffer's first step).
///
/// # Panics
///
/// If the buffer exists with another length.
fn sized_buffer<'a, T: Real>(
    buffer: &'a mut Option<Vec<T>>,
    name: &str,
    n_params: usize,
    optimizer: &str,
) -> (&'a mut [T], bool) {
    let created = buffer.is_none();
    let buffer = buffer.get_or_insert_with(|| vec![T::ZERO; n_params]);
    assert!(
        buffer.len() == n_params,
        "`{optimizer}::step` was given parameters with {n_params} scalars, but its `{name}` \
         buffer holds {}: an optimizer steps one model (was it stepping another, or given \
         another model's state?)",
        buffer.len(),
    );
    (buffer, created)
}

/// Panics unless `value` is at least zero (so also if it is NaN), as PyTorch's constructors
/// check learning rates, momenta and weight decays.
#[track_caller]
pub(crate) fn check_non_negative<T: Real>(what: &str, value: T) {
    assert!(
        value >= T::ZERO,
        "invalid {what} `{value}`: it must be at least 0"
    );
}
