//! chainrule's generated gradients against the same gradients written by hand, measured in one
//! run: `cargo bench --bench gradients`. `BENCHMARKS.md` reports the ratios.
//!
//! Before timing anything, each workload checks that the generated and the hand-written
//! gradients agree, so a benchmark can never compare two different computations.

mod workloads;

use std::hint::black_box;

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

    let mut group = c.benchmark_group("deep");
    let data = &data;
    group.bench_function("chainrule", |b| b.iter(|| deep_generated(black_box(data))));
    group.bench_function("by_hand", |b| b.iter(|| deep_by_hand(black_box(data))));
    group.bench_function("chainrule_forward", |b| {
        b.iter(|| deep_generated_forward(black_box(data)))
    });
    group.bench_function("by_hand_forward", |b| {
        b.iter(|| deep_forward_by_hand(black_box(data)))
    });
    group.finish();
}

criterion_group!(
    benches,
    lecture_benches,
    neuron_benches,
    mlp_benches,
    deep_benches
);
criterion_main!(benches);
