//! The changelog table's log: creating it, checking its schema, finding commit metadata.

use std::collections::BTreeMap;

use deltalake::kernel::StructField;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use serde_json::Value;
use url::Url;

use super::encryption::{self, TableKey};
use super::error::SinkError;

/// Key of the object this sink adds to every commit's `commitInfo`:
/// `{"appId": .., "epoch": .., "info": {caller's metadata}}`.
pub const COMMIT_INFO_KEY: &str = "trustflow";

/// Rows per Parquet row group at most (the parquet crate's default, 1 Mi rows).
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Bytes per Parquet row group at most, about Spark's `parquet.block.size` (128 MiB).
pub const ROW_GROUP_BYTES: usize = 128 << 20;

/// Creates the changelog table (encrypted with `key`, if given: its configuration records
/// it), or loads it if another process created it meanwhile (the caller then checks its
/// encryption).
pub(crate) async fn create(
    table: &DeltaTable,
    url: &Url,
    fields: Vec<StructField>,
    comment: &str,
    key: Option<&TableKey>,
) -> Result<DeltaTable, DeltaTableError> {
    let name = url.path_segments().and_then(|mut s| s.rfind(|s| !s.is_empty())).unwrap_or("quality");
    let created = table
        .create()
        .with_table_name(name)
        .with_comment(comment)
        .with_columns(fields)
        .with_configuration(key.map(encryption::table_configuration).unwrap_or_default())
        .with_raise_if_key_not_exists(false)
        .with_save_mode(SaveMode::Ignore)
        .await;
    match created {
        Ok(table) => Ok(table),
        Err(error) => {
            let mut again = DeltaTable::new(table.log_store());
            again.load().await.map(|()| again).map_err(|_| error)
        }
    }
}

/// The caller's metadata of the newest commit whose marker names `app_id` and `epoch`,
/// searching the newest 16, then 1024, then all commits still in the log.
pub(crate) async fn find_info(
    table: &DeltaTable,
    app_id: &str,
    epoch: u64,
) -> Result<Option<BTreeMap<String, Value>>, DeltaTableError> {
    for limit in [Some(16), Some(1024), None] {
        let mut history = table.history(limit);
        while let Some(commit) = history.try_next().await? {
            let Some(marker) = commit.info.get(COMMIT_INFO_KEY) else {
                continue;
            };
            if marker["appId"] == app_id && marker["epoch"] == epoch {
                let info = marker["info"].as_object().map(|o| o.clone().into_iter().collect());
                return Ok(Some(info.unwrap_or_default()));
            }
        }
        if limit.is_none_or(|l| l as u64 > table.version().unwrap_or(0)) {
            break;
        }
    }
    Ok(None)
}

/// The first differences between the expected and the found schema, if any (names, types
/// and nullability, in order; field metadata is not compared).
pub(crate) fn schema_difference(expected: &[StructField], found: &[StructField]) -> Option<String> {
    let mut differences = Vec::new();
    for i in 0..expected.len().max(found.len()) {
        let describe =
            |f: &StructField| format!("{}{}", f.data_type(), if f.is_nullable() { "" } else { " not null" });
        match (expected.get(i), found.get(i)) {
            (Some(e), Some(f)) if e.name() != f.name() => {
                differences.push(format!("column {i}: expected `{}`, table has `{}`", e.name(), f.name()))
            }
            (Some(e), Some(f)) if e.data_type() != f.data_type() || e.is_nullable() != f.is_nullable() => {
                differences.push(format!(
                    "column {i} `{}`: expected {}, table has {}",
                    e.name(),
                    describe(e),
                    describe(f)
                ))
            }
            (Some(e), None) => differences.push(format!("column {i} `{}` is missing", e.name())),
            (None, Some(f)) => differences.push(format!("extra column {i} `{}`", f.name())),
            _ => {}
        }
    }
    let more = differences.len().saturating_sub(3);
    differences.truncate(3);
    if more > 0 {
        differences.push(format!("and {more} more"));
    }
    (!differences.is_empty()).then(|| differences.join("; "))
}

/// Parquet settings: zstd level 1, at most 1 Mi rows or 128 MiB per row group; with `key`,
/// Parquet modular encryption (AES-256-GCM, [`encryption::file_encryption`]).
///
/// zstd rather than snappy: at level 1 it compresses about as fast as snappy but the files
/// are markedly smaller (cheaper Blob storage and transfer, faster scans over the network),
/// and every reader we target (Spark, Databricks, DuckDB, pyarrow) reads it. The result holds
/// the key when encrypting: never log it (`WriterProperties`' `Debug` prints it).
pub(crate) fn writer_properties(key: Option<&TableKey>) -> Result<WriterProperties, SinkError> {
    let level = ZstdLevel::try_new(1).map_err(|e| SinkError::internal(e.to_string()))?;
    let builder = match key {
        Some(key) => {
            WriterProperties::builder().with_file_encryption_properties(encryption::file_encryption(key)?)
        }
        None => WriterProperties::builder(),
    };
    Ok(builder
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_created_by(format!(
            "trustflow {} (delta-rs {})",
            env!("CARGO_PKG_VERSION"),
            deltalake::crate_version()
        ))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::columns::delta_fields;
    use deltalake::kernel::DataType;

    #[test]
    fn schema_differences_are_named() {
        let expected = delta_fields().unwrap();
        assert_eq!(schema_difference(&expected, &expected), None);
        let mut found = expected.clone();
        found[4] = StructField::not_null("timestamp", DataType::LONG);
        found.push(StructField::nullable("extra", DataType::STRING));
        let difference = schema_difference(&expected, &found).unwrap();
        assert_eq!(
            difference,
            "column 4 `timestamp`: expected long, table has long not null; extra column 31 `extra`"
        );
        let many = schema_difference(&expected, &expected[1..]).unwrap();
        assert!(many.ends_with("and 28 more"), "{many}");
    }
}
