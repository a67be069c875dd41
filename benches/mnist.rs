//! The value-and-gradient step of an MNIST-sized classifier, 784-H-10 with ReLU and
//! cross-entropy in `f32`, against the floor of its matrix products alone, in one run:
//! `cargo bench --bench mnist`, then `python3 benches/mnist_table.py` for the tables of
//! `BENCHMARKS.md`. Never touches the runtime: it only calls it.
//!
//! Each step is measured four ways, for 784-128-10 on a batch of 32 (group `mnist`), by
//! hidden width (`width`) and by batch size (`batch`):
//!
//! - `graph`: the network as one `graph!`, as a user writes it today, its parameters passed by
//!   value as the generated `value_and_grad` takes them (at 784-128-10 also `graph_by_ref`,
//!   the same graph with `#[by_ref]`);
//! - `sequential`: `Sequential<(Linear, ReLU, Linear)>` and `loss_and_grad(.., CrossEntropy)`;
//! - `floor`: the step's five products alone (W1·X, dZ1·Xᵀ, W2·H, dZ2·Hᵀ, W2ᵀ·dZ2), each one
//!   `gemm` call writing into memory allocated once (faer ties gemm at 784-128-10 and beats it
//!   at the smallest sizes, matrixmultiply is slower: `BENCHMARKS.md` has the comparison);
//! - `floor_kernels`: the same five products through `chainrule::runtime::kernels`, which
//!   generated code calls, and which return their result by value.
//!
//! Before timing each size, the two forms' losses and gradients are checked against each
//! other, and the floor's products against the kernels', so the benchmark can never compare
//! different computations. Each iteration's result is read through a reference
//! (`black_box(&step)`), so timing adds no copy of the 400 KB gradient.
//!
//! A 784×128 weight is 400 KB, and 3.2 MB at a width of 1024, so the inputs live in `Box`es
//! and the benchmarks run on a thread with a 64 MiB stack. Criterion would otherwise run them
//! on the main thread, whose 8 MiB the width-1024 steps overflow: optimised, the one-graph
//! step needs about 11 MiB of stack there and the `Sequential` about 18 MiB (at width 128,
//! 1.5 and 2.5 MiB).

mod classifier;

use std::hint::black_box;
use std::time::Duration;

use chainrule::graph;
use chainrule::loss::CrossEntropy;
use chainrule::nn::Module;
use classifier::{assert_close, Batch, Products};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};

const PIXELS: usize = 784;
/// The seed of every model and batch here.
const SEED: u64 = 784;

/// The MNIST classifier, 784-H-10.
type Classifier<const H: usize> = classifier::Classifier<PIXELS, H>;

graph! {
    /// The 784-128-10 classifier's loss on a batch of 32, as a user writes it: one sample per
    /// column of `x`, one-hot targets in `y`, the biases repeated over the batch.
    pub fn mnist_loss(w1: SMatrix<f32, 128, 784>, b1: SVector<f32, 128>,
                      w2: SMatrix<f32, 10, 128>, b2: SVector<f32, 10>,
                      #[no_grad] x: SMatrix<f32, 784, 32>, #[no_grad] y: SMatrix<f32, 10, 32>) -> f32 {
        let h = relu(w1 * x + b1);
        batch_cross_entropy(w2 * h + b2, y)
    }
}

graph! {
    /// The same with `#[by_ref]`: the parameters and the batch are read through references.
    #[by_ref]
    pub fn mnist_loss_by_ref(w1: SMatrix<f32, 128, 784>, b1: SVector<f32, 128>,
                             w2: SMatrix<f32, 10, 128>, b2: SVector<f32, 10>,
                             #[no_grad] x: SMatrix<f32, 784, 32>, #[no_grad] y: SMatrix<f32, 10, 32>) -> f32 {
        let h = relu(w1 * x + b1);
        batch_cross_entropy(w2 * h + b2, y)
    }
}

