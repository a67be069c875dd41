//! One lane of a vector function: the branch-free pieces the kernels are built from, for `f32`
//! and `f64`. Only `+ − × ÷`, comparisons, selects and integer operations on the bits, so that a
//! loop over them vectorises on every instruction set and computes the same bits on each.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `if condition { a } else { b }` on values already computed: a blend, not a branch.
#[inline(always)]
pub(crate) fn select<T>(condition: bool, a: T, b: T) -> T {
    if condition {
        a
    } else {
        b
    }
}

/// c₀ + x·(c₁ + x·(c₂ + …)), by Horner's rule, as separate multiplies and adds.
#[inline(always)]
pub(crate) fn horner<T: Lane>(x: T, coefficients: &[T]) -> T {
    let (&last, rest) = coefficients
        .split_last()
        .expect("a polynomial has a coefficient");
    rest.iter().rev().fold(last, |acc, &c| acc * x + c)
}

/// What a kernel needs of a floating-point lane. Sealed: implemented for `f32` and `f64`.
pub trait Lane:
    'static
    + Copy
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const TWO: Self;
    const HALF: Self;
    const INFINITY: Self;
    /// The one NaN every kernel returns, so NaN outputs are identical bits on every path too.
    const NAN: Self;
    const LOG2_E: Self;
    /// ln 2 = `LN2_HI` + `LN2_LO`, where `LN2_HI` has so few bits that its product with any
    /// exponent is exact.
    const LN2_HI: Self;
    const LN2_LO: Self;
    /// exp(x) rounds to +∞ for x above this, and to 0 below `EXP_UNDERFLOW`.
    const EXP_OVERFLOW: Self;
    const EXP_UNDERFLOW: Self;
    /// 1/2!, 1/3!, …: eʳ − 1 = r + r²·(1/2! + r/3! + …) on |r| ≤ ln(2)/2.
    const EXP_TAYLOR: &'static [Self];
    /// 2/3, 2/5, …: ln((1+s)/(1−s)) = 2s + s·s²·(2/3 + s²·2/5 + …) on |s| ≤ 0.172.
    const LN_SERIES: &'static [Self];
    /// Below this |x|, tanh(x) is its Taylor series `TANH_TAYLOR` (the coefficients of x³,
    /// x⁵, …); above, where tanh(x) > ½, (1 − e^−2|x|)/(1 + e^−2|x|) loses little to
    /// cancellation and its rounding errors are small in ulp of the result.
    const TANH_SERIES_BELOW: Self;
    /// From here on tanh(x) rounds to 1.
    const TANH_ONE_FROM: Self;
    const TANH_TAYLOR: &'static [Self];

    fn is_nan(self) -> bool;
    fn abs(self) -> Self;
    /// `magnitude` with the sign of `sign`.
    fn copysign(magnitude: Self, sign: Self) -> Self;
    /// The nearest integer (ties to even), for |x| < 2²² (`f32`) or 2⁵¹ (`f64`).
    fn round_to_integer(x: Self) -> Self;
    /// 2ⁿ for an integer `n` in the normal exponent range.
    fn pow2(n: Self) -> Self;
    /// (k, f) with x = 2ᵏ·(1 + f) and 1 + f in [√½, √2), for a finite x > 0, subnormals too.
    fn split_exponent(x: Self) -> (Self, Self);
    /// The nearest value of this type.
    fn from_f64(value: f64) -> Self;
}

/// 1/k! for k = `FIRST`, `FIRST + 1`, …, rounded once from `f64`.
const fn inverse_factorials<const N: usize>(first: u32) -> [f64; N] {
    let mut out = [0.0; N];
    let mut factorial = 1.0;
    let mut k = 1;
    while k < first {
        factorial *= k as f64;
        k += 1;
    }
    let mut i = 0;
    while i < N {
        factorial *= (first + i as u32) as f64;
        out[i] = 1.0 / factorial;
        i += 1;
    }
    out
}

/// 2/3, 2/5, 2/7, …: the series of 2·atanh(s) = ln((1+s)/(1−s)) after its first term.
const fn atanh_series<const N: usize>() -> [f64; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = 2.0 / (2 * i + 3) as f64;
        i += 1;
    }
    out
}

