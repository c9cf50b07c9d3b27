//! Retention: the rows of a trustflow table whose event time has expired, deleted in one commit.

use std::sync::Arc;

use deltalake::arrow::array::{Array, BooleanArray, Int64Array};
use deltalake::arrow::compute::filter_record_batch;
use deltalake::arrow::datatypes::{DataType, Schema, SchemaRef};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake::kernel::{Action, Add, LogicalFileView};
use deltalake::logstore::object_store::{ObjectStore, ObjectStoreExt};
use deltalake::parquet::arrow::ProjectionMask;
use deltalake::parquet::arrow::arrow_reader::ArrowReaderOptions;
use deltalake::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use deltalake::protocol::DeltaOperation;
use deltalake::table::config::TablePropertiesExt;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, ObjectStoreError, Path};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use super::compact::sized_file;
use super::error::MaintainError;
use super::open::{AsOf, arrow_schema, conform, loaded_version, open, rfc3339, unloaded};
use crate::governance::policy::RetentionPeriod;
use crate::location::{Location, StorageOptions, object_store};
use crate::sink::encryption::{self, TableKey};
use crate::sink::table::{COMMIT_INFO_KEY, writer_properties};

/// The event-time columns retention judges rows by, in order of preference: a window
/// table's rows by the end of their window (every event in it is at least that old), every
/// other trustflow table's rows (quality, quarantine, late events, snapshots, batch output)
/// by their `timestamp`. Both hold epoch milliseconds.
pub const EVENT_TIME_COLUMNS: [&str; 2] = ["window_end", "timestamp"];

/// The prefix of the description (comment) every table trustflow creates carries; tables
/// without it are not trustflow's and retention never touches them.
pub const TRUSTFLOW_DESCRIPTION: &str = "trustflow";

/// The retention to apply: the period, and the time it is judged at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionOptions {
    /// Rows whose event time is older than this are deleted.
    pub period: RetentionPeriod,
    /// "Now", epoch milliseconds.
    pub now_ms: i64,
    /// Only count what would be deleted.
    pub dry_run: bool,
}

impl RetentionOptions {
    /// The first event time that is kept: a row expires when its event time is below it.
    pub fn cutoff_ms(&self) -> i64 {
        self.now_ms.saturating_sub(self.period.as_millis())
    }

    /// Whether a row with event time `event_ms` is deleted (null: never, it has no age).
    pub fn expired(&self, event_ms: Option<i64>) -> bool {
        event_ms.is_some_and(|t| self.period.expired(t, self.now_ms))
    }
}

/// What retention did to one table (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionOutcome {
    /// The table.
    pub url: String,
    /// The event-time column the rows were judged by.
    pub column: String,
    /// The retention period, as the spec writes it, and in days.
    pub retention: String,
    /// The period in days.
    pub retention_days: u32,
    /// "Now", epoch milliseconds.
    pub now_ms: i64,
    /// Rows with an event time below this (epoch milliseconds) expired.
    pub cutoff_ms: i64,
    /// The cutoff in RFC 3339.
    pub cutoff: String,
    /// Whether nothing was changed because it was a dry run.
    pub dry_run: bool,
    /// The table's version afterwards (unchanged when nothing expired or dry).
    pub version: i64,
    /// The version that deleted the rows, if one was committed.
    pub committed_version: Option<i64>,
    /// Live data files before.
    pub files: usize,
    /// Files whose statistics showed no expired row: not read, untouched.
    pub files_skipped: usize,
    /// Files whose event-time column was read (no statistics, or they did not decide).
    pub files_read: usize,
    /// Files removed (holding expired rows), or that would be.
    pub files_removed: usize,
    /// Of those, files that also held rows still kept, copied into new files.
    pub files_rewritten: usize,
    /// New files written with the kept rows of the rewritten files.
    pub files_added: usize,
    /// Rows deleted (or that would be).
    pub rows_deleted: u64,
    /// Rows copied unchanged into the new files.
    pub rows_copied: u64,
    /// The paths (relative to the table) of the files removed: older versions still
    /// reference them until a vacuum deletes them.
    pub removed: Vec<String>,
}

