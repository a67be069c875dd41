//! The optimizer step alone, against a plain `p += a·g` loop over the same buffers, in one
//! run: `cargo bench --bench optim`, then `python3 benches/table.py target/criterion optim_9610
//! optim_101770` for the tables of `BENCHMARKS.md`. Never touches the runtime: it only calls it.
//!
//! Two models, as users step them: the digits MLP `Sequential<(Linear<f32, 64, 128>, ReLU,
//! Linear<f32, 128, 10>)>` (9,610 parameters, group `optim_9610`) and the MNIST one with 784
//! inputs (101,770 parameters, `optim_101770`). In each group:
//!
//! - `by_hand`: the baseline, `p += a·g` written here as a loop over every tensor and its
//!   gradient (`Parameters::zip_mut`), with a = −10⁻³, compiled as a user's loop is (SSE2 on
//!   x86-64 without `target-cpu`);
//! - `by_hand_widest`: the same loop compiled for the widest vectors the processor has, chosen
//!   at run time by `pulp`, as the optimizers' loops are;
//! - `by_hand_momentum`: SGD with momentum 0.9 written out as plainly (b ← 0.9·b + g,
//!   θ ← θ − γ·b), the floor of `sgd_momentum`: the same memory traffic, 5 streams against the
//!   baseline's 3;
//! - `sgd`, `sgd_momentum`, `adam`, `adamw`: `Sgd::new(1e-3)`, `.momentum(0.9)`,
//!   `Adam::new(1e-3)` and `AdamW::new(1e-3)`, PyTorch's other defaults, each stepped once
//!   before timing so that its state exists, as after a training run's first step;
//! - `sgd_momentum_aged`, `adam_aged`: the drift check. After `sgd_momentum` or `adam` has
//!   been timed, a quarter of the hidden units die (their gradients become exactly zero, as
//!   for dead ReLU units) and the same optimizer takes 3,000 more steps on the same memory
//!   before it is timed again, so the state of the dead units has decayed as far as it can:
//!   without flushing, SGD's momentum buffers and Adam's first moments would be subnormal from
//!   about the 800th step on and stay so (at the smallest subnormals, 0.9·x rounds back to x).
//!   Only the state differs from the live run: the same parameters, gradient and buffers in
//!   memory, since where buffers lie relative to each other moves these timings by up to 40%
//!   (4K aliasing).
//!
//! The gradients are a second model's initial parameters, so every entry is a normal number
//! of the size of a weight; every iteration steps the same model onward with the same
//! gradient. Before timing, each optimizer's first step is checked against the baseline or
//! PyTorch's first-step formula, and each state for subnormals and for dead units' zeros, so
//! the benchmark can never time a different computation.

use std::hint::black_box;

use chainrule::nn::{Linear, ReLU, Sequential};
use chainrule::optim::{Adam, AdamW, Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use chainrule::Parameters;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

const LR: f32 = 1e-3;
/// Steps with dead units before timing the aged optimizers.
const AGE: usize = 3_000;

/// An MLP with `I` inputs, 128 hidden units and 10 outputs: the digits model for `I` = 64,
/// 9,610 parameters, and the MNIST one for `I` = 784, 101,770 parameters (400 KB a copy).
type Mlp<const I: usize> = Sequential<(Linear<f32, I, 128>, ReLU, Linear<f32, 128, 10>)>;

/// The baseline: θ ← θ + a·g, tensor by tensor, as plain as a loop gets.
fn add_scaled_by_hand<P: Parameters<f32> + ?Sized>(params: &mut P, grads: &P, factor: f32) {
    params.zip_mut(grads, &mut |params, grads| {
        for (param, grad) in params.iter_mut().zip(grads) {
            *param += factor * *grad;
        }
    });
}

/// The baseline compiled for the widest vectors the processor has, as the optimizers' loops
/// are (`pulp` chooses AVX-512, AVX2 or SSE2 at run time).
fn add_scaled_by_hand_widest<P: Parameters<f32> + ?Sized>(params: &mut P, grads: &P, factor: f32) {
    struct AddScaled<'a> {
        params: &'a mut [f32],
        grads: &'a [f32],
        factor: f32,
    }
    impl pulp::WithSimd for AddScaled<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _: S) {
            for (param, grad) in self.params.iter_mut().zip(self.grads) {
                *param += self.factor * *grad;
            }
        }
    }
    let arch = pulp::Arch::new();
    params.zip_mut(grads, &mut |params, grads| {
        arch.dispatch(AddScaled {
            params,
            grads,
            factor,
        })
    });
}

