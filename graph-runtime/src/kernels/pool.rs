//! 2-D max and average pooling over a batch of images, one image per column in PyTorch's
//! `(C, H, W)` order, and their adjoints, for generated code. No padding; windows of side `K`
//! every `S` positions (PyTorch's `MaxPool2d(K)` and `AvgPool2d(K)` have `S = K`).
//!
//! Max pooling is written as a selection, `max_pool2d(a, x)`: the elements of `a` where `x`
//! has its window maxima (the first, in row-major order, on ties, as PyTorch's kernel picks
//! them). The pooling of `x` is `max_pool2d(x, x)`; its adjoint `max_unpool2d(d, x)` sends
//! each `d` to that position, and the adjoint of the adjoint is the selection again, so the
//! rules close under differentiation.

use nalgebra::SMatrix;

use super::conv::{window, Window};
use crate::Real;

/// The offsets (within one image) of the input elements of one window, in row-major order,
/// padding skipped.
struct Taps<'w> {
    window: &'w Window,
    channel: usize,
    at: (usize, usize),
    next: usize,
}

impl Iterator for Taps<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let k = self.window.kernel;
        while self.next < k * k {
            let (i, j) = (self.next / k, self.next % k);
            self.next += 1;
            if let Some(offset) = self.window.tap(self.channel, self.at, (i, j)) {
                return Some(offset);
            }
        }
        None
    }
}

