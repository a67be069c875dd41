//! Values too large for the stack, allocated on the heap in place.
//!
//! `Box::new(SMatrix::zeros())` builds the matrix on the stack first and then moves it: a
//! 784×1024 `f32` weight is 3.2 MB, more than a spawned thread's whole 2 MiB stack. [`zeros`]
//! asks the allocator for zeroed memory instead, so the value never exists on the stack.

/// A value of all zeros on the heap, allocated in place: for a fixed-size matrix, or a
/// generated `Grad` (whose `boxed` calls this), too large for the stack.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::runtime::heap;
///
/// // 3.2 MB, made on a thread whose whole stack is 64 KiB.
/// let weight = std::thread::Builder::new()
///     .stack_size(64 << 10)
///     .spawn(|| heap::zeros::<SMatrix<f32, 1024, 784>>())
///     .unwrap()
///     .join()
///     .unwrap();
/// assert!(weight.iter().all(|w| *w == 0.0));
/// ```
pub fn zeros<T: bytemuck::Zeroable>() -> Box<T> {
    bytemuck::zeroed_box()
}
