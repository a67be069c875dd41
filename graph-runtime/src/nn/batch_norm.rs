//! [`BatchNorm1d`] and [`BatchNorm2d`]: PyTorch's `nn.BatchNorm1d` and `nn.BatchNorm2d`,
//! normalising each feature, or each channel of a batch of images, over the batch. Both are
//! one type, [`BatchNorm`], whose [`Layout`] says how a column holds its channels: one row a
//! feature, or one plane of `H·W` rows a channel (PyTorch's `(C, H, W)` order, as the
//! convolutions lay images out). A feature is a channel of one position, so one `graph!`,
//! over per-channel sums, computes both.
//!
//! **Running statistics.** PyTorch updates `running_mean` and `running_var` inside
//! `forward` in training mode, and [`Module::forward`] takes `&self`; so the statistics sit
//! behind a `Mutex`, and every training-mode forward pass (with or without a tape) updates them
//! once, as PyTorch's does. A training loop needs no extra call, and the layer stays `Sync`.
//! Two consequences, both documented on [`BatchNorm`]: an optimizer does not see the
//! statistics (they are buffers, not parameters), and in `fit_parallel` each chunk is a batch
//! of its own, updating them in the order the threads finish.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nalgebra::{SMatrix, SVector};

use super::{Init, Mode, Module};
use crate::heap::Recycled;
use crate::params::{key, TensorMut, TensorRef};
use crate::{Parameters, Real};

/// PyTorch's buffers of `nn.BatchNorm1d` and `nn.BatchNorm2d`, as [`BatchNorm::running_stats`]
/// returns them.
///
/// ```
/// use chainrule::nn::{BatchNorm1d, Init};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
/// let stats = BatchNorm1d::<f32, 4>::init(&mut StdRng::seed_from_u64(0)).running_stats();
/// assert_eq!((stats.mean[0], stats.var[0], stats.num_batches_tracked), (0.0, 1.0, 0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunningStats<T: Real, const N: usize> {
    /// Each feature's (or channel's) mean over the batches seen, averaged with the momentum:
    /// `[N]`.
    pub mean: SVector<T, N>,
    /// Each feature's (or channel's) unbiased variance over the batches seen, averaged
    /// likewise: `[N]`.
    pub var: SVector<T, N>,
    /// The number of training-mode forward passes.
    pub num_batches_tracked: i64,
}

/// How a [`BatchNorm`] finds its `C` channels in a column of `R` rows: [`Features`] for
/// `BatchNorm1d`, [`Channels`] for `BatchNorm2d`.
///
/// ```
/// use chainrule::nn::batch_norm::{BatchNorm, Channels, Layout};
/// use chainrule::nn::BatchNorm2d;
/// fn layout<L: Layout>(_: &BatchNorm<f32, 4, L>) -> L {
///     L::default()
/// }
/// assert_eq!(layout(&BatchNorm2d::<f32, 4>::new(1e-5, Some(0.1))), Channels);
/// ```
pub trait Layout: Clone + Copy + Debug + Default + PartialEq + Send + Sync + 'static {
    /// Checks, when a layer's `Module` impl is compiled for columns of `R` rows, that they
    /// hold `C` channels: a mismatch is a compile error naming the layer.
    fn check_sizes<const C: usize, const R: usize>();
}

/// `nn.BatchNorm1d`'s layout: a column is `N` features, each its own channel.
///
/// ```
/// use chainrule::nn::batch_norm::{BatchNorm, Features};
/// let _: BatchNorm<f64, 3, Features> = chainrule::nn::BatchNorm1d::new(1e-5, Some(0.1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features;

/// `nn.BatchNorm2d`'s layout: a column is one `C×H×W` image in PyTorch's `(C, H, W)` order,
/// each channel a plane of `H·W` consecutive rows.
///
/// ```
/// use chainrule::nn::batch_norm::{BatchNorm, Channels};
/// let _: BatchNorm<f64, 3, Channels> = chainrule::nn::BatchNorm2d::new(1e-5, Some(0.1));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels;

impl Layout for Features {
    #[inline(always)]
    fn check_sizes<const C: usize, const R: usize>() {
        const {
            assert!(
                R == C,
                "BatchNorm1d: its input does not have N rows; the previous layer's output does not fit"
            )
        }
    }
}

