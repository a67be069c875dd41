//! Second derivatives: `#[hessian]` graphs' `hessian` and `hvp`.
//!
//! Every built-in function's Hessian is checked at random points against its second
//! derivative worked out by hand and written out below, against num-dual's `HyperDual64`
//! (forward-mode second derivatives that share no code with the generated reverse-over-reverse
//! ones; `erf` and `gelu`, which num-dual lacks, against central differences only), and
//! against central differences of the generated gradient. `hvp` is checked against
//! `hessian · v` and against central differences of `backward`, for scalar and matrix
//! parameters.

use chainrule::graph;
use chainrule::nalgebra::{SMatrix, SVector};
use num_dual::{DualNum, HyperDual64};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Random points per function.
const CASES: u32 = 64;

/// `|a - b|` within `tolerance · (1 + |a| + |b|)`.
fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * (1.0 + a.abs() + b.abs())
}

/// The Hessian of `f` at `at` by hyper-dual numbers: entry (i, j) seeds `eps1` on `i` and
/// `eps2` on `j`, and reads `eps1eps2`.
fn dual_hessian<const N: usize>(
    f: impl Fn([HyperDual64; N]) -> HyperDual64,
    at: [f64; N],
) -> [[f64; N]; N] {
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let x = std::array::from_fn(|k| {
                let (e1, e2) = (f64::from(u8::from(k == i)), f64::from(u8::from(k == j)));
                HyperDual64::new(at[k], e1, e2, 0.0)
            });
            f(x).eps1eps2
        })
    })
}

/// The larger of two hyper-dual numbers, derivatives and all (`max` picks a branch).
fn larger(a: HyperDual64, b: HyperDual64) -> HyperDual64 {
    if a.re > b.re {
        a
    } else {
        b
    }
}

fn smaller(a: HyperDual64, b: HyperDual64) -> HyperDual64 {
    if a.re < b.re {
        a
    } else {
        b
    }
}

fn constant(x: f64) -> HyperDual64 {
    HyperDual64::from_re(x)
}

/// Checks a graph's Hessian at `at`: symmetric bit for bit, equal to `hand` (the second
/// derivatives worked out by hand), to `dual` (hyper-dual numbers) when given, and to central
/// differences of the gradient; and `hvp` along two directions equal to `hessian · v`, and to
/// central differences of the gradient along `v`.
fn check<const N: usize>(
    at: [f64; N],
    hessian: SMatrix<f64, N, N>,
    hand: [[f64; N]; N],
    dual: Option<[[f64; N]; N]>,
    gradient: impl Fn([f64; N]) -> [f64; N],
    hvp: impl Fn([f64; N], [f64; N]) -> [f64; N],
) -> Result<(), TestCaseError> {
    for i in 0..N {
        for j in 0..N {
            let h = hessian[(i, j)];
            prop_assert_eq!(h.to_bits(), hessian[(j, i)].to_bits(), "not symmetric");
            prop_assert!(
                close(h, hand[i][j], 1e-10),
                "H[{}][{}] = {} but by hand {}",
                i,
                j,
                h,
                hand[i][j]
            );
            if let Some(dual) = dual {
                prop_assert!(
                    close(h, dual[i][j], 1e-10),
                    "H[{}][{}] = {} but hyper-dual numbers give {}",
                    i,
                    j,
                    h,
                    dual[i][j]
                );
            }
        }
        let step = 1e-5 * (1.0 + at[i].abs());
        let (mut up, mut down) = (at, at);
        up[i] += step;
        down[i] -= step;
        let (g_up, g_down) = (gradient(up), gradient(down));
        for j in 0..N {
            let numeric = (g_up[j] - g_down[j]) / (2.0 * step);
            prop_assert!(
                close(hessian[(j, i)], numeric, 1e-5),
                "H[{}][{}] = {} but central differences of the gradient give {}",
                j,
                i,
                hessian[(j, i)],
                numeric
            );
        }
    }
    for v in [[1.0; N], std::array::from_fn(|i| 0.5 - i as f64)] {
        let product = hvp(at, v);
        let step = 1e-5;
        let up = gradient(std::array::from_fn(|i| at[i] + step * v[i]));
        let down = gradient(std::array::from_fn(|i| at[i] - step * v[i]));
        for i in 0..N {
            let expected: f64 = (0..N).map(|j| hessian[(i, j)] * v[j]).sum();
            prop_assert!(
                close(product[i], expected, 1e-12),
                "hvp[{}] = {} but hessian · v = {}",
                i,
                product[i],
                expected
            );
            let numeric = (up[i] - down[i]) / (2.0 * step);
            prop_assert!(
                close(product[i], numeric, 1e-5),
                "hvp[{}] = {} but central differences of the gradient give {}",
                i,
                product[i],
                numeric
            );
        }
    }
    Ok(())
}

