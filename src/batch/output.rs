//! The output: a new Delta table in one commit, or Parquet files, written in parallel parts.

use std::fs::File;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::kernel::Action;
use deltalake::logstore::object_store::buffered::BufWriter;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use deltalake::parquet::arrow::{ArrowWriter, AsyncArrowWriter};
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, ensure_table_uri};
use serde::Serialize;
use url::Url;

use super::error::BatchError;
use crate::dataflow::quality::QualityRow;
use crate::location::{self, Location, StorageOptions};
use crate::sink::columns::{output_arrow_schema, output_fields};
use crate::sink::encode::rows_to_batch;
use crate::sink::encryption::{self, TableKey};
use crate::sink::table::{ROW_GROUP_ROWS, writer_properties};

/// What batch mode writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// A new Delta table, created with all its files in one commit (version 0).
    Delta,
    /// Parquet files `part-00000.parquet`, ... and an empty `_SUCCESS` marker.
    Parquet,
}

/// Rows per Arrow batch handed to a writer.
pub const BATCH_ROWS: usize = 256 * 1024;
/// Rows per output file at most: 4 row groups of [`ROW_GROUP_ROWS`].
pub const FILE_ROWS: usize = 4 * ROW_GROUP_ROWS;

/// What was written, and where.
#[derive(Clone, Debug, Serialize)]
pub struct Written {
    /// The output directory (absolute when it could be resolved).
    pub location: String,
    /// The format.
    pub format: OutputFormat,
    /// Data files written.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// The Delta table's version (0: created with its data), for `--format delta`.
    pub version: Option<u64>,
}

/// An output location that was checked: empty or absent, or a previous output to replace.
#[derive(Debug)]
pub struct Target {
    location: Location,
    storage: StorageOptions,
    replace: bool,
}

/// Checks that `location` can receive the output: it is absent or an empty directory, or,
/// with `overwrite`, a previous output (a Delta table, or only Parquet files) that will be
/// deleted just before writing. Anything else is refused, `--overwrite` or not. A URL
/// location is listed through its object store, with `storage`'s settings.
pub fn check(location: &Location, overwrite: bool, storage: &StorageOptions) -> Result<Target, BatchError> {
    let entries = match location.local_path() {
        Some(path) => local_entries(path)?,
        None => remote_entries(location, storage)?,
    };
    let replace = match entries {
        Entries::Absent => false,
        Entries::Found(names) => replaceable(location, &names, overwrite)?,
    };
    Ok(Target { location: location.clone(), storage: storage.clone(), replace })
}

/// What is at an output location: nothing, or entries (name, is a directory) at its top.
enum Entries {
    Absent,
    Found(Vec<(String, bool)>),
}

fn local_entries(path: &Path) -> Result<Entries, BatchError> {
    let refuse = |reason: &str| BatchError::OutputExists {
        location: path.display().to_string(),
        reason: reason.into(),
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entries::Absent),
        Err(_) if path.exists() => return Err(refuse("exists and is not a directory")),
        Err(source) => return Err(BatchError::Output { path: path.into(), source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| BatchError::Output { path: path.into(), source })?;
        names.push((entry.file_name().to_string_lossy().into_owned(), entry.path().is_dir()));
    }
    Ok(Entries::Found(names))
}

/// The top-level entries under a URL location: the first segment of every object's path
/// (a "directory" if the path goes on).
fn remote_entries(location: &Location, storage: &StorageOptions) -> Result<Entries, BatchError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(BatchError::Runtime)?;
    let store = location::object_store(location, storage)?;
    let paths = runtime.block_on(location::list_all(store.as_ref(), location))?;
    let mut names: Vec<(String, bool)> = paths
        .iter()
        .map(|p| match p.split_once('/') {
            Some((top, _)) => (top.to_owned(), true),
            None => (p.clone(), false),
        })
        .collect();
    names.dedup();
    Ok(Entries::Found(names))
}

