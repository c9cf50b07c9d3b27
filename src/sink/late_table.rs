//! The late-events table: rows the horizon kept out of the graph, with the reason and cutoff.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Int64Builder, StringBuilder};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::{DataType, StructField};

use super::changelog::ChangeTable;
use super::error::SinkError;
use super::extra_tables::{quality_batch_then, quality_fields_then};
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
        let extra = vec![
            StructField::new("reason", DataType::STRING, false),
            StructField::new("cutoff", DataType::LONG, true),
        ];
        quality_fields_then(RECORD_COLUMNS, extra)
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
        let count: usize = changes.iter().map(|(_, d)| d.unsigned_abs()).sum();
        let mut reasons = StringBuilder::with_capacity(count, count * 14);
        let mut cutoffs = Int64Builder::with_capacity(count);
        for (late, diff) in changes {
            for _ in 0..diff.unsigned_abs() {
                reasons.append_value(late.reason.as_str());
                cutoffs.append_option(late.cutoff_ms);
            }
        }
        let extra: Vec<ArrayRef> = vec![Arc::new(reasons.finish()), Arc::new(cutoffs.finish())];
        quality_batch_then(schema, epoch, &rows, RECORD_COLUMNS, extra, "building the late-events batch")
    }
}
