//! The row-level quality rules, as plain functions shared by the graph and the reference.
//!
//! Each rule is the reference `DataQualityFramework`'s, with the ambiguities resolved as
//! `QUALITY_SEMANTICS.md` states (see `docs/quality-semantics.md`).

use rust_decimal::{Decimal, RoundingStrategy};

use super::row::{AVG_SCALE, QualityRow};
use crate::record::{AMOUNT_SCALE, Transaction};

/// Seconds in the 24 hours that `timestamp_validity` accepts before "now".
const DAY_SECONDS: i64 = 86_400;

/// Rows in a consistency frame: the current row and the 5 before it.
pub const FRAME_ROWS: usize = 6;

/// A string field is complete unless null or exactly `""` (whitespace counts as content).
pub fn string_complete(field: &Option<String>) -> bool {
    field.as_deref().is_some_and(|s| !s.is_empty())
}

/// `amount > 0`; null is invalid.
pub fn amount_valid(amount: Option<Decimal>) -> bool {
    amount.is_some_and(|a| a > Decimal::ZERO)
}

/// Exactly three ASCII capital letters (`^[A-Z]{3}$`, where `$` does not admit a newline).
pub fn currency_valid(currency: &Option<String>) -> bool {
    currency.as_deref().is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
}

/// `floor(ts / 1000)` lies in `[now - 86400, now]` seconds, both ends inclusive, where
/// `now = floor(now_ms / 1000)`; null is invalid.
pub fn timestamp_valid(timestamp_ms: Option<i64>, now_ms: i64) -> bool {
    let now = now_ms.div_euclid(1000);
    timestamp_ms.is_some_and(|ts| {
        let seconds = ts.div_euclid(1000);
        now - DAY_SECONDS <= seconds && seconds <= now
    })
}

/// An amount as an integer count of cents (scale [`AMOUNT_SCALE`]), rounding half away from
/// zero if the value carries more digits (the cast to decimal(18,2) would).
pub fn cents(amount: Decimal) -> i128 {
    let mut scaled = amount.round_dp_with_strategy(AMOUNT_SCALE, RoundingStrategy::MidpointAwayFromZero);
    scaled.rescale(AMOUNT_SCALE);
    scaled.mantissa()
}

/// The average of a frame's non-null amounts, in millionths (decimal(22,6)), rounded half away
/// from zero, computed exactly in integers; `None` when no amount is present.
pub fn frame_average(amounts_in_cents: impl IntoIterator<Item = Option<i128>>) -> Option<i128> {
    let (sum, count) = amounts_in_cents
        .into_iter()
        .flatten()
        .fold((0i128, 0i128), |(sum, count), cents| (sum + cents, count + 1));
    if count == 0 {
        return None;
    }
    // cents * 10^4 = millionths.
    let numerator = sum * 10_000;
    let (quotient, remainder) = (numerator / count, numerator % count);
    let round_away = 2 * remainder.abs() >= count;
    Some(if round_away { quotient + numerator.signum() } else { quotient })
}

/// INCONSISTENT iff the amount is present, the average positive, and `|amount - avg| / avg >
/// 0.5`, i.e. exactly `2 * |amount - avg| > avg` with both in millionths.
pub fn consistent(amount: Option<Decimal>, avg_micros: Option<i128>) -> bool {
    match (amount, avg_micros) {
        (Some(amount), Some(avg)) if avg > 0 => {
            let amount_micros = cents(amount) * 10_000;
            2 * (amount_micros - avg).abs() <= avg
        }
        _ => true,
    }
}

/// Millionths as a decimal(22,6) value.
pub fn micros_to_decimal(micros: i128) -> Decimal {
    Decimal::from_i128_with_scale(micros, AVG_SCALE)
}

