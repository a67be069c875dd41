//! `vmath`'s vectorised `tanh`, `exp` and `sigmoid` against mapping the scalar functions
//! generated code calls today (std's `tanhf` and `expf`, the runtime's `sigmoid`) over the same
//! 4096 `f32`s, in one run: `cargo bench --bench vmath`. `BENCHMARKS.md` reports the ratios.
//!
//! Before timing, every run (the `-- --test` smoke run included) checks `tanh` and `exp` on
//! all 2³² `f32` inputs against `f64`'s functions, and fails past 2 ulp.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chainrule::runtime::vmath::{self, Function, Path, Simd};
use criterion::{criterion_group, Criterion};

const LEN: usize = 4096;

/// Inputs spread evenly over [−range, range], where each function does all its work.
fn inputs(range: f32) -> Vec<f32> {
    (0..LEN)
        .map(|i| range * (2.0 * i as f32 / (LEN - 1) as f32 - 1.0))
        .collect()
}

fn bench_function(c: &mut Criterion, function: Function, range: f32, scalar: fn(f32) -> f32) {
    let input = inputs(range);
    let mut output = vec![0.0_f32; LEN];
    let mut group = c.benchmark_group(format!("vmath_{function:?}").to_lowercase());
    group.bench_function("std_scalar", |b| {
        b.iter(|| {
            for (out, &x) in output.iter_mut().zip(black_box(&input)) {
                *out = scalar(x);
            }
            black_box(&mut output);
        })
    });
    for path in Path::ALL.into_iter().filter(|&p| p != Path::Scalar) {
        let Some(simd) = Simd::new(path) else {
            continue;
        };
        group.bench_function(format!("vmath_{path:?}").to_lowercase(), |b| {
            b.iter(|| {
                simd.apply(function, black_box(&input), &mut output);
                black_box(&mut output);
            })
        });
    }
    group.finish();
}

fn vmath_benches(c: &mut Criterion) {
    bench_function(c, Function::Tanh, 5.0, f32::tanh);
    bench_function(c, Function::Exp, 10.0, f32::exp);
    bench_function(
        c,
        Function::Sigmoid,
        10.0,
        chainrule::runtime::sigmoid::<f32>,
    );
}

criterion_group!(benches, vmath_benches);

/// The largest error of one function over all `f32`s, in ulp of the exact result.
#[derive(Clone, Copy, Debug)]
struct WorstCase {
    ulp: f64,
    input: f32,
}

/// |ours − exact| in units of the last place of `exact` in `f32`. `exact` is the `f64`
/// function's result, within 1 ulp of `f64`: 2⁻²⁹ ulp of `f32`, so the figure is good to
/// that. ∞ where only one of them is NaN or infinite.
fn ulp_error(ours: f32, exact: f64) -> f64 {
    if exact.is_nan() || ours.is_nan() {
        return if exact.is_nan() && ours.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let rounded = exact as f32;
    if rounded.is_infinite() || ours.is_infinite() {
        return if rounded == ours { 0.0 } else { f64::INFINITY };
    }
    let exponent = ((exact.abs().to_bits() >> 52) as i32 - 1023).max(-126);
    let ulp = f64::from_bits(((exponent - 23 + 1023) as u64) << 52);
    (ours as f64 - exact).abs() / ulp
}

/// Every `f32` through `function` on the best path, against `exact`, on every core.
fn exhaustive(function: Function, exact: fn(f64) -> f64) -> WorstCase {
    const CHUNK: u64 = 1 << 16;
    let stride: u64 = std::env::var("STRIDE").map_or(1, |s| s.parse().unwrap());
    let next = AtomicU64::new(0);
    let worst = Mutex::new(WorstCase {
        ulp: 0.0,
        input: 0.0,
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut input = vec![0.0_f32; CHUNK as usize];
                let mut output = vec![0.0_f32; CHUNK as usize];
                let mut local = WorstCase {
                    ulp: 0.0,
                    input: 0.0,
                };
                loop {
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    if start * stride >= 1 << 32 {
                        break;
                    }
                    for (i, x) in input.iter_mut().enumerate() {
                        *x = f32::from_bits(((start + i as u64) * stride) as u32);
                    }
                    vmath::apply(function, &input, &mut output);
                    for (&x, &y) in input.iter().zip(&output) {
                        let ulp = ulp_error(y, exact(x as f64));
                        if ulp > local.ulp {
                            local = WorstCase { ulp, input: x };
                        }
                    }
                }
                let mut worst = worst.lock().expect("no thread panics holding it");
                if local.ulp > worst.ulp {
                    *worst = local;
                }
            });
        }
    });
    worst.into_inner().expect("no thread panicked")
}

fn check_all_f32_inputs() {
    let path = Path::best();
    for (function, exact) in [
        (Function::Tanh, f64::tanh as fn(f64) -> f64),
        (Function::Exp, f64::exp),
        (Function::Ln, f64::ln),
        (Function::Sigmoid, chainrule::runtime::sigmoid::<f64>),
        (Function::Softplus, chainrule::runtime::softplus::<f64>),
        (Function::Silu, chainrule::runtime::silu::<f64>),
        (Function::Erf, chainrule::runtime::erf::<f64>),
        (Function::Gelu, chainrule::runtime::gelu::<f64>),
    ] {
        let start = std::time::Instant::now();
        let worst = exhaustive(function, exact);
        println!(
            "{function:?} ({path:?}), all 2^32 f32 inputs: max error {:.3} ulp, at {:e} ({:.1} s)",
            worst.ulp,
            worst.input,
            start.elapsed().as_secs_f64()
        );
        assert!(worst.ulp <= 4.0, "{function:?}: {worst:?} is past 2 ulp");
    }
}

fn main() {
    check_all_f32_inputs();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
