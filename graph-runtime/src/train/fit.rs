//! The ways to run a [`Trainer`]: [`fit`](Trainer::fit), [`fit_parallel`](Trainer::fit_parallel)
//! (which differ only in how a step's gradient is computed) and
//! [`evaluate`](Trainer::evaluate), with the metrics computation validation shares. The loop
//! itself is in `run`.

use nalgebra::SMatrix;

use super::padding::{Batch, Padded};
use super::trainer::Trainer;
use super::{Columns, DataParallel, Metrics, Stop};
use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::nn::{Init, Mode, Module};
use crate::optim::Optimizer;
use crate::{Parameters, Real, Result};

impl<T, M, O, L, const I: usize, Y> Trainer<T, M, O, L, I, Y>
where
    T: Real,
    M: Parameters<T> + Init,
    O: Optimizer<T>,
    Y: Target<T>,
{
    /// Trains on `train` in minibatches of `B` until the last epoch, an early stop or the
    /// callback's stop, continuing from where the trainer is (a fresh one starts at step 0;
    /// one that stopped, or loaded a checkpoint, goes on from there).
    ///
    /// Each step is `loss_and_grad_into` of one batch (into one gradient for the whole run),
    /// then [`Optimizer::step`]. Validation, when
    /// set, runs after every epoch in evaluation mode, in batches of `B` too, over every sample
    /// (the last batch padded, the padding not counted).
    ///
    /// # Errors
    ///
    /// - [`Error::Diverged`] if a step's loss or gradient is not finite, or its update made
    ///   a parameter not finite. The trainer keeps the parameters from before that step (the
    ///   last finite ones), its step count, epoch and history; when the update was at fault,
    ///   the optimizer has taken the step (its count and buffers include it). Lower the rate
    ///   with [`set_base_lr`](Trainer::set_base_lr) and call `fit` again to retry, or take the
    ///   model with [`into_model`](Trainer::into_model).
    /// - [`Error::TooFewSamples`] if `train` has fewer than `B` samples or the validation
    ///   set is empty.
    /// - [`Error::ResumeMismatch`] if the run stopped mid-epoch and `B` or the number of
    ///   samples changed since, so the rest of the epoch would be another shuffle's.
    /// - [`Error::Io`] if a [`checkpoint_every`](Trainer::checkpoint_every) save fails.
    ///
    /// [`Error::Diverged`]: crate::Error::Diverged
    /// [`Error::TooFewSamples`]: crate::Error::TooFewSamples
    /// [`Error::ResumeMismatch`]: crate::Error::ResumeMismatch
    /// [`Error::Io`]: crate::Error::Io
    ///
    /// ```
    /// use chainrule::loss::Mse;
    /// use chainrule::nn::{Linear, Sequential, Tanh};
    /// use chainrule::optim::Sgd;
    /// use chainrule::rand::{rngs::StdRng, SeedableRng};
    /// use chainrule::train::Trainer;
    /// use chainrule::{Error, Parameters};
    ///
    /// type Mlp = Sequential<(Linear<f64, 1, 16>, Tanh, Linear<f64, 16, 1>)>;
    /// let data = chainrule::data::sine::<f64>(64, 0.0, 0);
    /// let model = Mlp::init(&mut StdRng::seed_from_u64(0));
    /// let mut trainer = Trainer::new(model, Sgd::new(1e3), Mse).epochs(10);
    /// let error = trainer.fit::<16>(&data).unwrap_err();
    /// let Error::Diverged { step, lr, .. } = error else { panic!("{error}") };
    /// assert_eq!((step, lr), (trainer.step(), 1e3));
    /// assert!(trainer.model().all_finite());
    /// ```
    pub fn fit<const B: usize>(&mut self, train: &Dataset<T, I, Y>) -> Result<Stop>
    where
        M: Mode + Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, B>>>::Output, Y::Batch<B>, Value = T> + Clone,
    {
        self.run::<B>(
            train,
            |model, loss, data, batch: &Batch<B>, grads| {
                let (x, y) = data.batch(&batch.indices);
                if batch.real == B {
                    return model.loss_and_grad_into(&x, &y, loss.clone(), grads);
                }
                let padded = Padded {
                    loss,
                    targets: data.targets(),
                    indices: &batch.indices,
                    real: batch.real,
                    scale: T::from_f64(B as f64 / batch.real as f64),
                };
                model.loss_and_grad_into(&x, &y, padded, grads)
            },
            |model, loss, data| metrics::<B, T, M, L, I, Y>(model, loss, data),
        )
    }

    /// As [`fit`](Trainer::fit), with each step's gradient computed by
    /// [`DataParallel::<C>`](DataParallel) in chunks of `C` on rayon's current thread pool:
    /// the same result with any number of threads (and exactly `fit`'s when `C == B`).
    /// Validation runs in batches of `C`.
    ///
    /// # Errors
    ///
    /// As [`fit`](Trainer::fit).
    ///
    /// ```
    /// use chainrule::loss::CrossEntropy;
    /// use chainrule::nn::{Linear, Sequential, Tanh};
    /// use chainrule::optim::Adam;
    /// use chainrule::rand::{rngs::StdRng, SeedableRng};
    /// use chainrule::train::{rayon::ThreadPoolBuilder, Trainer};
    ///
    /// type Classifier = Sequential<(Linear<f32, 2, 8>, Tanh, Linear<f32, 8, 2>)>;
    /// let data = chainrule::data::moons::<f32>(128, 0.05, 1);
    /// let train_with = |threads| {
    ///     let model = Classifier::init(&mut StdRng::seed_from_u64(0));
    ///     let mut trainer = Trainer::new(model, Adam::new(0.01), CrossEntropy).epochs(3);
    ///     let pool = ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    ///     pool.install(|| trainer.fit_parallel::<32, 8>(&data)).unwrap();
    ///     trainer.into_model()
    /// };
    /// assert_eq!(train_with(1), train_with(2));
    /// ```
    pub fn fit_parallel<const B: usize, const C: usize>(
        &mut self,
        train: &Dataset<T, I, Y>,
    ) -> Result<Stop>
    where
        M: Mode + Module<SMatrix<T, I, C>> + Send + Sync,
        <M as Module<SMatrix<T, I, C>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, C>>>::Output, Y::Batch<C>, Value = T> + Clone + Sync,
        Y: Sync,
    {
        // One gradient per chunk, allocated at the first step and reused by every other.
        let mut chunk_grads = Vec::new();
        self.run::<B>(
            train,
            |model, loss, data, batch: &Batch<B>, grads| {
                if chunk_grads.is_empty() {
                    chunk_grads = DataParallel::<C>::buffers::<M, B>();
                }
                let value = DataParallel::<C>::padded_loss_and_grad_into(
                    model,
                    loss,
                    data,
                    batch,
                    &mut chunk_grads,
                );
                // A swap, not a copy: every buffer is overwritten at the next step.
                std::mem::swap(grads, &mut chunk_grads[0]);
                value
            },
            |model, loss, data| metrics::<C, T, M, L, I, Y>(model, loss, data),
        )
    }

    /// The model's [`Metrics`] on `data`, in batches of `B`, over every sample: the mean
    /// loss, and for class targets the accuracy. An empty `data` (or `B` of 0) has a NaN
    /// loss. In evaluation mode; the model is left in training mode.
    ///
    /// ```
    /// use chainrule::loss::Mse;
    /// use chainrule::nn::Linear;
    /// use chainrule::optim::Sgd;
    /// use chainrule::train::Trainer;
    ///
    /// let data = chainrule::data::sine::<f64>(5, 0.0, 0);
    /// let mut trainer = Trainer::new(Linear::<f64, 1, 1>::zeros(), Sgd::new(0.1), Mse);
    /// // The zero model predicts 0: its loss is the mean of sin².
    /// let expected = data.targets().iter().map(|y| y[0] * y[0]).sum::<f64>() / 5.0;
    /// let metrics = trainer.evaluate::<2>(&data); // batches of 2, 2 and 1
    /// assert!((metrics.loss - expected).abs() < 1e-15);
    /// assert_eq!(metrics.accuracy, None);
    /// ```
    pub fn evaluate<const B: usize>(&mut self, data: &Dataset<T, I, Y>) -> Metrics<T>
    where
        M: Mode + Module<SMatrix<T, I, B>>,
        <M as Module<SMatrix<T, I, B>>>::Output: Columns<T>,
        L: Loss<<M as Module<SMatrix<T, I, B>>>::Output, Y::Batch<B>, Value = T>,
    {
        self.model.eval();
        let metrics = metrics::<B, T, M, L, I, Y>(&self.model, &self.loss, data);
        self.model.train();
        metrics
    }
}

