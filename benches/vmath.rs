//! `vmath`'s vectorised `tanh`, `exp` and `sigmoid` against mapping the scalar functions
//! (std's `tanhf` and `expf`, the runtime's `sigmoid`) over the same 4096 `f32`s, on each
//! path, and a `graph!` computing the function of a 4096-vector, which calls `vmath`, in one
//! run: `cargo bench --bench vmath`. `BENCHMARKS.md` reports the ratios.
//!
//! Before timing, every run (the `-- --test` smoke run included) checks `tanh` and `exp` on
//! all 2³² `f32` inputs against `f64`'s functions, and fails past 2 ulp.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chainrule::graph;
use chainrule::nalgebra::SVector;
use chainrule::runtime::vmath::{self, Function, Path, Simd};
use criterion::{criterion_group, Criterion};

const LEN: usize = 4096;

type Vector = SVector<f32, LEN>;

graph! {
    fn tanh_graph(x: SVector<f32, 4096>) -> SVector<f32, 4096> { tanh(x) }
}

graph! {
    fn exp_graph(x: SVector<f32, 4096>) -> SVector<f32, 4096> { exp(x) }
}

graph! {
    fn sigmoid_graph(x: SVector<f32, 4096>) -> SVector<f32, 4096> { sigmoid(x) }
}

/// Inputs spread evenly over [−range, range], where each function does all its work.
fn inputs(range: f32) -> Vec<f32> {
    (0..LEN)
        .map(|i| range * (2.0 * i as f32 / (LEN - 1) as f32 - 1.0))
        .collect()
}

fn bench_function(
    c: &mut Criterion,
    function: Function,
    range: f32,
    scalar: fn(f32) -> f32,
    graph: fn(Vector) -> Vector,
) {
    let input = inputs(range);
    let mut output = vec![0.0_f32; LEN];
    let vector = Vector::from_column_slice(&input);
    let from_graph = graph(vector);
    for (&x, &y) in input.iter().zip(from_graph.iter()) {
        let exact = scalar(x);
        assert!((y - exact).abs() <= 4.0 * f32::EPSILON * exact.abs().max(f32::MIN_POSITIVE));
    }
    let mut group = c.benchmark_group(format!("vmath_{function:?}").to_lowercase());
    // A graph's element-wise function of a vector, against the same vector mapped by std's
    // scalar function: both take and return the vector by value.
    group.bench_function("graph", |b| b.iter(|| graph(black_box(vector))));
    group.bench_function("std_mapped", |b| b.iter(|| black_box(vector).map(scalar)));
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
    bench_function(c, Function::Tanh, 5.0, f32::tanh, tanh_graph::forward);
    bench_function(c, Function::Exp, 10.0, f32::exp, exp_graph::forward);
    bench_function(
        c,
        Function::Sigmoid,
        10.0,
        chainrule::runtime::sigmoid::<f32>,
        sigmoid_graph::forward,
    );
}

