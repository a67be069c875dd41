//! Gradient checks: a gradient against central differences of the function it is the gradient
//! of, at one point. Every `fn` graph calls [`check_gradient`] from its own
//! `NAME::check_gradient(args…)`; call it directly for gradients written by hand.
//!
//! These are test helpers: each parameter element costs two evaluations of the function (and
//! a walk over the parameters), so keep them out of hot paths.
//!
//! **Step.** Element `x` is moved by `h = ∛ε · max(1, |x|)` either way, `ε` the machine
//! epsilon of `T`: the step that balances the central difference's truncation error (`h²`)
//! against rounding (`ε / h`). The quotient divides by the step as actually represented,
//! `(x + h) − (x − h)`.
//!
//! **Error.** For each element, `|backward − numeric| / max(1, |backward|, |numeric|)`:
//! relative for gradients larger than 1, absolute below. A NaN on either side is a mismatch.
//! The check fails when the worst element's error exceeds the tolerance,
//! [`default_tolerance`] unless given: `1e-6` for `f64` and `1e-2` for `f32`, whose central
//! differences carry about `ε^(2/3)` ≈ `2·10⁻⁵` of rounding, times how much the function
//! amplifies it.

use std::fmt;

use nalgebra::SMatrix;

use crate::params::Parameters;
use crate::Real;

/// Where in a parameter an element is. (The names keep clear of nalgebra's `Matrix` and
/// `Scalar`, which rustc's messages would otherwise spell with their whole paths.)
///
/// ```
/// use chainrule::check::{check_gradient, Element};
/// use chainrule::nalgebra::Matrix2;
/// // f(m) = m₀₁², whose gradient is 2·m₀₁ at (0, 1) and 0 elsewhere; claim 0 everywhere.
/// let point = Matrix2::new(1.0, 3.0, 0.0, 0.0);
/// let mismatch = check_gradient(&point, &Matrix2::zeros(), |m| m[(0, 1)] * m[(0, 1)]).unwrap_err();
/// assert_eq!(mismatch.element, Element::Entry { row: 0, column: 1 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// The parameter is a scalar: its only element.
    Single,
    /// Element `index` of a column vector (`SVector`).
    Index(usize),
    /// The entry at `row` and `column` of a matrix, row vectors included.
    Entry { row: usize, column: usize },
}

/// A gradient that central differences disagree with: the worst element of all parameters.
///
/// Its `Display` reads like a failed assertion:
///
/// ```
/// use chainrule::check::{Element, GradientMismatch};
/// let mismatch = GradientMismatch {
///     parameter: "w".into(),
///     element: Element::Entry { row: 1, column: 0 },
///     backward: 0.5,
///     numeric: 0.25,
///     relative_error: 0.25,
///     tolerance: 1e-6,
/// };
/// assert_eq!(
///     mismatch.to_string(),
///     "gradient mismatch at `w[(1, 0)]`: backward gives 0.5, central differences give 0.25 \
///      (relative error 2.5e-1, tolerance 1e-6)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradientMismatch {
    /// The parameter's name: a graph's parameter, or a field path (`0.weight`) of a model.
    pub parameter: String,
    pub element: Element,
    /// The gradient under test (a graph's `backward`).
    pub backward: f64,
    /// The central difference.
    pub numeric: f64,
    /// `|backward − numeric| / max(1, |backward|, |numeric|)`; infinite for a NaN.
    pub relative_error: f64,
    /// What the error had to stay within.
    pub tolerance: f64,
}

impl fmt::Display for GradientMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.parameter;
        let at = match self.element {
            Element::Single => name.to_string(),
            Element::Index(index) => format!("{name}[{index}]"),
            Element::Entry { row, column } => format!("{name}[({row}, {column})]"),
        };
        // An unnamed scalar: a function of one number, checked directly.
        let at = if at.is_empty() {
            String::new()
        } else {
            format!(" at `{at}`")
        };
        write!(
            f,
            "gradient mismatch{at}: backward gives {}, central differences give {} \
             (relative error {:.1e}, tolerance {:e})",
            self.backward, self.numeric, self.relative_error, self.tolerance
        )
    }
}

impl std::error::Error for GradientMismatch {}

/// `1e-6` for `f64`, `1e-2` for `f32`: what [`check_gradient`] allows (see the module docs).
///
/// ```
/// use chainrule::check::default_tolerance;
/// assert_eq!(default_tolerance::<f64>(), 1e-6);
/// assert_eq!(default_tolerance::<f32>(), 1e-2);
/// ```
pub fn default_tolerance<T: Real>() -> f64 {
    if is_single::<T>() {
        1e-2
    } else {
        1e-6
    }
}

