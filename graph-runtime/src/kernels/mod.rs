//! Matrix products for generated code, by one of three methods chosen from the sizes: small
//! ones by nalgebra's unrolled code or by `small`'s kernel on the widest vectors the CPU has,
//! large ones by the `gemm` crate's kernels, which pick AVX-512, AVX2 or NEON at run time. The
//! operations on images (convolution and pooling) are in `conv` and `pool`.
//!
//! A product of an `R×K` and a `K×C` matrix costs `R·K·C` multiply-adds. Above
//! [`GEMM_THRESHOLD`] of them, a blocked kernel wins, by up to 30× on a 784-128 layer
//! (`BENCHMARKS.md`). Below it, the small kernel wins by 1.5–5× where a column of the result
//! fills a vector (an 8×8 by 8×32 `f64` product takes half of nalgebra's time), and nalgebra's
//! unrolled code where it does not (a row vector's product, or a few dozen multiply-adds,
//! less than a call and a dispatch cost). The sizes are const generics, so the choice is made
//! at compile time. Transposed operands are read in place, never copied (but for the small
//! kernel's `Aᵀ`, copied on the stack): `matmul_tn` is `Aᵀ·B`, `matmul_nt` is `A·Bᵀ`.
//!
//! Large products may be split over the threads of rayon's pool ([`set_parallel`]): `gemm`
//! gives each thread blocks of the result when a block of the product has over 48·48·256
//! multiply-adds (its threading threshold). Each block sums over the depth in the order one
//! thread does, so results are the same bits whatever the number of threads.

use std::sync::atomic::{AtomicBool, Ordering};

use nalgebra::SMatrix;

use crate::Real;

mod conv;
mod pool;
mod small;

pub use small::{small_matmul, small_matmul_nt, small_matmul_tn};

pub use conv::{
    channel_sums, channel_sums_into, conv2d, conv2d_bias, conv2d_bias_into, conv2d_input_grad,
    conv2d_input_grad_into, conv2d_input_grad_slices, conv2d_into, conv2d_slices,
    conv2d_weight_grad, conv2d_weight_grad_into, conv2d_weight_grad_slices, spread_channels,
    spread_channels_into, Window,
};
pub use pool::{
    avg_pool2d, avg_pool2d_into, avg_unpool2d, avg_unpool2d_into, max_pool2d, max_pool2d_into,
    max_unpool2d, max_unpool2d_into,
};

/// Products with at least this many multiply-adds go to the `gemm` kernels.
pub const GEMM_THRESHOLD: usize = 32 * 32 * 32;

/// How a product is computed, from its sizes: at compile time, as they are const generics.
enum Method {
    /// nalgebra's unrolled code.
    Unrolled,
    /// The small-product kernel on the widest vectors the CPU has (`small.rs`).
    Small,
    /// The `gemm` crate's blocked kernels.
    Blocked,
}

/// How to compute an `R×K` by `K×C` product of form `F` in `T`.
const fn method<F: small::Form, T>(rows: usize, depth: usize, columns: usize) -> Method {
    if rows * depth * columns >= GEMM_THRESHOLD {
        Method::Blocked
    } else if small::wins::<F, T>(rows, depth, columns) {
        Method::Small
    } else {
        Method::Unrolled
    }
}

static PARALLEL: AtomicBool = AtomicBool::new(false);

/// Whether large products may use every thread of rayon's pool, or only the calling thread
/// (the default). Either way, every product gives the same bits.
///
/// ```
/// use chainrule::runtime::kernels::{parallel, set_parallel};
/// set_parallel(true);
/// assert!(parallel());
/// set_parallel(false);
/// ```
pub fn set_parallel(enabled: bool) {
    PARALLEL.store(enabled, Ordering::Relaxed);
}

/// Whether large products use every thread of rayon's pool: see [`set_parallel`].
pub fn parallel() -> bool {
    PARALLEL.load(Ordering::Relaxed)
}

