//! Batches, one sample per column of an `SMatrix<T, I, B>`: a bias column spread over the
//! batch, a scalar broadcast on either side, element-wise division, and the per-column
//! functions (`softmax_columns`, `logsumexp_columns`, sums and means, `batch_cross_entropy`),
//! each against central finite differences at non-square shapes and against a reference
//! written as a loop over the columns.

use chainrule::graph;
use chainrule::nalgebra::{RowSVector, SMatrix, SVector};

use super::tensor::{assert_gradient, numeric_gradient, sample, M};

#[track_caller]
fn assert_close<const R: usize, const C: usize>(found: M<R, C>, expected: M<R, C>) {
    for (f, e) in found.iter().zip(expected.iter()) {
        assert!(
            (f - e).abs() <= 1e-12 * (1.0 + e.abs()),
            "{found} differs from the reference {expected}"
        );
    }
}

// --- a bias over a batch -------------------------------------------------------------------

graph! {
    /// A batched affine layer: the bias column `b` is repeated over the batch's columns.
    pub fn dense<const I: usize, const O: usize, const B: usize>(w: SMatrix<f64, O, I>, b: SVector<f64, O>,
                                                                  x: SMatrix<f64, I, B>) -> SMatrix<f64, O, B> {
        w * x + b
    }
}

#[test]
fn a_bias_column_spreads_over_a_const_generic_batch() {
    fn check<const I: usize, const O: usize, const B: usize>(seed: u32) {
        let (w, b, x) = (
            sample::<O, I>(seed, -1.0, 1.0),
            sample::<O, 1>(seed + 1, -1.0, 1.0),
            sample::<I, B>(seed + 2, -1.0, 1.0),
        );
        let by_columns = M::<O, B>::from_fn(|i, j| (w * x.column(j))[i] + b[i]);
        assert_close(dense::forward(w, b, x), by_columns);
        let d_out = sample::<O, B>(seed + 3, -1.0, 1.0);
        let grad = dense::backward(w, b, x, d_out);
        // The vector-Jacobian product: the gradient of ⟨d_out, dense(w, b, x)⟩.
        let probe = |w, b, x| d_out.dot(&dense::forward(w, b, x));
        assert_gradient(grad.w, w, |w| probe(w, b, x));
        assert_gradient(grad.b, b, |b| probe(w, b, x));
        assert_gradient(grad.x, x, |x| probe(w, b, x));
        // The bias's adjoint is the row sums of the output's.
        assert_close(grad.b, M::<O, 1>::from_fn(|i, _| d_out.row(i).sum()));
    }
    check::<2, 3, 5>(1);
    check::<4, 3, 1>(2);
    check::<3, 1, 4>(3);
}

graph! {
    /// A literal batch of 5, the bias on either side of `+` and `-`.
    fn dense_literal(w: SMatrix<f64, 3, 4>, b: SVector<f64, 3>, #[no_grad] x: SMatrix<f64, 4, 5>,
                     #[no_grad] p: SMatrix<f64, 3, 5>) -> f64 {
        let h = tanh(b + w * x);
        dot(p, h - b) + sum(b - h)
    }
}

#[test]
fn a_bias_column_spreads_over_a_literal_batch_on_either_side() {
    let (w, b, x, p) = (
        sample::<3, 4>(1, -1.0, 1.0),
        sample::<3, 1>(2, -1.0, 1.0),
        sample::<4, 5>(3, -1.0, 1.0),
        sample::<3, 5>(4, -1.0, 1.0),
    );
    let (value, grad) = dense_literal::value_and_grad(w, b, x, p);
    let mut expected = 0.0;
    for j in 0..5 {
        let h = (b + w * x.column(j)).map(f64::tanh);
        expected += p.column(j).dot(&(h - b)) + (b - h).sum();
    }
    assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");
    assert_gradient(grad.w, w, |w| dense_literal::forward(w, b, x, p));
    assert_gradient(grad.b, b, |b| dense_literal::forward(w, b, x, p));
}

// --- scalars and division ------------------------------------------------------------------