/// The Taylor coefficients of x³, x⁵, … in tanh(x), from tanh′ = 1 − tanh²: with
/// tanh = Σ cₖ xᵏ, (m + 1)·c₍ₘ₊₁₎ = −Σ₍ᵢ₊ⱼ₌ₘ₎ cᵢ·cⱼ for m ≥ 1, and c₁ = 1.
const fn tanh_taylor<const N: usize>() -> [f64; N] {
    const MAX_POWER: usize = 64;
    let mut c = [0.0; MAX_POWER];
    c[1] = 1.0;
    let mut m = 2;
    while m + 1 < MAX_POWER && m <= 2 * N {
        let mut sum = 0.0;
        let mut i = 1;
        while i < m {
            sum += c[i] * c[m - i];
            i += 2;
        }
        c[m + 1] = -sum / (m + 1) as f64;
        m += 2;
    }
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = c[2 * i + 3];
        i += 1;
    }
    out
}

const fn to_f32<const N: usize>(values: [f64; N]) -> [f32; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = values[i] as f32;
        i += 1;
    }
    out
}

const F32_EXP_TAYLOR: [f32; 6] = to_f32(inverse_factorials(2));
const F32_LN_SERIES: [f32; 4] = to_f32(atanh_series());
const F32_TANH_TAYLOR: [f32; 9] = to_f32(tanh_taylor());
const F64_EXP_TAYLOR: [f64; 12] = inverse_factorials(2);
const F64_LN_SERIES: [f64; 11] = atanh_series();
const F64_TANH_TAYLOR: [f64; 19] = tanh_taylor();

macro_rules! impl_lane {
    ($float:ident, $bits:ident, $mantissa_bits:literal, $bias:literal, {$($consts:tt)*}) => {
        impl Lane for $float {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const HALF: Self = 0.5;
            const INFINITY: Self = $float::INFINITY;
            const NAN: Self = $float::NAN;
            const LOG2_E: Self = std::$float::consts::LOG2_E;
            $($consts)*

            #[inline(always)]
            #[allow(clippy::eq_op, reason = "x ≠ x is the NaN test, as a compare that vectorises")]
            fn is_nan(self) -> bool {
                self != self
            }

            #[inline(always)]
            fn abs(self) -> Self {
                $float::from_bits(self.to_bits() & !SIGN)
            }

            #[inline(always)]
            fn copysign(magnitude: Self, sign: Self) -> Self {
                $float::from_bits((magnitude.to_bits() & !SIGN) | (sign.to_bits() & SIGN))
            }

            #[inline(always)]
            fn round_to_integer(x: Self) -> Self {
                (x + MAGIC) - MAGIC
            }

            #[inline(always)]
            fn pow2(n: Self) -> Self {
                // (n + MAGIC) holds n in its low bits: rebias them and shift into the exponent.
                let biased = (n + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add($bias);
                $float::from_bits(biased << $mantissa_bits)
            }

            #[inline(always)]
            fn split_exponent(x: Self) -> (Self, Self) {
                // Subnormals are scaled into the normal range first.
                let subnormal = x < $float::MIN_POSITIVE;
                let x = select(subnormal, x * SUBNORMAL_SCALE, x);
                let correction = select(subnormal, -SUBNORMAL_SCALE_LOG2, 0.0);
                // Offset the bits so the exponent field steps up at √2, not at 2.
                let offset = (1.0 as $float).to_bits() - SQRT_HALF.to_bits();
                let bits = x.to_bits().wrapping_add(offset);
                let biased_exponent = bits >> $mantissa_bits;
                // An integer below 2²² to a float: through MAGIC's low bits, as `pow2` does.
                let exponent = $float::from_bits(MAGIC.to_bits() + biased_exponent) - MAGIC;
                let k = exponent - $bias as $float + correction;
                let mantissa = (bits & MANTISSA) + SQRT_HALF.to_bits();
                (k, $float::from_bits(mantissa) - 1.0)
            }

            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $float
            }
        }
    };
}

mod f32_lane {
    use super::*;
    const SIGN: u32 = 1 << 31;
    const MANTISSA: u32 = (1 << 23) - 1;
    /// 1.5·2²³: adding it rounds to an integer and leaves the integer in the low bits.
    const MAGIC: f32 = 12_582_912.0;
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    const SUBNORMAL_SCALE: f32 = 16_777_216.0; // 2²⁴
    const SUBNORMAL_SCALE_LOG2: f32 = 24.0;
    impl_lane!(f32, u32, 23, 127, {
        // 355/512: 9 significant bits.
        const LN2_HI: Self = 0.693_359_4;
        const LN2_LO: Self = -2.121_944_4e-4;
        // The largest f32 whose exponential is finite, and ln(2⁻¹⁵⁰) (ties round to 0).
        const EXP_OVERFLOW: Self = 88.722_83;
        const EXP_UNDERFLOW: Self = -103.972_08;
        const EXP_TAYLOR: &'static [Self] = &F32_EXP_TAYLOR;
        const LN_SERIES: &'static [Self] = &F32_LN_SERIES;
        const TANH_SERIES_BELOW: Self = 0.5625;
        const TANH_ONE_FROM: Self = 9.5;
        const TANH_TAYLOR: &'static [Self] = &F32_TANH_TAYLOR;
    });
}

