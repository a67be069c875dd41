//! Tensor graphs: every operation's gradient against central finite differences, at several
//! shapes (1×1, a column, non-square), through const-generic probe graphs.

use chainrule::graph;
use chainrule::nalgebra::{SMatrix, SVector};

pub(crate) type M<const R: usize, const C: usize> = SMatrix<f64, R, C>;

/// A deterministic, irregular matrix with entries in (lo, hi).
pub(crate) fn sample<const R: usize, const C: usize>(seed: u32, lo: f64, hi: f64) -> M<R, C> {
    M::from_fn(|i, j| {
        let t = ((seed as usize * 31 + i * 7 + j * 13) as f64 * 0.618_033_988_75).fract();
        lo + (hi - lo) * t
    })
}

/// Central differences of `f` at `at`, element by element.
pub(crate) fn numeric_gradient<const R: usize, const C: usize>(
    at: M<R, C>,
    f: impl Fn(M<R, C>) -> f64,
) -> M<R, C> {
    let h = 1e-6;
    M::from_fn(|i, j| {
        let (mut up, mut down) = (at, at);
        up[(i, j)] += h;
        down[(i, j)] -= h;
        (f(up) - f(down)) / (2.0 * h)
    })
}

#[track_caller]
pub(crate) fn assert_gradient<const R: usize, const C: usize>(
    grad: M<R, C>,
    at: M<R, C>,
    f: impl Fn(M<R, C>) -> f64,
) {
    let numeric = numeric_gradient(at, f);
    for (g, n) in grad.iter().zip(numeric.iter()) {
        assert!(
            (g - n).abs() <= 1e-6 * (1.0 + n.abs()),
            "gradient {grad} differs from finite differences {numeric}"
        );
    }
}

/// Defines, for each unary matrix function, a probe `⟨w, f(a)⟩` and a test at three shapes.
macro_rules! unary_probes {
    ($($test:ident: $name:ident($($f:tt)*) on ($lo:expr, $hi:expr);)*) => {$(
        graph! {
            fn $name<const R: usize, const C: usize>(a: SMatrix<f64, R, C>, #[no_grad] w: SMatrix<f64, R, C>) -> f64 {
                dot(w, $($f)*)
            }
        }

        #[test]
        fn $test() {
            fn check<const R: usize, const C: usize>(seed: u32) {
                let (a, w) = (sample::<R, C>(seed, $lo, $hi), sample::<R, C>(seed + 1, -1.0, 1.0));
                let (value, grad) = $name::value_and_grad(a, w);
                assert_eq!(value, $name::forward(a, w));
                assert_gradient(grad.a, a, |a| $name::forward(a, w));
            }
            check::<1, 1>(1);
            check::<3, 1>(2);
            check::<2, 4>(3);
        }
    )*};
}

unary_probes! {
    sin_is_elementwise: sin_probe(sin(a)) on (-3.0, 3.0);
    cos_is_elementwise: cos_probe(cos(a)) on (-3.0, 3.0);
    tan_is_elementwise: tan_probe(tan(a)) on (-1.2, 1.2);
    exp_is_elementwise: exp_probe(exp(a)) on (-2.0, 2.0);
    ln_is_elementwise: ln_probe(ln(a)) on (0.2, 3.0);
    sqrt_is_elementwise: sqrt_probe(sqrt(a)) on (0.2, 3.0);
    tanh_is_elementwise: tanh_probe(tanh(a)) on (-2.0, 2.0);
    sigmoid_is_elementwise: sigmoid_probe(sigmoid(a)) on (-4.0, 4.0);
    relu_is_elementwise: relu_probe(relu(a)) on (0.1, 2.0);
    abs_is_elementwise: abs_probe(abs(a)) on (-2.0, -0.1);
    softplus_is_elementwise: softplus_probe(softplus(a)) on (-4.0, 4.0);
    negation: neg_probe(-a) on (-1.0, 1.0);
    integer_power: square_probe(a^3) on (-2.0, 2.0);
    fractional_power: power_probe(a^1.5) on (0.2, 2.0);
    scalar_times_matrix: scale_probe(3 * a) on (-1.0, 1.0);
    matrix_over_scalar: divide_probe(a / 4) on (-1.0, 1.0);
    softmax_sums_adjoints_over_the_normaliser: softmax_probe(softmax(a)) on (-3.0, 3.0);
    log_softmax_matches_its_definition: log_softmax_probe(log_softmax(a)) on (-3.0, 3.0);
    hadamard_square: hadamard_probe(hadamard(a, a)) on (-1.0, 1.0);
    max_with_a_scalar: max_probe(max(a, 0.5)) on (0.6, 2.0);
}

