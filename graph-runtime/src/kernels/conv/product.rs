//! The products of a convolution: as row operations, register-blocked, for the small
//! convolutions of a digits-sized network, and by `gemm` from [`GEMM_MULTIPLY_ADDS`] on.

use crate::Real;

/// Products of at least this many multiply-adds go to `gemm`: it packs its operands into
/// memory it allocates on every call, which the row operations below beat on a digits
/// network's convolutions (at most 0.3 M multiply-adds each), and it is several times faster
/// on PyTorch's MNIST example network's (6 M and 340 M), whose operands leave the caches.
pub(super) const GEMM_MULTIPLY_ADDS: usize = 1 << 21;

/// A product's coefficients as a strided matrix: `coefficient(r, k)` is
/// `data[r·row_stride + k·depth_stride]`.
#[derive(Clone, Copy)]
pub(super) struct Coefficients<'a, T> {
    pub data: &'a [T],
    pub row_stride: usize,
    pub depth_stride: usize,
}

/// `out[r] = Σ_k coefficient(r, k) · inputs[k]` over rows of `width` elements, `depth` rows
/// of `inputs` ([`combine_rows`]), by `gemm` from [`GEMM_MULTIPLY_ADDS`] on.
#[inline(always)]
pub(super) fn multiply<T: Real>(
    out: &mut [T],
    inputs: &[T],
    (width, depth): (usize, usize),
    coefficients: Coefficients<'_, T>,
) {
    let rows = out.len() / width.max(1);
    let Coefficients {
        data,
        row_stride,
        depth_stride,
    } = coefficients;
    if rows * width * depth < GEMM_MULTIPLY_ADDS {
        combine_rows(out, inputs, (width, depth), |r, k| {
            data[r * row_stride + k * depth_stride]
        });
        return;
    }
    let last = (rows - 1) * row_stride + (depth - 1) * depth_stride;
    assert!(inputs.len() >= width * depth && last < data.len() && out.len() >= rows * width);
    // Row-major `out` is the column-major `width×rows` product of `inputs` (column-major
    // `width×depth`) and the coefficients' transpose (`depth×rows`).
    // SAFETY: the assertion keeps every stride inside its slice; `out` has `rows·width`
    // elements.
    unsafe {
        super::super::product_at(
            out.as_mut_ptr(),
            (width, rows, depth),
            (inputs, (1, width as isize)),
            (data, (depth_stride as isize, row_stride as isize)),
        );
    }
}

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
fn combine_rows<T: Real>(
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