/// How `gemm` may run a product.
fn parallelism() -> gemm::Parallelism {
    if parallel() {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// The `R×C` product of `a` (`R×K`) and `b` (`K×C`), each given by its element strides
/// (row stride, column stride): column-major `m×n` is `(1, m)`, its transpose `(m, 1)`.
/// The result is written once, never zeroed first.
///
/// # Safety
///
/// The strides must address only elements inside `a` and `b`.
#[inline]
unsafe fn product<T: Real, const R: usize, const C: usize>(
    depth: usize,
    a: (&[T], (isize, isize)),
    b: (&[T], (isize, isize)),
) -> SMatrix<T, R, C> {
    let mut c = std::mem::MaybeUninit::<SMatrix<T, R, C>>::uninit();
    // SAFETY: the caller guarantees the strides; `product_at` writes all of `c`, column-major
    // `R·C` contiguous elements (an `SMatrix` is its `[[T; R]; C]` array, `repr(C)` over a
    // `repr(transparent)` storage), after which it is initialised.
    unsafe {
        product_at(c.as_mut_ptr().cast::<T>(), (R, C, depth), a, b);
        c.assume_init()
    }
}

/// As [`product`], into `c`, which it overwrites.
///
/// # Safety
///
/// As [`product`].
#[inline]
unsafe fn product_into<T: Real, const R: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    depth: usize,
    a: (&[T], (isize, isize)),
    b: (&[T], (isize, isize)),
) {
    // SAFETY: `c` is `R·C` contiguous elements, column-major; the caller guarantees the rest.
    unsafe { product_at(c.as_mut_slice().as_mut_ptr(), (R, C, depth), a, b) }
}

/// `gemm` writing every element of the column-major `rows×cols` matrix at `c` (`read_dst`
/// false, so it reads none) with 1·a·b.
///
/// # Safety
///
/// `c` must be valid for `rows·cols` writes, and the strides must stay inside `a` and `b`.
#[inline]
unsafe fn product_at<T: Real>(
    c: *mut T,
    (rows, cols, depth): (usize, usize, usize),
    (a, (a_row_stride, a_column_stride)): (&[T], (isize, isize)),
    (b, (b_row_stride, b_column_stride)): (&[T], (isize, isize)),
) {
    // SAFETY: as the caller guarantees.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            depth,
            c,
            rows as isize,
            1,
            false,
            a.as_ptr(),
            a_column_stride,
            a_row_stride,
            b.as_ptr(),
            b_column_stride,
            b_row_stride,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            parallelism(),
        );
    }
}

/// `a·b`.
///
/// ```
/// use chainrule::runtime::kernels::matmul;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f32, 64, 48>::from_fn(|r, c| (r + 2 * c) as f32 * 0.01);
/// let b = SMatrix::<f32, 48, 40>::from_fn(|r, c| (r as f32 - c as f32) * 0.02);
/// assert!((matmul(&a, &b) - a * b).abs().max() < 1e-3);
/// ```
#[inline]
pub fn matmul<T: Real, const R: usize, const K: usize, const C: usize>(
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, K, C>,
) -> SMatrix<T, R, C> {
    match method::<small::Plain, T>(R, K, C) {
        Method::Unrolled => return a * b,
        Method::Small => {
            return small::product::<small::Plain, T, R, K, C>(a.as_slice(), b.as_slice())
        }
        Method::Blocked => {}
    }
    // SAFETY: column-major `R×K` and `K×C`: row stride 1, column strides R and K.
    unsafe {
        product(
            K,
            (a.as_slice(), (1, R as isize)),
            (b.as_slice(), (1, K as isize)),
        )
    }
}

/// `aᵀ·b`, reading `a` (`K×R`) transposed in place.
///
/// ```
/// use chainrule::runtime::kernels::matmul_tn;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f64, 48, 64>::from_fn(|r, c| (r + 2 * c) as f64 * 0.01);
/// let b = SMatrix::<f64, 48, 40>::from_fn(|r, c| (r as f64 - c as f64) * 0.02);
/// assert!((matmul_tn(&a, &b) - a.transpose() * b).abs().max() < 1e-9);
/// ```
#[inline]
pub fn matmul_tn<T: Real, const K: usize, const R: usize, const C: usize>(
    a: &SMatrix<T, K, R>,
    b: &SMatrix<T, K, C>,
) -> SMatrix<T, R, C> {
    match method::<small::TransposedLeft, T>(R, K, C) {
        Method::Unrolled => return a.tr_mul(b),
        Method::Small => {
            return small::product::<small::TransposedLeft, T, R, K, C>(a.as_slice(), b.as_slice())
        }
        Method::Blocked => {}
    }
    // SAFETY: `a` is column-major `K×R`, so `aᵀ` has row stride K and column stride 1.
    unsafe {
        product(
            K,
            (a.as_slice(), (K as isize, 1)),
            (b.as_slice(), (1, K as isize)),
        )
    }
}

