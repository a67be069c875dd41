//! The element-wise functions on one lane, written once for `f32` and `f64` over [`Lane`].
//!
//! Every kernel is branch-free: where the scalar function branches, both sides are computed and
//! one is selected, so a loop over a kernel vectorises. They match `crate::scalar`'s stable
//! forms and special values (±0, ±∞, NaN, overflow), with one NaN bit pattern for every NaN.

use super::lane::{horner, select, Lane};

/// The one NaN for every NaN result, so outputs are identical bits on every path.
#[inline(always)]
fn canonical<T: Lane>(result: T) -> T {
    select(result.is_nan(), T::NAN, result)
}

/// eˣ as (m, n) with eˣ ≈ (1 + m)·2ⁿ: n = round(x/ln 2), m = eʳ − 1 for r = x − n·ln 2.
/// `x` is clamped to just past the overflow and underflow thresholds, so n stays small
/// enough for [`scale`]; callers select the limits themselves. The clamp is 8 below exp's
/// underflow threshold, where `silu`'s x·eˣ still has to reach 0 by itself.
#[inline(always)]
fn exp_parts<T: Lane>(x: T) -> (T, T) {
    exp_parts_with(x, T::EXP_TAYLOR)
}

/// [`exp_parts`] with eʳ's Taylor series cut to `exp_taylor`.
#[inline(always)]
fn exp_parts_with<T: Lane>(x: T, exp_taylor: &[T]) -> (T, T) {
    let low = T::EXP_UNDERFLOW - T::from_f64(8.0);
    let high = T::EXP_OVERFLOW + T::ONE;
    let x = select(x < low, low, select(x > high, high, x));
    let n = T::round_to_integer(x * T::LOG2_E);
    // n·LN2_HI is exact and close to x, so the first subtraction is exact too.
    let r = (x - n * T::LN2_HI) - n * T::LN2_LO;
    let m = r + r * r * horner(r, exp_taylor);
    (m, n)
}

/// y·2ⁿ with one rounding, the last: 2ⁿ is applied in two halves, each a normal number, so a
/// result in the subnormal range is rounded once, as a correctly rounded function's would be.
#[inline(always)]
fn scale<T: Lane>(y: T, n: T) -> T {
    let first = T::round_to_integer(n * T::HALF);
    y * T::pow2(first) * T::pow2(n - first)
}

/// eˣ from its parts, with +∞ above the overflow threshold and 0 below the underflow one.
#[inline(always)]
fn exp_from_parts<T: Lane>(x: T, (m, n): (T, T)) -> T {
    let value = scale(T::ONE + m, n);
    select(
        x > T::EXP_OVERFLOW,
        T::INFINITY,
        select(x < T::EXP_UNDERFLOW, T::ZERO, value),
    )
}

/// eˣ.
#[inline(always)]
pub(crate) fn exp<T: Lane>(x: T) -> T {
    canonical(exp_from_parts(x, exp_parts(x)))
}

/// tanh(x): its Taylor series near 0, and 1 − 2e/(1 + e) with e = e^−2|x| elsewhere, where
/// tanh(x) > ½, so the rounding errors of the small quotient shrink in the result; then the
/// sign of `x`, so tanh(−0) = −0.
#[inline(always)]
pub(crate) fn tanh<T: Lane>(x: T) -> T {
    let a = x.abs();
    let a2 = a * a;
    let series = a + a * (a2 * horner(a2, T::TANH_TAYLOR));
    // Past TANH_ONE_FROM, tanh(x) rounds to ±1, and 2ⁿ stays a normal number.
    let clamped = select(a > T::TANH_ONE_FROM, T::TANH_ONE_FROM, a);
    let (m, n) = exp_parts(-(clamped + clamped));
    let e = T::pow2(n) * (T::ONE + m);
    let rational = T::ONE - (e + e) / (T::ONE + e);
    let magnitude = select(a < T::TANH_SERIES_BELOW, series, rational);
    canonical(T::copysign(magnitude, x))
}

/// The parts of e^−|x| and its value: the one exponential the logistic functions need, which
/// never overflows.
#[inline(always)]
fn exp_minus_abs<T: Lane>(x: T) -> ((T, T), T) {
    let minus_a = -x.abs();
    let parts = exp_parts(minus_a);
    (parts, exp_from_parts(minus_a, parts))
}

