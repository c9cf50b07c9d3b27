//! The late-events table: rows the horizon kept out of the graph, with the reason and cutoff.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Int64Builder, StringBuilder};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::{DataType, StructField};

use super::changelog::{ChangeTable, QualityChanges};
use super::columns::OUTPUT_COLUMNS;
use super::error::SinkError;
use super::extra_tables::{arrow_error, change_fields};
use crate::dataflow::horizon::LateEvent;
use crate::dataflow::quality::rules::verdict;

/// Input columns the late table repeats from the quality table (transactionId .. metadata).
const RECORD_COLUMNS: usize = 6;

/// Rows set aside by the event-time horizon: the input columns as the quality table spells
/// them, `reason` (`before_horizon`, `after_horizon`, `no_event_time`), `cutoff` (the epoch's
/// cutoff, epoch milliseconds, null before any timestamp was read), then the change columns.
pub struct LateChanges;

impl ChangeTable for LateChanges {
    type Row = LateEvent;
    const COMMENT: &'static str = "trustflow late events: rows outside the event-time horizon, kept out \
         of the quality graph, with the reason and the cutoff of their epoch";

    fn fields() -> Result<Vec<StructField>, SinkError> {
        let mut fields = QualityChanges::fields()?;
        fields.truncate(RECORD_COLUMNS);
        fields.push(StructField::new("reason", DataType::STRING, false));
        fields.push(StructField::new("cutoff", DataType::LONG, true));
        fields.extend(change_fields());
        Ok(fields)
    }

    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(Self::Row, isize)],
    ) -> Result<RecordBatch, SinkError> {
        // The record columns are encoded exactly as the quality table's: through a verdict
        // whose other columns are dropped.
        let rows: Vec<_> =
            changes.iter().map(|(late, diff)| (verdict(late.row.clone(), None, true, 0), *diff)).collect();
        let quality = QualityChanges::to_batch(&QualityChanges::arrow_schema()?, epoch, &rows)?;
        let count: usize = changes.iter().map(|(_, d)| d.unsigned_abs()).sum();
        let mut reasons = StringBuilder::with_capacity(count, count * 14);
        let mut cutoffs = Int64Builder::with_capacity(count);
        for (late, diff) in changes {
            for _ in 0..diff.unsigned_abs() {
                reasons.append_value(late.reason.as_str());
                cutoffs.append_option(late.cutoff_ms);
            }
        }
        let mut columns: Vec<ArrayRef> = quality.columns()[..RECORD_COLUMNS].to_vec();
        columns.push(Arc::new(reasons.finish()));
        columns.push(Arc::new(cutoffs.finish()));
        columns.extend_from_slice(&quality.columns()[OUTPUT_COLUMNS..]);
        RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error("building the late-events batch"))
    }
}
