//! [`Sequential`]: layers applied one after another, PyTorch's `nn.Sequential`.
//!
//! The layers are a tuple of one to twelve layers. Each takes the previous layer's output,
//! which the compiler checks: `Sequential<(Linear<f32, 2, 16>, Linear<f32, 8, 1>)>` has no
//! `forward`, as 16 outputs cannot feed 8 inputs.

use std::path::Path;

use super::{Init, Mode, Module};
use crate::params::{key, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// Layers applied in order, as `nn.Sequential`: `Sequential<(Linear<f32, 2, 16>, Tanh,
/// Linear<f32, 16, 1>)>` is PyTorch's `nn.Sequential(nn.Linear(2, 16), nn.Tanh(),
/// nn.Linear(16, 1))`, with the same parameter names (`0.weight`, `0.bias`, `2.weight`,
/// `2.bias`) in its files.
///
/// `forward` and `backward` allocate nothing: the tape of a batch lives on the stack.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Linear, Module, Sequential, Tanh};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// type Mlp = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;
/// let model = Mlp::init(&mut StdRng::seed_from_u64(0));
/// let y: SMatrix<f32, 1, 32> = model.forward(&SMatrix::<f32, 2, 32>::zeros());
/// // Every sample is the same input, so every prediction is the same.
/// assert!(y.iter().all(|value| *value == y[0]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sequential<L> {
    /// The layers, in order.
    pub layers: L,
}

impl<L> Sequential<L> {
    /// Chains these layers.
    pub fn new(layers: L) -> Self {
        Sequential { layers }
    }

    /// The forward pass, as [`Module::forward`]. (Also here, not only on the trait, so that
    /// layers whose sizes do not chain get an error saying so, rather than "no method".)
    #[inline]
    pub fn forward<X>(&self, x: &X) -> <Self as Module<X>>::Output
    where
        Self: Module<X>,
    {
        Module::forward(self, x)
    }
}

impl<L> Sequential<L>
where
    Self: Init,
{
    /// Every layer as PyTorch initialises it by default (for `Linear`, uniform in
    /// (−1/√in, 1/√in)), drawn from `rng` in layer order.
    pub fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        <Self as Init>::init(rng)
    }

    /// Every parameter zero.
    pub fn zeros() -> Self {
        <Self as Init>::zeros()
    }
}

impl<L> Sequential<L> {
    /// Saves the parameters as safetensors, under PyTorch's `state_dict` names, atomically
    /// (a crash mid-save leaves any previous file intact).
    ///
    /// ```
    /// use chainrule::nn::{Linear, Sequential, Tanh};
    /// use chainrule::rand::{rngs::StdRng, SeedableRng};
    ///
    /// type Mlp = Sequential<(Linear<f64, 2, 4>, Tanh, Linear<f64, 4, 1>)>;
    /// let model = Mlp::init(&mut StdRng::seed_from_u64(1));
    /// let path = std::env::temp_dir().join("chainrule-doc-sequential.safetensors");
    /// model.save_safetensors(&path)?;
    /// assert_eq!(Mlp::load_safetensors(&path)?, model);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save_safetensors<T: Real>(&self, path: impl AsRef<Path>) -> crate::Result<()>
    where
        Self: Parameters<T>,
    {
        crate::io::save_safetensors(self, path)
    }

    /// Loads a model saved by [`save_safetensors`](Sequential::save_safetensors) or by
    /// PyTorch (`safetensors.torch.save_file(model.state_dict(), path)`). Every tensor must be
    /// present with its shape and dtype; anything else is an error naming the tensor.
    pub fn load_safetensors<T: Real>(path: impl AsRef<Path>) -> crate::Result<Self>
    where
        Self: Parameters<T> + Init,
    {
        let mut model = <Self as Init>::zeros();
        crate::io::load_safetensors(&mut model, path)?;
        Ok(model)
    }
}