/// Whether the entries found at `location` are an output to replace (with `overwrite`), no
/// output at all (empty), or refused.
fn replaceable(location: &Location, names: &[(String, bool)], overwrite: bool) -> Result<bool, BatchError> {
    let refuse =
        |reason: &str| BatchError::OutputExists { location: location.to_string(), reason: reason.into() };
    if names.is_empty() {
        return Ok(false);
    }
    let table = names.iter().any(|(name, dir)| name == "_delta_log" && *dir);
    let parquet = names.iter().all(|(name, dir)| {
        !dir && (name.ends_with(".parquet") || name.ends_with(".crc") || name == "_SUCCESS")
    });
    match (table || parquet, overwrite) {
        (true, true) => Ok(true),
        (true, false) if table => {
            Err(refuse("already holds a Delta table; pass --overwrite to replace it (it is deleted first)"))
        }
        (true, false) => Err(refuse(
            "already holds Parquet files; pass --overwrite to replace them (they are deleted first)",
        )),
        (false, _) => Err(refuse(
            "is a directory that holds other files than a Delta table or Parquet output; \
             choose an empty or new directory (--overwrite never deletes it)",
        )),
    }
}

impl Target {
    /// Writes `rows` in `format` in `parts` parallel parts (at least one file per
    /// [`FILE_ROWS`]), deleting a previous output first if [`check`] found one. With `key`
    /// every file is encrypted (AES-256-GCM) and a Delta table records it in its
    /// configuration, its log without column statistics.
    pub fn write(
        self,
        format: OutputFormat,
        rows: Vec<QualityRow>,
        parts: usize,
        key: Option<&TableKey>,
    ) -> Result<Written, BatchError> {
        let schema = output_arrow_schema()?;
        let ranges = split(rows.len(), parts);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(parts.max(1))
            .enable_all()
            .build()
            .map_err(BatchError::Runtime)?;
        let Some(path) = self.location.local_path() else {
            let store = location::object_store(&self.location, &self.storage)?;
            if self.replace {
                runtime.block_on(location::delete_all(store.as_ref(), &self.location))?;
                tracing::info!(output = %self.location, "deleted the previous output (--overwrite)");
            }
            let mut written = match format {
                OutputFormat::Delta => {
                    let url = table_url(&self.location)?;
                    let name = self.location.name().unwrap_or_else(|| "quality".into());
                    let rows = Arc::new(rows);
                    runtime.block_on(write_delta(url, name, &self.storage, schema, rows, ranges, key))?
                }
                OutputFormat::Parquet => runtime.block_on(write_parquet_to_store(
                    store,
                    &self.location,
                    schema,
                    Arc::new(rows),
                    ranges,
                    key,
                ))?,
            };
            written.location = self.location.to_string();
            return Ok(written);
        };
        if self.replace {
            std::fs::remove_dir_all(path)
                .map_err(|source| BatchError::Output { path: path.into(), source })?;
            tracing::info!(output = %path.display(), "deleted the previous output (--overwrite)");
        }
        std::fs::create_dir_all(path).map_err(|source| BatchError::Output { path: path.into(), source })?;
        let dir = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut written = match format {
            OutputFormat::Delta => {
                let url = table_url(&Location::Local(dir.clone()))?;
                let name =
                    dir.file_name().map_or_else(|| "quality".into(), |n| n.to_string_lossy().into_owned());
                runtime.block_on(write_delta(
                    url,
                    name,
                    &self.storage,
                    schema,
                    Arc::new(rows),
                    ranges,
                    key,
                ))?
            }
            OutputFormat::Parquet => write_parquet(&dir, &schema, &rows, &ranges, parts, key)?,
        };
        written.location = dir.display().to_string();
        Ok(written)
    }
}

/// The table URL of a location, as deltalake normalizes it.
fn table_url(location: &Location) -> Result<Url, BatchError> {
    ensure_table_uri(location.table_uri())
        .map_err(|source| BatchError::Delta { url: location.to_string(), source: Box::new(source) })
}

/// `len` rows as consecutive ranges: `parts` of them, or more so that none exceeds
/// [`FILE_ROWS`]; one empty range for no rows (an empty file still carries the schema).
fn split(len: usize, parts: usize) -> Vec<Range<usize>> {
    let count = parts.max(1).max(len.div_ceil(FILE_ROWS)).min(len.max(1));
    let (base, extra) = (len / count, len % count);
    let mut start = 0;
    (0..count)
        .map(|i| {
            let end = start + base + usize::from(i < extra);
            let range = start..end;
            start = end;
            range
        })
        .collect()
}

