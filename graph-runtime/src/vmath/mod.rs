//! Vectorised element-wise functions over slices and matrices of `f32` and `f64`: `tanh`,
//! `exp`, `ln`, `sigmoid`, `softplus`, `erf`, `gelu` and `silu`, for generated code's
//! element-wise nodes above a small size.
//!
//! ```
//! use chainrule::runtime::vmath::{self, Function};
//! let x = [-1.0_f32, 0.0, 2.0];
//! let mut y = [0.0; 3];
//! vmath::apply(Function::Tanh, &x, &mut y);
//! assert_eq!(y[1], 0.0);
//! assert!((y[2] - 2f32.tanh()).abs() <= f32::EPSILON);
//! ```
//!
//! # Identical results on every path
//!
//! Each function is one branch-free kernel for one element (`kernels.rs`), written with `+ − ×
//! ÷`, comparisons, selects and integer operations on the bits: range reduction, a
//! polynomial, a scaling by a power of two, as Eigen's `pexp` and `ptanh` are built. A loop over
//! that kernel is compiled once per instruction set, and LLVM vectorises it. Rust's
//! floating-point semantics do not let the compiler reassociate, or contract a multiply and
//! an add into a fused multiply-add, so every path performs the same IEEE operations in the
//! same order on each element and rounds identically: the vector paths compute the bits of the
//! scalar path. NaN is the one place where Rust leaves the bits open; every kernel returns one
//! canonical NaN, so outputs are bit-for-bit identical everywhere, NaNs included.
//!
//! **No FMA, on any path.** An FMA rounds once where a multiply and an add round twice, so
//! using it where the CPU has it (AVX2, AVX-512, NEON) and not where it lacks it (SSE2) would
//! give different bits; emulating it exactly on SSE2 costs tens of instructions per FMA. The
//! kernels meet their accuracy targets without it, at the price of one more instruction per
//! polynomial step on the paths that have FMA.
//!
//! # Dispatch
//!
//! At run time, on the widest instruction set the CPU has ([`Path::best`]): AVX-512 or
//! AVX2+FMA (x86-64-v4 or v3), else x86-64's baseline SSE2; NEON, AArch64's baseline;
//! elsewhere, one element at a time. [`Simd::new`] forces a path, as the tests do to compare
//! every path with the scalar one. The NEON path compiles on AArch64 (it is the baseline loop,
//! like SSE2 on x86-64) but is tested only where such a CPU runs the tests.
//!
//! Why `pulp`, not `multiversion` or `std::arch`: the kernels are plain Rust that LLVM
//! vectorises, so all a path needs is the same loop compiled with its target features, and
//! `pulp`'s tokens (`x86::V3`, `x86::V4`) do exactly that with `vectorize`, after a cached CPU
//! check, safely. `pulp` 0.22 is already built for the `gemm` crate, so it adds no
//! dependency. `multiversion` would add a proc macro and its crates, and its dispatcher
//! cannot be told which version to run, which the tests need. `std::arch` intrinsics would mean
//! writing every kernel once per instruction set (four times over), each a chance for the
//! paths to drift apart.
//!
//! # Accuracy
//!
//! Against the exact value, for every `f32` input (`benches/vmath.rs` checks all 2³² for
//! `tanh` and `exp`; the tests sample the rest): at most 2 ulp for `tanh`, `exp` and
//! `sigmoid`, at most 4 for the others (`BENCHMARKS.md` has the figures). `f32` `sigmoid`,
//! `erf` and `gelu` are computed in `f64`, erf from its Taylor series and Laplace's continued
//! fraction. Every polynomial is a Taylor series whose coefficients are computed in `const fn`s
//! (1/k!, tanh's from tanh′ = 1 − tanh², …): no fitted constants. In `f64`, the functions stay
//! within a few ulp of `libm`; `erf` and `gelu` call `libm` on each element, not vectorised. Special values (±0, ±∞, NaN, the overflow and underflow thresholds) are
//! those of `std`, `libm` and [`crate::scalar`].