graph! {
    /// Every binary and reducing operation at once, with `s` a broadcast scalar.
    fn binary_probe<const R: usize, const C: usize>(a: SMatrix<f64, R, C>, b: SMatrix<f64, R, C>, s: f64,
                                                    #[no_grad] w: SMatrix<f64, R, C>) -> f64 {
        let elementwise = hadamard(a, b) + (a - b) * s + max(a, b) - min(a, b) / s;
        let reductions = sum(a) * mean(b) + dot(a, b) + norm_squared(b) + logsumexp(a);
        let losses = mse(a, b) + cross_entropy(a, softmax(b)) + binary_cross_entropy(a, sigmoid(b));
        dot(w, elementwise) + reductions * losses
    }
}

#[test]
fn binary_operations_and_reductions_match_finite_differences() {
    fn check<const R: usize, const C: usize>(seed: u32) {
        let (a, b, w) = (
            sample::<R, C>(seed, -1.0, 1.0),
            sample::<R, C>(seed + 5, -1.0, 1.0),
            sample::<R, C>(seed + 9, -1.0, 1.0),
        );
        let s = 0.7;
        let (_, grad) = binary_probe::value_and_grad(a, b, s, w);
        assert_gradient(grad.a, a, |a| binary_probe::forward(a, b, s, w));
        assert_gradient(grad.b, b, |b| binary_probe::forward(a, b, s, w));
        let numeric_s =
            numeric_gradient(M::<1, 1>::new(s), |s| binary_probe::forward(a, b, s[0], w));
        assert!(
            (grad.s - numeric_s[0]).abs() < 1e-6 * (1.0 + grad.s.abs()),
            "{} vs {}",
            grad.s,
            numeric_s[0]
        );
    }
    check::<1, 1>(1);
    check::<4, 1>(2);
    check::<2, 3>(3);
}

graph! {
    /// Matrix products and transposes, non-square.
    fn product_probe<const R: usize, const K: usize, const C: usize>(a: SMatrix<f64, R, K>, b: SMatrix<f64, K, C>,
                                                                      #[no_grad] w: SMatrix<f64, C, R>) -> f64 {
        dot(w, transpose(a * b))
    }
}

#[test]
fn matrix_product_and_transpose_match_finite_differences() {
    fn check<const R: usize, const K: usize, const C: usize>(seed: u32) {
        let (a, b, w) = (
            sample::<R, K>(seed, -1.0, 1.0),
            sample::<K, C>(seed + 1, -1.0, 1.0),
            sample::<C, R>(seed + 2, -1.0, 1.0),
        );
        let (_, grad) = product_probe::value_and_grad(a, b, w);
        assert_gradient(grad.a, a, |a| product_probe::forward(a, b, w));
        assert_gradient(grad.b, b, |b| product_probe::forward(a, b, w));
    }
    check::<1, 1, 1>(1);
    check::<3, 2, 1>(2);
    check::<2, 5, 3>(3);
}

graph! {
    /// A 2-16-1 tanh network's squared error on one sample.
    pub fn mlp_loss(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                    w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                    #[no_grad] x: SVector<f32, 2>, #[no_grad] y: SVector<f32, 1>) -> f32 {
        let h = tanh(w1 * x + b1);
        let out = w2 * h + b2;
        mse(out, y)
    }
}

graph! {
    /// The same network in `f64`, as the reference for the `f32` one.
    fn mlp_loss_f64(w1: SMatrix<f64, 16, 2>, b1: SVector<f64, 16>,
                    w2: SMatrix<f64, 1, 16>, b2: SVector<f64, 1>,
                    #[no_grad] x: SVector<f64, 2>, #[no_grad] y: SVector<f64, 1>) -> f64 {
        let h = tanh(w1 * x + b1);
        let out = w2 * h + b2;
        mse(out, y)
    }
}

#[test]
fn mlp_loss_gradient_matches_finite_differences_and_its_f32_twin() {
    let (w1, b1, w2) = (
        sample::<16, 2>(1, -1.0, 1.0),
        sample::<16, 1>(2, -0.5, 0.5),
        sample::<1, 16>(3, -1.0, 1.0),
    );
    let (b2, x, y) = (
        sample::<1, 1>(4, -0.5, 0.5),
        SVector::<f64, 2>::new(0.3, -0.8),
        SVector::<f64, 1>::new(0.25),
    );
    let (loss, grad) = mlp_loss_f64::value_and_grad(w1, b1, w2, b2, x, y);
    assert!(loss > 0.0);
    assert_gradient(grad.w1, w1, |w1| {
        mlp_loss_f64::forward(w1, b1, w2, b2, x, y)
    });
    assert_gradient(grad.b1, b1, |b1| {
        mlp_loss_f64::forward(w1, b1, w2, b2, x, y)
    });
    assert_gradient(grad.w2, w2, |w2| {
        mlp_loss_f64::forward(w1, b1, w2, b2, x, y)
    });
    assert_gradient(grad.b2, b2, |b2| {
        mlp_loss_f64::forward(w1, b1, w2, b2, x, y)
    });

    let single = |m: &SMatrix<f64, 16, 2>| m.cast::<f32>();
    let (loss32, grad32) = mlp_loss::value_and_grad(
        single(&w1),
        b1.cast(),
        w2.cast(),
        b2.cast(),
        x.cast(),
        y.cast(),
    );
    assert!((f64::from(loss32) - loss).abs() < 1e-5);
    assert!((grad32.w1.cast::<f64>() - grad.w1).amax() < 1e-5);
    assert!((grad32.b2.cast::<f64>() - grad.b2).amax() < 1e-5);
}