/// SGD with momentum μ = 0.9 after its first step, written out as plainly as the baseline:
/// b ← μ·b + g, θ ← θ − γ·b, with `buffer` one value per scalar in the `Parameters` order.
/// The memory traffic of `sgd_momentum` (three streams read, two written) without the
/// optimizer.
fn momentum_by_hand<P: Parameters<f32> + ?Sized>(params: &mut P, grads: &P, buffer: &mut [f32]) {
    let mut offset = 0;
    params.zip_mut(grads, &mut |params, grads| {
        let buffer = &mut buffer[offset..offset + params.len()];
        for ((param, grad), buffer) in params.iter_mut().zip(grads).zip(buffer) {
            *buffer = 0.9 * *buffer + *grad;
            *param += -LR * *buffer;
        }
        offset += params.len();
    });
}

/// The model (seed 0) and a gradient of the same shape (a second model, seed 1).
fn model_and_gradient<const I: usize>() -> (Box<Mlp<I>>, Box<Mlp<I>>) {
    (
        Box::new(Mlp::<I>::init(&mut StdRng::seed_from_u64(0))),
        Box::new(Mlp::<I>::init(&mut StdRng::seed_from_u64(1))),
    )
}

/// Kills every fourth hidden unit: its row of the first weight's gradient, its bias's and its
/// column of the second weight's become exactly zero.
fn kill_units<const I: usize>(grads: &mut Mlp<I>) {
    let (first, _, second) = &mut grads.layers;
    for unit in (0..128).step_by(4) {
        first.weight.row_mut(unit).fill(0.0);
        first.bias[unit] = 0.0;
        second.weight.column_mut(unit).fill(0.0);
    }
}

/// A copy of `model` on the heap. (Generic, so that it holds whether or not the model is
/// `Copy`: a model of real size may keep its weights on the heap.)
fn boxed_copy<M: Clone>(model: &M) -> Box<M> {
    Box::new(model.clone())
}

/// Every scalar of `params`, in the `Parameters` order.
fn flat<P: Parameters<f32> + ?Sized>(params: &P) -> Vec<f32> {
    let mut out = Vec::with_capacity(params.len());
    params.visit(&mut |tensor| out.extend_from_slice(tensor));
    out
}

/// Checks each optimizer's first step: plain SGD and SGD with momentum (whose buffer starts as
/// the gradient) are the baseline bit for bit, later steps of SGD with momentum are
/// `momentum_by_hand`'s, and Adam's first step is γ·g/(|g| + ε) (PyTorch's update with
/// m = (1 − β₁)·g and v = (1 − β₂)·g²).
fn check_first_steps<const I: usize>(params: &Mlp<I>, grads: &Mlp<I>) {
    let mut expected = boxed_copy(params);
    add_scaled_by_hand(&mut *expected, grads, -LR);
    let mut widest = boxed_copy(params);
    add_scaled_by_hand_widest(&mut *widest, grads, -LR);
    assert_eq!(flat(&*widest), flat(&*expected), "the two baselines");
    for mut sgd in [Sgd::new(LR), Sgd::new(LR).momentum(0.9)] {
        let mut stepped = boxed_copy(params);
        sgd.step(&mut *stepped, grads);
        assert_eq!(flat(&*stepped), flat(&*expected), "SGD's first step");
    }
    // Later steps of SGD with momentum are the loop written out, bit for bit.
    let (mut ours, mut by_hand) = (boxed_copy(params), boxed_copy(params));
    let mut sgd = Sgd::new(LR).momentum(0.9);
    let mut buffer = flat(grads);
    sgd.step(&mut *ours, grads);
    add_scaled_by_hand(&mut *by_hand, grads, -LR);
    for _ in 0..3 {
        sgd.step(&mut *ours, grads);
        momentum_by_hand(&mut *by_hand, grads, &mut buffer);
    }
    assert_eq!(flat(&*ours), flat(&*by_hand), "SGD with momentum");
    let mut stepped = boxed_copy(params);
    Adam::new(LR).step(&mut *stepped, grads);
    let (before, after, grads) = (flat(params), flat(&*stepped), flat(grads));
    for ((&before, &after), &grad) in before.iter().zip(&after).zip(&grads) {
        let grad = f64::from(grad);
        let expected = f64::from(LR) * grad / (grad.abs() + 1e-8);
        let step = f64::from(before) - f64::from(after);
        assert!(
            (step - expected).abs() < 1e-3 * expected.abs(),
            "Adam's first step is {step}, not {expected}"
        );
    }
}

