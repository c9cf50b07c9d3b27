//! Anomaly monitoring of the input flows: per-window statistics compared with their baseline.
//!
//! Issue 7, item 4. The monitor watches the raw decoded transactions, before any quality
//! routing. Per source (the Kafka topic a row was read from) and event-time tumbling window,
//! [`stats::window_stats`] keeps exact integer statistics: rows, nulls per field, the amount's
//! count, sum and sum of squares in cents, the schema ids seen and the currency counts.
//! [`detect::alerts`] compares each window with the windows before it of the same source
//! (its baseline) and emits [`Alert`] records with their evidence. Both are differential
//! operators, so a late row that changes a window corrects every alert that window decides
//! or takes part in, by retraction. `reference` recomputes the same alerts from scratch, for
//! tests. Formulas and defaults: `docs/governance.md`, "Anomaly monitoring".

pub mod detect;
pub mod reference;
pub mod stats;

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use crate::record::Transaction;

pub use detect::alerts;
pub use stats::{WindowStats, window_stats};

/// The default window width: 1 minute.
pub const DEFAULT_WINDOW_MS: i64 = 60_000;
/// The default number of earlier windows a window is compared with.
pub const DEFAULT_BASELINE_WINDOWS: u32 = 10;
/// The default number of those that must hold data before a window may raise an alert.
pub const DEFAULT_MIN_BASELINE_WINDOWS: u32 = 3;
/// The default z-score threshold (volume, null ratio, amount mean).
pub const DEFAULT_Z_THRESHOLD: f64 = 3.0;
/// The default total variation distance threshold (currency shares).
pub const DEFAULT_TVD_THRESHOLD: f64 = 0.2;
/// The default number of rows a window needs before its null ratios and distributions are
/// judged: below it, one null or one unusual currency is a large share by chance.
pub const DEFAULT_MIN_WINDOW_ROWS: u64 = 100;
/// The largest baseline accepted: every window's statistics are copied to this many later
/// windows.
pub const MAX_BASELINE_WINDOWS: u32 = 1_000;

/// How the monitor windows and judges the flows. Plain values: it is copied into operators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnomalyConfig {
    /// Width of the event-time tumbling windows, milliseconds.
    pub window_ms: i64,
    /// Windows before a window (by event time) that form its baseline.
    pub baseline_windows: u32,
    /// Baseline windows with data needed before a window may raise an alert.
    pub min_baseline_windows: u32,
    /// |z| (volume, amount mean) or z (null ratio) at or above which an alert is raised.
    pub z_threshold: f64,
    /// Total variation distance of the currency shares at or above which an alert is raised.
    pub tvd_threshold: f64,
    /// Rows (with a currency, for the currency shares; with an amount, for the amount's
    /// mean) a window needs before its null ratios and distributions are judged.
    pub min_window_rows: u64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            window_ms: DEFAULT_WINDOW_MS,
            baseline_windows: DEFAULT_BASELINE_WINDOWS,
            min_baseline_windows: DEFAULT_MIN_BASELINE_WINDOWS,
            z_threshold: DEFAULT_Z_THRESHOLD,
            tvd_threshold: DEFAULT_TVD_THRESHOLD,
            min_window_rows: DEFAULT_MIN_WINDOW_ROWS,
        }
    }
}

/// A monitor setting out of range.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnomalyError {
    /// The window is not a duration.
    #[error("anomaly_monitoring.window: `{text}` is not a duration (try 1m, 30s or 5min): {reason}")]
    Window {
        /// What was given.
        text: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The window is zero or longer than a day.
    #[error("anomaly_monitoring.window must be between 1 ms and 1 day, not {0:?}")]
    WindowRange(Duration),
    /// The baseline is empty, too long, or shorter than its minimum.
    #[error(
        "anomaly_monitoring: need 1 <= min_baseline_windows ({min}) <= baseline_windows ({windows}) <= {MAX_BASELINE_WINDOWS}"
    )]
    Baseline {
        /// `baseline_windows`.
        windows: u32,
        /// `min_baseline_windows`.
        min: u32,
    },
    /// A threshold is not a positive number (or a distance above 1).
    #[error("anomaly_monitoring.{name} must be a positive number{limit}, not {value}")]
    Threshold {
        /// Which threshold.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The upper limit, if any, for the message.
        limit: &'static str,
    },
}

