//! The digits CNN's whole training step (`examples/digits.rs`: conv 1→8, ReLU, max-pool,
//! conv 8→16, ReLU, max-pool, flatten, linear 64→10, on a batch of 16 8×8 images), forward,
//! cross-entropy, backward and an SGD-with-momentum update, against the floor of its own
//! matrix products in the same run: `cargo bench --bench cnn`.
//!
//! - `step`: `loss_and_grad_into` then `Sgd::step`, as the `Trainer` runs a step;
//! - `floor`: the step's eight products alone, each one `gemm` call into memory allocated once:
//!   the two convolutions as im2col products (`W·cols`), the linear layer's, and in the
//!   backward pass the three weight gradients and the input gradients of the second
//!   convolution and the linear layer (the first convolution's input needs none).
//!
//! Before timing, training the network from the example's seed must reach 93% on the test
//! split: `.ci/run` runs this benchmark once (`-- --test`) in the optimised profile, which is
//! where that check lives, as training in a debug build takes minutes.

use std::hint::black_box;

use chainrule::loss::CrossEntropy;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::Module;
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use criterion::{criterion_group, criterion_main, Criterion};

mod floor;
use floor::product;

#[allow(dead_code)] // The benchmark uses the network, its data and its training.
#[path = "../examples/digits.rs"]
mod digits;

use digits::{DigitsCnn, BATCH};

/// The step's products as (rows, columns, depth): forward, then backward.
const PRODUCTS: [(usize, usize, usize); 8] = [
    (8, BATCH * 64, 9),   // conv 1: W₁ · cols(x)
    (16, BATCH * 16, 72), // conv 2: W₂ · cols(h)
    (10, BATCH, 64),      // linear: W₃ · h
    (10, 64, BATCH),      // d_W₃ = d_y · hᵀ
    (64, BATCH, 10),      // d_h = W₃ᵀ · d_y
    (16, 72, BATCH * 16), // d_W₂ = d_z₂ · cols(h)ᵀ
    (72, BATCH * 16, 16), // d_cols(h) = W₂ᵀ · d_z₂
    (8, 9, BATCH * 64),   // d_W₁ = d_z₁ · cols(x)ᵀ
];

/// Training from the example's seed reaches the example's accuracy.
fn check_accuracy() {
    let (train, test) = digits::digits();
    let (model, _) = digits::train(&train).expect("training does not diverge");
    let accuracy = digits::accuracy(&digits::predict(&model, &test), &test);
    assert!(accuracy >= 0.93, "test accuracy {accuracy} is below 0.93");
}

fn cnn(c: &mut Criterion) {
    check_accuracy();
    let (train, _) = digits::digits();
    let mut model = digits::he_init(&mut StdRng::seed_from_u64(0)).expect("weights have fans");
    let x = SMatrix::<f32, 64, BATCH>::from_fn(|r, c| train.inputs()[c][r]);
    let y: [usize; BATCH] = std::array::from_fn(|i| train.targets()[i]);
    let mut grads = <DigitsCnn as chainrule::nn::Init>::zeros();
    let mut optimizer = Sgd::new(0.01).momentum(0.9);
    let mut group = c.benchmark_group("cnn");
    group.bench_function("step", |bench| {
        bench.iter(|| {
            let loss = model.loss_and_grad_into(black_box(&x), &y, CrossEntropy, &mut grads);
            optimizer.step(&mut model, &grads);
            black_box(loss)
        })
    });
    let largest = PRODUCTS
        .iter()
        .map(|(r, c, d)| (r * c).max(r * d).max(d * c))
        .max()
        .unwrap_or(0);
    let (a, b) = (vec![0.5f32; largest], vec![0.25f32; largest]);
    let mut out = vec![0.0f32; largest];
    group.bench_function("floor", |bench| {
        bench.iter(|| {
            for dims in PRODUCTS {
                product(&mut out, black_box(&a), black_box(&b), dims);
            }
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, cnn);
criterion_main!(benches);