mod f64_lane {
    use super::*;
    const SIGN: u64 = 1 << 63;
    const MANTISSA: u64 = (1 << 52) - 1;
    /// 1.5·2⁵²: adding it rounds to an integer and leaves the integer in the low bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    const SQRT_HALF: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const SUBNORMAL_SCALE: f64 = 18_014_398_509_481_984.0; // 2⁵⁴
    const SUBNORMAL_SCALE_LOG2: f64 = 54.0;
    impl_lane!(f64, u64, 52, 1023, {
        // fdlibm's split of ln 2: 32 significant bits, and the rest.
        const LN2_HI: Self = f64::from_bits(0x3FE6_2E42_FEE0_0000);
        const LN2_LO: Self = f64::from_bits(0x3DEA_39EF_3579_3C76);
        // ln(f64::MAX), and ln(2⁻¹⁰⁷⁵) (ties round to 0), as fdlibm's thresholds.
        const EXP_OVERFLOW: Self = 7.097_827_128_933_84e2;
        const EXP_UNDERFLOW: Self = -7.451_332_191_019_411e2;
        const EXP_TAYLOR: &'static [Self] = &F64_EXP_TAYLOR;
        const LN_SERIES: &'static [Self] = &F64_LN_SERIES;
        const TANH_SERIES_BELOW: Self = 0.5625;
        const TANH_ONE_FROM: Self = 20.0;
        const TANH_TAYLOR: &'static [Self] = &F64_TANH_TAYLOR;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_taylor_starts_with_the_known_coefficients() {
        let c: [f64; 4] = tanh_taylor();
        let expected = [-1.0 / 3.0, 2.0 / 15.0, -17.0 / 315.0, 62.0 / 2835.0];
        for (got, want) in c.iter().zip(expected) {
            assert!((got - want).abs() < 1e-16, "{got} against {want}");
        }
    }

    #[test]
    fn inverse_factorials_start_at_the_given_k() {
        assert_eq!(inverse_factorials::<3>(2), [0.5, 1.0 / 6.0, 1.0 / 24.0]);
    }

    #[test]
    fn ln2_splits_sum_to_ln2_and_the_high_part_is_short() {
        assert_eq!(f64::LN2_HI.to_bits() & 0x1f_ffff, 0);
        assert_eq!(f64::LN2_HI + f64::LN2_LO, std::f64::consts::LN_2);
        assert_eq!(f32::LN2_HI, 355.0 / 512.0);
        assert_eq!(f32::LN2_HI + f32::LN2_LO, std::f32::consts::LN_2);
    }

    #[test]
    fn split_exponent_handles_subnormals_and_the_sqrt2_boundary() {
        for x in [1.0_f64, 1.5, 0.7, 1e-310, 3.0e300] {
            let (k, f) = f64::split_exponent(x);
            assert!((0.70..1.42).contains(&(1.0 + f)), "{x}: f = {f}");
            // 2ᵏ in two halves: powi computes 2⁻¹⁰³⁰ as 1/2¹⁰³⁰, which overflows.
            let k = k as i32;
            assert_eq!(
                (1.0 + f) * 2f64.powi(k / 2) * 2f64.powi(k - k / 2),
                x,
                "{x}"
            );
        }
        let (k, f) = f32::split_exponent(1e-40);
        assert_eq!((1.0 + f as f64) * 2f64.powi(k as i32), 1e-40_f32 as f64);
    }

    #[test]
    fn pow2_and_rounding_give_exact_integers() {
        assert_eq!(f32::pow2(-126.0), f32::MIN_POSITIVE);
        assert_eq!(f64::pow2(1023.0), 2f64.powi(1023));
        assert_eq!(f32::round_to_integer(2.5), 2.0);
        assert_eq!(f64::round_to_integer(-3.7), -4.0);
    }
}