/// Whether `T` is `f32` (`Real` is sealed to `f32` and `f64`).
fn is_single<T: Real>() -> bool {
    std::mem::size_of::<T>() == std::mem::size_of::<f32>()
}

fn epsilon<T: Real>() -> f64 {
    if is_single::<T>() {
        f64::from(f32::EPSILON)
    } else {
        f64::EPSILON
    }
}

/// Checks `backward`, the gradient of `f` at `point`, against central differences of `f`,
/// within [`default_tolerance`]. The error names the worst element of all.
///
/// `point` and `backward` have the same type, such as a graph's `Grad` struct filled with the
/// parameters' values (which is what `NAME::check_gradient` passes).
///
/// ```
/// use chainrule::check::check_gradient;
/// use chainrule::nalgebra::Vector2;
///
/// let f = |v: &Vector2<f64>| v.x * v.x * v.y; // ∇f = (2xy, x²)
/// let point = Vector2::new(3.0, 2.0);
/// assert!(check_gradient(&point, &Vector2::new(12.0, 9.0), f).is_ok());
///
/// let wrong = check_gradient(&point, &Vector2::new(12.0, 6.0), f).unwrap_err();
/// assert_eq!(wrong.parameter, "");
/// assert!(wrong.to_string().starts_with("gradient mismatch at `[1]`: backward gives 6,"));
/// ```
pub fn check_gradient<T: Real, G: Parameters<T> + Clone>(
    point: &G,
    backward: &G,
    f: impl FnMut(&G) -> T,
) -> Result<(), GradientMismatch> {
    check_gradient_within(point, backward, f, default_tolerance::<T>())
}

/// [`check_gradient`] with a tolerance of your own.
///
/// ```
/// use chainrule::check::check_gradient_within;
/// let f = |x: &f64| x.exp();
/// assert!(check_gradient_within(&1.0, &2.7183, f, 1e-4).is_ok());
/// assert!(check_gradient_within(&1.0, &2.7183, f, 1e-6).is_err());
/// ```
pub fn check_gradient_within<T: Real, G: Parameters<T> + Clone>(
    point: &G,
    backward: &G,
    f: impl FnMut(&G) -> T,
    tolerance: f64,
) -> Result<(), GradientMismatch> {
    let numeric = central_differences(point, f);
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    let (mut analytic, mut index) = (Vec::new(), 0);
    backward.visit(&mut |tensor| analytic.extend(tensor.iter().map(|x| x.to_f64())));
    numeric.visit(&mut |tensor| {
        for x in tensor {
            let (backward, numeric) = (analytic[index], x.to_f64());
            let error = relative_error(backward, numeric);
            if worst.is_none_or(|(_, _, _, worst)| error > worst) {
                worst = Some((index, backward, numeric, error));
            }
            index += 1;
        }
    });
    match worst {
        Some((index, backward, numeric, relative_error)) if relative_error > tolerance => {
            let (parameter, element) = locate(point, index);
            Err(GradientMismatch {
                parameter,
                element,
                backward,
                numeric,
                relative_error,
                tolerance,
            })
        }
        _ => Ok(()),
    }
}

/// `|a − b| / max(1, |a|, |b|)`, infinite when either is NaN or they are unequal infinities.
fn relative_error(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    let error = (a - b).abs() / 1f64.max(a.abs()).max(b.abs());
    if error.is_nan() {
        f64::INFINITY
    } else {
        error
    }
}

/// The gradient of `f` at `point` by central differences, element by element, with the step
/// of the module docs.
///
/// ```
/// use chainrule::check::central_differences;
/// use chainrule::nalgebra::Vector2;
/// let gradient = central_differences(&Vector2::new(3.0, 2.0), |v| v.x * v.x * v.y);
/// assert!((gradient - Vector2::new(12.0, 9.0)).norm() < 1e-8);
/// ```
pub fn central_differences<T: Real, G: Parameters<T> + Clone>(
    point: &G,
    mut f: impl FnMut(&G) -> T,
) -> G {
    let step_scale = epsilon::<T>().cbrt();
    let mut gradient = point.clone();
    let mut probe = point.clone();
    for index in 0..point.len() {
        let x = element(point, index);
        let step = T::from_f64(step_scale * x.to_f64().abs().max(1.0));
        let (above, below) = (x + step, x - step);
        set_element(&mut probe, index, above);
        let f_above = f(&probe);
        set_element(&mut probe, index, below);
        let f_below = f(&probe);
        set_element(&mut probe, index, x);
        set_element(&mut gradient, index, (f_above - f_below) / (above - below));
    }
    gradient
}

