//! The activation layers against PyTorch's documented formulas, computed here element by
//! element with `std`; their gradients against finite differences, and at their kinks
//! against PyTorch's backward kernels.

use chainrule::check::check_gradient;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{
    Init, LeakyReLU, Linear, LogSoftmax, Module, Sequential, SiLU, Softmax, Softplus, ELU, GELU,
};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::Parameters;

/// Both sides of 0 and of Softplus's threshold, near and far, none on a kink (where central
/// differences straddle it).
fn points() -> SMatrix<f64, 4, 6> {
    SMatrix::from_row_slice(&[
        -30.0, -12.0, -7.25, -3.1, -1.5, -0.75, //
        -0.5, -0.2, -0.01, 0.003, 0.05, 0.4, //
        0.6, 0.9, 1.3, 2.2, 3.7, 5.5, //
        8.1, 12.0, 19.5, 20.5, 24.0, 31.0,
    ])
}

/// An irregular output gradient, so every element's adjoint differs.
fn seed<const R: usize, const C: usize>() -> SMatrix<f64, R, C> {
    SMatrix::from_fn(|r, c| ((r * 5 + c * 3) as f64 * 0.61 + 0.3).sin())
}

#[track_caller]
fn assert_close<const R: usize, const C: usize>(
    actual: SMatrix<f64, R, C>,
    expected: SMatrix<f64, R, C>,
) {
    for (a, e) in actual.iter().zip(expected.iter()) {
        assert!(
            (a - e).abs() <= 1e-14 * e.abs().max(1.0),
            "{a} vs {e}\nall: {actual}expected: {expected}"
        );
    }
}

/// `layer`'s forward pass against `reference` applied to every element of [`points`].
#[track_caller]
fn check_element_wise<M>(layer: M, reference: impl Fn(f64) -> f64)
where
    M: Module<SMatrix<f64, 4, 6>, Output = SMatrix<f64, 4, 6>>,
{
    let x = points();
    assert_close(layer.forward(&x), x.map(reference));
}

/// `layer`'s backward pass at `x` against central differences of `⟨seed, forward⟩`, and its
/// forward pass with a tape against the one without.
#[track_caller]
fn check_backward<M, const R: usize, const C: usize>(layer: M, x: SMatrix<f64, R, C>)
where
    M: Module<SMatrix<f64, R, C>, Output = SMatrix<f64, R, C>>,
{
    let d_output = seed::<R, C>();
    let (output, tape) = layer.forward_with_tape(&x);
    assert_eq!(output, layer.forward(&x));
    let (d_x, _) = layer.backward(&x, &tape, &d_output);
    check_gradient(&x, &d_x, |x| layer.forward(x).dot(&d_output))
        .unwrap_or_else(|mismatch| panic!("{mismatch}"));
}

/// PyTorch's `Φ(x) = ½(1 + erf(x/√2))`, with libm's erf (which the runtime re-exports).
fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + chainrule::runtime::erf(x / std::f64::consts::SQRT_2))
}

/// PyTorch's `Softplus`: `log1p(exp(β·x))/β`, or `x` where `β·x > threshold`.
fn softplus(x: f64, beta: f64, threshold: f64) -> f64 {
    if x * beta > threshold {
        x
    } else {
        (x * beta).exp().ln_1p() / beta
    }
}

#[test]
fn element_wise_activations_follow_pytorchs_formulas() {
    check_element_wise(GELU, |x| x * normal_cdf(x));
    check_element_wise(SiLU, |x| x / (1.0 + (-x).exp()));
    check_element_wise(LeakyReLU::default(), |x| x.max(0.0) + 0.01 * x.min(0.0));
    check_element_wise(LeakyReLU::new(0.3), |x| x.max(0.0) + 0.3 * x.min(0.0));
    check_element_wise(ELU::default(), |x| if x > 0.0 { x } else { x.exp() - 1.0 });
    check_element_wise(ELU::new(1.7), |x| {
        if x > 0.0 {
            x
        } else {
            1.7 * (x.exp() - 1.0)
        }
    });
    check_element_wise(Softplus::default(), |x| softplus(x, 1.0, 20.0));
    check_element_wise(Softplus::new(2.5, 7.0), |x| softplus(x, 2.5, 7.0));
    check_element_wise(Softplus::new(0.5, 30.0), |x| softplus(x, 0.5, 30.0));
}

