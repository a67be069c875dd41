//! The products of a convolution as row operations, register-blocked.

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
