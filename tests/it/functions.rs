//! Every scalar function's derivative against finite differences and dual numbers.
//!
//! Each closure graph comes with a reference written over `num_dual::Dual64`: forward-mode
//! derivatives that share no code with the generated reverse-mode ones. [`check`] compares the
//! graph's value and gradient with the reference, the gradient with central differences of the
//! graph's own `forward`, and `backward` with `value_and_grad`, at random points of the domain.

use chainrule::graph;
use num_dual::{Dual64, DualNum};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Random points per function.
const CASES: u32 = 128;

/// `|a - b|` within `tolerance · (1 + |a|)`: relative for large values, absolute near zero.
fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * (1.0 + a.abs())
}

/// Checks a graph of `N` parameters at `at` against `reference` on dual numbers, its gradient
/// against central differences of `forward`, and `backward` against `value_and_grad`.
fn check<const N: usize>(
    at: [f64; N],
    forward: impl Fn([f64; N]) -> f64,
    value_and_grad: impl Fn([f64; N]) -> (f64, [f64; N]),
    backward: impl Fn([f64; N], f64) -> [f64; N],
    reference: impl Fn([Dual64; N]) -> Dual64,
) -> Result<(), TestCaseError> {
    let (value, grad) = value_and_grad(at);
    prop_assert_eq!(value, forward(at), "value_and_grad's value is forward's");
    let exact = reference(at.map(Dual64::from_re)).re;
    prop_assert!(
        close(value, exact, 1e-12),
        "value {} but the reference gives {}",
        value,
        exact
    );
    for (index, &g) in grad.iter().enumerate() {
        // Forward mode: seed the derivative part of one input.
        let seeded =
            std::array::from_fn(|i| Dual64::new(at[i], if i == index { 1.0 } else { 0.0 }));
        let dual = reference(seeded).eps;
        prop_assert!(
            close(g, dual, 1e-12),
            "∂/∂x{} = {} but dual numbers give {}",
            index,
            g,
            dual
        );
        let step = 1e-6 * (1.0 + at[index].abs());
        let (mut up, mut down) = (at, at);
        up[index] += step;
        down[index] -= step;
        let numeric = (forward(up) - forward(down)) / (2.0 * step);
        prop_assert!(
            close(g, numeric, 1e-6),
            "∂/∂x{} = {} but central differences give {}",
            index,
            g,
            numeric
        );
    }
    // `backward` is the vector-Jacobian product: the gradient scaled by `d_out`.
    for d_out in [1.0, -2.5] {
        let scaled = backward(at, d_out);
        for (&b, &g) in scaled.iter().zip(&grad) {
            prop_assert!(
                close(b, d_out * g, 1e-14),
                "backward(d_out = {}) gives {} for gradient {}",
                d_out,
                b,
                g
            );
        }
    }
    Ok(())
}

/// Values in `lo..hi` or `-hi..-lo`: away from zero, where `relu`, `abs` and `1/x` break.
fn either_sign(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![lo..hi, -hi..-lo]
}

/// One proptest per closure graph: `test: (x in domain, ..) [graph body] => dual reference;`,
/// the reference naming the parameters as `Dual64`s. `if` adds a `prop_assume!`.
macro_rules! gradients_match {
    ($(
        $(#[$doc:meta])*
        $test:ident: ($($x:ident in $domain:expr),+) $(if $assume:expr,)? [$($body:tt)*] => $reference:expr;
    )*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(CASES))]
            $(
                $(#[$doc])*
                #[test]
                fn $test($($x in $domain),+) {
                    $(prop_assume!($assume);)?
                    let f = graph!(|$($x: f64),+| $($body)*);
                    check(
                        [$($x),+],
                        |[$($x),+]| f.forward($($x),+),
                        |[$($x),+]| f.value_and_grad($($x),+),
                        |[$($x),+], d_out| f.backward($($x,)+ d_out),
                        |[$($x),+]| $reference,
                    )?;
                }
            )*
        }
    };
}

