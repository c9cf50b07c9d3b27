//! Opening an existing table at its newest version, at a version, or as of a time (time travel).

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use deltalake::arrow::array::ArrayRef;
use deltalake::arrow::compute::cast;
use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafile::reader::ParquetTableReader;
use deltalake::datafile::{BatchStream, DeltaDataReader, ReadOptions};
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError, Path};
use futures::TryStreamExt;
use url::Url;

use super::error::MaintainError;
use crate::location::{Location, StorageOptions, register_object_stores};
use crate::sink::encryption;

/// Which version of a table to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AsOf {
    /// The newest version.
    #[default]
    Latest,
    /// This version (0 is the table's creation).
    Version(i64),
    /// The newest version committed at or before this time.
    Time(DateTime<Utc>),
}

/// A table read at one version: its rows, as Arrow batches in the table's schema.
#[derive(Clone, Debug)]
pub struct TableAt {
    /// The table location, as given (normalized).
    pub url: String,
    /// The version read.
    pub version: i64,
    /// When that version was committed (its log file's time, as Delta time travel uses).
    pub committed_at: Option<DateTime<Utc>>,
    /// The table's Arrow schema at that version.
    pub schema: SchemaRef,
    /// Every row of the version's data files (order across files is not kept).
    pub batches: Vec<RecordBatch>,
}

/// Loads the table at `url` as `as_of` says and reads all its rows. Missing tables, versions
/// out of range and times before the table's first version are named errors.
pub async fn read_at(url: &str, storage: &StorageOptions, as_of: AsOf) -> Result<TableAt, MaintainError> {
    let (location, table) = open(url, storage, as_of).await?;
    let url = location.to_string();
    let version = loaded_version(&table);
    let committed_at = commit_time(&table, version).await.ok();
    let schema = arrow_schema(&table, &url)?;
    let batches = read_all(&table, &url, &schema).await?;
    Ok(TableAt { url, version, committed_at, schema, batches })
}

/// Parses `url`, checks that a Delta table is there and loads it as `as_of` says.
pub(crate) async fn open(
    url: &str,
    storage: &StorageOptions,
    as_of: AsOf,
) -> Result<(Location, DeltaTable), MaintainError> {
    let location = Location::parse(url)?;
    let name = location.to_string();
    let table = unloaded(&location, storage).await?;
    let mut table = match table {
        Some(table) => table,
        None => return Err(MaintainError::NotATable { url: name }),
    };
    match as_of {
        AsOf::Latest => table.load().await.map_err(MaintainError::read(&name))?,
        AsOf::Version(version) => {
            let (earliest, latest) = log_range(&table, &name).await?;
            let missing = |reason: String| MaintainError::NoSuchVersion {
                url: name.clone(),
                version,
                earliest,
                latest,
                reason,
            };
            if version < earliest || version > latest {
                return Err(missing(String::new()));
            }
            let loaded = u64::try_from(version).map_err(|_| missing(String::new()))?;
            match table.load_version(loaded).await {
                Ok(()) => {}
                Err(error) if crate::sink::error::delta_is_retryable(&error) => {
                    return Err(MaintainError::read(&name)(error));
                }
                Err(error) => return Err(missing(format!(": {error}"))),
            }
        }
        AsOf::Time(time) => {
            let (earliest, _) = log_range(&table, &name).await?;
            let first = commit_time(&table, earliest).await.map_err(MaintainError::read(&name))?;
            if time < first {
                return Err(MaintainError::BeforeFirstVersion {
                    url: name,
                    as_of: rfc3339(time),
                    earliest,
                    earliest_at: rfc3339(first),
                });
            }
            table.load_with_datetime(time).await.map_err(MaintainError::read(&name))?;
        }
    }
    Ok((location, table))
}

/// A table object for `location` whose state is not loaded yet, or `None` when there is no
/// Delta log there. A local directory is never created.
pub(crate) async fn unloaded(
    location: &Location,
    storage: &StorageOptions,
) -> Result<Option<DeltaTable>, MaintainError> {
    register_object_stores();
    let name = location.to_string();
    let url = match location {
        Location::Local(path) => {
            let Ok(path) = std::fs::canonicalize(path) else { return Ok(None) };
            if !path.join("_delta_log").is_dir() {
                return Ok(None);
            }
            Url::from_directory_path(&path).map_err(|()| MaintainError::NotATable { url: name.clone() })?
        }
        Location::Azure(url) => url.clone(),
    };
    let table = DeltaTableBuilder::from_url(url)
        .map(|builder| builder.with_storage_options(storage.to_map()))
        .and_then(DeltaTableBuilder::build)
        .map_err(MaintainError::read(&name))?;
    let exists = table.verify_deltatable_existence().await.map_err(MaintainError::read(&name))?;
    Ok(exists.then_some(table))
}

