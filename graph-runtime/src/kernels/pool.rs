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

/// The offset (within one image) of the first largest element of each window of `x`, in
/// the order of the outputs. Pooling has no padding, so every tap is inside the image: the
/// window's taps are plain offsets from its corner.
#[inline(always)]
fn for_each_argmax<T: Real>(x: &[T], window: &Window, mut f: impl FnMut(usize, usize, usize)) {
    let (k, stride, width) = (window.kernel, window.stride, window.width);
    let (out_height, out_width) = (window.out_height(), window.out_width());
    for (b, image) in x.chunks_exact(window.input_len()).enumerate() {
        for channel in 0..window.channels {
            for (out_y, out_x) in (0..out_height).flat_map(|y| (0..out_width).map(move |x| (y, x)))
            {
                let corner = (channel * window.height + out_y * stride) * width + out_x * stride;
                let (mut best, mut largest) = (corner, image[corner]);
                for i in 0..k {
                    for j in 0..k {
                        let tap = corner + i * width + j;
                        // Strictly greater: a tie keeps the earlier position. Selects, not
                        // branches, which the data would mispredict.
                        let greater = image[tap] > largest;
                        best = if greater { tap } else { best };
                        largest = if greater { image[tap] } else { largest };
                    }
                }
                f(b, (channel * out_height + out_y) * out_width + out_x, best);
            }
        }
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
