//! Kinds of changelog table: their columns and how a row becomes Arrow, one trait.

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::StructField;

use super::columns::{arrow_schema_of, delta_fields};
use super::encode::changes_to_batch;
use super::error::SinkError;
use crate::dataflow::quality::QualityRow;

/// A changelog table kind: a row type of the dataflow, the table's columns (data columns,
/// then `_change_type` and `_epoch`), and the conversion of one epoch's changes to Arrow.
pub trait ChangeTable: 'static {
    /// The dataflow rows this table holds.
    type Row;
    /// The table's comment, for people browsing a catalog.
    const COMMENT: &'static str;
    /// The Delta columns, in table order.
    fn fields() -> Result<Vec<StructField>, SinkError>;
    /// The Arrow schema of [`ChangeTable::fields`], as deltalake's writer expects it.
    fn arrow_schema() -> Result<SchemaRef, SinkError> {
        arrow_schema_of(Self::fields()?)
    }
    /// One epoch's changes as a batch under `schema`: a diff `d` gives `|d|` rows marked
    /// `insert` (d > 0) or `delete` (d < 0).
    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(Self::Row, isize)],
    ) -> Result<RecordBatch, SinkError>;
}

/// The main table: the quality verdicts.
pub struct QualityChanges;

impl ChangeTable for QualityChanges {
    type Row = QualityRow;
    const COMMENT: &'static str = "trustflow quality changelog: one row per inserted or retracted verdict \
         (_change_type), committed exactly once per epoch (_epoch, txn action)";

    fn fields() -> Result<Vec<StructField>, SinkError> {
        delta_fields()
    }

    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(QualityRow, isize)],
    ) -> Result<RecordBatch, SinkError> {
        changes_to_batch(schema, epoch, changes)
    }
}
