//! One training step of the `mlp` workload (2 → 16 tanh → 1, MSE, batch of 32, f32): forward,
//! loss, backward and parameter update, in one run: `cargo bench --bench training`.
//! `BENCHMARKS.md` reports the ratios. Never touches the runtime: it only calls it.
//!
//! Three ways to write the step, each with SGD and with Adam:
//!
//! - `sequential`: `Sequential<(Linear, Tanh, Linear)>`, `loss_and_grad(.., Mse)` and
//!   `chainrule::optim`, as a user of `chainrule::nn` writes it;
//! - `graph`: the whole network as one `graph!`, its parameters kept in its `Grad` struct and
//!   stepped by the same optimizers;
//! - `by_hand`: nalgebra, with the gradient of `benches/workloads` and SGD and Adam written out
//!   from PyTorch's pseudo-code: the baseline.
//!
//! Before timing, every contender's loss, gradients and updated parameters (after one step,
//! and after several for Adam) are checked against the hand-written ones, so the benchmark can
//! never compare different computations.
//!
//! Every iteration steps a fresh copy of the same initial model, so each one does the same
//! arithmetic whatever the number of iterations criterion chooses (a model that kept training
//! would move its hidden layer's inputs, and with them the cost of `tanh`). The copy is 65
//! floats, the same for every contender. Adam's moments carry over from iteration to
//! iteration, as they do in training.

mod workloads;

use std::hint::black_box;

use chainrule::graph;
use chainrule::loss::Mse;
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{Linear, Module, Sequential, Tanh};
use chainrule::optim::{Adam, Optimizer, Sgd};
use chainrule::Parameters;
use criterion::{criterion_group, criterion_main, Criterion};
use workloads::{flatten, mlp_by_hand, mlp_inputs, Mlp, MlpData};

/// PyTorch's `nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))`.
type Model = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;

const LR: f32 = 0.01;
/// The seed of the `mlp` workload in `benches/gradients.rs`.
const SEED: u64 = 42;

graph! {
    /// The same network as one graph: `b1` broadcasts over the batch's columns.
    pub fn mlp_step(w1: SMatrix<f32, 16, 2>, b1: SVector<f32, 16>,
                    w2: SMatrix<f32, 1, 16>, b2: SVector<f32, 1>,
                    #[no_grad] x: SMatrix<f32, 2, 32>, #[no_grad] y: SMatrix<f32, 1, 32>) -> f32 {
        let h = tanh(w1 * x + b1);
        mse(w2 * h + b2, y)
    }
}

/// The `mlp` workload of `benches/gradients.rs`, same seed: its parameters as the initial
/// model, and its batch (`x` uniform in (−2, 2), targets `y = sin(x₀)·x₁`).
fn inputs() -> (Model, MlpData) {
    let (params, data) = mlp_inputs(SEED);
    let model = Model::new((
        Linear::new(params.w1, params.b1),
        Tanh,
        Linear::new(params.w2, params.b2),
    ));
    (model, data)
}

fn as_graph_params(model: &Model) -> mlp_step::Grad {
    let (first, _, second) = &model.layers;
    mlp_step::Grad {
        w1: *first.weight,
        b1: first.bias,
        w2: *second.weight,
        b2: second.bias,
    }
}

fn as_hand_params(model: &Model) -> Mlp {
    let (first, _, second) = &model.layers;
    Mlp {
        w1: *first.weight,
        b1: first.bias,
        w2: *second.weight,
        b2: second.bias,
    }
}

// --- the three steps ------------------------------------------------------------------------

#[inline]
fn sequential_step<O: Optimizer<f32>>(model: &mut Model, data: &MlpData, optimizer: &mut O) -> f32 {
    GRADS.with_borrow_mut(|grads| {
        let loss = model.loss_and_grad_into(&data.x, &data.y, Mse, grads);
        optimizer.step(model, grads);
        loss
    })
}

thread_local! {
    /// The step's gradient, allocated once as a training loop does (a `Linear`'s weight lives
    /// on the heap); every step writes into it.
    static GRADS: std::cell::RefCell<Model> = std::cell::RefCell::new(Model::zeros());
}

#[inline]
fn graph_step<O: Optimizer<f32>>(
    params: &mut mlp_step::Grad,
    data: &MlpData,
    optimizer: &mut O,
) -> f32 {
    let p = *params;
    let (loss, grad) = mlp_step::value_and_grad(p.w1, p.b1, p.w2, p.b2, data.x, data.y);
    optimizer.step(params, &grad);
    loss
}

/// Every tensor of the hand-written network, mutably, in `Parameters` order.
fn slices_mut(p: &mut Mlp) -> [&mut [f32]; 4] {
    [
        p.w1.as_mut_slice(),
        p.b1.as_mut_slice(),
        p.w2.as_mut_slice(),
        p.b2.as_mut_slice(),
    ]
}

fn slices(p: &Mlp) -> [&[f32]; 4] {
    [
        p.w1.as_slice(),
        p.b1.as_slice(),
        p.w2.as_slice(),
        p.b2.as_slice(),
    ]
}

