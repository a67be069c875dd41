//! The convolution kernels of the digits CNN (`examples/digits.rs`), each pass alone, at the
//! network's sizes on a batch of 16: conv 1 (1 → 8 channels, 8×8, 73 k multiply-adds a pass)
//! forward with its bias and weight gradient (its input needs no gradient), conv 2 (8 → 16,
//! 4×4, 295 k) forward, input and weight gradients. Where `cargo bench --bench cnn` times the
//! whole step, this says which kernel it spends it in: `cargo bench --bench conv_kernels`.

use std::hint::black_box;

use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::runtime::kernels::{
    conv2d_bias_into, conv2d_input_grad_into, conv2d_weight_grad_into,
};
use criterion::{criterion_group, criterion_main, Criterion};

/// A deterministic irregular matrix.
fn filled<const R: usize, const C: usize>(salt: f32) -> Box<SMatrix<f32, R, C>> {
    Box::new(SMatrix::from_fn(|i, j| {
        ((i * 7 + j * 3) as f32 * 0.618 + salt).sin()
    }))
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_kernels");
    // conv 1: C 1, 8×8, K 3, stride 1, padding 1, R = 64 rows, B 16, C_out 8, CKK 9, OUT 512.
    let (x, w, b, d_y) = (
        filled::<64, 16>(0.1),
        filled::<8, 9>(0.2),
        SVector::<f32, 8>::repeat(0.1),
        filled::<512, 16>(0.3),
    );
    let (mut y, mut d_w) = (filled::<512, 16>(0.0), filled::<8, 9>(0.0));
    group.bench_function("conv1/forward", |bench| {
        bench.iter(|| {
            conv2d_bias_into::<f32, 1, 8, 8, 3, 1, 1, 64, 16, 8, 9, 512>(
                black_box(&x),
                &w,
                &b,
                &mut y,
            )
        })
    });
    group.bench_function("conv1/weight_grad", |bench| {
        bench.iter(|| {
            conv2d_weight_grad_into::<f32, 1, 8, 8, 3, 1, 1, 64, 16, 8, 9, 512>(
                black_box(&d_y),
                &x,
                &mut d_w,
            )
        })
    });
    // conv 2: C 8, 4×4, K 3, stride 1, padding 1, R 128, B 16, C_out 16, CKK 72, OUT 256.
    let (x, w, b, d_y) = (
        filled::<128, 16>(0.4),
        filled::<16, 72>(0.5),
        SVector::<f32, 16>::repeat(0.1),
        filled::<256, 16>(0.6),
    );
    let (mut y, mut d_x, mut d_w) = (
        filled::<256, 16>(0.0),
        filled::<128, 16>(0.0),
        filled::<16, 72>(0.0),
    );
    group.bench_function("conv2/forward", |bench| {
        bench.iter(|| {
            conv2d_bias_into::<f32, 8, 4, 4, 3, 1, 1, 128, 16, 16, 72, 256>(
                black_box(&x),
                &w,
                &b,
                &mut y,
            )
        })
    });
    group.bench_function("conv2/input_grad", |bench| {
        bench.iter(|| {
            conv2d_input_grad_into::<f32, 8, 4, 4, 3, 1, 1, 128, 16, 16, 72, 256>(
                black_box(&d_y),
                &w,
                &mut d_x,
            )
        })
    });
    group.bench_function("conv2/weight_grad", |bench| {
        bench.iter(|| {
            conv2d_weight_grad_into::<f32, 8, 4, 4, 3, 1, 1, 128, 16, 16, 72, 256>(
                black_box(&d_y),
                &x,
                &mut d_w,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
