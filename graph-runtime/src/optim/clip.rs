//! Gradient clipping: PyTorch's `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`, on
//! any [`Parameters`]. Rescales or clamps gradients in place between `backward` and an
//! optimizer's `step`; never touches a model or an optimizer.
//!
//! ```
//! use chainrule::loss::Mse;
//! use chainrule::nalgebra::SMatrix;
//! use chainrule::nn::{Linear, Module, Sequential, Tanh};
//! use chainrule::optim::{clip_grad_norm, Optimizer, Sgd};
//! use chainrule::rand::{rngs::StdRng, SeedableRng};
//!
//! type Mlp = Sequential<(Linear<f64, 1, 8>, Tanh, Linear<f64, 8, 1>)>;
//! let mut model = Mlp::init(&mut StdRng::seed_from_u64(0));
//! let x = SMatrix::<f64, 1, 4>::from_row_slice(&[-1.0, -0.5, 0.5, 1.0]);
//! let y = x.map(|x| 100.0 * x); // far targets: large gradients
//! let mut sgd = Sgd::new(0.01);
//! let (_, mut grads) = model.loss_and_grad(&x, &y, Mse);
//! let total_norm = clip_grad_norm(&mut grads, 1.0); // the norm before clipping
//! assert!(total_norm > 1.0);
//! sgd.step(&mut model, &grads); // a step of at most lr · 1
//! ```

use super::check_non_negative;
use crate::{Parameters, Real};

/// Scales `grads` so that their total 2-norm is at most about `max_norm`, and returns the
/// total norm before: PyTorch's `clip_grad_norm_(parameters, max_norm)` with its default
/// `norm_type=2`.
///
/// As in PyTorch, the total is the 2-norm of all the gradients as one vector (PyTorch's
/// 2-norm of the tensors' 2-norms), and every gradient is multiplied by
/// `max_norm / (total_norm + 1e-6)` when that is below 1, so a gradient at the limit is
/// scaled too, to just under it. The norms are summed in `f64` (PyTorch sums an `f32`
/// gradient in `f32`). Other norms (`norm_type=1` or `inf`) are not provided.
///
/// A NaN in the gradients makes the total NaN and, as in PyTorch with its default
/// `error_if_nonfinite=False`, every gradient NaN; an infinite one makes the total infinite
/// and the finite gradients 0. Check the returned norm with `is_finite` to skip such a step.
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::optim::clip_grad_norm;
///
/// let mut grads = SVector::<f64, 2>::new(3.0, 4.0);
/// assert_eq!(clip_grad_norm(&mut grads, 1.0), 5.0);
/// assert!((grads.norm() - 1.0).abs() < 1e-6);
///
/// // Within the limit, nothing changes.
/// let mut small = SVector::<f64, 2>::new(0.3, 0.4);
/// assert_eq!(clip_grad_norm(&mut small, 1.0), 0.5);
/// assert_eq!(small, SVector::<f64, 2>::new(0.3, 0.4));
/// ```
///
/// # Panics
///
/// If `max_norm` is negative or NaN.
#[track_caller]
pub fn clip_grad_norm<T: Real, P: Parameters<T> + ?Sized>(grads: &mut P, max_norm: T) -> T {
    check_non_negative("max_norm", max_norm);
    let total_norm = total_norm(grads);
    // PyTorch's `max_norm / (total_norm + 1e-6)`, clamped to at most 1: a NaN coefficient
    // (from a NaN total) is not at least 1, so it reaches every gradient, as in PyTorch.
    let clip_coef = max_norm / (total_norm + T::from_f64(1e-6));
    if clip_coef >= T::ONE {
        return total_norm;
    }
    grads.scale_by(clip_coef);
    total_norm
}

/// The 2-norm of all the gradients as one vector.
fn total_norm<T: Real, P: Parameters<T> + ?Sized>(grads: &P) -> T {
    let mut sum_of_squares = 0.0;
    grads.visit(&mut |tensor| {
        sum_of_squares += tensor.iter().map(|g| g.to_f64() * g.to_f64()).sum::<f64>();
    });
    T::from_f64(sum_of_squares.sqrt())
}

