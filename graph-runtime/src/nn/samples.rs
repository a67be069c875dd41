//! A batch handed to generated code a sample at a time when it is too large for the stack.
//!
//! Generated code writes a node that is its result straight into the caller's memory (an
//! `_into` form's place), but keeps every other node of a matrix type in a `let`, a
//! temporary of the batch's size in its frame, optimised or not. Layers without parameters
//! that do not mix a batch's samples and whose graphs may have such nodes (activations such
//! as softmax, dropout) give their generated functions the whole batch when it is small, in
//! one call, and otherwise one column at a time, whose temporaries are one sample's:
//! [`by_samples!`](crate::nn::samples::by_samples) writes the two.

use nalgebra::SMatrix;

use crate::Real;

/// The largest matrix handed to generated code whole: a few temporaries of this size fit a
/// spawned thread's 2 MiB stack, in a debug build too. A 1024×32 `f32` batch (128 KiB) is
/// one call; PyTorch's MNIST example's 36,864×32 (4.7 MB) is 32.
pub(crate) const WHOLE_BATCH_BYTES: usize = 256 << 10;

/// Sample `b` of a batch, as a one-column matrix (the columns of an `SMatrix` are contiguous).
#[inline(always)]
pub(crate) fn sample<T: Real, const R: usize, const C: usize>(
    batch: &SMatrix<T, R, C>,
    b: usize,
) -> &SMatrix<T, R, 1> {
    &bytemuck::cast_slice(batch.as_slice())[b]
}

/// Sample `b` of a batch, mutably.
#[inline(always)]
pub(crate) fn sample_mut<T: Real, const R: usize, const C: usize>(
    batch: &mut SMatrix<T, R, C>,
    b: usize,
) -> &mut SMatrix<T, R, 1> {
    &mut bytemuck::cast_slice_mut(batch.as_mut_slice())[b]
}

/// The batch's size.
#[inline(always)]
pub(crate) fn columns<T: Real, const R: usize, const C: usize>(_: &SMatrix<T, R, C>) -> usize {
    C
}

/// `$call` on the whole batch if every matrix named is at most [`WHOLE_BATCH_BYTES`], else
/// once per sample with each name bound to that sample's column: `in` the matrices read,
/// `out` those written. The test is on sizes rustc knows, so an optimised build keeps one
/// branch.
macro_rules! by_samples {
    (in [$($x:ident),+] out [$($y:ident),*] => $call:expr) => {{
        let largest = [$(::core::mem::size_of_val($x),)+ $(::core::mem::size_of_val($y),)*]
            .into_iter()
            .max()
            .unwrap_or(0);
        if largest <= $crate::nn::samples::WHOLE_BATCH_BYTES {
            $call
        } else {
            let batch = $crate::nn::samples::columns(by_samples!(@first $($x),+));
            for b in 0..batch {
                $(let $x = $crate::nn::samples::sample($x, b);)+
                $(let $y = $crate::nn::samples::sample_mut(&mut *$y, b);)*
                $call
            }
        }
    }};
    (@first $first:ident $(, $rest:ident)*) => {
        $first
    };
}
pub(crate) use by_samples;
