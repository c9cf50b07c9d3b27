//! Parquet input: a file or a directory of `*.parquet` files, columns by name, to transactions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, AsArray, MapArray, RecordBatch, StringArray};
use deltalake::arrow::compute::{CastOptions, cast_with_options};
use deltalake::arrow::datatypes::{DataType, Decimal128Type, Decimal256Type, Int64Type, TimeUnit, i256};
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rust_decimal::Decimal;

use super::amount::{self, AmountError};
use super::error::BatchError;
use super::input::{MetadataCache, ReadStats, Rejects};
use crate::record::{Metadata, Transaction};

/// The input columns, by name (the output's first six).
pub const FIELDS: [&str; 6] = ["transactionId", "userId", "amount", "currency", "timestamp", "metadata"];

/// Rows per decoded batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Reads every row of the Parquet file at `path`, or of the `*.parquet` files in the directory
/// `path` (in name order); rows that cannot be transactions go to `rejects`.
pub fn read(
    path: &Path,
    rejects: &mut Rejects,
    stats: &mut ReadStats,
) -> Result<Vec<Transaction>, BatchError> {
    read_files(&files(path)?, rejects, stats)
}

/// Reads every row of the Parquet files `files`, in that order (e.g. a Delta table's active
/// files); rows that cannot be transactions go to `rejects`.
pub fn read_files(
    files: &[PathBuf],
    rejects: &mut Rejects,
    stats: &mut ReadStats,
) -> Result<Vec<Transaction>, BatchError> {
    let mut rows = Vec::new();
    for file in files {
        read_file(file, &mut rows, rejects, stats)?;
        stats.files += 1;
    }
    Ok(rows)
}

/// `path` itself, or the `*.parquet` files directly in it (hidden and `_` files skipped).
fn files(path: &Path) -> Result<Vec<PathBuf>, BatchError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|source| BatchError::Input { path: path.into(), source })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| BatchError::Input { path: path.into(), source })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".parquet") && !name.starts_with(['.', '_']) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    if files.is_empty() {
        let reason = "is a directory without *.parquet files".to_string();
        return Err(BatchError::InputFormat { path: path.into(), reason });
    }
    Ok(files)
}

/// Appends the rows of one Parquet file to `rows`.
fn read_file(
    path: &Path,
    rows: &mut Vec<Transaction>,
    rejects: &mut Rejects,
    stats: &mut ReadStats,
) -> Result<(), BatchError> {
    let parquet_error = |source| BatchError::Parquet { path: path.into(), source };
    let file = File::open(path).map_err(|source| BatchError::Input { path: path.into(), source })?;
    // Encrypted files (a trustflow output under encryption_required) are decrypted with the
    // key their metadata names.
    let options = crate::sink::encryption::read::reader_options()?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).map_err(parquet_error)?;
    let schema = builder.schema().clone();
    let mut roots = Vec::new();
    let mut missing = Vec::new();
    for name in FIELDS {
        match schema.index_of(name) {
            Ok(index) => {
                check_type(path, name, schema.field(index).data_type())?;
                roots.push(index);
            }
            Err(_) => missing.push(name),
        }
    }
    if !missing.is_empty() {
        tracing::warn!(file = %path.display(), ?missing, "Parquet input lacks columns: they are null in every row");
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).with_batch_size(BATCH_ROWS).build().map_err(parquet_error)?;
    let mut row_number = 0u64;
    let mut cache = MetadataCache::default();
    for batch in reader {
        let batch =
            batch.map_err(|source| BatchError::Arrow { context: "reading a Parquet batch", source })?;
        let columns = Columns::new(path, &batch)?;
        rows.reserve(batch.num_rows());
        for i in 0..batch.num_rows() {
            row_number += 1;
            match columns.row(i, &mut cache) {
                Ok(row) => {
                    rows.push(row);
                    stats.rows += 1;
                }
                Err(reason) => {
                    stats.rejected += 1;
                    rejects.row(path, row_number, &reason)?;
                }
            }
        }
    }
    stats.records += row_number;
    Ok(())
}