mod dispatch;
mod kernels;
mod lane;

use nalgebra::SMatrix;

use dispatch::Slots;
pub use dispatch::{Path, Simd};

use crate::Real;

/// An element-wise function `vmath` vectorises.
///
/// ```
/// use chainrule::runtime::vmath::{self, Function};
/// let mut values = [0.0_f64, 1.0];
/// vmath::apply_in_place(Function::Sigmoid, &mut values);
/// assert_eq!(values[0], 0.5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Function {
    Tanh,
    Exp,
    /// The natural logarithm.
    Ln,
    /// 1/(1 + e⁻ˣ), as [`crate::sigmoid`].
    Sigmoid,
    /// ln(1 + eˣ), as [`crate::softplus`].
    Softplus,
    Erf,
    /// x·Φ(x), exactly, as [`crate::gelu`].
    Gelu,
    /// x·sigmoid(x), as [`crate::silu`].
    Silu,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 8] = [
        Function::Tanh,
        Function::Exp,
        Function::Ln,
        Function::Sigmoid,
        Function::Softplus,
        Function::Erf,
        Function::Gelu,
        Function::Silu,
    ];
}

/// A scalar type `vmath` computes in: `f32` or `f64`. Sealed.
///
/// Its methods are the entry points of [`Simd::apply`] and [`Simd::apply_in_place`], one
/// non-generic function per type, so every kernel is compiled once, in this crate, not again in
/// each crate that calls it.
pub trait Element: Real + sealed::Sealed {
    #[doc(hidden)]
    fn apply_slices(simd: Simd, function: Function, input: &[Self], output: &mut [Self]);
    #[doc(hidden)]
    fn apply_in_place(simd: Simd, function: Function, values: &mut [Self]);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

macro_rules! impl_element {
    ($float:ty, sigmoid: $sigmoid:path, erf: $erf:path, gelu: $gelu:path) => {
        impl Element for $float {
            fn apply_slices(simd: Simd, function: Function, input: &[Self], output: &mut [Self]) {
                dispatch(
                    simd,
                    function,
                    Slots::Separate(input, output),
                    ($sigmoid, $erf, $gelu),
                );
            }
            fn apply_in_place(simd: Simd, function: Function, values: &mut [Self]) {
                dispatch(
                    simd,
                    function,
                    Slots::InPlace(values),
                    ($sigmoid, $erf, $gelu),
                );
            }
        }
    };
}

// In `f32`, sigmoid, erf and gelu are computed in `f64`; in `f64`, erf and gelu are `libm`'s
// rational approximations, element by element (no vector form yet).
impl_element!(f32, sigmoid: kernels::sigmoid_f32, erf: kernels::erf_f32, gelu: kernels::gelu_f32);
impl_element!(f64, sigmoid: kernels::sigmoid, erf: crate::scalar::erf, gelu: crate::scalar::gelu);

/// `function` over `slots`. `sigmoid`, `erf` and `gelu` are the kernels each type computes its
/// own way, passed as function items so that each call is inlined into the loop.
#[inline(always)]
fn dispatch<T: lane::Lane>(
    simd: Simd,
    function: Function,
    slots: Slots<'_, T>,
    (sigmoid, erf, gelu): (
        impl Fn(T) -> T + Copy,
        impl Fn(T) -> T + Copy,
        impl Fn(T) -> T + Copy,
    ),
) {
    match function {
        Function::Tanh => simd.run(slots, kernels::tanh::<T>),
        Function::Exp => simd.run(slots, kernels::exp::<T>),
        Function::Ln => simd.run(slots, kernels::ln::<T>),
        Function::Sigmoid => simd.run(slots, sigmoid),
        Function::Softplus => simd.run(slots, kernels::softplus::<T>),
        Function::Erf => simd.run(slots, erf),
        Function::Gelu => simd.run(slots, gelu),
        Function::Silu => simd.run(slots, kernels::silu::<T>),
    }
}

impl Simd {
    /// `output[i] = function(input[i])` on this token's path.
    ///
    /// # Panics
    ///
    /// If `input` and `output` differ in length.
    ///
    /// ```
    /// use chainrule::runtime::vmath::{Function, Path, Simd};
    /// let mut out = [0.0_f32];
    /// Simd::new(Path::Scalar).unwrap().apply(Function::Ln, &[1.0], &mut out);
    /// assert_eq!(out, [0.0]);
    /// ```
    pub fn apply<T: Element>(self, function: Function, input: &[T], output: &mut [T]) {
        assert_eq!(
            input.len(),
            output.len(),
            "vmath: {function:?} of {} elements into {}",
            input.len(),
            output.len()
        );
        T::apply_slices(self, function, input, output);
    }

