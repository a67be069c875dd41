//! Layers: PyTorch's `torch.nn`, with every forward and backward pass written as a `graph!`.
//!
//! A layer maps a batch `SMatrix<T, I, B>` (one column per sample) to a batch
//! `SMatrix<T, O, B>`. [`Linear`] is `weight * x + bias`; [`Tanh`], [`ReLU`], [`Sigmoid`] and
//! [`Identity`] apply a function to every element; [`Sequential`] chains layers, as
//! `nn.Sequential` does, checking at compile time that their sizes chain. [`LayerNorm`]
//! normalises each sample, [`BatchNorm1d`] each feature over the batch and [`BatchNorm2d`] each
//! channel of a batch of images; [`Embedding`] maps indices `[usize; B]` to vectors.
//! [`Dropout`] and the batch norms behave differently in training and evaluation: [`Mode`]
//! gives every model `train()` and `eval()`.
//!
//! The lecture's training step, by hand:
//!
//! ```
//! use chainrule::loss::Mse;
//! use chainrule::nalgebra::SMatrix;
//! use chainrule::nn::{Linear, Module, Sequential, Tanh};
//! use chainrule::optim::{Optimizer, Sgd};
//! use chainrule::rand::{rngs::StdRng, SeedableRng};
//!
//! type Mlp = Sequential<(Linear<f64, 1, 8>, Tanh, Linear<f64, 8, 1>)>;
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut model = Mlp::init(&mut rng);
//! let x = SMatrix::<f64, 1, 4>::from_row_slice(&[-1.0, -0.5, 0.5, 1.0]);
//! let y = x.map(f64::sin);
//! let mut sgd = Sgd::new(0.1);
//! let (first, _) = model.loss_and_grad(&x, &y, Mse);
//! for _ in 0..200 {
//!     let (_, grads) = model.loss_and_grad(&x, &y, Mse); // forward, loss, backward
//!     sgd.step(&mut model, &grads);                       // update
//! }
//! let (last, _) = model.loss_and_grad(&x, &y, Mse);
//! assert!(last < first / 10.0);
//! ```
//!
//! # Your own layer
//!
//! A layer is a struct of parameters and a `graph!` for its computation: write the graph
//! with `#[tape]`, so its backward pass reuses the forward pass's values, and implement
//! [`Module`] by calling the generated functions; [`Parameters`](crate::Parameters) by
//! [`impl_parameters!`](crate::impl_parameters); [`Init`] for `init` and `zeros`; [`Mode`],
//! empty for a layer that is the same in training and evaluation.
//!
//! ```
//! use chainrule::nalgebra::SMatrix;
//! use chainrule::nn::{Init, Module};
//! use chainrule::{graph, impl_parameters};
//!
//! graph! {
//!     /// `gain · tanh(x)`, with one learnt gain.
//!     #[tape]
//!     fn gained_tanh<const N: usize, const B: usize>(
//!         gain: f64,
//!         x: SMatrix<f64, N, B>,
//!     ) -> SMatrix<f64, N, B> {
//!         gain * tanh(x)
//!     }
//! }
//!
//! struct GainedTanh {
//!     gain: f64,
//! }
//! impl_parameters!([] GainedTanh, f64, [gain]);
//!
//! impl Init for GainedTanh {
//!     fn init<R: chainrule::rand::Rng + ?Sized>(_: &mut R) -> Self {
//!         GainedTanh { gain: 1.0 }
//!     }
//!     fn zeros() -> Self {
//!         GainedTanh { gain: 0.0 }
//!     }
//! }
//!
//! impl<const N: usize, const B: usize> Module<SMatrix<f64, N, B>> for GainedTanh {
//!     type Output = SMatrix<f64, N, B>;
//!     type Tape = (SMatrix<f64, N, B>, gained_tanh::Tape<N, B>);
//!
//!     fn forward(&self, x: &SMatrix<f64, N, B>) -> Self::Output {
//!         gained_tanh::forward(self.gain, *x)
//!     }
//!     fn forward_with_tape(&self, x: &SMatrix<f64, N, B>) -> (Self::Output, Self::Tape) {
//!         let (output, tape) = gained_tanh::forward_with_tape(self.gain, *x);
//!         (output, (*x, tape))
//!     }
//!     fn backward(&self, (x, tape): &Self::Tape, d_output: &Self::Output) -> (SMatrix<f64, N, B>, Self) {
//!         let grad = gained_tanh::backward_with_tape(*tape, self.gain, *x, *d_output);
//!         (grad.x, GainedTanh { gain: grad.gain })
//!     }
//! }
//!
//! let layer = GainedTanh { gain: 2.0 };
//! let x = SMatrix::<f64, 1, 2>::new(0.0, 1.0);
//! assert_eq!(layer.forward(&x)[1], 2.0 * 1f64.tanh());
//! ```
pub mod activation;
pub mod batch_norm;
pub mod conv;
pub mod dropout;
pub mod embedding;
pub mod layer_norm;
pub mod linear;
mod mode;
pub mod pool;
pub(crate) mod samples;
pub mod sequential;

