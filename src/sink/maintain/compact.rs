//! Compaction: small data files rewritten into fewer, bigger ones, the rows unchanged.

use std::ops::Range;
use std::sync::Arc;

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake::kernel::{Action, LogicalFileView};
use deltalake::logstore::object_store::ObjectStore;
#[allow(deprecated)]
use deltalake::parquet::arrow::async_reader::ParquetObjectReader;
use deltalake::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use deltalake::protocol::DeltaOperation;
use deltalake::table::config::TablePropertiesExt;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::json;

use super::error::MaintainError;
use super::open::{AsOf, arrow_schema, conform, loaded_version, open};
use crate::location::StorageOptions;
use crate::sink::encryption::{self, TableKey};
use crate::sink::table::{COMMIT_INFO_KEY, writer_properties};

/// What a compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CompactOutcome {
    /// The table.
    pub url: String,
    /// The table's version afterwards (unchanged when there was nothing to compact).
    pub version: i64,
    /// The size files were packed towards, in bytes.
    pub target_file_size: u64,
    /// Data files removed (rewritten), and their bytes.
    pub files_removed: usize,
    /// Bytes of the removed files.
    pub bytes_removed: u64,
    /// Data files added, and their bytes.
    pub files_added: usize,
    /// Bytes of the added files.
    pub bytes_added: u64,
    /// Rows rewritten.
    pub rows: u64,
}

/// Rewrites the table's small data files (each below `target_file_size` bytes; default:
/// the table's `delta.targetFileSize`, 100 MiB unless set) into files of about that size,
/// in one commit whose actions all say `dataChange: false` (an `OPTIMIZE`), so streaming
/// readers of the table skip it and the rows, `_epoch` included, stay exactly as they were.
///
/// Files are packed in commit order, so a new file holds consecutive epochs. A group of
/// one is left alone: a table with no two small neighbours is not touched. The pipeline may
/// keep appending meanwhile (appends do not conflict with a compaction); the replaced files
/// stay on storage for readers of older versions until [`vacuum`](super::vacuum) removes
/// them after its retention.
pub async fn compact(
    url: &str,
    storage: &StorageOptions,
    target_file_size: Option<u64>,
) -> Result<CompactOutcome, MaintainError> {
    let (location, table) = open(url, storage, AsOf::Latest).await?;
    let name = location.to_string();
    let state = table.snapshot().map_err(MaintainError::read(&name))?.clone();
    let target = target_file_size.unwrap_or_else(|| state.table_config().target_file_size().get()).max(1);
    let mut outcome = CompactOutcome {
        url: name.clone(),
        version: loaded_version(&table),
        target_file_size: target,
        ..CompactOutcome::default()
    };
    if !state.metadata().partition_columns().is_empty() {
        return Err(MaintainError::Unsupported { url: name, reason: "partitioned tables".into() });
    }
    let log_store = table.log_store();
    let mut small = Vec::new();
    let mut views = state.snapshot().file_views(log_store.as_ref(), None);
    while let Some(view) = views.try_next().await.map_err(MaintainError::read(&name))? {
        if view.deletion_vector_descriptor().is_some() {
            return Err(MaintainError::Unsupported { url: name, reason: "deletion vectors".into() });
        }
        if u64::try_from(view.size()).is_ok_and(|size| size < target) {
            small.push(view);
        }
    }
    small.sort_by_cached_key(|view| (view.modification_time(), view.path().into_owned()));
    let sizes: Vec<u64> = small.iter().map(|v| u64::try_from(v.size()).unwrap_or(0)).collect();
    let bins = bins(&sizes, target);
    if bins.is_empty() {
        return Ok(outcome);
    }

    // An encrypted table is rewritten encrypted with its own key, or not at all.
    let key = encryption::writer_key(&name, state.metadata().configuration(), None)?;
    let mut actions = Vec::new();
    let adds = rewrite(&table, &name, &small, &bins, target, key.as_ref(), &mut outcome).await?;
    for bin in &bins {
        for view in &small[bin.clone()] {
            outcome.files_removed += 1;
            outcome.bytes_removed += u64::try_from(view.size()).unwrap_or(0);
            actions.push(Action::Remove(view.remove_action(false)));
        }
    }
    for mut add in adds {
        add.data_change = false;
        if key.is_some() {
            encryption::strip_column_stats(&mut add);
        }
        outcome.files_added += 1;
        outcome.bytes_added += u64::try_from(add.size).unwrap_or(0);
        actions.push(Action::Add(add));
    }
    let marker = json!({
        "maintenance": "compact",
        "filesRemoved": outcome.files_removed,
        "filesAdded": outcome.files_added,
    });
    let properties = CommitProperties::default().with_metadata([(COMMIT_INFO_KEY.to_owned(), marker)]);
    let operation =
        DeltaOperation::Optimize { predicate: None, target_size: i64::try_from(target).unwrap_or(i64::MAX) };
    let finalized = CommitBuilder::from(properties)
        .with_actions(actions)
        .build(Some(&state as &dyn TableReference), log_store, operation)
        .await
        .map_err(MaintainError::write("compacting", &name))?;
    outcome.version = i64::try_from(finalized.version).unwrap_or(i64::MAX);
    Ok(outcome)
}