impl AnomalyConfig {
    /// A checked configuration; `window` is a duration such as `1m`.
    pub fn new(
        window: &str,
        baseline_windows: u32,
        min_baseline_windows: u32,
        z_threshold: f64,
        tvd_threshold: f64,
    ) -> Result<AnomalyConfig, AnomalyError> {
        let width = humantime::parse_duration(window)
            .map_err(|e| AnomalyError::Window { text: window.to_owned(), reason: e.to_string() })?;
        let window_ms = i64::try_from(width.as_millis()).unwrap_or(i64::MAX);
        if window_ms < 1 || width > Duration::from_secs(86_400) {
            return Err(AnomalyError::WindowRange(width));
        }
        let config = AnomalyConfig {
            window_ms,
            baseline_windows,
            min_baseline_windows,
            z_threshold,
            tvd_threshold,
            min_window_rows: DEFAULT_MIN_WINDOW_ROWS,
        };
        config.check()?;
        Ok(config)
    }

    /// Checks the baseline and thresholds.
    pub fn check(&self) -> Result<(), AnomalyError> {
        let (windows, min) = (self.baseline_windows, self.min_baseline_windows);
        if min < 1 || min > windows || windows > MAX_BASELINE_WINDOWS {
            return Err(AnomalyError::Baseline { windows, min });
        }
        if !(self.z_threshold.is_finite() && self.z_threshold > 0.0) {
            return Err(AnomalyError::Threshold { name: "z_threshold", value: self.z_threshold, limit: "" });
        }
        if !(self.tvd_threshold > 0.0 && self.tvd_threshold <= 1.0) {
            return Err(AnomalyError::Threshold {
                name: "tvd_threshold",
                value: self.tvd_threshold,
                limit: " at most 1",
            });
        }
        Ok(())
    }
}

/// The nullable fields of a [`Transaction`] whose null ratio is monitored (the timestamp is
/// the window's clock: rows without one are not monitored, see [`stats::window_stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Field {
    /// `transactionId`.
    TransactionId,
    /// `amount`.
    Amount,
    /// `currency`.
    Currency,
    /// `metadata`.
    Metadata,
    /// `userId`.
    UserId,
}

/// How many [`Field`]s there are.
pub const FIELD_COUNT: usize = 5;

impl Field {
    /// Every monitored field, in column order.
    pub const ALL: [Field; FIELD_COUNT] =
        [Field::TransactionId, Field::Amount, Field::Currency, Field::Metadata, Field::UserId];

    /// The column name, as the quality table spells it.
    pub fn name(self) -> &'static str {
        match self {
            Field::TransactionId => "transactionId",
            Field::Amount => "amount",
            Field::Currency => "currency",
            Field::Metadata => "metadata",
            Field::UserId => "userId",
        }
    }
}

/// What an alert says is unusual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    /// The window's row count is far from the baseline's (either way).
    Volume,
    /// A field's null ratio rose far above the baseline's.
    NullRatio,
    /// A schema id no baseline window had.
    SchemaChange,
    /// The amount's mean moved (field `amount`), or the currency shares moved (field
    /// `currency`).
    Distribution,
}

impl AlertKind {
    /// The `kind` column's value.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::Volume => "volume",
            AlertKind::NullRatio => "null_ratio",
            AlertKind::SchemaChange => "schema_change",
            AlertKind::Distribution => "distribution",
        }
    }
}

/// A float with a total order (by `f64::total_cmp`), so that alerts can be dataflow records.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Real(pub f64);

