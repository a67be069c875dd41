//! What a `#[dot]` graph's `NAME::dot(args…)` calls to fill its DOT text with numbers.
//! Reached as `chainrule::__private::render_dot`; not public API.

use std::fmt::Write;

/// `pieces` interleaved with `values`, each written with six significant digits (`0.368016`,
/// `-1.5e-8`): `pieces` has one more element than `values`. The compiler escaped the pieces
/// for DOT; numbers need no escaping.
///
/// ```
/// use chainrule::__private::render_dot;
/// let text = render_dot(&["a [label=\"", "\"]; b [label=\"", "\"]"], &[2.0 / 3.0, 1e-9]);
/// assert_eq!(text, "a [label=\"0.666667\"]; b [label=\"1e-9\"]");
/// ```
pub fn render_dot(pieces: &[&str], values: &[f64]) -> String {
    debug_assert_eq!(
        pieces.len(),
        values.len() + 1,
        "one piece around each value"
    );
    let mut text = String::with_capacity(
        pieces.iter().map(|piece| piece.len()).sum::<usize>() + 12 * values.len(),
    );
    for (index, piece) in pieces.iter().enumerate() {
        text.push_str(piece);
        if let Some(value) = values.get(index) {
            write_number(&mut text, *value);
        }
    }
    text
}

/// Six significant digits, in plain notation between 10⁻⁴ and 10⁶ and in scientific notation
/// outside, without trailing zeros.
fn write_number(text: &mut String, value: f64) {
    if !value.is_finite() || value == 0.0 {
        // `NaN`, `inf`, `-inf`, `0`, `-0`.
        let _ = write!(text, "{value}");
        return;
    }
    let exponent = value.abs().log10().floor() as i32;
    if (-4..6).contains(&exponent) {
        let decimals = (5 - exponent).max(0) as usize;
        let plain = format!("{value:.decimals$}");
        let plain = if plain.contains('.') {
            plain.trim_end_matches('0').trim_end_matches('.')
        } else {
            &plain
        };
        text.push_str(plain);
    } else {
        let scientific = format!("{value:.5e}");
        let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` writes an `e`");
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let _ = write!(text, "{mantissa}e{exponent}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(value: f64) -> String {
        render_dot(&["", ""], &[value])
    }

    #[test]
    fn numbers_keep_six_significant_digits() {
        assert_eq!(number(0.3680161336434), "0.368016");
        assert_eq!(number(-2.0), "-2");
        assert_eq!(number(123456.7), "123457");
        assert_eq!(number(1234567.0), "1.23457e6");
        assert_eq!(number(0.00012345678), "0.000123457");
        assert_eq!(number(-0.0000123), "-1.23e-5");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(0.0), "0");
    }
}