/// What a file's statistics say about its expired rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByStats {
    /// No row of the file is expired: leave it.
    Keep,
    /// Every row (this many) is expired: remove it without reading.
    AllExpired(u64),
    /// The statistics do not tell (missing, or min expired and max not): read it.
    Read,
}

/// Judges a file by the `stats` JSON of its `add` action for `column`: kept when its
/// minimum has not expired or every value is null, entirely expired when its maximum has
/// expired and it has no null, else to be read.
pub(crate) fn by_stats(stats: Option<&str>, column: &str, options: &RetentionOptions) -> ByStats {
    let Some(stats) = stats.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return ByStats::Read;
    };
    let records = stats["numRecords"].as_u64();
    let nulls = stats["nullCount"][column].as_u64();
    let (min, max) = (stats["minValues"][column].as_i64(), stats["maxValues"][column].as_i64());
    if records == Some(0) || (records.is_some() && nulls == records) {
        return ByStats::Keep;
    }
    if min.is_some() && !options.expired(min) {
        return ByStats::Keep;
    }
    match (max, nulls, records) {
        (Some(_), Some(0), Some(records)) if options.expired(max) => ByStats::AllExpired(records),
        _ => ByStats::Read,
    }
}

/// Which of `batch`'s rows are kept, by the event time in column `column`.
pub(crate) fn kept_rows(
    batch: &RecordBatch,
    column: &str,
    options: &RetentionOptions,
) -> Result<BooleanArray, MaintainError> {
    let times = event_times(batch, column)?;
    Ok(times.iter().map(|t| Some(!options.expired(t))).collect())
}

/// The `column` of `batch` as epoch milliseconds.
fn event_times<'a>(batch: &'a RecordBatch, column: &str) -> Result<&'a Int64Array, MaintainError> {
    let array = batch.column_by_name(column).ok_or_else(|| MaintainError::NoEventTime {
        url: String::new(),
        reason: format!("a data file lacks column `{column}`"),
    })?;
    array.as_any().downcast_ref::<Int64Array>().ok_or_else(|| MaintainError::NoEventTime {
        url: String::new(),
        reason: format!("`{column}` is {} in a data file, not epoch milliseconds (long)", array.data_type()),
    })
}

/// The event-time column of a table with `schema`, if it has one of [`EVENT_TIME_COLUMNS`]
/// as a long.
pub fn event_time_column(schema: &Schema) -> Result<&'static str, String> {
    for name in EVENT_TIME_COLUMNS {
        if let Ok(field) = schema.field_with_name(name) {
            return match field.data_type() {
                DataType::Int64 => Ok(name),
                other => Err(format!("`{name}` is {other}, not epoch milliseconds (long)")),
            };
        }
    }
    Err(format!("no event-time column ({})", EVENT_TIME_COLUMNS.join(" or ")))
}