/// `a·bᵀ`, reading `b` (`C×K`) transposed in place.
///
/// ```
/// use chainrule::runtime::kernels::matmul_nt;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f64, 64, 48>::from_fn(|r, c| (r + 2 * c) as f64 * 0.01);
/// let b = SMatrix::<f64, 40, 48>::from_fn(|r, c| (r as f64 - c as f64) * 0.02);
/// assert!((matmul_nt(&a, &b) - a * b.transpose()).abs().max() < 1e-9);
/// ```
#[inline]
pub fn matmul_nt<T: Real, const R: usize, const K: usize, const C: usize>(
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, C, K>,
) -> SMatrix<T, R, C> {
    match method::<small::TransposedRight, T>(R, K, C) {
        Method::Unrolled => return a * b.transpose(),
        Method::Small => {
            return small::product::<small::TransposedRight, T, R, K, C>(a.as_slice(), b.as_slice())
        }
        Method::Blocked => {}
    }
    // SAFETY: `b` is column-major `C×K`, so `bᵀ` has row stride C and column stride 1.
    unsafe {
        product(
            K,
            (a.as_slice(), (1, R as isize)),
            (b.as_slice(), (C as isize, 1)),
        )
    }
}

/// [`matmul`] into `c`, which it overwrites: a product too large for the stack goes straight
/// to its place on the heap.
///
/// ```
/// use chainrule::runtime::kernels::{matmul, matmul_into};
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f32, 64, 48>::from_fn(|r, c| (r + 2 * c) as f32 * 0.01);
/// let b = SMatrix::<f32, 48, 40>::from_fn(|r, c| (r as f32 - c as f32) * 0.02);
/// let mut c = SMatrix::<f32, 64, 40>::zeros();
/// matmul_into(&mut c, &a, &b);
/// assert_eq!(c, matmul(&a, &b));
/// ```
#[inline]
pub fn matmul_into<T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, K, C>,
) {
    match method::<small::Plain, T>(R, K, C) {
        Method::Unrolled => return a.mul_to(b, c),
        Method::Small => {
            return small::product_into::<small::Plain, T, R, K, C>(c, a.as_slice(), b.as_slice())
        }
        Method::Blocked => {}
    }
    // SAFETY: as in `matmul`.
    unsafe {
        product_into(
            c,
            K,
            (a.as_slice(), (1, R as isize)),
            (b.as_slice(), (1, K as isize)),
        )
    }
}

/// [`matmul_tn`] into `c`, which it overwrites.
#[inline]
pub fn matmul_tn_into<T: Real, const K: usize, const R: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, K, R>,
    b: &SMatrix<T, K, C>,
) {
    match method::<small::TransposedLeft, T>(R, K, C) {
        Method::Unrolled => return a.tr_mul_to(b, c),
        Method::Small => {
            return small::product_into::<small::TransposedLeft, T, R, K, C>(
                c,
                a.as_slice(),
                b.as_slice(),
            )
        }
        Method::Blocked => {}
    }
    // SAFETY: as in `matmul_tn`.
    unsafe {
        product_into(
            c,
            K,
            (a.as_slice(), (K as isize, 1)),
            (b.as_slice(), (1, K as isize)),
        )
    }
}

/// `a·bᵀ` by nalgebra, in a function of its own: an unoptimised build gives every temporary
/// of a function a stack slot, taken or not, and `a * b.transpose()` is `c`'s size.
fn small_product_nt<T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, C, K>,
) {
    *c = a * b.transpose();
}