/// Refuses a column whose type cannot be read as its field.
fn check_type(path: &Path, name: &str, data_type: &DataType) -> Result<(), BatchError> {
    use DataType::*;
    let text = matches!(data_type, Utf8 | LargeUtf8 | Utf8View | Null);
    let integer = data_type.is_integer();
    let ok = match name {
        "amount" => {
            text || integer
                || matches!(data_type, Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..))
        }
        "timestamp" => integer || matches!(data_type, Timestamp(..) | Null),
        "metadata" => match data_type {
            Map(entries, _) => match entries.data_type() {
                Struct(kv) => kv.iter().all(|f| matches!(f.data_type(), Utf8 | LargeUtf8 | Utf8View)),
                _ => false,
            },
            Null => true,
            _ => false,
        },
        _ => text,
    };
    if ok {
        return Ok(());
    }
    let expected = match name {
        "amount" => "a decimal, an integer or a string",
        "timestamp" => "an integer (epoch milliseconds) or a timestamp",
        "metadata" => "a map of strings to strings",
        _ => "a string",
    };
    Err(BatchError::Column {
        path: path.into(),
        column: name.into(),
        reason: format!("is {data_type}, expected {expected}"),
    })
}

/// One batch's columns, converted to the few types the row reader handles.
struct Columns {
    transaction_id: Option<StringArray>,
    user_id: Option<StringArray>,
    amount: Option<Amounts>,
    currency: Option<StringArray>,
    timestamp: Option<(ArrayRef, i64, i64)>,
    metadata: Option<(MapArray, StringArray, StringArray)>,
}

/// An amount column: exact decimals (unscaled, scale) or text.
enum Amounts {
    Decimal(ArrayRef, i8),
    Text(StringArray),
}

impl Columns {
    fn new(path: &Path, batch: &RecordBatch) -> Result<Columns, BatchError> {
        let strict = CastOptions { safe: false, ..Default::default() };
        let cast = |array: &ArrayRef, to: &DataType| {
            cast_with_options(array, to, &strict)
                .map_err(|source| BatchError::Arrow { context: "converting a Parquet column", source })
        };
        let column =
            |name: &str| batch.column_by_name(name).filter(|c| !matches!(c.data_type(), DataType::Null));
        let text = |name: &str| -> Result<Option<StringArray>, BatchError> {
            column(name).map(|c| Ok(cast(c, &DataType::Utf8)?.as_string::<i32>().clone())).transpose()
        };
        let amount = match column("amount") {
            None => None,
            Some(c) => Some(match c.data_type() {
                DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => Amounts::Decimal(c.clone(), *s),
                DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => {
                    Amounts::Decimal(cast(c, &DataType::Decimal128(*p, *s))?, *s)
                }
                t if t.is_integer() => Amounts::Decimal(cast(c, &DataType::Decimal128(38, 0))?, 0),
                _ => Amounts::Text(cast(c, &DataType::Utf8)?.as_string::<i32>().clone()),
            }),
        };
        let timestamp = match column("timestamp") {
            None => None,
            Some(c) => {
                let (multiply, divide) = match c.data_type() {
                    DataType::Timestamp(TimeUnit::Second, _) => (1000, 1),
                    DataType::Timestamp(TimeUnit::Microsecond, _) => (1, 1000),
                    DataType::Timestamp(TimeUnit::Nanosecond, _) => (1, 1_000_000),
                    _ => (1, 1),
                };
                Some((cast(c, &DataType::Int64)?, multiply, divide))
            }
        };
        let metadata = match column("metadata") {
            None => None,
            Some(c) => {
                let map = c.as_map_opt().ok_or_else(|| BatchError::Column {
                    path: path.into(),
                    column: "metadata".into(),
                    reason: format!("is {}, expected a map", c.data_type()),
                })?;
                let keys = cast(map.keys(), &DataType::Utf8)?.as_string::<i32>().clone();
                let values = cast(map.values(), &DataType::Utf8)?.as_string::<i32>().clone();
                Some((map.clone(), keys, values))
            }
        };
        Ok(Columns {
            transaction_id: text("transactionId")?,
            user_id: text("userId")?,
            amount,
            currency: text("currency")?,
            timestamp,
            metadata,
        })
    }

