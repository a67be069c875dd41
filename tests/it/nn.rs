//! Layers and `Sequential`: gradients against finite differences and against one `graph!` of
//! the same model, PyTorch's parameter names, and training to the targets.

use chainrule::check::check_gradient_within;
use chainrule::loss::{CrossEntropy, Loss, Mse};
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Identity, Init, Linear, Module, ReLU, Sequential, Sigmoid, Tanh};
use chainrule::optim::{Adam, Optimizer};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::Parameters;

fn flatten<P: Parameters<f64>>(params: &P) -> Vec<f64> {
    let mut all = Vec::new();
    params.visit(&mut |tensor| all.extend_from_slice(tensor));
    all
}

/// A deterministic, irregular batch.
fn batch<const R: usize, const C: usize>(seed: f64) -> SMatrix<f64, R, C> {
    SMatrix::from_fn(|r, c| ((r * 7 + c * 3) as f64 * 0.37 + seed).sin() * 1.3)
}

/// Checks `backward` of `layer` at `x` against central differences of `⟨d, forward⟩`, for
/// every parameter and every input element (the runtime's `check_gradient`, tolerance 1e-6).
fn check_layer<M, const I: usize, const O: usize, const B: usize>(layer: M, x: SMatrix<f64, I, B>)
where
    M: Module<SMatrix<f64, I, B>, Output = SMatrix<f64, O, B>> + Parameters<f64> + Init + Clone,
{
    let d = batch::<O, B>(0.9);
    let (_, tape) = layer.forward_with_tape(&x);
    let (d_x, grads) = layer.backward(&x, &tape, &d);
    let analytic = flatten(&grads);
    check_gradient_within(&layer, &grads, |layer| layer.forward(&x).dot(&d), 1e-6)
        .unwrap_or_else(|mismatch| panic!("a parameter: {mismatch}"));
    check_gradient_within(&x, &d_x, |x| layer.forward(x).dot(&d), 1e-6)
        .unwrap_or_else(|mismatch| panic!("the input: {mismatch}"));
    // A first layer's backward gives the same parameter gradient, up to rounding.
    let first = layer.backward_params(&x, &tape, &d);
    for (a, b) in flatten(&first).iter().zip(&analytic) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn every_layer_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(3);
    check_layer::<_, 3, 4, 5>(Linear::<f64, 3, 4>::init(&mut rng), batch(0.1));
    check_layer::<_, 3, 3, 5>(Tanh, batch(0.2));
    check_layer::<_, 3, 3, 5>(Sigmoid, batch(0.3));
    check_layer::<_, 3, 3, 5>(ReLU, batch(0.4));
    check_layer::<_, 3, 3, 5>(Identity, batch(0.5));
    type Deep = Sequential<(
        Linear<f64, 3, 6>,
        Tanh,
        Linear<f64, 6, 4>,
        Sigmoid,
        Linear<f64, 4, 2>,
    )>;
    check_layer::<_, 3, 2, 5>(Deep::init(&mut rng), batch(0.6));
}

chainrule::graph! {
    /// The 2-16-1 network of the lecture as one graph, on a batch of 8.
    fn mlp(w1: SMatrix<f64, 16, 2>, b1: SVector<f64, 16>, w2: SMatrix<f64, 1, 16>, b2: SVector<f64, 1>,
           #[no_grad] x: SMatrix<f64, 2, 8>, #[no_grad] y: SMatrix<f64, 1, 8>) -> f64 {
        let h = tanh(w1 * x + b1);
        mse(w2 * h + b2, y)
    }
}

#[test]
fn a_sequential_model_has_the_gradient_of_one_graph_of_it() {
    type Mlp = Sequential<(Linear<f64, 2, 16>, Tanh, Linear<f64, 16, 1>)>;
    let model = Mlp::init(&mut StdRng::seed_from_u64(11));
    let (x, y) = (batch::<2, 8>(0.0), batch::<1, 8>(2.0));
    let (loss, grads) = model.loss_and_grad(&x, &y, Mse);
    let (first, _, second) = &model.layers;
    let (expected, graph) =
        mlp::value_and_grad(*first.weight, first.bias, *second.weight, second.bias, x, y);
    assert!((loss - expected).abs() < 1e-14);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-13);
    assert!(close(grads.layers.0.weight.as_slice(), graph.w1.as_slice()));
    assert!(close(grads.layers.0.bias.as_slice(), graph.b1.as_slice()));
    assert!(close(grads.layers.2.weight.as_slice(), graph.w2.as_slice()));
    assert!(close(grads.layers.2.bias.as_slice(), graph.b2.as_slice()));
}