gradients_match! {
    sin_derivative_is_cos: (x in -10.0..10.0) [sin(x)] => x.sin();
    cos_derivative_is_minus_sin: (x in -10.0..10.0) [cos(x)] => x.cos();
    /// Away from the poles at ±π/2.
    tan_derivative_is_one_plus_tan_squared: (x in -1.3..1.3) [tan(x)] => x.tan();
    exp_derivative_is_itself: (x in -5.0..5.0) [exp(x)] => x.exp();
    ln_derivative_is_reciprocal: (x in 0.05..20.0) [ln(x)] => x.ln();
    log_is_the_natural_logarithm: (x in 0.05..20.0) [log(x)] => x.ln();
    sqrt_derivative_is_half_reciprocal: (x in 0.05..20.0) [sqrt(x)] => x.sqrt();
    tanh_derivative_is_one_minus_tanh_squared: (x in -5.0..5.0) [tanh(x)] => x.tanh();
    sigmoid_derivative_is_s_times_one_minus_s: (x in -20.0..20.0) [sigmoid(x)]
        => ((-x).exp() + 1.0).recip();
    softplus_derivative_is_sigmoid: (x in -20.0..20.0) [softplus(x)] => x.exp().ln_1p();
    /// Away from the kink at 0.
    relu_derivative_is_a_step: (x in either_sign(0.01, 10.0)) [relu(x)]
        => larger(x, Dual64::from_re(0.0));
    abs_derivative_is_the_sign: (x in either_sign(0.01, 10.0)) [abs(x)] => larger(x, -x);

    pow_differentiates_in_base_and_exponent: (x in 0.1..5.0, y in -3.0..3.0) [pow(x, y)]
        => x.powd(y);
    pow_with_a_constant_exponent: (x in 0.1..5.0) [pow(x, 2.5) + pow(3, x)]
        => x.powf(2.5) + (x * 3f64.ln()).exp();
    caret_with_an_integer_exponent: (x in -3.0..3.0) [x^3] => x.powi(3);
    caret_with_a_negative_exponent: (x in either_sign(0.1, 3.0)) [x^-2] => x.powi(-2);
    caret_with_a_fractional_exponent: (x in 0.05..5.0) [x^1.5 + x^-0.5] => x.powf(1.5) + x.powf(-0.5);
    caret_with_a_variable_exponent: (x in 0.1..5.0, y in -3.0..3.0) [x^y] => x.powd(y);
    caret_is_right_associative: (x in 0.5..1.5) [x^2^3] => x.powi(8);
    /// `-x^2` is `-(x^2)`: power binds tighter than unary minus.
    caret_binds_tighter_than_unary_minus: (x in either_sign(0.1, 3.0)) [-x^2 + x^-1^2]
        => -x.powi(2) + x.powi(-1);

    max_takes_the_larger_gradient: (x in -5.0..5.0, y in -5.0..5.0) if f64::abs(x - y) > 0.01,
        [max(x, y)] => larger(x, y);
    min_takes_the_smaller_gradient: (x in -5.0..5.0, y in -5.0..5.0) if f64::abs(x - y) > 0.01,
        [min(x, y)] => smaller(x, y);
    max_and_min_against_constants: (x in either_sign(0.01, 5.0)) [max(x, 0) + min(2x, 0)]
        => larger(x, Dual64::from_re(0.0)) + smaller(x * 2.0, Dual64::from_re(0.0));

    division_differentiates_both_operands: (x in -5.0..5.0, y in either_sign(0.1, 5.0)) [x / y]
        => x / y;
    reciprocal: (x in either_sign(0.1, 5.0)) [1 / x - 3 / (x * x)] => x.recip() - (x * x).recip() * 3.0;
    unary_minus_negates_the_gradient: (x in -5.0..5.0, y in -5.0..5.0) [-x * y - -sin(y)]
        => -x * y + y.sin();
    coefficient_glued_to_a_name: (x in -3.0..3.0, y in -3.0..3.0) [2x + 3y*2x - 0.5y]
        => x * 2.0 + y * x * 6.0 - y * 0.5;
    /// `2x^2` is 2·(x²), and `1e-3x` is 0.001·x.
    coefficient_binds_looser_than_its_power: (x in -3.0..3.0) [2x^2 - 1e-3x] => x.powi(2) * 2.0 - x * 1e-3;

    /// Each use of `s` and `x` adds its own contribution to the adjoint.
    adjoints_of_values_used_several_times_are_summed: (x in -3.0..3.0)
        [{ let s = sin(x); s*s + s*x + exp(s) + x }] => x.sin() * x.sin() + x.sin() * x + x.sin().exp() + x;
    functions_compose: (x in 0.1..2.0, y in -2.0..2.0) [sigmoid(x*y) * softplus(y - x) + sqrt(x + y^2)]
        => ((-(x * y)).exp() + 1.0).recip() * (y - x).exp().ln_1p() + (x + y * y).sqrt();

    atan_derivative_is_one_over_one_plus_x_squared: (x in -10.0..10.0) [atan(x)] => x.atan();
    /// Inside (−1, 1), where the slope is finite.
    asin_derivative_is_one_over_the_root: (x in -0.95..0.95) [asin(x)] => x.asin();
    acos_derivative_is_minus_asins: (x in -0.95..0.95) [acos(x)] => x.acos();
    sinh_derivative_is_cosh: (x in -5.0..5.0) [sinh(x)] => x.sinh();
    cosh_derivative_is_sinh: (x in -5.0..5.0) [cosh(x)] => x.cosh();
    asinh_derivative_is_one_over_hypot: (x in -50.0..50.0) [asinh(x)] => x.asinh();
    erf_derivative_is_the_gaussian: (x in -4.0..4.0) [erf(x)] => erf_dual(x);
    gelu_derivative_is_cdf_plus_x_pdf: (x in -6.0..6.0) [gelu(x)] => gelu_dual(x);
    silu_derivative: (x in -30.0..30.0) [silu(x)] => x * ((-x).exp() + 1.0).recip();
    log1p_derivative: (x in -0.9..10.0) [log1p(x)] => x.ln_1p();
    expm1_derivative_is_exp: (x in -5.0..5.0) [expm1(x)] => x.exp_m1();
    log2_derivative: (x in 0.05..20.0) [log2(x)] => x.log2();
    log10_derivative: (x in 0.05..20.0) [log10(x)] => x.log10();
    exp2_derivative: (x in -5.0..5.0) [exp2(x)] => x.exp2();
    /// Away from 0, where the slope is infinite.
    cbrt_derivative: (x in either_sign(0.05, 10.0)) [cbrt(x)] => x.cbrt();
    square_and_cube_are_powers: (x in -3.0..3.0) [square(x) + cube(x)] => x * x + x.powi(3);
    atan2_differentiates_both_coordinates: (y in -5.0..5.0, x in -5.0..5.0) if f64::hypot(x, y) > 0.1,
        [atan2(y, x)] => y.atan2(x);
    hypot_differentiates_both_legs: (a in -5.0..5.0, b in -5.0..5.0) if f64::hypot(a, b) > 0.1,
        [hypot(a, b)] => (a * a + b * b).sqrt();
    /// Away from the bounds, where `clamp` switches.
    clamp_passes_the_gradient_inside_the_bounds_only: (x in -5.0..5.0, lo in -3.0..-1.0, hi in 1.0..3.0)
        if f64::abs(x - lo) > 0.01 && f64::abs(x - hi) > 0.01,
        [clamp(x, lo, hi)] => smaller(larger(x, lo), hi);
    leaky_relu_differentiates_in_x_and_the_slope: (x in either_sign(0.01, 5.0), s in 0.0..1.0)
        [leaky_relu(x, s)] => if x.re > 0.0 { x } else { x * s };
    elu_is_expm1_below_zero: (x in either_sign(0.01, 5.0)) [elu(x)]
        => if x.re > 0.0 { x } else { x.exp_m1() };
    elu_with_an_alpha: (x in either_sign(0.01, 5.0), a in 0.1..2.0) [elu(x, a)]
        => if x.re > 0.0 { x } else { a * x.exp_m1() };
}