/// Values in `lo..hi` or `-hi..-lo`: away from the kinks at zero.
fn either_sign(lo: f64, hi: f64) -> impl Strategy<Value = f64> {
    prop_oneof![lo..hi, -hi..-lo]
}

/// One `#[hessian]` graph and one proptest per line:
/// `name: (x in domain, ..) [if assumption,] [body] => [[by hand]], dual |x, ..| reference;`.
/// The graph is a module `name`; the test, a function `name`.
macro_rules! hessians_match {
    ($(
        $(#[$doc:meta])*
        $test:ident: ($($x:ident in $domain:expr),+) $(if $assume:expr,)? [$($body:tt)*]
            => $hand:expr $(, dual |$($dx:ident),+| $dual:expr)?;
    )*) => {
        $(
            graph! {
                #[hessian]
                fn $test($($x: f64),+) -> f64 { $($body)* }
            }
        )*
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(CASES))]
            $(
                $(#[$doc])*
                #[test]
                fn $test($($x in $domain),+) {
                    $(let $x: f64 = $x;)+
                    $(prop_assume!($assume);)?
                    let hand = $hand;
                    let at = [$($x),+];
                    let dual = None $(.or(Some(dual_hessian(|[$($dx),+]| $dual, at))))?;
                    check(
                        at,
                        $test::hessian($($x),+),
                        hand,
                        dual,
                        |[$($x),+]| {
                            let grad = $test::value_and_grad($($x),+).1;
                            [$(grad.$x),+]
                        },
                        |[$($x),+], v| {
                            let mut direction = $test::Grad::default();
                            let mut values = v.into_iter();
                            $(direction.$x = values.next().expect("one value per parameter");)+
                            let product = $test::hvp($($x,)+ direction);
                            [$(product.$x),+]
                        },
                    )?;
                }
            )*
        }
    };
}

/// σ(x), by hand.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// φ(x), the standard normal density, by hand.
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

