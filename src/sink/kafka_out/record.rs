//! The output topic's record format: one JSON change record per unit of diff, and progress.

use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Serialize as DeriveSerialize};

use crate::dataflow::quality::QualityRow;
use crate::dataflow::quality::row::AVG_SCALE;
use crate::fraud::score::risk_label;
use crate::record::AMOUNT_SCALE;
use crate::sink::SinkError;
use crate::sink::columns::{
    AMOUNT_PRECISION, AVG_PRECISION, CHECKS, COLUMN_NAMES, ChangeType, OUTPUT_COLUMNS,
};
use crate::sink::encode::to_i128;
use crate::sink::lineage::Trail;

/// Header naming the change: `insert` or `delete` (as the Delta table's `_change_type`).
pub const CHANGE_HEADER: &str = "trustflow.change";
/// Header naming the epoch that published the record, in decimal digits.
pub const EPOCH_HEADER: &str = "trustflow.epoch";

/// A quality verdict in the output topic's JSON shape: the quality table's data columns,
/// named and ordered as in [`COLUMN_NAMES`]; decimals as exact strings at their column's
/// scale, `timestamp` as epoch milliseconds, `metadata` as an object, nulls as `null`.
pub struct RowJson<'a> {
    row: &'a QualityRow,
    amount: Option<String>,
    avg: Option<String>,
}

impl<'a> RowJson<'a> {
    /// The row with its decimals rendered; an error if one does not fit its column
    /// (`decimal(18,2)` and `decimal(22,6)`, as in the Delta table).
    pub fn new(row: &'a QualityRow) -> Result<RowJson<'a>, SinkError> {
        let amount = row.record.amount.map(|a| exact(a, AMOUNT_PRECISION, AMOUNT_SCALE, COLUMN_NAMES[2]));
        let avg = row.avg_transaction_amount.map(|a| exact(a, AVG_PRECISION, AVG_SCALE, COLUMN_NAMES[14]));
        Ok(RowJson { row, amount: amount.transpose()?, avg: avg.transpose()? })
    }

    /// The row's transactionId: the record key.
    pub fn transaction_id(&self) -> Option<&str> {
        self.row.record.transaction_id.as_deref()
    }
}

/// `value` as text with exactly `scale` decimal places, if it fits `decimal(precision, scale)`.
fn exact(value: Decimal, precision: u8, scale: u32, column: &'static str) -> Result<String, SinkError> {
    let signed = i8::try_from(scale).map_err(|_| SinkError::internal("decimal scale over 127"))?;
    let mantissa = to_i128(value, precision, signed, column)?;
    let exact = Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|e| {
        SinkError::ValueOutOfRange { column, value: value.to_string(), reason: e.to_string() }
    })?;
    Ok(exact.to_string())
}

impl Serialize for RowJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (row, record) = (self.row, &self.row.record);
        let mut map = serializer.serialize_map(Some(OUTPUT_COLUMNS))?;
        map.serialize_entry(COLUMN_NAMES[0], &record.transaction_id)?;
        map.serialize_entry(COLUMN_NAMES[1], &record.user_id)?;
        map.serialize_entry(COLUMN_NAMES[2], &self.amount)?;
        map.serialize_entry(COLUMN_NAMES[3], &record.currency)?;
        map.serialize_entry(COLUMN_NAMES[4], &record.timestamp)?;
        map.serialize_entry(COLUMN_NAMES[5], &record.metadata.as_deref())?;
        // The checks sit at columns 6..=13, 15 and 16, around the average at 14.
        let (before_avg, after_avg) = CHECKS.split_at(8);
        for check in before_avg {
            map.serialize_entry(
                COLUMN_NAMES[check.column],
                if (check.get)(row) { check.pass } else { check.fail },
            )?;
        }
        map.serialize_entry(COLUMN_NAMES[14], &self.avg)?;
        for check in after_avg {
            map.serialize_entry(
                COLUMN_NAMES[check.column],
                if (check.get)(row) { check.pass } else { check.fail },
            )?;
        }
        map.serialize_entry(COLUMN_NAMES[17], &row.checks_passed())?;
        map.serialize_entry(COLUMN_NAMES[18], &row.quality_score())?;
        map.serialize_entry(COLUMN_NAMES[19], &row.fraud.map(|f| f.score.0))?;
        map.serialize_entry(COLUMN_NAMES[20], risk_label(row.fraud.as_ref()))?;
        map.serialize_entry(COLUMN_NAMES[21], &row.fraud.map(|f| f.model_version))?;
        let label = row.governance.as_ref();
        map.serialize_entry(COLUMN_NAMES[22], &label.map(|l| l.tags()))?;
        let fields = label.map(|l| l.protected.iter().map(ToString::to_string).collect::<Vec<_>>());
        map.serialize_entry(COLUMN_NAMES[23], &fields)?;
        let origin = record.origin.as_ref();
        map.serialize_entry(COLUMN_NAMES[24], &origin.map(|o| &*o.topic))?;
        map.serialize_entry(COLUMN_NAMES[25], &origin.map(|o| o.partition))?;
        map.serialize_entry(COLUMN_NAMES[26], &origin.map(|o| o.offset))?;
        map.serialize_entry(COLUMN_NAMES[27], &origin.map(|o| o.schema_id))?;
        map.serialize_entry(COLUMN_NAMES[28], &Trail::of(row))?;
        map.end()
    }
}

/// The value of one output record: `{"change":"insert"|"delete","epoch":N,"row":{...}}`.
#[derive(DeriveSerialize)]
pub struct ChangeJson<'a> {
    /// `insert` (diff > 0) or `delete` (diff < 0).
    pub change: &'static str,
    /// The epoch that published the change.
    pub epoch: u64,
    /// The verdict.
    pub row: &'a RowJson<'a>,
}

impl<'a> ChangeJson<'a> {
    /// The change record of `row` with differential diff `diff` (non-zero) in `epoch`.
    pub fn new(row: &'a RowJson<'a>, diff: isize, epoch: u64) -> ChangeJson<'a> {
        let change = if diff > 0 { ChangeType::Insert } else { ChangeType::Delete };
        ChangeJson { change: change.as_str(), epoch, row }
    }
}

/// The value of a progress record (key: the app id): the epoch a transaction published and
/// how many change records it wrote to the output topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, DeriveSerialize, Deserialize)]
pub struct Progress {
    /// The epoch.
    pub epoch: u64,
    /// Change records written in the epoch's transaction.
    pub records: u64,
}