impl Layout for Channels {
    #[inline(always)]
    fn check_sizes<const C: usize, const R: usize>() {
        const {
            assert!(
                C > 0 && R.is_multiple_of(C),
                "BatchNorm2d: its input's rows are not C·H·W; the previous layer's output does not fit"
            )
        }
    }
}

/// Each feature (each row) normalised over the batch (the columns), then scaled and shifted:
/// `nn.BatchNorm1d(N)`, `y = (x − mean) / √(var + eps) · weight + bias`.
///
/// In training mode (the default) `mean` and `var` are the batch's (the biased variance), and
/// the forward pass updates the running statistics with `momentum`:
/// `running = (1 − momentum) · running + momentum · batch`, with the batch's *unbiased*
/// variance, and counts the batch in `num_batches_tracked`. In evaluation mode
/// ([`Mode::eval`]) `mean` and `var` are the running statistics, and nothing is updated.
///
/// Keys: `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`, as PyTorch's
/// `state_dict`. Only `weight` and `bias` are parameters an optimizer steps (PyTorch's
/// `parameters()`); the running statistics are read and written by files only, with
/// `num_batches_tracked` as `I64`, as PyTorch writes it.
///
/// A batch of one sample has no unbiased variance: where PyTorch raises an error, the running
/// variance becomes NaN. In `fit_parallel`, every chunk updates the statistics as a batch of
/// its own, in the order the threads reach them, so they depend on the thread count
/// (the parameters do not); train with `fit` for reproducible statistics.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{BatchNorm1d, Init, Mode, Module};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let mut norm = BatchNorm1d::<f64, 2>::init(&mut StdRng::seed_from_u64(0));
/// // Two features, a batch of four samples.
/// let x = SMatrix::<f64, 2, 4>::from_row_slice(&[1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 30.0, 30.0]);
/// let y = norm.forward(&x);
/// assert!(y.row(0).sum().abs() < 1e-12); // each feature has mean 0 over the batch
/// let stats = norm.running_stats();
/// assert_eq!(stats.num_batches_tracked, 1);
/// assert!((stats.mean[1] - 0.1 * 20.0).abs() < 1e-12); // 0.9 · 0 + 0.1 · 20
/// norm.eval();
/// let y = norm.forward(&x); // with the running statistics now
/// assert_eq!(norm.running_stats().num_batches_tracked, 1);
/// ```
///
/// [`BatchNorm2d`] is the same layer over images: read "channel" for "feature", each over the
/// batch and the image's positions.
#[derive(Debug)]
pub struct BatchNorm<T: Real, const N: usize, L: Layout> {
    /// The scale of each feature: `[N]`, ones at first.
    pub weight: SVector<T, N>,
    /// The shift of each feature: `[N]`, zeros at first.
    pub bias: SVector<T, N>,
    /// Added to the variance; PyTorch's default is 1e-5.
    pub eps: f64,
    /// The weight of the newest batch in the running statistics; PyTorch's default is 0.1.
    /// `None` averages all batches equally (PyTorch's `momentum=None`).
    pub momentum: Option<f64>,
    /// Training mode (the default) or evaluation mode.
    pub training: bool,
    running: Mutex<RunningStats<T, N>>,
    layout: PhantomData<L>,
}

/// Each feature (each row) normalised over the batch (the columns): `nn.BatchNorm1d(N)`.
/// See [`BatchNorm`].
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{BatchNorm1d, Module};
/// let norm = BatchNorm1d::<f64, 1>::new(1e-5, Some(0.1));
/// let y = norm.forward(&SMatrix::<f64, 1, 2>::new(-1.0, 1.0));
/// assert!((y[1] - 1.0 / (1.0f64 + 1e-5).sqrt()).abs() < 1e-12);
/// ```
pub type BatchNorm1d<T, const N: usize> = BatchNorm<T, N, Features>;

