//! Exact conversions between Avro decimals (two's-complement big-endian) and `rust_decimal`.
//!
//! Avro's decimal bytes carry no scale: it comes from the schema. Every conversion here is
//! exact; a value that does not fit, or that would lose a non-zero digit when brought to the
//! required scale, is an error, never a rounding.

use rust_decimal::Decimal;

use super::error::CodecError;

/// The signed integer of a two's-complement big-endian byte string, if it fits an `i128`.
///
/// Redundant leading sign bytes (longer encodings than needed) are accepted. An empty string
/// is zero, as Java's and apache-avro's readers agree it is.
pub(crate) fn i128_from_be(bytes: &[u8]) -> Option<i128> {
    let Some(first) = bytes.first() else {
        return Some(0);
    };
    let fill = if first & 0x80 != 0 { 0xFF } else { 0x00 };
    let bytes = if bytes.len() > 16 {
        let (head, tail) = bytes.split_at(bytes.len() - 16);
        // The dropped bytes must be pure sign extension of what is kept.
        if head.iter().any(|b| *b != fill) || (tail[0] ^ fill) & 0x80 != 0 {
            return None;
        }
        tail
    } else {
        bytes
    };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// The shortest two's-complement big-endian encoding of `v` (at least one byte), as Java's
/// `BigInteger.toByteArray` writes it. Returns the buffer and the start of the encoding.
pub(crate) fn minimal_be(v: i128) -> ([u8; 16], usize) {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next_neg) = (bytes[start], bytes[start + 1] & 0x80 != 0);
        if (b == 0x00 && !next_neg) || (b == 0xFF && next_neg) {
            start += 1;
        } else {
            break;
        }
    }
    (bytes, start)
}

/// `mantissa * 10^-from` as a mantissa at scale `to`, exactly.
pub(crate) fn rescale(field: &'static str, mantissa: i128, from: u32, to: u32) -> Result<i128, CodecError> {
    if to >= from {
        10i128
            .checked_pow(to - from)
            .and_then(|f| mantissa.checked_mul(f))
            .ok_or(CodecError::DecimalOutOfRange { field })
    } else {
        let lost = CodecError::DecimalPrecisionLoss { field, from, to };
        let Some(f) = 10i128.checked_pow(from - to) else {
            return if mantissa == 0 { Ok(0) } else { Err(lost) };
        };
        if mantissa % f == 0 { Ok(mantissa / f) } else { Err(lost) }
    }
}

/// An Avro decimal of `scale` (its unscaled bytes) as a `Decimal` of scale `to`.
pub(crate) fn decode(
    field: &'static str,
    bytes: &[u8],
    scale: usize,
    to: u32,
) -> Result<Decimal, CodecError> {
    let out_of_range = CodecError::DecimalOutOfRange { field };
    let mantissa = i128_from_be(bytes).ok_or(out_of_range.clone())?;
    let scale = u32::try_from(scale).map_err(|_| out_of_range.clone())?;
    let mantissa = rescale(field, mantissa, scale, to)?;
    // Fails beyond 28 digits (96-bit mantissa) or scale 28.
    Decimal::try_from_i128_with_scale(mantissa, to).map_err(|_| out_of_range)
}

