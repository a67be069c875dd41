//! The last, smaller batch of an epoch under `drop_last(false)`: the batch size is a type, so
//! it runs as a full batch whose extra samples are copies that weigh nothing. [`Padded`] is
//! the loss that gives them no weight; the model never knows.

use super::Columns;
use crate::data::Target;
use crate::loss::Loss;
use crate::Real;

/// A step's samples: `indices` into the training set, of which the first `real` are the
/// batch; the rest repeat the last of them and are padding.
pub(super) struct Batch<const B: usize> {
    pub(super) indices: [usize; B],
    pub(super) real: usize,
}

impl<const B: usize> Batch<B> {
    /// The batch of `order[start..]`'s first `B` samples, or all of them padded if fewer.
    pub(super) fn of(order: &[usize], start: usize) -> Self {
        let real = B.min(order.len() - start);
        Batch {
            indices: std::array::from_fn(|i| order[start + i.min(real - 1)]),
            real,
        }
    }
}

/// `loss` over a chunk of `C` samples whose first `real` count and the rest are padding: the
/// padding's gradient is zeroed and the real samples' scaled by `scale`, the loss likewise.
///
/// For a loss that is the mean of per-sample losses ℓ over the `C` columns, the value is
/// `scale/C · Σ_{j<real} ℓ_j`, and each real column's gradient is `scale/C · ∂ℓ_j`. With
/// `scale = B/R`, `R` the real samples of a batch of `B`, the sum over its chunks is the mean
/// over the `R` samples: the loss and gradient of a batch of `R`.
pub(super) struct Padded<'a, T, L, Y, const C: usize> {
    pub(super) loss: &'a L,
    /// The training set's targets, to give each real sample its own loss.
    pub(super) targets: &'a [Y],
    pub(super) indices: &'a [usize; C],
    pub(super) real: usize,
    pub(super) scale: T,
}

impl<T, L, Y, P, const C: usize> Loss<P, Y::Batch<C>> for Padded<'_, T, L, Y, C>
where
    T: Real,
    Y: Target<T>,
    P: Columns<T>,
    L: Loss<P, Y::Batch<C>, Value = T>,
{
    type Value = T;

    /// Each real sample's loss is the loss of a batch of copies of it.
    fn loss(&self, prediction: &P, target: &Y::Batch<C>) -> T {
        if self.real == C {
            return self.loss.loss(prediction, target) * self.scale;
        }
        let sum = self.indices[..self.real]
            .iter()
            .enumerate()
            .map(|(column, &index)| {
                let targets = Y::gather(self.targets, &[index; C]);
                self.loss.loss(&prediction.repeat_sample(column), &targets)
            })
            .fold(T::ZERO, |sum, loss| sum + loss);
        sum * self.scale / T::from_f64(C as f64)
    }

    fn loss_and_grad(&self, prediction: &P, target: &Y::Batch<C>) -> (T, P) {
        let (value, mut d_prediction) = self.loss.loss_and_grad(prediction, target);
        for column in 0..C {
            let weight = if column < self.real {
                self.scale
            } else {
                T::ZERO
            };
            d_prediction.scale_sample(column, weight);
        }
        let value = if self.real == C {
            value * self.scale
        } else {
            self.loss(prediction, target)
        };
        (value, d_prediction)
    }
}
