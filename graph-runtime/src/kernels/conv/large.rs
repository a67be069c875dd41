//! Large convolutions (PyTorch's MNIST example's: 6 M and 340 M multiply-adds): im2col, then
//! one `gemm` call per image that reads and writes the batch's own layout (`[b][o][p]`) through
//! strides, so none of the small path's regroupings. Below [`GEMM_MULTIPLY_ADDS`], the
//! register-blocked rows of `product` win: `gemm` packs its operands into memory it allocates
//! on every call, which costs more than a digits network's whole products (at most 0.3 M).
//! 3×3 stride-1 convolutions of at least 8 channels in and out go to `winograd` instead.

use super::layout::{col2im, im2col};
use super::{winograd, Pass, Sizes, Workspace};
use crate::Real;

/// Convolutions of at least this many multiply-adds go to `gemm`.
pub(super) const GEMM_MULTIPLY_ADDS: usize = 1 << 21;

/// A matrix inside a slice: where its first element is and its (row, column) strides.
#[derive(Clone, Copy)]
pub(super) struct View {
    pub(super) offset: usize,
    pub(super) strides: (usize, usize),
}

impl View {
    /// Whether a `rows×columns` matrix at this view stays inside `len` elements.
    fn fits(&self, len: usize, (rows, columns): (usize, usize)) -> bool {
        let (row_stride, column_stride) = self.strides;
        rows == 0
            || columns == 0
            || self.offset + (rows - 1) * row_stride + (columns - 1) * column_stride < len
    }
}

/// A product's operand: a slice and the matrix in it.
pub(super) type Operand<'a, T> = (&'a [T], View);

/// `pass` on operands `a` and `b` into `out`, as the small path computes it, an image at a
/// time: each image's im2col matrix (`C·K·K×H_out·W_out`, 0.7 MB for the example's second
/// convolution) is made and used while it is in cache, where the whole batch's is 21 MB.
#[inline(always)]
pub(super) fn run<T: Real>(pass: Pass<'_, T>, (a, b): (&[T], &[T]), out: &mut [T], sizes: &Sizes) {
    let (window, co, depth) = (&sizes.window, sizes.out_channels, sizes.depth());
    let (plane, input) = (window.plane_len(), window.input_len());
    if winograd::applies(sizes) {
        return winograd::run(pass, (a, b), out, sizes);
    }
    let mut workspace = Workspace::take();
    let [cols, padded] = workspace.slices::<T, 2>([depth * plane, window.padded_len()]);
    let (images, weight, outputs) = (sizes.batch * input, co * depth, co * sizes.n());
    // The image's im2col matrix, (position, tap): `cols[d·HW + p]`.
    let cols_view = View {
        offset: 0,
        strides: (1, plane),
    };
    // Image `b`'s output planes, (position, channel): `y[(b·C_out + o)·HW + p]`.
    let planes_of = |b: usize| View {
        offset: b * co * plane,
        strides: (1, plane),
    };
    // The column-major `C_out×CKK` weight, and its transpose.
    let (weight_view, weight_t) = (
        View {
            offset: 0,
            strides: (1, co),
        },
        View {
            offset: 0,
            strides: (co, 1),
        },
    );
    match pass {
        Pass::Forward(bias) => {
            let (x, weight, y) = (&a[..images], &b[..weight], &mut out[..outputs]);
            if let Some(bias) = bias {
                for (k, values) in y.chunks_exact_mut(plane).enumerate() {
                    values.fill(bias[k % co]);
                }
            }
            for (image, x) in x.chunks_exact(input).enumerate() {
                im2col(x, window, plane, padded, cols);
                // y_b (HW×C_out) = cols_b (HW×CKK) · weightᵀ (CKK×C_out), added to the bias.
                let operands = ((&*cols, cols_view), (weight, weight_t));
                product(
                    (y, planes_of(image)),
                    operands,
                    (plane, co, depth),
                    bias.is_some(),
                );
            }
        }
        Pass::InputGrad => {
            let (d_y, weight, d_x) = (&a[..outputs], &b[..weight], &mut out[..images]);
            for (image, d_x) in d_x.chunks_exact_mut(input).enumerate() {
                // cols_b (HW×CKK) = d_y_b (HW×C_out) · weight (C_out×CKK).
                let operands = ((d_y, planes_of(image)), (weight, weight_view));
                product((&mut *cols, cols_view), operands, (plane, depth, co), false);
                col2im(cols, window, plane, padded, d_x);
            }
        }
        Pass::WeightGrad => {
            let (d_y, x, d_weight) = (&a[..outputs], &b[..images], &mut out[..weight]);
            for (image, x) in x.chunks_exact(input).enumerate() {
                im2col(x, window, plane, padded, cols);
                // d_weight (C_out×CKK) += d_y_bᵀ (C_out×HW) · cols_b (HW×CKK), over the images.
                let d_y_t = View {
                    offset: image * co * plane,
                    strides: (plane, 1),
                };
                let operands = ((d_y, d_y_t), (&*cols, cols_view));
                product(
                    (d_weight, weight_view),
                    operands,
                    (co, depth, plane),
                    image > 0,
                );
            }
        }
    }
}

/// `dst ← lhs·rhs`, or `dst + lhs·rhs` if `accumulate`, a `rows×columns` product of depth
/// `depth`, each matrix a view into its slice.
#[inline(always)]
pub(super) fn product<T: Real>(
    (dst, at): (&mut [T], View),
    ((lhs, lhs_at), (rhs, rhs_at)): (Operand<'_, T>, Operand<'_, T>),
    (rows, columns, depth): (usize, usize, usize),
    accumulate: bool,
) {
    assert!(
        at.fits(dst.len(), (rows, columns))
            && lhs_at.fits(lhs.len(), (rows, depth))
            && rhs_at.fits(rhs.len(), (depth, columns)),
        "a product's view runs past its slice"
    );
    let stride = |view: View| (view.strides.0 as isize, view.strides.1 as isize);
    let ((dst_rs, dst_cs), (lhs_rs, lhs_cs), (rhs_rs, rhs_cs)) =
        (stride(at), stride(lhs_at), stride(rhs_at));
    // SAFETY: the assertion keeps every view inside its slice.
    unsafe {
        gemm::gemm(
            rows,
            columns,
            depth,
            dst.as_mut_ptr().add(at.offset),
            dst_cs,
            dst_rs,
            accumulate,
            lhs.as_ptr().add(lhs_at.offset),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr().add(rhs_at.offset),
            rhs_cs,
            rhs_rs,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            super::super::parallelism(),
        );
    }
}
