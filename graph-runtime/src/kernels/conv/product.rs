//! The products of a convolution as row operations, register-blocked.

use pulp::Simd;

use crate::io::Dtype;
use crate::kernels::small::Lanes;
use crate::Real;

/// The columns a block of a product computes at once, in registers: 16 `f32`s fill an
/// AVX-512 register, two AVX2 ones or four SSE2 ones. Each sum adds in the order of `k`
/// whatever the block and the width, so every instruction set gives the same bits.
const LANES: usize = 16;

/// `out[r] = Σ_k coefficient(r, k) · inputs[k]` over rows of `width` elements, `depth` rows
/// of `inputs`: the products of a convolution, whose matrices are a few rows deep and
/// thousands of elements wide, or the other way round (`gemm` packs its operands into
/// memory it allocates on every call, and at these sizes spends longer on that). Four
/// output rows at a time, by [`LANES`], then 8, then single columns, summed in registers;
/// each sum in the order of `k` whatever its block.
#[inline(always)]
pub(super) fn combine_rows<T: Real>(
    out: &mut [T],
    inputs: &[T],
    (width, depth): (usize, usize),
    coefficient: impl Fn(usize, usize) -> T,
) {
    let rows = out.len() / width.max(1);
    let whole = rows - rows % 4;
    for first in (0..whole).step_by(4) {
        combine_rows_of::<T, 4>(out, inputs, first, (width, depth), &coefficient);
    }
    for row in whole..rows {
        combine_rows_of::<T, 1>(out, inputs, row, (width, depth), &coefficient);
    }
}

/// Rows `first..first + ROWS` of [`combine_rows`].
#[inline(always)]
fn combine_rows_of<T: Real, const ROWS: usize>(
    out: &mut [T],
    inputs: &[T],
    first: usize,
    (width, depth): (usize, usize),
    coefficient: &impl Fn(usize, usize) -> T,
) {
    let wide = width - width % LANES;
    let narrow = width - width % (LANES / 2);
    let sizes = (first, (width, depth));
    combine_block::<T, ROWS, LANES>(out, inputs, (0..wide).step_by(LANES), sizes, coefficient);
    combine_block::<T, ROWS, { LANES / 2 }>(
        out,
        inputs,
        (wide..narrow).step_by(LANES / 2),
        sizes,
        coefficient,
    );
    combine_block::<T, ROWS, 1>(out, inputs, (narrow..width).step_by(1), sizes, coefficient);
}

/// Rows `first..first + ROWS` of [`combine_rows`], in blocks of `WIDTH` columns starting
/// at `columns`.
#[inline(always)]
fn combine_block<T: Real, const ROWS: usize, const WIDTH: usize>(
    out: &mut [T],
    inputs: &[T],
    columns: std::iter::StepBy<std::ops::Range<usize>>,
    (first, (width, depth)): (usize, (usize, usize)),
    coefficient: &impl Fn(usize, usize) -> T,
) {
    for column in columns {
        let mut sums = [[T::ZERO; WIDTH]; ROWS];
        for k in 0..depth {
            let input: &[T; WIDTH] = inputs[k * width + column..][..WIDTH]
                .try_into()
                .expect("a block is WIDTH wide");
            for (row, sum) in sums.iter_mut().enumerate() {
                let c = coefficient(first + row, k);
                for (total, x) in sum.iter_mut().zip(input) {
                    *total += c * *x;
                }
            }
        }
        for (row, sum) in sums.iter().enumerate() {
            out[(first + row) * width + column..][..WIDTH].copy_from_slice(sum);
        }
    }
}

/// `out(r, c) = Σ_j a[r][j] · b[c][j]` for every row `r` of `a` and `c` of `b`, rows of
/// `len` elements, written at `out[place(r, c)]`: a product whose inner dimension is long
/// and whose result is small (a weight's gradient, summed over a batch's positions), which
/// [`combine_rows`] would compute as a few long chains of dependent additions. Here each
/// result is [`LANES`] partial sums, of the elements `j` with the same `j % LANES`, in blocks
/// of 4×3 results, reduced in the same tree whatever the width of `simd`'s vectors, so
/// every instruction set gives the same bits.
#[inline(always)]
pub(super) fn dot_rows<S: Simd, T: Real>(
    simd: S,
    out: &mut [T],
    (a, b): (&[T], &[T]),
    len: usize,
    place: impl Fn(usize, usize) -> usize,
) {
    // `Real` is sealed: `T` is `f64` or `f32`, and the casts check the size.
    let (out, a, b) = (
        bytemuck::cast_slice_mut(out),
        bytemuck::cast_slice(a),
        bytemuck::cast_slice(b),
    );
    if T::DTYPE == Dtype::F64 {
        dot_rows_of::<S, f64>(simd, (out, a, b), len, place);
    } else {
        dot_rows_of::<S, f32>(simd, (out, a, b), len, place);
    }
}