/// The unscaled mantissa of `value` at the schema's `scale`, checked against its `precision`.
pub(crate) fn encode(
    field: &'static str,
    value: &Decimal,
    precision: usize,
    scale: usize,
) -> Result<i128, CodecError> {
    let scale = u32::try_from(scale).map_err(|_| CodecError::DecimalOutOfRange { field })?;
    let mantissa = rescale(field, value.mantissa(), value.scale(), scale)?;
    // 10^precision fits an i128 up to precision 38; beyond, every i128 fits.
    let fits = u32::try_from(precision)
        .ok()
        .and_then(|p| 10u128.checked_pow(p))
        .is_none_or(|limit| mantissa.unsigned_abs() < limit);
    if fits { Ok(mantissa) } else { Err(CodecError::DecimalOutOfRange { field }) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn min_bytes(v: i128) -> Vec<u8> {
        let (buf, start) = minimal_be(v);
        buf[start..].to_vec()
    }

    #[test]
    fn minimal_encoding_matches_java_big_integer() {
        assert_eq!(min_bytes(0), [0x00]);
        assert_eq!(min_bytes(1), [0x01]);
        assert_eq!(min_bytes(127), [0x7F]);
        assert_eq!(min_bytes(128), [0x00, 0x80]);
        assert_eq!(min_bytes(-1), [0xFF]);
        assert_eq!(min_bytes(-128), [0x80]);
        assert_eq!(min_bytes(-129), [0xFF, 0x7F]);
        assert_eq!(min_bytes(-500), [0xFE, 0x0C]);
        assert_eq!(min_bytes(i128::MIN).len(), 16);
    }

    #[test]
    fn bytes_round_trip_through_i128() {
        for v in [0, 1, -1, 127, 128, -128, -129, 999_999_999_999_999_999, i128::MAX, i128::MIN] {
            assert_eq!(i128_from_be(&min_bytes(v)), Some(v), "{v}");
        }
        assert_eq!(i128_from_be(&[]), Some(0));
        // Redundant sign extension beyond 16 bytes is accepted...
        let mut long = vec![0xFF; 4];
        long.extend_from_slice(&(-5i128).to_be_bytes());
        assert_eq!(i128_from_be(&long), Some(-5));
        // ...but not a value that needs more than 128 bits.
        let mut big = vec![0x01];
        big.extend_from_slice(&[0; 16]);
        assert_eq!(i128_from_be(&big), None);
        let mut flipped = vec![0x00];
        flipped.extend_from_slice(&(-5i128).to_be_bytes());
        assert_eq!(i128_from_be(&flipped), None);
    }

    #[test]
    fn decode_takes_scale_from_schema_and_rescales_exactly() {
        let d = decode("amount", &[0x01], 2, 2).unwrap();
        assert_eq!((d, d.scale()), (dec("0.01"), 2));
        let d = decode("amount", &min_bytes(-500), 2, 2).unwrap();
        assert_eq!((d, d.scale()), (dec("-5.00"), 2));
        // Writer scale 0 -> 2.
        let d = decode("amount", &min_bytes(7), 0, 2).unwrap();
        assert_eq!((d.mantissa(), d.scale()), (700, 2));
        // Writer scale 4 with zero tail -> 2; with a non-zero tail it is an error.
        let d = decode("amount", &min_bytes(12_300), 4, 2).unwrap();
        assert_eq!((d.mantissa(), d.scale()), (123, 2));
        assert!(matches!(
            decode("amount", &min_bytes(12_345), 4, 2),
            Err(CodecError::DecimalPrecisionLoss { from: 4, to: 2, .. })
        ));
    }

    #[test]
    fn decode_rejects_beyond_28_digits() {
        // 2^96 does not fit rust_decimal's 96-bit mantissa.
        let err = decode("amount", &min_bytes(1i128 << 96), 2, 2).unwrap_err();
        assert!(matches!(err, CodecError::DecimalOutOfRange { field: "amount" }), "{err}");
        assert_eq!(err.reason(), "decimal_out_of_range");
        let max = (1i128 << 96) - 1;
        assert_eq!(decode("amount", &min_bytes(max), 2, 2).unwrap().mantissa(), max);
        let mut seventeen = vec![0x01];
        seventeen.extend_from_slice(&[0; 16]);
        assert!(decode("amount", &seventeen, 2, 2).is_err());
    }

    #[test]
    fn encode_checks_precision_and_scale() {
        assert_eq!(encode("amount", &dec("9999999999999999.99"), 18, 2).unwrap(), 999_999_999_999_999_999);
        assert_eq!(encode("amount", &dec("5"), 18, 2).unwrap(), 500);
        assert_eq!(encode("amount", &dec("-5.000"), 18, 2).unwrap(), -500);
        assert!(matches!(
            encode("amount", &dec("10000000000000000.00"), 18, 2),
            Err(CodecError::DecimalOutOfRange { .. })
        ));
        assert!(matches!(
            encode("amount", &dec("0.001"), 18, 2),
            Err(CodecError::DecimalPrecisionLoss { from: 3, to: 2, .. })
        ));
    }
}
