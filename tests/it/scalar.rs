//! Scalar graphs compiled by `graph!`, checked against hand-derived formulas.

use chainrule::graph;

graph! {
    /// The lecture's computational graph.
    pub fn lecture(x: f64, y: f64, z: f64) -> f64 {
        tanh(ln(1 + z*2x/sin(y)))
    }
}

#[test]
fn lecture_gradient_matches_the_slide_formula() {
    let (x, y, z) = (0.3, 1.1, 0.7);
    let (value, grad) = lecture::value_and_grad(x, y, z);
    let b = f64::sin(y);
    let d = z * 2.0 * x / b;
    let e = (1.0 + d).ln();
    // ∂f/∂x = (1 − tanh²(e)) · 1/(d+1) · z · 1/b · 2
    let slide = (1.0 - e.tanh().powi(2)) / (d + 1.0) * z / b * 2.0;
    assert!((value - e.tanh()).abs() < 1e-15);
    assert!((grad.x - slide).abs() < 1e-14, "{} vs {slide}", grad.x);
    assert_eq!(lecture::forward(x, y, z), value);
}

graph! {
    /// `out`'s adjoint spells `d_out`, like the backward pass's seed.
    fn named_out(x: f64) -> f64 {
        let out = x * x;
        out * out + x
    }
}

#[test]
fn a_let_named_out_does_not_capture_the_backward_seed() {
    let x = 1.5;
    // f = x⁴ + x, so f' = 4x³ + 1, and backward scales it by d_out.
    let expected = 4.0 * x * x * x + 1.0;
    assert_eq!(named_out::value_and_grad(x).1.x, expected);
    assert_eq!(named_out::backward(x, 3.0).x, 3.0 * expected);
}