hessians_match! {
    sin_curvature: (x in -10.0..10.0) [sin(x)] => [[-x.sin()]], dual |x| x.sin();
    cos_curvature: (x in -10.0..10.0) [cos(x)] => [[-x.cos()]], dual |x| x.cos();
    tan_curvature: (x in -1.3..1.3) [tan(x)]
        => [[2.0 * x.tan() * (1.0 + x.tan().powi(2))]], dual |x| x.tan();
    exp_curvature: (x in -5.0..5.0) [exp(x)] => [[x.exp()]], dual |x| x.exp();
    ln_curvature: (x in 0.05..20.0) [ln(x)] => [[-1.0 / (x * x)]], dual |x| x.ln();
    sqrt_curvature: (x in 0.05..20.0) [sqrt(x)] => [[-0.25 * x.powf(-1.5)]], dual |x| x.sqrt();
    tanh_curvature: (x in -5.0..5.0) [tanh(x)]
        => [[-2.0 * x.tanh() * (1.0 - x.tanh().powi(2))]], dual |x| x.tanh();
    sigmoid_curvature: (x in -20.0..20.0) [sigmoid(x)]
        => { let s = sigmoid(x); [[s * (1.0 - s) * (1.0 - 2.0 * s)]] },
        dual |x| ((-x).exp() + 1.0).recip();
    softplus_curvature: (x in -20.0..20.0) [softplus(x)]
        => { let s = sigmoid(x); [[s * (1.0 - s)]] }, dual |x| x.exp().ln_1p();
    /// Piecewise linear: no curvature off the kink.
    relu_curvature: (x in either_sign(0.01, 10.0)) [relu(x)] => [[0.0]],
        dual |x| larger(x, constant(0.0));
    abs_curvature: (x in either_sign(0.01, 10.0)) [abs(x)] => [[0.0]], dual |x| larger(x, -x);
    atan_curvature: (x in -10.0..10.0) [atan(x)]
        => [[-2.0 * x / (1.0 + x * x).powi(2)]], dual |x| x.atan();
    asin_curvature: (x in -0.95..0.95) [asin(x)]
        => [[x / (1.0 - x * x).powf(1.5)]], dual |x| x.asin();
    acos_curvature: (x in -0.95..0.95) [acos(x)]
        => [[-x / (1.0 - x * x).powf(1.5)]], dual |x| x.acos();
    sinh_curvature: (x in -5.0..5.0) [sinh(x)] => [[x.sinh()]], dual |x| x.sinh();
    cosh_curvature: (x in -5.0..5.0) [cosh(x)] => [[x.cosh()]], dual |x| x.cosh();
    asinh_curvature: (x in -50.0..50.0) [asinh(x)]
        => [[-x / (x * x + 1.0).powf(1.5)]], dual |x| x.asinh();
    /// num-dual has no erf: by hand and central differences only.
    erf_curvature: (x in -4.0..4.0) [erf(x)]
        => [[-4.0 * x / std::f64::consts::PI.sqrt() * (-x * x).exp()]];
    /// gelu″ = φ(x)·(2 − x²).
    gelu_curvature: (x in -6.0..6.0) [gelu(x)] => [[normal_pdf(x) * (2.0 - x * x)]];
    silu_curvature: (x in -30.0..30.0) [silu(x)]
        => { let s = sigmoid(x); [[s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s))]] },
        dual |x| x * ((-x).exp() + 1.0).recip();
    log1p_curvature: (x in -0.9..10.0) [log1p(x)]
        => [[-1.0 / (1.0 + x).powi(2)]], dual |x| x.ln_1p();
    expm1_curvature: (x in -5.0..5.0) [expm1(x)] => [[x.exp()]], dual |x| x.exp_m1();
    log2_curvature: (x in 0.05..20.0) [log2(x)]
        => [[-1.0 / (x * x * std::f64::consts::LN_2)]], dual |x| x.log2();
    log10_curvature: (x in 0.05..20.0) [log10(x)]
        => [[-1.0 / (x * x * std::f64::consts::LN_10)]], dual |x| x.log10();
    exp2_curvature: (x in -5.0..5.0) [exp2(x)]
        => [[x.exp2() * std::f64::consts::LN_2.powi(2)]], dual |x| x.exp2();
    /// cbrt″ = −2/(9·∛x⁵), both signs.
    cbrt_curvature: (x in either_sign(0.05, 10.0)) [cbrt(x)]
        => [[-2.0 / (9.0 * x.cbrt().powi(5))]], dual |x| x.cbrt();
    square_curvature: (x in -5.0..5.0) [square(x)] => [[2.0]], dual |x| x * x;
    cube_curvature: (x in -5.0..5.0) [cube(x)] => [[6.0 * x]], dual |x| x.powi(3);
    integer_powers_curvature: (x in either_sign(0.1, 3.0)) [x^3 + x^-2]
        => [[6.0 * x + 6.0 / x.powi(4)]], dual |x| x.powi(3) + x.powi(-2);
    fractional_power_curvature: (x in 0.05..5.0) [x^1.5 + pow(3, x)]
        => [[0.75 / x.sqrt() + 3f64.powf(x) * 3f64.ln().powi(2)]],
        dual |x| x.powf(1.5) + (x * 3f64.ln()).exp();
    /// elu(x) = x above 0, eˣ − 1 below.
    elu_curvature: (x in either_sign(0.01, 5.0)) [elu(x)]
        => [[if x > 0.0 { 0.0 } else { x.exp() }]],
        dual |x| if x.re > 0.0 { x } else { x.exp_m1() };
    leaky_relu_curvature: (x in either_sign(0.01, 5.0)) [leaky_relu(x, 0.1)] => [[0.0]],
        dual |x| if x.re > 0.0 { x } else { x * 0.1 };
    clamp_curvature: (x in -3.0..3.0) if f64::abs(x + 1.0) > 0.01 && f64::abs(x - 2.0) > 0.01,
        [clamp(x, -1, 2)] => [[0.0]], dual |x| smaller(larger(x, constant(-1.0)), constant(2.0));

    pow_curvature: (x in 0.1..5.0, y in -3.0..3.0) [pow(x, y)]
        => [
            [y * (y - 1.0) * x.powf(y - 2.0), x.powf(y - 1.0) * (1.0 + y * x.ln())],
            [x.powf(y - 1.0) * (1.0 + y * x.ln()), x.powf(y) * x.ln().powi(2)],
        ],
        dual |x, y| x.powd(y);
    division_curvature: (x in -5.0..5.0, y in either_sign(0.1, 5.0)) [x / y]
        => [[0.0, -1.0 / (y * y)], [-1.0 / (y * y), 2.0 * x / y.powi(3)]], dual |x, y| x / y;
    /// With r² = x² + y²: θ_yy = −2xy/r⁴, θ_yx = (y² − x²)/r⁴, θ_xx = 2xy/r⁴.
    atan2_curvature: (y in -5.0..5.0, x in -5.0..5.0) if f64::hypot(x, y) > 0.1, [atan2(y, x)]
        => {
            let r4 = (x * x + y * y).powi(2);
            [[-2.0 * x * y / r4, (y * y - x * x) / r4], [(y * y - x * x) / r4, 2.0 * x * y / r4]]
        },
        dual |y, x| y.atan2(x);
    /// With r = hypot(a, b): h_aa = b²/r³, h_ab = −ab/r³, h_bb = a²/r³.
    hypot_curvature: (a in -5.0..5.0, b in -5.0..5.0) if f64::hypot(a, b) > 0.1, [hypot(a, b)]
        => {
            let r3 = f64::hypot(a, b).powi(3);
            [[b * b / r3, -a * b / r3], [-a * b / r3, a * a / r3]]
        },
        dual |a, b| (a * a + b * b).sqrt();
    max_min_curvature: (x in -5.0..5.0, y in -5.0..5.0) if f64::abs(x - y) > 0.01,
        [max(x, y) + min(x, y) * 2] => [[0.0, 0.0], [0.0, 0.0]],
        dual |x, y| larger(x, y) + smaller(x, y) * 2.0;
    /// Below 0, leaky_relu(x, s) = s·x: ∂²/∂x∂s = 1.
    leaky_relu_slope_curvature: (x in either_sign(0.01, 5.0), s in 0.0..1.0) [leaky_relu(x, s)]
        => if x > 0.0 { [[0.0, 0.0], [0.0, 0.0]] } else { [[0.0, 1.0], [1.0, 0.0]] },
        dual |x, s| if x.re > 0.0 { x } else { x * s };
    /// Below 0, elu(x, a) = a·(eˣ − 1).
    elu_alpha_curvature: (x in either_sign(0.01, 5.0), a in 0.1..2.0) [elu(x, a)]
        => if x > 0.0 {
            [[0.0, 0.0], [0.0, 0.0]]
        } else {
            [[a * x.exp(), x.exp()], [x.exp(), 0.0]]
        },
        dual |x, a| if x.re > 0.0 { x } else { a * x.exp_m1() };
    clamp_bounds_curvature: (x in -5.0..5.0, lo in -3.0..-1.0, hi in 1.0..3.0)
        if f64::abs(x - lo) > 0.01 && f64::abs(x - hi) > 0.01,
        [clamp(x, lo, hi)] => [[0.0; 3]; 3], dual |x, lo, hi| smaller(larger(x, lo), hi);
    /// The lecture's graph: every kind of node, composed.
    lecture_curvature: (x in 0.1..2.0, y in 0.5..2.5, z in 0.1..2.0) [tanh(ln(1 + z*2x/sin(y)))]
        => dual_hessian(|[x, y, z]| ((z * x * 2.0 / y.sin()) + 1.0).ln().tanh(), [x, y, z]);
}