/// Writes `part-NNNNN.parquet` per range on up to `parts` threads, then `_SUCCESS`.
fn write_parquet(
    dir: &Path,
    schema: &SchemaRef,
    rows: &[QualityRow],
    ranges: &[Range<usize>],
    parts: usize,
    key: Option<&TableKey>,
) -> Result<Written, BatchError> {
    let threads = parts.clamp(1, ranges.len());
    let results: Vec<Result<(usize, u64), BatchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> Result<(usize, u64), BatchError> {
                    let (mut files, mut bytes) = (0, 0);
                    for (i, range) in ranges.iter().enumerate().skip(t).step_by(threads) {
                        let path = dir.join(format!("part-{i:05}.parquet"));
                        bytes += write_parquet_file(&path, schema, &rows[range.clone()], key)?;
                        files += 1;
                    }
                    Ok((files, bytes))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(BatchError::Internal("a Parquet writer thread panicked".into())))
            })
            .collect()
    });
    let (mut files, mut bytes) = (0, 0);
    for result in results {
        let (f, b) = result?;
        files += f;
        bytes += b;
    }
    let success = dir.join("_SUCCESS");
    File::create(&success).map_err(|source| BatchError::Output { path: success, source })?;
    Ok(Written { location: String::new(), format: OutputFormat::Parquet, files, bytes, version: None })
}

/// Writes one Parquet file of `rows`, in batches of [`BATCH_ROWS`]; returns its size.
fn write_parquet_file(
    path: &Path,
    schema: &SchemaRef,
    rows: &[QualityRow],
    key: Option<&TableKey>,
) -> Result<u64, BatchError> {
    let parquet_error = |source| BatchError::ParquetWrite { path: path.display().to_string(), source };
    let file = File::create(path).map_err(|source| BatchError::Output { path: path.into(), source })?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(writer_properties(key)?)).map_err(parquet_error)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        writer.write(&rows_to_batch(schema, chunk)?).map_err(parquet_error)?;
    }
    writer.close().map_err(parquet_error)?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| BatchError::Output { path: path.into(), source })
}

/// Writes `part-NNNNN.parquet` per range to `store` (the output location's root) as
/// concurrent tasks, each uploading as it encodes, then an empty `_SUCCESS`.
async fn write_parquet_to_store(
    store: Arc<dyn ObjectStore>,
    location: &Location,
    schema: SchemaRef,
    rows: Arc<Vec<QualityRow>>,
    ranges: Vec<Range<usize>>,
    key: Option<&TableKey>,
) -> Result<Written, BatchError> {
    let properties = writer_properties(key)?;
    let mut tasks = Vec::new();
    for (i, range) in ranges.into_iter().enumerate() {
        let name = format!("part-{i:05}.parquet");
        let file = location.join(&name).to_string();
        let (store, schema, rows, properties) =
            (store.clone(), schema.clone(), rows.clone(), properties.clone());
        tasks.push(tokio::spawn(async move {
            let path = ObjectPath::from(name);
            let parquet_error = |source| BatchError::ParquetWrite { path: file.clone(), source };
            let sink = BufWriter::new(store.clone(), path.clone());
            let mut writer =
                AsyncArrowWriter::try_new(sink, schema.clone(), Some(properties)).map_err(parquet_error)?;
            for chunk in rows[range].chunks(BATCH_ROWS) {
                writer.write(&rows_to_batch(&schema, chunk)?).await.map_err(parquet_error)?;
            }
            writer.close().await.map_err(parquet_error)?;
            let meta = store
                .head(&path)
                .await
                .map_err(|source| BatchError::Store { location: file.clone(), source: Box::new(source) })?;
            Ok::<u64, BatchError>(meta.size)
        }));
    }
    let (mut files, mut bytes) = (0, 0);
    for task in tasks {
        bytes +=
            task.await.map_err(|e| BatchError::Internal(format!("a Parquet writer task failed: {e}")))??;
        files += 1;
    }
    let success = location.join("_SUCCESS").to_string();
    store
        .put(&ObjectPath::from("_SUCCESS"), PutPayload::new())
        .await
        .map_err(|source| BatchError::Store { location: success, source: Box::new(source) })?;
    Ok(Written { location: String::new(), format: OutputFormat::Parquet, files, bytes, version: None })
}