#[test]
fn stop_gradient_takes_part_in_the_value_but_passes_no_gradient() {
    // d(x·sg(x) + sg(sin x))/dx = sg(x) = x, not 2x + cos x.
    let f = graph!(|x: f64| x * stop_gradient(x) + stop_gradient(sin(x)));
    for x in [-2.5, -0.3, 0.0, 1.7] {
        assert_eq!(f.value_and_grad(x), (x * x + x.sin(), [x]));
        assert_eq!(f.backward(x, 2.0), [2.0 * x]);
    }
    // A whole subgraph is cut off: only the direct use of `w` is differentiated.
    let g = graph!(|w: f64| {
        let h = tanh(3w);
        w * stop_gradient(h * h)
    });
    let h = (3.0f64 * 0.4).tanh();
    assert_eq!(g.value_and_grad(0.4).1, [h * h]);
}

/// erf on a dual number: the runtime's value, and the derivative 2/√π·e^(−x²).
fn erf_dual(x: Dual64) -> Dual64 {
    let slope = std::f64::consts::FRAC_2_SQRT_PI * (-x.re * x.re).exp();
    Dual64::new(chainrule::runtime::erf(x.re), x.eps * slope)
}

/// gelu on a dual number: the runtime's value, and the derivative Φ(x) + x·φ(x).
fn gelu_dual(x: Dual64) -> Dual64 {
    let pdf = (-0.5 * x.re * x.re).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let slope = chainrule::runtime::scalar::normal_cdf(x.re) + x.re * pdf;
    Dual64::new(chainrule::runtime::gelu(x.re), x.eps * slope)
}

