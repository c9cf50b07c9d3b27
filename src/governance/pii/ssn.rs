//! US social security numbers, never-issued ranges excluded.
//!
//! AAA-GG-SSSS with dashes, spaces or none; area 000, 666 and 900-999, group 00 and serial 0000
//! were never issued.

use regex::Regex;

use super::finding::{PiiType, Scored};

/// Area, group and serial, each pair separated by the same optional dash or space (checked
/// after the match: the regex crate has no back-references).
pub const PATTERN: &str = r"(?-u:\b)([0-9]{3})([ \-]?)([0-9]{2})([ \-]?)([0-9]{4})(?-u:\b)";

/// Base scores by form, thousandths: dashed, spaced, bare nine digits.
const DASHED: i16 = 500;
const SPACED: i16 = 300;
const BARE: i16 = 50;

/// Whether area, group and serial lie in ranges the SSA issues (and are not a famous
/// advertising number).
pub fn issuable(area: &str, group: &str, serial: &str) -> bool {
    let all = [area, group, serial].concat();
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
        && all != "078051120"
        && all != "219099999"
        && !all.bytes().all(|b| b == all.as_bytes()[0])
}

/// The SSNs in `text`.
pub fn find(re: &Regex, text: &str, out: &mut Vec<Scored>) {
    // Captures are slower than a plain match: look for one first (most texts have none).
    if text.bytes().filter(u8::is_ascii_digit).count() < 9 || !re.is_match(text) {
        return;
    }
    let bytes = text.as_bytes();
    for c in re.captures_iter(text) {
        let (Some(whole), Some(area), Some(sep1), Some(group), Some(sep2), Some(serial)) =
            (c.get(0), c.get(1), c.get(2), c.get(3), c.get(4), c.get(5))
        else {
            continue;
        };
        let (start, end) = (whole.start(), whole.end());
        // Not part of a longer dashed or dotted number (a phone, a date, an id).
        let glued = |b: u8| b"-./_+".contains(&b);
        if (start > 0 && glued(bytes[start - 1])) || bytes.get(end).copied().is_some_and(glued) {
            continue;
        }
        if sep1.as_str() != sep2.as_str() || !issuable(area.as_str(), group.as_str(), serial.as_str()) {
            continue;
        }
        let (form, base) = match sep1.as_str() {
            "-" => ("ssn dashed", DASHED),
            " " => ("ssn spaced", SPACED),
            _ => ("ssn nine digits", BARE),
        };
        out.push(Scored::new(PiiType::UsSsn, start..end, form, base));
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
    fn forms_score_by_how_ssn_like_they_look() {
        assert_eq!(scores("ssn 536-22-8726"), [("536-22-8726".to_owned(), 500)]);
        assert_eq!(scores("536 22 8726"), [("536 22 8726".to_owned(), 300)]);
        assert_eq!(scores("536228726"), [("536228726".to_owned(), 50)]);
    }

    #[test]
    fn never_issued_ranges_are_excluded() {
        for text in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "536-00-8726",
            "536-22-0000",
            "078-05-1120",
            "111-11-1111",
            "536-22 8726",
        ] {
            assert_eq!(scores(text), [], "{text}");
        }
    }

    #[test]
    fn longer_numbers_are_not_ssns() {
        for text in ["1-536-22-8726", "536-22-8726-1", "5362287261", "415-555-2671", "2024-01-15"] {
            assert_eq!(scores(text), [], "{text}");
        }
    }
}