pub use activation::{
    Identity, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh, ELU, GELU,
};
pub use batch_norm::{BatchNorm1d, BatchNorm2d};
pub use conv::{Conv2d, Flatten};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use mode::Mode;
pub use pool::{AvgPool2d, MaxPool2d};
pub use sequential::Sequential;

use crate::heap::Recycled;
use crate::loss::Loss;

/// A layer (or a model) that maps a batch `X` to a batch of outputs, and back.
///
/// `Self` doubles as its own gradient: `backward` returns the gradient of every parameter as
/// a value of the layer's type, so an optimizer steps `(model, grads)` pairs of one type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take a `{X}` as its input",
    label = "the layers' sizes do not chain here",
    note = "each layer of a `Sequential` takes the previous layer's output: a `Linear<T, I, O>` takes an `SMatrix<T, I, B>` and gives an `SMatrix<T, O, B>`"
)]
pub trait Module<X> {
    /// The batch this layer produces.
    type Output;
    /// What the backward pass needs from the forward pass (for `Linear`, its input).
    type Tape;

    /// The forward pass.
    fn forward(&self, x: &X) -> Self::Output;

    /// The forward pass, also returning what [`backward`](Module::backward) needs.
    fn forward_with_tape(&self, x: &X) -> (Self::Output, Self::Tape);

    /// The backward pass: the gradient with respect to the input, `d_output · ∂output/∂x`,
    /// and with respect to every parameter, `d_output · ∂output/∂params`, as a value of the
    /// layer's own type.
    fn backward(&self, tape: &Self::Tape, d_output: &Self::Output) -> (X, Self)
    where
        Self: Sized;

    /// As [`backward`](Module::backward), for a first layer: the input's gradient is not
    /// needed, and a layer may skip computing it.
    fn backward_params(&self, tape: &Self::Tape, d_output: &Self::Output) -> Self
    where
        Self: Sized,
    {
        self.backward(tape, d_output).1
    }

    /// As [`forward_with_tape`](Module::forward_with_tape), writing the output into `out`
    /// (which a `Sequential` keeps on the heap) rather than returning it.
    fn forward_with_tape_into(&self, x: &X, out: &mut Self::Output) -> Self::Tape {
        let (output, tape) = self.forward_with_tape(x);
        *out = output;
        tape
    }

