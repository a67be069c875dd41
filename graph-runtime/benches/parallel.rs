//! When data parallelism pays: one step's gradient (gather the batch, forward, loss,
//! backward) over the whole batch on one thread, against `DataParallel` in chunks of 32 (and
//! of 128 for the wide model's batch of 256) on thread pools of 1 and 2 threads, for two model
//! sizes and two batch sizes.
//! `cargo bench -p graph-runtime --bench parallel`; `BENCHMARKS.md`, "Data parallelism",
//! reports the medians. Only calls the runtime.
//!
//! Before timing, each case checks that 1 and 2 threads give the same bits, and that the
//! chunked gradient is the whole batch's up to rounding.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use graph_runtime::data::Dataset;
use graph_runtime::loss::{CrossEntropy, Loss};
use graph_runtime::nalgebra::{SMatrix, SVector};
use graph_runtime::nn::{Init, Linear, Module, Sequential, Tanh};
use graph_runtime::rand::{rngs::StdRng, RngExt, SeedableRng};
use graph_runtime::train::rayon::{ThreadPool, ThreadPoolBuilder};
use graph_runtime::train::DataParallel;
use graph_runtime::Parameters;

/// 2 → 16 → 2, the lecture's size: 82 parameters.
type Small = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 2>)>;
/// 64 → 256 → 256 → 10: 85,002 parameters.
type Wide = Sequential<(
    Linear<f32, 64, 256>,
    Tanh,
    Linear<f32, 256, 256>,
    Tanh,
    Linear<f32, 256, 10>,
)>;

/// `n` random inputs of size `I` and classes below `K`.
fn dataset<const I: usize, const K: usize>(n: usize) -> Dataset<f32, I, usize> {
    let mut rng = StdRng::seed_from_u64(1);
    (0..n)
        .map(|i| (SVector::from_fn(|_, _| rng.random_range(-1.0..1.0)), i % K))
        .collect()
}

fn flat<P: Parameters<f32>>(params: &P) -> Vec<f32> {
    let mut all = Vec::new();
    params.visit(&mut |tensor| all.extend_from_slice(tensor));
    all
}

fn case<M, const I: usize, const B: usize, const CHUNK: usize>(
    c: &mut Criterion,
    name: &str,
    model: &M,
    data: &Dataset<f32, I, usize>,
    pools: &[(usize, ThreadPool)],
) where
    M: Module<SMatrix<f32, I, B>>
        + Module<SMatrix<f32, I, CHUNK>>
        + Parameters<f32>
        + Init
        + Send
        + Sync,
    CrossEntropy: Loss<<M as Module<SMatrix<f32, I, B>>>::Output, [usize; B], Value = f32>
        + Loss<<M as Module<SMatrix<f32, I, CHUNK>>>::Output, [usize; CHUNK], Value = f32>,
{
    let indices: [usize; B] = std::array::from_fn(|i| i);
    let whole = || {
        let (x, y) = data.batch(&indices);
        model.loss_and_grad(&x, &y, CrossEntropy)
    };
    let chunked = || DataParallel::<CHUNK>::loss_and_grad(model, &CrossEntropy, data, &indices);

    let (loss, grads) = whole();
    let (one, many) = (pools[0].1.install(chunked), pools[1].1.install(chunked));
    assert_eq!(
        (one.0.to_bits(), flat(&one.1)),
        (many.0.to_bits(), flat(&many.1))
    );
    assert!((loss - one.0).abs() <= 1e-4 * loss.abs());
    for (a, b) in flat(&grads).iter().zip(flat(&one.1)) {
        assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }

    let mut group = c.benchmark_group(format!("parallel/{name}/batch{B}"));
    if CHUNK == 32 {
        group.bench_function("whole batch", |b| b.iter(|| black_box(whole())));
    }
    for (threads, pool) in pools {
        group.bench_function(format!("chunks of {CHUNK}, {threads} threads"), |b| {
            pool.install(|| b.iter(|| black_box(chunked())))
        });
    }
    group.finish();
}

fn parallel_benches(c: &mut Criterion) {
    let pools: Vec<(usize, ThreadPool)> = [1, 2]
        .into_iter()
        .map(|threads| {
            // The wide model passes 340 KB parameters and gradients by value: more than
            // rayon's default 2 MiB worker stack holds.
            let pool = ThreadPoolBuilder::new()
                .num_threads(threads)
                .stack_size(64 << 20);
            (threads, pool.build().unwrap())
        })
        .collect();
    let small = Small::init(&mut StdRng::seed_from_u64(0));
    let small_data = dataset::<2, 2>(512);
    case::<_, 2, 64, 32>(c, "small", &small, &small_data, &pools);
    case::<_, 2, 512, 32>(c, "small", &small, &small_data, &pools);
    // On the heap: the wide model's weights are 340 KB.
    let wide = Box::new(Wide::init(&mut StdRng::seed_from_u64(0)));
    let wide_data = dataset::<64, 10>(512);
    case::<_, 64, 64, 32>(c, "wide", &*wide, &wide_data, &pools);
    case::<_, 64, 256, 32>(c, "wide", &*wide, &wide_data, &pools);
    // Two chunks, one per thread: each product stays large.
    case::<_, 64, 256, 128>(c, "wide", &*wide, &wide_data, &pools);
}

criterion_group!(benches, parallel_benches);
criterion_main!(benches);
