//! [`Sequential`]: layers applied one after another, PyTorch's `nn.Sequential`.
//!
//! The layers are a tuple of one to twenty-four layers (nest `Sequential`s for more, under
//! the keys `0.0.weight`, …). Each takes the previous layer's output, which the compiler
//! checks: `forward` on `Sequential<(Linear<f32, 2, 16>, Linear<f32, 8, 1>)>` fails to
//! compile, saying that the `Linear<f32, 8, 1>` cannot take the 16 rows it is given.

use std::path::Path;

use super::{Init, Mode, Module};
use crate::heap::Recycled;
use crate::loss::Loss;
use crate::params::{key, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// Layers applied in order, as `nn.Sequential`: `Sequential<(Linear<f32, 2, 16>, Tanh,
/// Linear<f32, 16, 1>)>` is PyTorch's `nn.Sequential(nn.Linear(2, 16), nn.Tanh(),
/// nn.Linear(16, 1))`, with the same parameter names (`0.weight`, `0.bias`, `2.weight`,
/// `2.bias`) in its files.
///
/// After the first step, a step allocates nothing of chainrule's: the layers' tapes and the
/// values passed between them live in heap boxes reused from step to step (`heap::Recycled`).
/// Products above `kernels::GEMM_THRESHOLD` run on the `gemm` crate, which allocates its
/// packing buffers inside each call.
///
/// A `Sequential` takes 1 to 24 layers ([`Layers`]); past that, the error says to nest them.
/// A `Sequential` is a layer, so `Sequential`s nest, and their tensors are named as PyTorch
/// names `nn.Sequential`s nested in another: layer `k` of element `j` is `j.k.weight`. Like
/// Rust's tuples, it is `Debug` and `PartialEq` up to 12 layers only.
///
/// The compiler checks that the sizes chain where the model meets a batch: `forward`,
/// `forward_with_tape`, `backward`, `loss_and_grad` and `Trainer::fit` on layers that do not
/// chain fail to compile with an error naming the first layer that cannot take its input
/// (`init` and `zeros` know no batch, so they do not check).
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
///
/// Nested, under PyTorch's nested names:
///
/// ```
/// use chainrule::nn::{Linear, Sequential, Tanh};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
/// use chainrule::Parameters;
///
/// type Block = Sequential<(Linear<f32, 4, 4>, Tanh)>; // nn.Sequential(nn.Linear(4, 4), nn.Tanh())
/// type Deep = Sequential<(Block, Block, Linear<f32, 4, 1>)>;
/// let model = Deep::init(&mut StdRng::seed_from_u64(0));
/// let mut names = Vec::new();
/// model.visit_named("", &mut |name, _| names.push(name.to_string()));
/// assert_eq!(names, ["0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias", "2.weight", "2.bias"]);
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

    // The methods below are also on the traits. They are here too, with every bound on the
    // method, so that layers whose sizes do not chain, or too many layers, get an error saying
    // so (the bounds' `on_unimplemented` messages) rather than "no method" or "trait bounds
    // were not satisfied".

    /// Every layer as PyTorch initialises it by default (for `Linear`, uniform in
    /// (−1/√in, 1/√in)), drawn from `rng` in layer order: [`Init::init`].
    pub fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self
    where
        L: Layers,
        Self: Init,
    {
        <Self as Init>::init(rng)
    }

    /// Every parameter zero: [`Init::zeros`].
    pub fn zeros() -> Self
    where
        L: Layers,
        Self: Init,
    {
        <Self as Init>::zeros()
    }

    /// The forward pass: [`Module::forward`].
    #[inline]
    pub fn forward<X, Y>(&self, x: &X) -> Y
    where
        L: Layers,
        Self: Module<X, Output = Y>,
    {
        Module::forward(self, x)
    }

    /// The forward pass and its tape: [`Module::forward_with_tape`].
    #[inline]
    pub fn forward_with_tape<X, Y, Tape>(&self, x: &X) -> (Y, Tape)
    where
        L: Layers,
        Self: Module<X, Output = Y, Tape = Tape>,
    {
        Module::forward_with_tape(self, x)
    }

    /// The backward pass: [`Module::backward`].
    #[inline]
    pub fn backward<X, Y, Tape>(&self, tape: &Tape, d_output: &Y) -> (X, Self)
    where
        L: Layers,
        Self: Module<X, Output = Y, Tape = Tape>,
    {
        Module::backward(self, tape, d_output)
    }

    /// The loss and its gradient: [`Module::loss_and_grad`].
    #[inline]
    pub fn loss_and_grad<X, P, Y, F, V>(&self, x: &X, y: &Y, loss: F) -> (V, Self)
    where
        L: Layers,
        Self: Module<X, Output = P>,
        F: Loss<P, Y, Value = V>,
    {
        Module::loss_and_grad(self, x, y, loss)
    }
}