graph! {
    /// A scalar on either side of every element-wise operator, and a matrix over a matrix.
    fn broadcast_probe(s: f64, a: SMatrix<f64, 3, 5>, b: SMatrix<f64, 3, 5>,
                       #[no_grad] w: SMatrix<f64, 3, 5>) -> f64 {
        dot(w, s + a) + dot(w, a - s) + dot(w, s - b) + dot(w, s / b) + dot(w, a / b)
    }
}

#[test]
fn a_scalar_broadcasts_and_matrices_divide_element_by_element() {
    let (s, a, b, w) = (
        0.7,
        sample::<3, 5>(1, -1.0, 1.0),
        sample::<3, 5>(2, 0.5, 2.0),
        sample::<3, 5>(3, -1.0, 1.0),
    );
    let (value, grad) = broadcast_probe::value_and_grad(s, a, b, w);
    let expected = w.dot(&a.add_scalar(s))
        + w.dot(&a.add_scalar(-s))
        + w.dot(&b.map(|e| s - e))
        + w.dot(&b.map(|e| s / e))
        + w.dot(&a.component_div(&b));
    assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");
    assert_gradient(grad.a, a, |a| broadcast_probe::forward(s, a, b, w));
    assert_gradient(grad.b, b, |b| broadcast_probe::forward(s, a, b, w));
    let numeric_s = numeric_gradient(M::<1, 1>::new(s), |s| {
        broadcast_probe::forward(s[0], a, b, w)
    });
    assert!(
        (grad.s - numeric_s[0]).abs() < 1e-6 * (1.0 + grad.s.abs()),
        "{} vs {}",
        grad.s,
        numeric_s[0]
    );
}

// --- per-column functions ------------------------------------------------------------------

/// Each column's softmax, written as a loop.
fn softmax_by_columns<const R: usize, const C: usize>(a: M<R, C>) -> M<R, C> {
    let mut out = a;
    for mut column in out.column_iter_mut() {
        let largest = column.max();
        column.apply(|x| *x = (*x - largest).exp());
        let total = column.sum();
        column /= total;
    }
    out
}

fn logsumexp_by_columns<const R: usize, const C: usize>(a: M<R, C>) -> M<1, C> {
    M::from_fn(|_, j| {
        let column = a.column(j);
        let largest = column.max();
        largest + column.map(|x| (x - largest).exp()).sum().ln()
    })
}

fn log_softmax_by_columns<const R: usize, const C: usize>(a: M<R, C>) -> M<R, C> {
    let normalisers = logsumexp_by_columns(a);
    M::from_fn(|i, j| a[(i, j)] - normalisers[j])
}

fn column_sums_by_loop<const R: usize, const C: usize>(a: M<R, C>) -> M<1, C> {
    M::from_fn(|_, j| (0..R).map(|i| a[(i, j)]).sum())
}

fn column_means_by_loop<const R: usize, const C: usize>(a: M<R, C>) -> M<1, C> {
    column_sums_by_loop(a) / R as f64
}

fn row_sums_by_loop<const R: usize, const C: usize>(a: M<R, C>) -> M<R, 1> {
    M::from_fn(|i, _| (0..C).map(|j| a[(i, j)]).sum())
}

fn row_means_by_loop<const R: usize, const C: usize>(a: M<R, C>) -> M<R, 1> {
    row_sums_by_loop(a) / C as f64
}

/// Defines, for each per-column function, a probe `⟨w, f(a)⟩` (`w` of the result's shape)
/// and a test of its value against the loop and its gradient against finite differences.
macro_rules! batch_probes {
    ($($test:ident: $name:ident($f:ident) -> [$rows:tt, $cols:tt], like $reference:ident;)*) => {$(
        graph! {
            fn $name<const R: usize, const C: usize>(a: SMatrix<f64, R, C>,
                                                     #[no_grad] w: SMatrix<f64, $rows, $cols>) -> f64 {
                dot(w, $f(a))
            }
        }

        #[test]
        fn $test() {
            fn check<const R: usize, const C: usize>(seed: u32) {
                let (a, w) = (sample::<R, C>(seed, -3.0, 3.0), sample::<$rows, $cols>(seed + 1, -1.0, 1.0));
                let (value, grad) = $name::value_and_grad(a, w);
                let expected = w.dot(&$reference(a));
                assert!((value - expected).abs() <= 1e-12 * (1.0 + expected.abs()), "{value} vs {expected}");
                assert_gradient(grad.a, a, |a| $name::forward(a, w));
            }
            check::<3, 5>(1);
            check::<1, 4>(2);
            check::<4, 1>(3);
            check::<2, 3>(4);
        }
    )*};
}

