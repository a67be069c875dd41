//! Small matrix products, compiled for the widest instruction set `pulp` finds.

use nalgebra::SMatrix;
use pulp::{Simd, WithSimd};

use crate::io::Dtype;
use crate::Real;

/// Columns of the result computed together, each in a register per `lanes` rows.
const COLUMN_BLOCK: usize = 4;

/// `f32` or `f64` with `pulp`'s vectors of it.
trait Lanes: Copy + bytemuck::Pod {
    type Vector<S: Simd>: bytemuck::Pod;
    fn count<S: Simd>() -> usize;
    fn splat<S: Simd>(simd: S, value: Self) -> Self::Vector<S>;
    fn mul<S: Simd>(simd: S, a: Self::Vector<S>, b: Self::Vector<S>) -> Self::Vector<S>;
    fn add<S: Simd>(simd: S, a: Self::Vector<S>, b: Self::Vector<S>) -> Self::Vector<S>;
    fn load<S: Simd>(simd: S, from: &[Self]) -> Self::Vector<S>;
    fn store<S: Simd>(simd: S, to: &mut [Self], value: Self::Vector<S>);
}

macro_rules! lanes {
    ($t:ty, $vector:ident, $count:ident, $splat:ident, $mul:ident, $add:ident, $load:ident, $store:ident) => {
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
                    simd.$load(from)
                }
            }
            #[inline(always)]
            fn store<S: Simd>(simd: S, to: &mut [Self], value: S::$vector) {
                if to.len() == S::$count {
                    bytemuck::cast_slice_mut(to).copy_from_slice(bytemuck::bytes_of(&value));
                } else {
                    simd.$store(to, value)
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

/// `c = a·b` for column-major `a` (`R×K`) and `c` (`R×C`), `b` given by a function of (row,
/// column). Every element is `a[i,0]·b[0,j] + a[i,1]·b[1,j] + …` summed in order of `k`, a
/// multiplication then an addition, whatever the number of lanes.
#[inline(always)]
fn product<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
    simd: S,
    c: &mut [E],
    a: &[E],
    b: impl Fn(usize, usize) -> E,
) {
    if K == 0 {
        c.fill(bytemuck::Zeroable::zeroed());
        return;
    }
    let lanes = E::count::<S>();
    let mut row = 0;
    while row < R {
        let rows = lanes.min(R - row);
        let mut first = 0;
        while first < C {
            let columns = COLUMN_BLOCK.min(C - first);
            let a_column = |k: usize| E::load(simd, &a[k * R + row..][..rows]);
            let a_0 = a_column(0);
            let mut sums = [a_0; COLUMN_BLOCK];
            for (q, sum) in sums.iter_mut().enumerate().take(columns) {
                *sum = E::mul(simd, a_0, E::splat(simd, b(0, first + q)));
            }
            for k in 1..K {
                let a_k = a_column(k);
                for (q, sum) in sums.iter_mut().enumerate().take(columns) {
                    let term = E::mul(simd, a_k, E::splat(simd, b(k, first + q)));
                    *sum = E::add(simd, *sum, term);
                }
            }
            for (q, sum) in sums.iter().enumerate().take(columns) {
                E::store(simd, &mut c[(first + q) * R + row..][..rows], *sum);
            }
            first += columns;
        }
        row += rows;
    }
}

/// How a product reads its operands, all column-major.
#[derive(Clone, Copy)]
enum Form {
    /// `a·b`.
    Plain,
    /// `aᵀ·b`, `a` read transposed in place.
    TransposedLeft,
    /// `a·bᵀ`, `b` read transposed in place.
    TransposedRight,
}

/// `a` (`K×R`, column-major) transposed: `R×K`, column-major.
#[inline(always)]
fn transposed<E: Lanes, const R: usize, const K: usize>(a: &[E]) -> [[E; R]; K] {
    let mut at = [[bytemuck::Zeroable::zeroed(); R]; K];
    for (i, column) in a.chunks_exact(K).enumerate() {
        for (k, &e) in column.iter().enumerate() {
            at[k][i] = e;
        }
    }
    at
}

#[inline(always)]
fn product_in_form<S: Simd, E: Lanes, const R: usize, const K: usize, const C: usize>(
    simd: S,
    form: Form,
    c: &mut [E],
    a: &[E],
    b: &[E],
) {
    match form {
        Form::Plain => product::<S, E, R, K, C>(simd, c, a, |k, j| b[j * K + k]),
        Form::TransposedLeft => {
            let at = transposed::<E, R, K>(a);
            let at = at.as_flattened();
            product::<S, E, R, K, C>(simd, c, at, |k, j| b[j * K + k])
        }
        Form::TransposedRight => product::<S, E, R, K, C>(simd, c, a, |k, j| b[k * C + j]),
    }
}

/// A product for `pulp` to run on an instruction set.
struct Job<'a, T, const R: usize, const K: usize, const C: usize> {
    form: Form,
    c: &'a mut [T],
    a: &'a [T],
    b: &'a [T],
}

impl<T: Real, const R: usize, const K: usize, const C: usize> WithSimd for Job<'_, T, R, K, C> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Job { form, c, a, b } = self;
        match T::DTYPE {
            Dtype::F64 => product_in_form::<S, f64, R, K, C>(
                simd,
                form,
                bytemuck::cast_slice_mut(c),
                bytemuck::cast_slice(a),
                bytemuck::cast_slice(b),
            ),
            _ => product_in_form::<S, f32, R, K, C>(
                simd,
                form,
                bytemuck::cast_slice_mut(c),
                bytemuck::cast_slice(a),
                bytemuck::cast_slice(b),
            ),
        }
    }
}

#[inline]
pub fn small_matmul_into<T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, K, C>,
) {
    let job = Job::<T, R, K, C> {
        form: Form::Plain,
        c: c.as_mut_slice(),
        a: a.as_slice(),
        b: b.as_slice(),
    };
    pulp::Arch::new().dispatch(job)
}

#[inline]
pub fn small_matmul_tn_into<T: Real, const K: usize, const R: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, K, R>,
    b: &SMatrix<T, K, C>,
) {
    let job = Job::<T, R, K, C> {
        form: Form::TransposedLeft,
        c: c.as_mut_slice(),
        a: a.as_slice(),
        b: b.as_slice(),
    };
    pulp::Arch::new().dispatch(job)
}

#[inline]
pub fn small_matmul_nt_into<T: Real, const R: usize, const K: usize, const C: usize>(
    c: &mut SMatrix<T, R, C>,
    a: &SMatrix<T, R, K>,
    b: &SMatrix<T, C, K>,
) {
    let job = Job::<T, R, K, C> {
        form: Form::TransposedRight,
        c: c.as_mut_slice(),
        a: a.as_slice(),
        b: b.as_slice(),
    };
    pulp::Arch::new().dispatch(job)
}
