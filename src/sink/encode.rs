//! Quality changes into one Arrow batch: builders with capacity, exact decimals, the map.

use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayBuilder, ArrayRef, Decimal128Builder, Float64Builder, Int32Builder, Int64Array, Int64Builder,
    ListBuilder, MapArray, StringBuilder, StructArray,
};
use deltalake::arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use deltalake::arrow::datatypes::{DataType as ArrowType, FieldRef, Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use rust_decimal::Decimal;

use super::columns::{CHECKS, COLUMN_NAMES, ChangeType, OUTPUT_COLUMNS};
use super::error::SinkError;
use super::lineage::Trail;
use crate::dataflow::quality::QualityRow;
use crate::fraud::score::risk_label;

/// Builds the changelog batch of one epoch under `schema` (from [`arrow_schema`](super::columns::arrow_schema)): a diff
/// `d > 0` gives `d` insert rows, `d < 0` gives `|d|` delete rows, `0` none.
pub fn changes_to_batch(
    schema: &SchemaRef,
    epoch: u64,
    changes: &[(QualityRow, isize)],
) -> Result<RecordBatch, SinkError> {
    let epoch = i64::try_from(epoch).map_err(|_| SinkError::EpochOutOfRange { epoch })?;
    let rows: usize = changes.iter().map(|(_, d)| d.unsigned_abs()).sum();
    let mut change_types = StringBuilder::with_capacity(rows, rows * 6);
    for (_, diff) in changes {
        let change = if *diff > 0 { ChangeType::Insert } else { ChangeType::Delete };
        for _ in 0..diff.unsigned_abs() {
            change_types.append_value(change.as_str());
        }
    }
    let mut columns = data_columns(schema, changes.iter().map(|(row, diff)| (row, diff.unsigned_abs())))?;
    columns.push(Arc::new(change_types.finish()));
    columns.push(Arc::new(Int64Array::from_value(epoch, rows)));
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|source| SinkError::Arrow { context: "assembling the changelog batch", source })
}

/// Builds a batch of verdicts, one row each, under `schema` (from
/// [`output_arrow_schema`](super::columns::output_arrow_schema): the data columns only, no
/// change columns), as batch mode writes them.
pub fn rows_to_batch(schema: &SchemaRef, rows: &[QualityRow]) -> Result<RecordBatch, SinkError> {
    let columns = data_columns(schema, rows.iter().map(|row| (row, 1)))?;
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|source| SinkError::Arrow { context: "assembling the output batch", source })
}

