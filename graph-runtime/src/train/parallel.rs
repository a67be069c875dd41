//! Data parallelism on one machine: a minibatch's gradient computed over fixed-size chunks on
//! rayon's threads, reduced in chunk order, so the result does not depend on the number of
//! threads. Calls `Module::loss_and_grad_into` per chunk; never changes a model.

use nalgebra::SMatrix;

use super::padding::{Batch, Padded};
use super::Columns;
use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::nn::{Init, Module};
use crate::{Parameters, Real};

/// A minibatch's loss and gradient computed `C` samples at a time, in parallel.
///
/// The batch of `B` samples is cut into `B / C` chunks of exactly `C` consecutive samples
/// (`B` must be a multiple of `C`; anything else fails to compile). Each chunk's
/// `loss_and_grad` runs as one rayon task, in whatever thread pool is current
/// (`ThreadPool::install` picks one; otherwise rayon's global pool). The chunk results are
/// added pairwise in a binary tree whose shape depends only on `B / C` (chunks 0 and 1, 2
/// and 3, then those two sums, …), its additions also spread over the threads, and scaled by
/// `C / B`: for a loss that averages over its batch (every loss in [`loss`](crate::loss)
/// does), the mean of the chunk means is the mean over the batch.
///
/// **Determinism.** Chunking depends only on `B` and `C`, each chunk's arithmetic is that of
/// a sequential `loss_and_grad` of `C` samples, and the reduction order is fixed, so the
/// result is bit for bit the same with 1, 2 or 64 threads. It is not bit for bit the
/// whole-batch gradient (the sums are grouped differently) except when `C == B`, where it is
/// exactly `loss_and_grad` of the whole batch.
///
/// **Memory.** Each chunk writes its gradient into a buffer of its own, and the sums go into
/// the first buffer: [`loss_and_grad_into`](Self::loss_and_grad_into) takes the `B / C`
/// buffers from the caller, so a training loop (`Trainer::fit_parallel`) allocates them once
/// and its steps allocate nothing of chainrule's (`gemm` allocates inside each large
/// product). Parameters, gradients and tapes of a `Sequential` live on
/// the heap, so a chunk of a 784-1024-10 MLP runs on rayon's default 2 MiB worker stacks
/// (`tests/large.rs`).
///
/// **When it pays** (`BENCHMARKS.md`, "Data parallelism"): when a chunk is a lot of work
/// against rayon's cost of a task and the reduction's pass over the gradient: on the 2-core
/// machine of the measurements, an 85,000-parameter model at batches of 64 and 256 stepped
/// 1.45× and 1.5–1.7× faster on 2 threads than as one batch, while an 82-parameter model's
/// 15 µs step at a batch of 64 did not get faster. Chunks of a wide model should not be too
/// narrow: its products are then small and slow (128 columns beat 32 on one thread).
///
/// ```
/// use chainrule::data::Dataset;
/// use chainrule::loss::Mse;
/// use chainrule::nalgebra::SVector;
/// use chainrule::nn::{Linear, Module, Sequential, Tanh};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
/// use chainrule::train::DataParallel;
/// use chainrule::Parameters;
///
/// type Mlp = Sequential<(Linear<f64, 1, 8>, Tanh, Linear<f64, 8, 1>)>;
/// let model = Mlp::init(&mut StdRng::seed_from_u64(0));
/// let data = chainrule::data::sine::<f64>(64, 0.0, 1);
/// let batch: [usize; 16] = std::array::from_fn(|i| 4 * i);
///
/// let one_thread = chainrule::train::rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
/// let two_threads = chainrule::train::rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let (loss_1, grad_1) = one_thread.install(|| DataParallel::<4>::loss_and_grad(&model, &Mse, &data, &batch));
/// let (loss_2, grad_2) = two_threads.install(|| DataParallel::<4>::loss_and_grad(&model, &Mse, &data, &batch));
/// assert_eq!(loss_1.to_bits(), loss_2.to_bits());
/// assert_eq!(grad_1, grad_2);
///
/// // Up to rounding, the gradient of the whole batch.
/// let (x, y) = data.batch(&batch);
/// let (loss, grad) = model.loss_and_grad(&x, &y, Mse);
/// assert!((loss - loss_1).abs() < 1e-12);
/// let mut difference = grad.clone();
/// difference.add_scaled(-1.0, &grad_1);
/// let mut largest = 0.0_f64;
/// difference.visit(&mut |tensor| tensor.iter().for_each(|d| largest = largest.max(d.abs())));
/// assert!(largest < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DataParallel<const C: usize>;

