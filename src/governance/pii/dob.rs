//! Dates of birth: calendar dates plausible as birth dates on the record's event date.
//!
//! A date alone stays below the reporting threshold; a context word (`dob`, `birth`,
//! `geboren`, ...) in the field name or next to it raises it above.

use chrono::{DateTime, Datelike, NaiveDate};
use regex::{Captures, Regex};

use super::finding::{PiiType, Scored};

/// ISO (`1985-03-14`), numeric day-month or month-day with the year last (`14.03.1985`,
/// `03/14/1985`), day month-name year (`14 March 1985`, `14. März 1985`) and month-name day,
/// year (`March 14, 1985`).
pub const PATTERN: &str = concat!(
    r"(?i)(?P<iy>[0-9]{4})(?P<is>[-/.])(?P<im>[0-9]{1,2})[-/.](?P<id>[0-9]{1,2})",
    r"|(?P<na>[0-9]{1,2})(?P<ns>[-/.])(?P<nb>[0-9]{1,2})(?P<ns2>[-/.])(?P<ny>[0-9]{4})",
    r"|(?P<dd>[0-9]{1,2})\.?\s+(?P<dmon>\p{L}{3,9})\.?\s+(?P<dy>[0-9]{4})",
    r"|(?P<mmon>\p{L}{3,9})\.?\s+(?P<md>[0-9]{1,2})(?:st|nd|rd|th)?,?\s+(?P<my>[0-9]{4})",
);

/// Base score of a real calendar date, thousandths.
const BASE: i16 = 150;
/// Added when the date is before the reference date and at most 120 years before it.
const PLAUSIBLE: i16 = 50;
/// Added when the age on the reference date is 16 to 100 years.
const ADULT: i16 = 100;
/// Taken away when a time of day follows (a timestamp, not a birth date).
const TIME_OF_DAY: i16 = -200;

/// The month numbered by an English or German month name or abbreviation.
pub fn month(name: &str) -> Option<u32> {
    let n = match name.to_lowercase().as_str() {
        "jan" | "january" | "januar" | "jänner" => 1,
        "feb" | "february" | "februar" => 2,
        "mar" | "march" | "mär" | "märz" | "maerz" => 3,
        "apr" | "april" => 4,
        "may" | "mai" => 5,
        "jun" | "june" | "juni" => 6,
        "jul" | "july" | "juli" => 7,
        "aug" | "august" => 8,
        "sep" | "sept" | "september" => 9,
        "oct" | "okt" | "october" | "oktober" => 10,
        "nov" | "november" => 11,
        "dec" | "dez" | "december" | "dezember" => 12,
        _ => return None,
    };
    Some(n)
}

/// The calendar date a match names, or `None` if it names none. Numeric dates with `/` are
/// read month first (US), then day first; with `.` or `-` day first, then month first.
fn date_of(c: &Captures<'_>) -> Option<NaiveDate> {
    let num = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let ymd = |y: u32, m: u32, d: u32| NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d);
    if let (Some(y), Some(m), Some(d)) = (num("iy"), num("im"), num("id")) {
        return ymd(y, m, d);
    }
    if let (Some(a), Some(b), Some(y)) = (num("na"), num("nb"), num("ny")) {
        let (s1, s2) = (c.name("ns")?.as_str(), c.name("ns2")?.as_str());
        if s1 != s2 {
            return None;
        }
        return if s1 == "/" {
            ymd(y, a, b).or_else(|| ymd(y, b, a))
        } else {
            ymd(y, b, a).or_else(|| ymd(y, a, b))
        };
    }
    if let (Some(d), Some(m), Some(y)) =
        (num("dd"), c.name("dmon").and_then(|m| month(m.as_str())), num("dy"))
    {
        return ymd(y, m, d);
    }
    let (m, d, y) = (c.name("mmon").and_then(|m| month(m.as_str()))?, num("md")?, num("my")?);
    ymd(y, m, d)
}