batch_probes! {
    softmax_columns_is_a_softmax_per_column: softmax_columns_probe(softmax_columns) -> [R, C], like softmax_by_columns;
    log_softmax_columns_is_a_log_softmax_per_column: log_softmax_columns_probe(log_softmax_columns) -> [R, C], like log_softmax_by_columns;
    logsumexp_columns_is_a_logsumexp_per_column: logsumexp_columns_probe(logsumexp_columns) -> [1, C], like logsumexp_by_columns;
    column_sums_add_each_column: column_sums_probe(column_sums) -> [1, C], like column_sums_by_loop;
    column_means_average_each_column: column_means_probe(column_means) -> [1, C], like column_means_by_loop;
    row_sums_add_each_row: row_sums_probe(row_sums) -> [R, 1], like row_sums_by_loop;
    row_means_average_each_row: row_means_probe(row_means) -> [R, 1], like row_means_by_loop;
}

graph! {
    /// The probabilities themselves, to check their columns.
    fn probabilities<const R: usize, const C: usize>(a: SMatrix<f64, R, C>) -> SMatrix<f64, R, C> {
        softmax_columns(a)
    }
}

#[test]
fn softmax_columns_sum_to_one() {
    let a = sample::<3, 5>(7, -4.0, 4.0);
    let p = probabilities::forward(a);
    for column in p.column_iter() {
        assert!((column.sum() - 1.0).abs() < 1e-12, "{p}");
        assert!(column.iter().all(|x| *x > 0.0), "{p}");
    }
    assert_close(p, softmax_by_columns(a));
}

// --- batch_cross_entropy -------------------------------------------------------------------

graph! {
    fn batch_loss<const R: usize, const C: usize>(logits: SMatrix<f64, R, C>, target: SMatrix<f64, R, C>) -> f64 {
        batch_cross_entropy(logits, target)
    }
}

graph! {
    /// One sample's cross-entropy, over all elements of a vector.
    fn sample_loss<const R: usize>(logits: SVector<f64, R>, #[no_grad] target: SVector<f64, R>) -> f64 {
        cross_entropy(logits, target)
    }
}

/// The mean over the columns of −Σ target · log_softmax(logits), and its gradients in the
/// logits and the targets, written as a loop over the columns.
fn batch_loss_by_loop<const R: usize, const C: usize>(
    logits: M<R, C>,
    target: M<R, C>,
) -> (f64, M<R, C>, M<R, C>) {
    let n = C as f64;
    let (mut loss, mut d_logits, mut d_target) = (0.0, M::zeros(), M::zeros());
    for j in 0..C {
        let (z, t) = (logits.column(j), target.column(j));
        let largest = z.max();
        let normaliser = largest + z.map(|x| (x - largest).exp()).sum().ln();
        let total_target = t.sum();
        for i in 0..R {
            let log_probability = z[i] - normaliser;
            loss -= t[i] * log_probability / n;
            d_logits[(i, j)] = (log_probability.exp() * total_target - t[i]) / n;
            d_target[(i, j)] = -log_probability / n;
        }
    }
    (loss, d_logits, d_target)
}

