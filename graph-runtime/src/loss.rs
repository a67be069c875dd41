//! Losses: PyTorch's `nn.MSELoss`, `nn.CrossEntropyLoss` and `nn.BCEWithLogitsLoss`, each a
//! `graph!` in its numerically stable form, averaged over the batch as PyTorch's default
//! `reduction='mean'` does.

use nalgebra::SMatrix;

/// A loss of a prediction `P` against a target `Y`.
pub trait Loss<P, Y> {
    /// The scalar the loss is.
    type Value;

    /// The loss.
    fn loss(&self, prediction: &P, target: &Y) -> Self::Value;

    /// The loss and its gradient with respect to the prediction.
    fn loss_and_grad(&self, prediction: &P, target: &Y) -> (Self::Value, P);
}

/// The mean squared error over every element: `nn.MSELoss()`.
///
/// ```
/// use chainrule::loss::{Loss, Mse};
/// use chainrule::nalgebra::SMatrix;
/// let prediction = SMatrix::<f64, 1, 2>::new(1.0, 3.0);
/// let target = SMatrix::<f64, 1, 2>::new(0.0, 0.0);
/// let (loss, grad) = Mse.loss_and_grad(&prediction, &target);
/// assert_eq!(loss, 5.0); // (1 + 9) / 2
/// assert_eq!(grad, SMatrix::<f64, 1, 2>::new(1.0, 3.0)); // 2·(p − t)/2
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

/// The cross-entropy of logits against targets, per column (sample) then averaged over the
/// batch: `nn.CrossEntropyLoss()`. Logits are `K×B` (K classes, B samples). The target is
/// either a `K×B` matrix of probabilities (one-hot, or soft labels) or `[usize; B]`, the class
/// of each sample. Computed as `logsumexp − target·logits`, shifted by each column's largest
/// logit, so logits of ±1000 give finite losses and gradients.
///
/// ```
/// use chainrule::loss::{CrossEntropy, Loss};
/// use chainrule::nalgebra::SMatrix;
/// let logits = SMatrix::<f64, 3, 2>::from_column_slice(&[0.0, 0.0, 0.0, 1000.0, 0.0, 0.0]);
/// let loss = CrossEntropy.loss(&logits, &[2, 0]);
/// assert!((loss - 3f64.ln() / 2.0).abs() < 1e-12); // ln 3 for the first, 0 for the second
/// ```
///
/// # Panics
///
/// If a class index is not below `K`, naming it, as PyTorch raises an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrossEntropy;

/// Binary cross-entropy on logits, averaged over every element: `nn.BCEWithLogitsLoss()`.
/// Computed as `softplus(z) − t·z`, stable for any logit.
///
/// ```
/// use chainrule::loss::{BinaryCrossEntropy, Loss};
/// use chainrule::nalgebra::SMatrix;
/// let logits = SMatrix::<f32, 1, 2>::new(0.0, 0.0);
/// let targets = SMatrix::<f32, 1, 2>::new(1.0, 0.0);
/// let loss = BinaryCrossEntropy.loss(&logits, &targets);
/// assert!((loss - 2f32.ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

/// One-hot columns for class indices: column `b` has a 1 in row `classes[b]`.
///
/// ```
/// use chainrule::loss::one_hot;
/// let targets = one_hot::<f32, 3, 2>(&[2, 0]);
/// assert_eq!((targets[(2, 0)], targets[(0, 1)], targets.sum()), (1.0, 1.0, 2.0));
/// ```
///
/// # Panics
///
/// If an index is not below `K`.
pub fn one_hot<T: crate::Real, const K: usize, const B: usize>(
    classes: &[usize; B],
) -> SMatrix<T, K, B> {
    let mut targets = SMatrix::from_element(T::ZERO);
    for (sample, &class) in classes.iter().enumerate() {
        assert!(
            class < K,
            "class index {class} of sample {sample} is out of range for {K} classes"
        );
        targets[(class, sample)] = T::ONE;
    }
    targets
}

macro_rules! losses_for {
    ($real:ident, $graphs:ident) => {
        mod $graphs {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                pub fn mse<const R: usize, const C: usize>(
                    prediction: SMatrix<$real, R, C>,
                    #[no_grad] target: SMatrix<$real, R, C>,
                ) -> $real {
                    mse(prediction, target)
                }
            }

            graph_macros::graph! {
                #[chainrule(crate = crate)]
                pub fn cross_entropy<const K: usize, const B: usize>(
                    logits: SMatrix<$real, K, B>,
                    #[no_grad] target: SMatrix<$real, K, B>,
                ) -> $real {
                    batch_cross_entropy(logits, target)
                }
            }

            graph_macros::graph! {
                #[chainrule(crate = crate)]
                pub fn binary_cross_entropy<const R: usize, const C: usize>(
                    logits: SMatrix<$real, R, C>,
                    #[no_grad] target: SMatrix<$real, R, C>,
                ) -> $real {
                    binary_cross_entropy(logits, target)
                }
            }
        }

        losses_for!(@loss $real, Mse, $graphs::mse, prediction);
        losses_for!(@loss $real, CrossEntropy, $graphs::cross_entropy, logits);
        losses_for!(@loss $real, BinaryCrossEntropy, $graphs::binary_cross_entropy, logits);

        impl<const K: usize, const B: usize> Loss<SMatrix<$real, K, B>, [usize; B]> for CrossEntropy {
            type Value = $real;

            fn loss(&self, logits: &SMatrix<$real, K, B>, classes: &[usize; B]) -> $real {
                self.loss(logits, &one_hot::<$real, K, B>(classes))
            }

            fn loss_and_grad(
                &self,
                logits: &SMatrix<$real, K, B>,
                classes: &[usize; B],
            ) -> ($real, SMatrix<$real, K, B>) {
                self.loss_and_grad(logits, &one_hot::<$real, K, B>(classes))
            }
        }
    };
    (@loss $real:ident, $loss:ident, $graph:path, $field:ident) => {
        impl<const R: usize, const C: usize> Loss<SMatrix<$real, R, C>, SMatrix<$real, R, C>> for $loss {
            type Value = $real;

            #[inline]
            fn loss(&self, prediction: &SMatrix<$real, R, C>, target: &SMatrix<$real, R, C>) -> $real {
                use $graph as graph;
                graph::forward(*prediction, *target)
            }

            #[inline]
            fn loss_and_grad(
                &self,
                prediction: &SMatrix<$real, R, C>,
                target: &SMatrix<$real, R, C>,
            ) -> ($real, SMatrix<$real, R, C>) {
                use $graph as graph;
                let (value, grad) = graph::value_and_grad(*prediction, *target);
                (value, grad.$field)
            }
        }
    };
}

losses_for!(f32, graphs_f32);
losses_for!(f64, graphs_f64);