impl<const C: usize> DataParallel<C> {
    /// The mean loss over the samples of `data` at `indices`, and its gradient with respect
    /// to every parameter of `model`, computed in chunks of `C` (see the type's docs).
    ///
    /// # Panics
    ///
    /// If an index is not below `data.len()`.
    pub fn loss_and_grad<T, M, L, Y, const I: usize, const B: usize>(
        model: &M,
        loss: &L,
        data: &Dataset<T, I, Y>,
        indices: &[usize; B],
    ) -> (T, M)
    where
        T: Real,
        M: Module<SMatrix<T, I, C>> + Parameters<T> + Init + Send + Sync,
        L: Loss<M::Output, Y::Batch<C>, Value = T> + Clone + Sync,
        Y: Target<T> + Sync,
    {
        let mut grads = Self::buffers::<M, B>();
        let value = Self::loss_and_grad_into(model, loss, data, indices, &mut grads);
        (value, grads.swap_remove(0))
    }

    /// As [`loss_and_grad`](Self::loss_and_grad), into `grads`, one buffer per chunk (the
    /// `B / C` of [`buffers`](Self::buffers), allocated once and reused): the gradient is
    /// left in `grads[0]`, and the others hold partial sums.
    ///
    /// # Panics
    ///
    /// If an index is not below `data.len()`, or `grads` does not hold `B / C` buffers.
    ///
    /// ```
    /// use chainrule::data::Dataset;
    /// use chainrule::loss::Mse;
    /// use chainrule::nalgebra::SVector;
    /// use chainrule::nn::{Linear, Module};
    /// use chainrule::train::DataParallel;
    ///
    /// let model = Linear::new([[2.0]].into(), [0.0].into());
    /// let data: Dataset<f64, 1, SVector<f64, 1>> = (0..8)
    ///     .map(|i| (SVector::<f64, 1>::new(i as f64), SVector::<f64, 1>::new(1.0)))
    ///     .collect();
    /// let mut grads = DataParallel::<2>::buffers::<Linear<f64, 1, 1>, 8>();
    /// let indices = [0, 1, 2, 3, 4, 5, 6, 7];
    /// let loss = DataParallel::<2>::loss_and_grad_into(&model, &Mse, &data, &indices, &mut grads);
    /// let (whole_loss, whole) = DataParallel::<8>::loss_and_grad(&model, &Mse, &data, &indices);
    /// assert!((loss - whole_loss).abs() < 1e-12);
    /// assert!((grads[0].weight[(0, 0)] - whole.weight[(0, 0)]).abs() < 1e-12);
    /// ```
    pub fn loss_and_grad_into<T, M, L, Y, const I: usize, const B: usize>(
        model: &M,
        loss: &L,
        data: &Dataset<T, I, Y>,
        indices: &[usize; B],
        grads: &mut [M],
    ) -> T
    where
        T: Real,
        M: Module<SMatrix<T, I, C>> + Parameters<T> + Init + Send + Sync,
        L: Loss<M::Output, Y::Batch<C>, Value = T> + Clone + Sync,
        Y: Target<T> + Sync,
    {
        mean_over_chunks::<T, M, C, B>(indices, B, grads, &|chunk, _, chunk_grads| {
            let (x, y) = data.batch(chunk);
            model.loss_and_grad_into(&x, &y, loss.clone(), chunk_grads)
        })
    }