graph! {
    /// x²·sg(x): sg(x) is a constant to every derivative, as JAX's `stop_gradient` is.
    #[hessian]
    fn held(x: f64) -> f64 { x^2 * stop_gradient(x) }
}

#[test]
fn stop_gradient_is_a_constant_to_the_second_derivative_too() {
    for x in [-2.5, -0.5, 0.0, 1.5] {
        // The gradient is 2x·sg(x) = 2x², but the curvature is 2·sg(x) = 2x, not 4x: the
        // Hessian is not the derivative of the gradient through `stop_gradient`.
        assert_eq!(
            held::value_and_grad(x),
            (x * x * x, held::Grad { x: 2.0 * x * x })
        );
        assert_eq!(held::hessian(x)[(0, 0)], 2.0 * x);
        assert_eq!(held::hvp(x, held::Grad { x: 3.0 }).x, 6.0 * x);
    }
}

graph! {
    /// The example, word for word.
    #[hessian]
    pub fn rosenbrock(x: f64, y: f64) -> f64 { (1 - x)^2 + 100*(y - x^2)^2 }
}

/// The Rosenbrock Hessian, by hand: ∂²/∂x² = 2 − 400(y − x²) + 800x², ∂²/∂x∂y = −400x,
/// ∂²/∂y² = 200.
fn rosenbrock_by_hand(x: f64, y: f64) -> SMatrix<f64, 2, 2> {
    SMatrix::<f64, 2, 2>::new(
        2.0 - 400.0 * (y - x * x) + 800.0 * x * x,
        -400.0 * x,
        -400.0 * x,
        200.0,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn rosenbrock_hessian_is_the_hand_derived_one(x in -2.0..2.0, y in -1.0..3.0, vx in -2.0..2.0, vy in -2.0..2.0) {
        let h: SMatrix<f64, 2, 2> = rosenbrock::hessian(x, y);
        let hand = rosenbrock_by_hand(x, y);
        for (got, want) in h.iter().zip(hand.iter()) {
            prop_assert!(close(*got, *want, 1e-12), "{} vs {}", h, hand);
        }
        let hv: rosenbrock::Grad = rosenbrock::hvp(x, y, rosenbrock::Grad { x: vx, y: vy });
        let expected = h * SVector::<f64, 2>::new(vx, vy);
        prop_assert!(close(hv.x, expected[0], 1e-12) && close(hv.y, expected[1], 1e-12), "{:?} vs {}", hv, expected);
    }
}

#[test]
fn rosenbrock_hvp_along_a_unit_vector_is_a_column_of_the_hessian() {
    let (x, y) = (-1.2, 1.0);
    let hv = rosenbrock::hvp(x, y, rosenbrock::Grad { x: 1.0, y: 0.0 });
    let h = rosenbrock::hessian(x, y);
    assert_eq!((hv.x, hv.y), (h[(0, 0)], h[(1, 0)]));
    assert_eq!(h, rosenbrock_by_hand(x, y));
}

graph! {
    /// `#[no_grad]` parameters are not rows of the Hessian.
    #[hessian]
    fn scaled(x: f64, #[no_grad] c: f64, y: f64) -> f64 { c * x^2 * y + exp(c * y) }
}

#[test]
fn no_grad_parameters_are_left_out_of_the_hessian() {
    let (x, c, y) = (0.7, 1.5, -0.4);
    let h: SMatrix<f64, 2, 2> = scaled::hessian(x, c, y);
    let by_hand =
        SMatrix::<f64, 2, 2>::new(2.0 * c * y, 2.0 * c * x, 2.0 * c * x, c * c * (c * y).exp());
    assert!((h - by_hand).abs().max() < 1e-14, "{h} vs {by_hand}");
    let hv = scaled::hvp(x, c, y, scaled::Grad { x: 1.0, y: 2.0 });
    assert!((hv.x - (h[(0, 0)] + 2.0 * h[(0, 1)])).abs() < 1e-14);
}

graph! {
    /// The same in `f32`.
    #[hessian]
    fn rosenbrock_f32(x: f32, y: f32) -> f32 { (1 - x)^2 + 100*(y - x^2)^2 }
}

#[test]
fn an_f32_graph_has_an_f32_hessian() {
    let h: SMatrix<f32, 2, 2> = rosenbrock_f32::hessian(-1.2, 1.0);
    let h64 = rosenbrock::hessian(-1.2, 1.0);
    for (a, b) in h.iter().zip(h64.iter()) {
        assert!(
            (f64::from(*a) - b).abs() < 1e-3 * (1.0 + b.abs()),
            "{h} vs {h64}"
        );
    }
}

graph! {
    /// A 2-4-1 tanh network's mean squared error over a batch of 8: matrix parameters, so
    /// `hvp` and no `hessian`.
    #[hessian]
    fn mlp_loss(
        w1: SMatrix<f64, 4, 2>,
        b1: SVector<f64, 4>,
        w2: SMatrix<f64, 1, 4>,
        b2: SVector<f64, 1>,
        #[no_grad] x: SMatrix<f64, 2, 8>,
        #[no_grad] y: SMatrix<f64, 1, 8>,
    ) -> f64 {
        let h = tanh(w1 * x + b1);
        let out = w2 * h + b2;
        mse(out, y)
    }
}

/// Deterministic values in [−1, 1].
fn fill<const R: usize, const C: usize>(seed: u64) -> SMatrix<f64, R, C> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    SMatrix::from_fn(|_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2001) as f64 / 1000.0 - 1.0
    })
}

