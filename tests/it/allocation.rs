//! Generated forward and backward code never touches the heap, and neither does a training
//! step after the first: a counting global allocator sees no allocation while they run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use chainrule::nalgebra::{SMatrix, SVector};

/// Counts the allocations made by the current thread (tests run on several threads), and
/// in [`POOL_ALLOCATIONS`] those of the threads that [`count_in_pool`] marked.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static IN_COUNTED_POOL: Cell<bool> = const { Cell::new(false) };
}

/// The allocations of every thread marked by [`count_in_pool`]: the worker threads of the one
/// test's pool that counts them.
static POOL_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// Marks the calling thread: its allocations count in [`POOL_ALLOCATIONS`].
fn count_in_pool() {
    IN_COUNTED_POOL.with(|marked| marked.set(true));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may already be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        if IN_COUNTED_POOL.try_with(Cell::get).unwrap_or(false) {
            POOL_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

pub(crate) fn allocations_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = work();
    (result, ALLOCATIONS.with(Cell::get) - before)
}

#[test]
fn the_counter_sees_a_heap_allocation() {
    let (_, count) = allocations_during(|| std::hint::black_box(vec![1u8; 16]));
    assert!(count >= 1);
}

#[test]
fn mlp_forward_and_backward_allocate_nothing() {
    use super::tensor::mlp_loss;
    let w1 = SMatrix::<f32, 16, 2>::from_fn(|i, j| (i as f32 - 2.0 * j as f32) * 0.1);
    let b1 = SVector::<f32, 16>::repeat(0.1);
    let w2 = SMatrix::<f32, 1, 16>::from_fn(|_, j| 0.05 * j as f32);
    let (b2, x, y) = (
        SVector::<f32, 1>::new(0.0),
        SVector::<f32, 2>::new(0.5, -0.5),
        SVector::<f32, 1>::new(1.0),
    );
    let ((loss, grad), count) =
        allocations_during(|| mlp_loss::value_and_grad(w1, b1, w2, b2, x, y));
    assert_eq!(count, 0, "value_and_grad allocated");
    assert!(loss.is_finite() && grad.w1.iter().all(|g| g.is_finite()));
    let (_, count) = allocations_during(|| mlp_loss::backward(w1, b1, w2, b2, x, y, 2.0));
    assert_eq!(count, 0, "backward allocated");
    let (_, count) = allocations_during(|| mlp_loss::forward(w1, b1, w2, b2, x, y));
    assert_eq!(count, 0, "forward allocated");
}

#[test]
fn softmax_and_cross_entropy_allocate_nothing() {
    chainrule::graph! {
        fn classify(w: SMatrix<f64, 3, 4>, #[no_grad] x: SVector<f64, 4>, #[no_grad] target: SVector<f64, 3>) -> f64 {
            cross_entropy(w * x, target) + logsumexp(softmax(w * x))
        }
    }
    let w = SMatrix::<f64, 3, 4>::from_fn(|i, j| (i + j) as f64 * 0.1);
    let (x, target) = (
        SVector::<f64, 4>::repeat(0.5),
        SVector::<f64, 3>::new(0.0, 1.0, 0.0),
    );
    let ((loss, _), count) = allocations_during(|| classify::value_and_grad(w, x, target));
    assert_eq!(count, 0);
    assert!(loss.is_finite());
}

#[test]
fn sequential_forward_backward_into_a_gradient_and_a_step_after_the_first_allocate_nothing() {
    use chainrule::loss::Mse;
    use chainrule::nn::{Linear, Module, Sequential, Tanh};
    use chainrule::optim::{Adam, Optimizer};
    use chainrule::rand::{rngs::StdRng, SeedableRng};

    type Mlp = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;
    let mut model = Mlp::init(&mut StdRng::seed_from_u64(0));
    let x = SMatrix::<f32, 2, 32>::from_fn(|r, c| (r + c) as f32 * 0.1 - 1.0);
    let y = SMatrix::<f32, 1, 32>::from_fn(|_, c| (c as f32 * 0.2).sin());
    let (_, count) = allocations_during(|| model.forward(&x));
    assert_eq!(count, 0, "forward allocated");
    // The gradient, allocated once (a `Linear`'s weight lives on the heap); every step then
    // writes into it. The first step also fills the pool the tapes' boxes come from.
    let mut grads = Mlp::zeros();
    model.loss_and_grad_into(&x, &y, Mse, &mut grads);
    let (loss, count) = allocations_during(|| model.loss_and_grad_into(&x, &y, Mse, &mut grads));
    assert_eq!(count, 0, "forward, loss and backward allocated");
    assert!(loss.is_finite());
    let mut adam = Adam::new(1e-2);
    adam.step(&mut model, &grads); // sizes the moment buffers
    let (_, count) = allocations_during(|| adam.step(&mut model, &grads));
    assert_eq!(count, 0, "a step after the first allocated");
}

mod mnist_size {
    //! The whole step of a 784-128-10 MLP, as the `Trainer` takes it, with every optimizer,
    //! and whole training runs. Products above `kernels::GEMM_THRESHOLD` run on the `gemm`
    //! crate, which allocates its packing buffers in each call (there is no way to hand it a
    //! workspace); the steps allocate exactly what their products' `gemm` calls do, and nothing
    //! else.

    use super::{allocations_during, count_in_pool, POOL_ALLOCATIONS};
    use chainrule::data::Dataset;
    use chainrule::loss::CrossEntropy;
    use chainrule::nalgebra::{SMatrix, SVector};
    use chainrule::nn::{Linear, Module, ReLU, Sequential};
    use chainrule::optim::{Adam, AdamW, Optimizer, Sgd};
    use chainrule::rand::{rngs::StdRng, SeedableRng};
    use chainrule::runtime::heap;
    use chainrule::runtime::kernels::{matmul_into, matmul_nt_into, matmul_tn_into};
    use chainrule::train::{ShowProgress, Trainer};
    use std::sync::atomic::Ordering;

    type Mnist = Sequential<(Linear<f32, 784, 128>, ReLU, Linear<f32, 128, 10>)>;

    /// The allocations of a 784-128-10 step's products on a batch of `B`, made in the same
    /// calls that generated code makes: W₁·X, W₂·H, dZ₂·Hᵀ, W₂ᵀ·dZ₂ and dZ₁·Xᵀ (the first
    /// layer needs no gradient for its input).
    fn products_allocations<const B: usize>() -> usize {
        let w1 = heap::zeros::<SMatrix<f32, 128, 784>>();
        let x = heap::zeros::<SMatrix<f32, 784, B>>();
        let w2 = heap::zeros::<SMatrix<f32, 10, 128>>();
        let (mut h, mut z2) = (heap::zeros(), heap::zeros::<SMatrix<f32, 10, B>>());
        let (mut d_w1, mut d_w2) = (heap::zeros(), heap::zeros());
        let mut products = || {
            matmul_into(&mut *h, &*w1, &*x);
            matmul_into(&mut *z2, &*w2, &*h);
            matmul_nt_into(&mut *d_w2, &*z2, &*h);
            matmul_tn_into(&mut *h, &*w2, &*z2);
            matmul_nt_into(&mut *d_w1, &*h, &*x);
        };
        products();
        allocations_during(&mut products).1
    }

    fn step_allocates_only_products(name: &str, mut optimizer: impl Optimizer<f32>) {
        let mut model = Mnist::init(&mut StdRng::seed_from_u64(1));
        let mut x = heap::zeros::<SMatrix<f32, 784, 32>>();
        x.iter_mut()
            .enumerate()
            .for_each(|(i, pixel)| *pixel = (i % 7) as f32 / 7.0);
        let y: [usize; 32] = std::array::from_fn(|sample| sample % 10);
        let mut grads = Mnist::zeros();
        let mut step = || {
            let loss = model.loss_and_grad_into(&*x, &y, CrossEntropy, &mut grads);
            optimizer.step(&mut model, &grads);
            loss
        };
        step();
        let (loss, count) = allocations_during(&mut step);
        assert_eq!(
            count,
            products_allocations::<32>(),
            "{name}: a step after the first allocated more than its products"
        );
        assert!(loss.is_finite());
    }

    #[test]
    fn every_optimizer() {
        step_allocates_only_products("sgd", Sgd::new(1e-3));
        step_allocates_only_products("momentum", Sgd::new(1e-3).momentum(0.9));
        step_allocates_only_products("nesterov", Sgd::new(1e-3).momentum(0.9).nesterov(true));
        step_allocates_only_products("adam", Adam::new(1e-3));
        step_allocates_only_products("adamw", AdamW::new(1e-3));
    }

    /// `n` samples of 784 pixels and their classes.
    fn data(n: usize) -> Dataset<f32, 784, usize> {
        (0..n)
            .map(|sample| {
                let pixels = SVector::from_fn(|i, _| ((i * 7 + sample) % 13) as f32 / 13.0);
                (pixels, sample % 10)
            })
            .collect()
    }

    fn trainer() -> Trainer<f32, Mnist, Adam<f32>, CrossEntropy, 784, usize> {
        let model = Mnist::init(&mut StdRng::seed_from_u64(2));
        Trainer::new(model, Adam::new(1e-3), CrossEntropy)
            .epochs(1)
            .progress_bar(ShowProgress::Never)
    }

    /// Ten more steps allocate ten times their products' allocations, and nothing else.
    /// (`fit(12) - fit(2)`: the run's own allocations, the same for both, cancel.)
    #[test]
    fn a_trainer_step_after_the_first() {
        let fit = |batches: usize| {
            let data = data(32 * batches);
            let mut trainer = trainer();
            let (stop, count) = allocations_during(|| trainer.fit::<32>(&data));
            stop.expect("trains");
            count
        };
        fit(1); // fills this thread's pool of tape boxes (`heap::Recycled`)
        assert_eq!(fit(12) - fit(2), 10 * products_allocations::<32>());
    }

    /// The same for `fit_parallel` in chunks of 8 on two threads, counting the allocations
    /// of the pool's threads: ten more steps are forty more chunks.
    #[test]
    fn a_parallel_trainer_step_after_the_first() {
        let pool = chainrule::train::rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .start_handler(|_| count_in_pool())
            .build()
            .expect("a pool");
        let fit = |batches: usize| {
            let data = data(32 * batches);
            let mut trainer = trainer();
            let before = POOL_ALLOCATIONS.load(Ordering::Relaxed);
            pool.install(|| trainer.fit_parallel::<32, 8>(&data))
                .expect("trains");
            POOL_ALLOCATIONS.load(Ordering::Relaxed) - before
        };
        // Each thread computes one chunk at a time, so one chunk on every thread fills the
        // pools of tape boxes (`heap::Recycled`) that any step draws from.
        let model = Mnist::zeros();
        let data = data(8);
        pool.broadcast(|_| {
            let mut grads = Mnist::zeros();
            let (x, y) = data.batch(&[0, 1, 2, 3, 4, 5, 6, 7]);
            model.loss_and_grad_into(&x, &y, CrossEntropy, &mut grads);
        });
        assert_eq!(fit(12) - fit(2), 40 * products_allocations::<8>());
    }
}