/// The impls for one tuple length. `first` is layer 0, with its input type, output type and
/// the name of its tape (and gradient); `rest` the others in order, with their index;
/// `reversed` their indices and names from the last down to 1, the backward pass's order.
macro_rules! sequential {
    (
        first ($A0:ident, $X0:ident, $Y0:ident, $t0:ident)
        rest [$(($A:ident, $i:tt, $X:ident, $Y:ident, $t:ident)),*]
        reversed [$(($r:tt, $g:ident)),*]
        output $Out:ident
    ) => {
        impl<$X0, $A0, $($X, $A,)* $Out> Module<$X0> for Sequential<($A0, $($A,)*)>
        where
            $A0: Module<$X0, Output = $Y0>,
            $($A: Module<$X, Output = $Y>,)*
        {
            type Output = $Out;
            type Tape = ($A0::Tape, $($A::Tape,)*);

            #[inline]
            fn forward(&self, x: &$X0) -> $Out {
                let x = self.layers.0.forward(x);
                $(let x = self.layers.$i.forward(&x);)*
                x
            }

            #[inline]
            fn forward_with_tape(&self, x: &$X0) -> ($Out, Self::Tape) {
                let (x, $t0) = self.layers.0.forward_with_tape(x);
                $(let (x, $t) = self.layers.$i.forward_with_tape(&x);)*
                (x, ($t0, $($t,)*))
            }

            #[inline]
            fn backward(&self, tape: &Self::Tape, d_output: &$Out) -> ($X0, Self) {
                let d = d_output;
                $(let (d, $g) = self.layers.$r.backward(&tape.$r, d); let d = &d;)*
                let (d, $t0) = self.layers.0.backward(&tape.0, d);
                (d, Sequential { layers: ($t0, $($t,)*) })
            }

            #[inline]
            fn backward_params(&self, tape: &Self::Tape, d_output: &$Out) -> Self {
                let d = d_output;
                $(let (d, $g) = self.layers.$r.backward(&tape.$r, d); let d = &d;)*
                let $t0 = self.layers.0.backward_params(&tape.0, d);
                Sequential { layers: ($t0, $($t,)*) }
            }
        }

        impl<$A0: Init, $($A: Init,)*> Init for Sequential<($A0, $($A,)*)> {
            fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
                Sequential { layers: ($A0::init(rng), $($A::init(rng),)*) }
            }
            fn zeros() -> Self {
                Sequential { layers: ($A0::zeros(), $($A::zeros(),)*) }
            }
        }

        /// The mode goes to every layer, as `nn.Sequential.train(mode)` sets it on its children.
        impl<$A0: Mode, $($A: Mode,)*> Mode for Sequential<($A0, $($A,)*)> {
            fn set_training(&mut self, training: bool) {
                self.layers.0.set_training(training);
                $(self.layers.$i.set_training(training);)*
            }
        }

        /// Layer `k`'s tensors are named `k.<name>`, as `nn.Sequential` names them.
        impl<T: Real, $A0: Parameters<T>, $($A: Parameters<T>,)*> Parameters<T>
            for Sequential<($A0, $($A,)*)>
        {
            fn visit(&self, f: &mut dyn FnMut(&[T])) {
                self.layers.0.visit(f);
                $(self.layers.$i.visit(f);)*
            }
            fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
                self.layers.0.visit_mut(f);
                $(self.layers.$i.visit_mut(f);)*
            }
            fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
                self.layers.0.zip_mut(&other.layers.0, f);
                $(self.layers.$i.zip_mut(&other.layers.$i, f);)*
            }
            fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
                self.layers.0.visit_named(&key(prefix, "0"), f);
                $(self.layers.$i.visit_named(&key(prefix, stringify!($i)), f);)*
            }
            fn visit_named_mut(
                &mut self,
                prefix: &str,
                f: &mut dyn FnMut(&str, TensorMut<'_, T>),
            ) {
                self.layers.0.visit_named_mut(&key(prefix, "0"), f);
                $(self.layers.$i.visit_named_mut(&key(prefix, stringify!($i)), f);)*
            }
        }
    };
}

sequential!(first (A0, X0, X1, t0) rest [] reversed [] output X1);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1)] reversed [(1, t1)] output X2);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2)] reversed [(2, t2), (1, t1)] output X3);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3)] reversed [(3, t3), (2, t2), (1, t1)] output X4);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4)] reversed [(4, t4), (3, t3), (2, t2), (1, t1)] output X5);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5)] reversed [(5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X6);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6)] reversed [(6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X7);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6), (A7, 7, X7, X8, t7)] reversed [(7, t7), (6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X8);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6), (A7, 7, X7, X8, t7), (A8, 8, X8, X9, t8)] reversed [(8, t8), (7, t7), (6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X9);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6), (A7, 7, X7, X8, t7), (A8, 8, X8, X9, t8), (A9, 9, X9, X10, t9)] reversed [(9, t9), (8, t8), (7, t7), (6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X10);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6), (A7, 7, X7, X8, t7), (A8, 8, X8, X9, t8), (A9, 9, X9, X10, t9), (A10, 10, X10, X11, t10)] reversed [(10, t10), (9, t9), (8, t8), (7, t7), (6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X11);
sequential!(first (A0, X0, X1, t0) rest [(A1, 1, X1, X2, t1), (A2, 2, X2, X3, t2), (A3, 3, X3, X4, t3), (A4, 4, X4, X5, t4), (A5, 5, X5, X6, t5), (A6, 6, X6, X7, t6), (A7, 7, X7, X8, t7), (A8, 8, X8, X9, t8), (A9, 9, X9, X10, t9), (A10, 10, X10, X11, t10), (A11, 11, X11, X12, t11)] reversed [(11, t11), (10, t10), (9, t9), (8, t8), (7, t7), (6, t6), (5, t5), (4, t4), (3, t3), (2, t2), (1, t1)] output X12);
