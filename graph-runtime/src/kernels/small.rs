//! Small matrix products (below [`GEMM_THRESHOLD`](super::GEMM_THRESHOLD)), column by column
//! on `pulp`'s vectors: AVX-512, AVX2, SSE4.2 or NEON, the widest that a column of the result
//! fills, chosen at run time.
//!
//! The result is computed a block of `lanes` rows by [`COLUMN_BLOCK`] columns at a time, each
//! column's block in a register: for each `k`, one load of `a`'s column `k` (those rows), a
//! broadcast of `b[k, j]` per column, a multiplication and an addition. So every element is
//! `a[i,0]·b[0,j] + a[i,1]·b[1,j] + …`, summed in order of `k`, each multiplication and each
//! addition rounded, on every instruction set: the same bits everywhere (no FMA, which would
//! round once). A column whose height is not a multiple of the lanes ends with a block that
//! overlaps the one before it, computing its rows again to the same bits, so no load or store
//! is masked unless the whole column is narrower than a vector.
//!
//! `aᵀ·b` reads `a` transposed into a copy on the stack first (`R·K` moves for `R·K·C`
//! multiply-adds), so that its columns are contiguous; `a·bᵀ` reads `b`'s elements where they
//! are, one broadcast each.

use nalgebra::SMatrix;
use pulp::{Simd, WithSimd};

use crate::io::Dtype;
use crate::Real;

/// Columns of the result computed together: their sums are independent, so the additions
/// of one column wait for the previous one's in the shadow of the others'.
const COLUMN_BLOCK: usize = 4;

/// How a product reads its operands, all column-major: `a·b`, `aᵀ·b` or `a·bᵀ`. A type, not a
/// value, so that each form's loops are compiled for it alone.
pub(super) trait Form {
    /// The fewest columns of the result for which the kernel beats nalgebra.
    const MIN_COLUMNS: usize = 1;

    /// The product into `c` (`R×C`), of depth `K`.
    fn product<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
        simd: S,
        c: &mut [E],
        a: &[E],
        b: &[E],
    );
}

/// `a·b`.
pub(super) struct Plain;

/// `aᵀ·b`.
pub(super) struct TransposedLeft;

/// `a·bᵀ`.
pub(super) struct TransposedRight;

impl Form for Plain {
    #[inline(always)]
    fn product<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
        simd: S,
        c: &mut [E],
        a: &[E],
        b: &[E],
    ) {
        let (b, _) = b.as_chunks::<K>();
        kernel::<S, E, R, K, C>(simd, c, a, |k, j| b[j][k])
    }
}

impl Form for TransposedLeft {
    /// The transposed copy of `a` costs `R·K` moves: 8 columns pay for it (with 4, a
    /// 16×16 by 16×4 `f32` product ties with nalgebra).
    const MIN_COLUMNS: usize = 8;

    #[inline(always)]
    fn product<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
        simd: S,
        c: &mut [E],
        a: &[E],
        b: &[E],
    ) {
        let columns = transposed::<E, R, K>(a);
        let (b, _) = b.as_chunks::<K>();
        kernel::<S, E, R, K, C>(simd, c, columns.as_flattened(), |k, j| b[j][k])
    }
}

impl Form for TransposedRight {
    #[inline(always)]
    fn product<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
        simd: S,
        c: &mut [E],
        a: &[E],
        b: &[E],
    ) {
        let (b, _) = b.as_chunks::<C>();
        kernel::<S, E, R, K, C>(simd, c, a, |k, j| b[k][j])
    }
}

/// `f32` or `f64`, with `pulp`'s vectors of it.
pub(in crate::kernels) trait Lanes: bytemuck::Pod {
    type Vector<S: Simd>: bytemuck::Pod;
    fn count<S: Simd>() -> usize;
    fn splat<S: Simd>(simd: S, value: Self) -> Self::Vector<S>;
    fn mul<S: Simd>(simd: S, a: Self::Vector<S>, b: Self::Vector<S>) -> Self::Vector<S>;
    fn add<S: Simd>(simd: S, a: Self::Vector<S>, b: Self::Vector<S>) -> Self::Vector<S>;
    /// A vector of the first elements of `from`, which has at most `count` of them.
    fn load<S: Simd>(simd: S, from: &[Self]) -> Self::Vector<S>;
    /// `value`'s first elements into `to`, which has room for at most `count` of them.
    fn store<S: Simd>(simd: S, to: &mut [Self], value: Self::Vector<S>);
}