graph! {
    /// The same network at any hidden width `H` and batch size `B`: the sweeps.
    pub fn classifier_loss<const H: usize, const B: usize>(
        w1: SMatrix<f32, H, 784>, b1: SVector<f32, H>,
        w2: SMatrix<f32, 10, H>, b2: SVector<f32, 10>,
        #[no_grad] x: SMatrix<f32, 784, B>, #[no_grad] y: SMatrix<f32, 10, B>) -> f32 {
        let h = relu(w1 * x + b1);
        batch_cross_entropy(w2 * h + b2, y)
    }
}

/// Checks that the two forms compute the same loss and gradients, and the floor the same
/// products as the runtime's kernels. A gradient is `[w1, b1, w2, b2]`.
fn check<const H: usize, const B: usize>(
    (graph_loss, graph_grad): (f32, [&[f32]; 4]),
    (sequential_loss, sequential_grad): (f32, [&[f32]; 4]),
    products: &mut Products<PIXELS, H, B>,
) {
    assert_close("loss", &[graph_loss], &[sequential_loss]);
    for ((name, g), s) in ["w1", "b1", "w2", "b2"]
        .iter()
        .zip(graph_grad)
        .zip(sequential_grad)
    {
        assert_close(name, g, s);
    }
    products.by_gemm();
    let by_gemm = products.results();
    products.by_kernels();
    assert_close("products", &by_gemm, &products.results());
}

/// A `Sequential`'s gradient as `[w1, b1, w2, b2]`.
fn layers<const H: usize>(grad: &Classifier<H>) -> [&[f32]; 4] {
    let (first, _, second) = &grad.layers;
    [
        first.weight.as_slice(),
        first.bias.as_slice(),
        second.weight.as_slice(),
        second.bias.as_slice(),
    ]
}

/// The floor's two benchmarks, in `group` under `parameter`.
fn bench_floor<const H: usize, const B: usize>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    parameter: usize,
    products: &mut Products<PIXELS, H, B>,
) {
    group.bench_function(BenchmarkId::new("floor", parameter), |bench| {
        bench.iter(|| black_box(&mut *products).by_gemm())
    });
    group.bench_function(BenchmarkId::new("floor_kernels", parameter), |bench| {
        bench.iter(|| black_box(&mut *products).by_kernels())
    });
}

/// One size of a sweep: the const-generic graph, the `Sequential`, and the floor.
fn bench_size<const H: usize, const B: usize>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    parameter: usize,
) {
    let (model, batch) = classifier::inputs::<PIXELS, H, B>(SEED);
    let graph_step = |model: &Classifier<H>, batch: &Batch<PIXELS, B>| {
        let (first, _, second) = &model.layers;
        classifier_loss::value_and_grad(
            *first.weight,
            first.bias,
            *second.weight,
            second.bias,
            batch.x,
            batch.y,
        )
    };
    let sequential_step = |model: &Classifier<H>, batch: &Batch<PIXELS, B>| {
        model.loss_and_grad(&batch.x, &batch.classes, CrossEntropy)
    };
    let mut products = Products::new(&model, &batch);
    {
        let (graph_loss, g) = graph_step(&model, &batch);
        let (sequential_loss, sequential_grad) = sequential_step(&model, &batch);
        check(
            (
                graph_loss,
                [
                    g.w1.as_slice(),
                    g.b1.as_slice(),
                    g.w2.as_slice(),
                    g.b2.as_slice(),
                ],
            ),
            (sequential_loss, layers(&sequential_grad)),
            &mut products,
        );
    }
    let (model, batch) = (&*model, &*batch);
    group.bench_function(BenchmarkId::new("graph", parameter), |bench| {
        bench.iter(|| black_box(&graph_step(black_box(model), black_box(batch))).0)
    });
    group.bench_function(BenchmarkId::new("sequential", parameter), |bench| {
        bench.iter(|| black_box(&sequential_step(black_box(model), black_box(batch))).0)
    });
    bench_floor(group, parameter, &mut products);
}

/// Short samples: the sweeps have 7 sizes of 4 benchmarks each.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