/// Each channel of a batch of `C×H×W` images (one per column, PyTorch's `(C, H, W)` order, as
/// [`Conv2d`](super::Conv2d) lays them out) normalised over the batch and the image's `H·W`
/// positions: `nn.BatchNorm2d(C)`, as [`BatchNorm1d`] is over features (see [`BatchNorm`]).
/// Its statistics are over `B·H·W` values a channel, the running variance unbiased by
/// `B·H·W − 1`. Like PyTorch's, it takes images of any size: `H·W` is the input's rows over
/// `C`, so the type names only the channels, and an input whose rows are not a multiple of
/// `C` does not compile. Keys and shapes are `BatchNorm1d`'s with `[C]`.
///
/// Its output and tape are written in place on the heap (`forward_with_tape_into`, which a
/// `Sequential` and the `Trainer` use), so a batch of 64 KiB (8 channels of 8×8 at batch 32)
/// trains on a spawned thread's default 2 MiB stack, in a debug build too.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{BatchNorm2d, Init, Module};
/// use chainrule::rand::{rngs::StdRng, SeedableRng};
///
/// let norm = BatchNorm2d::<f64, 2>::init(&mut StdRng::seed_from_u64(0));
/// // Two channels of 2×2 images: rows 0..4 are channel 0, rows 4..8 channel 1; a batch of 3.
/// let x = SMatrix::<f64, 8, 3>::from_fn(|r, c| (r * 3 + c) as f64 + if r < 4 { 0.0 } else { 100.0 });
/// let y = norm.forward(&x);
/// assert!(y.rows(0, 4).sum().abs() < 1e-9); // each channel has mean 0 over batch and positions
/// // The running mean moved a tenth of the way to channel 1's mean, 100 + 3·5.5 + 1.
/// assert!((norm.running_stats().mean[1] - 0.1 * 117.5).abs() < 1e-9);
/// ```
pub type BatchNorm2d<T, const C: usize> = BatchNorm<T, C, Channels>;

impl<T: Real, const N: usize, L: Layout> BatchNorm<T, N, L> {
    /// `nn.BatchNorm1d(N, eps, momentum)` (or `nn.BatchNorm2d`): weight ones, bias zeros, running mean zeros, running
    /// variance ones, in training mode.
    ///
    /// ```
    /// use chainrule::nn::BatchNorm1d;
    /// let norm = BatchNorm1d::<f32, 3>::new(1e-5, Some(0.1));
    /// assert_eq!(norm.running_stats().var[0], 1.0);
    /// ```
    pub fn new(eps: f64, momentum: Option<f64>) -> Self {
        let stats = RunningStats {
            mean: SVector::zeros(),
            var: SVector::repeat(T::ONE),
            num_batches_tracked: 0,
        };
        BatchNorm {
            weight: SVector::repeat(T::ONE),
            bias: SVector::zeros(),
            eps,
            momentum,
            training: true,
            running: Mutex::new(stats),
            layout: PhantomData,
        }
    }

    /// A copy of the running statistics.
    ///
    /// ```
    /// use chainrule::nn::BatchNorm1d;
    /// assert_eq!(BatchNorm1d::<f64, 2>::new(1e-5, Some(0.1)).running_stats().num_batches_tracked, 0);
    /// ```
    pub fn running_stats(&self) -> RunningStats<T, N> {
        *self.lock()
    }

    /// Replaces the running statistics.
    ///
    /// ```
    /// use chainrule::nn::BatchNorm1d;
    /// let mut norm = BatchNorm1d::<f64, 2>::new(1e-5, Some(0.1));
    /// let mut stats = norm.running_stats();
    /// stats.mean[0] = 3.0;
    /// norm.set_running_stats(stats);
    /// assert_eq!(norm.running_stats().mean[0], 3.0);
    /// ```
    pub fn set_running_stats(&mut self, stats: RunningStats<T, N>) {
        *self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = stats;
    }

    /// The statistics; a panic elsewhere while they were locked left them whole (they are
    /// written in one assignment), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, RunningStats<T, N>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A layer with these parameters and this layer's settings and statistics.
    fn with_parameters(&self, weight: SVector<T, N>, bias: SVector<T, N>) -> Self {
        BatchNorm {
            weight,
            bias,
            ..self.clone()
        }
    }

