//! The one walk every optimizer's step takes: parameters, gradients and the optimizer's flat
//! state buffers, tensor by tensor, handed to a loop specialised for one configuration. Knows
//! no optimizer; the optimizers supply only their per-element arithmetic.

use crate::{Parameters, Real};

/// The loop over one tensor: its parameters, its gradient and its part of each of `N` state
/// buffers, all of one length, with the step's constants `S`. One such function is compiled
/// per optimizer configuration (see [`specialise!`]), for each scalar type but not for each
/// model type.
pub(super) type TensorLoop<T, S, const N: usize> = fn(&S, &mut [T], &[T], [&mut [T]; N]);

/// Walks `params` and `grads` together in the `Parameters` order, cuts the part of each state
/// buffer that belongs to the current tensor, and runs `tensor_loop` on the equal-length
/// slices. `optimizer` names the caller in panics.
///
/// # Panics
///
/// If `zip_mut` pairs a tensor with a gradient of another length, or if the buffers hold
/// fewer scalars than the parameters (`sized_buffer` has checked that they hold as many).
pub(super) fn walk<T: Real, P: Parameters<T> + ?Sized, S, const N: usize>(
    optimizer: &str,
    params: &mut P,
    grads: &P,
    buffers: [&mut [T]; N],
    constants: &S,
    tensor_loop: TensorLoop<T, S, N>,
) {
    let mut rest = buffers;
    params.zip_mut(grads, &mut |param, grad| {
        assert!(
            param.len() == grad.len(),
            "`{optimizer}::step`: `Parameters::zip_mut` paired a tensor of {} scalars with a \
             gradient of {}",
            param.len(),
            grad.len(),
        );
        let parts = std::array::from_fn(|index| {
            let (part, tail) = std::mem::take(&mut rest[index])
                .split_at_mut_checked(param.len())
                .expect("`Parameters::zip_mut` visits the scalars `Parameters::len` counts");
            rest[index] = tail;
            part
        });
        tensor_loop(constants, param, grad, parts);
    });
}

/// Runs `update` on each element of a tensor: its parameter, its gradient and its entry in
/// each state buffer. The slices are cut to one length first, so the loop has no bounds
/// checks and, with a branch-free `update`, compiles to vector instructions: the widest this
/// processor has (AVX-512, AVX2, or else SSE2), chosen at run time by `pulp`. Every width
/// computes the same IEEE operations in the same order, so the results are the same bits.
///
/// `update` should read all of an element's values before it stores any: a load that follows
/// a store to another buffer at the same offset within a 4 KiB page waits for that store (4K
/// aliasing), and buffers allocated alike often share their offsets. Storing Adam's m before
/// loading its v halved Adam's speed.
#[inline(always)]
pub(super) fn for_each_element<T: Copy, const N: usize>(
    params: &mut [T],
    grads: &[T],
    buffers: [&mut [T]; N],
    update: impl Fn(&mut T, T, [&mut T; N]),
) {
    let len = params.len();
    pulp::Arch::new().dispatch(ElementLoop {
        grads: &grads[..len],
        buffers: buffers.map(|buffer| &mut buffer[..len]),
        params,
        update,
    });
}

/// The loop of [`for_each_element`], as `pulp` compiles it once per instruction set.
struct ElementLoop<'a, T, F, const N: usize> {
    params: &'a mut [T],
    grads: &'a [T],
    buffers: [&'a mut [T]; N],
    update: F,
}

impl<T: Copy, F: Fn(&mut T, T, [&mut T; N]), const N: usize> pulp::WithSimd
    for ElementLoop<'_, T, F, N>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let ElementLoop {
            params,
            grads,
            mut buffers,
            update,
        } = self;
        for (index, param) in params.iter_mut().enumerate() {
            let state = buffers.each_mut().map(|buffer| &mut buffer[index]);
            update(param, grads[index], state);
        }
    }
}

/// `value`, or zero if it is subnormal (nonzero and smaller in magnitude than the smallest
/// normal number of `T`). A select, not a branch, so it vectorises; NaN and infinities pass.
#[inline(always)]
pub(super) fn flush_subnormal<T: Real>(value: T) -> T {
    if value.abs() < min_positive() {
        T::ZERO
    } else {
        value
    }
}

