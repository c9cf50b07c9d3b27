//! IBANs: the country's registered length and the ISO 13616 mod-97 check.
//!
//! Printed (groups of four) and electronic (no spaces) forms, either case. A bad checksum is
//! not reported.

use regex::Regex;

use super::finding::{PiiType, Scored};

/// Where an IBAN may start: two letters and two check digits at a word boundary.
pub const PATTERN: &str = r"(?-u:\b)[A-Za-z]{2}[0-9]{2}";

/// Base score of a match of the country's length, thousandths.
const BASE: i16 = 300;
/// Added when the mod-97 check passes.
const CHECKSUM: i16 = 650;

/// IBAN length by country (SWIFT IBAN registry).
const LENGTHS: [(&str, usize); 89] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The registered IBAN length of `country` (two upper-case letters).
pub fn length(country: &str) -> Option<usize> {
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| *n)
}

/// Whether `iban` (upper-case, no spaces) passes mod 97: the first four characters moved to
/// the end, letters as 10..35, the number mod 97 is 1.
pub fn mod97(iban: &str) -> bool {
    let mut rest = 0u32;
    for c in iban[4..].chars().chain(iban[..4].chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rest = if value < 10 { (rest * 10 + value) % 97 } else { (rest * 100 + value) % 97 };
    }
    rest == 1
}

/// The IBANs in `text`.
pub fn find(re: &Regex, text: &str, out: &mut Vec<Scored>) {
    if text.len() < 15 {
        return;
    }
    for m in re.find_iter(text) {
        let country = text[m.start()..m.start() + 2].to_ascii_uppercase();
        let Some(len) = length(&country) else { continue };
        // Take exactly the country's length in alphanumerics, single spaces allowed between.
        let mut compact = String::with_capacity(len);
        let mut end = m.start();
        let mut spaced = false;
        for (i, c) in text[m.start()..].char_indices() {
            if compact.len() == len {
                break;
            }
            if c.is_ascii_alphanumeric() {
                compact.push(c.to_ascii_uppercase());
                end = m.start() + i + 1;
            } else if c == ' ' && !spaced && !compact.is_empty() {
                spaced = true;
                continue;
            } else {
                break;
            }
            spaced = false;
        }
        let glued_after = text[end..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if compact.len() != len || glued_after {
            continue;
        }
        if !mod97(&compact) {
            continue;
        }
        let mut scored = Scored::new(PiiType::Iban, m.start()..end, "iban country length", BASE);
        scored.validated("mod-97", CHECKSUM);
        out.push(scored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let re = Regex::new(PATTERN).unwrap();
        let mut out = Vec::new();
        find(&re, text, &mut out);
        assert!(out.iter().all(|s| s.milli == 950));
        out.iter().map(|s| &text[s.span.clone()]).collect()
    }

    #[test]
    fn valid_ibans_of_several_countries() {
        for iban in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB29NWBK60161331926819",
            "GB29 NWBK 6016 1331 9268 19",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "CH9300762011623852957",
            "ES9121000418450200051332",
            "IT60X0542811101000000123456",
            "NO9386011117947",
            "MT84MALT011000012345MTLCAST001S",
            "gb29nwbk60161331926819",
        ] {
            assert_eq!(found(&format!("pay to {iban} today")), [iban], "{iban}");
        }
    }

    #[test]
    fn bad_checksums_lengths_and_countries_are_not_reported() {
        for text in [
            "DE88370400440532013000",
            "DE89370400440532013001",
            "GB29NWBK60161331926818",
            "FR1420041010050500013M02607",
            "DE8937040044053201300",
            "DE893704004405320130000",
            "XX89370400440532013000",
            "tx-2a-00000001",
            "USD 1234.56",
        ] {
            assert!(found(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn mod97_by_hand() {
        assert!(mod97("GB82WEST12345698765432"));
        assert!(!mod97("GB82WEST12345698765433"));
    }
}