macro_rules! lanes {
    ($t:ty, $vector:ident, $count:ident, $splat:ident, $mul:ident, $add:ident,
     $partial_load:ident, $partial_store:ident) => {
        impl Lanes for $t {
            type Vector<S: Simd> = S::$vector;

            #[inline(always)]
            fn count<S: Simd>() -> usize {
                S::$count
            }

            #[inline(always)]
            fn splat<S: Simd>(simd: S, value: Self) -> S::$vector {
                simd.$splat(value)
            }

            #[inline(always)]
            fn mul<S: Simd>(simd: S, a: S::$vector, b: S::$vector) -> S::$vector {
                simd.$mul(a, b)
            }

            #[inline(always)]
            fn add<S: Simd>(simd: S, a: S::$vector, b: S::$vector) -> S::$vector {
                simd.$add(a, b)
            }

            #[inline(always)]
            fn load<S: Simd>(simd: S, from: &[Self]) -> S::$vector {
                if from.len() == S::$count {
                    bytemuck::pod_read_unaligned(bytemuck::cast_slice(from))
                } else {
                    simd.$partial_load(from)
                }
            }

            #[inline(always)]
            fn store<S: Simd>(simd: S, to: &mut [Self], value: S::$vector) {
                if to.len() == S::$count {
                    bytemuck::cast_slice_mut(to).copy_from_slice(bytemuck::bytes_of(&value));
                } else {
                    simd.$partial_store(to, value)
                }
            }
        }
    };
}

lanes!(
    f32,
    f32s,
    F32_LANES,
    splat_f32s,
    mul_f32s,
    add_f32s,
    partial_load_f32s,
    partial_store_f32s
);
lanes!(
    f64,
    f64s,
    F64_LANES,
    splat_f64s,
    mul_f64s,
    add_f64s,
    partial_load_f64s,
    partial_store_f64s
);

/// `c = a·b` for column-major `a` (`R×K`) and `c` (`R×C`), with `b[k, j]` given by `b(k, j)`;
/// none of `R`, `K` and `C` is 0.
#[inline(always)]
fn kernel<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
    simd: S,
    c: &mut [E],
    a: &[E],
    b: impl Fn(usize, usize) -> E,
) {
    let (a, _) = a.as_chunks::<R>();
    let (c, _) = c.as_chunks_mut::<R>();
    let rows = E::count::<S>().min(R);
    for chunk in 0..R.div_ceil(rows) {
        // The last block ends at the last row, overlapping the one before it.
        let row = (chunk * rows).min(R - rows);
        let rows = (row, rows);
        let mut first = 0;
        for _ in 0..C / COLUMN_BLOCK {
            block::<S, E, COLUMN_BLOCK, R>(simd, c, a, &b, rows, first);
            first += COLUMN_BLOCK;
        }
        // What is left of the columns, 0 to 3 of them, as 2 and 1.
        if C % COLUMN_BLOCK >= 2 {
            block::<S, E, 2, R>(simd, c, a, &b, rows, first);
            first += 2;
        }
        if C % 2 == 1 {
            block::<S, E, 1, R>(simd, c, a, &b, rows, first);
        }
    }
}

/// Rows `row..row + rows` of the `N` columns of `c = a·b` from column `first` on, `a` and
/// `c` given by their columns.
#[inline(always)]
fn block<S: Simd, E: Lanes, const N: usize, const R: usize>(
    simd: S,
    c: &mut [[E; R]],
    a: &[[E; R]],
    b: &impl Fn(usize, usize) -> E,
    (row, rows): (usize, usize),
    first: usize,
) {
    let a_column = |k: usize| E::load(simd, &a[k][row..][..rows]);
    let a_0 = a_column(0);
    let mut sums: [E::Vector<S>; N] =
        std::array::from_fn(|q| E::mul(simd, a_0, E::splat(simd, b(0, first + q))));
    for k in 1..a.len() {
        let a_k = a_column(k);
        for (q, sum) in sums.iter_mut().enumerate() {
            let term = E::mul(simd, a_k, E::splat(simd, b(k, first + q)));
            *sum = E::add(simd, *sum, term);
        }
    }
    for (column, sum) in c[first..][..N].iter_mut().zip(sums) {
        E::store(simd, &mut column[row..][..rows], sum);
    }
}