/// [`dot_rows`] on `pulp`'s vectors of `E`.
#[inline(always)]
fn dot_rows_of<S: Simd, E: Lanes + Real>(
    simd: S,
    (out, a, b): (&mut [u8], &[u8], &[u8]),
    len: usize,
    place: impl Fn(usize, usize) -> usize,
) {
    // Back from bytes to `E`: the same memory `dot_rows` had as `T`, which is `E`.
    let out: &mut [E] = bytemuck::cast_slice_mut(out);
    let (a, b): (&[E], &[E]) = (bytemuck::cast_slice(a), bytemuck::cast_slice(b));
    let (a_rows, b_rows) = (a.len() / len.max(1), b.len() / len.max(1));
    let (a_whole, b_whole) = (a_rows - a_rows % 4, b_rows - b_rows % 3);
    let blocks = |step: usize, whole: usize, all: usize| {
        (0..whole)
            .step_by(step)
            .map(move |r| (r, step))
            .chain((whole..all).map(|r| (r, 1)))
    };
    for (r, r_block) in blocks(4, a_whole, a_rows) {
        for (c, c_block) in blocks(3, b_whole, b_rows) {
            let rows = ((a, r), (b, c), len);
            let mut write = |i: usize, k: usize, sum| out[place(r + i, c + k)] = sum;
            match (r_block, c_block) {
                (4, 3) => dot_block::<S, E, 4, 3>(simd, rows, &mut write),
                (4, _) => dot_block::<S, E, 4, 1>(simd, rows, &mut write),
                (_, 3) => dot_block::<S, E, 1, 3>(simd, rows, &mut write),
                _ => dot_block::<S, E, 1, 1>(simd, rows, &mut write),
            }
        }
    }
}

/// Rows of two matrices, each from its first row, all `len` long.
type RowBlocks<'a, E> = ((&'a [E], usize), (&'a [E], usize), usize);

/// The `RA×RB` results of the rows from `r` of `a` and from `c` of `b` in [`dot_rows`]:
/// [`LANES`] partial sums each, in as many of `simd`'s vectors as that takes.
#[inline(always)]
fn dot_block<S: Simd, E: Lanes + Real, const RA: usize, const RB: usize>(
    simd: S,
    ((a, r), (b, c), len): RowBlocks<'_, E>,
    write: &mut impl FnMut(usize, usize, E),
) {
    let count = E::count::<S>().min(LANES);
    let a_rows: [&[E]; RA] = std::array::from_fn(|i| &a[(r + i) * len..][..len]);
    let b_rows: [&[E]; RB] = std::array::from_fn(|k| &b[(c + k) * len..][..len]);
    let mut partial_sums = [[[E::ZERO; LANES]; RB]; RA];
    // The rows' elements from `j`, zeros past their end.
    let load = |row: &[E], j: usize| E::load(simd, &row[j.min(len)..(j + count).min(len)]);
    // Vector `v` of the partial sums: lanes `v·count..(v + 1)·count`.
    for v in 0..LANES / count {
        let mut sums = [[E::splat(simd, E::ZERO); RB]; RA];
        for j in (v * count..len).step_by(LANES) {
            let mut b_lanes = [E::splat(simd, E::ZERO); RB];
            for (lanes, row) in b_lanes.iter_mut().zip(b_rows) {
                *lanes = load(row, j);
            }
            for (row_sums, a_row) in sums.iter_mut().zip(a_rows) {
                let a_lanes = load(a_row, j);
                for (sum, b_lanes) in row_sums.iter_mut().zip(b_lanes) {
                    let product = <E as Lanes>::mul(simd, a_lanes, b_lanes);
                    *sum = <E as Lanes>::add(simd, *sum, product);
                }
            }
        }
        for (partial, sums) in partial_sums.iter_mut().zip(sums) {
            for (partial, sum) in partial.iter_mut().zip(sums) {
                E::store(simd, &mut partial[v * count..][..count], sum);
            }
        }
    }
    for (i, partial) in partial_sums.into_iter().enumerate() {
        for (k, lanes) in partial.into_iter().enumerate() {
            write(i, k, reduce_lanes(lanes));
        }
    }
}

/// The sum of `LANES` partial sums, halves added pairwise.
#[inline(always)]
fn reduce_lanes<E: Real>(mut lanes: [E; LANES]) -> E {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            lanes[lane] += lanes[lane + width];
        }
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dot_rows` on every instruction set `pulp` offers here: the same bits, and each result
    /// the exact dot product to rounding; 5×7 results of rows of 37 (a partial last chunk,
    /// and blocks of 4×3 with both remainders).
    #[test]
    fn dot_rows_gives_the_same_bits_on_every_instruction_set() {
        let (len, a_rows, b_rows) = (37, 5, 7);
        let value = |seed: usize| ((seed * 7919 % 1009) as f32 - 504.0) / 97.0;
        let a: Vec<f32> = (0..a_rows * len).map(value).collect();
        let b: Vec<f32> = (0..b_rows * len).map(|i| value(i + 5000)).collect();
        let bits_on = |simd: &dyn Fn(&mut [f32])| {
            let mut out = vec![f32::NAN; a_rows * b_rows];
            simd(&mut out);
            out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        let place = |r, c| r * b_rows + c;
        let scalar = bits_on(&|out| dot_rows(pulp::Scalar::new(), out, (&a, &b), len, place));
        for (index, sum) in scalar.iter().enumerate() {
            let (r, c) = (index / b_rows, index % b_rows);
            let terms = (0..len).map(|j| f64::from(a[r * len + j]) * f64::from(b[c * len + j]));
            let (exact, scale) = terms.fold((0.0, 0.0), |(s, m), t| (s + t, m + t.abs()));
            let sum = f64::from(f32::from_bits(*sum));
            assert!(
                (sum - exact).abs() <= 1e-6 * scale,
                "({r}, {c}): {sum} against {exact}"
            );
        }
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(simd) = pulp::x86::V3::try_new() {
                let v3 = bits_on(&|out| dot_rows(simd, out, (&a, &b), len, place));
                assert_eq!(v3, scalar, "AVX2");
            }
            if let Some(simd) = pulp::x86::V4::try_new() {
                let v4 = bits_on(&|out| dot_rows(simd, out, (&a, &b), len, place));
                assert_eq!(v4, scalar, "AVX-512");
            }
        }
    }
}
