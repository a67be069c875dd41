//! [`Conv2d`]: PyTorch's `nn.Conv2d` on a batch of images, one per column.
//!
//! Stable Rust cannot compute a size from const generics in a type (that is
//! `generic_const_exprs`), so a layer names every size its matrices have: the image it takes
//! and, worked out once by the [`conv2d!`](crate::conv2d) macro from numbers, `C_in·K·K` and
//! `C_out·H_out·W_out`. A const assertion checks them, and that the previous layer's output is
//! `C_in·H·W` rows, when the model is compiled, naming the layer.

use nalgebra::{SMatrix, SVector};

use super::{Init, Mode, Module};
use crate::heap::Heap;
use crate::params::{key, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// `nn.Conv2d(C_IN, C_OUT, K, stride=S, padding=P)` on `C_IN×H×W` images, one per column of
/// an `SMatrix<T, C_IN·H·W, B>` in PyTorch's `(C, H, W)` order; its output is
/// `C_OUT·H_out·W_out` rows in the same order, so `Flatten` is free. `CKK` is `C_IN·K·K`
/// and `OUT` is `C_OUT·H_out·W_out`: write the type with [`conv2d!`](crate::conv2d), which
/// computes them.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Conv2d, Init, Module};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// // 1×4×4 images, 2 output channels, a 3×3 kernel, padding 1: 2×4×4 = 32 outputs each.
/// type Layer = chainrule::conv2d![f32; 1 => 2, kernel 3, stride 1, padding 1, image 4 x 4];
/// let layer = Layer::init(&mut StdRng::seed_from_u64(0));
/// let y: SMatrix<f32, 32, 5> = layer.forward(&SMatrix::<f32, 16, 5>::zeros());
/// assert_eq!(y.column(0).rows(0, 16), SMatrix::<f32, 16, 1>::repeat(layer.bias[0]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<
    T: Real,
    const C_IN: usize,
    const C_OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const CKK: usize,
    const OUT: usize,
> {
    /// `C_OUT×(C_IN·K·K)`: row `o` is PyTorch's `weight[o]` (`[C_IN, K, K]`) flattened.
    pub weight: Heap<SMatrix<T, C_OUT, CKK>>,
    pub bias: SVector<T, C_OUT>,
}

/// The type of a [`Conv2d`] from its sizes, as numbers (or `const` items): PyTorch's
/// arguments and the image it takes. The sizes only rustc can multiply in a type are worked
/// out here.
///
/// ```
/// use chainrule::nn::Conv2d;
/// type Layer = chainrule::conv2d![f32; 8 => 16, kernel 3, stride 1, padding 1, image 4 x 4];
/// let _: Conv2d<f32, 8, 16, 3, 1, 1, 4, 4, 72, 256> = <Layer as chainrule::nn::Init>::zeros();
/// ```
#[macro_export]
macro_rules! conv2d {
    ($t:ty; $c_in:tt => $c_out:tt, kernel $k:tt, stride $s:tt, padding $p:tt, image $h:tt x $w:tt) => {
        $crate::nn::Conv2d<
            $t, { $c_in }, { $c_out }, { $k }, { $s }, { $p }, { $h }, { $w },
            { $c_in * $k * $k },
            { $c_out * (($h + 2 * $p - $k) / $s + 1) * (($w + 2 * $p - $k) / $s + 1) },
        >
    };
}

/// The weight as PyTorch names and shapes it, `[C_out, C_in, K, K]`; in the column-major order
/// of that shape, which is not the matrix's, so it is permuted into a buffer (only files and
/// initialisers visit by name).
fn fortran_index(o: usize, column: usize, (c_out, c_in, k): (usize, usize, usize)) -> usize {
    let (c, i, j) = (column / (k * k), column / k % k, column % k);
    o + c_out * (c + c_in * (i + k * j))
}

/// Where the weight matrix's `n`-th element (column-major) goes in the tensor's data.
fn tensor_index<const C_OUT: usize, const C_IN: usize, const K: usize>(n: usize) -> usize {
    fortran_index(n % C_OUT, n / C_OUT, (C_OUT, C_IN, K))
}

/// The weight matrix as the data of its `[C_out, C_in, K, K]` tensor.
fn weight_as_tensor<
    T: Real,
    const C_OUT: usize,
    const C_IN: usize,
    const K: usize,
    const CKK: usize,
>(
    weight: &SMatrix<T, C_OUT, CKK>,
) -> Vec<T> {
    let mut data = vec![T::ZERO; C_OUT * CKK];
    for (n, value) in weight.iter().enumerate() {
        data[tensor_index::<C_OUT, C_IN, K>(n)] = *value;
    }
    data
}

impl<
        T: Real,
        const C_IN: usize,
        const C_OUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const CKK: usize,
        const OUT: usize,
    > Parameters<T> for Conv2d<T, C_IN, C_OUT, K, S, P, H, W, CKK, OUT>
{
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
        let data = weight_as_tensor::<T, C_OUT, C_IN, K, CKK>(&self.weight);
        let shape = [C_OUT, C_IN, K, K];
        let tensor = TensorRef {
            shape: &shape,
            data: &data,
            integer: false,
        };
        f(&key(prefix, "weight"), tensor);
        self.bias.visit_named(&key(prefix, "bias"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        let mut data = weight_as_tensor::<T, C_OUT, C_IN, K, CKK>(&self.weight);
        let shape = [C_OUT, C_IN, K, K];
        let tensor = TensorMut {
            shape: &shape,
            data: &mut data,
            integer: false,
        };
        f(&key(prefix, "weight"), tensor);
        for (n, value) in self.weight.iter_mut().enumerate() {
            *value = data[tensor_index::<C_OUT, C_IN, K>(n)];
        }
        self.bias.visit_named_mut(&key(prefix, "bias"), f);
    }
}

impl<
        T: Real,
        const C_IN: usize,
        const C_OUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const CKK: usize,
        const OUT: usize,
    > Init for Conv2d<T, C_IN, C_OUT, K, S, P, H, W, CKK, OUT>
{
    /// PyTorch's default, `kaiming_uniform_(a=√5)`: weight and bias uniform in
    /// (−1/√(C_in·K·K), 1/√(C_in·K·K)), as `nn.Linear`'s with `C_in·K·K` inputs.
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        crate::init::linear_default(&mut layer.weight, &mut layer.bias, rng);
        layer
    }
    fn zeros() -> Self {
        Conv2d {
            weight: Heap::zeros(),
            bias: SVector::from_element(T::ZERO),
        }
    }
}

/// No modes: the same in training and evaluation.
impl<
        T: Real,
        const C_IN: usize,
        const C_OUT: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const H: usize,
        const W: usize,
        const CKK: usize,
        const OUT: usize,
    > Mode for Conv2d<T, C_IN, C_OUT, K, S, P, H, W, CKK, OUT>
{
}

/// The sizes a [`Conv2d`] names, checked when its `Module` impl is compiled for an input of
/// `R` rows: a mismatch is a compile error naming the layer.
#[inline(always)]
fn check_sizes<
    const C_IN: usize,
    const K: usize,
    const H: usize,
    const W: usize,
    const CKK: usize,
    const R: usize,
>() {
    const {
        assert!(
            R == C_IN * H * W,
            "Conv2d: its input does not have C_in·H·W rows; the previous layer's output does not fit"
        );
        assert!(
            CKK == C_IN * K * K,
            "Conv2d: CKK is not C_in·K·K; write the type with `conv2d!`"
        );
    }
}

macro_rules! conv2d_for {
    ($real:ident, $graphs:ident) => {
        /// Weights are read through references (`#[by_ref]`).
        mod $graphs {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn conv<const C: usize, const H: usize, const W: usize, const K: usize, const S: usize, const P: usize, const R: usize, const B: usize, const CO: usize, const CKK: usize, const OUT: usize>(
                    weight: SMatrix<$real, CO, CKK>,
                    bias: SVector<$real, CO>,
                    x: SMatrix<$real, R, B>,
                ) -> SMatrix<$real, OUT, B> {
                    conv2d(x, weight, bias, C, H, W, K, S, P, OUT)
                }
            }

            graph_macros::graph! {
                /// A first layer: no gradient for its input.
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn first_conv<const C: usize, const H: usize, const W: usize, const K: usize, const S: usize, const P: usize, const R: usize, const B: usize, const CO: usize, const CKK: usize, const OUT: usize>(
                    weight: SMatrix<$real, CO, CKK>,
                    bias: SVector<$real, CO>,
                    #[no_grad] x: SMatrix<$real, R, B>,
                ) -> SMatrix<$real, OUT, B> {
                    conv2d(x, weight, bias, C, H, W, K, S, P, OUT)
                }
            }
        }

        impl<
                const C_IN: usize,
                const C_OUT: usize,
                const K: usize,
                const S: usize,
                const P: usize,
                const H: usize,
                const W: usize,
                const CKK: usize,
                const OUT: usize,
                const R: usize,
                const B: usize,
            > Module<SMatrix<$real, R, B>> for Conv2d<$real, C_IN, C_OUT, K, S, P, H, W, CKK, OUT>
        {
            type Output = SMatrix<$real, OUT, B>;
            /// Nothing: the backward pass reads the input it is given again.
            type Tape = ();

            #[inline]
            fn forward(&self, x: &SMatrix<$real, R, B>) -> Self::Output {
                let mut y = bytemuck::Zeroable::zeroed();
                self.forward_with_tape_into(x, &mut y);
                y
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, R, B>) -> (Self::Output, Self::Tape) {
                (self.forward(x), ())
            }

            #[inline]
            fn backward(&self, x: &SMatrix<$real, R, B>, _: &(), d_output: &Self::Output) -> (SMatrix<$real, R, B>, Self) {
                let (mut grads, mut d_x) = (Conv2d::zeros(), bytemuck::Zeroable::zeroed());
                self.backward_into(x, &(), d_output, &mut grads, &mut d_x);
                (d_x, grads)
            }

            #[inline]
            fn backward_params(&self, x: &SMatrix<$real, R, B>, _: &(), d_output: &Self::Output) -> Self {
                let mut grads = Conv2d::zeros();
                self.backward_params_into(x, &(), d_output, &mut grads);
                grads
            }

            #[inline]
            fn forward_with_tape_into(&self, x: &SMatrix<$real, R, B>, out: &mut Self::Output) -> Self::Tape {
                check_sizes::<C_IN, K, H, W, CKK, R>();
                $graphs::conv::forward_into::<C_IN, H, W, K, S, P, R, B, C_OUT, CKK, OUT>(&self.weight, &self.bias, x, out);
            }

            #[inline]
            fn backward_into(
                &self,
                x: &SMatrix<$real, R, B>,
                _: &(),
                d_output: &Self::Output,
                grads: &mut Self,
                d_x: &mut SMatrix<$real, R, B>,
            ) {
                let grad = $graphs::conv::GradMut { weight: &mut grads.weight, bias: &mut grads.bias, x: d_x };
                $graphs::conv::backward_with_tape_into::<C_IN, H, W, K, S, P, R, B, C_OUT, CKK, OUT>(
                    &$graphs::conv::Tape {},
                    &self.weight,
                    &self.bias,
                    x,
                    d_output,
                    grad,
                );
            }

            #[inline]
            fn backward_params_into(&self, x: &SMatrix<$real, R, B>, _: &(), d_output: &Self::Output, grads: &mut Self) {
                let grad = $graphs::first_conv::GradMut { weight: &mut grads.weight, bias: &mut grads.bias };
                $graphs::first_conv::backward_with_tape_into::<C_IN, H, W, K, S, P, R, B, C_OUT, CKK, OUT>(
                    &$graphs::first_conv::Tape {},
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

conv2d_for!(f32, graphs_f32);
conv2d_for!(f64, graphs_f64);

/// `nn.Flatten()`: a batch of images is already one column per image in PyTorch's
/// `(C, H, W)` order, which is what `nn.Flatten` gives, so flattening is [`Identity`](super::Identity).
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Flatten, Module};
/// let x = SMatrix::<f32, 4, 2>::from_fn(|r, c| (r + 4 * c) as f32);
/// assert_eq!(Flatten::default().forward(&x), x);
/// ```
pub type Flatten = super::Identity;
