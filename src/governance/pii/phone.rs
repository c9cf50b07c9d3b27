//! Phone numbers: E.164 and the US, UK and German national forms, by numbering rules.
//!
//! A hand-written recognizer rather than the `phonenumber` crate: that crate builds its
//! metadata in a build script (quick-xml, postcard, a second strum) and needs a region for
//! every national number; these checks cover the forms the issue names and keep the build lean.

use regex::Regex;

use super::finding::{PiiType, Scored};

/// A `+` or `(` and a digit, digits and separators (space . - / parentheses), a digit.
pub const PATTERN: &str = r"\+?\(?[0-9][0-9 ().\-/]{5,24}[0-9]";

/// Base score of a number that passed its numbering rules, thousandths.
const BASE: i16 = 300;

/// The phone numbers in `text`.
pub fn find(re: &Regex, text: &str, out: &mut Vec<Scored>) {
    if text.bytes().filter(u8::is_ascii_digit).count() < 7 {
        return;
    }
    let bytes = text.as_bytes();
    for m in re.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let glued_before = start > 0 && {
            let b = bytes[start - 1];
            b.is_ascii_alphanumeric() || b"._-/@#+:".contains(&b)
        };
        let glued_after = bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || b"_@".contains(b));
        if glued_before || glued_after {
            continue;
        }
        if let Some(scored) = judge(m.as_str(), start..end) {
            out.push(scored);
        }
    }
}

/// The digit groups of `s`.
fn groups(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect()
}

/// Shapes that are numbers but not phone numbers: dates, IPv4 addresses, decimals and
/// thousands-grouped amounts.
fn other_number(s: &str, groups: &[&str]) -> bool {
    let sizes: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let only = |set: &[char]| s.chars().all(|c| c.is_ascii_digit() || set.contains(&c));
    let date = groups.len() == 3
        && only(&['.', '/', '-'])
        && matches!(sizes.as_slice(), [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4] | [1..=2, 1..=2, 2]);
    let ipv4 = groups.len() == 4 && only(&['.']) && sizes.iter().all(|n| *n <= 3);
    let decimal = only(&['.', ' ']) && s.matches('.').count() == 1 && !s.contains(' ');
    let thousands = groups.len() >= 2 && only(&['.', ',']) && sizes[1..].iter().all(|n| *n == 3);
    date || ipv4 || decimal || thousands
}

/// The country calling code at the start of `digits`, if assigned (ITU-T E.164 list; the
/// codes now inside +1 and the global-service codes are not counted).
pub fn calling_code(digits: &str) -> Option<&str> {
    const TWO: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
        "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
        "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    let prefix = |n: usize| digits.get(..n);
    if matches!(prefix(1), Some("1" | "7")) {
        return prefix(1);
    }
    if let Some(two) = prefix(2).filter(|two| TWO.contains(two)) {
        return Some(two);
    }
    let three = prefix(3)?;
    let n: u16 = three.parse().ok()?;
    let assigned = matches!(n,
        211..=213 | 216 | 218 | 220..=258 | 260..=269 | 290 | 291 | 297..=299 | 350..=359
        | 370..=378 | 380..=383 | 385..=387 | 389 | 420 | 421 | 423 | 500..=509 | 590..=599
        | 670 | 672..=683 | 685..=692 | 850 | 852 | 853 | 855 | 856 | 880 | 886 | 960..=968
        | 970..=977 | 992..=996 | 998);
    assigned.then_some(three)
}

/// North American numbering: area code and exchange start 2-9 and are not N11.
fn nanp(ten: &str) -> bool {
    let b = ten.as_bytes();
    let n = |i: usize| (b'2'..=b'9').contains(&b[i]);
    ten.len() == 10 && n(0) && n(3) && &ten[1..3] != "11" && &ten[4..6] != "11"
}

/// UK national: trunk 0, then 1, 2, 3, 7 or 8, 10 or 11 digits in all.
fn uk(digits: &str) -> bool {
    let b = digits.as_bytes();
    (10..=11).contains(&digits.len()) && b[0] == b'0' && b"12378".contains(&b[1])
}

/// German national: trunk 0, then an area code 2-9, or a mobile prefix 015/016/017;
/// 10 to 12 digits in all.
fn de(digits: &str) -> bool {
    let b = digits.as_bytes();
    (10..=12).contains(&digits.len())
        && b[0] == b'0'
        && ((b'2'..=b'9').contains(&b[1]) || (b[1] == b'1' && b"567".contains(&b[2])))
}