    /// `values[i] = function(values[i])` on this token's path.
    ///
    /// ```
    /// use chainrule::runtime::vmath::{Function, Simd};
    /// let mut values = [0.0_f64];
    /// Simd::best().apply_in_place(Function::Exp, &mut values);
    /// assert_eq!(values, [1.0]);
    /// ```
    pub fn apply_in_place<T: Element>(self, function: Function, values: &mut [T]) {
        T::apply_in_place(self, function, values);
    }
}

/// `output[i] = function(input[i])`, on the widest path this CPU has.
///
/// # Panics
///
/// If `input` and `output` differ in length.
///
/// ```
/// use chainrule::runtime::vmath::{self, Function};
/// let mut y = [0.0_f32; 2];
/// vmath::apply(Function::Exp, &[0.0, 1.0], &mut y);
/// assert_eq!(y, [1.0, std::f32::consts::E]);
/// ```
pub fn apply<T: Element>(function: Function, input: &[T], output: &mut [T]) {
    Simd::best().apply(function, input, output);
}

/// `values[i] = function(values[i])`, on the widest path this CPU has.
///
/// ```
/// use chainrule::runtime::vmath::{self, Function};
/// let mut values = [1.0_f64, 0.0];
/// vmath::apply_in_place(Function::Ln, &mut values);
/// assert_eq!(values, [0.0, f64::NEG_INFINITY]);
/// ```
pub fn apply_in_place<T: Element>(function: Function, values: &mut [T]) {
    Simd::best().apply_in_place(function, values);
}

/// `function` of each element of a matrix, on the widest path this CPU has.
///
/// ```
/// use chainrule::nalgebra::Matrix2;
/// use chainrule::runtime::vmath::{self, Function};
/// let m = Matrix2::new(0.0_f64, 1.0, -1.0, 2.0);
/// let t = vmath::map(Function::Tanh, &m);
/// assert_eq!(t[(0, 0)], 0.0);
/// assert!((t[(1, 1)] - 2f64.tanh()).abs() <= f64::EPSILON);
/// ```
pub fn map<T: Element, const R: usize, const C: usize>(
    function: Function,
    matrix: &SMatrix<T, R, C>,
) -> SMatrix<T, R, C> {
    let mut out = *matrix;
    apply_in_place(function, out.as_mut_slice());
    out
}

/// As [`map`], writing the result into `out`, which generated code keeps on the heap.
///
/// ```
/// use chainrule::nalgebra::Matrix2;
/// use chainrule::runtime::vmath::{self, Function};
/// let mut out = Matrix2::repeat(f64::NAN);
/// vmath::map_into(Function::Exp, &Matrix2::zeros(), &mut out);
/// assert_eq!(out, Matrix2::repeat(1.0));
/// ```
pub fn map_into<T: Element, const R: usize, const C: usize>(
    function: Function,
    matrix: &SMatrix<T, R, C>,
    out: &mut SMatrix<T, R, C>,
) {
    out.copy_from(matrix);
    apply_in_place(function, out.as_mut_slice());
}
