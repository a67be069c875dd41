//! [`MaxPool2d`] and [`AvgPool2d`]: PyTorch's `nn.MaxPool2d(K)` and `nn.AvgPool2d(K)` (stride
//! `K`, no padding) on a batch of `C×H×W` images, one per column. Like [`Conv2d`](super::Conv2d),
//! a pooling names its image and its output's rows, `C·(H/K)·(W/K)`, which the
//! [`max_pool2d!`](crate::max_pool2d) and [`avg_pool2d!`](crate::avg_pool2d) macros work out;
//! a const assertion checks them, and that the previous layer's output fits, naming the layer.

use nalgebra::SMatrix;

use super::conv::copied;
use super::samples::by_samples;
use super::{Init, Mode, Module};
use crate::heap::Recycled;

macro_rules! pooling {
    ($(#[$doc:meta])* $layer:ident, $name:literal, $graph32:ident, $graph64:ident, $function:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $layer<const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize>;

        crate::impl_parameters!([const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize] $layer<C, H, W, K, OUT>, f32, []);
        crate::impl_parameters!([const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize] $layer<C, H, W, K, OUT>, f64, []);

        impl<const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize> $layer<C, H, W, K, OUT> {
            /// The sizes the layer names, checked when its `Module` impl is compiled for an
            /// input of `R` rows: a mismatch is a compile error naming the layer.
            #[inline(always)]
            fn check_sizes<const R: usize>() {
                const {
                    assert!(R == C * H * W, concat!($name, ": its input does not have C·H·W rows; the previous layer's output does not fit"));
                    assert!(
                        K > 0 && OUT == C * (H / K) * (W / K),
                        concat!($name, ": OUT is not C·(H/K)·(W/K); write the type with `", stringify!($function), "!`")
                    );
                }
            }
        }

        /// No modes: the same in training and evaluation.
        impl<const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize> Mode for $layer<C, H, W, K, OUT> {}

        /// No parameters: `init` and `zeros` alike.
        impl<const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize> Init for $layer<C, H, W, K, OUT> {
            fn init<R: rand::Rng + ?Sized>(_: &mut R) -> Self {
                $layer
            }
            fn zeros() -> Self {
                $layer
            }
        }

        pooling!(@real $layer, $name, $graph32, $function, f32);
        pooling!(@real $layer, $name, $graph64, $function, f64);
    };
    (@real $layer:ident, $name:literal, $graph:ident, $function:ident, $real:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn graph<const C: usize, const H: usize, const W: usize, const K: usize, const R: usize, const B: usize, const OUT: usize>(
                    x: SMatrix<$real, R, B>,
                ) -> SMatrix<$real, OUT, B> {
                    $function(x, C, H, W, K, OUT)
                }
            }
        }

        impl<const C: usize, const H: usize, const W: usize, const K: usize, const OUT: usize, const R: usize, const B: usize>
            Module<SMatrix<$real, R, B>> for $layer<C, H, W, K, OUT>
        {
            type Output = SMatrix<$real, OUT, B>;
            /// The input, on the heap: max pooling's gradient goes where its maxima are.
            type Tape = Recycled<SMatrix<$real, R, B>>;

            #[inline]
            fn forward(&self, x: &SMatrix<$real, R, B>) -> Self::Output {
                Self::check_sizes::<R>();
                $graph::graph::forward::<C, H, W, K, R, B, OUT>(x)
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, R, B>) -> (Self::Output, Self::Tape) {
                (self.forward(x), copied(x))
            }

            #[inline]
            fn backward(&self, x: &Self::Tape, d_output: &Self::Output) -> (SMatrix<$real, R, B>, Self) {
                let mut d_x = bytemuck::Zeroable::zeroed();
                self.backward_into(x, d_output, &mut $layer, &mut d_x);
                (d_x, *self)
            }

            #[inline]
            fn forward_with_tape_into(&self, x: &SMatrix<$real, R, B>, out: &mut Self::Output) -> Self::Tape {
                self.forward_with_tape_into_owned(copied(x), out)
            }

            /// The input's box is the tape.
            #[inline]
            fn forward_with_tape_into_owned(&self, tape: Self::Tape, out: &mut Self::Output) -> Self::Tape {
                Self::check_sizes::<R>();
                let x: &SMatrix<$real, R, B> = &tape;
                by_samples!(in [x] out [out] => $graph::graph::forward_into::<C, H, W, K, R, _, OUT>(x, out));
                tape
            }

            /// The input's gradient straight into `d_x`, a sample at a time on large batches
            /// (`samples::by_samples!`).
            #[inline]
            fn backward_into(&self, x: &Self::Tape, d_output: &Self::Output, _: &mut Self, d_x: &mut SMatrix<$real, R, B>) {
                let x: &SMatrix<$real, R, B> = x;
                by_samples!(in [x, d_output] out [d_x] => $graph::graph::backward_with_tape_into::<C, H, W, K, R, _, OUT>(
                    $graph::graph::Tape {},
                    x,
                    d_output,
                    $graph::graph::GradMut { x: d_x },
                ));
            }
        }
    };
}