/// Assembles a row's verdicts from the record, its frame average and its uniqueness.
pub fn verdict(record: Transaction, avg_micros: Option<i128>, unique: bool, now_ms: i64) -> QualityRow {
    QualityRow {
        transaction_id_complete: string_complete(&record.transaction_id),
        user_id_complete: string_complete(&record.user_id),
        amount_complete: record.amount.is_some(),
        currency_complete: string_complete(&record.currency),
        timestamp_complete: record.timestamp.is_some(),
        amount_valid: amount_valid(record.amount),
        currency_valid: currency_valid(&record.currency),
        timestamp_valid: timestamp_valid(record.timestamp, now_ms),
        avg_transaction_amount: avg_micros.map(micros_to_decimal),
        consistent: consistent(record.amount, avg_micros),
        unique,
        fraud: None,
        governance: None,
        record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avg_of(amounts: &[Option<&str>]) -> Option<Decimal> {
        frame_average(amounts.iter().map(|a| a.map(|a| cents(a.parse().unwrap())))).map(micros_to_decimal)
    }

    #[test]
    fn completeness_counts_whitespace_as_content() {
        assert!(!string_complete(&None));
        assert!(!string_complete(&Some(String::new())));
        assert!(string_complete(&Some(" ".into())));
    }

    #[test]
    fn currency_is_a_format_check() {
        for ok in ["USD", "XYZ"] {
            assert!(currency_valid(&Some(ok.into())), "{ok}");
        }
        for bad in ["usd", "US", "", "USDT", " USD", "USD\n", "ÄBC", "ＵＳＤ"] {
            assert!(!currency_valid(&Some(bad.into())), "{bad:?}");
        }
        assert!(!currency_valid(&None));
    }

    #[test]
    fn amount_must_be_positive() {
        assert!(amount_valid(Some("0.01".parse().unwrap())));
        assert!(!amount_valid(Some(Decimal::ZERO)));
        assert!(!amount_valid(Some("-5.00".parse().unwrap())));
        assert!(!amount_valid(None));
    }

    #[test]
    fn timestamp_boundaries_are_inclusive_in_seconds() {
        let now_ms = 1_700_000_000_500;
        let now = 1_700_000_000;
        assert!(!timestamp_valid(Some((now - 86_400) * 1000 - 1), now_ms));
        assert!(timestamp_valid(Some((now - 86_400) * 1000), now_ms));
        assert!(timestamp_valid(Some(now * 1000 + 999), now_ms));
        assert!(!timestamp_valid(Some(now * 1000 + 1000), now_ms));
        assert!(!timestamp_valid(None, now_ms));
    }

    #[test]
    fn average_rounds_half_away_from_zero() {
        assert_eq!(avg_of(&[Some("100"), Some("100"), Some("200")]), Some("133.333333".parse().unwrap()));
        assert_eq!(avg_of(&[Some("0.01"), Some("0.02"), Some("0.02")]), Some("0.016667".parse().unwrap()));
        assert_eq!(
            avg_of(&[Some("-0.01"), Some("-0.02"), Some("-0.02")]),
            Some("-0.016667".parse().unwrap())
        );
        assert_eq!(avg_of(&[Some("10"), None, Some("10"), Some("50")]), Some("23.333333".parse().unwrap()));
        assert_eq!(avg_of(&[None]), None);
    }

    #[test]
    fn consistency_ratio_is_strictly_above_half() {
        let micros = |s: &str| cents(s.parse().unwrap()) * 10_000;
        let amount = |s: &str| Some(s.parse::<Decimal>().unwrap());
        // 100, 300: avg 200, |300-200|/200 = 0.5 exactly.
        assert!(consistent(amount("300"), Some(micros("200"))));
        // 100, 300.02: avg 200.01, ratio just above 0.5.
        assert!(!consistent(amount("300.02"), Some(micros("200.01"))));
        // zero and negative averages never flag.
        assert!(consistent(amount("-10"), Some(0)));
        assert!(consistent(amount("-50"), Some(micros("-20"))));
        assert!(consistent(None, Some(micros("10"))));
    }
}
