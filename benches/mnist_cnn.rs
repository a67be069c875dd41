//! PyTorch's MNIST example network (`pytorch/examples: mnist/main.py`: conv 1→32 3×3, ReLU,
//! conv 32→64 3×3, ReLU, max-pool 2, dropout 0.25, flatten, linear 9216→128, ReLU, dropout
//! 0.5, linear 128→10, cross-entropy) on a batch of 32 28×28 images: its whole training step
//! against the floor of its own matrix products, in the same run:
//! `cargo bench --bench mnist_cnn`.
//!
//! - `step`: `loss_and_grad_into` then `Sgd(0.01).momentum(0.9)::step`, dropout on (training
//!   mode), as the `Trainer` runs a step;
//! - `floor`: the step's products alone, each one `gemm` call into memory allocated once: the
//!   two convolutions as im2col products (`W·cols`), the linear layers', and in the backward
//!   pass every weight gradient and the input gradient of every layer but the first.
//!
//! PyTorch's same step on one thread: `benches/pytorch_mnist_cnn.py`.

use std::hint::black_box;

use chainrule::loss::CrossEntropy;
use chainrule::nn::Module;
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, SeedableRng};
use criterion::{criterion_group, criterion_main, Criterion};

mod floor;
use floor::product;

#[path = "../tests/support/mnist_cnn.rs"]
mod network;

use network::{batch, MnistCnn, BATCH};

/// The step's products as (rows, columns, depth): forward, then backward.
const PRODUCTS: [(usize, usize, usize); 11] = [
    (32, BATCH * 676, 9),   // conv 1: W₁ · cols(x), 26×26 positions
    (64, BATCH * 576, 288), // conv 2: W₂ · cols(h₁), 24×24 positions, 32·3·3 taps
    (128, BATCH, 9216),     // fc 1: W₃ · h₂
    (10, BATCH, 128),       // fc 2: W₄ · h₃
    (10, 128, BATCH),       // d_W₄ = d_y · h₃ᵀ
    (128, BATCH, 10),       // d_h₃ = W₄ᵀ · d_y
    (128, 9216, BATCH),     // d_W₃ = d_z₃ · h₂ᵀ
    (9216, BATCH, 128),     // d_h₂ = W₃ᵀ · d_z₃
    (64, 288, BATCH * 576), // d_W₂ = d_z₂ · cols(h₁)ᵀ
    (288, BATCH * 576, 64), // d_cols(h₁) = W₂ᵀ · d_z₂
    (32, 9, BATCH * 676),   // d_W₁ = d_z₁ · cols(x)ᵀ (the input needs no gradient)
];

fn mnist_cnn(c: &mut Criterion) {
    let (x, y) = batch();
    let mut model = network::init::<f32, _>(&mut StdRng::seed_from_u64(0));
    let mut grads = MnistCnn::<f32>::zeros();
    let mut optimizer = Sgd::new(0.01).momentum(0.9);
    let mut group = c.benchmark_group("mnist_cnn");
    // A step is tens of milliseconds: criterion's default 100 samples would take minutes.
    group.sample_size(20);
    group.bench_function("step", |bench| {
        bench.iter(|| {
            let loss = model.loss_and_grad_into(black_box(&*x), &y, CrossEntropy, &mut grads);
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

criterion_group!(benches, mnist_cnn);
criterion_main!(benches);
