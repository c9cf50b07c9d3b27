//! Retention periods as the reference design writes them (`7 years`, `7_years`, `90d`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::PolicyError;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// How long data is kept, in whole days (a week is 7 days, a month 30, a year 365), with the
/// text it was written as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPeriod {
    /// As written in the spec.
    pub text: String,
    /// In days.
    pub days: u32,
}

impl RetentionPeriod {
    /// Parses `<n><unit>`, `<n> <unit>` or `<n>_<unit>`, with unit `d`/`day(s)`, `w`/`week(s)`,
    /// `m`/`month(s)` or `y`/`year(s)`; `n` at least 1.
    pub fn parse(text: &str) -> Result<RetentionPeriod, PolicyError> {
        let bad = |why: &str| PolicyError::invalid("retention_period", format!("`{text}`: {why}"));
        let trimmed = text.trim();
        let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
        let count: u32 =
            trimmed[..digits].parse().map_err(|_| bad("expected a number first, e.g. `7 years`"))?;
        let unit = trimmed[digits..].trim_start_matches([' ', '_']).to_ascii_lowercase();
        let per = match unit.as_str() {
            "d" | "day" | "days" => 1,
            "w" | "week" | "weeks" => 7,
            "m" | "month" | "months" => 30,
            "y" | "year" | "years" => 365,
            _ => return Err(bad("the unit must be days, weeks, months or years")),
        };
        if count == 0 {
            return Err(bad("must be at least one day"));
        }
        let days = count.checked_mul(per).filter(|d| *d <= 365 * 1000).ok_or_else(|| bad("too long"))?;
        Ok(RetentionPeriod { text: text.to_owned(), days })
    }

    /// The period in milliseconds.
    pub fn as_millis(&self) -> i64 {
        i64::from(self.days) * DAY_MS
    }

    /// Whether data with event time `event_ms` has expired at `now_ms`: it is older than the
    /// period (exactly the period old is still kept).
    pub fn expired(&self, event_ms: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(event_ms) > self.as_millis()
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} days)", self.text, self.days)
    }
}

impl Serialize for RetentionPeriod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for RetentionPeriod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RetentionPeriod, D::Error> {
        let text = String::deserialize(d)?;
        RetentionPeriod::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ways_periods_are_written() {
        for (text, days) in [
            ("7 years", 2555),
            ("7_years", 2555),
            ("7y", 2555),
            ("90d", 90),
            ("1 day", 1),
            ("6 Months", 180),
            ("2w", 14),
        ] {
            assert_eq!(RetentionPeriod::parse(text).unwrap().days, days, "{text}");
        }
        for text in ["", "years", "0d", "7 fortnights", "-1d", "1.5y", "99999999y"] {
            assert!(RetentionPeriod::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn expiry_is_strictly_older_than_the_period() {
        let p = RetentionPeriod::parse("1d").unwrap();
        assert!(!p.expired(0, DAY_MS));
        assert!(p.expired(0, DAY_MS + 1));
    }
}
