//! Bounded state: an event-time horizon that retires old history and freezes old verdicts.
//!
//! Event time is the largest timestamp read so far (at or before "now"; per Kafka partition,
//! the smallest such of the partitions still being read); the cutoff of an epoch is that
//! minus the horizon. Rows before the cutoff (or without a timestamp, or more
//! than the horizon after "now") are set aside as late with their reason, never silently
//! dropped. Verdicts of rows before the cutoff are final; the history and transactionId
//! counts behind them are retired. See `docs/quality-semantics.md`, "Bounded state".

mod admit;
mod freeze;
mod retire;
mod watermark;

pub use watermark::Mark;

use std::fmt;
use std::time::Duration;

use differential_dataflow::VecCollection;
use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::vec::Broadcast;

use super::quality::QualityRow;
use super::quality::graph::{frames, verdicts};
use crate::record::Transaction;

/// Buckets per horizon: state is retired in steps of a sixteenth of the horizon.
const BUCKETS_PER_HORIZON: i64 = 16;

/// How far behind the largest timestamp read the graph keeps history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Horizon {
    /// The horizon, milliseconds.
    pub width_ms: i64,
    /// The granularity of retirement, milliseconds.
    pub bucket_ms: i64,
}

/// A horizon that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HorizonError {
    /// Not a duration.
    #[error("`{text}` is not a duration (try 7d, 36h or 90min): {reason}")]
    Unparsable {
        /// What was given.
        text: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Zero, or too long to count in milliseconds.
    #[error("the horizon must be between 1 ms and 100 years, not {0:?}")]
    OutOfRange(Duration),
}

impl Horizon {
    /// A horizon of `width`.
    pub fn new(width: Duration) -> Result<Horizon, HorizonError> {
        let width_ms = i64::try_from(width.as_millis()).unwrap_or(i64::MAX);
        if width_ms < 1 || width > Duration::from_secs(100 * 365 * 86_400) {
            return Err(HorizonError::OutOfRange(width));
        }
        Ok(Horizon { width_ms, bucket_ms: (width_ms / BUCKETS_PER_HORIZON).max(1) })
    }

    /// A horizon written as a duration: `7d`, `36h`, `90min`, `1d 12h`.
    pub fn parse(text: &str) -> Result<Horizon, HorizonError> {
        let width = humantime::parse_duration(text)
            .map_err(|e| HorizonError::Unparsable { text: text.to_owned(), reason: e.to_string() })?;
        Horizon::new(width)
    }

    /// The retirement bucket of a timestamp.
    pub fn bucket(&self, timestamp_ms: i64) -> i64 {
        timestamp_ms.div_euclid(self.bucket_ms)
    }
}

impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = Duration::from_millis(self.width_ms as u64);
        write!(f, "{}", humantime::format_duration(width))
    }
}

/// Why a row was kept out of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LateReason {
    /// Its timestamp is before the cutoff: its user's history there is already retired.
    BeforeHorizon,
    /// Its timestamp is more than the horizon after "now".
    AfterHorizon,
    /// It has no timestamp, so no place in event time.
    NoEventTime,
}

impl LateReason {
    /// The reason as the quarantine table spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            LateReason::BeforeHorizon => "before_horizon",
            LateReason::AfterHorizon => "after_horizon",
            LateReason::NoEventTime => "no_event_time",
        }
    }
}

/// A row kept out of the graph, with why and the cutoff of its epoch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LateEvent {
    /// The row, unchanged.
    pub row: Transaction,
    /// Why it was kept out.
    pub reason: LateReason,
    /// The cutoff of the epoch it arrived in (`None` before any timestamp was read).
    pub cutoff_ms: Option<i64>,
}

/// The quality graph within a horizon.
pub struct Bounded<'scope> {
    /// The verdicts, each final once the cutoff passes its row.
    pub verdicts: VecCollection<'scope, u64, QualityRow>,
    /// Rows kept out of the graph.
    pub late: VecCollection<'scope, u64, LateEvent>,
    /// The rows the graph holds in its state (for accounting: memory per retained row).
    pub retained: VecCollection<'scope, u64, Transaction>,
    /// The source position (partition, offset) of every row the state holds, in a user's
    /// history or in a transactionId's counts. A restart needs no other record read by then
    /// (see `pipeline::resume`): each was late, or has left the state without a trace the
    /// graph's later epochs can see.
    pub held: VecCollection<'scope, u64, (i32, i64)>,
}

/// The quality verdicts of `transactions` (see [`crate::dataflow::quality::quality`]) with
/// state bounded by `horizon`, event time taken from the rows themselves (as one source).
pub fn quality_within<'scope>(
    transactions: VecCollection<'scope, u64, Transaction>,
    now_ms: i64,
    horizon: Horizon,
) -> Bounded<'scope> {
    let marks = watermark::marks_of(transactions.inner.clone(), now_ms);
    quality_within_marks(transactions, marks, now_ms, horizon)
}

/// As [`quality_within`], with event time from `marks`: each worker's report of its sources'
/// progress (see [`Mark`]), sent at the epoch of the rows it covers.
///
/// The verdict of every row is the unbounded graph's as long as the rows that decide it
/// arrive while it is inside the horizon; once the cutoff passes a row its verdict is final.
pub fn quality_within_marks<'scope>(
    transactions: VecCollection<'scope, u64, Transaction>,
    marks: StreamVec<'scope, u64, Mark>,
    now_ms: i64,
    horizon: Horizon,
) -> Bounded<'scope> {
    let marks = marks.broadcast();
    let (admitted, late) = admit::admit(transactions, marks.clone(), horizon, now_ms);
    let first_bucket = watermark::horizon_bucket(marks.clone(), horizon);
    let live = retire::retire(admitted, first_bucket, horizon);
    let verdicts = verdicts(frames(live.rows.clone()), live.duplicated, now_ms);
    let verdicts = freeze::freeze(verdicts, marks, horizon, |row: &QualityRow| row.record.timestamp);
    Bounded { verdicts, late, retained: live.rows, held: live.held }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_parse_as_durations() {
        assert_eq!(Horizon::parse("7d").unwrap().width_ms, 7 * 86_400_000);
        assert_eq!(Horizon::parse("90min").unwrap().bucket_ms, 90 * 60_000 / 16);
        assert!(matches!(Horizon::parse("seven days"), Err(HorizonError::Unparsable { .. })));
        assert!(matches!(Horizon::parse("0s"), Err(HorizonError::OutOfRange(_))));
        assert_eq!(Horizon::parse("7d").unwrap().to_string(), "7days");
    }

    #[test]
    fn buckets_floor_negative_times() {
        let horizon = Horizon { width_ms: 160, bucket_ms: 10 };
        assert_eq!(horizon.bucket(-1), -1);
        assert_eq!(horizon.bucket(9), 0);
        assert_eq!(horizon.bucket(10), 1);
    }
}