graph! {
    /// The runtime's layer: a const-generic affine map with a vector output.
    pub fn linear<const I: usize, const O: usize>(w: SMatrix<f64, O, I>, b: SVector<f64, O>,
                                                  #[no_grad] x: SVector<f64, I>) -> SVector<f64, O> {
        w * x + b
    }
}

#[test]
fn a_vector_output_takes_its_adjoint_in_backward() {
    let (w, b, x) = (
        sample::<3, 4>(1, -1.0, 1.0),
        sample::<3, 1>(2, -1.0, 1.0),
        sample::<4, 1>(3, -1.0, 1.0),
    );
    let d_out = SVector::<f64, 3>::new(0.5, -1.0, 2.0);
    let grad = linear::backward(w, b, x, d_out);
    // The vector-Jacobian product: the gradient of ⟨d_out, linear(w, b, x)⟩.
    assert_gradient(grad.w, w, |w| d_out.dot(&linear::forward(w, b, x)));
    assert_gradient(grad.b, b, |b| d_out.dot(&linear::forward(w, b, x)));
    assert_eq!(linear::forward(w, b, x), w * x + b);
}

graph! {
    fn aliases(m: Matrix2x3<f64>, v: Vector3<f64>, r: RowVector2<f64>) -> f64 {
        sum(r * m * v)
    }
}

#[test]
fn nalgebra_aliases_are_accepted() {
    let (m, v, r) = (
        sample::<2, 3>(1, -1.0, 1.0),
        sample::<3, 1>(2, -1.0, 1.0),
        sample::<1, 2>(3, -1.0, 1.0),
    );
    let (value, grad) = aliases::value_and_grad(m, v, r);
    assert!((value - (r * m * v)[0]).abs() < 1e-15);
    assert_gradient(grad.v, v, |v| aliases::forward(m, v, r));
    assert_gradient(grad.r, r, |r| aliases::forward(m, v, r));
}

#[test]
fn softmax_stays_finite_for_huge_logits() {
    let a = SMatrix::<f64, 3, 1>::new(1000.0, 0.0, -1000.0);
    let w = SMatrix::<f64, 3, 1>::new(1.0, 2.0, 3.0);
    let (value, grad) = softmax_probe::value_and_grad(a, w);
    assert!((value - 1.0).abs() < 1e-12, "{value}");
    assert!(grad.a.iter().all(|g| g.is_finite()));
}

chainrule::graph! {
    /// A constant first in `min` and `max` over a matrix: `0.0.min(e)` would not compile.
    fn constant_first(x: SMatrix<f64, 2, 2>) -> f64 {
        sum(min(0, x)) + sum(max(0, x)) + sum(elu(x))
    }
}

chainrule::graph! {
    /// `min(0, x)` and `min(x, 0)` differ at a tie: the second operand takes the gradient.
    fn ties(x: f64) -> f64 {
        min(0, x) + 2 * min(x, 0)
    }
}

#[test]
fn a_constant_may_come_first_in_min_and_max_over_a_matrix() {
    let x = SMatrix::<f64, 2, 2>::new(-1.0, 2.0, 0.5, -3.0);
    let elu = |v: f64| if v > 0.0 { v } else { v.exp_m1() };
    let expected: f64 = x.iter().map(|&v| v.min(0.0) + v.max(0.0) + elu(v)).sum();
    // Summed in another order than the test's.
    assert!((constant_first::forward(x) - expected).abs() < 1e-12);
    assert!(constant_first::check_gradient(x).is_ok());
}

#[test]
fn min_with_its_operands_swapped_is_another_node() {
    // At x = 0: min(0, x) gives its gradient to x (the second operand), min(x, 0) to 0.
    let (value, grad) = ties::value_and_grad(0.0);
    assert_eq!(value, 0.0);
    assert_eq!(grad.x, 1.0);
}
