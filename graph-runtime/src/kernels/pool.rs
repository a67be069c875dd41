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
const LANES: usize = 64;

/// The offset (within one image) of the first largest element of each window of `x`, in
/// the order of the outputs: `f(image, output, offset)`. Pooling has no padding, so a
/// window's taps are plain offsets from its corner.
///
/// Runs in blocks of consecutive positions of one channel plane, each block taking every
/// position in it as a window's corner (including those no window starts at) and scanning
/// the taps lane-wise: contiguous loads and selects, which vectorise, in place of one serial
/// chain of compares per window. Each lane makes the same strict comparisons, in the same
/// order, as a scan of its window alone would, so ties and NaNs choose the same element.
#[inline(always)]
fn for_each_argmax<T: Real>(x: &[T], window: &Window, mut f: impl FnMut(usize, usize, usize)) {
    let (stride, width, plane) = (window.stride, window.width, window.height * window.width);
    let (out_height, out_width) = (window.out_height(), window.out_width());
    // A block is `rows` whole rows of windows, or `columns` windows of one row when a row's
    // corners alone span more than `LANES` positions.
    let columns = out_width.min((LANES - 1) / stride + 1);
    let row_span = (columns - 1) * stride + 1;
    let rows = match columns == out_width {
        true => ((LANES - row_span) / (stride * width) + 1).min(out_height),
        false => 1,
    };
    let mut best = [0u32; LANES];
    for (b, image) in x.chunks_exact(window.input_len()).enumerate() {
        for (channel, x) in image.chunks_exact(plane).enumerate() {
            for out_y in (0..out_height).step_by(rows) {
                let rows = rows.min(out_height - out_y);
                for out_x in (0..out_width).step_by(columns) {
                    let columns = columns.min(out_width - out_x);
                    let corner = out_y * stride * width + out_x * stride;
                    let len = (rows - 1) * stride * width + (columns - 1) * stride + 1;
                    argmaxes(&x[corner..], window, &mut best[..len]);
                    for (y, x) in (0..rows).flat_map(|y| (0..columns).map(move |x| (y, x))) {
                        let lane = y * stride * width + x * stride;
                        let output = (out_y + y) * out_width + out_x + x;
                        let at = channel * plane + corner + lane + best[lane] as usize;
                        f(b, channel * out_height * out_width + output, at);
                    }
                }
            }
        }
    }
}

/// For each position `l` of `best`, the offset from `x[l]` of the first largest element of
/// the window whose corner is `x[l]`: a sequential scan of the taps in row-major order, a
/// strict `>` keeping the earlier position on ties (and the corner, if it is NaN).
#[inline(always)]
fn argmaxes<T: Real>(x: &[T], window: &Window, best: &mut [u32]) {
    let (k, width) = (window.kernel, window.width);
    let x = &x[..best.len() + (k - 1) * width + k - 1];
    for (l, best) in best.iter_mut().enumerate() {
        let (mut at, mut largest) = (0, x[l]);
        for tap in (0..k)
            .flat_map(|i| (0..k).map(move |j| i * width + j))
            .skip(1)
        {
            // Selects, not branches, which the data would mispredict.
            let greater = x[l + tap] > largest;
            at = if greater { tap as u32 } else { at };
            largest = if greater { x[l + tap] } else { largest };
        }
        *best = at;
    }
}

/// A pooling kernel twice: `$into`, which writes its result into `out` (zeroed first, as the
/// adjoints add into it), and `$name`, which returns it.
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
            out.fill(T::ZERO);
            let body = $body;
            body(&window, out, $($arg.as_slice()),*);
        }
    };
}

const ZERO: usize = 0;

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
        |window: &Window, out: &mut [T], a: &[T], x: &[T]| {
            for_each_argmax(x, window, |b, o, at| {
                out[b * OUT + o] = a[b * R + at];
            });
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
        |window: &Window, out: &mut [T], d: &[T], x: &[T]| {
            for_each_argmax(x, window, |b, o, at| {
                out[b * R + at] += d[b * OUT + o];
            });
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
            for_each_window(window, B, |b, o, taps| {
                for t in taps {
                    out[b * R + t] += d[b * OUT + o] * scale;
                }
            });
        }
    }
}