    /// As [`loss_and_grad_into`](DataParallel::loss_and_grad_into), over the real samples of
    /// a batch that may be padded (see `train::padding`): each real sample weighs `1/R`, the
    /// padding nothing.
    pub(super) fn padded_loss_and_grad_into<T, M, L, Y, const I: usize, const B: usize>(
        model: &M,
        loss: &L,
        data: &Dataset<T, I, Y>,
        batch: &Batch<B>,
        grads: &mut [M],
    ) -> T
    where
        T: Real,
        M: Module<SMatrix<T, I, C>> + Parameters<T> + Init + Send + Sync,
        M::Output: Columns<T>,
        L: Loss<M::Output, Y::Batch<C>, Value = T> + Clone + Sync,
        Y: Target<T> + Sync,
    {
        if batch.real == B {
            return Self::loss_and_grad_into(model, loss, data, &batch.indices, grads);
        }
        // Each chunk's mean weighs `C/B` in the batch's; its real samples `1/R`.
        let scale = T::from_f64(B as f64 / batch.real as f64);
        mean_over_chunks::<T, M, C, B>(&batch.indices, batch.real, grads, &|chunk, real, g| {
            let (x, y) = data.batch(chunk);
            let padded = Padded {
                loss,
                targets: data.targets(),
                indices: chunk,
                real,
                scale,
            };
            model.loss_and_grad_into(&x, &y, padded, g)
        })
    }

    /// The `B / C` zero gradients that [`loss_and_grad_into`](Self::loss_and_grad_into)
    /// writes into.
    pub fn buffers<M: Init, const B: usize>() -> Vec<M> {
        (0..Self::chunks::<B>()).map(|_| M::zeros()).collect()
    }

    /// `B / C`, or a compile error if `B` is not a positive multiple of `C`.
    fn chunks<const B: usize>() -> usize {
        const {
            assert!(
                C > 0 && B > 0 && B.is_multiple_of(C),
                "`DataParallel::<C>` needs a batch of `B` samples that is a positive multiple \
                 of the chunk size `C`"
            )
        };
        B / C
    }
}

/// A chunk's loss, its gradient written into the buffer given, from its indices and its
/// number of real samples.
type ChunkLossAndGrad<'a, T, M, const C: usize> =
    dyn Fn(&[usize; C], usize, &mut M) -> T + Sync + 'a;

/// The mean of `chunk_loss_and_grad` over the `B / C` chunks of `indices`, of which the first
/// `real` samples are real, its gradient left in `grads[0]` (one buffer per chunk).
fn mean_over_chunks<T, M, const C: usize, const B: usize>(
    indices: &[usize; B],
    real: usize,
    grads: &mut [M],
    chunk_loss_and_grad: &ChunkLossAndGrad<'_, T, M, C>,
) -> T
where
    T: Real,
    M: Parameters<T> + Send,
{
    let chunks = DataParallel::<C>::chunks::<B>();
    assert_eq!(grads.len(), chunks, "one gradient buffer per chunk of `C`");
    let total = tree_sum(indices, real, grads, chunk_loss_and_grad);
    let weight = T::ONE / T::from_f64(chunks as f64);
    grads[0].scale_by(weight);
    total * weight
}

/// The sum of the chunks' losses over `indices` (a whole number of chunks, the first `real`
/// of them real samples), with the sum of their gradients left in `grads[0]`: chunk `k`
/// writes into `grads[k]`, and the sums are added in a binary tree that depends only on the
/// number of chunks: the first half's sum plus the second half's, each half computed by
/// `rayon::join` (in parallel if a thread is free) and split the same way, down to single
/// chunks.
fn tree_sum<T, M, const C: usize>(
    indices: &[usize],
    real: usize,
    grads: &mut [M],
    chunk_loss_and_grad: &ChunkLossAndGrad<'_, T, M, C>,
) -> T
where
    T: Real,
    M: Parameters<T> + Send,
{
    let chunks = indices.len() / C;
    if chunks <= 1 {
        let chunk: &[usize; C] = indices.try_into().expect("a whole number of chunks of `C`");
        return chunk_loss_and_grad(chunk, real.min(C), &mut grads[0]);
    }
    let (first, second) = indices.split_at(chunks / 2 * C);
    let second_real = real.saturating_sub(first.len());
    let (first_grads, second_grads) = grads.split_at_mut(chunks / 2);
    let (first_loss, second_loss) = rayon::join(
        || tree_sum(first, real, first_grads, chunk_loss_and_grad),
        || tree_sum(second, second_real, second_grads, chunk_loss_and_grad),
    );
    first_grads[0].add(&second_grads[0]);
    first_loss + second_loss
}