/// SGD by hand: θ ← θ − γ·g (PyTorch's `torch.optim.SGD` without momentum or decay).
#[inline]
fn by_hand_sgd_step(params: &mut Mlp, data: &MlpData, lr: f32) -> f32 {
    let (loss, grad) = mlp_by_hand(params, data);
    params.w1 -= grad.w1 * lr;
    params.b1 -= grad.b1 * lr;
    params.w2 -= grad.w2 * lr;
    params.b2 -= grad.b2 * lr;
    loss
}

/// Adam's state by hand: the step count and the two moments, shaped like the parameters.
struct HandAdam {
    lr: f32,
    step: u32,
    exp_avg: Mlp,
    exp_avg_sq: Mlp,
}

impl HandAdam {
    fn new(lr: f32) -> Self {
        let zeros = Mlp {
            w1: SMatrix::zeros(),
            b1: SVector::zeros(),
            w2: SMatrix::zeros(),
            b2: SVector::zeros(),
        };
        HandAdam {
            lr,
            step: 0,
            exp_avg: zeros,
            exp_avg_sq: zeros,
        }
    }
}

/// Adam by hand, PyTorch's `torch.optim.Adam` with its defaults (β = (0.9, 0.999), ε = 1e-8,
/// no decay), `pytorch/pytorch: torch/optim/adam.py`:
/// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²;
/// θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
/// The step's scalars are computed in f64, as PyTorch computes them in Python floats.
#[inline]
fn by_hand_adam_step(params: &mut Mlp, data: &MlpData, adam: &mut HandAdam) -> f32 {
    let (loss, grad) = mlp_by_hand(params, data);
    let (beta1, beta2, eps) = (0.9_f64, 0.999_f64, 1e-8_f32);
    adam.step += 1;
    let step = f64::from(adam.step);
    let neg_step_size = (-f64::from(adam.lr) / (1.0 - beta1.powf(step))) as f32;
    let bias_correction2_sqrt = (1.0 - beta2.powf(step)).sqrt() as f32;
    let (weight1, beta2, weight2) = ((1.0 - beta1) as f32, beta2 as f32, (1.0 - beta2) as f32);
    let tensors = slices_mut(params).into_iter().zip(slices(&grad)).zip(
        slices_mut(&mut adam.exp_avg)
            .into_iter()
            .zip(slices_mut(&mut adam.exp_avg_sq)),
    );
    for ((param, grad), (exp_avg, exp_avg_sq)) in tensors {
        let elements = param
            .iter_mut()
            .zip(grad)
            .zip(exp_avg.iter_mut().zip(exp_avg_sq.iter_mut()));
        for ((p, &g), (m, v)) in elements {
            *m += weight1 * (g - *m);
            *v = *v * beta2 + weight2 * g * g;
            *p += neg_step_size * *m / (v.sqrt() / bias_correction2_sqrt + eps);
        }
    }
    loss
}

// --- checks ---------------------------------------------------------------------------------

#[track_caller]
fn assert_close(name: &str, what: &str, got: &[f64], by_hand: &[f64], tolerance: f64) {
    assert_eq!(got.len(), by_hand.len(), "{name}: {what} differ in length");
    for (index, (g, h)) in got.iter().zip(by_hand).enumerate() {
        assert!(
            (g - h).abs() <= tolerance * (1.0 + h.abs()),
            "{name}: {what} element {index} is {g} but {h} by hand"
        );
    }
}

fn all<P: Parameters<f32>>(params: &P) -> Vec<f64> {
    let mut values = Vec::new();
    params.visit(&mut |tensor| values.extend(tensor.iter().map(|v| f64::from(*v))));
    values
}

fn all_by_hand(params: &Mlp) -> Vec<f64> {
    flatten(&slices(params))
}

