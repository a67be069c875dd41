//! User-defined primitives: `#[primitive(name = Type)]` and the `Primitive` and
//! `SecondDerivative` traits. A primitive is checked against the built-in it reimplements
//! (`silu`), element by element on matrices, in `#[hessian]` graphs, and through each way of
//! writing its path.

use chainrule::nalgebra::SVector;
use chainrule::{graph, Primitive, Real, SecondDerivative};

/// SiLU written by the user: x·σ(x), σ′ = σ(1 − σ). Generic over `f32` and `f64` through
/// `Real`'s methods.
pub struct Swish;

fn sigmoid<T: Real>(x: T) -> T {
    T::ONE / (T::ONE + (-x).exp())
}

impl<T: Real> Primitive<T> for Swish {
    fn value(x: T) -> T {
        x * sigmoid(x)
    }
    // σ + x·σ·(1 − σ), with x·σ the value already computed.
    fn derivative(x: T, y: T) -> T {
        let s = sigmoid(x);
        s + y * (T::ONE - s)
    }
}

impl<T: Real> SecondDerivative<T> for Swish {
    // σ(1 − σ)(2 + x(1 − 2σ)).
    fn second_derivative(x: T, _y: T) -> T {
        let s = sigmoid(x);
        let two = T::ONE + T::ONE;
        s * (T::ONE - s) * (two + x * (T::ONE - two * s))
    }
}

/// x³ with only a first derivative: fine wherever no second derivative is needed.
pub struct Cube;

impl Primitive<f64> for Cube {
    fn value(x: f64) -> f64 {
        x * x * x
    }
    fn derivative(x: f64, _y: f64) -> f64 {
        3.0 * x * x
    }
}

graph! {
    /// A neuron with the user's activation, and its twin with the built-in.
    #[hessian]
    #[primitive(swish = Swish)]
    fn custom(w: f64, b: f64, #[no_grad] x: f64) -> f64 {
        swish(w * x + b) * w
    }
}

