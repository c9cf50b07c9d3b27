//! Exact amounts: decimal text or scaled integers to decimal(18,2), rounded HALF_UP like Spark.
//!
//! Spark reads a JSON amount into `decimal(18,2)` through `java.math.BigDecimal` and
//! `setScale(2, ROUND_HALF_UP)`, refusing a value that then has more than 18 digits. These
//! functions do the same on the text (or the unscaled integer) directly, never through a float,
//! for any number of digits: `0.125` is 0.13, `-0.125` is -0.13, `1e2` is 100.00.

use deltalake::arrow::datatypes::i256;
use rust_decimal::Decimal;

use crate::record::AMOUNT_SCALE;
use crate::sink::columns::AMOUNT_PRECISION;

/// Why a value is not an amount.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is not a decimal number (digits, an optional point and exponent, a sign).
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    /// Rounded to 2 decimals, the value has more than 18 digits.
    #[error("{0} does not fit decimal(18,2) (at most 16 digits before the point)")]
    OutOfRange(String),
}

/// Exponents beyond this decide the outcome alone (out of range, or zero).
const EXPONENT_CAP: i64 = 1 << 20;

/// The amount written as `text` (Java `BigDecimal` syntax: `[+-]digits[.digits][e[+-]digits]`,
/// also `.5` and `5.`), rounded half away from zero to 2 decimals.
pub fn parse(text: &str) -> Result<Decimal, AmountError> {
    let not_a_number = || AmountError::NotANumber(shorten(text));
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mantissa, exponent) = match rest.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(i) => (&rest[..i], parse_exponent(&rest[i + 1..]).ok_or_else(not_a_number)?),
        None => (rest, 0),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &[][..]),
    };
    if int.len() + frac.len() == 0 || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(not_a_number());
    }
    // value = digits * 10^(exponent - frac.len()); its unscaled form at scale 2 shifts by 2 more.
    let frac_len = i64::try_from(frac.len()).unwrap_or(i64::MAX);
    let shift = exponent.saturating_sub(frac_len).saturating_add(i64::from(AMOUNT_SCALE as u8));
    let leading_zeros = int.iter().chain(frac).take_while(|&&b| b == b'0').count();
    let significant = || int.iter().chain(frac).skip(leading_zeros).map(|b| u128::from(b - b'0'));
    let count = i64::try_from(int.len() + frac.len() - leading_zeros).unwrap_or(i64::MAX);
    let out_of_range = || AmountError::OutOfRange(shorten(text));
    let max_digits = i64::from(AMOUNT_PRECISION);
    let unscaled = if count == 0 {
        0
    } else if shift >= 0 {
        if count.saturating_add(shift) > max_digits {
            return Err(out_of_range());
        }
        significant().fold(0, |v, d| v * 10 + d) * 10u128.pow(shift as u32)
    } else {
        let keep = count.saturating_add(shift);
        if keep > max_digits {
            return Err(out_of_range());
        }
        let keep = usize::try_from(keep.max(0)).unwrap_or(0);
        let kept = significant().take(keep).fold(0, |v, d| v * 10 + d);
        // HALF_UP: the first dropped digit decides (a dropped leading zero if keep < 0).
        let first_dropped =
            if count.saturating_add(shift) < 0 { 0 } else { significant().nth(keep).unwrap_or(0) };
        kept + u128::from(first_dropped >= 5)
    };
    finish(negative, unscaled).ok_or_else(out_of_range)
}

/// The amount whose unscaled value is `unscaled` at `scale` (a Parquet/Arrow decimal), rounded
/// half away from zero to 2 decimals.
pub fn from_unscaled(unscaled: i256, scale: i8) -> Result<Decimal, AmountError> {
    let out_of_range = || AmountError::OutOfRange(format!("{unscaled}e{}", -i32::from(scale)));
    let target = AMOUNT_SCALE as i32;
    let magnitude = unscaled.checked_abs().ok_or_else(out_of_range)?;
    if magnitude == i256::ZERO {
        return Ok(Decimal::new(0, AMOUNT_SCALE));
    }
    let ten = i256::from_i128(10);
    let rescaled = if i32::from(scale) <= target {
        let factor = ten.checked_pow((target - i32::from(scale)) as u32).ok_or_else(out_of_range)?;
        magnitude.checked_mul(factor).ok_or_else(out_of_range)?
    } else {
        match ten.checked_pow((i32::from(scale) - target) as u32) {
            Some(divisor) => {
                let (q, r) = (magnitude.wrapping_div(divisor), magnitude.wrapping_rem(divisor));
                let half_or_more = r.checked_mul(i256::from_i128(2)).is_none_or(|twice| twice >= divisor);
                q.wrapping_add(i256::from_i128(i128::from(half_or_more)))
            }
            // 10^(scale - 2) beyond 256 bits: every representable value rounds to zero.
            None => i256::ZERO,
        }
    };
    let small = rescaled.to_i128().and_then(|v| u128::try_from(v).ok()).ok_or_else(out_of_range)?;
    finish(unscaled.is_negative(), small).ok_or_else(out_of_range)
}

