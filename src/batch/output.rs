//! The output: a new Delta table in one commit, or Parquet files, written in parallel parts.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::kernel::Action;
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, ensure_table_uri};
use serde::Serialize;

use super::error::BatchError;
use crate::dataflow::quality::QualityRow;
use crate::sink::columns::{output_arrow_schema, output_fields};
use crate::sink::encode::rows_to_batch;
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
    path: PathBuf,
    replace: bool,
}

/// Checks that `path` can receive the output: it is absent or an empty directory, or, with
/// `overwrite`, a previous output (a Delta table, or only Parquet files) that will be deleted
/// just before writing. Anything else is refused, `--overwrite` or not.
pub fn check(path: &Path, overwrite: bool) -> Result<Target, BatchError> {
    let refuse = |reason: &str| BatchError::OutputExists { path: path.into(), reason: reason.into() };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target { path: path.into(), replace: false });
        }
        Err(_) if path.exists() => return Err(refuse("exists and is not a directory")),
        Err(source) => return Err(BatchError::Output { path: path.into(), source }),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| BatchError::Output { path: path.into(), source })?;
        names.push((entry.file_name().to_string_lossy().into_owned(), entry.path().is_dir()));
    }
    if names.is_empty() {
        return Ok(Target { path: path.into(), replace: false });
    }
    let table = names.iter().any(|(name, dir)| name == "_delta_log" && *dir);
    let parquet = names.iter().all(|(name, dir)| {
        !dir && (name.ends_with(".parquet") || name.ends_with(".crc") || name == "_SUCCESS")
    });
    match (table || parquet, overwrite) {
        (true, true) => Ok(Target { path: path.into(), replace: true }),
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
    /// [`FILE_ROWS`]), deleting a previous output first if [`check`] found one.
    pub fn write(
        self,
        format: OutputFormat,
        rows: Vec<QualityRow>,
        parts: usize,
    ) -> Result<Written, BatchError> {
        if self.replace {
            std::fs::remove_dir_all(&self.path)
                .map_err(|source| BatchError::Output { path: self.path.clone(), source })?;
            tracing::info!(output = %self.path.display(), "deleted the previous output (--overwrite)");
        }
        std::fs::create_dir_all(&self.path)
            .map_err(|source| BatchError::Output { path: self.path.clone(), source })?;
        let location = std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let schema = output_arrow_schema()?;
        let ranges = split(rows.len(), parts);
        let mut written = match format {
            OutputFormat::Delta => write_delta(&location, schema, Arc::new(rows), ranges, parts)?,
            OutputFormat::Parquet => write_parquet(&location, &schema, &rows, &ranges, parts)?,
        };
        written.location = location.display().to_string();
        Ok(written)
    }
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
) -> Result<Written, BatchError> {
    let threads = parts.clamp(1, ranges.len());
    let results: Vec<Result<(usize, u64), BatchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> Result<(usize, u64), BatchError> {
                    let (mut files, mut bytes) = (0, 0);
                    for (i, range) in ranges.iter().enumerate().skip(t).step_by(threads) {
                        let path = dir.join(format!("part-{i:05}.parquet"));
                        bytes += write_parquet_file(&path, schema, &rows[range.clone()])?;
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
fn write_parquet_file(path: &Path, schema: &SchemaRef, rows: &[QualityRow]) -> Result<u64, BatchError> {
    let parquet_error = |source| BatchError::ParquetWrite { path: path.into(), source };
    let file = File::create(path).map_err(|source| BatchError::Output { path: path.into(), source })?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(writer_properties()?)).map_err(parquet_error)?;
    for chunk in rows.chunks(BATCH_ROWS) {
        writer.write(&rows_to_batch(schema, chunk)?).map_err(parquet_error)?;
    }
    writer.close().map_err(parquet_error)?;
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| BatchError::Output { path: path.into(), source })
}

/// Writes one data file per range concurrently (a task each on `parts` threads), then creates
/// the table with all of them in a single commit: the table appears complete or not at all.
fn write_delta(
    dir: &Path,
    schema: SchemaRef,
    rows: Arc<Vec<QualityRow>>,
    ranges: Vec<Range<usize>>,
    parts: usize,
) -> Result<Written, BatchError> {
    let url = ensure_table_uri(dir.to_string_lossy())
        .map_err(|source| BatchError::Delta { url: dir.display().to_string(), source: Box::new(source) })?;
    let delta_error =
        |source: DeltaTableError| BatchError::Delta { url: url.to_string(), source: Box::new(source) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(parts.max(1))
        .enable_all()
        .build()
        .map_err(BatchError::Runtime)?;
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for range in ranges.into_iter().filter(|r| !r.is_empty()) {
            let (rows, schema, url) = (rows.clone(), schema.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let delta_error = |source: DeltaTableError| BatchError::Delta {
                    url: url.to_string(),
                    source: Box::new(source),
                };
                let mut writer = RecordBatchWriter::try_new(url.as_str(), schema.clone(), None, None)
                    .map_err(delta_error)?
                    .with_writer_properties(writer_properties()?);
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
        let (files, bytes) = (adds.len(), adds.iter().map(|a| a.size.max(0) as u64).sum());
        let name = dir.file_name().map_or_else(|| "quality".into(), |n| n.to_string_lossy().into_owned());
        let table = DeltaTable::try_from_url(url.clone()).await.map_err(delta_error)?;
        let table = table
            .create()
            .with_table_name(name)
            .with_comment("trustflow batch: one quality verdict per input row")
            .with_columns(output_fields()?)
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

    #[test]
    fn output_locations_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("new");
        assert!(!check(&fresh, false).unwrap().replace);
        std::fs::create_dir_all(fresh.join("_delta_log")).unwrap();
        let refused = check(&fresh, false).unwrap_err().to_string();
        assert!(
            refused.contains("already holds a Delta table") && refused.contains("--overwrite"),
            "{refused}"
        );
        assert!(check(&fresh, true).unwrap().replace);
        let parquet = dir.path().join("pq");
        std::fs::create_dir_all(&parquet).unwrap();
        assert!(!check(&parquet, false).unwrap().replace, "an empty directory is fine");
        std::fs::write(parquet.join("part-00000.parquet"), b"x").unwrap();
        assert!(check(&parquet, false).unwrap_err().to_string().contains("Parquet files"));
        assert!(check(&parquet, true).unwrap().replace);
        std::fs::write(parquet.join("notes.txt"), b"mine").unwrap();
        assert!(check(&parquet, true).unwrap_err().to_string().contains("never deletes"));
        std::fs::write(dir.path().join("file"), b"x").unwrap();
        assert!(check(&dir.path().join("file"), true).unwrap_err().to_string().contains("not a directory"));
    }
}