#[test]
fn softplus_is_exactly_x_above_its_threshold_and_the_logarithm_at_it() {
    let above = 20f64.next_up();
    let x = SMatrix::<f64, 1, 4>::new(20.0, above, f64::INFINITY, f64::NAN);
    let y = Softplus::default().forward(&x);
    assert!((y[0] - (20f64.exp().ln_1p())).abs() < 1e-14);
    assert!(y[0] > 20.0);
    assert_eq!(y[1], above); // the logarithm would add 2·10⁻⁹
    assert_eq!(y[2], f64::INFINITY);
    assert!(y[3].is_nan());

    // In f32 the step above the threshold is exact too, at a threshold where the logarithm
    // would differ from `x` in f32.
    let layer = Softplus::new(1.0, 2.0);
    let above = 2f32.next_up();
    let y = layer.forward(&SMatrix::<f32, 1, 2>::new(2.0, above));
    assert_eq!(y[1], above);
    assert_eq!(y[0], 2f32.exp().ln_1p());
}

#[test]
fn softmax_and_log_softmax_work_per_column() {
    let x = points().map(|x| x / 4.0);
    let (softmax, log_softmax) = (Softmax.forward(&x), LogSoftmax.forward(&x));
    for c in 0..x.ncols() {
        let column = x.column(c);
        let total: f64 = column.iter().map(|x| x.exp()).sum();
        for r in 0..x.nrows() {
            let expected = x[(r, c)].exp() / total;
            assert!((softmax[(r, c)] - expected).abs() < 1e-15);
            assert!((log_softmax[(r, c)] - expected.ln()).abs() < 1e-14);
        }
    }
    // Large logits: each column is shifted by its own largest, so nothing overflows.
    let x = SMatrix::<f64, 2, 2>::new(1000.0, -1000.0, 1001.0, -999.0);
    let expected_first = 1.0 / (1.0 + 1f64.exp());
    let p = Softmax.forward(&x);
    let log_p = LogSoftmax.forward(&x);
    for c in 0..2 {
        assert!((p[(0, c)] - expected_first).abs() < 1e-15);
        assert!((log_p[(0, c)] - expected_first.ln()).abs() < 1e-14);
        assert!((log_p[(1, c)] - (1.0 - expected_first).ln()).abs() < 1e-14);
    }
}

#[test]
fn every_activation_matches_finite_differences() {
    let x = points();
    check_backward(GELU, x);
    check_backward(SiLU, x);
    check_backward(LeakyReLU::default(), x);
    check_backward(LeakyReLU::new(-0.4), x);
    check_backward(ELU::default(), x);
    check_backward(ELU::new(0.3), x);
    check_backward(Softplus::default(), x);
    check_backward(Softplus::new(3.0, 5.0), x);
    check_backward(Softmax, x.map(|x| x / 4.0));
    check_backward(LogSoftmax, x.map(|x| x / 4.0));
}