/// [`matmul_nt`] into `c`, which it overwrites.
#[inline]
pub fn matmul_nt_into<T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, C, K>,
) {
    match method::<small::TransposedRight, T>(R, K, C) {
        Method::Unrolled => return small_product_nt(c, a, b),
        Method::Small => {
            return small::product_into::<small::TransposedRight, T, R, K, C>(
                c,
                a.as_slice(),
                b.as_slice(),
            )
        }
        Method::Blocked => {}
    }
    // SAFETY: as in `matmul_nt`.
    unsafe {
        product_into(
            c,
            K,
            (a.as_slice(), (1, R as isize)),
            (b.as_slice(), (C as isize, 1)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each product against nalgebra's, above and below the threshold, in both scalar types.
    fn check<T: Real + nalgebra::RealField>(tolerance: T) {
        fn filled<T: Real, const R: usize, const C: usize>(salt: f64) -> SMatrix<T, R, C> {
            SMatrix::from_fn(|r, c| T::from_f64(((r * 31 + c * 17) as f64 * 0.013 + salt).sin()))
        }
        let (a, b) = (filled::<T, 40, 50>(0.1), filled::<T, 50, 60>(0.2));
        assert!((matmul(&a, &b) - a * b).abs().max() < tolerance);
        let at = filled::<T, 50, 40>(0.3);
        assert!((matmul_tn(&at, &b) - at.transpose() * b).abs().max() < tolerance);
        let bt = filled::<T, 60, 50>(0.4);
        assert!((matmul_nt(&a, &bt) - a * bt.transpose()).abs().max() < tolerance);
        let (small_a, small_b) = (filled::<T, 3, 4>(0.5), filled::<T, 4, 2>(0.6));
        assert_eq!(matmul(&small_a, &small_b), small_a * small_b);
        // The `_into` forms give exactly what the by-value ones give, above and below.
        let mut into = SMatrix::<T, 40, 60>::zeros();
        matmul_into(&mut into, &a, &b);
        assert_eq!(into, matmul(&a, &b));
        let mut into = SMatrix::<T, 40, 60>::zeros();
        matmul_tn_into(&mut into, &at, &b);
        assert_eq!(into, matmul_tn(&at, &b));
        matmul_nt_into(&mut into, &a, &bt);
        assert_eq!(into, matmul_nt(&a, &bt));
        let mut small = SMatrix::<T, 3, 2>::zeros();
        matmul_into(&mut small, &small_a, &small_b);
        assert_eq!(small, small_a * small_b);
    }

    #[test]
    fn products_agree_with_nalgebra() {
        check::<f64>(1e-12);
        check::<f32>(1e-4);
    }

    /// Every form of a product of `R·K·C` multiply-adds, on one thread and on every thread of
    /// rayon's pool: the same bits.
    fn same_bits_on_any_thread_count<const R: usize, const K: usize, const C: usize>() {
        fn filled<const R: usize, const C: usize>(salt: f32) -> Box<SMatrix<f32, R, C>> {
            let mut m = crate::heap::zeros::<SMatrix<f32, R, C>>();
            m.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = (i as f32 * 0.37 + salt).sin());
            m
        }
        let (a, b) = (filled::<R, K>(0.1), filled::<K, C>(0.2));
        let (at, bt) = (filled::<K, R>(0.3), filled::<C, K>(0.4));
        let products = || {
            let mut out = [0, 1, 2].map(|_| crate::heap::zeros::<SMatrix<f32, R, C>>());
            matmul_into(&mut out[0], &a, &b);
            matmul_tn_into(&mut out[1], &at, &b);
            matmul_nt_into(&mut out[2], &a, &bt);
            out
        };
        set_parallel(false);
        let one_thread = products();
        set_parallel(true);
        assert!(
            products() == one_thread,
            "{R}×{K}×{C}: the threads change the bits"
        );
    }

    #[test]
    fn large_products_give_the_same_bits_on_any_number_of_threads() {
        same_bits_on_any_thread_count::<128, 784, 32>();
        same_bits_on_any_thread_count::<784, 128, 32>();
        same_bits_on_any_thread_count::<128, 32, 784>();
        same_bits_on_any_thread_count::<131, 517, 37>();
        same_bits_on_any_thread_count::<512, 784, 64>();
    }
}