/// Scores one candidate, or `None` if it is not a phone number.
fn judge(s: &str, span: std::ops::Range<usize>) -> Option<Scored> {
    // "+44 (0)20 ..." writes the trunk 0 that international dialling drops.
    let cleaned = s.replacen("(0)", "", 1);
    let groups = groups(&cleaned);
    if other_number(s, &groups) {
        return None;
    }
    let digits: String = groups.concat();
    let international = if cleaned.starts_with('+') {
        Some(digits.as_str())
    } else if cleaned.starts_with("00") {
        digits.get(2..)
    } else {
        None
    };
    if let Some(rest) = international {
        let code = calling_code(rest)?;
        if !(8..=15).contains(&rest.len()) || (code == "1" && !(rest.len() == 11 && nanp(&rest[1..]))) {
            return None;
        }
        let mut scored = Scored::new(PiiType::Phone, span, "e164", BASE + 100);
        scored.validated("known country calling code", 300);
        return Some(scored);
    }
    let sizes: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let ten = match digits.len() {
        10 => Some(digits.as_str()),
        11 if digits.starts_with('1') => Some(&digits[1..]),
        _ => None,
    };
    if ten.is_some_and(nanp) {
        let mut scored = Scored::new(PiiType::Phone, span, "us national", BASE);
        let grouped = matches!(sizes.as_slice(), [3, 3, 4] | [1, 3, 3, 4]);
        if grouped && s.contains('(') {
            scored.validated("NANP numbering, (area) exchange-line", 300);
        } else if grouped && (s.contains('-') || s.contains('.')) {
            scored.validated("NANP numbering, grouped 3-3-4", 200);
        } else if grouped {
            scored.validated("NANP numbering, spaced 3-3-4", 100);
        } else {
            scored.weak("bare or oddly grouped digits", -200);
        }
        return Some(scored);
    }
    let national = match (uk(&digits), de(&digits)) {
        (true, true) => "uk or de national",
        (true, false) => "uk national",
        (false, true) => "de national",
        (false, false) => return None,
    };
    let mut scored = Scored::new(PiiType::Phone, span, national, BASE);
    let area_apart = groups.len() >= 2 && (2..=6).contains(&sizes[0]) && groups[0].starts_with('0');
    if area_apart {
        scored.validated("trunk 0 and area code set apart", 150);
    } else {
        scored.weak("bare digits", -150);
    }
    Some(scored)
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

    fn score(text: &str) -> Option<i32> {
        let found = scores(text);
        assert!(found.len() <= 1, "{found:?}");
        found.first().map(|(_, milli)| *milli)
    }

    #[test]
    fn e164_needs_a_known_calling_code_and_length() {
        assert_eq!(score("+14155552671"), Some(700));
        assert_eq!(score("+1 (415) 555-2671"), Some(700));
        assert_eq!(score("+44 20 7946 0958"), Some(700));
        assert_eq!(score("+44 (0)20 7946 0958"), Some(700));
        assert_eq!(score("+49 30 12345678"), Some(700));
        assert_eq!(score("0049 30 12345678"), Some(700));
        assert_eq!(score("+353 1 234 5678"), Some(700));
        // 0 and 28x are not calling codes; +1 must be NANP; over 15 digits is not E.164.
        assert_eq!(score("+0 415 555 2671"), None);
        assert_eq!(score("+28 123 456 789"), None);
        assert_eq!(score("+1 115 555 2671"), None);
        assert_eq!(score("+49 30 1234 5678 9012 3"), None);
    }

    #[test]
    fn us_national_forms_by_how_clearly_they_are_written() {
        assert_eq!(score("(415) 555-2671"), Some(600));
        assert_eq!(score("415-555-2671"), Some(500));
        assert_eq!(score("1-415-555-2671"), Some(500));
        assert_eq!(score("415.555.2671"), Some(500));
        assert_eq!(score("415 555 2671"), Some(400));
        assert_eq!(score("4155552671"), Some(100));
        // Area code and exchange must not start 0/1 nor be N11.
        assert_eq!(score("(115) 555-2671"), None);
        assert_eq!(score("415-155-2671"), None);
        assert_eq!(score("911-555-2671"), None);
    }

    #[test]
    fn uk_and_german_national_forms() {
        assert_eq!(score("020 7946 0958"), Some(450));
        assert_eq!(score("07700 900123"), Some(450));
        assert_eq!(score("030 12345678"), Some(450));
        assert_eq!(score("0170/1234567"), Some(450));
        assert_eq!(score("(089) 1234567"), Some(450));
        assert_eq!(score("02079460958"), Some(150));
        assert_eq!(score("030 123456"), None);
        assert_eq!(score("0420 1234567"), Some(450));
    }

    #[test]
    fn other_numbers_are_not_phones() {
        for text in [
            "txn-000123",
            "tx-2a-00000001",
            "user-00042",
            "m-4711",
            "2024-01-15",
            "15.01.2024",
            "01/15/2024",
            "192.168.100.200",
            "1234567.89",
            "1.234.567",
            "12345678901234567890",
            "1767225600000",
            "ab0301234567",
            "v1.2.3",
        ] {
            assert_eq!(scores(text), [], "{text}");
        }
    }

    #[test]
    fn calling_codes() {
        assert_eq!(calling_code("14155552671"), Some("1"));
        assert_eq!(calling_code("4930"), Some("49"));
        assert_eq!(calling_code("3531234"), Some("353"));
        assert_eq!(calling_code("2591234"), None);
        assert_eq!(calling_code("0"), None);
    }
}