/// The tuples a [`Sequential`] takes: of 1 to 24 layers. (Nest `Sequential`s for more.)
///
/// ```
/// use chainrule::nn::{sequential::Layers, Linear, Tanh};
/// fn takes<L: Layers>() {}
/// takes::<(Linear<f32, 2, 4>, Tanh)>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of 1 to 24 layers, which a `Sequential` takes",
    label = "a `Sequential` takes 1 to 24 layers",
    note = "for more, nest them: `Sequential<(Sequential<(…)>, Sequential<(…)>)>` is a `Sequential` of two `Sequential`s, whose tensors are named as PyTorch names nested `nn.Sequential`s (`0.0.weight`, `1.0.weight`, …)"
)]
pub trait Layers {}

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

/// The impls for every tuple length, from one list of layers: each layer `k` as `(Ak, k, Xk,
/// Xk+1, tk)`, its type, its index, its input and output types, and the name of its tape (and
/// gradient). Each length's impls are made by `@impl`, which takes `first` (layer 0), `rest`
/// (the others in order), `reversed` (their indices and names from the last down to 1, the
/// backward pass's order) and the `output` type; the recursion adds one layer of `next` at a
/// time.
macro_rules! sequential {
    (($A0:ident, 0, $X0:ident, $Y0:ident, $t0:ident) $($next:tt)*) => {
        sequential!(@impl first ($A0, $X0, $Y0, $t0) rest [] reversed [] output $Y0);
        sequential!(@grow first ($A0, $X0, $Y0, $t0) rest [] reversed [] next [$($next)*]);
    };
    (@grow first $first:tt rest [$($rest:tt)*] reversed [$($reversed:tt)*] next []) => {};
    // The forward pass into `out`: layer `i0` writes into a new box, which the next layer
    // takes (keeping it as its tape if that is its input); the last layer writes into `out`.
    // The tapes, in order. The first layer's input is `(ref x)`, the others' `(owned y)`.
    (@call $layer:expr, (ref $x:expr), $out:expr) => {
        $layer.forward_with_tape_into($x, $out)
    };
    (@call $layer:expr, (owned $x:expr), $out:expr) => {
        $layer.forward_with_tape_into_owned($x, $out)
    };
    (@forward $self:ident, $x:tt, $out:ident, [$($done:ident)*] ($i0:tt, $t0:ident) []) => {{
        let $t0 = sequential!(@call $self.layers.$i0, $x, $out);
        ($($done,)* $t0,)
    }};
    (
        @forward $self:ident, $x:tt, $out:ident, [$($done:ident)*] ($i0:tt, $t0:ident)
        [($i1:tt, $t1:ident) $($rest:tt)*]
    ) => {{
        let mut y = Recycled::scratch();
        let $t0 = sequential!(@call $self.layers.$i0, $x, &mut *y);
        sequential!(@forward $self, (owned y), $out, [$($done)* $t0] ($i1, $t1) [$($rest)*])
    }};
    (
        @grow first $first:tt rest [$($rest:tt)*] reversed [$($reversed:tt)*]
        next [($A:ident, $i:tt, $X:ident, $Y:ident, $t:ident) $($next:tt)*]
    ) => {
        sequential!(
            @impl first $first rest [$($rest)* ($A, $i, $X, $Y, $t)]
            reversed [($i, $t) $($reversed)*] output $Y
        );
        sequential!(
            @grow first $first rest [$($rest)* ($A, $i, $X, $Y, $t)]
            reversed [($i, $t) $($reversed)*] next [$($next)*]
        );
    };
    (
        @impl first ($A0:ident, $X0:ident, $Y0:ident, $t0:ident)
        rest [$(($A:ident, $i:tt, $X:ident, $Y:ident, $t:ident))*]
        reversed [$(($r:tt, $g:ident))*]
        output $Out:ident
    ) => {
        impl<$X0, $A0, $($X, $A,)* $Out> Module<$X0> for Sequential<($A0, $($A,)*)>
        where
            $A0: Module<$X0, Output = $Y0>,
            $($A: Module<$X, Output = $Y>,)*
            // What passes between layers is kept in boxes from `heap::Recycled`.
            $($X: bytemuck::Zeroable + 'static,)*
            $Out: bytemuck::Zeroable + Clone + 'static,
        {
            type Output = $Out;
            type Tape = ($A0::Tape, $($A::Tape,)*);

            #[inline]
            fn forward(&self, x: &$X0) -> $Out {
                let x = self.layers.0.forward(x);
                $(let x = self.layers.$i.forward(&x);)*
                x
            }

            /// Through [`forward_with_tape_into`](Module::forward_with_tape_into): what passes
            /// between layers stays on the heap.
            #[inline]
            fn forward_with_tape(&self, x: &$X0) -> ($Out, Self::Tape) {
                let mut out = Recycled::<$Out>::scratch();
                let tape = self.forward_with_tape_into(x, &mut *out);
                ((*out).clone(), tape)
            }

            /// Each layer's output into a box reused from step to step (`heap::Recycled`), the
            /// last layer's into `out`.
            #[inline]
            fn forward_with_tape_into(&self, x: &$X0, out: &mut $Out) -> Self::Tape {
                sequential!(@forward self, (ref x), out, [] (0, $t0) [$(($i, $t))*])
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

            /// Each layer's gradient into its own in `grads`; the gradients between layers in
            /// boxes reused from step to step (`heap::Recycled`), off the stack.
            #[inline]
            fn backward_into(
                &self,
                tape: &Self::Tape,
                d_output: &$Out,
                grads: &mut Self,
                d_x: &mut $X0,
            ) {
                let d = d_output;
                $(
                    let mut $g = Recycled::scratch();
                    self.layers.$r.backward_into(&tape.$r, d, &mut grads.layers.$r, &mut *$g);
                    let d = &*$g;
                )*
                self.layers.0.backward_into(&tape.0, d, &mut grads.layers.0, d_x)
            }

            #[inline]
            fn backward_params_into(&self, tape: &Self::Tape, d_output: &$Out, grads: &mut Self) {
                let d = d_output;
                $(
                    let mut $g = Recycled::scratch();
                    self.layers.$r.backward_into(&tape.$r, d, &mut grads.layers.$r, &mut *$g);
                    let d = &*$g;
                )*
                self.layers.0.backward_params_into(&tape.0, d, &mut grads.layers.0)
            }
        }

        impl<$A0, $($A,)*> Layers for ($A0, $($A,)*) {}

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

sequential! {
    (A0, 0, X0, X1, t0)
    (A1, 1, X1, X2, t1)
    (A2, 2, X2, X3, t2)
    (A3, 3, X3, X4, t3)
    (A4, 4, X4, X5, t4)
    (A5, 5, X5, X6, t5)
    (A6, 6, X6, X7, t6)
    (A7, 7, X7, X8, t7)
    (A8, 8, X8, X9, t8)
    (A9, 9, X9, X10, t9)
    (A10, 10, X10, X11, t10)
    (A11, 11, X11, X12, t11)
    (A12, 12, X12, X13, t12)
    (A13, 13, X13, X14, t13)
    (A14, 14, X14, X15, t14)
    (A15, 15, X15, X16, t15)
    (A16, 16, X16, X17, t16)
    (A17, 17, X17, X18, t17)
    (A18, 18, X18, X19, t18)
    (A19, 19, X19, X20, t19)
    (A20, 20, X20, X21, t20)
    (A21, 21, X21, X22, t21)
    (A22, 22, X22, X23, t22)
    (A23, 23, X23, X24, t23)
}

#[cfg(test)]
mod tests {
    use nalgebra::{DMatrix, SMatrix};
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::check::check_gradient_within;
    use crate::nn::{Linear, Tanh};

    /// 24 layers, the most one `Sequential` takes: 12 `Linear`s, each followed by a `Tanh`.
    type Deepest = Sequential<(
        Linear<f64, 2, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 3>,
        Tanh,
        Linear<f64, 3, 1>,
        Tanh,
    )>;

    fn batch<const R: usize, const C: usize>(seed: f64) -> SMatrix<f64, R, C> {
        SMatrix::from_fn(|r, c| ((r * 7 + c * 3) as f64 * 0.37 + seed).sin())
    }

    #[test]
    fn twenty_four_layers_chain_under_pytorch_names_and_match_finite_differences() {
        let model = Deepest::init(&mut StdRng::seed_from_u64(5));
        let mut tensors = Vec::new();
        model.visit_named("", &mut |name, tensor| {
            tensors.push((
                name.to_string(),
                tensor.shape.to_vec(),
                tensor.data.to_vec(),
            ));
        });
        let names: Vec<&str> = tensors.iter().map(|(name, ..)| name.as_str()).collect();
        let expected: Vec<String> = (0..24)
            .step_by(2)
            .flat_map(|k| [format!("{k}.weight"), format!("{k}.bias")])
            .collect();
        assert_eq!(names, expected);

        // The forward pass, computed here from the tensors alone: tanh(W·x + b), layer by layer.
        let x = batch::<2, 4>(0.3);
        let mut reference = DMatrix::from_column_slice(2, 4, x.as_slice());
        for pair in tensors.chunks(2) {
            let [(_, weight_shape, weight), (_, _, bias)] = pair else {
                unreachable!("a weight and a bias per `Linear`")
            };
            let weight = DMatrix::from_column_slice(weight_shape[0], weight_shape[1], weight);
            let mut output = weight * reference;
            for mut column in output.column_iter_mut() {
                column
                    .iter_mut()
                    .zip(bias)
                    .for_each(|(y, b)| *y = (*y + b).tanh());
            }
            reference = output;
        }
        let output: SMatrix<f64, 1, 4> = model.forward(&x);
        for (value, expected) in output.iter().zip(reference.iter()) {
            assert!((value - expected).abs() < 1e-14, "{value} vs {expected}");
        }

        let d = batch::<1, 4>(0.7);
        let (_, tape) = model.forward_with_tape(&x);
        let (d_x, grads) = model.backward(&tape, &d);
        check_gradient_within(&model, &grads, |model| model.forward(&x).dot(&d), 1e-6)
            .unwrap_or_else(|mismatch| panic!("a parameter: {mismatch}"));
        check_gradient_within(&x, &d_x, |x| model.forward(x).dot(&d), 1e-6)
            .unwrap_or_else(|mismatch| panic!("the input: {mismatch}"));
        let mut first = Vec::new();
        model
            .backward_params(&tape, &d)
            .visit(&mut |tensor| first.extend_from_slice(tensor));
        let mut all = Vec::new();
        grads.visit(&mut |tensor| all.extend_from_slice(tensor));
        assert_eq!(first, all);
    }
}
