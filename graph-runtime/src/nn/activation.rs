//! Activations: PyTorch's `nn.Tanh`, `nn.ReLU`, `nn.Sigmoid`, `nn.Identity`, `nn.GELU`,
//! `nn.SiLU`, `nn.LeakyReLU`, `nn.ELU` and `nn.Softplus`, element by element, and `nn.Softmax`
//! and `nn.LogSoftmax` per column (per sample). None has parameters to train: the
//! hyperparameters of [`LeakyReLU`], [`ELU`] and [`Softplus`] are plain fields, outside
//! [`Parameters`](crate::Parameters) and the `state_dict`. Each works on a matrix of any shape,
//! in `f32` or `f64`.
//!
//! As in PyTorch, a file holds no hyperparameters: `Sequential::load_safetensors` builds these
//! layers with their defaults, so load into a model built with other ones in place, with
//! `chainrule::io::load_safetensors(&mut model, path)`.
//!
//! Values and derivatives follow PyTorch's kernels, kinks included: `LeakyReLU`'s slope at 0
//! is `negative_slope` and `ELU`'s is `alpha`, as in `leaky_relu_backward` and
//! `elu_backward`, where the value at 0 is on the `x ≤ 0` side. One difference: the graph
//! language's `max` and `min` are Rust's, which return the other operand for a NaN, so
//! `ReLU`, `LeakyReLU` and `ELU` map NaN to 0 where PyTorch keeps it NaN.

use nalgebra::SMatrix;

use super::samples::by_samples;
use super::{Init, Mode, Module};
use crate::Real;

