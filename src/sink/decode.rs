//! Reading changelog batches back into quality rows (restart, tests, audits).

use std::collections::BTreeMap;
use std::sync::Arc;

use deltalake::arrow::array::{
    Array, AsArray, Decimal128Array, Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray,
};
use deltalake::arrow::datatypes::DataType as ArrowType;
use deltalake::arrow::record_batch::RecordBatch;
use rust_decimal::Decimal;

use super::columns::{CHANGE_TYPE, CHECKS, COLUMN_NAMES, ChangeType, EPOCH};
use super::error::SinkError;
use crate::dataflow::quality::QualityRow;
use crate::fraud::score::{FraudScore, Score, risk_label};
use crate::governance::Label;
use crate::record::{Origin, Transaction};

/// One row of the changelog table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeRow {
    /// The epoch whose commit wrote the row.
    pub epoch: u64,
    /// Insert or delete.
    pub change: ChangeType,
    /// The verdict inserted or retracted.
    pub row: QualityRow,
}

fn decode_error(column: &str, reason: impl Into<String>) -> SinkError {
    SinkError::Decode { column: column.to_string(), reason: reason.into() }
}

/// The column `name` of `batch`, downcast to `A`.
fn column<'a, A: Array + 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a A, SinkError> {
    let array = batch.column_by_name(name).ok_or_else(|| decode_error(name, "missing"))?;
    array
        .as_any()
        .downcast_ref::<A>()
        .ok_or_else(|| decode_error(name, format!("type {} is not the changelog's", array.data_type())))
}

/// A non-null value of column `name` at `i`.
fn required<T>(name: &str, i: usize, value: Option<T>) -> Result<T, SinkError> {
    value.ok_or_else(|| decode_error(name, format!("null at row {i}")))
}