/// The [`OUTPUT_COLUMNS`] data columns of `rows`, each row repeated its count of times.
fn data_columns<'a, I>(schema: &Schema, rows: I) -> Result<Vec<ArrayRef>, SinkError>
where
    I: Iterator<Item = (&'a QualityRow, usize)> + Clone,
{
    let (mut rows_count, mut id_bytes, mut user_bytes, mut cur_bytes) = (0, 0, 0, 0);
    for (row, copies) in rows.clone() {
        let bytes = |s: &Option<String>| s.as_ref().map_or(0, String::len) * copies;
        rows_count += copies;
        id_bytes += bytes(&row.record.transaction_id);
        user_bytes += bytes(&row.record.user_id);
        cur_bytes += bytes(&row.record.currency);
    }
    let (amount_type, avg_type) = (decimal_type(schema, 2)?, decimal_type(schema, 14)?);
    let mut ids = StringBuilder::with_capacity(rows_count, id_bytes);
    let mut users = StringBuilder::with_capacity(rows_count, user_bytes);
    let mut amounts = Decimal128Builder::with_capacity(rows_count).with_data_type(amount_type.2);
    let mut currencies = StringBuilder::with_capacity(rows_count, cur_bytes);
    let mut timestamps = Int64Builder::with_capacity(rows_count);
    let mut metadata = MapColumn::with_capacity(rows_count);
    let mut flags: Vec<StringBuilder> =
        CHECKS.iter().map(|c| StringBuilder::with_capacity(rows_count, rows_count * c.fail.len())).collect();
    let mut avgs = Decimal128Builder::with_capacity(rows_count).with_data_type(avg_type.2);
    let mut checks = Int32Builder::with_capacity(rows_count);
    let mut scores = Float64Builder::with_capacity(rows_count);
    let mut fraud_scores = Float64Builder::with_capacity(rows_count);
    let mut risks = StringBuilder::with_capacity(rows_count, rows_count * 8);
    let mut versions = Int32Builder::with_capacity(rows_count);
    let mut tags = string_list(schema, 22, rows_count)?;
    let mut pii_fields = string_list(schema, 23, rows_count)?;
    let mut topics = StringBuilder::with_capacity(rows_count, rows_count * 16);
    let mut partitions = Int32Builder::with_capacity(rows_count);
    let mut offsets = Int64Builder::with_capacity(rows_count);
    let mut schema_ids = Int32Builder::with_capacity(rows_count);
    let mut trails = StringBuilder::with_capacity(rows_count, rows_count * 400);
    for (row, copies) in rows {
        let record = &row.record;
        let amount =
            record.amount.map(|a| to_i128(a, amount_type.0, amount_type.1, COLUMN_NAMES[2])).transpose()?;
        let avg = row
            .avg_transaction_amount
            .map(|a| to_i128(a, avg_type.0, avg_type.1, COLUMN_NAMES[14]))
            .transpose()?;
        let trail = Trail::of(row).to_json();
        let origin = record.origin.as_ref();
        let schema_id = origin.map(|o| i32::try_from(o.schema_id)).transpose().map_err(|_| {
            SinkError::ValueOutOfRange {
                column: "schema_id",
                value: format!("{origin:?}"),
                reason: "over 2^31 - 1".into(),
            }
        })?;
        for _ in 0..copies {
            topics.append_option(origin.map(|o| &*o.topic));
            partitions.append_option(origin.map(|o| o.partition));
            offsets.append_option(origin.map(|o| o.offset));
            schema_ids.append_option(schema_id);
            trails.append_value(&trail);
            ids.append_option(record.transaction_id.as_deref());
            users.append_option(record.user_id.as_deref());
            amounts.append_option(amount);
            currencies.append_option(record.currency.as_deref());
            timestamps.append_option(record.timestamp);
            metadata.append(record.metadata.as_deref());
            for (check, builder) in CHECKS.iter().zip(&mut flags) {
                builder.append_value(if (check.get)(row) { check.pass } else { check.fail });
            }
            avgs.append_option(avg);
            checks.append_value(i32::from(row.checks_passed()));
            scores.append_value(row.quality_score());
            fraud_scores.append_option(row.fraud.map(|f| f.score.0));
            risks.append_value(risk_label(row.fraud.as_ref()));
            versions.append_option(row.fraud.map(|f| model_version_column(f.model_version)).transpose()?);
            match &row.governance {
                Some(label) => {
                    for tag in label.tags() {
                        tags.values().append_value(tag);
                    }
                    tags.append(true);
                    for field in &label.protected {
                        pii_fields.values().append_value(field.to_string());
                    }
                    pii_fields.append(true);
                }
                None => {
                    tags.append_null();
                    pii_fields.append_null();
                }
            }
        }
    }
    let mut flags = flags.into_iter().map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(ids.finish()),
        Arc::new(users.finish()),
        Arc::new(amounts.finish()),
        Arc::new(currencies.finish()),
        Arc::new(timestamps.finish()),
        Arc::new(metadata.finish(schema)?),
    ];
    columns.extend(flags.by_ref().take(8));
    columns.push(Arc::new(avgs.finish()));
    columns.extend(flags);
    columns.push(Arc::new(checks.finish()));
    columns.push(Arc::new(scores.finish()));
    columns.push(Arc::new(fraud_scores.finish()));
    columns.push(Arc::new(risks.finish()));
    columns.push(Arc::new(versions.finish()));
    columns.push(Arc::new(tags.finish()));
    columns.push(Arc::new(pii_fields.finish()));
    columns.push(Arc::new(topics.finish()));
    columns.push(Arc::new(partitions.finish()));
    columns.push(Arc::new(offsets.finish()));
    columns.push(Arc::new(schema_ids.finish()));
    columns.push(Arc::new(trails.finish()));
    debug_assert_eq!(columns.len(), OUTPUT_COLUMNS);
    Ok(columns)
}

/// A model version as the `model_version` column (an int).
fn model_version_column(version: u32) -> Result<i32, SinkError> {
    i32::try_from(version).map_err(|_| SinkError::ValueOutOfRange {
        column: "model_version",
        value: version.to_string(),
        reason: "over 2^31 - 1".into(),
    })
}

/// A builder for the `array<string>` column `index` of `schema`, with its element field.
fn string_list(schema: &Schema, index: usize, rows: usize) -> Result<ListBuilder<StringBuilder>, SinkError> {
    match schema.fields().get(index).map(|f| f.data_type()) {
        Some(ArrowType::List(element)) => {
            Ok(ListBuilder::with_capacity(StringBuilder::new(), rows).with_field(element.clone()))
        }
        other => Err(SinkError::internal(format!("column {index} is {other:?}, not a list"))),
    }
}

/// Precision, scale and type of the decimal column `index` of `schema`.
fn decimal_type(schema: &Schema, index: usize) -> Result<(u8, i8, ArrowType), SinkError> {
    match schema.fields().get(index).map(|f| f.data_type()) {
        Some(t @ ArrowType::Decimal128(p, s)) => Ok((*p, *s, t.clone())),
        other => Err(SinkError::internal(format!("column {index} is {other:?}, not a decimal"))),
    }
}

