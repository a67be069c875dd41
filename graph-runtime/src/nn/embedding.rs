//! [`Embedding`]: PyTorch's `nn.Embedding`, a learnt vector for each index.
//!
//! **Its gradient.** The graph language has no indexing, so it cannot say "row `i` of the
//! weight". Looking up the indices `i₀…i_{B−1}` is the product `weightᵀ · one_hot`, where
//! column `b` of the `E×B` matrix `one_hot` is 1 in row `i_b`; the compiler differentiates
//! that product into `one_hot · d_outputᵀ`, the scatter-add of each output column's gradient
//! into its row. That costs `E·D·B` multiply-adds where a scatter-add costs `D·B`, and an
//! `E×B` one-hot matrix on the stack: fine for vocabularies of hundreds or a few thousand. The
//! forward pass is the lookup itself, which equals the product for finite weights.

use nalgebra::SMatrix;

use super::{Init, Mode, Module};
use crate::params::{key, visit_matrix, visit_matrix_mut, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// A vector of `D` features for each of `E` indices: `nn.Embedding(E, D)`. It maps a batch of
/// indices `[usize; B]` to the batch `SMatrix<T, D, B>` whose column `b` is row `indices[b]`
/// of `weight`.
///
/// `weight` is `E×D` (`[num_embeddings, embedding_dim]`), as PyTorch stores it, under the key
/// `weight`; [`Init::init`] draws it from N(0, 1), as PyTorch does. PyTorch's `padding_idx`,
/// `max_norm` and sparse gradients are not supported.
///
/// # Panics
///
/// `forward` panics on an index of `E` or more, naming it, where PyTorch raises an
/// `IndexError`; check indices from a file first with [`Embedding::check_indices`].
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Embedding, Init, Module};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let embedding = Embedding::<f32, 10, 3>::init(&mut StdRng::seed_from_u64(0));
/// let y: SMatrix<f32, 3, 2> = embedding.forward(&[7, 2]);
/// assert_eq!(y.column(0), embedding.weight.row(7).transpose());
/// assert_eq!(y.column(1), embedding.weight.row(2).transpose());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Embedding<T: Real, const E: usize, const D: usize> {
    /// Row `i` is index `i`'s vector: `[E, D]`.
    pub weight: SMatrix<T, E, D>,
}

/// `weight` (`[E, D]`), as `nn.Embedding` names it.
impl<T: Real, const E: usize, const D: usize> Parameters<T> for Embedding<T, E, D> {
    fn visit(&self, f: &mut dyn FnMut(&[T])) {
        self.weight.visit(f);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut [T])) {
        self.weight.visit_mut(f);
    }
    fn zip_mut(&mut self, other: &Self, f: &mut dyn FnMut(&mut [T], &[T])) {
        self.weight.zip_mut(&other.weight, f);
    }
    fn visit_named(&self, prefix: &str, f: &mut dyn FnMut(&str, TensorRef<'_, T>)) {
        visit_matrix(&self.weight, &key(prefix, "weight"), f);
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        visit_matrix_mut(&mut self.weight, &key(prefix, "weight"), f);
    }
}

impl<T: Real, const E: usize, const D: usize> Embedding<T, E, D> {
    /// A layer with this weight, row `i` being index `i`'s vector.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Embedding, Module};
    /// let embedding = Embedding::new(SMatrix::<f64, 3, 2>::from_row_slice(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
    /// assert_eq!(embedding.forward(&[2]), SMatrix::<f64, 2, 1>::new(4.0, 5.0));
    /// ```
    pub fn new(weight: SMatrix<T, E, D>) -> Self {
        Embedding { weight }
    }

    /// The first index of `E` or more, as an error message naming it and its position, so
    /// indices read from a file can be rejected before `forward`.
    ///
    /// ```
    /// use chainrule::nn::{Embedding, Init};
    /// let embedding = Embedding::<f64, 4, 2>::zeros();
    /// assert!(embedding.check_indices(&[0, 3]).is_ok());
    /// assert_eq!(
    ///     embedding.check_indices(&[1, 4]).unwrap_err(),
    ///     "index 4 at position 1 is out of range for an `Embedding` of 4 vectors"
    /// );
    /// ```
    pub fn check_indices(&self, indices: &[usize]) -> Result<(), String> {
        match indices.iter().position(|&index| index >= E) {
            Some(position) => Err(format!(
                "index {} at position {position} is out of range for an `Embedding` of {E} vectors",
                indices[position]
            )),
            None => Ok(()),
        }
    }

    /// Panics with [`check_indices`](Embedding::check_indices)'s message.
    fn assert_in_range(&self, indices: &[usize]) {
        if let Err(message) = self.check_indices(indices) {
            panic!("{message}");
        }
    }

    /// The `E×B` matrix whose column `b` is 1 in row `indices[b]`.
    fn one_hot<const B: usize>(&self, indices: &[usize; B]) -> SMatrix<T, E, B> {
        self.assert_in_range(indices);
        SMatrix::from_fn(|row, column| {
            if indices[column] == row {
                T::ONE
            } else {
                T::ZERO
            }
        })
    }
}

/// `init` is PyTorch's: every weight from N(0, 1).
impl<T: Real, const E: usize, const D: usize> Init for Embedding<T, E, D> {
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        let mut layer = Self::zeros();
        crate::init::normal(&mut layer.weight, 0.0, 1.0, rng);
        layer
    }
    fn zeros() -> Self {
        Embedding {
            weight: SMatrix::zeros(),
        }
    }
}

/// No modes: the same in training and evaluation.
impl<T: Real, const E: usize, const D: usize> Mode for Embedding<T, E, D> {}

macro_rules! embedding_for {
    ($real:ident, $graph:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                /// The lookup as a product with the one-hot matrix of the indices.
                #[chainrule(crate = crate)]
                #[by_ref]
                pub fn graph<const E: usize, const D: usize, const B: usize>(
                    weight: SMatrix<$real, E, D>,
                    #[no_grad] one_hot: SMatrix<$real, E, B>,
                ) -> SMatrix<$real, D, B> {
                    transpose(weight) * one_hot
                }
            }
        }

        impl<const E: usize, const D: usize, const B: usize> Module<[usize; B]>
            for Embedding<$real, E, D>
        {
            type Output = SMatrix<$real, D, B>;
            type Tape = ();

            #[inline]
            fn forward(&self, indices: &[usize; B]) -> Self::Output {
                self.assert_in_range(indices);
                SMatrix::from_fn(|feature, column| self.weight[(indices[column], feature)])
            }

            #[inline]
            fn forward_with_tape(&self, indices: &[usize; B]) -> (Self::Output, Self::Tape) {
                (self.forward(indices), ())
            }

            /// The indices have no gradient; they come back unchanged.
            #[inline]
            fn backward(
                &self,
                indices: &[usize; B],
                _: &(),
                d_output: &Self::Output,
            ) -> ([usize; B], Self) {
                let one_hot = self.one_hot(indices);
                let grad = $graph::graph::backward(&self.weight, &one_hot, d_output);
                (
                    *indices,
                    Embedding {
                        weight: grad.weight,
                    },
                )
            }
        }
    };
}

embedding_for!(f32, embedding_f32);
embedding_for!(f64, embedding_f64);