/// Writes each bin's files into new files (one writer flush per bin), returning their adds.
async fn rewrite(
    table: &DeltaTable,
    name: &str,
    files: &[LogicalFileView],
    bins: &[Range<usize>],
    target: u64,
    key: Option<&TableKey>,
    outcome: &mut CompactOutcome,
) -> Result<Vec<deltalake::kernel::Add>, MaintainError> {
    let write_error = MaintainError::write("compacting", name);
    let properties = writer_properties(key)
        .map_err(|e| MaintainError::write("compacting", name)(DeltaTableError::Generic(e.to_string())))?;
    let options = encryption::read::reader_options()?;
    let mut writer = match RecordBatchWriter::for_table(table) {
        Ok(writer) => writer.with_writer_properties(properties).with_target_file_size(target),
        Err(error) => return Err(write_error(error)),
    };
    let schema = arrow_schema(table, name)?;
    let store = table.log_store().object_store(None);
    let mut adds = Vec::new();
    let result: Result<(), MaintainError> = async {
        for bin in bins {
            for view in &files[bin.clone()] {
                let parquet_error = |e| MaintainError::read(name)(DeltaTableError::Parquet { source: e });
                let mut batches = ParquetRecordBatchStreamBuilder::new_with_options(
                    sized_file(&store, view),
                    options.clone(),
                )
                .await
                .and_then(|builder| builder.build())
                .map_err(parquet_error)?;
                while let Some(batch) = batches.try_next().await.map_err(parquet_error)? {
                    outcome.rows += batch.num_rows() as u64;
                    writer
                        .write(conform(&batch, &schema)?)
                        .await
                        .map_err(MaintainError::write("compacting", name))?;
                }
            }
            adds.extend(writer.flush().await.map_err(MaintainError::write("compacting", name))?);
        }
        Ok(())
    }
    .await;
    if let Err(error) = result {
        // Abort uploads in flight; files already finished stay unreferenced until a vacuum.
        writer.reset();
        return Err(error);
    }
    Ok(adds)
}

/// A reader of one data file that knows its size, so it reads the footer by offset: Azure
/// refuses the suffix range request it makes otherwise (deltalake's `ParquetFileReader`,
/// which the sink's `read_changes` uses, does that; its sized read is private). The type is
/// deprecated in parquet 59 in favour of implementing `AsyncFileReader` by hand; deltalake
/// reads its files with it too.
#[allow(deprecated)]
pub(crate) fn sized_file(store: &Arc<dyn ObjectStore>, view: &LogicalFileView) -> ParquetObjectReader {
    let size = u64::try_from(view.size()).unwrap_or(0);
    ParquetObjectReader::new(store.clone(), view.object_store_path()).with_file_size(size)
}

/// Groups consecutive files whose sizes add up to at most `target` (a file alone may be
/// bigger), keeping only groups of two or more: rewriting a single file gains nothing.
pub(crate) fn bins(sizes: &[u64], target: u64) -> Vec<Range<usize>> {
    let mut bins = Vec::new();
    let (mut start, mut total) = (0, 0u64);
    for (i, size) in sizes.iter().enumerate() {
        if i > start && total.saturating_add(*size) > target {
            bins.push(start..i);
            (start, total) = (i, 0);
        }
        total = total.saturating_add(*size);
    }
    bins.push(start..sizes.len());
    bins.retain(|bin| bin.len() >= 2);
    bins
}

#[cfg(test)]
mod tests {
    use super::bins;

    #[test]
    fn bins_pack_neighbours_up_to_the_target_and_skip_singletons() {
        let none: Vec<std::ops::Range<usize>> = Vec::new();
        assert_eq!(bins(&[], 10), none);
        assert_eq!(bins(&[3], 10), none);
        assert_eq!(bins(&[3, 3, 3, 3], 10), vec![0..3]);
        assert_eq!(bins(&[3, 3, 3, 3, 3, 3], 10), vec![0..3, 3..6]);
        assert_eq!(bins(&[9, 2, 9, 2], 10), none);
        assert_eq!(bins(&[1, 1, 9, 1, 1], 10), vec![0..2, 2..4]);
    }
}