/// Deletes from the trustflow table at `url` every row whose event time (see
/// [`EVENT_TIME_COLUMNS`]) is older than `options.period` at `options.now_ms`
/// ([`RetentionPeriod::expired`]); rows without an event time are kept.
///
/// Without DataFusion there is no `DELETE` in deltalake, so this is a rewrite: files whose
/// `add` statistics show no expired row are not read; a file entirely expired (by its
/// statistics or by reading its event-time column) is only removed; a file with expired and
/// kept rows is read and its kept rows written, unchanged (`_change_type` and `_epoch`
/// included), to new files. One commit removes (`dataChange: true`) and adds them, with the
/// operation `DELETE`, its predicate, Delta's `operationMetrics` and a `trustflow` marker
/// saying what retention was applied. Nothing expired: no commit. A table whose description
/// does not start with [`TRUSTFLOW_DESCRIPTION`] is refused ([`MaintainError::NotTrustflow`]).
pub async fn expire(
    url: &str,
    storage: &StorageOptions,
    options: &RetentionOptions,
) -> Result<RetentionOutcome, MaintainError> {
    let (location, table) = open(url, storage, AsOf::Latest).await?;
    let name = location.to_string();
    let state = table.snapshot().map_err(MaintainError::read(&name))?.clone();
    let description = state.metadata().description().unwrap_or_default().to_owned();
    if !description.starts_with(TRUSTFLOW_DESCRIPTION) {
        return Err(MaintainError::NotTrustflow { url: name, description });
    }
    if !state.metadata().partition_columns().is_empty() {
        return Err(MaintainError::Unsupported { url: name, reason: "partitioned tables".into() });
    }
    // An encrypted table is read with its key and rewritten encrypted with it, or not at all
    // (its files carry no column statistics, so each is read).
    let key = encryption::writer_key(&name, state.metadata().configuration(), None)?;
    let schema = arrow_schema(&table, &name)?;
    let column = event_time_column(&schema)
        .map_err(|reason| MaintainError::NoEventTime { url: name.clone(), reason })?;
    let version = loaded_version(&table);
    let mut outcome = RetentionOutcome {
        url: name.clone(),
        column: column.to_owned(),
        retention: options.period.text.clone(),
        retention_days: options.period.days,
        now_ms: options.now_ms,
        cutoff_ms: options.cutoff_ms(),
        cutoff: chrono::DateTime::from_timestamp_millis(options.cutoff_ms()).map(rfc3339).unwrap_or_default(),
        dry_run: options.dry_run,
        version,
        ..RetentionOutcome::default()
    };

    // Which files hold expired rows: by statistics, else by reading the event-time column.
    let log_store = table.log_store();
    let store = log_store.object_store(None);
    let mut remove: Vec<LogicalFileView> = Vec::new();
    let mut rewrite: Vec<LogicalFileView> = Vec::new();
    let reader = encryption::read::reader_options()?;
    let mut views = state.snapshot().file_views(log_store.as_ref(), None);
    while let Some(view) = views.try_next().await.map_err(MaintainError::read(&name))? {
        if view.deletion_vector_descriptor().is_some() {
            return Err(MaintainError::Unsupported { url: name, reason: "deletion vectors".into() });
        }
        outcome.files += 1;
        match by_stats(view.stats().as_deref(), column, options) {
            ByStats::Keep => outcome.files_skipped += 1,
            ByStats::AllExpired(rows) => {
                outcome.rows_deleted += rows;
                remove.push(view);
            }
            ByStats::Read => {
                outcome.files_read += 1;
                let (expired, rows) =
                    count_expired(&store, &view, column, options, &reader).await.map_err(|e| e.at(&name))?;
                outcome.rows_deleted += expired;
                if expired == rows {
                    remove.push(view);
                } else if expired > 0 {
                    rewrite.push(view);
                }
            }
        }
    }
    outcome.files_removed = remove.len() + rewrite.len();
    outcome.files_rewritten = rewrite.len();
    tracing::info!(
        table = %name,
        files = outcome.files,
        skipped_by_stats = outcome.files_skipped,
        read = outcome.files_read,
        expired_rows = outcome.rows_deleted,
        to_remove = outcome.files_removed,
        to_rewrite = outcome.files_rewritten,
        "retention: expired rows located"
    );
    outcome.removed = remove.iter().chain(&rewrite).map(|v| v.object_store_path().to_string()).collect();
    outcome.removed.sort();
    if options.dry_run || outcome.files_removed == 0 {
        return Ok(outcome);
    }

    let kept = Kept { schema: &schema, column, key: key.as_ref(), reader: &reader };
    let mut adds = copy_kept(&table, &name, &rewrite, &kept, options, &mut outcome).await?;
    if key.is_some() {
        adds.iter_mut().for_each(encryption::strip_column_stats);
    }
    let mut actions: Vec<Action> =
        remove.iter().chain(&rewrite).map(|view| Action::Remove(view.remove_action(true))).collect();
    outcome.files_added = adds.len();
    actions.extend(adds.into_iter().map(Action::Add));
    let marker = json!({
        "maintenance": "retention",
        "column": column,
        "retentionPeriod": options.period.text,
        "retentionDays": options.period.days,
        "now": options.now_ms,
        "cutoff": options.cutoff_ms(),
        "rowsDeleted": outcome.rows_deleted,
        "filesRemoved": outcome.files_removed,
        "filesAdded": outcome.files_added,
    });
    let metrics = json!({
        "numDeletedRows": outcome.rows_deleted,
        "numCopiedRows": outcome.rows_copied,
        "numRemovedFiles": outcome.files_removed,
        "numAddedFiles": outcome.files_added,
    });
    let properties = CommitProperties::default()
        .with_metadata([(COMMIT_INFO_KEY.to_owned(), marker), ("operationMetrics".to_owned(), metrics)]);
    let predicate = format!(
        "{column} < {} (older than the retention period {} at {})",
        options.cutoff_ms(),
        options.period,
        chrono::DateTime::from_timestamp_millis(options.now_ms).map(rfc3339).unwrap_or_default()
    );
    let operation = DeltaOperation::Delete { predicate: Some(predicate) };
    let finalized = CommitBuilder::from(properties)
        .with_actions(actions)
        .build(Some(&state as &dyn TableReference), log_store, operation)
        .await
        .map_err(MaintainError::write("deleting expired rows of", &name))?;
    let committed = i64::try_from(finalized.version).unwrap_or(i64::MAX);
    outcome.version = committed;
    outcome.committed_version = Some(committed);
    tracing::info!(table = %name, version = committed, rows_deleted = outcome.rows_deleted, "retention: committed");
    Ok(outcome)
}