    /// Row `i` as a transaction, or why it cannot be one.
    fn row(&self, i: usize, cache: &mut MetadataCache) -> Result<Transaction, String> {
        let text =
            |c: &Option<StringArray>| c.as_ref().filter(|c| c.is_valid(i)).map(|c| c.value(i).to_owned());
        Ok(Transaction {
            origin: None,
            timestamp: self.timestamp(i)?,
            transaction_id: text(&self.transaction_id),
            amount: self.amount(i).map_err(|e| format!("amount: {e}"))?,
            currency: text(&self.currency),
            metadata: self.metadata(i, cache)?,
            user_id: text(&self.user_id),
        })
    }

    fn amount(&self, i: usize) -> Result<Option<Decimal>, AmountError> {
        match &self.amount {
            None => Ok(None),
            Some(_) if self.amount.as_ref().is_some_and(|a| a.is_null(i)) => Ok(None),
            Some(Amounts::Text(text)) => amount::parse(text.value(i).trim()).map(Some),
            Some(Amounts::Decimal(array, scale)) => {
                let unscaled = match array.data_type() {
                    DataType::Decimal256(..) => array.as_primitive::<Decimal256Type>().value(i),
                    _ => i256::from_i128(array.as_primitive::<Decimal128Type>().value(i)),
                };
                amount::from_unscaled(unscaled, *scale).map(Some)
            }
        }
    }

    fn timestamp(&self, i: usize) -> Result<Option<i64>, String> {
        let Some((array, multiply, divide)) = &self.timestamp else { return Ok(None) };
        if array.is_null(i) {
            return Ok(None);
        }
        let value = array.as_primitive::<Int64Type>().value(i);
        value
            .checked_mul(*multiply)
            .map(|v| Some(v.div_euclid(*divide)))
            .ok_or_else(|| format!("timestamp {value} s does not fit epoch milliseconds"))
    }

    fn metadata(&self, i: usize, cache: &mut MetadataCache) -> Result<Option<Metadata>, String> {
        let Some((map, keys, values)) = &self.metadata else { return Ok(None) };
        if map.is_null(i) {
            return Ok(None);
        }
        let offsets = map.value_offsets();
        let entries = offsets[i] as usize..offsets[i + 1] as usize;
        // The cache key: each key and value prefixed by its length, so no two maps share one.
        let mut key = String::new();
        for j in entries.clone() {
            if values.is_null(j) {
                return Err(format!("metadata `{}` is null, not a string", amount::shorten(keys.value(j))));
            }
            for part in [keys.value(j), values.value(j)] {
                let _infallible = write!(key, "{}:{part}", part.len());
            }
        }
        if let Some(shared) = cache.get(&key) {
            return Ok(Some(shared));
        }
        let mut out = BTreeMap::new();
        for j in entries {
            if out.insert(keys.value(j).to_owned(), values.value(j).to_owned()).is_some() {
                return Err(format!("metadata key `{}` appears twice", amount::shorten(keys.value(j))));
            }
        }
        let out = Arc::new(out);
        cache.insert(&key, &out);
        Ok(Some(out))
    }
}

impl Amounts {
    fn is_null(&self, i: usize) -> bool {
        match self {
            Amounts::Decimal(array, _) => array.is_null(i),
            Amounts::Text(array) => array.is_null(i),
        }
    }
}

#[cfg(test)]
#[path = "parquet_in_tests.rs"]
mod tests;