impl PartialEq for Real {
    fn eq(&self, other: &Real) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Real {}

impl PartialOrd for Real {
    fn partial_cmp(&self, other: &Real) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Real {
    fn cmp(&self, other: &Real) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl std::hash::Hash for Real {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// One anomaly: a window of a source whose statistic is far from its baseline. A function of
/// the input only (no processing time), so a replay or a late row reproduces or corrects it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Alert {
    /// The source: the Kafka topic the rows were read from.
    pub source: Arc<str>,
    /// Window start, epoch milliseconds (inclusive).
    pub window_start_ms: i64,
    /// Window end, epoch milliseconds (exclusive).
    pub window_end_ms: i64,
    /// What is unusual.
    pub kind: AlertKind,
    /// The field concerned (null ratio, distribution), if any.
    pub field: Option<Field>,
    /// The window's value of the statistic (see `docs/governance.md` per kind).
    pub observed: Real,
    /// The baseline's mean of the statistic (volume, null ratio, amount mean).
    pub baseline_mean: Option<Real>,
    /// The standard deviation the z-score divides by: the baseline's, floored.
    pub baseline_stddev: Option<Real>,
    /// `(observed - baseline_mean) / baseline_stddev`, where one applies.
    pub z_score: Option<Real>,
    /// The threshold that was crossed.
    pub threshold: Real,
    /// Baseline windows the comparison used.
    pub baseline_windows: u32,
    /// The exact counts the statistic came from, as JSON text.
    pub evidence: String,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.source, self.kind.name())?;
        if let Some(field) = self.field {
            write!(f, " of {}", field.name())?;
        }
        write!(
            f,
            " in window [{}, {}): observed {:.4}",
            self.window_start_ms, self.window_end_ms, self.observed.0
        )?;
        if let (Some(mean), Some(z)) = (self.baseline_mean, self.z_score) {
            write!(f, ", baseline mean {:.4}, z {:.2}", mean.0, z.0)?;
        }
        write!(f, " (threshold {}, {} baseline windows)", self.threshold.0, self.baseline_windows)
    }
}

/// The source name of rows read without an [`crate::record::Origin`] (batch input, tests).
pub const NO_ORIGIN: &str = "(no origin)";

/// The anomaly monitor over a collection of raw transactions: window statistics, then alerts.
pub fn monitor<'scope, T>(
    rows: VecCollection<'scope, T, Transaction>,
    config: AnomalyConfig,
) -> VecCollection<'scope, T, Alert>
where
    T: Timestamp + Lattice + Ord,
{
    alerts(window_stats(rows, config.window_ms), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked() {
        assert_eq!(AnomalyConfig::new("1m", 10, 3, 3.0, 0.2), Ok(AnomalyConfig::default()));
        assert!(matches!(AnomalyConfig::new("a minute", 10, 3, 3.0, 0.2), Err(AnomalyError::Window { .. })));
        assert!(matches!(AnomalyConfig::new("0s", 10, 3, 3.0, 0.2), Err(AnomalyError::WindowRange(_))));
        assert!(matches!(AnomalyConfig::new("2d", 10, 3, 3.0, 0.2), Err(AnomalyError::WindowRange(_))));
        for (windows, min) in [(10, 0), (3, 4), (1_001, 3)] {
            assert_eq!(
                AnomalyConfig::new("1m", windows, min, 3.0, 0.2),
                Err(AnomalyError::Baseline { windows, min })
            );
        }
        for z in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(AnomalyConfig::new("1m", 10, 3, z, 0.2).is_err(), "{z}");
        }
        for tvd in [0.0, 1.5, f64::NAN] {
            assert!(AnomalyConfig::new("1m", 10, 3, 3.0, tvd).is_err(), "{tvd}");
        }
        assert_eq!(AnomalyConfig::new("30s", 1, 1, 2.5, 1.0).unwrap().window_ms, 30_000);
    }

    #[test]
    fn reals_order_totally() {
        let mut values = [Real(1.0), Real(f64::NAN), Real(-0.5), Real(0.0)];
        values.sort();
        assert_eq!(values[..3], [Real(-0.5), Real(0.0), Real(1.0)]);
        assert!(values[3].0.is_nan());
    }
}