type Mlp = mlp_loss::Grad;

fn mlp_axpy(p: &Mlp, step: f64, v: &Mlp) -> Mlp {
    Mlp {
        w1: p.w1 + v.w1 * step,
        b1: p.b1 + v.b1 * step,
        w2: p.w2 + v.w2 * step,
        b2: p.b2 + v.b2 * step,
    }
}

fn mlp_dot(a: &Mlp, b: &Mlp) -> f64 {
    a.w1.dot(&b.w1) + a.b1.dot(&b.b1) + a.w2.dot(&b.w2) + a.b2.dot(&b.b2)
}

#[test]
fn mlp_hvp_matches_central_differences_of_backward() {
    let (x, y) = (fill::<2, 8>(1), fill::<1, 8>(2));
    let p = Mlp {
        w1: fill(3),
        b1: fill(4),
        w2: fill(5),
        b2: fill(6),
    };
    let backward = |p: &Mlp| mlp_loss::backward(p.w1, p.b1, p.w2, p.b2, x, y, 1.0);
    for seed in [7, 8, 9] {
        let v = Mlp {
            w1: fill(seed * 10),
            b1: fill(seed * 10 + 1),
            w2: fill(seed * 10 + 2),
            b2: fill(seed * 10 + 3),
        };
        let hv = mlp_loss::hvp(p.w1, p.b1, p.w2, p.b2, x, y, v);
        let step = 1e-5;
        let (up, down) = (
            backward(&mlp_axpy(&p, step, &v)),
            backward(&mlp_axpy(&p, -step, &v)),
        );
        let numeric = mlp_axpy(&up, -1.0, &down);
        let pairs = [
            (hv.w1.as_slice(), numeric.w1.as_slice()),
            (hv.b1.as_slice(), numeric.b1.as_slice()),
            (hv.w2.as_slice(), numeric.w2.as_slice()),
            (hv.b2.as_slice(), numeric.b2.as_slice()),
        ];
        for (got, difference) in pairs {
            for (g, d) in got.iter().zip(difference) {
                let n = d / (2.0 * step);
                assert!((g - n).abs() < 1e-6 * (1.0 + n.abs()), "{g} vs {n}");
            }
        }
    }
    // The Hessian is symmetric: ⟨u, H·v⟩ = ⟨v, H·u⟩.
    let (u, v) = (
        Mlp {
            w1: fill(11),
            b1: fill(12),
            w2: fill(13),
            b2: fill(14),
        },
        Mlp {
            w1: fill(21),
            b1: fill(22),
            w2: fill(23),
            b2: fill(24),
        },
    );
    let hv = mlp_loss::hvp(p.w1, p.b1, p.w2, p.b2, x, y, v);
    let hu = mlp_loss::hvp(p.w1, p.b1, p.w2, p.b2, x, y, u);
    let (uhv, vhu) = (mlp_dot(&u, &hv), mlp_dot(&v, &hu));
    assert!(
        (uhv - vhu).abs() < 1e-12 * (1.0 + uhv.abs()),
        "{uhv} vs {vhu}"
    );
}

