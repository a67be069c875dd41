//! [`Dropout`]: PyTorch's `nn.Dropout`, zeroing inputs at random while training.
//!
//! **The mask.** `forward` takes `&self`, and the parallel trainer runs it on many threads at
//! once, with a result that must not depend on their number. So the layer keeps no random
//! state to advance: each forward pass draws its mask from SplitMix64 (one draw per element,
//! computed from the element's index, so the draws vectorise) seeded with the layer's `seed`
//! mixed with a hash of the bits of its input batch. The mask is then a function of
//! (seed, input): reproducible, `Sync` without locks, the same whatever thread computes it,
//! and the layer stays `Copy`. Training changes the input of a dropout after any trained
//! layer at every step, and shuffling changes every batch, so the masks change as PyTorch's
//! do. One difference: the *same* batch, through unchanged weights, gets the same mask; to
//! draw new masks for it (a dropout right on a fixed input), change `seed`.

use nalgebra::SMatrix;

use super::samples::by_samples;
use super::{Init, Mode, Module};
use crate::heap::Recycled;
use crate::Real;

/// Zeroes each element with probability `p` while training, and scales the others by
/// 1/(1 − p), so the expected output is the input: `nn.Dropout(p)`, inverted dropout. In
/// evaluation mode ([`Mode::eval`]) it is the identity. It has no parameters and nothing in a
/// `state_dict`.
///
/// The mask is drawn from `seed` and the input batch (see the [module docs](self) for why).
/// [`Init::init`] draws the seed from the model's random number generator, so a model built
/// from one seed drops the same elements every run.
///
/// ```
/// use chainrule::nalgebra::SMatrix;
/// use chainrule::nn::{Dropout, Mode, Module};
///
/// let mut dropout = Dropout::new(0.5);
/// let x = SMatrix::<f64, 8, 4>::repeat(1.0);
/// let y = dropout.forward(&x);
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0)); // dropped, or scaled by 1/(1 − 0.5)
/// assert_eq!(dropout.forward(&x), y); // the same seed and input: the same mask
/// dropout.eval();
/// assert_eq!(dropout.forward(&x), x);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of zeroing an element; PyTorch's default is 0.5.
    pub p: f64,
    /// Where the masks come from.
    pub seed: u64,
    /// Training mode (the default) or evaluation mode.
    pub training: bool,
}

/// PyTorch's defaults: `p` = 0.5, in training mode, with seed 0.
impl Default for Dropout {
    fn default() -> Self {
        Dropout::new(0.5)
    }
}

impl Dropout {
    /// `nn.Dropout(p)`, in training mode, with seed 0.
    ///
    /// # Panics
    ///
    /// If `p` is not in [0, 1], as PyTorch raises a `ValueError`.
    ///
    /// ```
    /// use chainrule::nn::Dropout;
    /// assert_eq!(Dropout::new(0.1).p, 0.1);
    /// assert!(std::panic::catch_unwind(|| Dropout::new(1.5)).is_err());
    /// ```
    pub fn new(p: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "dropout probability has to be between 0 and 1, but got {p}"
        );
        Dropout {
            p,
            seed: 0,
            training: true,
        }
    }

    /// The same layer, drawing its masks from `seed`.
    ///
    /// ```
    /// use chainrule::nalgebra::SMatrix;
    /// use chainrule::nn::{Dropout, Module};
    /// let x = SMatrix::<f32, 16, 16>::repeat(1.0);
    /// let (a, b) = (Dropout::new(0.5).with_seed(1), Dropout::new(0.5).with_seed(2));
    /// assert_ne!(a.forward(&x), b.forward(&x));
    /// ```
    pub fn with_seed(self, seed: u64) -> Self {
        Dropout { seed, ..self }
    }
}

/// Drops by its `training` flag.
impl Mode for Dropout {
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// `p` = 0.5 in training mode, the seed drawn from `rng` for `init` and 0 for `zeros`.
impl Init for Dropout {
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Dropout::default().with_seed(rng.next_u64())
    }
    fn zeros() -> Self {
        Dropout::default()
    }
}

/// SplitMix64's increment, 2⁶⁴/φ.
const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's step and finaliser: spreads every input bit over the whole word.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(SPLITMIX_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The lanes of the input's hash: independent chains of multiplications, which the processor
/// overlaps (one chain over a 9216×32 batch took longer than the layer's arithmetic).
const HASH_LANES: usize = 8;

/// The hash of the bits of `values`, from `seed`: each lane folds every `HASH_LANES`-th value
/// in by a multiplication, and [`mix`] spreads the lanes over the result.
fn hash<T: Real>(seed: u64, values: &[T]) -> u64 {
    let mut lanes: [u64; HASH_LANES] = std::array::from_fn(|lane| mix(seed ^ lane as u64));
    for chunk in values.chunks(HASH_LANES) {
        for (lane, value) in lanes.iter_mut().zip(chunk) {
            // `to_f64` is exact, so every distinct input has distinct bits.
            *lane = (*lane ^ value.to_f64().to_bits()).wrapping_mul(SPLITMIX_GAMMA);
        }
    }
    lanes.iter().fold(mix(seed), |hash, lane| mix(hash ^ lane))
}

