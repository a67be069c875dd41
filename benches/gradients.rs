//! chainrule's generated gradients against the same gradients written by hand, measured in one
//! run: `cargo bench --bench gradients`. `BENCHMARKS.md` reports the ratios.
//!
//! Before timing anything, each workload checks that the generated and the hand-written
//! gradients agree, so a benchmark can never compare two different computations.

mod workloads;

use std::hint::black_box;

use chainrule::nalgebra::SMatrix;
use chainrule::runtime::kernels::{matmul, matmul_nt, matmul_tn, small_matmul, small_matmul_tn};
use criterion::{criterion_group, criterion_main, Criterion};
use workloads::*;

#[track_caller]
fn assert_close(generated: &[f64], by_hand: &[f64], tolerance: f64) {
    assert_eq!(generated.len(), by_hand.len());
    for (g, h) in generated.iter().zip(by_hand) {
        assert!(
            (g - h).abs() <= tolerance * (1.0 + h.abs()),
            "generated {g} but by hand {h}"
        );
    }
}

fn lecture_benches(c: &mut Criterion) {
    let point = LECTURE_POINT;
    let (value, grad) = lecture::value_and_grad(point.0, point.1, point.2);
    let (hand_value, hand) = lecture_by_hand(point.0, point.1, point.2);
    assert_close(
        &[value, grad.x, grad.y, grad.z],
        &[hand_value, hand[0], hand[1], hand[2]],
        1e-14,
    );

    let mut group = c.benchmark_group("lecture");
    group.bench_function("chainrule", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| {
            lecture::value_and_grad(x, y, z)
        }))
    });
    group.bench_function("by_hand", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| lecture_by_hand(x, y, z)))
    });
    group.bench_function("chainrule_forward", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| lecture::forward(x, y, z)))
    });
    group.bench_function("by_hand_forward", |b| {
        b.iter(on_black_boxed(point, |(x, y, z)| {
            lecture_forward_by_hand(x, y, z)
        }))
    });
    group.finish();
}

fn neuron_benches(c: &mut Criterion) {
    let inputs = (NEURON_POINT.0, NEURON_POINT.1, NEURON_DATA.0, NEURON_DATA.1);
    let (w, b, x, y) = inputs;
    let (value, grad) = neuron::value_and_grad(w, b, x, y);
    let (hand_value, hand) = neuron_by_hand(w, b, x, y);
    assert_close(
        &[value, grad.w, grad.b],
        &[hand_value, hand[0], hand[1]],
        1e-14,
    );

    let mut group = c.benchmark_group("neuron");
    group.bench_function("chainrule", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron::value_and_grad(w, b, x, y)
        }))
    });
    group.bench_function("by_hand", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron_by_hand(w, b, x, y)
        }))
    });
    group.bench_function("chainrule_forward", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron::forward(w, b, x, y)
        }))
    });
    group.bench_function("by_hand_forward", |bench| {
        bench.iter(on_black_boxed(inputs, |(w, b, x, y)| {
            neuron_forward_by_hand(w, b, x, y)
        }))
    });
    group.finish();
}

fn mlp_benches(c: &mut Criterion) {
    let (params, data) = mlp_inputs(42);
    let (value, g) = mlp_batched(&params, &data);
    let (looped_value, l) = mlp_looped(&params, &data);
    let (hand_value, h) = mlp_by_hand(&params, &data);
    let by_hand = flatten(&[
        &[hand_value],
        h.w1.as_slice(),
        h.b1.as_slice(),
        h.w2.as_slice(),
        h.b2.as_slice(),
    ]);
    let batched = flatten(&[
        &[value],
        g.w1.as_slice(),
        g.b1.as_slice(),
        g.w2.as_slice(),
        g.b2.as_slice(),
    ]);
    let looped = flatten(&[
        &[looped_value],
        l.w1.as_slice(),
        l.b1.as_slice(),
        l.w2.as_slice(),
        l.b2.as_slice(),
    ]);
    assert_close(&batched, &by_hand, 1e-4);
    assert_close(&looped, &by_hand, 1e-4);

    // The batch is 0.5 KiB: pass it by reference, through `black_box`, to every contender.
    let mut group = c.benchmark_group("mlp");
    let (params, data) = (&params, &data);
    group.bench_function("chainrule_batched", |b| {
        b.iter(|| mlp_batched(black_box(params), black_box(data)))
    });
    group.bench_function("chainrule_looped", |b| {
        b.iter(|| mlp_looped(black_box(params), black_box(data)))
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| mlp_by_hand(black_box(params), black_box(data)))
    });
    group.bench_function("chainrule_forward", |b| {
        b.iter(|| mlp_batched_forward(black_box(params), black_box(data)))
    });
    group.bench_function("by_hand_forward", |b| {
        b.iter(|| mlp_forward_by_hand(black_box(params), black_box(data)))
    });
    group.finish();
}

fn deep_benches(c: &mut Criterion) {
    let data = deep_inputs(7);
    let (value, g) = deep_generated(&data);
    let (hand_value, h) = deep_by_hand(&data);
    let generated = flatten(&[
        &[value],
        g.w1.as_slice(),
        g.w2.as_slice(),
        g.w3.as_slice(),
        g.w4.as_slice(),
        g.w5.as_slice(),
    ]);
    let by_hand = flatten(&[
        &[hand_value],
        h[0].as_slice(),
        h[1].as_slice(),
        h[2].as_slice(),
        h[3].as_slice(),
        h[4].as_slice(),
    ]);
    assert_close(&generated, &by_hand, 1e-12);
    let (value, g) = deep_generated_by_ref(&data);
    let by_ref = flatten(&[
        &[value],
        g.w1.as_slice(),
        g.w2.as_slice(),
        g.w3.as_slice(),
        g.w4.as_slice(),
        g.w5.as_slice(),
    ]);
    assert_eq!(by_ref, generated);

    let mut group = c.benchmark_group("deep");
    let data = &data;
    group.bench_function("chainrule", |b| b.iter(|| deep_generated(black_box(data))));
    group.bench_function("chainrule_by_ref", |b| {
        b.iter(|| deep_generated_by_ref(black_box(data)))
    });
    group.bench_function("by_hand", |b| b.iter(|| deep_by_hand(black_box(data))));
    group.bench_function("chainrule_forward", |b| {
        b.iter(|| deep_generated_forward(black_box(data)))
    });
    group.bench_function("by_hand_forward", |b| {
        b.iter(|| deep_forward_by_hand(black_box(data)))
    });
    group.finish();
}