/// Rebuilds the rows of a changelog batch (as written by
/// [`changes_to_batch`](super::encode::changes_to_batch), or by any writer of the same
/// schema). Columns are found by name; `checks_passed` and `quality_score` are derived from
/// the flags, so they are checked against them rather than stored.
pub fn batch_to_changes(batch: &RecordBatch) -> Result<Vec<ChangeRow>, SinkError> {
    let name = |i: usize| COLUMN_NAMES[i];
    let strings = |i| column::<StringArray>(batch, name(i));
    let (ids, users, currencies) = (strings(0)?, strings(1)?, strings(3)?);
    let amounts = decimals(batch, name(2))?;
    let timestamps = column::<Int64Array>(batch, name(4))?;
    let metadata = column::<MapArray>(batch, name(5))?;
    let flags: Vec<&StringArray> = CHECKS.iter().map(|c| strings(c.column)).collect::<Result<_, _>>()?;
    let avgs = decimals(batch, name(14))?;
    let checks = column::<Int32Array>(batch, name(17))?;
    let scores = column::<Float64Array>(batch, name(18))?;
    let fraud = FraudColumns::of(batch)?;
    // Tables written before governance's columns existed read back without labels.
    // Likewise the lineage columns: rows of older tables read back without an origin.
    let origins = match batch.column_by_name(name(24)) {
        None => None,
        Some(_) => Some((
            column::<StringArray>(batch, name(24))?,
            column::<Int32Array>(batch, name(25))?,
            column::<Int64Array>(batch, name(26))?,
            column::<Int32Array>(batch, name(27))?,
        )),
    };
    let governance = match batch.column_by_name(name(22)) {
        None => None,
        Some(_) => Some((column::<ListArray>(batch, name(22))?, column::<ListArray>(batch, name(23))?)),
    };
    let changes = column::<StringArray>(batch, CHANGE_TYPE)?;
    let epochs = column::<Int64Array>(batch, EPOCH)?;
    let (keys, values) = map_entries(metadata)?;

    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let get = |a: &StringArray| a.is_valid(i).then(|| a.value(i).to_string());
        let record = Transaction {
            origin: None,
            timestamp: timestamps.is_valid(i).then(|| timestamps.value(i)),
            transaction_id: get(ids),
            amount: decimal_at(amounts, i, name(2))?,
            currency: get(currencies),
            metadata: metadata.is_valid(i).then(|| {
                let range = metadata.value_offsets()[i] as usize..metadata.value_offsets()[i + 1] as usize;
                range
                    .map(|j| (keys.value(j).to_string(), values.value(j).to_string()))
                    .collect::<BTreeMap<_, _>>()
                    .into()
            }),
            user_id: get(users),
        };
        let mut row = QualityRow {
            record,
            transaction_id_complete: false,
            user_id_complete: false,
            amount_complete: false,
            currency_complete: false,
            timestamp_complete: false,
            amount_valid: false,
            currency_valid: false,
            timestamp_valid: false,
            avg_transaction_amount: decimal_at(avgs, i, name(14))?,
            consistent: false,
            unique: false,
            fraud: None,
            governance: None,
        };
        if let Some(fraud) = &fraud {
            row.fraud = fraud.at(i)?;
        }
        if let Some((topics, partitions, offsets, schema_ids)) = origins
            && topics.is_valid(i)
        {
            let number = |valid: bool, column: usize| required(name(column), i, valid.then_some(()));
            number(partitions.is_valid(i), 25)?;
            number(offsets.is_valid(i), 26)?;
            number(schema_ids.is_valid(i), 27)?;
            row.record.origin = Some(Origin {
                topic: Arc::from(topics.value(i)),
                partition: partitions.value(i),
                offset: offsets.value(i),
                schema_id: u32::try_from(schema_ids.value(i))
                    .map_err(|_| decode_error(name(27), format!("negative at row {i}")))?,
            });
        }
        if let Some((tags, fields)) = governance {
            row.governance = governance_at(tags, fields, i)?;
        }
        for (check, array) in CHECKS.iter().zip(&flags) {
            let text = required(name(check.column), i, array.is_valid(i).then(|| array.value(i)))?;
            let passed = match text {
                t if t == check.pass => true,
                t if t == check.fail => false,
                t => {
                    return Err(decode_error(name(check.column), format!("value `{t}` at row {i}")));
                }
            };
            (check.set)(&mut row, passed);
        }
        let stored = required(name(17), i, checks.is_valid(i).then(|| checks.value(i)))?;
        let score = required(name(18), i, scores.is_valid(i).then(|| scores.value(i)))?;
        if stored != i32::from(row.checks_passed()) || score != row.quality_score() {
            return Err(decode_error(
                name(17),
                format!("{stored} / {score} at row {i} disagree with the flags"),
            ));
        }
        let change = match required(CHANGE_TYPE, i, changes.is_valid(i).then(|| changes.value(i)))? {
            "insert" => ChangeType::Insert,
            "delete" => ChangeType::Delete,
            other => {
                return Err(decode_error(CHANGE_TYPE, format!("value `{other}` at row {i}")));
            }
        };
        let epoch = required(EPOCH, i, epochs.is_valid(i).then(|| epochs.value(i)))?;
        let epoch = u64::try_from(epoch).map_err(|_| decode_error(EPOCH, format!("negative at row {i}")))?;
        out.push(ChangeRow { epoch, change, row });
    }
    Ok(out)
}

/// The fraud verdict columns, when the batch has them (tables written before they existed do
/// not: their rows read back unscored).
struct FraudColumns<'a> {
    scores: &'a Float64Array,
    risks: &'a StringArray,
    versions: &'a Int32Array,
}