/// The larger of two dual numbers, with its derivative: `max` and `relu` pick a branch.
fn larger(a: Dual64, b: Dual64) -> Dual64 {
    if a.re > b.re {
        a
    } else {
        b
    }
}

/// The smaller of two dual numbers, with its derivative.
fn smaller(a: Dual64, b: Dual64) -> Dual64 {
    if a.re < b.re {
        a
    } else {
        b
    }
}

graph! {
    /// The lecture's graph, as a function: its gradient is a struct.
    fn lecture(x: f64, y: f64, z: f64) -> f64 {
        tanh(ln(1 + z*2x/sin(y)))
    }
}

graph! {
    /// The same graph in `f32`.
    fn lecture_f32(x: f32, y: f32, z: f32) -> f32 {
        tanh(ln(1 + z*2x/sin(y)))
    }
}

graph! {
    /// A neuron: `x` is data, so it has no gradient.
    fn neuron(w: f64, b: f64, #[no_grad] x: f64) -> f64 {
        tanh(w*x + b)
    }
}

chainrule::graph! {
    /// `ignored` does not reach the output; no warning for it in `forward` either.
    pub fn ignores_a_parameter(x: f64, ignored: f64) -> f64 {
        let unused = exp(ignored);
        x * x
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn fn_form_gradient_matches_dual_numbers(x in 0.1..2.0, y in 0.5..2.5, z in 0.1..2.0) {
        check(
            [x, y, z],
            |[x, y, z]| lecture::forward(x, y, z),
            |[x, y, z]| {
                let (value, grad) = lecture::value_and_grad(x, y, z);
                (value, [grad.x, grad.y, grad.z])
            },
            |[x, y, z], d_out| {
                let grad = lecture::backward(x, y, z, d_out);
                [grad.x, grad.y, grad.z]
            },
            |[x, y, z]| ((z * x * 2.0 / y.sin()) + 1.0).ln().tanh(),
        )?;
    }

    #[test]
    fn f32_graph_agrees_with_its_f64_twin(x in 0.1f32..2.0, y in 0.5f32..2.5, z in 0.1f32..2.0) {
        let (value, grad) = lecture_f32::value_and_grad(x, y, z);
        let (value64, grad64) = lecture::value_and_grad(x.into(), y.into(), z.into());
        prop_assert!(close(value.into(), value64, 1e-5), "{} vs {}", value, value64);
        for (g, g64) in [(grad.x, grad64.x), (grad.y, grad64.y), (grad.z, grad64.z)] {
            prop_assert!(close(g.into(), g64, 1e-5), "{} vs {}", g, g64);
        }
        prop_assert_eq!(lecture_f32::forward(x, y, z), value);
    }

    #[test]
    fn backward_scales_linearly_with_d_out(w in -2.0..2.0, b in -2.0..2.0, x in -2.0..2.0, d_out in -10.0..10.0) {
        let (_, grad) = neuron::value_and_grad(w, b, x);
        let scaled = neuron::backward(w, b, x, d_out);
        prop_assert!(close(scaled.w, d_out * grad.w, 1e-14), "{:?} vs {:?}", scaled, grad);
        prop_assert!(close(scaled.b, d_out * grad.b, 1e-14), "{:?} vs {:?}", scaled, grad);
        let sum = neuron::backward(w, b, x, d_out + 1.0);
        prop_assert!(close(sum.w, scaled.w + grad.w, 1e-12), "{:?} vs {:?}", sum, scaled);
    }
}

#[test]
fn no_grad_parameters_have_no_grad_field() {
    // An exhaustive struct literal: it would not compile if `Grad` had a field `x`.
    let (w, b, x) = (0.5, -0.25, 2.0);
    let t = f64::tanh(w * x + b);
    let expected = neuron::Grad {
        w: (1.0 - t * t) * x,
        b: 1.0 - t * t,
    };
    let grad = neuron::value_and_grad(w, b, x).1;
    assert!(
        (grad.w - expected.w).abs() < 1e-15,
        "{grad:?} vs {expected:?}"
    );
    assert!(
        (grad.b - expected.b).abs() < 1e-15,
        "{grad:?} vs {expected:?}"
    );
    let closure = graph!(|w: f64, #[no_grad] x: f64, b: f64| tanh(w * x + b));
    let [d_w, d_b] = closure.value_and_grad(w, x, b).1;
    assert_eq!([d_w, d_b], [grad.w, grad.b]);
}

#[test]
fn sigmoid_and_softplus_and_their_gradients_stay_finite_at_a_thousand() {
    let sigmoid = graph!(|x: f64| sigmoid(x));
    let softplus = graph!(|x: f64| softplus(x));
    assert_eq!(sigmoid.value_and_grad(1000.0), (1.0, [0.0]));
    assert_eq!(sigmoid.value_and_grad(-1000.0), (0.0, [0.0]));
    assert_eq!(softplus.value_and_grad(1000.0), (1000.0, [1.0]));
    assert_eq!(softplus.value_and_grad(-1000.0), (0.0, [0.0]));
    let scaled = graph!(|x: f64, y: f64| sigmoid(1000x) * softplus(-1000y));
    for (x, y) in [(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)] {
        let (value, grad) = scaled.value_and_grad(x, y);
        assert!(
            value.is_finite() && grad.iter().all(|g| g.is_finite()),
            "{value} {grad:?}"
        );
        assert_eq!(scaled.backward(x, y, 1.0), grad);
    }
}

#[test]
fn closure_gradient_is_in_parameter_order() {
    let f = graph!(|a: f64, b: f64, c: f64, d: f64| a + 2b + 3c + 4d);
    assert_eq!(
        f.value_and_grad(1.0, 1.0, 1.0, 1.0),
        (10.0, [1.0, 2.0, 3.0, 4.0])
    );
    assert_eq!(f.backward(0.0, 0.0, 0.0, 0.0, 2.0), [2.0, 4.0, 6.0, 8.0]);
    let g = graph!(|z: f64, #[no_grad] y: f64, x: f64| z - x * y);
    assert_eq!(g.value_and_grad(1.0, 5.0, 2.0), (-9.0, [1.0, -5.0]));
}

#[test]
fn a_parameter_the_output_ignores_has_a_zero_gradient() {
    let (value, grad) = ignores_a_parameter::value_and_grad(3.0, 1e300);
    assert_eq!((value, grad.x, grad.ignored), (9.0, 6.0, 0.0));
    assert_eq!(
        ignores_a_parameter::backward(3.0, f64::NAN, 2.0).ignored,
        0.0
    );
    let f = graph!(|x: f64, y: f64, z: f64| y ^ 2);
    assert_eq!(f.value_and_grad(1.0, 3.0, 2.0), (9.0, [0.0, 6.0, 0.0]));
}

#[test]
fn stable_forms_stay_finite_and_accurate_at_the_extremes() {
    let hypot = graph!(|a: f64, b: f64| hypot(a, b));
    let (value, [da, db]) = hypot.value_and_grad(3e200, 4e200);
    // No overflow in a² + b².
    assert!(close(value, 5e200, 1e-15) && close(da, 0.6, 1e-15) && close(db, 0.8, 1e-15));
    let atan2 = graph!(|y: f64, x: f64| atan2(y, x));
    let (_, [dy, dx]) = atan2.value_and_grad(1e200, 1e200);
    assert!(
        close(dy, 0.5e-200, 1e-15) && close(dx, -0.5e-200, 1e-15),
        "{dy} {dx}"
    );
    let asinh = graph!(|x: f64| asinh(x));
    assert!(close(asinh.value_and_grad(1e300).1[0], 1e-300, 1e-15));
    // Near 0, ln(1 + x) and eˣ − 1 keep every digit of x.
    let small = graph!(|x: f64| log1p(x) + expm1(x));
    assert_eq!(small.value_and_grad(1e-20), (2e-20, [2.0]));
    // Far out, the activations are their limits, with finite slopes.
    let activations = graph!(|x: f64| gelu(x) + silu(x) + elu(x) + erf(x));
    assert_eq!(activations.value_and_grad(1000.0), (3001.0, [3.0]));
    let (value, [slope]) = activations.value_and_grad(-1000.0);
    assert_eq!((value, slope), (-2.0, 0.0));
    let gelu = graph!(|x: f64| gelu(x));
    let (value, [slope]) = gelu.value_and_grad(-10.0);
    // Φ(−10) ≈ 7.6e−24 through erfc, not 0 from 1 + erf(−10/√2) cancelling.
    assert!(
        value < 0.0 && close(value / -10.0, 7.619853024160527e-24, 1e-12),
        "{value}"
    );
    assert!(slope.is_finite() && slope.abs() < 1e-20, "{slope}");
}

#[test]
fn constants_folded_at_compile_time_agree_with_the_runtime() {
    // `f(0.7)` of a constant is folded by the compiler's evaluator; the runtime computes the
    // same function where the argument is a parameter. They must agree to the bit.
    macro_rules! agree {
        ($($f:ident),*) => {$({
            let folded = graph!(|x: f64| x * $f(0.7));
            let computed = graph!(|x: f64| $f(x));
            assert_eq!(folded.forward(1.0).to_bits(), computed.forward(0.7).to_bits(), stringify!($f));
        })*};
    }
    agree!(
        erf, gelu, silu, atan, asin, acos, sinh, cosh, asinh, log1p, expm1, log2, log10, exp2,
        cbrt, sigmoid, softplus
    );
}