/// The oldest and the newest version whose commit file is in the log.
async fn log_range(table: &DeltaTable, url: &str) -> Result<(i64, i64), MaintainError> {
    let store = table.log_store().object_store(None);
    let listed: Vec<_> = store
        .list(Some(&Path::from("_delta_log")))
        .try_collect()
        .await
        .map_err(|source| MaintainError::read(url)(DeltaTableError::ObjectStore { source }))?;
    let versions = listed.iter().filter_map(|meta| {
        let name = meta.location.filename()?;
        let stem = name.strip_suffix(".json")?;
        (stem.len() == 20).then(|| stem.parse::<i64>().ok()).flatten()
    });
    let (earliest, latest) = versions.fold((i64::MAX, i64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if earliest > latest {
        return Err(MaintainError::NotATable { url: url.to_owned() });
    }
    Ok((earliest, latest))
}

/// The version a loaded table is at.
pub(crate) fn loaded_version(table: &DeltaTable) -> i64 {
    table.version().and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)
}

/// When `version` was committed: the time of its log file, which is what Delta time travel
/// by timestamp compares with (without in-commit timestamps).
pub(crate) async fn commit_time(table: &DeltaTable, version: i64) -> Result<DateTime<Utc>, DeltaTableError> {
    let path = Path::from(format!("_delta_log/{version:020}.json"));
    let meta = table.log_store().object_store(None).head(&path).await?;
    Ok(meta.last_modified)
}

/// A time as RFC 3339, to the millisecond, in UTC.
pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The loaded table's Arrow schema, by deltalake's own conversion.
pub(crate) fn arrow_schema(table: &DeltaTable, url: &str) -> Result<SchemaRef, MaintainError> {
    let state = table.snapshot().map_err(MaintainError::read(url))?;
    let schema: Schema = state
        .schema()
        .as_ref()
        .try_into_arrow()
        .map_err(MaintainError::arrow("deriving the Arrow schema"))?;
    Ok(Arc::new(schema))
}

/// Every row of the loaded version, each batch cast to `schema` (files written by other
/// writers may spell nested types differently).
pub(crate) async fn read_all(
    table: &DeltaTable,
    url: &str,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, MaintainError> {
    let batches: Vec<RecordBatch> =
        read_stream(table, url).await?.try_collect().await.map_err(MaintainError::read(url))?;
    batches.iter().map(|batch| conform(batch, schema)).collect()
}

/// The rows of the loaded version's data files, several files read at once (deltalake's
/// DataFusion-free reader, which refuses deletion vectors, column mapping and partitions).
/// An encrypted table needs its key (keyring or environment) and is read decrypting.
pub(crate) async fn read_stream(table: &DeltaTable, url: &str) -> Result<BatchStream, MaintainError> {
    let configuration = table.snapshot().map_err(MaintainError::read(url))?.metadata().configuration();
    if encryption::reader_key(url, configuration)?.is_some() {
        return encryption::read::table_stream(table).await.map_err(MaintainError::read(url));
    }
    let reader = ParquetTableReader::try_new(table).await.map_err(|error| match error {
        DeltaTableError::Generic(reason) => MaintainError::Unsupported { url: url.to_owned(), reason },
        error => MaintainError::read(url)(error),
    })?;
    reader.read(ReadOptions::default()).await.map_err(MaintainError::read(url))
}

/// `batch` under `schema`: columns found by name and cast where their type differs.
pub(crate) fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, MaintainError> {
    if batch.schema() == *schema {
        return Ok(batch.clone());
    }
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let column = batch.column_by_name(field.name()).ok_or_else(|| {
                MaintainError::arrow("reading a data file")(deltalake::arrow::error::ArrowError::SchemaError(
                    format!("a data file lacks column `{}`", field.name()),
                ))
            })?;
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                cast(column, field.data_type()).map_err(MaintainError::arrow("casting a data file's column"))
            }
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(MaintainError::arrow("reading a data file"))
}