    /// As [`forward_with_tape_into`](Module::forward_with_tape_into), given the input in a box
    /// from `heap::Recycled`, as a `Sequential` passes each layer's output to the next: a
    /// layer whose tape is its input keeps the box instead of copying it.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Module, ReLU};
    /// use chainrule::runtime::heap::Recycled;
    ///
    /// let x = Recycled::new(SMatrix::<f32, 2, 1>::new(-1.0, 2.0));
    /// let address = &*x as *const SMatrix<f32, 2, 1>;
    /// let mut y = SMatrix::zeros();
    /// let tape = ReLU.forward_with_tape_into_owned(x, &mut y);
    /// assert_eq!(y, SMatrix::<f32, 2, 1>::new(0.0, 2.0));
    /// assert_eq!(&*tape as *const _, address); // the input's box, not a copy
    /// ```
    fn forward_with_tape_into_owned(&self, x: Recycled<X>, out: &mut Self::Output) -> Self::Tape
    where
        X: 'static,
    {
        self.forward_with_tape_into(&x, out)
    }

    /// As [`backward`](Module::backward), writing the parameters' gradient into `grads` and
    /// the input's into `d_x`, whose memory is reused: a model whose weights live on the heap
    /// allocates nothing here, where `backward` allocates a fresh gradient.
    fn backward_into(
        &self,
        tape: &Self::Tape,
        d_output: &Self::Output,
        grads: &mut Self,
        d_x: &mut X,
    ) where
        Self: Sized,
    {
        let (d, fresh) = self.backward(tape, d_output);
        *grads = fresh;
        *d_x = d;
    }

    /// As [`backward_params`](Module::backward_params), into `grads`.
    fn backward_params_into(&self, tape: &Self::Tape, d_output: &Self::Output, grads: &mut Self)
    where
        Self: Sized,
    {
        *grads = self.backward_params(tape, d_output);
    }

    /// As [`loss_and_grad`](Module::loss_and_grad), writing the gradient into `grads`: the
    /// training step's path, which reuses one gradient's memory from step to step.
    ///
    /// ```
    /// use chainrule::loss::Mse;
    /// use chainrule::nalgebra::{SMatrix, SVector};
    /// use chainrule::nn::{Init, Linear, Module};
    ///
    /// let layer = Linear::new(SMatrix::<f64, 1, 2>::new(1.0, 2.0), SVector::<f64, 1>::new(0.5));
    /// let (x, y) = (SMatrix::<f64, 2, 1>::new(1.0, 1.0), SMatrix::<f64, 1, 1>::new(3.0));
    /// let mut grads = Linear::zeros(); // once, before the first step
    /// let loss = layer.loss_and_grad_into(&x, &y, Mse, &mut grads);
    /// assert_eq!((loss, grads.bias[0]), (0.25, 1.0));
    /// ```
    fn loss_and_grad_into<Y, L>(&self, x: &X, y: &Y, loss: L, grads: &mut Self) -> L::Value
    where
        L: Loss<Self::Output, Y>,
        Self: Sized,
    {
        let (output, tape) = self.forward_with_tape(x);
        let (value, d_output) = loss.loss_and_grad(&output, y);
        self.backward_params_into(&tape, &d_output, grads);
        value
    }

    /// The loss of the prediction for `x` against `y`, and its gradient with respect to every
    /// parameter: forward, loss, backward.
    ///
    /// ```
    /// use chainrule::loss::Mse;
    /// use chainrule::nalgebra::{SMatrix, SVector};
    /// use chainrule::nn::{Linear, Module};
    ///
    /// let layer = Linear::new(SMatrix::<f64, 1, 2>::new(1.0, 2.0), SVector::<f64, 1>::new(0.5));
    /// let x = SMatrix::<f64, 2, 1>::new(1.0, 1.0);
    /// let y = SMatrix::<f64, 1, 1>::new(3.0);
    /// let (loss, grads) = layer.loss_and_grad(&x, &y, Mse);
    /// assert_eq!(loss, 0.25); // (3.5 - 3)²
    /// assert_eq!(grads.bias[0], 1.0); // 2 · (3.5 - 3)
    /// ```
    fn loss_and_grad<Y, L>(&self, x: &X, y: &Y, loss: L) -> (L::Value, Self)
    where
        L: Loss<Self::Output, Y>,
        Self: Sized,
    {
        let (output, tape) = self.forward_with_tape(x);
        let (value, d_output) = loss.loss_and_grad(&output, y);
        (value, self.backward_params(&tape, &d_output))
    }
}

