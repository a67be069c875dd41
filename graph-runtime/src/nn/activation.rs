//! Element-wise activations: [`Tanh`], [`ReLU`], [`Sigmoid`] and [`Identity`], PyTorch's
//! `nn.Tanh`, `nn.ReLU`, `nn.Sigmoid` and `nn.Identity`. None has parameters; each works on a
//! matrix of any shape, in `f32` or `f64`.

use nalgebra::SMatrix;

use super::{Init, Module};

macro_rules! activation {
    ($(#[$doc:meta])* $layer:ident, $graph32:ident, $graph64:ident, { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $layer;

        crate::impl_parameters!([] $layer, f32, []);
        crate::impl_parameters!([] $layer, f64, []);

        impl Init for $layer {
            fn init<R: rand::Rng + ?Sized>(_: &mut R) -> Self {
                $layer
            }
            fn zeros() -> Self {
                $layer
            }
        }

        activation!(@real $layer, $graph32, { $($body)* }, f32);
        activation!(@real $layer, $graph64, { $($body)* }, f64);
    };
    (@real $layer:ident, $graph:ident, { $($body:tt)* }, $real:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[tape]
                pub fn graph<const R: usize, const C: usize>(x: SMatrix<$real, R, C>) -> SMatrix<$real, R, C> {
                    $($body)*
                }
            }
        }

        impl<const R: usize, const C: usize> Module<SMatrix<$real, R, C>> for $layer {
            type Output = SMatrix<$real, R, C>;
            type Tape = $graph::graph::Tape<R, C>;

            #[inline]
            fn forward(&self, x: &SMatrix<$real, R, C>) -> Self::Output {
                $graph::graph::forward(*x)
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, R, C>) -> (Self::Output, Self::Tape) {
                $graph::graph::forward_with_tape(*x)
            }

            #[inline]
            fn backward(
                &self,
                tape: &Self::Tape,
                d_output: &Self::Output,
            ) -> (SMatrix<$real, R, C>, Self) {
                // The tape holds the derivative, so `x` is not read again (the tests check
                // every activation's gradient against finite differences).
                let grad = $graph::graph::backward_with_tape(*tape, SMatrix::zeros(), *d_output);
                (grad.x, $layer)
            }
        }
    };
}

activation!(
    /// `tanh(x)`, element by element: `nn.Tanh`.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, Tanh};
    /// let y = Tanh.forward(&SMatrix::<f32, 1, 2>::new(0.0, 1.0));
    /// assert_eq!(y[1], 1f32.tanh());
    /// ```
    Tanh,
    tanh_f32,
    tanh_f64,
    { tanh(x) }
);

activation!(
    /// `max(x, 0)`, element by element: `nn.ReLU`. Its gradient at 0 is 0, as PyTorch's is.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, ReLU};
    /// let y = ReLU.forward(&SMatrix::<f64, 1, 2>::new(-1.0, 2.0));
    /// assert_eq!((y[0], y[1]), (0.0, 2.0));
    /// ```
    ReLU,
    relu_f32,
    relu_f64,
    { relu(x) }
);

activation!(
    /// `1 / (1 + e⁻ˣ)`, element by element, computed without overflow: `nn.Sigmoid`.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, Sigmoid};
    /// let y = Sigmoid.forward(&SMatrix::<f64, 1, 2>::new(0.0, -1000.0));
    /// assert_eq!((y[0], y[1]), (0.5, 0.0));
    /// ```
    Sigmoid,
    sigmoid_f32,
    sigmoid_f64,
    { sigmoid(x) }
);

activation!(
    /// The input unchanged: `nn.Identity`, a placeholder layer.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Identity, Module};
    /// let x = SMatrix::<f64, 2, 1>::new(3.0, -4.0);
    /// assert_eq!(Identity.forward(&x), x);
    /// ```
    Identity,
    identity_f32,
    identity_f64,
    { x }
);