#[test]
fn batch_cross_entropy_is_the_mean_of_each_columns_cross_entropy() {
    fn check<const R: usize, const C: usize>(logits: M<R, C>, target: M<R, C>) {
        let (loss, grad) = batch_loss::value_and_grad(logits, target);
        let (expected, d_logits, d_target) = batch_loss_by_loop(logits, target);
        assert!(
            (loss - expected).abs() <= 1e-12 * (1.0 + expected.abs()),
            "{loss} vs {expected}"
        );
        assert_close(grad.logits, d_logits);
        assert_close(grad.target, d_target);
        assert_gradient(grad.logits, logits, |logits| {
            batch_loss::forward(logits, target)
        });
        assert_gradient(grad.target, target, |target| {
            batch_loss::forward(logits, target)
        });
        // The same as the one-sample loss, averaged over the columns.
        let mean = (0..C)
            .map(|j| sample_loss::forward(logits.column(j).into(), target.column(j).into()))
            .sum::<f64>()
            / C as f64;
        assert!(
            (loss - mean).abs() <= 1e-12 * (1.0 + mean.abs()),
            "{loss} vs {mean}"
        );
    }
    // One-hot targets, probability targets, and targets that are neither.
    let one_hot = M::<3, 5>::from_fn(|i, j| f64::from(u8::from(i == (2 * j + 1) % 3)));
    check(sample::<3, 5>(1, -3.0, 3.0), one_hot);
    let probabilities = softmax_by_columns(sample::<4, 2>(2, -1.0, 1.0));
    check(sample::<4, 2>(3, -3.0, 3.0), probabilities);
    check(sample::<2, 3>(4, -3.0, 3.0), sample::<2, 3>(5, 0.0, 1.0));
    check(sample::<5, 1>(6, -3.0, 3.0), sample::<5, 1>(7, 0.0, 1.0));
}

graph! {
    /// A linear classifier on a const-generic batch: logits `w·x + b`, one sample per column.
    pub fn classifier<const B: usize>(w: SMatrix<f64, 3, 4>, b: SVector<f64, 3>,
                                      #[no_grad] x: SMatrix<f64, 4, B>, #[no_grad] target: SMatrix<f64, 3, B>) -> f64 {
        batch_cross_entropy(w * x + b, target)
    }
}

#[test]
fn a_batched_classifier_matches_its_loop_and_finite_differences() {
    fn check<const B: usize>(seed: u32) {
        let (w, b, x) = (
            sample::<3, 4>(seed, -1.0, 1.0),
            sample::<3, 1>(seed + 1, -1.0, 1.0),
            sample::<4, B>(seed + 2, -2.0, 2.0),
        );
        let target = M::<3, B>::from_fn(|i, j| f64::from(u8::from(i == j % 3)));
        let (loss, grad) = classifier::value_and_grad(w, b, x, target);
        let logits = M::<3, B>::from_fn(|i, j| (w * x.column(j))[i] + b[i]);
        let (expected, d_logits, _) = batch_loss_by_loop(logits, target);
        assert!(
            (loss - expected).abs() <= 1e-12 * (1.0 + expected.abs()),
            "{loss} vs {expected}"
        );
        assert_close(grad.b, M::<3, 1>::from_fn(|i, _| d_logits.row(i).sum()));
        assert_gradient(grad.w, w, |w| classifier::forward(w, b, x, target));
        assert_gradient(grad.b, b, |b| classifier::forward(w, b, x, target));
        assert_eq!(classifier::backward(w, b, x, target, 2.0).w, grad.w * 2.0);
    }
    check::<1>(1);
    check::<5>(2);
    check::<8>(3);
}

graph! {
    #[tape]
    /// The classifier with its backward pass split at the forward values it needs.
    fn taped_classifier<const B: usize>(w: SMatrix<f64, 3, 4>, b: SVector<f64, 3>,
                                        #[no_grad] x: SMatrix<f64, 4, B>, #[no_grad] target: SMatrix<f64, 3, B>) -> f64 {
        batch_cross_entropy(w * x + b, target)
    }
}