/// How a layer is made: PyTorch's default initialisation, or all zeros (for gradients).
pub trait Init: Sized {
    /// The layer as PyTorch initialises it by default, drawn from `rng`.
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;

    /// Every parameter zero: an empty gradient to accumulate into.
    fn zeros() -> Self;
}

/// A boxed layer is the layer, kept on the heap: the same forward and backward pass, with its
/// gradient boxed too. `Trainer::new(Box::new(model), ..)` trains it.
///
/// ```
/// use chainrule::loss::Mse;
/// use chainrule::nalgebra::{SMatrix, SVector};
/// use chainrule::nn::{Linear, Module};
///
/// let layer = Linear::new(SMatrix::<f64, 1, 2>::new(1.0, 2.0), SVector::<f64, 1>::new(0.5));
/// let boxed = Box::new(layer.clone());
/// let (x, y) = (SMatrix::<f64, 2, 1>::new(1.0, 1.0), SMatrix::<f64, 1, 1>::new(3.0));
/// assert_eq!(Module::forward(&boxed, &x), layer.forward(&x));
/// let (loss, grads) = boxed.loss_and_grad(&x, &y, Mse);
/// assert_eq!((loss, *grads), layer.loss_and_grad(&x, &y, Mse));
/// ```
impl<X, M: Module<X>> Module<X> for Box<M> {
    type Output = M::Output;
    type Tape = M::Tape;

    fn forward(&self, x: &X) -> Self::Output {
        (**self).forward(x)
    }

    fn forward_with_tape(&self, x: &X) -> (Self::Output, Self::Tape) {
        (**self).forward_with_tape(x)
    }

    fn backward(&self, tape: &Self::Tape, d_output: &Self::Output) -> (X, Self) {
        let (d_x, grads) = (**self).backward(tape, d_output);
        (d_x, Box::new(grads))
    }

    fn backward_params(&self, tape: &Self::Tape, d_output: &Self::Output) -> Self {
        Box::new((**self).backward_params(tape, d_output))
    }

    fn forward_with_tape_into(&self, x: &X, out: &mut Self::Output) -> Self::Tape {
        (**self).forward_with_tape_into(x, out)
    }

    fn forward_with_tape_into_owned(&self, x: Recycled<X>, out: &mut Self::Output) -> Self::Tape
    where
        X: 'static,
    {
        (**self).forward_with_tape_into_owned(x, out)
    }

    fn backward_into(
        &self,
        tape: &Self::Tape,
        d_output: &Self::Output,
        grads: &mut Self,
        d_x: &mut X,
    ) {
        (**self).backward_into(tape, d_output, grads, d_x)
    }

    fn backward_params_into(&self, tape: &Self::Tape, d_output: &Self::Output, grads: &mut Self) {
        (**self).backward_params_into(tape, d_output, grads)
    }

    fn loss_and_grad_into<Y, L>(&self, x: &X, y: &Y, loss: L, grads: &mut Self) -> L::Value
    where
        L: Loss<Self::Output, Y>,
    {
        (**self).loss_and_grad_into(x, y, loss, grads)
    }

    fn loss_and_grad<Y, L>(&self, x: &X, y: &Y, loss: L) -> (L::Value, Self)
    where
        L: Loss<Self::Output, Y>,
    {
        let (value, grads) = (**self).loss_and_grad(x, y, loss);
        (value, Box::new(grads))
    }
}

/// A boxed layer is made as the layer is, then boxed.
///
/// ```
/// use chainrule::nn::{Init, Linear};
/// let boxed: Box<Linear<f32, 3, 2>> = Init::zeros();
/// assert_eq!(boxed.weight.sum(), 0.0);
/// ```
impl<M: Init> Init for Box<M> {
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Box::new(M::init(rng))
    }

    fn zeros() -> Self {
        Box::new(M::zeros())
    }
}