impl Dropout {
    /// Fills `mask` for this batch: 1/(1 − p) where an element is kept, with probability
    /// 1 − p, and 0 where it is dropped; all ones in evaluation mode.
    fn fill_mask<T: Real, const R: usize, const C: usize>(
        &self,
        x: &SMatrix<T, R, C>,
        mask: &mut SMatrix<T, R, C>,
    ) {
        if !self.training {
            mask.fill(T::ONE);
            return;
        }
        let key = hash(self.seed, x.as_slice());
        let scale = T::from_f64(1.0 / (1.0 - self.p));
        // A uniform 32-bit draw per element: kept when at least p·2³² (rounded), so with
        // probability 1 − p to within 2⁻³², always at p = 0 and never at p = 1, where the
        // infinite scale is then never used.
        let threshold = (self.p * 4_294_967_296.0).round() as u64;
        let mask = mask.as_mut_slice();
        // SplitMix64 from `key`: draw `i` is `mix(key + i·γ)`, a function of `i` alone, so the
        // loop has no chain from one element to the next and runs on the widest vectors.
        pulp::Arch::new().dispatch(|| {
            for (i, element) in mask.iter_mut().enumerate() {
                let draw = mix(key.wrapping_add((i as u64).wrapping_mul(SPLITMIX_GAMMA))) >> 32;
                *element = if draw >= threshold { scale } else { T::ZERO };
            }
        });
    }
}

macro_rules! dropout_for {
    ($real:ident, $graph:ident) => {
        #[doc(hidden)]
        pub mod $graph {
            graph_macros::graph! {
                #[chainrule(crate = crate)]
                #[by_ref]
                pub fn graph<const R: usize, const C: usize>(
                    #[no_grad] mask: SMatrix<$real, R, C>,
                    x: SMatrix<$real, R, C>,
                ) -> SMatrix<$real, R, C> {
                    hadamard(mask, x)
                }
            }
        }

        impl<const R: usize, const C: usize> Module<SMatrix<$real, R, C>> for Dropout {
            type Output = SMatrix<$real, R, C>;
            /// The mask, which the backward pass multiplies by again, on the heap (see
            /// `heap::Recycled`).
            type Tape = Recycled<SMatrix<$real, R, C>>;

            #[inline]
            fn forward(&self, x: &SMatrix<$real, R, C>) -> Self::Output {
                match self.training {
                    true => self.forward_with_tape(x).0,
                    false => *x,
                }
            }

            #[inline]
            fn forward_with_tape(&self, x: &SMatrix<$real, R, C>) -> (Self::Output, Self::Tape) {
                let mut output = bytemuck::Zeroable::zeroed();
                let mask = self.forward_with_tape_into(x, &mut output);
                (output, mask)
            }

            /// In place, a sample at a time on large batches (`samples::by_samples!`).
            #[inline]
            fn forward_with_tape_into(&self, x: &SMatrix<$real, R, C>, out: &mut Self::Output) -> Self::Tape {
                let mut mask = Recycled::<SMatrix<$real, R, C>>::scratch();
                self.fill_mask(x, &mut mask);
                let scale: &SMatrix<$real, R, C> = &mask;
                by_samples!(in [scale, x] out [out] => $graph::graph::forward_into(scale, x, out));
                mask
            }

            #[inline]
            fn backward(
                &self,
                x: &SMatrix<$real, R, C>,
                mask: &Self::Tape,
                d_output: &Self::Output,
            ) -> (SMatrix<$real, R, C>, Self) {
                let mut d_x = bytemuck::Zeroable::zeroed();
                self.backward_into(x, mask, d_output, &mut { *self }, &mut d_x);
                (d_x, *self)
            }

            /// In place: `x` is not read, as the gradient is `mask ⊙ d_output`.
            #[inline]
            fn backward_into(
                &self,
                _: &SMatrix<$real, R, C>,
                mask: &Self::Tape,
                d_output: &Self::Output,
                _: &mut Self,
                d_x: &mut SMatrix<$real, R, C>,
            ) {
                let scale: &SMatrix<$real, R, C> = mask;
                by_samples!(in [scale, d_output] out [d_x] => $graph::graph::backward_into(
                    scale,
                    d_output,
                    d_output,
                    $graph::graph::GradMut { x: d_x },
                ));
            }
        }
    };
}

crate::impl_parameters!([] Dropout, f32, []);
crate::impl_parameters!([] Dropout, f64, []);
dropout_for!(f32, dropout_f32);
dropout_for!(f64, dropout_f64);