/// 1/(1 + e⁻ˣ) for x ≥ 0, eˣ/(1 + eˣ) below, as `crate::sigmoid`.
#[inline(always)]
pub(crate) fn sigmoid<T: Lane>(x: T) -> T {
    sigmoid_with(x, T::EXP_TAYLOR)
}

/// [`sigmoid`] with eʳ's Taylor series cut to `exp_taylor`.
#[inline(always)]
fn sigmoid_with<T: Lane>(x: T, exp_taylor: &[T]) -> T {
    let minus_a = -x.abs();
    let e = exp_from_parts(minus_a, exp_parts_with(minus_a, exp_taylor));
    canonical(select(x >= T::ZERO, T::ONE, e) / (T::ONE + e))
}

/// sigmoid(x) in `f32`, through `f64`: in `f32` it would round three times, to up to an ulp
/// each (e, 1 + e, the quotient). In `f64`, e^−|x| needs neither the thresholds nor the
/// two-step scaling (e^−110 is a normal `f64`, and an `f32` sigmoid is 0 or 1 from there on),
/// and eʳ to degree 8 is within 2⁻³², so the result is within ½ ulp and 2⁻⁸.
#[inline(always)]
pub(crate) fn sigmoid_f32(x: f32) -> f32 {
    let x = x as f64;
    let a = x.abs();
    let minus_a = -select(a > 110.0, 110.0, a);
    let (m, n) = exp_parts_with(minus_a, EXP_TAYLOR_TO_DEGREE_8);
    let e = f64::pow2(n) * (1.0 + m);
    canonical((select(x >= 0.0, 1.0, e) / (1.0 + e)) as f32)
}

const EXP_TAYLOR_TO_DEGREE_8: &[f64] = f64::EXP_TAYLOR.split_at(7).0;

/// x·sigmoid(x). For x < 0 the factor eˣ is applied last, as a scaling, so that a result in
/// the subnormal range is not the product of `x` and an already rounded subnormal.
#[inline(always)]
pub(crate) fn silu<T: Lane>(x: T) -> T {
    let ((m, n), e) = exp_minus_abs(x);
    let over = x / (T::ONE + e);
    let negative = scale(over * (T::ONE + m), n);
    // Below the clamp x·eˣ is 0 (and −∞·0 is NaN, as x·sigmoid(x) gives).
    let negative = select(
        x < T::EXP_UNDERFLOW - T::from_f64(8.0),
        x * T::ZERO,
        negative,
    );
    canonical(select(x >= T::ZERO, over, negative))
}

/// ln(2ᵏ·(1 + f)) + c for 1 + f in [√½, √2): ln(1 + f) = 2·atanh(s) with s = f/(2 + f),
/// written f − s·(f − R) so the large term f is exact; `c` is a small correction to add.
#[inline(always)]
fn ln_from_parts<T: Lane>(k: T, f: T, c: T) -> T {
    let s = f / (T::TWO + f);
    let z = s * s;
    let r = z * horner(z, T::LN_SERIES);
    let ln_1p_f = f - s * (f - r);
    k * T::LN2_HI + (ln_1p_f + (k * T::LN2_LO + c))
}

/// ln(x): −∞ at ±0, NaN below 0, +∞ at +∞.
#[inline(always)]
pub(crate) fn ln<T: Lane>(x: T) -> T {
    let (k, f) = T::split_exponent(x);
    let value = ln_from_parts(k, f, T::ZERO);
    let value = select(x == T::INFINITY, T::INFINITY, value);
    // NaN for x < 0 and for NaN, which fails x ≥ 0 too.
    let value = select(x >= T::ZERO, value, T::NAN);
    canonical(select(x == T::ZERO, -T::INFINITY, value))
}

/// ln(1 + eˣ) as max(x, 0) + ln(1 + e^−|x|), as `crate::softplus`. ln(1 + e) is ln(u) for
/// u = 1 + e plus (e − (u − 1))/u, the part of e that the sum u rounded away.
#[inline(always)]
pub(crate) fn softplus<T: Lane>(x: T) -> T {
    let (_, e) = exp_minus_abs(x);
    let u = T::ONE + e;
    let (k, f) = T::split_exponent(u);
    let lost = (e - (u - T::ONE)) / u;
    let ln_1p_e = ln_from_parts(k, f, lost);
    canonical(select(x > T::ZERO, x, T::ZERO) + ln_1p_e)
}

