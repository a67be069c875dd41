//! Functions of the user's that graphs call by name: the user gives the value and the
//! derivative, and `graph!` calls them where the chain rule needs them.
//!
//! A graph declares each with `#[primitive(name = Type)]` and then calls `name(x)` like a
//! built-in: element-wise on matrices, differentiated by `Primitive::derivative`, and, in a
//! `#[hessian]` graph, twice by `SecondDerivative::second_derivative`. The macro sees only the
//! name and the path, so the generated code calls these traits through the type.

use crate::scalar::Real;

/// A scalar function of one argument, with its derivative, that a graph calls by name.
///
/// `T` is the scalar type the graph computes in: implement `Primitive<f64>` (and
/// `Primitive<f32>` for `f32` graphs), or `impl<T: Real> Primitive<T>` for both through
/// [`Real`]'s methods. The type is only a name: a unit struct will do.
///
/// ```
/// use chainrule::{graph, Primitive, SecondDerivative};
///
/// /// The "squareplus" activation, (x + √(x² + 4))/2: a smooth relu without exponentials.
/// pub struct Squareplus;
///
/// impl Primitive<f64> for Squareplus {
///     fn value(x: f64) -> f64 {
///         (x + (x * x + 4.0).sqrt()) / 2.0
///     }
///     // Given y = value(x): √(x² + 4) = 2y − x, so f′ = y/(2y − x).
///     fn derivative(x: f64, y: f64) -> f64 {
///         y / (2.0 * y - x)
///     }
/// }
///
/// impl SecondDerivative<f64> for Squareplus {
///     // f″ = 2/(x² + 4)^(3/2) = 2/(2y − x)³.
///     fn second_derivative(x: f64, y: f64) -> f64 {
///         2.0 / (2.0 * y - x).powi(3)
///     }
/// }
///
/// graph! {
///     #[hessian]
///     #[primitive(squareplus = Squareplus)]
///     fn neuron(w: f64, b: f64, #[no_grad] x: f64) -> f64 {
///         squareplus(w * x + b)
///     }
/// }
///
/// fn main() {
///     let (value, grad) = neuron::value_and_grad(0.5, 0.0, 2.0);
///     let y = Squareplus::value(1.0);
///     assert_eq!(value, y);
///     assert!((grad.w - 2.0 * Squareplus::derivative(1.0, y)).abs() < 1e-15);
///     // ∂²/∂w² = x²·f″(wx + b)
///     let h = neuron::hessian(0.5, 0.0, 2.0);
///     assert!((h[(0, 0)] - 4.0 * Squareplus::second_derivative(1.0, y)).abs() < 1e-15);
/// }
/// ```
///
/// A `fn` graph's code lives in a module of its own, so it finds the type one module further
/// out (`Squareplus` is `super::Squareplus` there): declare the type where the `graph!` is,
/// or import it there, not inside a function body. A closure graph finds it anywhere.
pub trait Primitive<T: Real> {
    /// f(x).
    fn value(x: T) -> T;

    /// f′(x), given `x` and `y` = f(x), already computed: reuse `y` where the derivative is
    /// cheaper from it (tanh′ = 1 − y², exp′ = y).
    fn derivative(x: T, y: T) -> T;
}

/// The second derivative of a [`Primitive`], which a `#[hessian]` graph needs wherever the
/// primitive's argument depends on a parameter. Without it, such a graph does not compile:
/// the error names the type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no second derivative, which `#[hessian]` needs",
    label = "this primitive is used in a `#[hessian]` graph",
    note = "implement `chainrule::SecondDerivative<{T}>` for `{Self}`: f″(x), given x and y = f(x)"
)]
pub trait SecondDerivative<T: Real>: Primitive<T> {
    /// f″(x), given `x` and `y` = f(x).
    fn second_derivative(x: T, y: T) -> T;
}