/// The smallest positive normal number of `T`: `f64::MIN_POSITIVE` for `f64`, and for `f32`,
/// in which that rounds to zero, `f32::MIN_POSITIVE`. A constant once inlined.
#[inline(always)]
fn min_positive<T: Real>() -> T {
    let f64_min = T::from_f64(f64::MIN_POSITIVE);
    if f64_min > T::ZERO {
        f64_min
    } else {
        T::from_f64(f32::MIN_POSITIVE.into())
    }
}

/// `$loop::<$($fixed,)* f₁, f₂, …>` for the runtime flags `[f₁, f₂, …]`: one branch per flag,
/// taken once per step, selects the loop compiled for that configuration, so no flag is
/// tested inside a loop. For example `specialise!(momentum_loop [T] [maximize, nesterov])`.
macro_rules! specialise {
    (@select $loop:ident [$($fixed:ty),*] [$($known:tt)*] []) => {
        $loop::<$($fixed,)* $($known),*>
    };
    (@select $loop:ident [$($fixed:ty),*] [$($known:tt)*] [$flag:expr $(, $rest:expr)*]) => {
        if $flag {
            specialise!(@select $loop [$($fixed),*] [$($known)* true] [$($rest),*])
        } else {
            specialise!(@select $loop [$($fixed),*] [$($known)* false] [$($rest),*])
        }
    };
    ($loop:ident [$($fixed:ty),*] [$($flag:expr),*]) => {
        specialise!(@select $loop [$($fixed),*] [] [$($flag),*])
    };
}
pub(super) use specialise;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormals_flush_to_zero_and_normal_numbers_stay() {
        assert_eq!(min_positive::<f32>(), f32::MIN_POSITIVE);
        assert_eq!(min_positive::<f64>(), f64::MIN_POSITIVE);
        let tiny_f32 = f32::MIN_POSITIVE / 4.0;
        assert!(tiny_f32.is_subnormal());
        assert_eq!(flush_subnormal(tiny_f32), 0.0);
        assert_eq!(flush_subnormal(-tiny_f32), 0.0);
        assert_eq!(flush_subnormal(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush_subnormal(-1.5_f32), -1.5);
        assert_eq!(flush_subnormal(f64::MIN_POSITIVE / 2.0), 0.0);
        // Normal in f64, though subnormal in f32.
        assert_eq!(flush_subnormal(1e-40_f64), 1e-40);
        assert!(flush_subnormal(f32::NAN).is_nan());
        assert_eq!(flush_subnormal(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn the_walk_hands_each_tensor_its_part_of_every_buffer() {
        use crate::nn::Linear;
        use nalgebra::{SMatrix, SVector};
        // Two tensors: a weight of two scalars, then a bias of one.
        let layer =
            |w0, w1, b| Linear::new(SMatrix::<f64, 1, 2>::new(w0, w1), SVector::<f64, 1>::new(b));
        let mut params = layer(1.0, 2.0, 3.0);
        let grads = layer(10.0, 20.0, 30.0);
        let (mut first, mut second) = (vec![0.0; 3], vec![0.5; 3]);
        let add_all: TensorLoop<f64, f64, 2> = |scale, params, grads, [first, second]| {
            assert_eq!((first.len(), second.len()), (params.len(), grads.len()));
            for_each_element(params, grads, [first, second], |p, g, [a, b]| {
                *a = *p + g;
                *b += *a;
                *p *= scale;
            });
        };
        walk(
            "Test",
            &mut params,
            &grads,
            [&mut first, &mut second],
            &2.0,
            add_all,
        );
        assert_eq!(first, [11.0, 22.0, 33.0]);
        assert_eq!(second, [11.5, 22.5, 33.5]);
        assert_eq!(params, layer(2.0, 4.0, 6.0));
    }

    #[test]
    fn specialise_passes_the_flags_as_const_generics() {
        fn flags<const A: bool, const B: bool>() -> (bool, bool) {
            (A, B)
        }
        for a in [false, true] {
            for b in [false, true] {
                assert_eq!(specialise!(flags [] [a, b])(), (a, b));
            }
        }
    }
}
