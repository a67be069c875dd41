//! Generated forward and backward code never touches the heap: a counting global allocator
//! sees no allocation while they run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use chainrule::nalgebra::{SMatrix, SVector};

/// Counts the allocations made by the current thread (tests run on several threads).
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: the thread-local may already be gone while a thread shuts down.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
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