graph! {
    #[hessian]
    fn builtin(w: f64, b: f64, #[no_grad] x: f64) -> f64 {
        silu(w * x + b) * w
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-13 * (1.0 + a.abs())
}

#[test]
fn a_primitive_differentiates_like_the_builtin_it_reimplements() {
    for (w, b, x) in [(0.4, -0.1, 1.5), (-2.0, 0.3, 0.7), (1.1, 2.0, -3.0)] {
        let (value, grad) = custom::value_and_grad(w, b, x);
        let (value_b, grad_b) = builtin::value_and_grad(w, b, x);
        assert!(close(value, value_b), "{value} vs {value_b}");
        assert!(
            close(grad.w, grad_b.w) && close(grad.b, grad_b.b),
            "{grad:?} vs {grad_b:?}"
        );
        let (h, h_b) = (custom::hessian(w, b, x), builtin::hessian(w, b, x));
        for (a, b) in h.iter().zip(h_b.iter()) {
            assert!(close(*a, *b), "{h} vs {h_b}");
        }
        let v = custom::Grad { w: 1.0, b: -2.0 };
        let hv = custom::hvp(w, b, x, v);
        assert!(close(hv.w, h[(0, 0)] - 2.0 * h[(0, 1)]), "{hv:?}");
    }
}

#[test]
fn a_primitive_hessian_matches_the_one_by_hand() {
    // f = w·s(z), z = wx + b: f_ww = 2x·s′(z) + w·x²·s″(z), f_wb = s′ + w·x·s″, f_bb = w·s″.
    let (w, b, x) = (0.8, -0.3, 1.25);
    let z = w * x + b;
    let y = <Swish as Primitive<f64>>::value(z);
    let (d1, d2) = (
        <Swish as Primitive<f64>>::derivative(z, y),
        <Swish as SecondDerivative<f64>>::second_derivative(z, y),
    );
    let h = custom::hessian(w, b, x);
    assert!(close(h[(0, 0)], 2.0 * x * d1 + w * x * x * d2), "{h}");
    assert!(close(h[(0, 1)], d1 + w * x * d2), "{h}");
    assert!(close(h[(1, 1)], w * d2), "{h}");
}

graph! {
    /// Element by element on a vector, like a built-in.
    #[primitive(swish = Swish, cube = Cube)]
    fn layer(w: SVector<f64, 3>, #[no_grad] x: SVector<f64, 3>) -> f64 {
        dot(swish(w), x) + sum(cube(w))
    }
}

#[test]
fn a_primitive_works_element_wise_on_matrices() {
    let (w, x) = (
        SVector::<f64, 3>::new(-1.0, 0.5, 2.0),
        SVector::<f64, 3>::new(0.3, -1.2, 2.0),
    );
    let (value, grad) = layer::value_and_grad(w, x);
    let mut expected = 0.0;
    for i in 0..3 {
        let y = <Swish as Primitive<f64>>::value(w[i]);
        expected += y * x[i] + w[i].powi(3);
        let slope = <Swish as Primitive<f64>>::derivative(w[i], y) * x[i] + 3.0 * w[i] * w[i];
        assert!(close(grad.w[i], slope), "{} vs {slope}", grad.w[i]);
    }
    assert!(close(value, expected), "{value} vs {expected}");
}

graph! {
    /// A primitive without a second derivative in a `#[hessian]` graph is fine where it only
    /// sees data: nothing differentiates it twice.
    #[hessian]
    #[primitive(cube = Cube)]
    fn on_data(w: f64, #[no_grad] x: f64) -> f64 {
        w^2 * cube(x)
    }
}

#[test]
fn a_primitive_of_data_needs_no_second_derivative() {
    assert_eq!(on_data::hessian(3.0, 2.0)[(0, 0)], 16.0);
}

graph! {
    /// `f32`, through the same generic implementation.
    #[hessian]
    #[primitive(swish = Swish)]
    fn custom_f32(w: f32) -> f32 {
        swish(w)
    }
}

#[test]
fn a_generic_primitive_serves_f32_graphs_too() {
    let (value, grad) = custom_f32::value_and_grad(0.5);
    assert_eq!(value, <Swish as Primitive<f32>>::value(0.5));
    assert_eq!(grad.w, <Swish as Primitive<f32>>::derivative(0.5, value));
    assert_eq!(
        custom_f32::hessian(0.5)[(0, 0)],
        <Swish as SecondDerivative<f32>>::second_derivative(0.5, value)
    );
}

mod activations {
    /// log(cosh(x)), stably: |x| + ln(1 + e^(−2|x|)) − ln 2.
    pub struct LogCosh;

    impl chainrule::Primitive<f64> for LogCosh {
        fn value(x: f64) -> f64 {
            x.abs() + (-2.0 * x.abs()).exp().ln_1p() - std::f64::consts::LN_2
        }
        fn derivative(x: f64, _y: f64) -> f64 {
            x.tanh()
        }
    }

    impl chainrule::SecondDerivative<f64> for LogCosh {
        fn second_derivative(x: f64, _y: f64) -> f64 {
            1.0 - x.tanh().powi(2)
        }
    }
}

graph! {
    /// A path into a module, relative and absolute; a primitive may shadow a built-in's name.
    #[hessian]
    #[primitive(log_cosh = activations::LogCosh, also = crate::primitive::activations::LogCosh)]
    #[primitive(tanh = Swish)]
    fn paths(x: f64) -> f64 {
        log_cosh(x) + also(x) + tanh(x)
    }
}

#[test]
fn primitive_paths_resolve_where_the_graph_is() {
    let x: f64 = 0.7;
    let expected = 2.0 * x.cosh().ln() + <Swish as Primitive<f64>>::value(x);
    assert!(
        close(paths::forward(x), expected),
        "{} vs {expected}",
        paths::forward(x)
    );
    let s = 1.0 / (1.0 + (-x).exp());
    let curvature = 2.0 * (1.0 - x.tanh().powi(2)) + s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s));
    assert!(close(paths::hessian(x)[(0, 0)], curvature));
}

#[test]
fn a_closure_graph_finds_a_primitive_declared_in_a_function() {
    struct Double;
    impl Primitive<f64> for Double {
        fn value(x: f64) -> f64 {
            2.0 * x
        }
        fn derivative(_x: f64, _y: f64) -> f64 {
            2.0
        }
    }
    let f = graph!(
        #[primitive(double = Double)]
        |x: f64, y: f64| double(x * y) + x
    );
    assert_eq!(f.value_and_grad(3.0, 4.0), (27.0, [9.0, 6.0]));
}