graph! {
    /// A vector output: `hvp` takes `d_out`, the Hessian of ⟨d_out, f⟩.
    #[hessian]
    fn layer(w: SMatrix<f64, 3, 2>, b: SVector<f64, 3>, #[no_grad] x: SVector<f64, 2>) -> SVector<f64, 3> {
        softplus(w * x + b) * sum(b)
    }
}

#[test]
fn a_vector_output_hvp_is_the_derivative_of_backward_along_v() {
    let (w, b, x) = (fill::<3, 2>(31), fill::<3, 1>(32), fill::<2, 1>(33));
    let d_out = fill::<3, 1>(34);
    let v = layer::Grad {
        w: fill(35),
        b: fill(36),
    };
    let hv = layer::hvp(w, b, x, d_out, v);
    let step = 1e-5;
    let up = layer::backward(w + v.w * step, b + v.b * step, x, d_out);
    let down = layer::backward(w - v.w * step, b - v.b * step, x, d_out);
    for (g, (u, d)) in hv.w.iter().zip(up.w.iter().zip(down.w.iter())) {
        let n = (u - d) / (2.0 * step);
        assert!((g - n).abs() < 1e-6 * (1.0 + n.abs()), "{g} vs {n}");
    }
    for (g, (u, d)) in hv.b.iter().zip(up.b.iter().zip(down.b.iter())) {
        let n = (u - d) / (2.0 * step);
        assert!((g - n).abs() < 1e-6 * (1.0 + n.abs()), "{g} vs {n}");
    }
}