/// Reads only the event-time column of one file: (expired rows, all rows).
async fn count_expired(
    store: &Arc<dyn ObjectStore>,
    view: &LogicalFileView,
    column: &str,
    options: &RetentionOptions,
    reader: &ArrowReaderOptions,
) -> Result<(u64, u64), MaintainError> {
    let parquet_error = |e| MaintainError::read("")(DeltaTableError::Parquet { source: e });
    let builder = ParquetRecordBatchStreamBuilder::new_with_options(sized_file(store, view), reader.clone())
        .await
        .map_err(parquet_error)?;
    let Ok(index) = builder.schema().index_of(column) else {
        // A file written before the column existed holds no event time: nothing expires.
        let rows = builder.metadata().file_metadata().num_rows();
        return Ok((0, u64::try_from(rows).unwrap_or(0)));
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let mut batches = builder.with_projection(mask).build().map_err(parquet_error)?;
    let (mut expired, mut rows) = (0, 0);
    while let Some(batch) = batches.try_next().await.map_err(parquet_error)? {
        let times = event_times(&batch, column)?;
        rows += times.len() as u64;
        expired += times.iter().filter(|t| options.expired(*t)).count() as u64;
    }
    Ok((expired, rows))
}

/// How kept rows are read and written back: the table's schema, its event-time column, its
/// key (encrypted tables) and the (decrypting) reader options.
struct Kept<'a> {
    schema: &'a SchemaRef,
    column: &'a str,
    key: Option<&'a TableKey>,
    reader: &'a ArrowReaderOptions,
}

