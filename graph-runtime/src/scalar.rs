//! Scalar functions with their numerically stable forms, generic over `f32` and `f64`.
//!
//! Generated code calls these for the functions `std` lacks; they must agree with the
//! compiler's IR evaluator (`graph_compiler::eval`), which the tests check.

use std::ops::{Add, Div, Mul, Neg, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The scalar types a graph computes in: `f32` and `f64`.
///
/// ```
/// use graph_runtime::Real;
/// assert_eq!(<f64 as Real>::ONE + <f64 as Real>::ZERO, 1.0);
/// ```
pub trait Real:
    sealed::Sealed
    + nalgebra::Scalar
    // What nalgebra's matrix arithmetic asks of its elements.
    + nalgebra::ClosedAddAssign
    + nalgebra::ClosedSubAssign
    + nalgebra::ClosedMulAssign
    + num_traits::Zero
    + num_traits::One
    + Copy
    + Default
    + std::fmt::Display
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn sqrt(self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn is_finite(self) -> bool;
    /// The nearest value of this type (rounding, for `f32`).
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! impl_real {
    ($($t:ty),*) => {$(
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn exp(self) -> Self { <$t>::exp(self) }
            fn ln(self) -> Self { <$t>::ln(self) }
            fn ln_1p(self) -> Self { <$t>::ln_1p(self) }
            fn abs(self) -> Self { <$t>::abs(self) }
            fn max(self, other: Self) -> Self { <$t>::max(self, other) }
            fn sqrt(self) -> Self { <$t>::sqrt(self) }
            fn powi(self, n: i32) -> Self { <$t>::powi(self, n) }
            fn is_finite(self) -> bool { <$t>::is_finite(self) }
            fn from_f64(value: f64) -> Self { value as $t }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
impl_real!(f32, f64);

/// The logistic function 1/(1 + e⁻ˣ), computed without overflow for any `x`.
///
/// ```
/// use graph_runtime::sigmoid;
/// assert_eq!(sigmoid(0.0_f64), 0.5);
/// assert_eq!(sigmoid(-1000.0_f64), 0.0); // not NaN
/// ```
#[inline]
pub fn sigmoid<T: Real>(x: T) -> T {
    // Only ever exponentiate a non-positive number.
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^−|x|) so it never overflows.
///
/// ```
/// use graph_runtime::softplus;
/// assert_eq!(softplus(1000.0_f64), 1000.0); // not inf
/// assert!((softplus(0.0_f64) - 2f64.ln()).abs() < 1e-15);
/// ```
#[inline]
pub fn softplus<T: Real>(x: T) -> T {
    x.max(T::ZERO) + (-x.abs()).exp().ln_1p()
}

/// max(x, 0).
///
/// ```
/// assert_eq!(graph_runtime::relu(-2.0_f32), 0.0);
/// ```
#[inline]
pub fn relu<T: Real>(x: T) -> T {
    x.max(T::ZERO)
}

/// ln(x) for x > 0, else 0: the exponent's part of the derivative of `a^b` in generated code,
/// which is 0 where the base is 0 (0^b is 0) and where a real power is undefined.
///
/// ```
/// use graph_runtime::ln_or_zero;
/// assert_eq!(ln_or_zero(1.0_f64), 0.0);
/// assert_eq!(ln_or_zero(0.0_f64), 0.0); // not -inf
/// assert_eq!(ln_or_zero(-2.0_f32), 0.0); // not NaN
/// ```
#[inline]
pub fn ln_or_zero<T: Real>(x: T) -> T {
    if x > T::ZERO {
        x.ln()
    } else {
        T::ZERO
    }
}

/// −1, 0 or 1: the derivative of |x|, with the subgradient 0 at 0 (as PyTorch uses).
///
/// ```
/// use graph_runtime::sign;
/// assert_eq!((sign(-3.0_f64), sign(0.0_f64), sign(2.0_f64)), (-1.0, 0.0, 1.0));
/// ```
#[inline]
pub fn sign<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x
    }
}