/// The `index`-th scalar of `params`, counting through the tensors in order.
fn element<T: Real, G: Parameters<T>>(params: &G, index: usize) -> T {
    let (mut seen, mut found) = (0, T::ZERO);
    params.visit(&mut |tensor| {
        if (seen..seen + tensor.len()).contains(&index) {
            found = tensor[index - seen];
        }
        seen += tensor.len();
    });
    found
}

fn set_element<T: Real, G: Parameters<T>>(params: &mut G, index: usize, value: T) {
    let mut seen = 0;
    params.visit_mut(&mut |tensor| {
        if (seen..seen + tensor.len()).contains(&index) {
            tensor[index - seen] = value;
        }
        seen += tensor.len();
    });
}

/// The name of the tensor holding the `index`-th scalar, and where in it the scalar is:
/// tensors are column-major, shaped as [`Parameters::visit_named`] says.
fn locate<T: Real, G: Parameters<T>>(params: &G, index: usize) -> (String, Element) {
    let mut seen = 0;
    let mut found = (String::new(), Element::Single);
    params.visit_named("", &mut |name, tensor| {
        let len = tensor.data.len();
        if (seen..seen + len).contains(&index) {
            let offset = index - seen;
            let element = match *tensor.shape {
                [] => Element::Single,
                [_] => Element::Index(offset),
                [rows, ..] => Element::Entry {
                    row: offset % rows.max(1),
                    column: offset / rows.max(1),
                },
            };
            found = (name.to_string(), element);
        }
        seen += len;
    });
    found
}

/// The fixed `d_out` with which `NAME::check_gradient` checks a graph whose output is a
/// matrix: `backward(args…, d_out)` against central differences of `⟨d_out, forward(args…)⟩`
/// (the sum of the elements' products). Element `k`, counted in column-major order out of
/// `n`, is `1 + k/n`: none is zero, so every output element is checked, and no two are equal,
/// so swapped elements show.
///
/// ```
/// use chainrule::check::vjp_seed;
/// use chainrule::nalgebra::Matrix2;
/// assert_eq!(vjp_seed::<f64, 2, 2>(), Matrix2::new(1.0, 1.5, 1.25, 1.75));
/// ```
pub fn vjp_seed<T: Real, const R: usize, const C: usize>() -> SMatrix<T, R, C> {
    let n = (R * C) as f64;
    SMatrix::from_fn(|row, column| T::from_f64(1.0 + (column * R + row) as f64 / n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Matrix2x3, SVector};

    #[test]
    fn the_worst_element_is_named_with_its_row_and_column() {
        let point = Matrix2x3::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0);
        let f = |m: &Matrix2x3<f64>| m.norm_squared() / 2.0; // ∇f = m
        let mut backward = point;
        backward[(1, 2)] += 0.5; // error 0.5/6.5
        backward[(0, 1)] += 0.01;
        let mismatch = check_gradient(&point, &backward, f).unwrap_err();
        assert_eq!(mismatch.element, Element::Entry { row: 1, column: 2 });
        assert_eq!(mismatch.backward, 6.5);
        assert!((mismatch.numeric - 6.0).abs() < 1e-8);
        assert!((mismatch.relative_error - 0.5 / 6.5).abs() < 1e-8);
        assert!(check_gradient(&point, &point, f).is_ok());
    }

    #[test]
    fn small_gradients_are_compared_absolutely_and_large_ones_relatively() {
        assert_eq!(relative_error(1e-9, 2e-9), 1e-9);
        assert_eq!(relative_error(1000.0, 1001.0), 1.0 / 1001.0);
        assert_eq!(relative_error(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(relative_error(f64::INFINITY, f64::INFINITY), 0.0);
    }

    #[test]
    fn the_step_scales_with_the_element_so_large_values_keep_their_precision() {
        // A fixed step of 10⁻⁵ would vanish next to 10¹²: (x + h) − (x − h) would be 0.
        let gradient = central_differences(&1e12, |x: &f64| x.ln());
        assert!((gradient - 1e-12).abs() < 1e-21);
        // Below 1 the step stays ∛ε, so a small element is not moved by a tiny step.
        let gradient = central_differences(&SVector::<f64, 1>::new(1e-8), |v| v.x * v.x);
        assert!((gradient.x - 2e-8).abs() < 1e-15);
    }

    #[test]
    fn single_precision_is_checked_within_its_own_tolerance() {
        let f = |v: &SVector<f32, 3>| (v.x * v.y).sin() + v.z.exp();
        let point = SVector::<f32, 3>::new(0.3, -1.2, 0.7);
        let (x, y, z) = (point.x, point.y, point.z);
        let exact = SVector::<f32, 3>::new(y * (x * y).cos(), x * (x * y).cos(), z.exp());
        assert!(check_gradient(&point, &exact, f).is_ok());
        assert!(check_gradient(&point, &(exact * 1.05), f).is_err());
    }
}