/// Calls `f(image, output, taps)` for each window of each image, `output` the window's
/// position among one image's outputs.
#[inline]
fn for_each_window(window: &Window, batch: usize, mut f: impl FnMut(usize, usize, Taps<'_>)) {
    let (out_width, plane) = (window.out_width(), window.plane_len());
    for b in 0..batch {
        for channel in 0..window.channels {
            for p in 0..plane {
                let at = (p / out_width, p % out_width);
                f(
                    b,
                    channel * plane + p,
                    Taps {
                        window,
                        channel,
                        at,
                        next: 0,
                    },
                );
            }
        }
    }
}

/// How many window corners one pass of [`argmaxes`] follows at once: the width of its stack
/// buffer.
const LANES: usize = 256;

/// The widest vector, in elements: blocks are rounded up to whole vectors where the input has
/// the elements, so that no lanes are left to a scalar loop.
const VECTOR: usize = 16;

/// Calls `f(output, offset)` with the offset (within the batch) of the first largest
/// element of each window of `x`, in the order of the outputs. Pooling has no padding, so a
/// window's taps are plain offsets from its corner, and the batch's planes follow each other.
///
/// Runs in blocks of consecutive positions, each block taking every position in it as a
/// window's corner (including those no window starts at) and scanning the taps lane-wise:
/// contiguous loads and selects, which vectorise, in place of one serial chain of compares
/// per window. Each lane makes the same strict comparisons, in the same order, as a scan of
/// its window alone would, so ties and NaNs choose the same element.
#[inline(always)]
fn for_each_argmax<T: Real, const K: usize, const W: usize>(
    x: &[T],
    window: &Window,
    mut f: impl FnMut(usize, usize),
) {
    let (stride, plane) = (window.stride, window.height * W);
    let (out_height, out_width) = (window.out_height(), window.out_width());
    // A block is whole planes, or whole rows of windows of one plane, or windows of one row,
    // whichever spans at most `LANES` positions.
    let columns = out_width.min((LANES - 1) / stride + 1);
    let row_span = (columns - 1) * stride + 1;
    let rows = match columns == out_width {
        true => ((LANES - row_span) / (stride * W) + 1).min(out_height),
        false => 1,
    };
    let plane_span = (rows - 1) * stride * W + row_span;
    let planes = match columns == out_width && rows == out_height {
        true => (LANES - plane_span) / plane + 1,
        false => 1,
    };
    let (mut best, total) = ([0u32; LANES], x.len() / plane);
    for first in (0..total).step_by(planes) {
        let planes = planes.min(total - first);
        for out_y in (0..out_height).step_by(rows) {
            let rows = rows.min(out_height - out_y);
            for out_x in (0..out_width).step_by(columns) {
                let columns = columns.min(out_width - out_x);
                let corner = first * plane + out_y * stride * W + out_x * stride;
                let len =
                    (planes - 1) * plane + (rows - 1) * stride * W + (columns - 1) * stride + 1;
                let within = x.len() - corner - (K - 1) * W - (K - 1);
                argmaxes::<T, K, W>(
                    &x[corner..],
                    &mut best[..len.next_multiple_of(VECTOR).min(within)],
                );
                for q in 0..planes {
                    for y in 0..rows {
                        let lane = q * plane + y * stride * W;
                        let output = ((first + q) * out_height + out_y + y) * out_width + out_x;
                        let lanes = best[lane..].iter().step_by(stride).take(columns);
                        for (column, &best) in lanes.enumerate() {
                            f(
                                output + column,
                                corner + lane + column * stride + best as usize,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// For each position `l` of `best`, the offset from `x[l]` of the first largest element of
/// the window whose corner is `x[l]`: a sequential scan of the taps in row-major order, a
/// strict `>` keeping the earlier position on ties (and the corner, if it is NaN). With the
/// window's sizes as constants the scan unrolls, and the lanes vectorise.
#[inline(always)]
fn argmaxes<T: Real, const K: usize, const W: usize>(x: &[T], best: &mut [u32]) {
    for (best, x) in best.iter_mut().zip(x.windows((K - 1) * W + K)) {
        let (mut at, mut largest) = (0, x[0]);
        for i in 0..K {
            for j in 0..K {
                // Selects, not branches, which the data would mispredict. The corner's own
                // comparison, `x > x`, is false whatever `x` holds, as the scan starts there.
                let greater = x[i * W + j] > largest;
                at = if greater { (i * W + j) as u32 } else { at };
                largest = if greater { x[i * W + j] } else { largest };
            }
        }
        *best = at;
    }
}

/// A pooling kernel twice: `$into`, which writes its result into `out` (the adjoints zero it
/// first, as they add into it), and `$name`, which returns it.
macro_rules! pool_signature {
    (
        $(#[$doc:meta])* $name:ident, $into:ident($($arg:ident: $rows:ident),*) -> $out:ident
        $body:block
    ) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)] // The geometry and every matrix size, from the IR.
        pub fn $name<
            T: Real,
            const C: usize,
            const H: usize,
            const W: usize,
            const K: usize,
            const S: usize,
            const R: usize,
            const B: usize,
            const OUT: usize,
        >($($arg: &SMatrix<T, $rows, B>),*) -> SMatrix<T, $out, B> {
            let mut result: SMatrix<T, $out, B> = bytemuck::Zeroable::zeroed();
            $into::<T, C, H, W, K, S, R, B, OUT>($($arg,)* &mut result);
            result
        }

        #[doc = concat!("As [`", stringify!($name), "`], writing the result into `out`.")]
        #[allow(clippy::too_many_arguments)]
        pub fn $into<
            T: Real,
            const C: usize,
            const H: usize,
            const W: usize,
            const K: usize,
            const S: usize,
            const R: usize,
            const B: usize,
            const OUT: usize,
        >($($arg: &SMatrix<T, $rows, B>,)* out: &mut SMatrix<T, $out, B>) {
            const {
                assert!(C > 0 && K > 0 && S > 0 && H >= K && W >= K, "pool2d: the window is larger than the image");
                assert!(R == C * H * W, "pool2d: the input's rows are not channels·height·width");
                assert!(
                    OUT == C * ((H - K) / S + 1) * ((W - K) / S + 1),
                    "pool2d: the output's rows are not channels·out_height·out_width"
                );
            }
            let window = window!(C, H, W, K, S, ZERO);
            let out = out.as_mut_slice();
            let body = $body;
            body(&window, out, $($arg.as_slice()),*);
        }
    };
}

const ZERO: usize = 0;

/// One max-pooling kernel call: the selection of `Select`'s operand, or the adjoint's
/// scatter of `Scatter`'s, at the argmaxes of `x`.
struct Argmax<'a, T, const C: usize, const H: usize, const W: usize, const K: usize, const S: usize>
{
    x: &'a [T],
    pass: Pass<'a, T>,
    out: &'a mut [T],
}

enum Pass<'a, T> {
    Select(&'a [T]),
    Scatter(&'a [T]),
}

impl<T: Real, const C: usize, const H: usize, const W: usize, const K: usize, const S: usize>
    Argmax<'_, T, C, H, W, K, S>
{
    /// Runs the call compiled for the widest instruction set this processor has (AVX-512,
    /// AVX2, or else the baseline), chosen at run time by `pulp`, as the convolutions run:
    /// the argmax scan is written for the compiler to vectorise.
    fn run(self) {
        pulp::Arch::new().dispatch(self)
    }
}

impl<T: Real, const C: usize, const H: usize, const W: usize, const K: usize, const S: usize>
    pulp::WithSimd for Argmax<'_, T, C, H, W, K, S>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<V: pulp::Simd>(self, _: V) {
        // The sizes as constants, here, inside the code compiled for the instruction set.
        let (window, out) = (&window!(C, H, W, K, S, ZERO), self.out);
        match self.pass {
            Pass::Select(a) => for_each_argmax::<T, K, W>(self.x, window, |o, at| out[o] = a[at]),
            // The windows in order, so that overlapping windows add as a sequential loop does.
            Pass::Scatter(d) => {
                out.fill(T::ZERO);
                for_each_argmax::<T, K, W>(self.x, window, |o, at| out[at] += d[o]);
            }
        }
    }
}

pool_signature! {
    /// The elements of `a` where each `K×K` window of `x` has its first largest element:
    /// `max_pool2d(x, x)` is PyTorch's `max_pool2d(x, K, S)`.
    ///
    /// ```
    /// use chainrule::runtime::kernels::max_pool2d;
    /// use chainrule::nalgebra::SMatrix;
    /// let x = SMatrix::<f64, 4, 1>::from_column_slice(&[1.0, 3.0, 3.0, 2.0]); // one 2×2 image
    /// assert_eq!(max_pool2d::<f64, 1, 2, 2, 2, 2, 4, 1, 1>(&x, &x)[0], 3.0);
    /// ```
    max_pool2d, max_pool2d_into(a: R, x: R) -> OUT {
        |_: &Window, out: &mut [T], a: &[T], x: &[T]| {
            Argmax::<T, C, H, W, K, S> { x, pass: Pass::Select(a), out }.run();
        }
    }
}

pool_signature! {
    /// Each element of `d` added where its window of `x` has its first largest element: the
    /// adjoint of [`max_pool2d`], so a tie's gradient goes to the first maximum, as PyTorch's.
    ///
    /// ```
    /// use chainrule::runtime::kernels::max_unpool2d;
    /// use chainrule::nalgebra::SMatrix;
    /// let x = SMatrix::<f64, 4, 1>::from_column_slice(&[1.0, 3.0, 3.0, 2.0]);
    /// let d = SMatrix::<f64, 1, 1>::new(5.0);
    /// assert_eq!(max_unpool2d::<f64, 1, 2, 2, 2, 2, 4, 1, 1>(&d, &x).as_slice(), &[0.0, 5.0, 0.0, 0.0]);
    /// ```
    max_unpool2d, max_unpool2d_into(d: OUT, x: R) -> R {
        |_: &Window, out: &mut [T], d: &[T], x: &[T]| {
            Argmax::<T, C, H, W, K, S> { x, pass: Pass::Scatter(d), out }.run();
        }
    }
}

pool_signature! {
    /// The mean of each `K×K` window of `a`: PyTorch's `avg_pool2d(a, K, S)`.
    ///
    /// ```
    /// use chainrule::runtime::kernels::avg_pool2d;
    /// use chainrule::nalgebra::SMatrix;
    /// let a = SMatrix::<f64, 4, 1>::from_column_slice(&[1.0, 3.0, 3.0, 2.0]);
    /// assert_eq!(avg_pool2d::<f64, 1, 2, 2, 2, 2, 4, 1, 1>(&a)[0], 2.25);
    /// ```
    avg_pool2d, avg_pool2d_into(a: R) -> OUT {
        |window: &Window, out: &mut [T], a: &[T]| {
            let scale = T::ONE / T::from_f64((window.kernel * window.kernel) as f64);
            for_each_window(window, B, |b, o, taps| {
                let total = taps.fold(T::ZERO, |total, t| total + a[b * R + t]);
                out[b * OUT + o] = total * scale;
            });
        }
    }
}

pool_signature! {
    /// Each element of `d` spread evenly over its window: the adjoint of [`avg_pool2d`].
    ///
    /// ```
    /// use chainrule::runtime::kernels::avg_unpool2d;
    /// use chainrule::nalgebra::SMatrix;
    /// let d = SMatrix::<f64, 1, 1>::new(4.0);
    /// assert_eq!(avg_unpool2d::<f64, 1, 2, 2, 2, 2, 4, 1, 1>(&d).as_slice(), &[1.0; 4]);
    /// ```
    avg_unpool2d, avg_unpool2d_into(d: OUT) -> R {
        |window: &Window, out: &mut [T], d: &[T]| {
            let scale = T::ONE / T::from_f64((window.kernel * window.kernel) as f64);
            out.fill(T::ZERO);
            for_each_window(window, B, |b, o, taps| {
                for t in taps {
                    out[b * R + t] += d[b * OUT + o] * scale;
                }
            });
        }
    }
}
