//! The whole training step, as users run it, against the floor of its matrix products, in one
//! run: `cargo bench --bench step`, then `python3 benches/table.py target/criterion step_784
//! step_64` for the tables of `BENCHMARKS.md`. Never touches the runtime: it only calls it.
//!
//! A step is everything a training loop does per batch: forward, cross-entropy, backward
//! (`Module::loss_and_grad_into`, into a gradient allocated once, as the `Trainer` calls it)
//! and the optimizer's update. The models are PyTorch's `nn.Sequential(nn.Linear(I, H),
//! nn.ReLU(), nn.Linear(H, 10))` on batches of 32 in `f32`: MNIST's 784 inputs at widths 64,
//! 128 and 512 (group `step_784`), and the digits data's 64 inputs at width 128 (`step_64`).
//! In each group, by width:
//!
//! - `floor`: the step's five products alone, each one `gemm` call into memory allocated once
//!   (`benches/classifier`, the floor of `benches/mnist.rs`);
//! - `sgd_momentum`: `Sgd::new(1e-3).momentum(0.9)`;
//! - `adam`: `Adam::new(1e-3)`;
//! - `sgd_momentum_aged`, `adam_aged` (784-128-10 only): the drift check, the same steps
//!   taken after 3,000 steps of training;
//! - `sgd_momentum_parallel`, `adam_parallel`: the same steps with the products on both
//!   threads of rayon's pool (`kernels::set_parallel(true)`), where the others use one.
//!
//! The model trains while it is timed, over eight batches in turn (uniform pixels, random
//! classes), but every 250 steps it starts over from the same state (untimed), so each figure
//! is the mean of steps 1–250 of a run (or 3,001–3,250 for the aged ones), whatever the number
//! of iterations criterion chooses. Before timing, a run's step is checked against the
//! convenient `loss_and_grad` followed by the same optimizer, so the benchmark can never time
//! another computation.

mod classifier;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chainrule::loss::CrossEntropy;
use chainrule::nn::Module;
use chainrule::optim::{Adam, Optimizer, Sgd};
use chainrule::runtime::kernels::set_parallel;
use chainrule::Parameters;
use classifier::{Batch, Classifier, Products};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};

const BATCH: usize = 32;
const LR: f32 = 1e-3;
/// Steps a run takes before it starts over from the same state.
const SEGMENT: u64 = 250;
/// Steps of training before the aged runs are timed.
const AGE: usize = 3_000;
/// Batches the runs cycle through.
const BATCHES: u64 = 8;

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// A training run: the model, its gradient buffer, its optimizer and the step it is at.
#[derive(Clone)]
struct Run<'a, const I: usize, const H: usize, O> {
    model: Box<Classifier<I, H>>,
    grads: Box<Classifier<I, H>>,
    optimizer: O,
    batches: &'a [Box<Batch<I, BATCH>>],
    steps: usize,
}

impl<'a, const I: usize, const H: usize, O: Optimizer<f32> + Clone> Run<'a, I, H, O> {
    fn new(model: &Classifier<I, H>, optimizer: O, batches: &'a [Box<Batch<I, BATCH>>]) -> Self {
        Run {
            model: Box::new(model.clone()),
            grads: Box::new(Classifier::zeros()),
            optimizer,
            batches,
            steps: 0,
        }
    }

    /// One whole step on the next batch; the loss.
    fn step(&mut self) -> f32 {
        let batch = &self.batches[self.steps % self.batches.len()];
        let loss =
            self.model
                .loss_and_grad_into(&batch.x, &batch.classes, CrossEntropy, &mut self.grads);
        self.optimizer.step(&mut *self.model, &*self.grads);
        self.steps += 1;
        loss
    }

    /// The same run after `steps` more steps.
    fn aged(&self, steps: usize) -> Self {
        let mut run = self.clone();
        for _ in 0..steps {
            run.step();
        }
        run
    }

    /// Checks that two steps of this run are the convenient `loss_and_grad` and the same
    /// optimizer's steps.
    fn check(&self) {
        let (mut run, mut model, mut optimizer) =
            (self.clone(), self.model.clone(), self.optimizer.clone());
        for step in 0..2 {
            let batch = &self.batches[(self.steps + step) % self.batches.len()];
            let (loss, grads) = model.loss_and_grad(&batch.x, &batch.classes, CrossEntropy);
            optimizer.step(&mut *model, &grads);
            assert_eq!(run.step(), loss, "step {step}: the losses differ");
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        run.model
            .visit(&mut |tensor| ours.extend_from_slice(tensor));
        model.visit(&mut |tensor| theirs.extend_from_slice(tensor));
        assert!(ours == theirs, "the in-place step updates other parameters");
    }

    /// The time of `iterations` steps, taken from this state onward and started over every
    /// `SEGMENT` steps (untimed).
    fn time(&self, iterations: u64) -> Duration {
        let (mut total, mut done) = (Duration::ZERO, 0);
        while done < iterations {
            let mut run = self.clone();
            let steps = SEGMENT.min(iterations - done);
            let start = Instant::now();
            for _ in 0..steps {
                black_box(run.step());
            }
            total += start.elapsed();
            done += steps;
        }
        total
    }
}

/// `run`'s steps as the benchmark `name` of `group`, after checking them, and with
/// `parallel` products as `{name}_parallel`.
fn bench_run<const I: usize, const H: usize, O: Optimizer<f32> + Clone>(
    group: &mut Group<'_>,
    name: &str,
    run: &Run<'_, I, H, O>,
    parallel: bool,
) {
    run.check();
    group.bench_function(BenchmarkId::new(name, H), |bench| {
        bench.iter_custom(|iterations| run.time(iterations))
    });
    if parallel {
        set_parallel(true);
        group.bench_function(BenchmarkId::new(format!("{name}_parallel"), H), |bench| {
            bench.iter_custom(|iterations| run.time(iterations))
        });
        set_parallel(false);
    }
}

/// The floor and both optimizers' steps of `I`-`H`-10; with `aged`, the drift check too.
fn bench_width<const I: usize, const H: usize>(group: &mut Group<'_>, aged: bool) {
    let batches: Vec<_> = (0..BATCHES)
        .map(|seed| classifier::inputs::<I, H, BATCH>(seed).1)
        .collect();
    let model = classifier::inputs::<I, H, BATCH>(I as u64).0;
    let mut products = Products::new(&model, &batches[0]);
    group.bench_function(BenchmarkId::new("floor", H), |bench| {
        bench.iter(|| black_box(&mut *products).by_gemm())
    });
    let sgd = Run::new(&model, Sgd::new(LR).momentum(0.9), &batches);
    let adam = Run::new(&model, Adam::new(LR), &batches);
    bench_run(group, "sgd_momentum", &sgd, true);
    bench_run(group, "adam", &adam, true);
    if aged {
        bench_run(group, "sgd_momentum_aged", &sgd.aged(AGE), false);
        bench_run(group, "adam_aged", &adam.aged(AGE), false);
    }
}

fn configure(group: &mut Group<'_>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("step_784");
    configure(&mut group);
    bench_width::<784, 64>(&mut group, false);
    bench_width::<784, 128>(&mut group, true);
    bench_width::<784, 512>(&mut group, false);
    group.finish();
    let mut group = criterion.benchmark_group("step_64");
    configure(&mut group);
    bench_width::<64, 128>(&mut group, false);
    group.finish();
    criterion.final_summary();
}
