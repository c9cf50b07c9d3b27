//! The side tables: quarantined verdicts with the rules they failed, and window metrics.

use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
};
use deltalake::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::{ArrayType, DataType, StructField};

use super::changelog::{ChangeTable, QualityChanges};
use super::columns::{CHANGE_TYPE, ChangeType, EPOCH, OUTPUT_COLUMNS};
use super::error::SinkError;
use crate::dataflow::quality::QualityRow;
use crate::dataflow::windows::WindowMetrics;

/// Name of the quarantine table's column listing the failed expectations.
pub const FAILED_RULES: &str = "failed_rules";

/// The change columns, as every changelog ends.
pub(super) fn change_fields() -> [StructField; 2] {
    [StructField::new(CHANGE_TYPE, DataType::STRING, false), StructField::new(EPOCH, DataType::LONG, false)]
}

pub(super) fn arrow_error(
    context: &'static str,
) -> impl Fn(deltalake::arrow::error::ArrowError) -> SinkError {
    move |source| SinkError::Arrow { context, source }
}

pub(super) fn epoch_i64(epoch: u64) -> Result<i64, SinkError> {
    i64::try_from(epoch).map_err(|_| SinkError::EpochOutOfRange { epoch })
}

/// The first `keep` columns of the quality table, then `extra`, then the change columns.
pub(super) fn quality_fields_then(
    keep: usize,
    extra: Vec<StructField>,
) -> Result<Vec<StructField>, SinkError> {
    let mut fields = QualityChanges::fields()?;
    fields.truncate(keep);
    fields.extend(extra);
    fields.extend(change_fields());
    Ok(fields)
}

/// `rows` encoded as the quality table encodes them, its first `keep` columns, then `extra`,
/// then the change columns: a side table that shares the quality table's leading columns.
pub(super) fn quality_batch_then(
    schema: &SchemaRef,
    epoch: u64,
    rows: &[(QualityRow, isize)],
    keep: usize,
    extra: Vec<ArrayRef>,
    context: &'static str,
) -> Result<RecordBatch, SinkError> {
    let quality = QualityChanges::to_batch(&QualityChanges::arrow_schema()?, epoch, rows)?;
    let mut columns: Vec<ArrayRef> = quality.columns()[..keep].to_vec();
    columns.extend(extra);
    columns.extend_from_slice(&quality.columns()[OUTPUT_COLUMNS..]);
    RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error(context))
}

/// Verdicts that failed a `quarantine` expectation: the quality columns, `failed_rules`
/// (every expectation the row fails), then the change columns.
pub struct QuarantineChanges;

impl ChangeTable for QuarantineChanges {
    type Row = (QualityRow, Vec<String>);
    const COMMENT: &'static str = "trustflow quarantine changelog: verdicts that failed a quarantine \
         expectation, with the expectations they failed (failed_rules)";

    fn fields() -> Result<Vec<StructField>, SinkError> {
        let failed = StructField::new(FAILED_RULES, ArrayType::new(DataType::STRING, false), true);
        quality_fields_then(OUTPUT_COLUMNS, vec![failed])
    }

    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(Self::Row, isize)],
    ) -> Result<RecordBatch, SinkError> {
        let rows: Vec<(QualityRow, isize)> =
            changes.iter().map(|((row, _), diff)| (row.clone(), *diff)).collect();
        let list_field = match schema.field(OUTPUT_COLUMNS).data_type() {
            ArrowType::List(field) => field.clone(),
            other => return Err(SinkError::internal(format!("failed_rules is {other}, not a list"))),
        };
        let mut failed = ListBuilder::new(StringBuilder::new()).with_field(list_field);
        for ((_, rules), diff) in changes {
            for _ in 0..diff.unsigned_abs() {
                for rule in rules {
                    failed.values().append_value(rule);
                }
                failed.append(true);
            }
        }
        let failed: ArrayRef = Arc::new(failed.finish());
        quality_batch_then(
            schema,
            epoch,
            &rows,
            OUTPUT_COLUMNS,
            vec![failed],
            "building the quarantine batch",
        )
    }
}

/// The quality dashboard: per event-time window, records, good records (score >= 0.9), the
/// quality percentage, distinct users, total value and the average fraud score (null when the
/// run has no model).
pub struct WindowChanges;

/// Column names of the window table's data columns.
pub const WINDOW_COLUMNS: [&str; 8] = [
    "window_start",
    "window_end",
    "total_records",
    "good_records",
    "quality_percentage",
    "unique_users",
    "total_value",
    "avg_fraud_score",
];

impl WindowChanges {
    /// The width of the windows this table's rows describe (needed for `window_end`).
    pub const WIDTH_MS: i64 = crate::dataflow::windows::DASHBOARD_WINDOW_MS;
}

impl ChangeTable for WindowChanges {
    type Row = WindowMetrics;
    const COMMENT: &'static str = "trustflow quality dashboard changelog: 5-minute event-time windows, \
         corrected by retraction when late events land";

    fn fields() -> Result<Vec<StructField>, SinkError> {
        let value = DataType::decimal(38, 2).map_err(|e| SinkError::internal(e.to_string()))?;
        let types = [
            DataType::LONG,
            DataType::LONG,
            DataType::LONG,
            DataType::LONG,
            DataType::DOUBLE,
            DataType::LONG,
            value,
            DataType::DOUBLE,
        ];
        let mut fields: Vec<StructField> =
            WINDOW_COLUMNS.iter().zip(types).map(|(name, ty)| StructField::new(*name, ty, true)).collect();
        fields.extend(change_fields());
        Ok(fields)
    }

    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(Self::Row, isize)],
    ) -> Result<RecordBatch, SinkError> {
        let epoch = epoch_i64(epoch)?;
        let rows: usize = changes.iter().map(|(_, d)| d.unsigned_abs()).sum();
        let mut longs: Vec<Int64Builder> = (0..5).map(|_| Int64Builder::with_capacity(rows)).collect();
        let mut percentage = Float64Builder::with_capacity(rows);
        let mut value =
            Decimal128Builder::with_capacity(rows).with_data_type(schema.field(6).data_type().clone());
        let mut fraud = Float64Builder::with_capacity(rows);
        let mut change_types = StringBuilder::with_capacity(rows, rows * 6);
        let mut epochs = Int64Builder::with_capacity(rows);
        for (m, diff) in changes {
            let change = if *diff > 0 { ChangeType::Insert } else { ChangeType::Delete };
            for _ in 0..diff.unsigned_abs() {
                longs[0].append_option(m.start_ms);
                longs[1].append_option(m.start_ms.map(|s| s + WindowChanges::WIDTH_MS));
                longs[2].append_value(m.records);
                longs[3].append_value(m.good);
                percentage.append_value(m.quality_percentage());
                longs[4].append_value(m.users);
                value.append_value(m.value_cents);
                fraud.append_option(m.average_fraud_score());
                change_types.append_value(change.as_str());
                epochs.append_value(epoch);
            }
        }
        let mut longs = longs.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
        let mut next = || longs.next().ok_or_else(|| SinkError::internal("window column count"));
        let columns: Vec<ArrayRef> = vec![
            next()?,
            next()?,
            next()?,
            next()?,
            Arc::new(percentage.finish()),
            next()?,
            Arc::new(value.finish()),
            Arc::new(fraud.finish()),
            Arc::new(change_types.finish()),
            Arc::new(epochs.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error("building the window batch"))
    }
}