/// A matrix of `T` with irregular elements in [−1, 1].
fn filled<T: chainrule::Real, const R: usize, const C: usize>(salt: f64) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|r, c| T::from_f64(((r * 7 + c * 3) as f64 * 0.1 + salt).sin()))
}

/// One product two ways, `$id/$first` and `$id/nalgebra`, on the same operands.
macro_rules! product_pair {
    ($group:expr, $id:literal, $first:literal, $ours:expr, $nalgebra:expr, $a:expr, $b:expr) => {{
        let (a, b) = ($a, $b);
        $group.bench_function(concat!($id, "/", $first), |bench| {
            bench.iter(|| $ours(black_box(&a), black_box(&b)))
        });
        $group.bench_function(concat!($id, "/nalgebra"), |bench| {
            bench.iter(|| $nalgebra(black_box(&a), black_box(&b)))
        });
    }};
}

/// The small products `matmul` gives its small kernel (`deep`'s and `mlp`'s), against
/// nalgebra (`BENCHMARKS.md`, issue 18).
fn products_for_the_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("product");
    let (w, x) = (filled::<f64, 8, 8>(0.1), filled::<f64, 8, 32>(0.2));
    product_pair!(group, "f64_8x8x8", "matmul", matmul, |a, b| a * b, w, w);
    product_pair!(group, "f64_8x8x32", "matmul", matmul, |a, b| a * b, w, x);
    let tr_mul = |a: &SMatrix<f64, 8, 8>, b| a.tr_mul(b);
    product_pair!(group, "f64_tn_8x8x8", "matmul", matmul_tn, tr_mul, w, w);
    let nt = |a: &SMatrix<f64, 8, 32>, b: &SMatrix<f64, 8, 32>| a * b.transpose();
    product_pair!(group, "f64_nt_8x32x8", "matmul", matmul_nt, nt, x, x);
    let (w1, x) = (filled::<f32, 16, 2>(0.1), filled::<f32, 2, 32>(0.2));
    product_pair!(group, "f32_16x2x32", "matmul", matmul, |a, b| a * b, w1, x);
    let d_h = filled::<f32, 16, 32>(0.3);
    let nt = |a: &SMatrix<f32, 16, 32>, b: &SMatrix<f32, 2, 32>| a * b.transpose();
    let x_t = filled::<f32, 2, 32>(0.4);
    product_pair!(group, "f32_nt_16x32x2", "matmul", matmul_nt, nt, d_h, x_t);
    let (a, b) = (filled::<f32, 10, 32>(0.1), filled::<f32, 32, 10>(0.2));
    product_pair!(group, "f32_10x32x10", "matmul", matmul, |a, b| a * b, a, b);
    group.finish();
}

/// Small products `matmul` leaves to nalgebra, with the kernel forced on the instruction set
/// it would take, to show why.
fn products_for_nalgebra(c: &mut Criterion) {
    let mut group = c.benchmark_group("product");
    // A row vector's product: one element per column, the scalar path.
    let scalar = pulp::Scalar::new();
    let (row, b) = (filled::<f32, 1, 16>(0.1), filled::<f32, 16, 32>(0.2));
    let kernel = |a, b| small_matmul(scalar, a, b);
    product_pair!(
        group,
        "f32_1x16x32",
        "kernel_scalar",
        kernel,
        |a, b| a * b,
        row,
        b
    );
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        // Too few columns to pay for the transposed copy of `a`.
        let (a, b) = (filled::<f32, 16, 16>(0.1), filled::<f32, 16, 4>(0.2));
        let kernel = |a, b| small_matmul_tn(v4, a, b);
        let tr_mul = |a: &SMatrix<f32, 16, 16>, b| a.tr_mul(b);
        product_pair!(
            group,
            "f32_tn_16x16x4",
            "kernel_avx512",
            kernel,
            tr_mul,
            a,
            b
        );
        // Too few multiply-adds to pay for the call.
        let (a, b) = (filled::<f64, 8, 2>(0.1), filled::<f64, 2, 8>(0.2));
        let kernel = |a, b| small_matmul(v4, a, b);
        product_pair!(
            group,
            "f64_8x2x8",
            "kernel_avx512",
            kernel,
            |a, b| a * b,
            a,
            b
        );
        // An outer product: depth 1, nothing to add.
        let (w2, d_out) = (filled::<f32, 1, 16>(0.1), filled::<f32, 1, 32>(0.2));
        let kernel = |a, b| small_matmul_tn(v4, a, b);
        let tr_mul = |a: &SMatrix<f32, 1, 16>, b| a.tr_mul(b);
        product_pair!(
            group,
            "f32_tn_16x1x32",
            "kernel_avx512",
            kernel,
            tr_mul,
            w2,
            d_out
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    lecture_benches,
    neuron_benches,
    mlp_benches,
    deep_benches,
    products_for_the_kernel,
    products_for_nalgebra
);
criterion_main!(benches);
