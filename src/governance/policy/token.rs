//! Tokenization: keyed HMAC-SHA256 tokens, deterministic so joins on tokens still work.
//!
//! Nobody without the key can recompute or reverse a token.
//!
//! Token format: `tok:<type>:<32 hex digits>`, where the hex digits are the first 16 bytes of
//! `HMAC-SHA256(key, "trustflow-token-v1" 0x1F <type> 0x1F <normalised value>)`, lower case.
//! `<type>` is the PII type's name (`email`, `payment_card`, ...), so equal text of different
//! types gives different tokens. Normalisation makes differently written equal values equal:
//! see [`normalise`].

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::error::PolicyError;
use crate::governance::pii::PiiType;

/// The shortest key accepted, bytes (HMAC-SHA256's output size).
pub const MIN_KEY_BYTES: usize = 32;
/// Bytes of the MAC kept in a token.
pub const TOKEN_BYTES: usize = 16;
/// Domain separation: changes if the token scheme ever changes.
const DOMAIN: &[u8] = b"trustflow-token-v1";
/// Separates the parts of the MAC's input.
const UNIT_SEPARATOR: &[u8] = &[0x1F];

/// A keyed tokenizer. The key is never printed.
#[derive(Clone)]
pub struct Tokenizer {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tokenizer { key: <redacted> }")
    }
}

impl Tokenizer {
    /// A tokenizer with `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: &[u8]) -> Result<Tokenizer, PolicyError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(PolicyError::ShortKey { len: key.len(), min: MIN_KEY_BYTES });
        }
        // HMAC takes keys of any length; the length is checked above.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|_| PolicyError::ShortKey { len: key.len(), min: MIN_KEY_BYTES })?;
        Ok(Tokenizer { mac })
    }

    /// A tokenizer with the key written as hexadecimal (what the key's environment variable
    /// holds; surrounding whitespace is ignored).
    pub fn from_hex(hex: &str) -> Result<Tokenizer, PolicyError> {
        let hex = hex.trim();
        if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PolicyError::KeyNotHex(format!("{} characters", hex.len())));
        }
        let key: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|e| PolicyError::KeyNotHex(e.to_string()))?;
        Tokenizer::new(&key)
    }

    /// The token of `text`, a value of type `kind`.
    pub fn token(&self, kind: PiiType, text: &str) -> String {
        let mut mac = self.mac.clone();
        for part in [DOMAIN, UNIT_SEPARATOR, kind.name().as_bytes(), UNIT_SEPARATOR] {
            mac.update(part);
        }
        mac.update(normalise(kind, text).as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut token = format!("tok:{}:", kind.name());
        for byte in &digest[..TOKEN_BYTES] {
            token.push_str(&format!("{byte:02x}"));
        }
        token
    }
}

/// What is tokenized of `text`: e-mails lower-cased; card numbers, SSNs digits only; phone
/// numbers digits only, with a `+` for international ones (`+` or `00`); IBANs letters and
/// digits upper-cased; IP addresses in their canonical form; everything else with runs of
/// white space made one space, trimmed and lower-cased.
pub fn normalise(kind: PiiType, text: &str) -> String {
    let digits = || text.chars().filter(char::is_ascii_digit).collect::<String>();
    match kind {
        PiiType::Email => text.trim().to_lowercase(),
        PiiType::PaymentCard | PiiType::UsSsn => digits(),
        PiiType::Phone => {
            let trimmed = text.trim_start();
            if trimmed.starts_with('+') {
                format!("+{}", digits())
            } else if trimmed.starts_with("00") {
                format!("+{}", &digits()[2..])
            } else {
                digits()
            }
        }
        PiiType::Iban => {
            text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
        }
        PiiType::IpAddress => match text.trim().parse::<std::net::IpAddr>() {
            Ok(addr) => addr.to_string(),
            Err(_) => text.trim().to_lowercase(),
        },
        PiiType::DateOfBirth | PiiType::PersonName | PiiType::Address => {
            text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn tokens_are_deterministic_keyed_and_typed() {
        let t = Tokenizer::from_hex(KEY).unwrap();
        let a = t.token(PiiType::Email, "Jane.Doe@Example.com");
        assert_eq!(a, t.token(PiiType::Email, " jane.doe@example.com"));
        assert!(a.starts_with("tok:email:") && a.len() == "tok:email:".len() + 32, "{a}");
        assert_ne!(a, t.token(PiiType::Email, "john@example.com"));
        assert_ne!(t.token(PiiType::UsSsn, "536228726"), t.token(PiiType::Phone, "536228726"));
        let other = Tokenizer::new(&[7u8; 32]).unwrap();
        assert_ne!(a, other.token(PiiType::Email, "jane.doe@example.com"));
        // Written differently, the same card or IBAN or phone number: the same token.
        assert_eq!(
            t.token(PiiType::PaymentCard, "4111 1111 1111 1111"),
            t.token(PiiType::PaymentCard, "4111-1111-1111-1111")
        );
        assert_eq!(
            t.token(PiiType::Iban, "de89 3704 0044 0532 0130 00"),
            t.token(PiiType::Iban, "DE89370400440532013000")
        );
        assert_eq!(t.token(PiiType::Phone, "+49 30 1234567"), t.token(PiiType::Phone, "0049-30-1234567"));
        assert_eq!(
            t.token(PiiType::IpAddress, "2001:0db8::0001"),
            t.token(PiiType::IpAddress, "2001:db8::1")
        );
    }

    #[test]
    fn the_token_is_hmac_sha256_of_the_documented_message() {
        // Pinned against Python's hmac module: the format is a contract with whoever joins
        // on tokens. hmac.new(bytes(range(32)),
        //   b"trustflow-token-v1\x1femail\x1fjane@example.com", sha256).hexdigest()[:32]
        let t = Tokenizer::from_hex(KEY).unwrap();
        assert_eq!(t.token(PiiType::Email, "Jane@Example.com"), "tok:email:54a1502f9dd0743b15dd2cefd6770aa9");
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert!(matches!(Tokenizer::new(&[1u8; 31]), Err(PolicyError::ShortKey { len: 31, min: 32 })));
        assert!(matches!(Tokenizer::from_hex("zz"), Err(PolicyError::KeyNotHex(_))));
        assert!(matches!(Tokenizer::from_hex("abc"), Err(PolicyError::KeyNotHex(_))));
        assert_eq!(format!("{:?}", Tokenizer::from_hex(KEY).unwrap()), "Tokenizer { key: <redacted> }");
    }
}
