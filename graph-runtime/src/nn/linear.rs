//! [`Linear`]: `weight * x + bias`, PyTorch's `nn.Linear`.

use nalgebra::{SMatrix, SVector};

use super::{Init, Mode, Module};
use crate::heap::Heap;
use crate::params::{key, visit_matrix, visit_matrix_mut, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// `y = weight · x + bias` for a batch `x: SMatrix<T, I, B>` (one sample per column):
/// `nn.Linear(I, O)`, with PyTorch's parameter layout, `weight` being `O×I`.
///
/// ```
/// use chainrule::nalgebra::{SMatrix, SVector};
/// use chainrule::nn::{Linear, Module};
///
/// let layer = Linear::new(SMatrix::<f32, 2, 3>::from_row_slice(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]),
///                         SVector::<f32, 2>::new(0.5, -0.5));
/// let x = SMatrix::<f32, 3, 2>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let y: SMatrix<f32, 2, 2> = layer.forward(&x);
/// assert_eq!(y, SMatrix::<f32, 2, 2>::from_column_slice(&[1.5, 4.5, 4.5, 10.5]));
/// ```
///
/// The weight lives on the heap (a 784×1024 `f32` one is 3.2 MB, more than a spawned thread's
/// stack), allocated once by `init`, `zeros` or a load; `layer.weight` reads as the matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T: Real, const I: usize, const O: usize> {
    /// `O×I`, as PyTorch stores it: row `o` holds the weights into output `o`.
    pub weight: Heap<SMatrix<T, O, I>>,
    pub bias: SVector<T, O>,
}

/// `weight` (`[O, I]`, also when `I` is 1), then `bias` (`[O]`), as `nn.Linear` names them.
impl<T: Real, const I: usize, const O: usize> Parameters<T> for Linear<T, I, O> {
    fn visit(&self, f: &mut dyn FnMut(&[T])) {
        self.weight.visit(f);
        self.bias.visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
        self.weight.visit_mut(f);
        self.bias.visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
        self.weight.zip_mut(&other.weight, f);
        self.bias.zip_mut(&other.bias, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
        visit_matrix(&self.weight, &key(prefix, "weight"), f);
        self.bias.visit_named(&key(prefix, "bias"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        visit_matrix_mut(&mut self.weight, &key(prefix, "weight"), f);
        self.bias.visit_named_mut(&key(prefix, "bias"), f);
    }
}

impl<T: Real, const I: usize, const O: usize> Linear<T, I, O> {
    /// A layer with these parameters.
    pub fn new(weight: SMatrix<T, O, I>, bias: SVector<T, O>) -> Self {
        Linear {
            weight: Heap::new(weight),
            bias,
        }
    }

    /// PyTorch's default initialisation of `nn.Linear`: weight and bias uniform in
    /// (−1/√I, 1/√I).
    ///
    /// ```
    /// use chainrule::nn::Linear;
    /// use chainrule::rand::{rngs::StdRng, SeedableRng};
    /// let layer = Linear::<f64, 4, 3>::init(&mut StdRng::seed_from_u64(7));
    /// assert!(layer.weight.iter().chain(layer.bias.iter()).all(|w| w.abs() <= 0.5));
    /// ```
    pub fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        crate::init::linear_default(&mut layer.weight, &mut layer.bias, rng);
        layer
    }

    /// Every weight and bias zero.
    pub fn zeros() -> Self {
        Linear {
            weight: Heap::zeros(),
            bias: SVector::from_element(T::ZERO),
        }
    }
}

impl<T: Real, const I: usize, const O: usize> Init for Linear<T, I, O> {
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Linear::init(rng)
    }
    fn zeros() -> Self {
        Linear::zeros()
    }
}

/// No modes: the same in training and evaluation.
impl<T: Real, const I: usize, const O: usize> Mode for Linear<T, I, O> {}

macro_rules! linear_for {
    ($real:ident, $graphs:ident) => {
        /// Weights are read through references (`#[by_ref]`): a 784×128 layer's are 400 KB.
        mod $graphs {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn linear<const I: usize, const O: usize, const B: usize>(
                    weight: SMatrix<$real, O, I>,
                    bias: SVector<$real, O>,
                    x: SMatrix<$real, I, B>,
                ) -> SMatrix<$real, O, B> {
                    weight * x + bias
                }
            }

            graph_macros::graph! {
                /// A first layer: no gradient for its input.
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn first_linear<const I: usize, const O: usize, const B: usize>(
                    weight: SMatrix<$real, O, I>,
                    bias: SVector<$real, O>,
                    #[no_grad] x: SMatrix<$real, I, B>,
                ) -> SMatrix<$real, O, B> {
                    weight * x + bias
                }
            }
        }

        impl<const I: usize, const O: usize, const B: usize> Module<SMatrix<$real, I, B>>
            for Linear<$real, I, O>
        {
            type Output = SMatrix<$real, O, B>;
            /// Nothing: the backward pass reads the input it is given again.
            type Tape = ();

            #[inline]
            fn forward(&self, x: &SMatrix<$real, I, B>) -> Self::Output {
                $graphs::linear::forward(&self.weight, &self.bias, x)
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, I, B>) -> (Self::Output, Self::Tape) {
                (self.forward(x), ())
            }

            #[inline]
            fn backward(
                &self,
                x: &SMatrix<$real, I, B>,
                _: &(),
                d_output: &Self::Output,
            ) -> (SMatrix<$real, I, B>, Self) {
                let (mut grads, mut d_x) = (Linear::zeros(), bytemuck::Zeroable::zeroed());
                self.backward_into(x, &(), d_output, &mut grads, &mut d_x);
                (d_x, grads)
            }

            #[inline]
            fn backward_params(
                &self,
                x: &SMatrix<$real, I, B>,
                _: &(),
                d_output: &Self::Output,
            ) -> Self {
                let mut grads = Linear::zeros();
                self.backward_params_into(x, &(), d_output, &mut grads);
                grads
            }

            #[inline]
            fn forward_with_tape_into(
                &self,
                x: &SMatrix<$real, I, B>,
                out: &mut Self::Output,
            ) -> Self::Tape {
                $graphs::linear::forward_into(&self.weight, &self.bias, x, out);
            }

            /// The weight's gradient straight into `grads.weight`, on the heap.
            #[inline]
            fn backward_into(
                &self,
                x: &SMatrix<$real, I, B>,
                _: &(),
                d_output: &Self::Output,
                grads: &mut Self,
                d_x: &mut SMatrix<$real, I, B>,
            ) {
                let grad = $graphs::linear::GradMut {
                    weight: &mut grads.weight,
                    bias: &mut grads.bias,
                    x: d_x,
                };
                $graphs::linear::backward_with_tape_into(
                    &$graphs::linear::Tape {},
                    &self.weight,
                    &self.bias,
                    x,
                    d_output,
                    grad,
                );
            }

            #[inline]
            fn backward_params_into(
                &self,
                x: &SMatrix<$real, I, B>,
                _: &(),
                d_output: &Self::Output,
                grads: &mut Self,
            ) {
                let grad = $graphs::first_linear::GradMut {
                    weight: &mut grads.weight,
                    bias: &mut grads.bias,
                };
                $graphs::first_linear::backward_with_tape_into(
                    &$graphs::first_linear::Tape {},
                    &self.weight,
                    &self.bias,
                    x,
                    d_output,
                    grad,
                );
            }
        }
    };
}

linear_for!(f32, graphs_f32);
linear_for!(f64, graphs_f64);