    /// Folds a training batch into the running statistics, as PyTorch's `forward` does: each
    /// channel's mean and unbiased variance over its `R/N` rows of every column.
    fn track<const R: usize, const B: usize>(&self, x: &SMatrix<T, R, B>) {
        let plane = R / N;
        let count = (B * plane) as f64;
        let planes = || x.as_slice().chunks_exact(plane).enumerate();
        let mut mean = SVector::<T, N>::zeros();
        for (index, values) in planes() {
            mean[index % N] += values.iter().fold(T::ZERO, |sum, v| sum + *v);
        }
        mean *= T::ONE / T::from_f64(count);
        let mut squares = SVector::<T, N>::zeros();
        for (index, values) in planes() {
            let center = mean[index % N];
            squares[index % N] += values
                .iter()
                .fold(T::ZERO, |sum, v| sum + (*v - center) * (*v - center));
        }
        let unbiased = squares * (T::ONE / T::from_f64(count - 1.0));
        let mut stats = self.lock();
        let tracked = stats.num_batches_tracked + 1;
        let momentum = T::from_f64(self.momentum.unwrap_or(1.0 / tracked as f64));
        *stats = RunningStats {
            mean: stats.mean * (T::ONE - momentum) + mean * momentum,
            var: stats.var * (T::ONE - momentum) + unbiased * momentum,
            num_batches_tracked: tracked,
        };
    }
}

impl<T: Real, const N: usize, L: Layout> Clone for BatchNorm<T, N, L> {
    fn clone(&self) -> Self {
        BatchNorm {
            weight: self.weight,
            bias: self.bias,
            eps: self.eps,
            momentum: self.momentum,
            training: self.training,
            running: Mutex::new(self.running_stats()),
            layout: PhantomData,
        }
    }
}

/// Equal parameters, settings and running statistics.
impl<T: Real, const N: usize, L: Layout> PartialEq for BatchNorm<T, N, L> {
    fn eq(&self, other: &Self) -> bool {
        (
            self.weight,
            self.bias,
            self.eps,
            self.momentum,
            self.training,
        ) == (
            other.weight,
            other.bias,
            other.eps,
            other.momentum,
            other.training,
        ) && self.running_stats() == other.running_stats()
    }
}

/// `init` is PyTorch's (`eps` 1e-5, `momentum` 0.1); it draws nothing. `zeros` has zero
/// weight and bias, for a gradient.
impl<T: Real, const N: usize, L: Layout> Init for BatchNorm<T, N, L> {
    fn init<R: rand::Rng + ?Sized>(_: &mut R) -> Self {
        BatchNorm::new(1e-5, Some(0.1))
    }
    fn zeros() -> Self {
        let norm = BatchNorm::new(1e-5, Some(0.1));
        norm.with_parameters(SVector::zeros(), SVector::zeros())
    }
}

/// Batch statistics in training mode, running ones in evaluation mode.
impl<T: Real, const N: usize, L: Layout> Mode for BatchNorm<T, N, L> {
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// An optimizer steps `weight` and `bias`; files also hold the running statistics.
impl<T: Real, const N: usize, L: Layout> Parameters<T> for BatchNorm<T, N, L> {
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
        self.weight.visit_named(&key(prefix, "weight"), f);
        self.bias.visit_named(&key(prefix, "bias"), f);
        let stats = self.running_stats();
        stats.mean.visit_named(&key(prefix, "running_mean"), f);
        stats.var.visit_named(&key(prefix, "running_var"), f);
        let count = [T::from_f64(stats.num_batches_tracked as f64)];
        let name = key(prefix, "num_batches_tracked");
        f(
            &name,
            TensorRef {
                shape: &[],
                data: &count,
                integer: true,
            },
        );
    }
    fn visit_named_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, TensorMut<'_, T>)) {
        self.weight.visit_named_mut(&key(prefix, "weight"), f);
        self.bias.visit_named_mut(&key(prefix, "bias"), f);
        let stats = self
            .running
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        stats.mean.visit_named_mut(&key(prefix, "running_mean"), f);
        stats.var.visit_named_mut(&key(prefix, "running_var"), f);
        let mut count = [T::from_f64(stats.num_batches_tracked as f64)];
        let name = key(prefix, "num_batches_tracked");
        f(
            &name,
            TensorMut {
                shape: &[],
                data: &mut count,
                integer: true,
            },
        );
        stats.num_batches_tracked = count[0].to_f64() as i64;
    }
}

