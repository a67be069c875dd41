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

/// A box whose memory is used again: dropped, it goes back to a pool of boxes of its type
/// kept by its thread, and [`Recycled::new`] takes one from that pool before it allocates.
///
/// A `Sequential` keeps each layer's input in one, and layers their tapes, so a training
/// step's large saved values (a 1024×32 activation) live on the heap rather than in the stack frames of the forward and
/// backward passes, and after the first step the tapes allocate nothing: each tape's memory is
/// the previous step's.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::runtime::heap::Recycled;
///
/// let first = Recycled::new(SMatrix::<f32, 2, 2>::identity());
/// let address = &*first as *const _;
/// drop(first);
/// let second = Recycled::new(SMatrix::<f32, 2, 2>::zeros()); // the same memory, no allocation
/// assert_eq!(&*second as *const _, address);
/// ```
pub struct Recycled<T: 'static>(Option<Box<T>>);

/// Boxes kept per type and thread; past this many, a dropped box is freed.
const POOLED: usize = 64;

/// Each type's pooled boxes. Every step looks a type up a few times per layer, so the key
/// is hashed with `foldhash` rather than std's slower SipHash.
type Pool = std::collections::HashMap<
    std::any::TypeId,
    Vec<Box<dyn std::any::Any>>,
    foldhash::fast::FixedState,
>;

thread_local! {
    static POOL: std::cell::RefCell<Pool> = std::cell::RefCell::new(Pool::default());
}

/// A box of `T` from this thread's pool, if it has one.
fn pooled<T: 'static>() -> Option<Box<T>> {
    POOL.try_with(|pool| {
        let mut pool = pool.borrow_mut();
        let boxed = pool.get_mut(&std::any::TypeId::of::<T>())?.pop()?;
        boxed.downcast::<T>().ok()
    })
    .ok()
    .flatten()
}

impl<T: 'static> Recycled<T> {
    /// `value` in a box from this thread's pool, or in a new one.
    pub fn new(value: T) -> Self {
        match pooled::<T>() {
            Some(mut boxed) => {
                *boxed = value;
                Recycled(Some(boxed))
            }
            None => Recycled(Some(Box::new(value))),
        }
    }
}

impl<T: bytemuck::Zeroable + 'static> Recycled<T> {
    /// A box from this thread's pool as it was left (every element to be overwritten), or a
    /// new one of zeros: scratch memory for a value written whole, such as a gradient.
    pub fn scratch() -> Self {
        Recycled(Some(pooled::<T>().unwrap_or_else(zeros)))
    }
}

impl<T: 'static> Drop for Recycled<T> {
    fn drop(&mut self) {
        let Some(boxed) = self.0.take() else { return };
        // During the thread's teardown the pool is gone: the box is simply freed.
        let _ = POOL.try_with(|pool| {
            let mut pool = pool.borrow_mut();
            let boxes = pool.entry(std::any::TypeId::of::<T>()).or_default();
            if boxes.len() < POOLED {
                boxes.push(boxed);
            }
        });
    }
}

impl<T: 'static> std::ops::Deref for Recycled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_deref().expect("a live `Recycled` holds its box")
    }
}

impl<T: 'static> std::ops::DerefMut for Recycled<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0
            .as_deref_mut()
            .expect("a live `Recycled` holds its box")
    }
}

impl<T: Clone + 'static> Clone for Recycled<T> {
    fn clone(&self) -> Self {
        Recycled::new((**self).clone())
    }
}

impl<T: std::fmt::Debug + 'static> std::fmt::Debug for Recycled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: PartialEq + 'static> PartialEq for Recycled<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