/// Writes the kept rows of `files` (read whole, filtered) to new files of the table.
async fn copy_kept(
    table: &DeltaTable,
    name: &str,
    files: &[LogicalFileView],
    kept: &Kept<'_>,
    options: &RetentionOptions,
    outcome: &mut RetentionOutcome,
) -> Result<Vec<Add>, MaintainError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let Kept { schema, column, key, reader } = *kept;
    let action = "deleting expired rows of";
    let properties = writer_properties(key)
        .map_err(|e| MaintainError::write(action, name)(DeltaTableError::Generic(e.to_string())))?;
    let target = table.snapshot().map_err(MaintainError::read(name))?.table_config().target_file_size().get();
    let mut writer = RecordBatchWriter::for_table(table)
        .map_err(MaintainError::write(action, name))?
        .with_writer_properties(properties)
        .with_target_file_size(target);
    let store = table.log_store().object_store(None);
    let result: Result<Vec<Add>, MaintainError> = async {
        for view in files {
            tracing::info!(table = %name, file = %view.path(), "retention: rewriting a file without its expired rows");
            let parquet_error = |e| MaintainError::read(name)(DeltaTableError::Parquet { source: e });
            let mut batches = ParquetRecordBatchStreamBuilder::new_with_options(sized_file(&store, view), reader.clone())
                .await
                .and_then(|builder| builder.build())
                .map_err(parquet_error)?;
            while let Some(batch) = batches.try_next().await.map_err(parquet_error)? {
                let batch = conform(&batch, schema)?;
                let keep = kept_rows(&batch, column, options).map_err(|e| e.at(name))?;
                let kept = filter_record_batch(&batch, &keep).map_err(MaintainError::arrow("filtering rows"))?;
                if kept.num_rows() > 0 {
                    outcome.rows_copied += kept.num_rows() as u64;
                    writer.write(kept).await.map_err(MaintainError::write(action, name))?;
                }
            }
        }
        writer.flush().await.map_err(MaintainError::write(action, name))
    }
    .await;
    if result.is_err() {
        // Abort uploads in flight; finished files stay unreferenced until a vacuum.
        writer.reset();
    }
    result
}

/// The Delta tables at `location`: the table itself if one is there, else the tables in its
/// direct subdirectories (an output root; names starting with `_` or `.` are passed over),
/// sorted. A location with neither is [`MaintainError::NoTables`]. Whether a table is
/// trustflow's is [`expire`]'s to check.
pub async fn tables_at(
    location: &Location,
    storage: &StorageOptions,
) -> Result<Vec<Location>, MaintainError> {
    if unloaded(location, storage).await?.is_some() {
        return Ok(vec![location.clone()]);
    }
    let children: Vec<String> = match location {
        Location::Local(path) => match std::fs::read_dir(path) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(_) => Vec::new(),
        },
        Location::Azure(_) => {
            let store = object_store(location, storage)?;
            let listed = store.list_with_delimiter(None).await.map_err(|source| {
                MaintainError::read(&location.to_string())(DeltaTableError::ObjectStore { source })
            })?;
            listed.common_prefixes.iter().filter_map(|p| p.filename().map(str::to_owned)).collect()
        }
    };
    let mut tables = Vec::new();
    for child in children.iter().filter(|c| !c.is_empty() && !c.starts_with('_') && !c.starts_with('.')) {
        let candidate = location.join(child);
        if unloaded(&candidate, storage).await?.is_some() {
            tables.push(candidate);
        }
    }
    tables.sort_by_key(|l| l.to_string());
    if tables.is_empty() {
        return Err(MaintainError::NoTables { url: location.to_string() });
    }
    Ok(tables)
}

/// Of `paths` (relative to the table at `url`), those still stored: the files older
/// versions reference that no vacuum has deleted yet.
pub async fn still_stored(
    url: &str,
    storage: &StorageOptions,
    paths: &[String],
) -> Result<Vec<String>, MaintainError> {
    let (location, table) = open(url, storage, AsOf::Latest).await?;
    let store = table.log_store().object_store(None);
    let mut stored = Vec::new();
    for path in paths {
        match store.head(&Path::from(path.as_str())).await {
            Ok(_) => stored.push(path.clone()),
            Err(ObjectStoreError::NotFound { .. }) => {}
            Err(source) => {
                return Err(MaintainError::read(&location.to_string())(DeltaTableError::ObjectStore {
                    source,
                }));
            }
        }
    }
    Ok(stored)
}