/// What [`BatchNorm`]'s backward pass needs: the tape of the graph the forward pass ran (on
/// the heap, see `heap::Recycled`), with the batch's statistics or the running ones.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::batch_norm::BatchNormTape;
/// use chainrule::nn::{BatchNorm1d, Mode, Module};
/// let mut norm = BatchNorm1d::<f64, 2>::new(1e-5, Some(0.1));
/// let x = SMatrix::<f64, 2, 3>::zeros();
/// assert!(matches!(norm.forward_with_tape(&x).1, BatchNormTape::Batch(..)));
/// norm.eval();
/// assert!(matches!(norm.forward_with_tape(&x).1, BatchNormTape::Running(..)));
/// ```
#[derive(Clone, Debug)]
pub enum BatchNormTape<Stats, Batch, Running> {
    /// Training mode: normalised by the batch's own statistics, which depend on `x`.
    Batch(Batch),
    /// Evaluation mode: normalised by these running statistics, constants for the gradient.
    Running(Stats, Running),
}

/// One over the number of values a channel's batch statistics average: `B·R/C`.
fn inv_count<const C: usize, const R: usize, const B: usize>() -> f64 {
    1.0 / (B * (R / C)) as f64
}

macro_rules! batch_norm_for {
    ($real:ident, $graph:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                /// Training mode: each of the `C` channels of a column of `R` rows by its own
                /// mean and biased variance over its `R/C` rows of every column, whose count
                /// `inv_count` inverts. `ones_b` spreads a column over the batch, as an outer
                /// product.
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn batch<const C: usize, const R: usize, const B: usize>(
                    weight: SVector<$real, C>,
                    bias: SVector<$real, C>,
                    #[no_grad] eps: $real,
                    #[no_grad] inv_count: $real,
                    #[no_grad] ones_b: SMatrix<$real, 1, B>,
                    x: SMatrix<$real, R, B>,
                ) -> SMatrix<$real, R, B> {
                    let mean = channel_sums(x, C) * inv_count;
                    let centered = x - spread_channels(mean, R);
                    let variance = channel_sums(hadamard(centered, centered), C) * inv_count;
                    let scale = spread_channels(hadamard(weight, 1 / sqrt(variance + eps)), R);
                    hadamard(centered, scale * ones_b) + spread_channels(bias, R)
                }
            }

            graph_macros::graph! {
                /// Evaluation mode: each channel by the running statistics.
                #[chainrule(crate = crate)]
                #[tape]
                #[by_ref]
                pub fn running<const C: usize, const R: usize, const B: usize>(
                    weight: SVector<$real, C>,
                    bias: SVector<$real, C>,
                    #[no_grad] running_mean: SVector<$real, C>,
                    #[no_grad] running_var: SVector<$real, C>,
                    #[no_grad] eps: $real,
                    #[no_grad] ones_b: SMatrix<$real, 1, B>,
                    x: SMatrix<$real, R, B>,
                ) -> SMatrix<$real, R, B> {
                    let scale = spread_channels(hadamard(weight, 1 / sqrt(running_var + eps)), R);
                    let centered = x - spread_channels(running_mean, R);
                    hadamard(centered, scale * ones_b) + spread_channels(bias, R)
                }
            }
        }

        /// Matrices pass by reference and tapes live on the heap, so a batch of images never
        /// sits on the stack more often than the generated code needs.
        impl<const C: usize, const R: usize, const B: usize, L: Layout> Module<SMatrix<$real, R, B>>
            for BatchNorm<$real, C, L>
        {
            type Output = SMatrix<$real, R, B>;
            type Tape = BatchNormTape<
                RunningStats<$real, C>,
                Recycled<$graph::batch::Tape<C, R, B>>,
                Recycled<$graph::running::Tape<C, R, B>>,
            >;

            fn forward(&self, x: &SMatrix<$real, R, B>) -> Self::Output {
                L::check_sizes::<C, R>();
                let (eps, ones) = (<$real as Real>::from_f64(self.eps), SMatrix::repeat(1.0));
                if self.training {
                    self.track(x);
                    let inv_count = inv_count::<C, R, B>() as $real;
                    return $graph::batch::forward(
                        &self.weight,
                        &self.bias,
                        eps,
                        inv_count,
                        &ones,
                        x,
                    );
                }
                let stats = self.running_stats();
                $graph::running::forward(
                    &self.weight,
                    &self.bias,
                    &stats.mean,
                    &stats.var,
                    eps,
                    &ones,
                    x,
                )
            }

            fn forward_with_tape(&self, x: &SMatrix<$real, R, B>) -> (Self::Output, Self::Tape) {
                let mut output = bytemuck::Zeroable::zeroed();
                let tape = self.forward_with_tape_into(x, &mut output);
                (output, tape)
            }

            /// The output into `out` and the tape into a box reused from step to step: neither
            /// passes through the stack.
            fn forward_with_tape_into(
                &self,
                x: &SMatrix<$real, R, B>,
                out: &mut Self::Output,
            ) -> Self::Tape {
                L::check_sizes::<C, R>();
                let (eps, ones) = (<$real as Real>::from_f64(self.eps), SMatrix::repeat(1.0));
                if self.training {
                    self.track(x);
                    let inv_count = inv_count::<C, R, B>() as $real;
                    let mut tape = Recycled::<$graph::batch::Tape<C, R, B>>::scratch();
                    $graph::batch::forward_with_tape_into(
                        &self.weight,
                        &self.bias,
                        eps,
                        inv_count,
                        &ones,
                        x,
                        out,
                        tape.fields_mut(),
                    );
                    return BatchNormTape::Batch(tape);
                }
                let stats = self.running_stats();
                let mut tape = Recycled::<$graph::running::Tape<C, R, B>>::scratch();
                $graph::running::forward_with_tape_into(
                    &self.weight,
                    &self.bias,
                    &stats.mean,
                    &stats.var,
                    eps,
                    &ones,
                    x,
                    out,
                    tape.fields_mut(),
                );
                BatchNormTape::Running(stats, tape)
            }

            fn backward(
                &self,
                x: &SMatrix<$real, R, B>,
                tape: &Self::Tape,
                d_output: &Self::Output,
            ) -> (SMatrix<$real, R, B>, Self) {
                let mut grads = self.with_parameters(SVector::zeros(), SVector::zeros());
                let mut d_x = bytemuck::Zeroable::zeroed();
                self.backward_into(x, tape, d_output, &mut grads, &mut d_x);
                (d_x, grads)
            }

            /// The gradients straight into `grads` and `d_x`.
            fn backward_into(
                &self,
                x: &SMatrix<$real, R, B>,
                tape: &Self::Tape,
                d_output: &Self::Output,
                grads: &mut Self,
                d_x: &mut SMatrix<$real, R, B>,
            ) {
                let (eps, ones) = (<$real as Real>::from_f64(self.eps), SMatrix::repeat(1.0));
                let (weight, bias) = (&mut grads.weight, &mut grads.bias);
                match tape {
                    BatchNormTape::Batch(tape) => {
                        let inv_count = inv_count::<C, R, B>() as $real;
                        let grad = $graph::batch::GradMut {
                            weight,
                            bias,
                            x: d_x,
                        };
                        $graph::batch::backward_with_tape_into(
                            tape,
                            &self.weight,
                            &self.bias,
                            eps,
                            inv_count,
                            &ones,
                            x,
                            d_output,
                            grad,
                        );
                    }
                    BatchNormTape::Running(stats, tape) => {
                        let grad = $graph::running::GradMut {
                            weight,
                            bias,
                            x: d_x,
                        };
                        $graph::running::backward_with_tape_into(
                            tape,
                            &self.weight,
                            &self.bias,
                            &stats.mean,
                            &stats.var,
                            eps,
                            &ones,
                            x,
                            d_output,
                            grad,
                        );
                    }
                }
            }
        }
    };
}

batch_norm_for!(f32, batch_norm_f32);
batch_norm_for!(f64, batch_norm_f64);