pooling!(
    /// The largest element of each `K×K` window, every `K` positions: `nn.MaxPool2d(K)` on
    /// `C×H×W` images. Its gradient goes to the first maximum of a window (in row-major
    /// order) on ties, as PyTorch's.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::Module;
    /// type Pool = chainrule::max_pool2d![channels 1, kernel 2, image 2 x 4];
    /// let x = SMatrix::<f32, 8, 1>::from_column_slice(&[1., 5., 2., 0., 3., 4., 8., 6.]);
    /// let y: SMatrix<f32, 2, 1> = Pool::default().forward(&x);
    /// assert_eq!(y.as_slice(), &[5.0, 8.0]);
    /// ```
    MaxPool2d,
    "MaxPool2d",
    max_pool_f32,
    max_pool_f64,
    max_pool2d
);

pooling!(
    /// The mean of each `K×K` window, every `K` positions: `nn.AvgPool2d(K)` on `C×H×W`
    /// images.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::Module;
    /// type Pool = chainrule::avg_pool2d![channels 1, kernel 2, image 2 x 4];
    /// let x = SMatrix::<f32, 8, 1>::from_column_slice(&[1., 5., 2., 0., 3., 4., 8., 6.]);
    /// let y: SMatrix<f32, 2, 1> = Pool::default().forward(&x);
    /// assert_eq!(y.as_slice(), &[3.25, 4.0]); // (1 + 5 + 3 + 4) / 4 and (2 + 0 + 8 + 6) / 4
    /// ```
    AvgPool2d,
    "AvgPool2d",
    avg_pool_f32,
    avg_pool_f64,
    avg_pool2d
);

/// The type of a [`MaxPool2d`] from its sizes, as numbers: `max_pool2d![channels C, kernel K,
/// image H x W]` is `MaxPool2d<C, H, W, K, { C·(H/K)·(W/K) }>`.
///
/// ```
/// type Pool = chainrule::max_pool2d![channels 8, kernel 2, image 8 x 8];
/// let _: chainrule::nn::MaxPool2d<8, 8, 8, 2, 128> = Pool::default();
/// ```
#[macro_export]
macro_rules! max_pool2d {
    (channels $c:tt, kernel $k:tt, image $h:tt x $w:tt) => {
        $crate::nn::MaxPool2d<{ $c }, { $h }, { $w }, { $k }, { $c * ($h / $k) * ($w / $k) }>
    };
}

/// The type of an [`AvgPool2d`] from its sizes, as numbers, as [`max_pool2d!`](crate::max_pool2d).
///
/// ```
/// type Pool = chainrule::avg_pool2d![channels 8, kernel 2, image 8 x 8];
/// let _: chainrule::nn::AvgPool2d<8, 8, 8, 2, 128> = Pool::default();
/// ```
#[macro_export]
macro_rules! avg_pool2d {
    (channels $c:tt, kernel $k:tt, image $h:tt x $w:tt) => {
        $crate::nn::AvgPool2d<{ $c }, { $h }, { $w }, { $k }, { $c * ($h / $k) * ($w / $k) }>
    };
}