/// Writes one data file per range concurrently (a task each on the runtime's threads), then
/// creates the table `name` at `url` with all of them in a single commit: the table appears
/// complete or not at all.
async fn write_delta(
    url: Url,
    name: String,
    storage: &StorageOptions,
    schema: SchemaRef,
    rows: Arc<Vec<QualityRow>>,
    ranges: Vec<Range<usize>>,
    key: Option<&TableKey>,
) -> Result<Written, BatchError> {
    let delta_error =
        |source: DeltaTableError| BatchError::Delta { url: url.to_string(), source: Box::new(source) };
    let properties = writer_properties(key)?;
    let mut tasks = Vec::new();
    for range in ranges.into_iter().filter(|r| !r.is_empty()) {
        let (rows, schema, url, options) = (rows.clone(), schema.clone(), url.clone(), storage.to_map());
        let properties = properties.clone();
        tasks.push(tokio::spawn(async move {
            let delta_error = |source: DeltaTableError| BatchError::Delta {
                url: url.to_string(),
                source: Box::new(source),
            };
            let mut writer = RecordBatchWriter::try_new(url.as_str(), schema.clone(), None, Some(options))
                .map_err(delta_error)?
                .with_writer_properties(properties);
            for chunk in rows[range].chunks(BATCH_ROWS) {
                writer.write(rows_to_batch(&schema, chunk)?).await.map_err(delta_error)?;
            }
            writer.flush().await.map_err(delta_error)
        }));
    }
    let mut adds = Vec::new();
    for task in tasks {
        let joined =
            task.await.map_err(|e| BatchError::Internal(format!("a Delta writer task failed: {e}")))?;
        adds.extend(joined?);
    }
    if key.is_some() {
        adds.iter_mut().for_each(encryption::strip_column_stats);
    }
    let (files, bytes) = (adds.len(), adds.iter().map(|a| a.size.max(0) as u64).sum());
    let table = DeltaTable::try_from_url_with_storage_options(url.clone(), storage.to_map())
        .await
        .map_err(delta_error)?;
    let table = table
        .create()
        .with_table_name(name)
        .with_comment("trustflow batch: one quality verdict per input row")
        .with_columns(output_fields()?)
        .with_configuration(key.map(encryption::table_configuration).unwrap_or_default())
        .with_raise_if_key_not_exists(false)
        .with_actions(adds.into_iter().map(Action::Add))
        .with_save_mode(SaveMode::ErrorIfExists)
        .await
        .map_err(delta_error)?;
    Ok(Written {
        location: String::new(),
        format: OutputFormat::Delta,
        files,
        bytes,
        version: table.version(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_row_in_order() {
        assert_eq!(split(0, 4), vec![0..0]);
        assert_eq!(split(3, 4), vec![0..1, 1..2, 2..3]);
        assert_eq!(split(10, 3), vec![0..4, 4..7, 7..10]);
        let big = split(FILE_ROWS * 2 + 1, 1);
        assert_eq!(big.len(), 3);
        assert_eq!(big.last().map(|r| r.end), Some(FILE_ROWS * 2 + 1));
    }

    fn check_dir(path: &Path, overwrite: bool) -> Result<Target, BatchError> {
        check(&Location::Local(path.into()), overwrite, &StorageOptions::default())
    }

    #[test]
    fn output_locations_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("new");
        assert!(!check_dir(&fresh, false).unwrap().replace);
        std::fs::create_dir_all(fresh.join("_delta_log")).unwrap();
        let refused = check_dir(&fresh, false).unwrap_err().to_string();
        assert!(
            refused.contains("already holds a Delta table") && refused.contains("--overwrite"),
            "{refused}"
        );
        assert!(check_dir(&fresh, true).unwrap().replace);
        let parquet = dir.path().join("pq");
        std::fs::create_dir_all(&parquet).unwrap();
        assert!(!check_dir(&parquet, false).unwrap().replace, "an empty directory is fine");
        std::fs::write(parquet.join("part-00000.parquet"), b"x").unwrap();
        assert!(check_dir(&parquet, false).unwrap_err().to_string().contains("Parquet files"));
        assert!(check_dir(&parquet, true).unwrap().replace);
        std::fs::write(parquet.join("notes.txt"), b"mine").unwrap();
        assert!(check_dir(&parquet, true).unwrap_err().to_string().contains("never deletes"));
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(
            check_dir(&dir.path().join("file"), true).unwrap_err().to_string().contains("not a directory")
        );
    }
}