/// Checks an optimizer's state after its history: no subnormal number anywhere, and where
/// the gradient has been zero for long (dead units), a momentum buffer or first moment of
/// exactly zero. (The second moment decays by β₂ = 0.999 a step and is still normal after
/// 3,000.)
fn check_state<O: Optimizer<f32>, const I: usize>(optimizer: &O, grads: &Mlp<I>) {
    let dead = flat(grads).iter().filter(|&&grad| grad == 0.0).count();
    for (name, buffer) in &optimizer.state().buffers {
        let subnormal = buffer.iter().position(|x| x.is_subnormal());
        assert!(
            subnormal.is_none(),
            "`{name}` is subnormal at {subnormal:?}"
        );
        let zeros = buffer.iter().filter(|&&x| x == 0.0).count();
        assert!(
            name == "exp_avg_sq" || zeros >= dead,
            "`{name}`: {zeros} zeros"
        );
    }
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Times `optimizer.step` on `params` and `grads` after one step (so that its state exists),
/// as `name`. Then, with `aged`, kills a quarter of the hidden units, takes `AGE` more steps,
/// and times the step again on the same memory, as `{name}_aged`: only the state differs.
fn bench_optimizer<O: Optimizer<f32>, const I: usize>(
    group: &mut Group<'_>,
    (name, mut optimizer): (&str, O),
    (params, grads): (&Mlp<I>, &Mlp<I>),
    aged: bool,
) {
    let (mut params, mut grads) = (boxed_copy(params), boxed_copy(grads));
    optimizer.step(&mut *params, &*grads);
    time_step(group, name, &mut optimizer, &mut params, &grads);
    if aged {
        kill_units(&mut grads);
        for _ in 0..AGE {
            optimizer.step(&mut *params, &*grads);
        }
        let name = format!("{name}_aged");
        time_step(group, &name, &mut optimizer, &mut params, &grads);
    }
}

/// Checks the optimizer's state, then times its step.
fn time_step<O: Optimizer<f32>, const I: usize>(
    group: &mut Group<'_>,
    name: &str,
    optimizer: &mut O,
    params: &mut Mlp<I>,
    grads: &Mlp<I>,
) {
    check_state(optimizer, grads);
    group.bench_function(name, |b| {
        b.iter(|| optimizer.step(black_box(&mut *params), black_box(grads)));
    });
}

fn bench_model<const I: usize>(c: &mut Criterion, n_params: usize) {
    let (params, grads) = model_and_gradient::<I>();
    assert_eq!(params.len(), n_params);
    check_first_steps(&params, &grads);
    let mut group = c.benchmark_group(format!("optim_{n_params}"));
    group.throughput(Throughput::Elements(n_params as u64));
    let mut baseline = params.clone();
    group.bench_function("by_hand", |b| {
        b.iter(|| add_scaled_by_hand(black_box(&mut *baseline), black_box(&*grads), -LR));
    });
    let mut baseline = params.clone();
    group.bench_function("by_hand_widest", |b| {
        b.iter(|| add_scaled_by_hand_widest(black_box(&mut *baseline), black_box(&*grads), -LR));
    });
    let (mut baseline, mut buffer) = (params.clone(), flat(&*grads));
    group.bench_function("by_hand_momentum", |b| {
        b.iter(|| momentum_by_hand(black_box(&mut *baseline), black_box(&*grads), &mut buffer));
    });
    let model = (&*params, &*grads);
    bench_optimizer(&mut group, ("sgd", Sgd::new(LR)), model, false);
    let momentum = Sgd::new(LR).momentum(0.9);
    bench_optimizer(&mut group, ("sgd_momentum", momentum), model, true);
    bench_optimizer(&mut group, ("adam", Adam::new(LR)), model, true);
    bench_optimizer(&mut group, ("adamw", AdamW::new(LR)), model, false);
    group.finish();
}

fn optimizer_benches(c: &mut Criterion) {
    bench_model::<64>(c, 9_610);
    bench_model::<784>(c, 101_770);
}

criterion_group!(benches, optimizer_benches);
criterion_main!(benches);
