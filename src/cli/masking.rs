//! PII masking of rows a read path hands out (`query --role`, `export --role`): every finding
//! in string columns and in the keys and values of string maps replaced by its mask.

use std::collections::BTreeSet;
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, LargeStringArray, MapArray, StringArray, StructArray};
use deltalake::arrow::datatypes::DataType;
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::record_batch::RecordBatch;

use crate::governance::pii::Recognizers;
use crate::governance::policy::mask::{mask, rewrite};

/// What masking did to the rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Masked {
    /// Columns where at least one value was masked.
    pub columns: BTreeSet<String>,
    /// Values (or map keys) masked.
    pub values: usize,
}

/// `batches` with every PII finding in their string columns (and in the keys and values of
/// string maps such as `metadata`) masked by [`mask`]; other columns unchanged.
pub fn mask_rows(
    batches: &[RecordBatch],
    recognizers: &Recognizers,
) -> Result<(Vec<RecordBatch>, Masked), ArrowError> {
    let mut masked = Masked::default();
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let schema = batch.schema();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let (column, count) = mask_column(field.name(), column, recognizers)?;
            if count > 0 {
                masked.columns.insert(field.name().clone());
                masked.values += count;
            }
            columns.push(column);
        }
        out.push(RecordBatch::try_new(schema, columns)?);
    }
    Ok((out, masked))
}

/// One column masked, and how many of its values changed.
fn mask_column(
    name: &str,
    column: &ArrayRef,
    recognizers: &Recognizers,
) -> Result<(ArrayRef, usize), ArrowError> {
    let mut count = 0;
    let mut text = |value: &str, field: &str, key: Option<&str>| -> String {
        let findings = recognizers.scan_value(value, field, key, None);
        if findings.is_empty() {
            return value.to_owned();
        }
        count += 1;
        let refs: Vec<_> = findings.iter().collect();
        rewrite(value, &refs, |finding, found| mask(finding.kind, found))
    };
    let column: ArrayRef = match column.data_type() {
        DataType::Utf8 => {
            let strings = column.as_any().downcast_ref::<StringArray>().expect("Utf8 is a StringArray");
            Arc::new(strings.iter().map(|v| v.map(|v| text(v, name, None))).collect::<StringArray>())
        }
        DataType::LargeUtf8 => {
            let strings = column.as_any().downcast_ref::<LargeStringArray>().expect("LargeUtf8");
            Arc::new(strings.iter().map(|v| v.map(|v| text(v, name, None))).collect::<LargeStringArray>())
        }
        DataType::Map(entries_field, ordered) => {
            let map = column.as_any().downcast_ref::<MapArray>().expect("Map is a MapArray");
            let entries = map.entries();
            let keys = entries.column(0).as_any().downcast_ref::<StringArray>();
            let values = entries.column(1).as_any().downcast_ref::<StringArray>();
            let (Some(keys), Some(values)) = (keys, values) else {
                return Ok((column.clone(), 0));
            };
            let field = |key: &str| format!("{name}.{key}");
            // A sliced map shares its entries with the whole: only those of its rows count.
            let offsets = map.offsets();
            let shown = offsets.first().map_or(0, |o| *o as usize)..offsets.last().map_or(0, |o| *o as usize);
            let new_values: StringArray = keys
                .iter()
                .zip(values.iter())
                .enumerate()
                .map(|(i, (k, v))| match v {
                    Some(v) if shown.contains(&i) => Some(text(v, &field(k.unwrap_or_default()), k)),
                    v => v.map(str::to_owned),
                })
                .collect();
            let new_keys: StringArray = keys
                .iter()
                .enumerate()
                .map(|(i, k)| match k {
                    Some(k) if shown.contains(&i) => Some(text(k, &field(k), None)),
                    k => k.map(str::to_owned),
                })
                .collect();
            let struct_fields = match entries_field.data_type() {
                DataType::Struct(fields) => fields.clone(),
                _ => return Ok((column.clone(), 0)),
            };
            let new_entries = StructArray::try_new(
                struct_fields,
                vec![Arc::new(new_keys), Arc::new(new_values)],
                entries.nulls().cloned(),
            )?;
            Arc::new(MapArray::try_new(
                entries_field.clone(),
                map.offsets().clone(),
                new_entries,
                map.nulls().cloned(),
                *ordered,
            )?)
        }
        _ => column.clone(),
    };
    Ok((column, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> RecordBatch {
        use deltalake::arrow::array::{Int64Array, MapBuilder, StringBuilder};
        let mut metadata = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        metadata.keys().append_value("contact_email");
        metadata.values().append_value("write to jane.doe@example.com today");
        metadata.keys().append_value("channel");
        metadata.values().append_value("web");
        metadata.append(true).unwrap();
        metadata.keys().append_value("iban");
        metadata.values().append_value("DE89 3704 0044 0532 0130 00");
        metadata.append(true).unwrap();
        metadata.append(false).unwrap();
        let user: StringArray = vec![Some("user_1"), Some("bob@example.org"), None].into_iter().collect();
        let amount = Int64Array::from(vec![1, 2, 3]);
        RecordBatch::try_from_iter([
            ("userId", Arc::new(user) as ArrayRef),
            ("amount", Arc::new(amount) as ArrayRef),
            ("metadata", Arc::new(metadata.finish()) as ArrayRef),
        ])
        .unwrap()
    }

    #[test]
    fn masking_rows_keeps_shape_and_hides_pii() {
        let recognizers = Recognizers::new().unwrap();
        let batch = rows();
        let (masked, what) = mask_rows(std::slice::from_ref(&batch), &recognizers).unwrap();
        let out = &masked[0];
        assert_eq!(out.num_rows(), 3);
        assert_eq!(out.schema(), batch.schema());
        assert_eq!(out.column(1), batch.column(1));
        let users = out.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(users.value(0), "user_1");
        assert_eq!(users.value(1), "b***@example.org");
        assert!(users.is_null(2));
        let map = out.column(2).as_any().downcast_ref::<MapArray>().unwrap();
        let values = map.entries().column(1).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(values.value(0), "write to j***@example.com today");
        assert_eq!(values.value(1), "web");
        assert_eq!(values.value(2), "DE** **** **** **** **30 00");
        assert!(map.is_null(2));
        assert_eq!(what.columns.iter().map(String::as_str).collect::<Vec<_>>(), ["metadata", "userId"]);
        assert_eq!(what.values, 3);
    }

    #[test]
    fn masking_a_slice_counts_only_its_rows() {
        let recognizers = Recognizers::new().unwrap();
        let batch = rows().slice(1, 2);
        let (masked, what) = mask_rows(&[batch], &recognizers).unwrap();
        assert_eq!(masked[0].num_rows(), 2);
        // userId bob@example.org and the IBAN; the first row's e-mail is not shown.
        assert_eq!(what.values, 2);
        let map = masked[0].column(2).as_any().downcast_ref::<MapArray>().unwrap();
        let values = map.value(0);
        let values = values.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(values.value(0), "DE** **** **** **** **30 00");
    }
}