/// The unscaled value of `value` at `scale`, if it is exact there and fits `precision` digits.
pub(crate) fn to_i128(
    value: Decimal,
    precision: u8,
    scale: i8,
    column: &'static str,
) -> Result<i128, SinkError> {
    let out_of_range =
        |reason: String| SinkError::ValueOutOfRange { column, value: value.to_string(), reason };
    let scale = u32::try_from(scale).map_err(|_| out_of_range(format!("scale {scale}")))?;
    let mut exact = value;
    if exact.scale() > scale {
        exact = exact.normalize();
    }
    if exact.scale() > scale {
        return Err(out_of_range(format!("more than {scale} decimal places")));
    }
    exact.rescale(scale);
    let mantissa = exact.mantissa();
    if exact.scale() != scale || mantissa.unsigned_abs() >= 10u128.pow(u32::from(precision)) {
        return Err(out_of_range(format!("more than {precision} digits at scale {scale}")));
    }
    Ok(mantissa)
}

/// Builds the `metadata` map column against the schema's own entries field.
struct MapColumn {
    keys: StringBuilder,
    values: StringBuilder,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl MapColumn {
    fn with_capacity(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        MapColumn {
            keys: StringBuilder::with_capacity(rows, rows * 8),
            values: StringBuilder::with_capacity(rows, rows * 8),
            offsets,
            valid: Vec::with_capacity(rows),
        }
    }

    fn append(&mut self, map: Option<&std::collections::BTreeMap<String, String>>) {
        for (k, v) in map.into_iter().flatten() {
            self.keys.append_value(k);
            self.values.append_value(v);
        }
        // Offsets are checked in `finish`: saturating here keeps `append` infallible.
        let end = i32::try_from(self.keys.len()).unwrap_or(i32::MAX);
        self.offsets.push(end);
        self.valid.push(map.is_some());
    }

    fn finish(mut self, schema: &Schema) -> Result<MapArray, SinkError> {
        let Some(ArrowType::Map(entries, sorted)) = schema.fields().get(5).map(|f| f.data_type()) else {
            return Err(SinkError::internal("column 5 (metadata) is not a map"));
        };
        let ArrowType::Struct(fields) = entries.data_type() else {
            return Err(SinkError::internal("map entries are not a struct"));
        };
        if i32::try_from(self.keys.len()).is_err() {
            return Err(SinkError::ValueOutOfRange {
                column: COLUMN_NAMES[5],
                value: format!("{} entries", self.keys.len()),
                reason: "more than i32::MAX map entries in one batch".into(),
            });
        }
        let arrow = |source| SinkError::Arrow { context: "building the metadata map", source };
        let kv: Vec<ArrayRef> = vec![Arc::new(self.keys.finish()), Arc::new(self.values.finish())];
        let entries_array = StructArray::try_new(fields.clone(), kv, None).map_err(arrow)?;
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        let nulls = Some(NullBuffer::from(self.valid)).filter(|n| n.null_count() > 0);
        let field: FieldRef = entries.clone();
        MapArray::try_new(field, offsets, entries_array, nulls, *sorted).map_err(arrow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::columns::arrow_schema;

    #[test]
    fn decimals_are_exact_or_refused() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(to_i128(d("12.5"), 18, 2, "amount").unwrap(), 1250);
        assert_eq!(to_i128(d("-0.01"), 18, 2, "amount").unwrap(), -1);
        assert_eq!(to_i128(d("1.2300"), 18, 2, "amount").unwrap(), 123);
        assert!(to_i128(d("1.005"), 18, 2, "amount").is_err());
        assert!(to_i128(d("10000000000000000"), 18, 2, "amount").is_err());
        assert_eq!(to_i128(d("9999999999999999.99"), 18, 2, "amount").unwrap(), 10i128.pow(18) - 1);
        assert_eq!(to_i128(d("133.333333"), 22, 6, "avg").unwrap(), 133_333_333);
    }

    #[test]
    fn diffs_expand_into_rows() {
        let row = QualityRow {
            record: Default::default(),
            transaction_id_complete: false,
            user_id_complete: false,
            amount_complete: false,
            currency_complete: false,
            timestamp_complete: false,
            amount_valid: false,
            currency_valid: false,
            timestamp_valid: false,
            avg_transaction_amount: None,
            consistent: true,
            unique: true,
            fraud: None,
            governance: None,
        };
        let schema = arrow_schema().unwrap();
        let changes = [(row.clone(), 2), (row.clone(), 0), (row, -3)];
        let batch = changes_to_batch(&schema, 7, &changes).unwrap();
        assert_eq!(batch.num_rows(), 5);
        assert_eq!(batch.column(5).null_count(), 5);
        assert!(changes_to_batch(&schema, u64::MAX, &changes).is_err());
        assert_eq!(changes_to_batch(&schema, 1, &[]).unwrap().num_rows(), 0);
        let output = crate::sink::columns::output_arrow_schema().unwrap();
        let rows = rows_to_batch(&output, &[changes[0].0.clone(), changes[2].0.clone()]).unwrap();
        assert_eq!((rows.num_rows(), rows.num_columns()), (2, OUTPUT_COLUMNS));
        assert_eq!(rows.schema().fields()[..], schema.fields()[..OUTPUT_COLUMNS]);
    }
}