#[test]
fn a_taped_batch_computes_what_forward_and_backward_compute() {
    let (w, b, x) = (
        sample::<3, 4>(1, -1.0, 1.0),
        sample::<3, 1>(2, -1.0, 1.0),
        sample::<4, 6>(3, -2.0, 2.0),
    );
    let target = M::<3, 6>::from_fn(|i, j| f64::from(u8::from(i == j % 3)));
    let (value, tape) = taped_classifier::forward_with_tape(w, b, x, target);
    assert_eq!(value, taped_classifier::forward(w, b, x, target));
    let from_tape = taped_classifier::backward_with_tape(tape, w, b, x, target, 1.0);
    let direct = taped_classifier::backward(w, b, x, target, 1.0);
    assert_close(from_tape.w, direct.w);
    assert_close(from_tape.b, direct.b);
}

// --- stability -----------------------------------------------------------------------------

#[test]
fn per_column_functions_stay_finite_at_logits_of_a_thousand() {
    let logits = M::<3, 4>::from_column_slice(&[
        1000.0, 0.0, -1000.0, //
        -1000.0, -1000.0, -1000.0, //
        1000.0, 1000.0, 999.0, //
        -1000.0, 1000.0, 0.0,
    ]);
    let p = probabilities::forward(logits);
    assert!(p.iter().all(|x| x.is_finite()), "{p}");
    for column in p.column_iter() {
        assert!((column.sum() - 1.0).abs() < 1e-12, "{p}");
    }
    assert_eq!(p[(0, 0)], 1.0);
    assert!((p[(0, 1)] - 1.0 / 3.0).abs() < 1e-15, "{p}");

    let w = RowSVector::<f64, 4>::new(1.0, 1.0, 1.0, 1.0);
    let (normalisers, grad) = logsumexp_columns_probe::value_and_grad(logits, w);
    let expected = logsumexp_by_columns(logits).sum();
    assert!(
        (normalisers - expected).abs() < 1e-9,
        "{normalisers} vs {expected}"
    );
    assert!(grad.a.iter().all(|g| g.is_finite()), "{}", grad.a);

    // A wrong one-hot guess costs 2000, not infinity.
    let target =
        M::<3, 4>::from_fn(|i, j| f64::from(u8::from(i == 2 && j == 0 || i == 0 && j > 0)));
    let (loss, grad) = batch_loss::value_and_grad(logits, target);
    let (expected, d_logits, _) = batch_loss_by_loop(logits, target);
    assert!(
        loss.is_finite() && (loss - expected).abs() < 1e-9,
        "{loss} vs {expected}"
    );
    assert!(grad.logits.iter().all(|g| g.is_finite()), "{}", grad.logits);
    assert_close(grad.logits, d_logits);
    let (log_p, grad) = log_softmax_columns_probe::value_and_grad(logits, M::repeat(1.0));
    assert!(log_p.is_finite() && grad.a.iter().all(|g| g.is_finite()));
}

// --- allocation ----------------------------------------------------------------------------

#[test]
fn batched_graphs_allocate_nothing() {
    use super::allocation::allocations_during;
    let (w, b) = (
        sample::<3, 4>(1, -1.0, 1.0),
        SVector::<f64, 3>::new(0.1, -0.2, 0.3),
    );
    let x = sample::<4, 8>(2, -1.0, 1.0);
    let target = M::<3, 8>::from_fn(|i, j| f64::from(u8::from(i == j % 3)));
    let ((loss, _), count) = allocations_during(|| classifier::value_and_grad(w, b, x, target));
    assert_eq!(count, 0, "value_and_grad allocated");
    assert!(loss.is_finite());
    let (_, count) = allocations_during(|| classifier::backward(w, b, x, target, 1.0));
    assert_eq!(count, 0, "backward allocated");
    let d_out = SMatrix::<f64, 3, 8>::repeat(1.0);
    let (_, count) = allocations_during(|| dense::backward(w, b, x, d_out));
    assert_eq!(count, 0, "dense's backward allocated");
    let a = sample::<3, 8>(3, -1.0, 1.0);
    let (_, count) = allocations_during(|| {
        (
            row_means_probe::value_and_grad(a, SVector::repeat(1.0)),
            column_means_probe::value_and_grad(a, RowSVector::repeat(1.0)),
            log_softmax_columns_probe::value_and_grad(a, a),
        )
    });
    assert_eq!(count, 0, "the per-column functions allocated");
}