/// The error function of |x| and its complement, for `erf` and `gelu` in `f32`: computed in
/// `f64`, far more precisely than an `f32` result needs.
///
/// Below 2.5, erf's Taylor series, 2/√π·Σ (−1)ⁿ·x²ⁿ⁺¹/(n!·(2n + 1)), to 34 terms: within
/// 2·10⁻¹³ of erf, so 1 − erf is within 10⁻⁹ of erfc relative, where `f32`'s half ulp is
/// 3·10⁻⁸. From 2.5, erfc(x) = e^−x²/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))), Laplace's
/// continued fraction, to 16 levels (within 3·10⁻¹⁰ relative), as one quotient of its
/// convergents' numerator and denominator.
#[inline(always)]
pub(crate) fn erf_erfc_abs(a: f64) -> (f64, f64) {
    let near = a < ERF_SERIES_BELOW;
    let s = select(near, a, ERF_SERIES_BELOW);
    let erf_near = s * horner(s * s, &ERF_TAYLOR);
    // From 28 on, e^−x² is below f64's underflow threshold: 0, and so is erfc.
    let t = select(near, ERF_SERIES_BELOW, select(a > 28.0, 28.0, a));
    let (mut p_before, mut p) = (1.0, t);
    let (mut q_before, mut q) = (0.0, 1.0);
    for level in 1..=ERFC_FRACTION_LEVELS {
        let numerator = level as f64 / 2.0;
        (p_before, p) = (p, t * p + numerator * p_before);
        (q_before, q) = (q, t * q + numerator * q_before);
    }
    let erfc_far = exp(-(t * t)) * FRAC_1_SQRT_PI * (q / p);
    (
        select(near, erf_near, 1.0 - erfc_far),
        select(near, 1.0 - erf_near, erfc_far),
    )
}

const ERF_SERIES_BELOW: f64 = 2.5;
const ERFC_FRACTION_LEVELS: u32 = 16;
const FRAC_1_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI / 2.0;
const ERF_TAYLOR: [f64; 34] = erf_taylor();

/// 2/√π·(−1)ⁿ/(n!·(2n + 1)), the coefficient of x²ⁿ⁺¹ in erf(x).
const fn erf_taylor<const N: usize>() -> [f64; N] {
    let mut out = [0.0; N];
    let mut signed_inverse_factorial = 1.0;
    let mut n = 0;
    while n < N {
        if n > 0 {
            signed_inverse_factorial /= -(n as f64);
        }
        out[n] = std::f64::consts::FRAC_2_SQRT_PI * signed_inverse_factorial / (2 * n + 1) as f64;
        n += 1;
    }
    out
}

/// erf(x) in `f32`, through `f64`.
#[inline(always)]
pub(crate) fn erf_f32(x: f32) -> f32 {
    let wide = x as f64;
    let (erf, _) = erf_erfc_abs(wide.abs());
    canonical(f64::copysign(erf, wide) as f32)
}

/// x·Φ(x) in `f32`, through `f64`: Φ(x) = erfc(−x/√2)/2, from the complement on the left so
/// that the tail keeps its relative precision, as `crate::scalar::normal_cdf`.
#[inline(always)]
pub(crate) fn gelu_f32(x: f32) -> f32 {
    let wide = x as f64;
    let (erf, erfc) = erf_erfc_abs(wide.abs() * std::f64::consts::FRAC_1_SQRT_2);
    let cdf = select(wide <= 0.0, 0.5 * erfc, 0.5 + 0.5 * erf);
    canonical((wide * cdf) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_taylor_starts_with_the_known_coefficients() {
        let two_over_sqrt_pi = std::f64::consts::FRAC_2_SQRT_PI;
        assert_eq!(ERF_TAYLOR[0], two_over_sqrt_pi);
        assert!((ERF_TAYLOR[1] + two_over_sqrt_pi / 3.0).abs() < 1e-16);
        assert!((ERF_TAYLOR[2] - two_over_sqrt_pi / 10.0).abs() < 1e-16);
    }

    #[test]
    fn erf_pieces_agree_where_they_meet() {
        for a in [2.499_999_999, 2.5] {
            let (erf, erfc) = erf_erfc_abs(a);
            assert!((erf - libm::erf(a)).abs() < 2e-13, "{a}: {erf}");
            assert!((erfc / libm::erfc(a) - 1.0).abs() < 1e-9, "{a}: {erfc}");
        }
    }
}