/// Column-major `a` (`K×R`) transposed, column-major (`R×K`).
#[inline(always)]
fn transposed<E: Lanes, const R: usize, const K: usize>(a: &[E]) -> [[E; R]; K] {
    let mut transposed = [[E::zeroed(); R]; K];
    for (i, column) in a.chunks_exact(K).enumerate() {
        for (k, &e) in column.iter().enumerate() {
            transposed[k][i] = e;
        }
    }
    transposed
}

/// A product for `pulp` to compile per instruction set: `with_simd` is inlined into a
/// function with that set's target features, and everything it calls with it.
struct Job<'a, F, T, const R: usize, const K: usize, const C: usize> {
    form: std::marker::PhantomData<F>,
    c: &'a mut [T],
    a: &'a [T],
    b: &'a [T],
}

impl<F: Form, T: Real, const R: usize, const K: usize, const C: usize> WithSimd
    for Job<'_, F, T, R, K, C>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        // Slices of constant lengths, so that LLVM unrolls the loops and drops bounds checks.
        let (c, a, b) = (&mut self.c[..R * C], &self.a[..R * K], &self.b[..K * C]);
        if R == 0 || C == 0 {
            return;
        }
        if K == 0 {
            return c.fill(T::ZERO);
        }
        // `Real` is sealed: `T` is `f64` or `f32`, and the casts check the size.
        if T::DTYPE == Dtype::F64 {
            let (c, a, b) = (
                bytemuck::cast_slice_mut(c),
                bytemuck::cast_slice(a),
                bytemuck::cast_slice(b),
            );
            F::product::<S, f64, R, K, C>(simd, c, a, b)
        } else {
            let (c, a, b) = (
                bytemuck::cast_slice_mut(c),
                bytemuck::cast_slice(a),
                bytemuck::cast_slice(b),
            );
            F::product::<S, f32, R, K, C>(simd, c, a, b)
        }
    }
}

