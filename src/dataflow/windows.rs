//! Event-time window metrics for the quality dashboard, maintained incrementally.
//!
//! The reference dashboard groups quality results by 5-minute tumbling windows of event time
//! and reports total records, the share with `quality_score >= 0.9`, distinct users and total
//! transaction value. Here each is an aggregate that differential keeps per window: a late
//! row, or a verdict that a late row changes, updates its window's metrics by retraction.

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{AsCollection, VecCollection};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;
use timely::progress::Timestamp;

use super::quality::QualityRow;
use super::quality::rules::cents;

/// The dashboard's window width: 5 minutes.
pub const DASHBOARD_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Checks out of 10 that a row must pass to count as good quality (score >= 0.9).
const GOOD_CHECKS: u8 = 9;

/// The metrics of one tumbling window. Rows with a null timestamp form the window whose start
/// is `None` (as Spark's `window()` of a null timestamp groups them under a null window).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowMetrics {
    /// Window start, epoch milliseconds (inclusive); `None` for null timestamps.
    pub start_ms: Option<i64>,
    /// Rows in the window.
    pub records: i64,
    /// Rows with `quality_score >= 0.9`.
    pub good: i64,
    /// Distinct non-null userIds.
    pub users: i64,
    /// Sum of the non-null amounts, in cents.
    pub value_cents: i128,
    /// Rows with a fraud score.
    pub scored: i64,
    /// Sum of their fraud scores, in billionths (each score rounded to 9 decimals first, so
    /// that the sum is exact and a retraction subtracts exactly what its insertion added).
    pub score_nanos: i128,
}

impl WindowMetrics {
    /// `good / records * 100`.
    pub fn quality_percentage(&self) -> f64 {
        if self.records == 0 { 0.0 } else { self.good as f64 * 100.0 / self.records as f64 }
    }

    /// The average fraud score of the scored rows, if any.
    pub fn average_fraud_score(&self) -> Option<f64> {
        (self.scored > 0).then(|| self.score_nanos as f64 / 1e9 / self.scored as f64)
    }

    /// The total value as decimal(38,2).
    pub fn total_value(&self) -> Decimal {
        Decimal::from_i128_with_scale(self.value_cents, 2)
    }
}

/// The differences a window's totals are counted in: (records, good, cents), (scored rows,
/// score billionths).
type Totals = ((i128, i128, i128), (i128, i128));

/// The tumbling window of `width_ms` that holds `timestamp_ms`.
pub fn window_start(timestamp_ms: Option<i64>, width_ms: i64) -> Option<i64> {
    timestamp_ms.map(|ts| ts.div_euclid(width_ms) * width_ms)
}

/// Per-window metrics of a collection of quality verdicts. Counts and sums are one `count`
/// over a product difference (records, good, cents), distinct users a `distinct` then a
/// `count`: the work per update is independent of the window's size.
pub fn window_metrics<'scope, T>(
    rows: VecCollection<'scope, T, QualityRow>,
    width_ms: i64,
) -> VecCollection<'scope, T, WindowMetrics>
where
    T: Timestamp + Lattice + Ord,
{
    let totals = rows
        .clone()
        .inner
        .map(|(row, time, diff)| (row, time, diff as i128))
        .as_collection()
        .explode(move |row: QualityRow| {
            let good = i128::from(row.checks_passed() >= GOOD_CHECKS);
            let value = row.record.amount.map_or(0, cents);
            let scored = i128::from(row.fraud.is_some());
            let score = row.fraud.map_or(0, |f| (f.score.0 * 1e9).round() as i128);
            Some((window_start(row.record.timestamp, width_ms), ((1i128, good, value), (scored, score))))
        })
        .count()
        .map(|(window, ((records, good, value), scores)): (Option<i64>, Totals)| {
            (window, ((records as i64, good as i64, value), (scores.0 as i64, scores.1)))
        });
    let users = rows
        .flat_map(move |row| {
            let window = window_start(row.record.timestamp, width_ms);
            row.record.user_id.map(|user| (window, user))
        })
        .distinct()
        .map(|(window, _user)| window)
        .count();
    // A window with rows but no non-null user has no `users` entry: join the users onto the
    // totals, and supply zero where none matched.
    let metrics =
        |start_ms, ((records, good, value), (scored, score)): ((i64, i64, i128), (i64, i128)), users| {
            WindowMetrics { start_ms, records, good, users, value_cents: value, scored, score_nanos: score }
        };
    let with_users = totals
        .clone()
        .join_map(users.clone(), move |window, totals, users| metrics(*window, *totals, *users as i64));
    let without_users = totals
        .antijoin(users.map(|(window, _)| window))
        .map(move |(window, totals)| metrics(window, totals, 0));
    with_users.concat(without_users)
}