#[test]
fn sequential_names_its_tensors_as_pytorch_does() {
    type Mlp = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;
    let model = Mlp::zeros();
    let mut names = Vec::new();
    model.visit_named("", &mut |name, tensor| {
        names.push((name.to_string(), tensor.shape.to_vec()))
    });
    let expected = [
        ("0.weight", vec![16, 2]),
        ("0.bias", vec![16]),
        ("2.weight", vec![1, 16]),
        ("2.bias", vec![1]),
    ];
    let expected: Vec<(String, Vec<usize>)> = expected
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect();
    assert_eq!(names, expected);
    assert_eq!(model.len(), 16 * 2 + 16 + 16 + 1);
}

#[test]
fn the_same_seed_initialises_the_same_model() {
    type Mlp = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;
    let a = Mlp::init(&mut StdRng::seed_from_u64(5));
    let b = Mlp::init(&mut StdRng::seed_from_u64(5));
    let c = Mlp::init(&mut StdRng::seed_from_u64(6));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // PyTorch's default bounds: 1/√2 for the first layer, 1/4 for the second.
    assert!(a
        .layers
        .0
        .weight
        .iter()
        .all(|w| w.abs() <= 1.0 / 2f32.sqrt()));
    assert!(a.layers.2.weight.iter().all(|w| w.abs() <= 0.25));
}

#[test]
fn a_tanh_network_learns_sin() {
    type Mlp = Sequential<(Linear<f32, 1, 16>, Tanh, Linear<f32, 16, 1>)>;
    let mut model = Mlp::init(&mut StdRng::seed_from_u64(0));
    let x = SMatrix::<f32, 1, 64>::from_fn(|_, c| {
        -std::f32::consts::PI + c as f32 * std::f32::consts::TAU / 63.0
    });
    let y = x.map(f32::sin);
    let mut adam = Adam::new(1e-2);
    for _ in 0..3000 {
        let (_, grads) = model.loss_and_grad(&x, &y, Mse);
        adam.step(&mut model, &grads);
    }
    let loss = Mse.loss(&model.forward(&x), &y);
    assert!(loss < 1e-3, "final MSE {loss}");
}

/// Two interleaved spirals, `n` points per arm, and their class per column.
fn spirals<const N: usize>() -> (SMatrix<f32, 2, N>, [usize; N]) {
    let mut classes = [0; N];
    let points = SMatrix::<f32, 2, N>::from_fn(|row, column| {
        let class = column % 2;
        let t = (column / 2) as f32 / (N / 2) as f32 * 3.0 + 0.3;
        let angle = t * 2.5 + std::f32::consts::PI * class as f32;
        let radius = t / 3.3;
        if row == 0 {
            radius * angle.cos()
        } else {
            radius * angle.sin()
        }
    });
    for (column, class) in classes.iter_mut().enumerate() {
        *class = column % 2;
    }
    (points, classes)
}

#[test]
fn a_classifier_separates_two_spirals() {
    type Classifier = Sequential<(
        Linear<f32, 2, 32>,
        Tanh,
        Linear<f32, 32, 32>,
        Tanh,
        Linear<f32, 32, 2>,
    )>;
    let mut model = Classifier::init(&mut StdRng::seed_from_u64(1));
    let (x, classes) = spirals::<128>();
    let mut adam = Adam::new(1e-2);
    for _ in 0..2000 {
        let (_, grads) = model.loss_and_grad(&x, &classes, CrossEntropy);
        adam.step(&mut model, &grads);
    }
    let logits = model.forward(&x);
    let correct = (0..128)
        .filter(|&c| logits.column(c).imax() == classes[c])
        .count();
    assert!(correct as f64 / 128.0 > 0.97, "accuracy {correct}/128");
}

#[test]
fn a_one_input_linear_layer_has_a_two_dimensional_weight() {
    let layer = Linear::<f32, 1, 16>::zeros();
    let mut shapes = Vec::new();
    layer.visit_named("", &mut |name, tensor| {
        shapes.push((name.to_string(), tensor.shape.to_vec()))
    });
    assert_eq!(
        shapes,
        [
            ("weight".to_string(), vec![16, 1]),
            ("bias".to_string(), vec![16])
        ]
    );
}