/// Where `vmath` starts to pay: one call on a few elements against the scalar function mapped,
/// which sets the compiler's `VECTORISE_ELEMENTS` (`graph-macros/compiler/src/passes/fuse.rs`).
fn small_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("vmath_small");
    for len in [2, 4, 8, 16, 32] {
        let input: Vec<f32> = (0..len).map(|i| i as f32 / len as f32 - 0.5).collect();
        let mut output = vec![0.0_f32; len];
        group.bench_function(format!("tanh_std_{len}"), |b| {
            b.iter(|| {
                for (out, &x) in output.iter_mut().zip(black_box(&input)) {
                    *out = x.tanh();
                }
                black_box(&mut output);
            })
        });
        group.bench_function(format!("tanh_vmath_{len}"), |b| {
            b.iter(|| {
                vmath::apply(Function::Tanh, black_box(&input), &mut output);
                black_box(&mut output);
            })
        });
        group.bench_function(format!("exp_std_{len}"), |b| {
            b.iter(|| {
                for (out, &x) in output.iter_mut().zip(black_box(&input)) {
                    *out = x.exp();
                }
                black_box(&mut output);
            })
        });
        group.bench_function(format!("exp_vmath_{len}"), |b| {
            b.iter(|| {
                vmath::apply(Function::Exp, black_box(&input), &mut output);
                black_box(&mut output);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, vmath_benches, small_benches);

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
    let rounded = exact as f32;
    if !(rounded.is_finite() && ours.is_finite()) {
        let same = rounded == ours || (rounded.is_nan() && ours.is_nan());
        return if same { 0.0 } else { f64::INFINITY };
    }
    let exponent = ((exact.abs().to_bits() >> 52) as i32 - 1023).max(-126);
    let ulp = f64::from_bits(((exponent - 23 + 1023) as u64) << 52);
    (ours as f64 - exact).abs() / ulp
}

/// What the exhaustive check knows of a function besides its values.
#[derive(Clone, Copy, PartialEq)]
enum Symmetry {
    None,
    /// f(−x) = −f(x): the negative half is checked to be the positive half negated, bit for
    /// bit, so only the positive half is compared with the reference.
    Odd,
}

/// Every `f32` through `function` on the best path, against `exact`, on every core.
fn exhaustive(
    function: Function,
    exact: impl Fn(f64) -> f64 + Sync,
    symmetry: Symmetry,
) -> WorstCase {
    const CHUNK: u64 = 1 << 16;
    let end: u64 = if symmetry == Symmetry::Odd {
        1 << 31
    } else {
        1 << 32
    };
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
                let mut mirrored = vec![0.0_f32; CHUNK as usize];
                let mut local = WorstCase {
                    ulp: 0.0,
                    input: 0.0,
                };
                loop {
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    if start >= end {
                        break;
                    }
                    for (i, x) in input.iter_mut().enumerate() {
                        *x = f32::from_bits((start + i as u64) as u32);
                    }
                    vmath::apply(function, &input, &mut output);
                    if symmetry == Symmetry::Odd {
                        mirrored.iter_mut().zip(&input).for_each(|(m, &x)| *m = -x);
                        vmath::apply_in_place(function, &mut mirrored);
                        for ((&x, &y), &m) in input.iter().zip(&output).zip(&mirrored) {
                            let odd = (-y).to_bits() == m.to_bits() || (y.is_nan() && m.is_nan());
                            assert!(odd, "{function:?}({x:e}) = {y:e} but at −x {m:e}");
                        }
                    }
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

/// Checks `function` on every `f32` and prints its largest error.
fn check_all_f32_inputs(
    function: Function,
    exact: impl Fn(f64) -> f64 + Sync,
    symmetry: Symmetry,
    bound: f64,
) {
    let start = std::time::Instant::now();
    let worst = exhaustive(function, exact, symmetry);
    println!(
        "{function:?} on {:?}, all 2^32 f32 inputs: at most {:.3} ulp (at x = {:e}), in {:.1} s",
        Path::best(),
        worst.ulp,
        worst.input,
        start.elapsed().as_secs_f64()
    );
    assert!(
        worst.ulp <= bound,
        "{function:?}: {worst:?} is past {bound} ulp"
    );
}

/// Every path this CPU has computes the scalar path's bits, on 2²⁰ inputs of each type: random
/// bit patterns and evenly spaced values over [−30, 30], in the bench profile, where the
/// loops are vectorised (the tests check the same, unoptimised).
fn check_paths_agree() {
    fn check<T: vmath::Element>(inputs: &[T], bits: impl Fn(T) -> u64) {
        let scalar = Simd::new(Path::Scalar).expect("always available");
        let mut expected = vec![T::ZERO; inputs.len()];
        let mut got = expected.clone();
        for function in Function::ALL {
            scalar.apply(function, inputs, &mut expected);
            for simd in Path::ALL.into_iter().filter_map(Simd::new) {
                simd.apply(function, inputs, &mut got);
                let same = expected.iter().zip(&got).all(|(&e, &g)| bits(e) == bits(g));
                assert!(
                    same,
                    "{function:?} on {:?} differs from the scalar path",
                    simd.path()
                );
            }
        }
    }
    const N: u64 = 1 << 20;
    let mix = |i: u64| (i ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let spaced = |i: u64| 60.0 * (i as f64 / N as f64) - 30.0;
    let f32s: Vec<f32> = (0..N)
        .map(|i| {
            if i % 2 == 0 {
                f32::from_bits((mix(i) >> 32) as u32)
            } else {
                spaced(i) as f32
            }
        })
        .collect();
    let f64s: Vec<f64> = (0..N)
        .map(|i| {
            if i % 2 == 0 {
                f64::from_bits(mix(i))
            } else {
                spaced(i)
            }
        })
        .collect();
    check(&f32s, |x| x.to_bits() as u64);
    check(&f64s, f64::to_bits);
    println!("every path agrees with the scalar path bit for bit, on 2^20 f32s and f64s");
}

fn main() {
    check_paths_agree();
    check_all_f32_inputs(Function::Tanh, f64::tanh, Symmetry::Odd, 2.0);
    // exp is monotonic, and e¹⁰⁰ and e⁻¹¹⁰ are already beyond f32's range: clamping the
    // reference's argument there changes no verdict and keeps libm off its slow paths.
    let exact = |x: f64| f64::exp(x.clamp(-110.0, 100.0));
    check_all_f32_inputs(Function::Exp, exact, Symmetry::None, 2.0);
    // The other six take about as long each: on request.
    if std::env::var_os("VMATH_ULP_ALL").is_some() {
        use chainrule::runtime::{erf, gelu, sigmoid, silu, softplus};
        check_all_f32_inputs(Function::Sigmoid, sigmoid::<f64>, Symmetry::None, 2.0);
        check_all_f32_inputs(Function::Ln, f64::ln, Symmetry::None, 4.0);
        check_all_f32_inputs(Function::Softplus, softplus::<f64>, Symmetry::None, 4.0);
        check_all_f32_inputs(Function::Erf, erf::<f64>, Symmetry::Odd, 4.0);
        check_all_f32_inputs(Function::Gelu, gelu::<f64>, Symmetry::None, 4.0);
        check_all_f32_inputs(Function::Silu, silu::<f64>, Symmetry::None, 4.0);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