#[test]
fn f32_activations_agree_with_f64() {
    let x = points();
    let x32 = x.map(|x| x as f32);
    #[track_caller]
    fn agree<M>(layer: M, x: &SMatrix<f64, 4, 6>, x32: &SMatrix<f32, 4, 6>)
    where
        M: Module<SMatrix<f64, 4, 6>, Output = SMatrix<f64, 4, 6>>
            + Module<SMatrix<f32, 4, 6>, Output = SMatrix<f32, 4, 6>>,
    {
        let (y, y32) = (layer.forward(x), layer.forward(x32));
        for (a, b) in y32.iter().zip(y.iter()) {
            assert!(
                (f64::from(*a) - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{a} vs {b}"
            );
        }
    }
    agree(GELU, &x, &x32);
    agree(SiLU, &x, &x32);
    agree(LeakyReLU::new(0.2), &x, &x32);
    agree(ELU::new(1.5), &x, &x32);
    agree(Softplus::new(2.0, 20.0), &x, &x32);
    agree(Softmax, &x, &x32);
    agree(LogSoftmax, &x, &x32);
}

/// The gradient of `layer` at each element of `x`, for an output gradient of ones.
fn slopes<M, const C: usize>(layer: M, x: SMatrix<f64, 1, C>) -> SMatrix<f64, 1, C>
where
    M: Module<SMatrix<f64, 1, C>, Output = SMatrix<f64, 1, C>>,
{
    let (_, tape) = layer.forward_with_tape(&x);
    layer.backward(&x, &tape, &SMatrix::repeat(1.0)).0
}

#[test]
fn slopes_at_kinks_are_pytorchs() {
    // `leaky_relu_backward`: `x > 0 ? 1 : negative_slope`.
    let x = SMatrix::<f64, 1, 3>::new(-1.0, 0.0, 1.0);
    assert_eq!(
        slopes(LeakyReLU::new(0.2), x),
        SMatrix::<f64, 1, 3>::new(0.2, 0.2, 1.0)
    );
    // `elu_backward`: `x <= 0 ? alpha·eˣ : 1`.
    let elu = slopes(ELU::new(2.0), x);
    assert_eq!(
        elu,
        SMatrix::<f64, 1, 3>::new(2.0 * (-1f64).exp(), 2.0, 1.0)
    );
    // `softplus_backward`: `β·x > threshold ? 1 : z/(z + 1)`, z = e^(β·x).
    let x = SMatrix::<f64, 1, 3>::new(10.0, 20.0, 20f64.next_up());
    let z = 20f64.exp();
    let softplus = slopes(Softplus::default(), x);
    assert!((softplus[0] - 10f64.exp() / (10f64.exp() + 1.0)).abs() < 1e-15);
    assert!((softplus[1] - z / (z + 1.0)).abs() < 1e-15);
    assert!(softplus[1] < 1.0);
    assert_eq!(softplus[2], 1.0);
}

#[test]
fn nan_stays_nan_except_through_max_and_min() {
    let nan = SMatrix::<f64, 1, 1>::new(f64::NAN);
    for y in [
        GELU.forward(&nan),
        SiLU.forward(&nan),
        Softplus::default().forward(&nan),
        Softmax.forward(&nan),
        LogSoftmax.forward(&nan),
    ] {
        assert!(y[0].is_nan());
    }
    // FIXME: PyTorch keeps NaN here too; the graph language's `max` and `min` are Rust's,
    // which return the other operand.
    assert_eq!(LeakyReLU::default().forward(&nan)[0], 0.0);
    assert_eq!(ELU::default().forward(&nan)[0], 0.0);
}

#[test]
fn hyperparameters_are_not_parameters() {
    assert_eq!(Parameters::<f64>::len(&LeakyReLU::new(0.2)), 0);
    assert_eq!(Parameters::<f32>::len(&ELU::new(0.5)), 0);
    assert_eq!(Parameters::<f64>::len(&Softplus::new(2.0, 10.0)), 0);

    // A model's state_dict holds its linear layers' tensors only, under PyTorch's indices.
    type Model = Sequential<(Linear<f64, 3, 4>, LeakyReLU, Linear<f64, 4, 2>, Softplus)>;
    let model = Model::init(&mut StdRng::seed_from_u64(1));
    let mut keys = Vec::new();
    model.visit_named("", &mut |key, _| keys.push(key.to_string()));
    assert_eq!(keys, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert_eq!(model.layers.1, LeakyReLU::default());

    // The gradient of a configured layer carries its configuration, not zeros.
    let layer = ELU::new(0.5);
    let x = points();
    let (_, tape) = layer.forward_with_tape(&x);
    let (_, grads) = Module::<SMatrix<f64, 4, 6>>::backward(&layer, &x, &tape, &seed());
    assert_eq!(grads, layer);
    assert_eq!(<ELU as Init>::zeros(), ELU::default());
}
