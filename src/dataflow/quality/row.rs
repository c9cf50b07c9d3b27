//! The quality verdict of one transaction: what the quality graph emits and the sinks write.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::fraud::score::FraudScore;
use crate::governance::Label;
use crate::record::Transaction;

/// Scale of `avg_transaction_amount` (Spark's `avg` over decimal(18,2) is decimal(22,6)).
pub const AVG_SCALE: u32 = 6;

/// Number of checks that `checks_passed` counts (5 completeness, 3 validity, consistency,
/// uniqueness).
pub const CHECK_COUNT: u8 = 10;

/// The verdicts for one input row. Flags are booleans here (`true` = COMPLETE, VALID,
/// CONSISTENT, UNIQUE); the sinks spell them as the reference design's strings.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QualityRow {
    /// The input row, unchanged.
    pub record: Transaction,
    /// `transactionId` is neither null nor empty.
    pub transaction_id_complete: bool,
    /// `userId` is neither null nor empty.
    pub user_id_complete: bool,
    /// `amount` is not null.
    pub amount_complete: bool,
    /// `currency` is neither null nor empty.
    pub currency_complete: bool,
    /// `timestamp` is not null.
    pub timestamp_complete: bool,
    /// `amount > 0`.
    pub amount_valid: bool,
    /// `currency` matches `^[A-Z]{3}$`.
    pub currency_valid: bool,
    /// `timestamp` lies in the 24 hours before "now" (seconds, both ends inclusive).
    pub timestamp_valid: bool,
    /// Average amount over the row's consistency frame, scale [`AVG_SCALE`]; null when the
    /// frame holds no non-null amount.
    #[serde(with = "crate::record::opt_decimal")]
    pub avg_transaction_amount: Option<Decimal>,
    /// Not INCONSISTENT: `2 * |amount - avg| <= avg`, or no positive average to compare with.
    pub consistent: bool,
    /// No other row shares this row's non-null `transactionId`.
    pub unique: bool,
    /// The fraud score, when the run scores with a model (`None`: not scored, never a
    /// made-up score). Not a quality check: `checks_passed` and `quality_score` ignore it.
    #[serde(default)]
    pub fraud: Option<FraudScore>,
    /// What governance found in the record and did to it (`record` then holds the values as
    /// the policy writes them); `None` before the sinks' policy is applied.
    #[serde(default)]
    pub governance: Option<Label>,
}

impl QualityRow {
    /// Each check's output column name and whether the row passes it.
    pub fn checks(&self) -> [(&'static str, bool); CHECK_COUNT as usize] {
        [
            ("transactionId_completeness", self.transaction_id_complete),
            ("userId_completeness", self.user_id_complete),
            ("amount_completeness", self.amount_complete),
            ("currency_completeness", self.currency_complete),
            ("timestamp_completeness", self.timestamp_complete),
            ("amount_validity", self.amount_valid),
            ("currency_validity", self.currency_valid),
            ("timestamp_validity", self.timestamp_valid),
            ("consistency_check", self.consistent),
            ("uniqueness", self.unique),
        ]
    }

    /// How many of the [`CHECK_COUNT`] checks pass.
    pub fn checks_passed(&self) -> u8 {
        self.checks().iter().filter(|(_, passed)| *passed).count() as u8
    }

    /// `checks_passed / 10.0`.
    pub fn quality_score(&self) -> f64 {
        f64::from(self.checks_passed()) / f64::from(CHECK_COUNT)
    }
}