/// Checks the loss and gradients of the initial model, then the parameters after one SGD step,
/// after one Adam step and after `ADAM_STEPS` Adam steps, against the hand-written step.
fn check_contenders(model: &Model, data: &MlpData) {
    const GRADIENT: f64 = 1e-5;
    const PARAMS: f64 = 1e-6;
    const ADAM_STEPS: usize = 5;

    let hand = as_hand_params(model);
    let (hand_loss, hand_grad) = mlp_by_hand(&hand, data);
    let mut hand_expected = vec![f64::from(hand_loss)];
    hand_expected.extend(all_by_hand(&hand_grad));

    let (loss, grads) = model.loss_and_grad(&data.x, &data.y, Mse);
    let mut sequential = vec![f64::from(loss)];
    sequential.extend(all(&grads));
    assert_close(
        "sequential",
        "loss and gradients",
        &sequential,
        &hand_expected,
        GRADIENT,
    );

    let p = as_graph_params(model);
    let (loss, grad) = mlp_step::value_and_grad(p.w1, p.b1, p.w2, p.b2, data.x, data.y);
    let mut graph = vec![f64::from(loss)];
    graph.extend(all(&grad));
    assert_close(
        "graph",
        "loss and gradients",
        &graph,
        &hand_expected,
        GRADIENT,
    );

    // One SGD step.
    let mut hand_params = hand;
    by_hand_sgd_step(&mut hand_params, data, LR);
    let expected = all_by_hand(&hand_params);
    let mut sequential = model.clone();
    sequential_step(&mut sequential, data, &mut Sgd::new(LR));
    assert_close(
        "sequential, SGD",
        "parameters",
        &all(&sequential),
        &expected,
        PARAMS,
    );
    let mut graph = as_graph_params(model);
    graph_step(&mut graph, data, &mut Sgd::new(LR));
    assert_close("graph, SGD", "parameters", &all(&graph), &expected, PARAMS);
    assert_ne!(
        all(&sequential),
        all(model),
        "SGD did not move the parameters"
    );

    // Adam, step by step: its first step moves every parameter by about γ, so this also checks
    // the bias corrections; later steps check that the moments carry over.
    let mut hand_params = hand;
    let mut hand_adam = HandAdam::new(LR);
    let (mut sequential, mut sequential_adam) = (model.clone(), Adam::new(LR));
    let (mut graph, mut graph_adam) = (as_graph_params(model), Adam::new(LR));
    for step in 1..=ADAM_STEPS {
        let hand_loss = by_hand_adam_step(&mut hand_params, data, &mut hand_adam);
        let sequential_loss = sequential_step(&mut sequential, data, &mut sequential_adam);
        let graph_loss = graph_step(&mut graph, data, &mut graph_adam);
        let expected = all_by_hand(&hand_params);
        let what = format!("loss and parameters after Adam step {step}");
        let mut got = vec![f64::from(sequential_loss)];
        got.extend(all(&sequential));
        let mut want = vec![f64::from(hand_loss)];
        want.extend(&expected);
        assert_close("sequential, Adam", &what, &got, &want, PARAMS);
        let mut got = vec![f64::from(graph_loss)];
        got.extend(all(&graph));
        assert_close("graph, Adam", &what, &got, &want, PARAMS);
    }
}

// --- timing ---------------------------------------------------------------------------------

fn training_benches(c: &mut Criterion) {
    let (model, data) = inputs();
    check_contenders(&model, &data);
    let graph_params = as_graph_params(&model);
    let hand_params = as_hand_params(&model);
    // The batch is 0.5 KiB: every contender reads it, and the initial model, by reference
    // through `black_box`, and hands the updated model to `black_box`.
    let data = &data;

    let mut group = c.benchmark_group("train_sgd");
    group.bench_function("sequential", |b| {
        let mut sgd = Sgd::new(LR);
        // Restarting from the initial model copies it in place, as `*` copies the others.
        let mut current = model.clone();
        b.iter(|| {
            current.copy_from(black_box(&model));
            let loss = sequential_step(&mut current, black_box(data), &mut sgd);
            black_box(&current);
            loss
        })
    });
    group.bench_function("graph", |b| {
        let mut sgd = Sgd::new(LR);
        b.iter(|| {
            let mut params = *black_box(&graph_params);
            let loss = graph_step(&mut params, black_box(data), &mut sgd);
            black_box(&params);
            loss
        })
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| {
            let mut params = *black_box(&hand_params);
            let loss = by_hand_sgd_step(&mut params, black_box(data), black_box(LR));
            black_box(&params);
            loss
        })
    });
    group.finish();

    let mut group = c.benchmark_group("train_adam");
    group.bench_function("sequential", |b| {
        let mut adam = Adam::new(LR);
        let mut current = model.clone();
        b.iter(|| {
            current.copy_from(black_box(&model));
            let loss = sequential_step(&mut current, black_box(data), &mut adam);
            black_box(&current);
            loss
        })
    });
    group.bench_function("graph", |b| {
        let mut adam = Adam::new(LR);
        b.iter(|| {
            let mut params = *black_box(&graph_params);
            let loss = graph_step(&mut params, black_box(data), &mut adam);
            black_box(&params);
            loss
        })
    });
    group.bench_function("by_hand", |b| {
        let mut adam = HandAdam::new(LR);
        b.iter(|| {
            let mut params = *black_box(&hand_params);
            let loss = by_hand_adam_step(&mut params, black_box(data), &mut adam);
            black_box(&params);
            loss
        })
    });
    group.finish();

    // Forward, loss and backward alone, to split a step's time between the gradient and the
    // update.
    let mut group = c.benchmark_group("train_gradient");
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let model = black_box(&model);
            let data = black_box(data);
            model.loss_and_grad(&data.x, &data.y, Mse)
        })
    });
    group.bench_function("graph", |b| {
        b.iter(|| {
            let p = *black_box(&graph_params);
            let data = black_box(data);
            mlp_step::value_and_grad(p.w1, p.b1, p.w2, p.b2, data.x, data.y)
        })
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| mlp_by_hand(black_box(&hand_params), black_box(data)))
    });
    group.finish();
}

criterion_group!(benches, training_benches);
criterion_main!(benches);