/// [`Trainer::evaluate`]'s computation: full batches' losses weigh `B` samples; in the last,
/// padded batch, each real sample's loss is the loss of a batch of copies of it.
fn metrics<const B: usize, T, M, L, const I: usize, Y>(
    model: &M,
    loss: &L,
    data: &Dataset<T, I, Y>,
) -> Metrics<T>
where
    T: Real,
    M: Module<SMatrix<T, I, B>>,
    M::Output: Columns<T>,
    L: Loss<M::Output, Y::Batch<B>, Value = T>,
    Y: Target<T>,
{
    let n = if B == 0 { 0 } else { data.len() };
    let mut total = 0.0_f64;
    let mut correct = 0_usize;
    let mut has_accuracy = true;
    for start in (0..n).step_by(B.max(1)) {
        let real = B.min(n - start);
        // Pad a short last batch with copies of its last sample.
        let indices: [usize; B] = std::array::from_fn(|i| start + i.min(real - 1));
        let (x, y) = data.batch(&indices);
        let output = model.forward(&x);
        if real == B {
            total += loss.loss(&output, &y).to_f64() * B as f64;
        } else {
            for sample in 0..real {
                let targets = Y::gather(data.targets(), &[start + sample; B]);
                total += loss.loss(&output.repeat_sample(sample), &targets).to_f64();
            }
        }
        for sample in 0..real {
            match Y::is_correct(output.sample(sample), &data.targets()[start + sample]) {
                Some(right) => correct += usize::from(right),
                None => has_accuracy = false,
            }
        }
    }
    let n = n as f64;
    Metrics {
        loss: T::from_f64(total / n),
        accuracy: (has_accuracy && n > 0.0).then(|| T::from_f64(correct as f64 / n)),
    }
}