/// Clamps every gradient to `[-clip_value, clip_value]`, in place: PyTorch's
/// `clip_grad_value_(parameters, clip_value)`. A NaN stays NaN.
///
/// ```
/// use chainrule::nalgebra::SVector;
/// use chainrule::optim::clip_grad_value;
///
/// let mut grads = SVector::<f32, 3>::new(-4.0, 0.25, 9.0);
/// clip_grad_value(&mut grads, 1.0);
/// assert_eq!(grads, SVector::<f32, 3>::new(-1.0, 0.25, 1.0));
/// ```
///
/// # Panics
///
/// If `clip_value` is negative or NaN.
#[track_caller]
pub fn clip_grad_value<T: Real, P: Parameters<T> + ?Sized>(grads: &mut P, clip_value: T) {
    check_non_negative("clip_value", clip_value);
    grads.visit_mut(&mut |tensor| {
        for g in tensor {
            // Comparisons rather than `max`/`min`, which would turn a NaN into a bound.
            if *g > clip_value {
                *g = clip_value;
            } else if *g < -clip_value {
                *g = -clip_value;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};

    use super::*;
    use crate::nn::{Linear, ReLU, Sequential};

    type Model = Sequential<(Linear<f64, 3, 5>, ReLU, Linear<f64, 5, 2>)>;

    /// A model's worth of irregular gradients, large enough to need clipping.
    fn gradients(scale: f64) -> Model {
        let mut grads = Model::zeros();
        let mut k = 0.0;
        grads.visit_mut(&mut |tensor| {
            for g in tensor {
                k += 1.0;
                *g = scale * (k * 0.77_f64).sin();
            }
        });
        grads
    }

    fn flatten(params: &Model) -> Vec<f64> {
        let mut all = Vec::new();
        params.visit(&mut |tensor| all.extend_from_slice(tensor));
        all
    }

    #[test]
    fn clip_grad_norm_scales_all_gradients_by_pytorchs_coefficient() {
        let before = flatten(&gradients(3.0));
        // The norm of all gradients as one vector, however they are split into tensors.
        let norm = before.iter().map(|g| g * g).sum::<f64>().sqrt();
        assert!(norm > 2.0);
        let mut grads = gradients(3.0);
        let total = clip_grad_norm(&mut grads, 2.0);
        assert!((total - norm).abs() < 1e-12 * norm);
        let coefficient = 2.0 / (norm + 1e-6);
        for (after, before) in flatten(&grads).iter().zip(&before) {
            assert!(
                (after - before * coefficient).abs() < 1e-15,
                "{after} vs {before}"
            );
        }
        let clipped = flatten(&grads).iter().map(|g| g * g).sum::<f64>().sqrt();
        assert!(clipped < 2.0 && clipped > 2.0 - 1e-6);
    }

    #[test]
    fn clip_grad_norm_leaves_gradients_within_the_limit_unchanged() {
        let mut grads = gradients(0.01);
        let total = clip_grad_norm(&mut grads, 1.0);
        assert!(total < 1.0);
        assert_eq!(flatten(&grads), flatten(&gradients(0.01)));
    }

    #[test]
    fn a_gradient_at_the_limit_is_scaled_just_under_it_as_in_pytorch() {
        let mut grads = SVector::<f64, 2>::new(3.0, 4.0);
        assert_eq!(clip_grad_norm(&mut grads, 5.0), 5.0);
        assert_eq!(
            grads,
            SVector::<f64, 2>::new(3.0, 4.0) * (5.0 / (5.0 + 1e-6))
        );
    }

    #[test]
    fn non_finite_gradients_spread_as_in_pytorch() {
        let mut grads = SMatrix::<f64, 2, 2>::new(1.0, f64::NAN, 2.0, 3.0);
        assert!(clip_grad_norm(&mut grads, 1.0).is_nan());
        assert!(grads.iter().all(|g| g.is_nan()));
        // An infinite total: a coefficient of 0, and inf · 0 is NaN.
        let mut grads = SVector::<f32, 3>::new(1.0, f32::INFINITY, -2.0);
        assert_eq!(clip_grad_norm(&mut grads, 1.0), f32::INFINITY);
        assert_eq!((grads[0], grads[2]), (0.0, 0.0));
        assert!(grads[1].is_nan());
    }

    #[test]
    fn clip_grad_value_clamps_each_element_and_keeps_nan() {
        let mut grads = gradients(3.0);
        clip_grad_value(&mut grads, 0.5);
        let expected: Vec<f64> = flatten(&gradients(3.0))
            .iter()
            .map(|g| g.clamp(-0.5, 0.5))
            .collect();
        assert_eq!(flatten(&grads), expected);
        assert!(expected.iter().any(|g| g.abs() < 0.5) && expected.contains(&0.5));

        let mut grads = SVector::<f64, 2>::new(f64::NAN, -7.0);
        clip_grad_value(&mut grads, 1.0);
        assert!(grads[0].is_nan());
        assert_eq!(grads[1], -1.0);
    }

    #[test]
    fn a_negative_limit_panics_as_an_optimizers_negative_rate() {
        use std::panic::catch_unwind;
        assert!(catch_unwind(|| clip_grad_norm(&mut SVector::<f64, 2>::zeros(), -1.0)).is_err());
        assert!(
            catch_unwind(|| clip_grad_value(&mut SVector::<f64, 2>::zeros(), f64::NAN)).is_err()
        );
    }
}
