//! [`LayerNorm`]: PyTorch's `nn.LayerNorm`, normalising each sample over its features.

use nalgebra::{SMatrix, SVector};

use super::{Init, Mode, Module};
use crate::Real;

/// Each sample (each column) normalised over its `N` features to mean 0 and variance 1, then
/// scaled and shifted per feature: `nn.LayerNorm(N)`,
/// `y = (x − E[x]) / √(Var[x] + eps) · weight + bias`, with the biased variance, as PyTorch.
///
/// `weight` starts at ones and `bias` at zeros (`elementwise_affine=True`, PyTorch's default);
/// their keys are `weight` and `bias`. `eps` is a plain field, outside the `state_dict`.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Init, LayerNorm, Module};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let norm = LayerNorm::<f64, 3>::init(&mut StdRng::seed_from_u64(0));
/// let x = SMatrix::<f64, 3, 2>::from_column_slice(&[1.0, 2.0, 3.0, 10.0, 10.0, 40.0]);
/// let y = norm.forward(&x);
/// // Each column now has mean 0 and variance 1 (up to eps).
/// assert!(y.column(0).sum().abs() < 1e-12 && y.column(1).sum().abs() < 1e-12);
/// assert!((y.column(0).norm_squared() / 3.0 - 1.0).abs() < 1e-4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNorm<T: Real, const N: usize> {
    /// The scale of each feature: `[N]`.
    pub weight: SVector<T, N>,
    /// The shift of each feature: `[N]`.
    pub bias: SVector<T, N>,
    /// Added to the variance, so a constant sample does not divide by 0; PyTorch's default is
    /// 1e-5.
    pub eps: f64,
}

crate::impl_parameters!([T: Real, const N: usize] LayerNorm<T, N>, T, [weight, bias]);

impl<T: Real, const N: usize> LayerNorm<T, N> {
    /// `nn.LayerNorm(N, eps)`, weight ones and bias zeros.
    ///
    /// ```
    /// use chainrule::nn::LayerNorm;
    /// let norm = LayerNorm::<f32, 4>::new(1e-6);
    /// assert_eq!((norm.weight[0], norm.bias[0], norm.eps), (1.0, 0.0, 1e-6));
    /// ```
    pub fn new(eps: f64) -> Self {
        LayerNorm {
            weight: SVector::repeat(T::ONE),
            bias: SVector::zeros(),
            eps,
        }
    }
}

/// `init` is PyTorch's: weight ones, bias zeros, eps 1e-5; it draws nothing.
impl<T: Real, const N: usize> Init for LayerNorm<T, N> {
    fn init<R: rand::Rng + ?Sized>(_: &mut R) -> Self {
        LayerNorm::new(1e-5)
    }
    fn zeros() -> Self {
        LayerNorm {
            weight: SVector::zeros(),
            bias: SVector::zeros(),
            eps: 1e-5,
        }
    }
}

/// No modes: the same in training and evaluation.
impl<T: Real, const N: usize> Mode for LayerNorm<T, N> {}

macro_rules! layer_norm_for {
    ($real:ident, $graph:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                /// `ones_n` and `ones_b` spread a per-sample row over the features and a
                /// per-feature column over the batch, as outer products.
                #[chainrule(crate = crate)]
                #[tape]
                pub fn graph<const N: usize, const B: usize>(
                    weight: SVector<$real, N>,
                    bias: SVector<$real, N>,
                    #[no_grad] eps: $real,
                    #[no_grad] ones_n: SVector<$real, N>,
                    #[no_grad] ones_b: SMatrix<$real, 1, B>,
                    x: SMatrix<$real, N, B>,
                ) -> SMatrix<$real, N, B> {
                    let centered = x - ones_n * column_means(x);
                    let variance = column_means(hadamard(centered, centered));
                    let normalized = hadamard(centered, ones_n * (1 / sqrt(variance + eps)));
                    hadamard(weight * ones_b, normalized) + bias
                }
            }
        }

        impl<const N: usize, const B: usize> Module<SMatrix<$real, N, B>> for LayerNorm<$real, N> {
            type Output = SMatrix<$real, N, B>;
            type Tape = $graph::graph::Tape<N, B>;

            #[inline]
            fn forward(&self, x: &SMatrix<$real, N, B>) -> Self::Output {
                let eps = <$real as Real>::from_f64(self.eps);
                $graph::graph::forward(
                    self.weight,
                    self.bias,
                    eps,
                    SVector::repeat(1.0),
                    SMatrix::repeat(1.0),
                    *x,
                )
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, N, B>) -> (Self::Output, Self::Tape) {
                let eps = <$real as Real>::from_f64(self.eps);
                $graph::graph::forward_with_tape(
                    self.weight,
                    self.bias,
                    eps,
                    SVector::repeat(1.0),
                    SMatrix::repeat(1.0),
                    *x,
                )
            }

            #[inline]
            fn backward(
                &self,
                x: &SMatrix<$real, N, B>,
                tape: &Self::Tape,
                d_output: &Self::Output,
            ) -> (SMatrix<$real, N, B>, Self) {
                let eps = <$real as Real>::from_f64(self.eps);
                let grad = $graph::graph::backward_with_tape(
                    *tape,
                    self.weight,
                    self.bias,
                    eps,
                    SVector::repeat(1.0),
                    SMatrix::repeat(1.0),
                    *x,
                    *d_output,
                );
                (
                    grad.x,
                    LayerNorm {
                        weight: grad.weight,
                        bias: grad.bias,
                        eps: self.eps,
                    },
                )
            }
        }
    };
}

layer_norm_for!(f32, layer_norm_f32);
layer_norm_for!(f64, layer_norm_f64);