/// The signed decimal of an unscaled magnitude, if it fits [`AMOUNT_PRECISION`] digits.
fn finish(negative: bool, unscaled: u128) -> Option<Decimal> {
    if unscaled >= 10u128.pow(u32::from(AMOUNT_PRECISION)) {
        return None;
    }
    let signed = i128::try_from(unscaled).ok()?;
    Some(Decimal::from_i128_with_scale(if negative { -signed } else { signed }, AMOUNT_SCALE))
}

/// The exponent after `e`: an optional sign and at least one digit, capped at [`EXPONENT_CAP`].
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().fold(0i64, |v, d| (v * 10 + i64::from(d - b'0')).min(EXPONENT_CAP));
    Some(if negative { -value } else { value })
}

/// At most 40 characters of `text`, for messages.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> String {
        parse(text).unwrap().to_string()
    }

    #[test]
    fn texts_round_half_up_to_two_decimals() {
        for (text, expected) in [
            ("100", "100.00"),
            ("100.5", "100.50"),
            ("300.02", "300.02"),
            ("1e2", "100.00"),
            ("1E+2", "100.00"),
            ("12.5e-1", "1.25"),
            ("0.125", "0.13"),
            ("-0.125", "-0.13"),
            ("0.124999999999999999999999999999999", "0.12"),
            ("0.005", "0.01"),
            ("0.00499", "0.00"),
            ("-0.001", "0.00"),
            ("0.5e-2", "0.01"),
            ("5e-4", "0.00"),
            ("1e-100000000000", "0.00"),
            (".5", "0.50"),
            ("5.", "5.00"),
            ("+7", "7.00"),
            ("000123.4500", "123.45"),
            ("0", "0.00"),
            ("0e999999999999", "0.00"),
            ("9999999999999999.99", "9999999999999999.99"),
            ("9999999999999999.994", "9999999999999999.99"),
            ("-9999999999999999.99", "-9999999999999999.99"),
        ] {
            assert_eq!(ok(text), expected, "{text}");
        }
    }

    #[test]
    fn bad_or_large_texts_are_refused() {
        for text in
            ["", "-", ".", "e2", "1e", "1e+", "abc", "1.2.3", " 1", "1 ", "0x10", "NaN", "1,000", "--1"]
        {
            assert!(matches!(parse(text), Err(AmountError::NotANumber(_))), "{text}");
        }
        for text in ["10000000000000000", "9999999999999999.995", "1e16", "1e99999999999", "-1e17"] {
            assert!(matches!(parse(text), Err(AmountError::OutOfRange(_))), "{text}");
        }
        let long = "1".repeat(100);
        assert!(parse(&long).unwrap_err().to_string().contains("..."));
    }

    #[test]
    fn unscaled_values_rescale_half_up() {
        let d = |v: i128, s: i8| from_unscaled(i256::from_i128(v), s).map(|d| d.to_string());
        assert_eq!(d(12345, 3).unwrap(), "12.35");
        assert_eq!(d(-12345, 3).unwrap(), "-12.35");
        assert_eq!(d(12344, 3).unwrap(), "12.34");
        assert_eq!(d(7, 0).unwrap(), "7.00");
        assert_eq!(d(7, -2).unwrap(), "700.00");
        assert_eq!(d(5, 80).unwrap(), "0.00");
        assert_eq!(d(i128::MAX, 40).unwrap(), "0.02", "1.7e38 at scale 40 is 0.017");
        assert_eq!(d(i128::MAX, 41).unwrap(), "0.00");
        assert!(d(10i128.pow(16), 0).is_err());
        assert!(d(i128::MAX, 2).is_err());
        assert_eq!(d(0, -128).unwrap(), "0.00");
        assert!(from_unscaled(i256::MIN, 2).is_err());
    }
}