/// The 784-128-10 step on a batch of 32, the graph written with its sizes as a user does.
fn mnist_benches(c: &mut Criterion) {
    let (model, batch) = classifier::inputs::<PIXELS, 128, 32>(SEED);
    let graph_step = |model: &Classifier<128>, batch: &Batch<PIXELS, 32>| {
        let (first, _, second) = &model.layers;
        mnist_loss::value_and_grad(
            *first.weight,
            first.bias,
            *second.weight,
            second.bias,
            batch.x,
            batch.y,
        )
    };
    let by_ref_step = |model: &Classifier<128>, batch: &Batch<PIXELS, 32>| {
        let (first, _, second) = &model.layers;
        mnist_loss_by_ref::value_and_grad(
            &first.weight,
            &first.bias,
            &second.weight,
            &second.bias,
            &batch.x,
            &batch.y,
        )
    };
    let mut products = Products::new(&model, &batch);
    {
        let (graph_loss, g) = graph_step(&model, &batch);
        let (by_ref_loss, r) = by_ref_step(&model, &batch);
        assert!(
            (by_ref_loss, r.w1, r.b1, r.w2, r.b2) == (graph_loss, g.w1, g.b1, g.w2, g.b2),
            "the graph by reference computes another step than by value"
        );
        let (sequential_loss, sequential_grad) =
            model.loss_and_grad(&batch.x, &batch.classes, CrossEntropy);
        check(
            (
                graph_loss,
                [
                    g.w1.as_slice(),
                    g.b1.as_slice(),
                    g.w2.as_slice(),
                    g.b2.as_slice(),
                ],
            ),
            (sequential_loss, layers(&sequential_grad)),
            &mut products,
        );
    }
    let (model, batch) = (&*model, &*batch);
    let mut group = c.benchmark_group("mnist");
    configure(&mut group);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(BenchmarkId::new("graph", 128), |bench| {
        bench.iter(|| black_box(&graph_step(black_box(model), black_box(batch))).0)
    });
    group.bench_function(BenchmarkId::new("graph_by_ref", 128), |bench| {
        bench.iter(|| black_box(&by_ref_step(black_box(model), black_box(batch))).0)
    });
    group.bench_function(BenchmarkId::new("sequential", 128), |bench| {
        bench.iter(|| {
            let step = black_box(model).loss_and_grad(
                black_box(&batch.x),
                black_box(&batch.classes),
                CrossEntropy,
            );
            black_box(&step).0
        })
    });
    bench_floor(&mut group, 128, &mut products);
    group.finish();
}

/// One criterion group over sizes, each a monomorphised `bench_size`:
/// `sweep!(c, "width", widths [16, 64] at batch 32)` or
/// `sweep!(c, "batch", batches [8, 32] at width 128)`, named by the size that varies.
macro_rules! sweep {
    ($c:expr, $name:literal, widths [$($hidden:literal),*] at batch $batch:literal) => {{
        let mut group = $c.benchmark_group($name);
        configure(&mut group);
        $(bench_size::<$hidden, $batch>(&mut group, $hidden);)*
        group.finish();
    }};
    ($c:expr, $name:literal, batches [$($batch:literal),*] at width $hidden:literal) => {{
        let mut group = $c.benchmark_group($name);
        configure(&mut group);
        $(bench_size::<$hidden, $batch>(&mut group, $batch);)*
        group.finish();
    }};
}

/// 784-H-10 on a batch of 32.
fn width_benches(c: &mut Criterion) {
    sweep!(c, "width", widths [16, 64, 128, 256, 1024] at batch 32);
}

/// 784-128-10 on batches of 8 to 128.
fn batch_benches(c: &mut Criterion) {
    sweep!(c, "batch", batches [8, 32, 128] at width 128);
}

fn main() {
    // See the module's doc: the steps need more stack than the main thread's 8 MiB.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut criterion = Criterion::default().configure_from_args();
            mnist_benches(&mut criterion);
            width_benches(&mut criterion);
            batch_benches(&mut criterion);
            criterion.final_summary();
        })
        .expect("a benchmark thread")
        .join()
        .expect("the benchmarks succeed");
}