macro_rules! activation {
    // A layer without hyperparameters: a unit struct.
    ($(#[$doc:meta])* $layer:ident, $graph32:ident, $graph64:ident, { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $layer;

        activation!(@layer $layer, $graph32, $graph64, [] [], { $($body)* });
    };
    // A layer with hyperparameters: `f64` fields (Python floats, as PyTorch keeps them), each
    // an input of the graph rounded to its scalar type; `[name = value]` adds a constant
    // input, `value` taking the graph's scalar type.
    (
        $(#[$doc:meta])* $layer:ident { $( $(#[$field_doc:meta])* $field:ident = $default:expr ),* }
        [$($constant:ident = $value:expr),*],
        $graph32:ident, $graph64:ident, { $($body:tt)* }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $layer {
            $( $(#[$field_doc])* pub $field: f64, )*
        }

        /// PyTorch's defaults.
        impl Default for $layer {
            fn default() -> Self {
                $layer { $( $field: $default ),* }
            }
        }

        activation!(@layer $layer, $graph32, $graph64, [$($field),*] [$($constant = $value),*], { $($body)* });
    };
    (@layer $layer:ident, $graph32:ident, $graph64:ident, $fields:tt $constants:tt, { $($body:tt)* }) => {
        // No tensors: nothing to train and nothing in a `state_dict`.
        crate::impl_parameters!([] $layer, f32, []);
        crate::impl_parameters!([] $layer, f64, []);

        /// No modes: the same in training and evaluation.
        impl Mode for $layer {}

        /// PyTorch's defaults, for `init` and `zeros` alike: there are no parameters.
        impl Init for $layer {
            fn init<R: rand::Rng + ?Sized>(_: &mut R) -> Self {
                Self::default()
            }
            fn zeros() -> Self {
                Self::default()
            }
        }

        activation!(@real $layer, $graph32, $fields $constants, { $($body)* }, f32);
        activation!(@real $layer, $graph64, $fields $constants, { $($body)* }, f64);
    };
    (
        @real $layer:ident, $graph:ident, [$($field:ident),*] [$($constant:ident = $value:expr),*],
        { $($body:tt)* }, $real:ident
    ) => {
        #[doc(hidden)]
        // `graph!` writes the f64 digits of a derivative's constant (`gelu`'s 1/√(2π)) in
        // f32 graphs too; rustc rounds them.
        #[allow(clippy::excessive_precision)]
        pub mod $graph {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[by_ref]
                pub fn graph<const R: usize, const C: usize>(
                    $( #[no_grad] $field: $real, )*
                    $( #[no_grad] $constant: $real, )*
                    x: SMatrix<$real, R, C>,
                ) -> SMatrix<$real, R, C> {
                    $($body)*
                }
            }
        }

        /// The backward pass computes the derivative again from the input it is given, so
        /// nothing is saved; on large batches a sample at a time (`samples::by_samples!`), so
        /// the generated code's temporaries stay small.
        impl<const R: usize, const C: usize> Module<SMatrix<$real, R, C>> for $layer {
            type Output = SMatrix<$real, R, C>;
            type Tape = ();

            #[inline]
            fn forward(&self, x: &SMatrix<$real, R, C>) -> Self::Output {
                $graph::graph::forward(
                    $( <$real as Real>::from_f64(self.$field), )*
                    $( $value, )*
                    x,
                )
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, R, C>) -> (Self::Output, ()) {
                let mut output = bytemuck::Zeroable::zeroed();
                self.forward_with_tape_into(x, &mut output);
                (output, ())
            }

            #[inline]
            fn forward_with_tape_into(&self, x: &SMatrix<$real, R, C>, out: &mut Self::Output) {
                by_samples!(in [x] out [out] => $graph::graph::forward_into(
                    $( <$real as Real>::from_f64(self.$field), )*
                    $( $value, )*
                    x,
                    out,
                ));
            }

            #[inline]
            fn backward(
                &self,
                x: &SMatrix<$real, R, C>,
                _: &(),
                d_output: &Self::Output,
            ) -> (SMatrix<$real, R, C>, Self) {
                let mut d_x = bytemuck::Zeroable::zeroed();
                self.backward_into(x, &(), d_output, &mut Self::default(), &mut d_x);
                (d_x, *self)
            }

            /// The input's gradient straight into `d_x`.
            #[inline]
            fn backward_into(
                &self,
                x: &SMatrix<$real, R, C>,
                _: &(),
                d_output: &Self::Output,
                _: &mut Self,
                d_x: &mut SMatrix<$real, R, C>,
            ) {
                by_samples!(in [x, d_output] out [d_x] => $graph::graph::backward_into(
                    $( <$real as Real>::from_f64(self.$field), )*
                    $( $value, )*
                    x,
                    d_output,
                    $graph::graph::GradMut { x: d_x },
                ));
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

activation!(
    /// `x·Φ(x)`, Φ the standard normal distribution function, element by element: `nn.GELU`
    /// with its default `approximate='none'`, the exact form, through `erfc` so the far
    /// negative side is tiny rather than cancelled.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, GELU};
    /// let y = GELU.forward(&SMatrix::<f64, 1, 2>::new(0.0, 1.0));
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 0.841_344_746_068_542_9).abs() < 1e-15); // Φ(1)
    /// ```
    GELU,
    gelu_f32,
    gelu_f64,
    { gelu(x) }
);

activation!(
    /// `x·sigmoid(x)`, element by element, with the stable sigmoid: `nn.SiLU` (swish).
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, SiLU};
    /// let y = SiLU.forward(&SMatrix::<f64, 1, 2>::new(0.0, 2.0));
    /// assert_eq!(y[0], 0.0);
    /// assert!((y[1] - 2.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    /// ```
    SiLU,
    silu_f32,
    silu_f64,
    { silu(x) }
);

activation!(
    /// `x` above 0, `negative_slope·x` at and below 0, element by element: `nn.LeakyReLU`.
    /// The slope at 0 is `negative_slope`, as PyTorch's gradient.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{LeakyReLU, Module};
    /// let x = SMatrix::<f64, 1, 2>::new(-2.0, 3.0);
    /// assert_eq!(LeakyReLU::default().forward(&x), SMatrix::<f64, 1, 2>::new(-0.02, 3.0));
    /// assert_eq!(LeakyReLU::new(0.5).forward(&x)[0], -1.0);
    /// ```
    LeakyReLU {
        /// The slope below 0; PyTorch's default is 0.01.
        negative_slope = 0.01
    }
    [zero = 0.0],
    leaky_relu_f32,
    leaky_relu_f64,
    // `min(zero, x)` gives `x` the tie, so the slope at 0 is `negative_slope` (`relu`'s is 0).
    // `zero` is an input because `min(0, x)` on a matrix emits `0.0.min(e)`, which does not
    // compile.
    { relu(x) + negative_slope * min(zero, x) }
);

impl LeakyReLU {
    /// `nn.LeakyReLU(negative_slope)`.
    ///
    /// ```
    /// use chainrule::nn::LeakyReLU;
    /// assert_eq!(LeakyReLU::new(0.2).negative_slope, 0.2);
    /// assert_eq!(LeakyReLU::default(), LeakyReLU::new(0.01));
    /// ```
    pub fn new(negative_slope: f64) -> Self {
        LeakyReLU { negative_slope }
    }
}

activation!(
    /// `x` above 0, `alpha·(eˣ − 1)` at and below 0, element by element: `nn.ELU`. The slope
    /// at 0 is `alpha`, as PyTorch's gradient.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, ELU};
    /// let y = ELU::default().forward(&SMatrix::<f64, 1, 2>::new(-1.0, 3.0));
    /// assert_eq!(y, SMatrix::<f64, 1, 2>::new((-1.0f64).exp_m1(), 3.0));
    /// assert_eq!(ELU::new(2.0).forward(&SMatrix::<f64, 1, 1>::new(-1.0))[0], 2.0 * (-1.0f64).exp_m1());
    /// ```
    ELU {
        /// The scale of the negative side; PyTorch's default is 1.
        alpha = 1.0
    }
    [zero = 0.0],
    elu_f32,
    elu_f64,
    // `expm1` keeps its precision near 0; `min(zero, x)` gives `x` the tie, so the slope at 0
    // is `alpha` (`relu`'s is 0). The builtin `elu` gives the tie to the positive side, and,
    // like `min(0, x)`, does not compile on a matrix: hence `zero`, as in `LeakyReLU`.
    { relu(x) + alpha * expm1(min(zero, x)) }
);

impl ELU {
    /// `nn.ELU(alpha)`.
    ///
    /// ```
    /// use chainrule::nn::ELU;
    /// assert_eq!(ELU::new(0.5).alpha, 0.5);
    /// assert_eq!(ELU::default(), ELU::new(1.0));
    /// ```
    pub fn new(alpha: f64) -> Self {
        ELU { alpha }
    }
}

activation!(
    /// `ln(1 + e^(beta·x)) / beta`, element by element, and `x` itself where
    /// `beta·x > threshold`: `nn.Softplus`. The logarithm is taken in its stable form, and the
    /// gradient is exactly 1 above the threshold, as PyTorch's.
    ///
    /// `beta` is meant to be positive, as in PyTorch's documentation. Where PyTorch gives 0
    /// for an input of −∞, this gives NaN (and NaN for NaN, as PyTorch).
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, Softplus};
    /// let y = Softplus::default().forward(&SMatrix::<f64, 1, 3>::new(0.0, 20.0, 20.5));
    /// assert_eq!(y[0], 2f64.ln());
    /// assert_eq!(y[1], 20.0 + (-20f64).exp().ln_1p()); // at the threshold, still the logarithm
    /// assert_eq!(y[2], 20.5); // above it, `x`
    /// ```
    Softplus {
        /// The sharpness; PyTorch's default is 1.
        beta = 1.0,
        /// Above `beta·x > threshold` the layer is the identity; PyTorch's default is 20.
        threshold = 20.0
    }
    [largest = num_traits::Bounded::max_value()],
    softplus_f32,
    softplus_f64,
    {
        let scaled = beta * x;
        // 1 where PyTorch returns `x`, else 0, exactly: a positive difference is at least the
        // smallest subnormal number, which two factors of the largest finite one take past 1.
        let linear = stop_gradient(clamp((scaled - threshold) * largest * largest, 0, 1));
        // `min` keeps the logarithm finite where it is not used (at x = ∞), and gives `scaled`
        // the tie, so the gradient at the threshold is the logarithm's, as PyTorch's.
        let logarithm = softplus(min(threshold, scaled)) / beta;
        hadamard(linear, x) + hadamard(1 - linear, logarithm)
    }
);

impl Softplus {
    /// `nn.Softplus(beta, threshold)`.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, Softplus};
    /// let sharp = Softplus::new(2.0, 20.0);
    /// let y = sharp.forward(&SMatrix::<f64, 1, 1>::new(1.0));
    /// assert!((y[0] - 2f64.exp().ln_1p() / 2.0).abs() < 1e-15);
    /// assert_eq!(Softplus::default(), Softplus::new(1.0, 20.0));
    /// ```
    pub fn new(beta: f64, threshold: f64) -> Self {
        Softplus { beta, threshold }
    }
}

activation!(
    /// `e^xᵢ / Σⱼ e^xⱼ` over each column, so over each sample's features: `nn.Softmax(dim=1)`
    /// on PyTorch's `(batch, features)`, or `dim=0` on a single sample. Each column is shifted
    /// by its largest element first, so nothing overflows.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, Softmax};
    /// // Two samples of three features, one per column.
    /// let x = SMatrix::<f64, 3, 2>::from_column_slice(&[1.0, 2.0, 3.0, 0.0, 0.0, 1000.0]);
    /// let p = Softmax.forward(&x);
    /// assert!((p.column(0).sum() - 1.0).abs() < 1e-15);
    /// assert!((p[(2, 0)] - 3f64.exp() / (1f64.exp() + 2f64.exp() + 3f64.exp())).abs() < 1e-15);
    /// assert_eq!(p[(2, 1)], 1.0);
    /// ```
    Softmax,
    softmax_f32,
    softmax_f64,
    { softmax_columns(x) }
);

activation!(
    /// `xᵢ − ln Σⱼ e^xⱼ` over each column, so over each sample's features:
    /// `nn.LogSoftmax(dim=1)` on PyTorch's `(batch, features)`. Computed from the column's
    /// shifted sum, so it stays finite where `ln(softmax(x))` would be −∞.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{LogSoftmax, Module};
    /// let x = SMatrix::<f64, 2, 1>::new(0.0, 1000.0);
    /// let y = LogSoftmax.forward(&x);
    /// assert_eq!(y[0], -1000.0);
    /// assert_eq!(y[1], 0.0);
    /// ```
    LogSoftmax,
    log_softmax_f32,
    log_softmax_f64,
    { log_softmax_columns(x) }
);