/// Runs `job` on the widest instruction set this CPU has whose vectors of `T` are no taller
/// than a column of `R` rows (narrower vectors beat masked wide ones).
#[inline(always)]
fn dispatch<F: Form, T: Real, const R: usize, const K: usize, const C: usize>(
    job: Job<'_, F, T, R, K, C>,
) {
    let fills = |vector_bytes: usize| R * std::mem::size_of::<T>() >= vector_bytes;
    #[cfg(target_arch = "x86_64")]
    {
        if fills(64) {
            if let Some(simd) = pulp::x86::V4::try_new() {
                return Simd::vectorize(simd, job);
            }
        }
        if fills(32) {
            if let Some(simd) = pulp::x86::V3::try_new() {
                return Simd::vectorize(simd, job);
            }
        }
        if fills(16) {
            if let Some(simd) = pulp::x86::V2::try_new() {
                return Simd::vectorize(simd, job);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    if fills(16) {
        if let Some(simd) = pulp::aarch64::Neon::try_new() {
            return Simd::vectorize(simd, job);
        }
    }
    Simd::vectorize(pulp::Scalar::new(), job)
}

/// Whether the kernel beats nalgebra's unrolled code on an `R×K` by `K×C` product of form
/// `F` in `T` (measured: `BENCHMARKS.md`). A column must fill a 256-bit vector (a row
/// vector's one element only ties); the product must have a depth of 2 (an outer product
/// took 0.7–1.6× nalgebra's time over three runs, no clear gain) and 256 multiply-adds, to
/// pay for the call and the dispatch (an 8×2 by 2×8 `f64` product, 128 of them, takes 1.5×
/// nalgebra's time); and `aᵀ·b` enough columns to pay for its transposed copy of `a`.
pub(super) const fn wins<F: Form, T>(rows: usize, depth: usize, columns: usize) -> bool {
    rows * std::mem::size_of::<T>() >= 32
        && depth >= 2
        && rows * depth * columns >= 256
        && columns >= F::MIN_COLUMNS
}

/// The product of form `F`, its result `R×C`, on the best instruction set for it.
#[inline]
pub(super) fn product<F: Form, T: Real, const R: usize, const K: usize, const C: usize>(
    a: &[T],
    b: &[T],
) -> SMatrix<T, R, C> {
    let mut c: SMatrix<T, R, C> = bytemuck::Zeroable::zeroed();
    product_into::<F, T, R, K, C>(&mut c, a, b);
    c
}

/// The product of form `F` into `c` on the best instruction set for it.
#[inline]
pub(super) fn product_into<F: Form, T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &[T],
    b: &[T],
) {
    let c = c.as_mut_slice();
    dispatch(Job::<F, T, R, K, C> {
        form: std::marker::PhantomData,
        c,
        a,
        b,
    })
}

/// The product of form `F` on the instruction set of `simd`.
#[inline]
fn product_with<F: Form, S: Simd, T: Real, const R: usize, const K: usize, const C: usize>(
    simd: S,
    a: &[T],
    b: &[T],
) -> SMatrix<T, R, C> {
    let mut c: SMatrix<T, R, C> = bytemuck::Zeroable::zeroed();
    let job = Job::<F, T, R, K, C> {
        form: std::marker::PhantomData,
        c: c.as_mut_slice(),
        a,
        b,
    };
    Simd::vectorize(simd, job);
    c
}

/// `a·b` by the small-product kernel, on the instruction set of `simd` (any `pulp::Simd`
/// this CPU has, such as `pulp::Scalar`, `pulp::x86::V3` or `V4`); every one gives the same
/// bits. [`matmul`](super::matmul) calls the kernel itself, on the best set, where it wins.
///
/// ```
/// use chainrule::runtime::kernels::small_matmul;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f64, 3, 5>::from_fn(|r, c| (r + 2 * c) as f64 * 0.1);
/// let b = SMatrix::<f64, 5, 7>::from_fn(|r, c| (r as f64 - c as f64) * 0.2);
/// let scalar = small_matmul(pulp::Scalar::new(), &a, &b);
/// assert!((scalar - a * b).abs().max() < 1e-12);
/// ```
pub fn small_matmul<S: Simd, T: Real, const R: usize, const K: usize, const C: usize>(
    simd: S,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, K, C>,
) -> SMatrix<T, R, C> {
    product_with::<Plain, S, T, R, K, C>(simd, a.as_slice(), b.as_slice())
}

/// `aᵀ·b` by the small-product kernel on `simd`'s instruction set: see [`small_matmul`].
///
/// ```
/// use chainrule::runtime::kernels::small_matmul_tn;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f32, 5, 3>::from_fn(|r, c| (r + 2 * c) as f32 * 0.1);
/// let b = SMatrix::<f32, 5, 7>::from_fn(|r, c| (r as f32 - c as f32) * 0.2);
/// let scalar = small_matmul_tn(pulp::Scalar::new(), &a, &b);
/// assert!((scalar - a.transpose() * b).abs().max() < 1e-5);
/// ```
pub fn small_matmul_tn<S: Simd, T: Real, const K: usize, const R: usize, const C: usize>(
    simd: S,
    a: &SMatrix<T, K, R>,
    b: &SMatrix<T, K, C>,
) -> SMatrix<T, R, C> {
    product_with::<TransposedLeft, S, T, R, K, C>(simd, a.as_slice(), b.as_slice())
}

/// `a·bᵀ` by the small-product kernel on `simd`'s instruction set: see [`small_matmul`].
///
/// ```
/// use chainrule::runtime::kernels::small_matmul_nt;
/// use chainrule::nalgebra::SMatrix;
/// let a = SMatrix::<f64, 3, 5>::from_fn(|r, c| (r + 2 * c) as f64 * 0.1);
/// let b = SMatrix::<f64, 7, 5>::from_fn(|r, c| (r as f64 - c as f64) * 0.2);
/// let scalar = small_matmul_nt(pulp::Scalar::new(), &a, &b);
/// assert!((scalar - a * b.transpose()).abs().max() < 1e-12);
/// ```
pub fn small_matmul_nt<S: Simd, T: Real, const R: usize, const K: usize, const C: usize>(
    simd: S,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, C, K>,
) -> SMatrix<T, R, C> {
    product_with::<TransposedRight, S, T, R, K, C>(simd, a.as_slice(), b.as_slice())
}
