//! Consolidating a changelog: inserts minus deletes per distinct row of the data columns.

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, StringArray};
use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::arrow::row::{RowConverter, SortField};
use serde::Serialize;

use super::error::MaintainError;
use crate::sink::columns::{CHANGE_TYPE, EPOCH};

/// Rows of a changelog by kind, and what they consolidate to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    /// Rows stored (inserts plus deletes).
    pub rows: u64,
    /// Rows marked `insert` (every row of a table without `_change_type`).
    pub inserts: u64,
    /// Rows marked `delete`.
    pub deletes: u64,
    /// Rows of the current state: the sum of the positive counts of distinct rows.
    pub consolidated: u64,
    /// Distinct rows deleted more often than inserted (0 in a sound changelog).
    pub negative: u64,
}

/// Counts, per distinct row of the data columns (every column but `_change_type` and
/// `_epoch`), inserts minus deletes; a table without `_change_type` counts every row once.
/// Rows are keyed by Arrow's row format, so any column type Arrow can compare works
/// (decimals, maps, nested types) and the rows come back out exactly as they went in.
pub struct Consolidator {
    converter: RowConverter,
    /// The data columns' positions in the input schema.
    data: Vec<usize>,
    /// The position of `_change_type`, if the table has one.
    change: Option<usize>,
    /// The schema of the consolidated rows: the data columns.
    output: SchemaRef,
    /// Inserts minus deletes per distinct row, keyed by the row's bytes in Arrow's row
    /// format (whose byte order is the row order).
    counts: HashMap<Box<[u8]>, i64>,
    tally: ChangeCounts,
}

impl Consolidator {
    /// A consolidator for batches of `schema`.
    pub fn new(schema: &Schema) -> Result<Consolidator, MaintainError> {
        let change = schema.index_of(CHANGE_TYPE).ok();
        let data: Vec<usize> = (0..schema.fields().len())
            .filter(|i| ![CHANGE_TYPE, EPOCH].contains(&schema.field(*i).name().as_str()))
            .collect();
        let output =
            Arc::new(schema.project(&data).map_err(MaintainError::arrow("projecting data columns"))?);
        let fields = output.fields().iter().map(|f| SortField::new(f.data_type().clone())).collect();
        let converter = RowConverter::new(fields).map_err(MaintainError::arrow("comparing rows"))?;
        Ok(Consolidator {
            converter,
            data,
            change,
            output,
            counts: HashMap::new(),
            tally: ChangeCounts::default(),
        })
    }

    /// The schema of [`finish`](Self::finish)'s batches: the data columns.
    pub fn output_schema(&self) -> &SchemaRef {
        &self.output
    }

    /// Adds the rows of `batch` (of the schema given to [`new`](Self::new)). A row whose
    /// `_change_type` is neither `insert` nor `delete` is an error naming the value.
    pub fn push(&mut self, batch: &RecordBatch) -> Result<(), MaintainError> {
        let columns: Vec<ArrayRef> = self.data.iter().map(|i| batch.column(*i).clone()).collect();
        let rows =
            self.converter.convert_columns(&columns).map_err(MaintainError::arrow("comparing rows"))?;
        let changes = match self.change {
            Some(i) => Some(batch.column(i).as_any().downcast_ref::<StringArray>().ok_or_else(|| {
                bad_change(format!("`{CHANGE_TYPE}` is {}, not a string", batch.column(i).data_type()))
            })?),
            None => None,
        };
        for (i, row) in rows.iter().enumerate() {
            let diff = match changes {
                None => 1,
                Some(changes) if changes.is_valid(i) && changes.value(i) == "insert" => 1,
                Some(changes) if changes.is_valid(i) && changes.value(i) == "delete" => -1,
                Some(changes) => {
                    let value = if changes.is_valid(i) { changes.value(i) } else { "null" };
                    return Err(bad_change(format!("`{CHANGE_TYPE}` value `{value}`")));
                }
            };
            self.tally.rows += 1;
            if diff > 0 {
                self.tally.inserts += 1
            } else {
                self.tally.deletes += 1
            }
            match self.counts.get_mut(row.as_ref()) {
                Some(count) => *count += diff,
                None => {
                    self.counts.insert(row.as_ref().into(), diff);
                }
            }
        }
        Ok(())
    }

    /// The counts so far.
    pub fn counts(&self) -> ChangeCounts {
        let mut tally = self.tally;
        tally.consolidated = self.counts.values().filter(|n| **n > 0).map(|n| n.unsigned_abs()).sum();
        tally.negative = self.counts.values().filter(|n| **n < 0).count() as u64;
        tally
    }

    /// The current state: each distinct row with a positive count `n`, `n` times, sorted
    /// (by Arrow's row order, column by column), in batches of at most `batch_rows` rows.
    pub fn finish(self, batch_rows: usize) -> Result<Vec<RecordBatch>, MaintainError> {
        let mut live: Vec<(Box<[u8]>, i64)> = self.counts.into_iter().filter(|(_, n)| *n > 0).collect();
        live.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let parser = self.converter.parser();
        let batch_rows = batch_rows.max(1);
        let mut batches = Vec::new();
        let mut chunk: Vec<&[u8]> = Vec::with_capacity(batch_rows.min(live.len()));
        let mut flush = |chunk: &mut Vec<&[u8]>| -> Result<(), MaintainError> {
            let rows = chunk.iter().map(|bytes| parser.parse(bytes));
            let columns =
                self.converter.convert_rows(rows).map_err(MaintainError::arrow("rebuilding rows"))?;
            let batch = RecordBatch::try_new(self.output.clone(), columns)
                .map_err(MaintainError::arrow("rebuilding rows"))?;
            batches.push(batch);
            chunk.clear();
            Ok(())
        };
        for (row, count) in &live {
            for _ in 0..*count {
                chunk.push(row);
                if chunk.len() >= batch_rows {
                    flush(&mut chunk)?;
                }
            }
        }
        if !chunk.is_empty() {
            flush(&mut chunk)?;
        }
        Ok(batches)
    }
}

/// The table's rows are not a changelog's.
fn bad_change(reason: String) -> MaintainError {
    MaintainError::NotAChangelog { url: String::new(), reason }
}

/// Counts and consolidates `batches` (all of `schema`): the counts and the current state.
pub fn consolidate(
    schema: &Schema,
    batches: &[RecordBatch],
    batch_rows: usize,
) -> Result<(ChangeCounts, Vec<RecordBatch>), MaintainError> {
    let mut consolidator = Consolidator::new(schema)?;
    for batch in batches {
        consolidator.push(batch)?;
    }
    let counts = consolidator.counts();
    Ok((counts, consolidator.finish(batch_rows)?))
}
