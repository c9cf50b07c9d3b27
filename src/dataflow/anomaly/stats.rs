//! Per-source, per-window statistics of raw transactions, kept as exact integer sums.

use std::sync::Arc;

use differential_dataflow::VecCollection;
use differential_dataflow::difference::{Abelian, IsZero, Monoid, Multiply, Semigroup};
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use super::{FIELD_COUNT, Field, NO_ORIGIN};
use crate::dataflow::quality::rules::cents;
use crate::record::Transaction;

/// The statistics of one source's rows in one event-time window.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowStats {
    /// The source (the topic the rows were read from, or [`NO_ORIGIN`]).
    pub source: Arc<str>,
    /// Window start, epoch milliseconds.
    pub start_ms: i64,
    /// Rows in the window (the volume).
    pub rows: i64,
    /// Per [`Field::ALL`], rows where it is missing: null, or an empty string (for the
    /// string fields, as completeness defines it).
    pub nulls: [i64; FIELD_COUNT],
    /// Rows with an amount.
    pub amounts: i64,
    /// Sum of those amounts, in cents.
    pub cents: i128,
    /// Sum of their squares, in cents squared.
    pub cents_sq: i128,
    /// The schema ids of the rows read from Kafka, ascending.
    pub schema_ids: Vec<u32>,
    /// Rows per currency code (present codes only, as sent), ascending by code.
    pub currencies: Vec<(String, i64)>,
}

impl WindowStats {
    /// Rows missing `field`.
    pub fn nulls_of(&self, field: Field) -> i64 {
        self.nulls[field as usize]
    }
}

/// What one row adds to its window: a differential difference, so that inserting a row adds
/// exactly these integers and retracting it subtracts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tally {
    /// Rows.
    pub rows: i128,
    /// Rows missing each field of [`Field::ALL`].
    pub nulls: [i128; FIELD_COUNT],
    /// Rows with an amount.
    pub amounts: i128,
    /// Sum of the amounts in cents.
    pub cents: i128,
    /// Sum of their squares.
    pub cents_sq: i128,
}

impl Tally {
    /// One row's contribution.
    pub fn of(row: &Transaction) -> Tally {
        let missing = |s: &Option<String>| i128::from(s.as_deref().is_none_or(str::is_empty));
        let amount = row.amount.map(cents);
        Tally {
            rows: 1,
            nulls: [
                missing(&row.transaction_id),
                i128::from(row.amount.is_none()),
                missing(&row.currency),
                i128::from(row.metadata.is_none()),
                missing(&row.user_id),
            ],
            amounts: i128::from(amount.is_some()),
            cents: amount.unwrap_or(0),
            cents_sq: amount.map_or(0, |c| c * c),
        }
    }

    fn zip(&mut self, other: &Tally, op: impl Fn(i128, i128) -> i128) {
        self.rows = op(self.rows, other.rows);
        for (mine, theirs) in self.nulls.iter_mut().zip(other.nulls) {
            *mine = op(*mine, theirs);
        }
        self.amounts = op(self.amounts, other.amounts);
        self.cents = op(self.cents, other.cents);
        self.cents_sq = op(self.cents_sq, other.cents_sq);
    }
}

impl IsZero for Tally {
    fn is_zero(&self) -> bool {
        *self == Tally::default()
    }
}

impl Semigroup for Tally {
    fn plus_equals(&mut self, rhs: &Tally) {
        self.zip(rhs, |a, b| a + b);
    }
}

impl Monoid for Tally {
    fn zero() -> Tally {
        Tally::default()
    }
}

impl Abelian for Tally {
    fn negate(&mut self) {
        let zero = Tally::default();
        let mut negated = zero;
        negated.zip(self, |_, b| -b);
        *self = negated;
    }
}

impl Multiply<isize> for Tally {
    type Output = Tally;
    fn multiply(mut self, rhs: &isize) -> Tally {
        let factor = *rhs as i128;
        let copy = self;
        self.zip(&copy, |_, b| b * factor);
        self
    }
}

/// A row's group: source, window start, schema id and present currency. Few per window, so
/// the counts per group are cheap to hold and the window's statistics cheap to assemble.
type Group = (Arc<str>, i64, Option<u32>, Option<String>);

/// The statistics of every (source, window) of `rows`, windows tumbling by `width_ms` of
/// event time. Rows without a timestamp have no window and are not monitored.
///
/// One pass per row: an `explode` into its group with its [`Tally`] as the difference, one
/// `count` per group (the sums, exact under retraction), then a `reduce` per window over
/// its few groups.
pub fn window_stats<'scope, T>(
    rows: VecCollection<'scope, T, Transaction>,
    width_ms: i64,
) -> VecCollection<'scope, T, WindowStats>
where
    T: Timestamp + Lattice + Ord,
{
    let no_origin: Arc<str> = Arc::from(NO_ORIGIN);
    rows.explode(move |row: Transaction| {
        let ts = row.timestamp?;
        let start = ts.div_euclid(width_ms) * width_ms;
        let (source, schema) = match &row.origin {
            Some(origin) => (origin.topic.clone(), Some(origin.schema_id)),
            None => (no_origin.clone(), None),
        };
        let tally = Tally::of(&row);
        let currency = row.currency.filter(|c| !c.is_empty());
        Some(((source, start, schema, currency), tally))
    })
    .count()
    .map(|((source, start, schema, currency), tally): (Group, Tally)| {
        ((source, start), (schema, currency, tally))
    })
    .reduce_named("AnomalyWindowStats", |(source, start), groups, output| {
        let mut stats = WindowStats { source: source.clone(), start_ms: *start, ..WindowStats::default() };
        let mut total = Tally::default();
        for ((schema, currency, tally), copies) in groups {
            let tally = tally.multiply(copies);
            total.plus_equals(&tally);
            if let Some(schema) = schema {
                stats.schema_ids.push(*schema);
            }
            if let Some(currency) = currency {
                stats.currencies.push((currency.clone(), tally.rows as i64));
            }
        }
        stats.schema_ids.sort_unstable();
        stats.schema_ids.dedup();
        stats.currencies.sort();
        let mut merged: Vec<(String, i64)> = Vec::with_capacity(stats.currencies.len());
        for (code, rows) in std::mem::take(&mut stats.currencies) {
            match merged.last_mut() {
                Some((last, n)) if *last == code => *n += rows,
                _ => merged.push((code, rows)),
            }
        }
        stats.currencies = merged;
        stats.rows = total.rows as i64;
        stats.nulls = total.nulls.map(|n| n as i64);
        stats.amounts = total.amounts as i64;
        stats.cents = total.cents;
        stats.cents_sq = total.cents_sq;
        output.push((stats, 1));
    })
    .map(|(_, stats)| stats)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn a_tally_and_its_negation_cancel() {
        let row = Transaction {
            amount: Some(Decimal::new(-1234, 2)),
            currency: Some(String::new()),
            ..Transaction::default()
        };
        let tally = Tally::of(&row);
        assert_eq!(
            (tally.rows, tally.nulls, tally.cents, tally.cents_sq),
            (1, [1, 0, 1, 1, 1], -1234, 1234 * 1234)
        );
        let mut sum = tally.multiply(&3);
        sum.plus_equals(&tally.multiply(&-2));
        assert_eq!(sum, tally);
        let mut negated = tally;
        negated.negate();
        negated.plus_equals(&tally);
        assert!(negated.is_zero());
    }
}