impl<'a> FraudColumns<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Option<FraudColumns<'a>>, SinkError> {
        if batch.column_by_name(COLUMN_NAMES[19]).is_none() {
            return Ok(None);
        }
        Ok(Some(FraudColumns {
            scores: column(batch, COLUMN_NAMES[19])?,
            risks: column(batch, COLUMN_NAMES[20])?,
            versions: column(batch, COLUMN_NAMES[21])?,
        }))
    }

    /// Row `i`'s verdict: a score and a version together or neither, and the risk category
    /// that the score gives.
    fn at(&self, i: usize) -> Result<Option<FraudScore>, SinkError> {
        let score = self.scores.is_valid(i).then(|| self.scores.value(i));
        let version = self.versions.is_valid(i).then(|| self.versions.value(i));
        let fraud = match (score, version) {
            (None, None) => None,
            (Some(score), Some(version)) => {
                let model_version = u32::try_from(version)
                    .map_err(|_| decode_error(COLUMN_NAMES[21], format!("negative at row {i}")))?;
                Some(FraudScore { score: Score(score), model_version })
            }
            _ => {
                return Err(decode_error(
                    COLUMN_NAMES[19],
                    format!("a score without a model version, or the reverse, at row {i}"),
                ));
            }
        };
        let risk = self.risks.is_valid(i).then(|| self.risks.value(i));
        if risk != Some(risk_label(fraud.as_ref())) {
            return Err(decode_error(
                COLUMN_NAMES[20],
                format!("{risk:?} at row {i} disagrees with the score"),
            ));
        }
        Ok(fraud)
    }
}

/// Row `i`'s governance label from the `classification` and `pii_fields` lists: both null
/// (not governed) or both set.
fn governance_at(tags: &ListArray, fields: &ListArray, i: usize) -> Result<Option<Label>, SinkError> {
    let strings = |list: &ListArray, column: usize| -> Result<Vec<String>, SinkError> {
        let values = list.value(i);
        let values = values
            .as_string_opt::<i32>()
            .ok_or_else(|| decode_error(COLUMN_NAMES[column], "items are not strings"))?;
        Ok(values.iter().map(|v| v.unwrap_or_default().to_owned()).collect())
    };
    match (tags.is_valid(i), fields.is_valid(i)) {
        (false, false) => Ok(None),
        (true, true) => {
            let (tags, fields) = (strings(tags, 22)?, strings(fields, 23)?);
            Label::parse(tags.iter().map(String::as_str), fields.iter().map(String::as_str))
                .map(Some)
                .map_err(|e| decode_error(COLUMN_NAMES[22], format!("row {i}: {e}")))
        }
        _ => {
            Err(decode_error(COLUMN_NAMES[22], format!("classification and pii_fields disagree at row {i}")))
        }
    }
}

/// A decimal column with its scale.
fn decimals<'a>(batch: &'a RecordBatch, name: &str) -> Result<(&'a Decimal128Array, u32), SinkError> {
    let array = column::<Decimal128Array>(batch, name)?;
    match array.data_type() {
        ArrowType::Decimal128(_, s) if *s >= 0 => Ok((array, u32::from(s.unsigned_abs()))),
        other => Err(decode_error(name, format!("type {other}"))),
    }
}

/// The decimal at row `i`, or `None` when null.
fn decimal_at(
    (array, scale): (&Decimal128Array, u32),
    i: usize,
    name: &str,
) -> Result<Option<Decimal>, SinkError> {
    if array.is_null(i) {
        return Ok(None);
    }
    Decimal::try_from_i128_with_scale(array.value(i), scale)
        .map(Some)
        .map_err(|e| decode_error(name, format!("row {i}: {e}")))
}

/// The key and value string arrays of a map column.
fn map_entries(map: &MapArray) -> Result<(&StringArray, &StringArray), SinkError> {
    let name = COLUMN_NAMES[5];
    let entries = map.entries();
    if entries.num_columns() != 2 {
        return Err(decode_error(name, "map entries are not (key, value)"));
    }
    let strings = |i: usize, what: &str| {
        entries
            .column(i)
            .as_string_opt::<i32>()
            .ok_or_else(|| decode_error(name, format!("{what} are not strings")))
    };
    let (keys, values) = (strings(0, "keys")?, strings(1, "values")?);
    if values.null_count() > 0 {
        return Err(decode_error(name, "null map values (not representable in a record)"));
    }
    Ok((keys, values))
}
