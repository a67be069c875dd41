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
/// use chainrule::Real;
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
    // All-zero bits are 0.0: large matrices are allocated zeroed on the heap in place.
    + bytemuck::Pod
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
    /// How a safetensors file stores this type: `F32` or `F64`.
    ///
    /// ```
    /// use chainrule::io::Dtype;
    /// use chainrule::Real;
    /// assert_eq!(<f32 as Real>::DTYPE, Dtype::F32);
    /// ```
    const DTYPE: crate::io::Dtype;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn abs(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn sqrt(self) -> Self;
    fn powi(self, n: i32) -> Self;
    fn powf(self, n: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn exp_m1(self) -> Self;
    fn tanh(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    /// The error function, from the `libm` crate (FreeBSD's msun: within 1 ulp).
    fn erf(self) -> Self;
    /// 1 − erf(x), accurate where erf(x) is near 1 (`libm` again).
    fn erfc(self) -> Self;
    fn is_finite(self) -> bool;
    /// The nearest value of this type (rounding, for `f32`).
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
}

macro_rules! impl_real {
    ($($t:ty => $dtype:ident, $erf:path, $erfc:path);*) => {$(
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const DTYPE: crate::io::Dtype = crate::io::Dtype::$dtype;
            fn exp(self) -> Self { <$t>::exp(self) }
            fn ln(self) -> Self { <$t>::ln(self) }
            fn ln_1p(self) -> Self { <$t>::ln_1p(self) }
            fn abs(self) -> Self { <$t>::abs(self) }
            fn max(self, other: Self) -> Self { <$t>::max(self, other) }
            fn sqrt(self) -> Self { <$t>::sqrt(self) }
            fn powi(self, n: i32) -> Self { <$t>::powi(self, n) }
            fn powf(self, n: Self) -> Self { <$t>::powf(self, n) }
            fn min(self, other: Self) -> Self { <$t>::min(self, other) }
            fn exp_m1(self) -> Self { <$t>::exp_m1(self) }
            fn tanh(self) -> Self { <$t>::tanh(self) }
            fn sin(self) -> Self { <$t>::sin(self) }
            fn cos(self) -> Self { <$t>::cos(self) }
            fn erf(self) -> Self { $erf(self) }
            fn erfc(self) -> Self { $erfc(self) }
            fn is_finite(self) -> bool { <$t>::is_finite(self) }
            fn from_f64(value: f64) -> Self { value as $t }
            fn to_f64(self) -> f64 { self as f64 }
        }
    )*};
}
impl_real!(f32 => F32, libm::erff, libm::erfcf; f64 => F64, libm::erf, libm::erfc);

/// The logistic function 1/(1 + e⁻ˣ), computed without overflow for any `x`.
///
/// ```
/// use chainrule::runtime::sigmoid;
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
/// use chainrule::runtime::softplus;
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
/// assert_eq!(chainrule::runtime::relu(-2.0_f32), 0.0);
/// ```
#[inline]
pub fn relu<T: Real>(x: T) -> T {
    x.max(T::ZERO)
}

/// ln(x) for x > 0, else 0: the exponent's part of the derivative of `a^b` in generated code,
/// which is 0 where the base is 0 (0^b is 0) and where a real power is undefined.
///
/// ```
/// use chainrule::runtime::ln_or_zero;
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
/// use chainrule::runtime::sign;
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

/// 1/x for x > 0, else 0: the derivative of [`ln_or_zero`], in second derivatives of `a^b`.
///
/// ```
/// use chainrule::runtime::scalar::recip_or_zero;
/// assert_eq!(recip_or_zero(4.0_f64), 0.25);
/// assert_eq!(recip_or_zero(0.0_f64), 0.0); // not inf
/// ```
#[inline]
pub fn recip_or_zero<T: Real>(x: T) -> T {
    if x > T::ZERO {
        T::ONE / x
    } else {
        T::ZERO
    }
}

/// The error function, 2/√π ∫₀ˣ e^(−t²) dt, from the `libm` crate (a port of FreeBSD's msun,
/// W. J. Cody's rational approximations refined by Sun: error below 1 ulp).
///
/// ```
/// use chainrule::runtime::erf;
/// assert_eq!(erf(0.0_f64), 0.0);
/// assert!((erf(1.0_f64) - 0.8427007929497149).abs() < 1e-16);
/// assert_eq!(erf(10.0_f32), 1.0);
/// ```
#[inline]
pub fn erf<T: Real>(x: T) -> T {
    x.erf()
}

/// Φ(x), the standard normal distribution function, as erfc(−x/√2)/2: through `erfc`, the
/// far left tail keeps its relative precision where 1 + erf(x/√2) would cancel.
///
/// ```
/// use chainrule::runtime::scalar::normal_cdf;
/// assert_eq!(normal_cdf(0.0_f64), 0.5);
/// // Φ(−10) ≈ 7.62e−24, with no cancellation.
/// assert!((normal_cdf(-10.0_f64) / 7.619853024160527e-24 - 1.0).abs() < 1e-14);
/// ```
#[inline]
pub fn normal_cdf<T: Real>(x: T) -> T {
    let half = T::from_f64(0.5);
    half * (-x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erfc()
}

/// GELU, exactly: x·Φ(x), Φ the standard normal distribution function (PyTorch's
/// `gelu(approximate='none')`). Φ comes from `erfc`, so a large negative `x` gives a tiny
/// (not cancelled, not NaN) value and a large positive one gives `x`.
///
/// ```
/// use chainrule::runtime::gelu;
/// assert_eq!(gelu(0.0_f64), 0.0);
/// assert!((gelu(1.0_f64) - 0.8413447460685429).abs() < 1e-15);
/// assert_eq!(gelu(100.0_f64), 100.0);
/// assert!(gelu(-40.0_f64) <= 0.0 && gelu(-40.0_f64) > -1e-300);
/// ```
#[inline]
pub fn gelu<T: Real>(x: T) -> T {
    x * normal_cdf(x)
}

/// SiLU (swish): x·sigmoid(x), with the stable [`sigmoid`], so no `x` overflows.
///
/// ```
/// use chainrule::runtime::silu;
/// assert_eq!(silu(0.0_f64), 0.0);
/// assert_eq!(silu(1000.0_f64), 1000.0);
/// assert_eq!(silu(-1000.0_f64), 0.0);
/// ```
#[inline]
pub fn silu<T: Real>(x: T) -> T {
    x * sigmoid(x)
}