/// Whole years from `born` to `on`.
fn age(born: NaiveDate, on: NaiveDate) -> i32 {
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

/// The plausible birth dates in `text`, judged against `reference_ms` (the record's event
/// time, epoch milliseconds; without it only years 1900 to 2100 are accepted).
pub fn find(re: &Regex, text: &str, reference_ms: Option<i64>, out: &mut Vec<Scored>) {
    // Captures are slower than a plain match: look for one first (most texts have none).
    if text.bytes().filter(u8::is_ascii_digit).count() < 5 || !re.is_match(text) {
        return;
    }
    let bytes = text.as_bytes();
    let reference = reference_ms.and_then(DateTime::from_timestamp_millis).map(|t| t.date_naive());
    for c in re.captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let (start, end) = (whole.start(), whole.end());
        let glued = |b: u8| b.is_ascii_alphanumeric() || b"_./-".contains(&b);
        if (start > 0 && glued(bytes[start - 1]))
            || bytes.get(end).copied().is_some_and(|b| glued(b) && b != b'T' && b != b'.')
        {
            continue;
        }
        let Some(date) = date_of(&c) else { continue };
        let mut scored = Scored::new(PiiType::DateOfBirth, start..end, "calendar date", BASE);
        match reference {
            Some(on) => {
                let years = age(date, on);
                if date > on || years > 120 {
                    continue;
                }
                scored.validated("on or before the event date, at most 120 years", PLAUSIBLE);
                if (16..=100).contains(&years) {
                    scored.validated("age 16 to 100 on the event date", ADULT);
                }
            }
            None if (1900..=2100).contains(&date.year()) => scored.weak("no event date to judge age by", 0),
            None => continue,
        }
        let rest = &bytes[end..];
        let time_follows = matches!(rest, [b'T', d, ..] if d.is_ascii_digit())
            || matches!(rest, [b' ', a, b, b':', ..] if a.is_ascii_digit() && b.is_ascii_digit());
        if time_follows {
            scored.weak("a time of day follows", TIME_OF_DAY);
        }
        out.push(scored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const ON: i64 = 1_767_225_600_000;

    fn scores(text: &str) -> Vec<(String, i32)> {
        let re = Regex::new(PATTERN).unwrap();
        let mut out = Vec::new();
        find(&re, text, Some(ON), &mut out);
        out.iter().map(|s| (text[s.span.clone()].to_owned(), s.milli)).collect()
    }

    #[test]
    fn the_forms_people_write_dates_in() {
        for date in [
            "1985-03-14",
            "14.03.1985",
            "03/14/1985",
            "14/03/1985",
            "14-03-1985",
            "14 March 1985",
            "14. März 1985",
            "March 14, 1985",
            "Mar 14th 1985",
        ] {
            assert_eq!(scores(&format!("born {date}")), [(date.to_owned(), 300)], "{date}");
        }
    }

    #[test]
    fn age_decides_plausibility() {
        // A child: plausible but not adult; in the future or over 120 years: not a birth date.
        assert_eq!(scores("2020-05-01"), [("2020-05-01".to_owned(), 200)]);
        assert_eq!(scores("2026-01-02"), []);
        assert_eq!(scores("1900-01-01"), []);
        assert_eq!(scores("1906-01-01"), [("1906-01-01".to_owned(), 200)]);
    }

    #[test]
    fn non_dates_are_not_reported() {
        for text in
            ["1985-02-30", "31.04.1985", "13/13/1985", "1985-13-01", "1.2.3.4", "14 Foo 1985", "v1985-03-14"]
        {
            assert_eq!(scores(text), [], "{text}");
        }
    }

    #[test]
    fn timestamps_are_lowered() {
        assert_eq!(scores("1985-03-14T10:00:00Z"), [("1985-03-14".to_owned(), 100)]);
        assert_eq!(scores("1985-03-14 10:00"), [("1985-03-14".to_owned(), 100)]);
    }

    #[test]
    fn without_an_event_date_only_the_year_range_is_checked() {
        let re = Regex::new(PATTERN).unwrap();
        let mut out = Vec::new();
        find(&re, "1985-03-14 and 1850-01-01", None, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].milli, 150);
    }
}
