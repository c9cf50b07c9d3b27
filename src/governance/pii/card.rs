//! Payment card numbers: 13-19 digits, a brand's issuer prefix and the Luhn check.
//!
//! Spaces or dashes may separate the digits. A number failing Luhn is not reported.

use regex::Regex;

use super::finding::{PiiType, Scored};

/// A digit, then 12 to 18 more, each optionally after one space or dash.
pub const PATTERN: &str = r"[0-9](?:[ \-]?[0-9]){12,18}";

/// Base score of a match with a brand prefix, thousandths.
const BASE: i16 = 300;
/// Added when the Luhn check passes.
const LUHN: i16 = 500;
/// Added when the length is one the brand issues.
const BRAND_LENGTH: i16 = 150;

/// Whether `digits` (ASCII digits only) pass the Luhn (mod 10) check.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The card brand whose issuer prefix `digits` start with, and whether their length is one
/// that brand issues.
pub fn brand(digits: &str) -> Option<(&'static str, bool)> {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
    let len = digits.len();
    let (name, lengths): (&str, &[usize]) = match () {
        _ if prefix(1) == 4 => ("visa", &[13, 16, 19]),
        _ if (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) => ("mastercard", &[16]),
        _ if matches!(prefix(2), 34 | 37) => ("amex", &[15]),
        _ if prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)) => {
            ("discover", &[16, 17, 18, 19])
        }
        _ if (3528..=3589).contains(&prefix(4)) => ("jcb", &[16, 17, 18, 19]),
        _ if matches!(prefix(2), 36 | 38 | 39) || (300..=305).contains(&prefix(3)) => {
            ("diners", &[14, 15, 16, 17, 18, 19])
        }
        _ if prefix(2) == 62 => ("unionpay", &[16, 17, 18, 19]),
        _ if matches!(prefix(2), 50 | 56..=58) || (60..=69).contains(&prefix(2)) => {
            ("maestro", &[12, 13, 14, 15, 16, 17, 18, 19])
        }
        _ => return None,
    };
    Some((name, lengths.contains(&len)))
}

/// The card numbers in `text`.
pub fn find(re: &Regex, text: &str, out: &mut Vec<Scored>) {
    if text.bytes().filter(u8::is_ascii_digit).count() < 13 {
        return;
    }
    let bytes = text.as_bytes();
    for m in re.find_iter(text) {
        let start = m.start();
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || b"_.-".contains(&bytes[start - 1])) {
            continue;
        }
        // A number followed by more digit groups ("4111 1111 1111 1111 2024"): try the match,
        // then the match without its last group, down to 13 digits.
        let mut end = m.end();
        loop {
            if let Some(scored) = judge(text, start..end) {
                out.push(scored);
                break;
            }
            match text[start..end].rfind([' ', '-']) {
                Some(cut) if text[start..start + cut].bytes().filter(u8::is_ascii_digit).count() >= 13 => {
                    end = start + cut;
                }
                _ => break,
            }
        }
    }
}

/// Scores `text[span]` as a card number, or `None`.
fn judge(text: &str, span: std::ops::Range<usize>) -> Option<Scored> {
    let bytes = text.as_bytes();
    let after = bytes.get(span.end).copied();
    let glued_after = after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        || (after == Some(b'.') && bytes.get(span.end + 1).is_some_and(u8::is_ascii_digit));
    let s = &text[span.clone()];
    // One kind of separator throughout.
    if glued_after || (s.contains(' ') && s.contains('-')) {
        return None;
    }
    let digits: String = s.bytes().filter(u8::is_ascii_digit).map(char::from).collect();
    let (brand, length_ok) = brand(&digits)?;
    if !luhn(&digits) || digits.bytes().all(|b| b == digits.as_bytes()[0]) {
        return None;
    }
    let mut scored = Scored::new(PiiType::PaymentCard, span, brand_pattern(brand), BASE);
    scored.validated("luhn", LUHN);
    if length_ok {
        scored.validated("length issued by the brand", BRAND_LENGTH);
    } else {
        scored.weak("length not issued by the brand", 0);
    }
    Some(scored)
}

fn brand_pattern(brand: &str) -> &'static str {
    match brand {
        "visa" => "card prefix visa",
        "mastercard" => "card prefix mastercard",
        "amex" => "card prefix amex",
        "discover" => "card prefix discover",
        "jcb" => "card prefix jcb",
        "diners" => "card prefix diners",
        "unionpay" => "card prefix unionpay",
        _ => "card prefix maestro",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(text: &str) -> Vec<(String, i32)> {
        let re = Regex::new(PATTERN).unwrap();
        let mut out = Vec::new();
        find(&re, text, &mut out);
        out.iter().map(|s| (text[s.span.clone()].to_owned(), s.milli)).collect()
    }

    #[test]
    fn luhn_check() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("79927398713"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("79927398710"));
        assert!(!luhn(""));
    }

    #[test]
    fn valid_cards_of_each_brand_are_found() {
        for card in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "3782 822463 10005",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "6200000000000005",
            "4222222222222",
        ] {
            assert_eq!(scores(&format!("card: {card}.")), [(card.to_owned(), 950)], "{card}");
        }
    }

    #[test]
    fn failing_luhn_or_no_brand_is_not_reported() {
        for text in [
            "4111111111111112",
            "4111 1111 1111 1112",
            "378282246310006",
            "1767225600000",
            "9999999999999995",
            "0000000000000000",
            "4111 1111-1111 1111",
            "ref41111111111111110",
            "tx-2a-00000001",
        ] {
            assert_eq!(scores(text), [], "{text}");
        }
    }

    #[test]
    fn a_card_followed_by_more_digits_is_still_found() {
        assert_eq!(scores("4111 1111 1111 1111 2024"), [("4111 1111 1111 1111".to_owned(), 950)]);
    }

    #[test]
    fn unusual_lengths_score_lower() {
        // A Luhn-valid 17-digit Visa-prefixed number: Visa issues 13, 16 and 19.
        let digits = (0..10).map(|d| format!("4111111111111111{d}")).find(|d| luhn(d)).unwrap();
        assert_eq!(scores(&digits), [(digits.clone(), 800)]);
    }
}
