//! Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body.
//!
//! ```
//! use trustflow::codec::wire;
//!
//! let mut value = Vec::new();
//! wire::frame(7, b"\x02a", &mut value);
//! assert_eq!(value, [0, 0, 0, 0, 7, 2, b'a']);
//! assert_eq!(wire::split(&value).unwrap(), (7, &b"\x02a"[..]));
//! ```

use super::error::CodecError;

/// The first byte of every Confluent wire-format value.
pub const MAGIC_BYTE: u8 = 0;

/// Length of the header: magic byte and schema id.
pub const HEADER_LEN: usize = 5;

/// Split a value into its schema id and its Avro body.
///
/// A first byte other than 0 is [`CodecError::BadMagicByte`] (checked first, as it says more
/// than the length); fewer than 5 bytes is [`CodecError::Truncated`].
#[inline]
pub fn split(bytes: &[u8]) -> Result<(u32, &[u8]), CodecError> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, body @ ..] => Ok((u32::from_be_bytes([*a, *b, *c, *d]), body)),
        [found, ..] if *found != MAGIC_BYTE => Err(CodecError::BadMagicByte { found: *found }),
        _ => Err(CodecError::Truncated { len: bytes.len() }),
    }
}

/// Append the 5-byte header for `schema_id` to `out`.
#[inline]
pub fn write_header(schema_id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Append a complete value (header and `body`) to `out`.
#[inline]
pub fn frame(schema_id: u32, body: &[u8], out: &mut Vec<u8>) {
    out.reserve(HEADER_LEN + body.len());
    write_header(schema_id, out);
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_then_split_round_trips() {
        let mut out = vec![9]; // frame appends
        frame(0x0102_0304, b"body", &mut out);
        assert_eq!(out, [9, 0, 1, 2, 3, 4, b'b', b'o', b'd', b'y']);
        assert_eq!(split(&out[1..]).unwrap(), (0x0102_0304, &b"body"[..]));
    }

    #[test]
    fn empty_body_is_allowed_here() {
        assert_eq!(split(&[0, 0, 0, 0, 1]).unwrap(), (1, &[][..]));
    }

    #[test]
    fn bad_magic_byte() {
        let err = split(&[1, 0, 0, 0, 1, 2]).unwrap_err();
        assert!(matches!(err, CodecError::BadMagicByte { found: 1 }), "{err}");
        assert_eq!(err.reason(), "bad_magic_byte");
        // A short value with a wrong first byte reports the magic byte.
        assert!(matches!(split(b"{"), Err(CodecError::BadMagicByte { found: b'{' })));
    }

    #[test]
    fn truncated_header() {
        for len in 0..HEADER_LEN {
            let err = split(&[0u8; 4][..len.min(4)]).unwrap_err();
            assert!(matches!(err, CodecError::Truncated { len: l } if l == len.min(4)), "{err}");
            assert_eq!(err.reason(), "truncated");
            assert!(!err.is_retryable());
        }
    }
}
