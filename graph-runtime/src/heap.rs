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

/// A value on the heap that never passes through the stack: made zeroed in place
/// ([`Heap::zeros`]), cloned heap to heap, and read and written through `Deref` as the value
/// itself. A layer keeps a weight too large for the stack in one (`Linear::weight`), so
/// `model.layers.0.weight` still reads as the matrix.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::runtime::heap::Heap;
///
/// let mut weight = Heap::<SMatrix<f32, 1024, 784>>::zeros(); // 3.2 MB, never on the stack
/// weight[(0, 0)] = 1.0;
/// let copy = weight.clone();
/// assert_eq!(copy.sum(), 1.0);
/// ```
#[derive(PartialEq)]
pub struct Heap<T>(Box<T>);

impl<T: bytemuck::Zeroable> Heap<T> {
    /// All zeros, allocated on the heap in place.
    pub fn zeros() -> Self {
        Heap(zeros())
    }
}

impl<T> Heap<T> {
    /// `value`, moved to the heap (through the stack, where it already is).
    pub fn new(value: T) -> Self {
        Heap(Box::new(value))
    }
}

/// Heap to heap: a zeroed allocation, then the bytes copied into it (`T::clone` would make
/// the copy on the stack first).
impl<T: bytemuck::Pod> Clone for Heap<T> {
    fn clone(&self) -> Self {
        let mut copy: Heap<T> = Heap::zeros();
        copy.clone_from(self);
        copy
    }

    fn clone_from(&mut self, source: &Self) {
        bytemuck::bytes_of_mut(&mut *self.0).copy_from_slice(bytemuck::bytes_of(&*source.0));
    }
}

impl<T> std::ops::Deref for Heap<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Heap<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Heap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