graph! {
    /// `#[hessian]` beside `#[by_ref]` and `#[tape]`.
    #[hessian]
    #[by_ref]
    #[tape]
    fn quadratic(a: SMatrix<f64, 2, 2>, #[no_grad] x: SVector<f64, 2>) -> f64 {
        sum(tanh(a * x))
    }
}

#[test]
fn hessian_works_beside_by_ref_and_tape() {
    let (a, x) = (fill::<2, 2>(41), fill::<2, 1>(42));
    let v = quadratic::Grad { a: fill(43) };
    let hv = quadratic::hvp(&a, &x, v);
    let step = 1e-5;
    let up = quadratic::backward(&(a + v.a * step), &x, 1.0).a;
    let down = quadratic::backward(&(a - v.a * step), &x, 1.0).a;
    let numeric = (up - down) / (2.0 * step);
    assert!((hv.a - numeric).abs().max() < 1e-6, "{} vs {numeric}", hv.a);
}

graph! {
    /// The per-column operations (column maxima, sums, spreads), softmax and logsumexp over
    /// all elements, and the row means: their curvature through `hvp`.
    #[hessian]
    fn classifier(
        w: SMatrix<f64, 3, 2>,
        b: SVector<f64, 3>,
        #[no_grad] x: SMatrix<f64, 2, 5>,
        #[no_grad] t: SMatrix<f64, 3, 5>,
    ) -> f64 {
        let logits = w * x + b;
        batch_cross_entropy(logits, t) + logsumexp(b) + dot(softmax(w), w) + sum(row_means(logits^2))
    }
}

#[test]
fn per_column_and_softmax_hvp_matches_central_differences_of_backward() {
    let (x, w, b) = (fill::<2, 5>(51), fill::<3, 2>(52), fill::<3, 1>(53));
    // One-hot targets, a class per column.
    let t = SMatrix::<f64, 3, 5>::from_fn(|row, column| f64::from(u8::from(row == column % 3)));
    for seed in [54, 55] {
        let v = classifier::Grad {
            w: fill(seed),
            b: fill(seed + 10),
        };
        let hv = classifier::hvp(w, b, x, t, v);
        let step = 1e-5;
        let up = classifier::backward(w + v.w * step, b + v.b * step, x, t, 1.0);
        let down = classifier::backward(w - v.w * step, b - v.b * step, x, t, 1.0);
        let numeric_w = (up.w - down.w) / (2.0 * step);
        let numeric_b = (up.b - down.b) / (2.0 * step);
        assert!(
            (hv.w - numeric_w).abs().max() < 1e-6,
            "{} vs {numeric_w}",
            hv.w
        );
        assert!(
            (hv.b - numeric_b).abs().max() < 1e-6,
            "{} vs {numeric_b}",
            hv.b
        );
    }
}
