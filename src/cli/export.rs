//! `trustflow export`: a table's rows written to a local file (JSON lines or Parquet), under
//! access control with `--role` (action `export`, issue 7, item 6), and its printout.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::json::WriterBuilder;
use arrow::json::writer::LineDelimited;
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::WriterProperties;
use serde_json::json;

use super::access::{AccessError, AccessNote, AccessPlan, as_of_filter};
use super::governance_args::{ExportArgs, ExportFormat};
use super::masking::Masked;
use super::plan::PlanError;
use super::render::{access_json, bytes, write_access};
use super::tables::as_of;
use crate::governance::policy::AccessAction;
use crate::location::{Location, StorageOptions};
use crate::sink::maintain::{self, AsOf, Consolidator, MaintainError};

/// Rows per batch of the consolidated state.
const BATCH_ROWS: usize = 64 * 1024;

/// What `trustflow export` will do.
#[derive(Debug)]
pub struct ExportPlan {
    /// The table.
    pub table: Location,
    /// Its object store settings.
    pub storage: StorageOptions,
    /// Which version.
    pub as_of: AsOf,
    /// The stored change rows rather than the consolidated state.
    pub changes: bool,
    /// The file format.
    pub format: ExportFormat,
    /// The file.
    pub to: PathBuf,
    /// Replace an existing file.
    pub overwrite: bool,
    /// The summary as JSON.
    pub json: bool,
    /// Access control and audit (`--role`), if asked for.
    pub access: Option<AccessPlan>,
}

impl ExportPlan {
    /// Validates `args`.
    pub fn from_args(args: ExportArgs) -> Result<ExportPlan, PlanError> {
        let table = Location::parse(&args.table).map_err(|e| PlanError::new(format!("TABLE: {e}")))?;
        let to_text = args.to.to_string_lossy();
        if matches!(Location::parse(&to_text), Ok(Location::Azure(_))) {
            return Err(PlanError::new(format!("--to {to_text}: exports are written to local files")));
        }
        if args.to.is_dir() {
            return Err(PlanError::new(format!("--to {to_text}: is a directory; name the file to write")));
        }
        let format = args.format.unwrap_or_else(|| {
            let parquet = args.to.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
            if parquet { ExportFormat::Parquet } else { ExportFormat::Jsonl }
        });
        Ok(ExportPlan {
            access: AccessPlan::from_access_args(&table, &args.access)?,
            storage: table.storage_from_env(),
            as_of: as_of(args.version, args.as_of.as_deref())?,
            table,
            changes: args.changes,
            format,
            to: args.to,
            overwrite: args.overwrite,
            json: args.json,
        })
    }

    /// The export as the audit's `filter`.
    fn filter(&self) -> serde_json::Value {
        json!({
            "as_of": as_of_filter(self.as_of), "consolidated": !self.changes,
            "format": format_name(self.format), "to": self.to.display().to_string(),
        })
    }
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportReport {
    /// The table read.
    pub table: String,
    /// The version exported.
    pub version: i64,
    /// Rows written.
    pub rows: usize,
    /// Consolidated state (true) or stored changes.
    pub consolidated: bool,
    /// The format.
    pub format: ExportFormat,
    /// The file written.
    pub to: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// With `--role`: the decision, what was masked, where it was audited.
    pub access: Option<AccessNote>,
}

/// What can go wrong exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the table failed.
    #[error(transparent)]
    Read(#[from] MaintainError),
    /// Refused by the policies, or the audit or masking failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The file is there already.
    #[error("{path} exists: pass --overwrite to replace it")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Writing the file failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl ExportError {
    /// Whether the policies refused the export.
    pub fn is_denied(&self) -> bool {
        matches!(self, ExportError::Access(e) if e.is_denied())
    }

    /// Whether trying again later may succeed (the store was unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ExportError::Read(e) if e.is_retryable())
    }
}

/// Exports as the plan says, at `at_ms` for the access decision: with a role, the export is
/// decided first (denied: audited, nothing read or written); the rows are read, masked for
/// an `allow_masked` decision, written to a temporary file beside `--to`, audited, and only
/// then renamed to `--to`, so that no exported file exists without its audit record.
pub async fn run_export(plan: &ExportPlan, at_ms: i64) -> Result<ExportReport, ExportError> {
    if !plan.overwrite && plan.to.exists() {
        return Err(ExportError::Exists { path: plan.to.clone() });
    }
    let guard = match &plan.access {
        Some(access) => Some(access.begin(AccessAction::Export, &plan.table, plan.filter(), at_ms)?),
        None => None,
    };
    let table = maintain::read_at(&plan.table.table_uri(), &plan.storage, plan.as_of).await?;
    let (schema, rows) = if plan.changes {
        (table.schema.clone(), table.batches)
    } else {
        let mut consolidator = Consolidator::new(&table.schema)?;
        for batch in &table.batches {
            consolidator.push(batch).map_err(|e| e.at(&table.url))?;
        }
        (consolidator.output_schema().clone(), consolidator.finish(BATCH_ROWS)?)
    };
    let (rows, masked) = match &guard {
        Some(guard) => guard.mask(rows)?,
        None => (rows, Masked::default()),
    };
    let count: usize = rows.iter().map(RecordBatch::num_rows).sum();
    let temporary = temporary_path(&plan.to);
    let written = write_file(&temporary, plan.format, &schema, &rows);
    let concluded = match (written, guard) {
        (Err(error), _) => Err(ExportError::Write { path: plan.to.clone(), reason: error.to_string() }),
        (Ok(()), Some(guard)) => {
            guard.conclude(table.version, count, masked).map(Some).map_err(ExportError::from)
        }
        (Ok(()), None) => Ok(None),
    };
    let access = match concluded {
        Ok(access) => access,
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
    };
    let write_error = |e: io::Error| ExportError::Write { path: plan.to.clone(), reason: e.to_string() };
    std::fs::rename(&temporary, &plan.to).map_err(write_error)?;
    let bytes = std::fs::metadata(&plan.to).map_err(write_error)?.len();
    tracing::info!(table = %table.url, rows = count, to = %plan.to.display(), "exported");
    Ok(ExportReport {
        table: table.url,
        version: table.version,
        rows: count,
        consolidated: !plan.changes,
        format: plan.format,
        to: plan.to.clone(),
        bytes,
        access,
    })
}

/// `.NAME.export-PID` beside `path`.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.export-{}", std::process::id()))
}

/// Writes `rows` (of `schema`) to `path` in `format`, flushed to disk.
fn write_file(path: &Path, format: ExportFormat, schema: &SchemaRef, rows: &[RecordBatch]) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = File::create(path)?;
    let file = match format {
        ExportFormat::Jsonl => {
            let mut writer = WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, LineDelimited>(BufWriter::new(file));
            for batch in rows {
                writer.write(batch).map_err(io::Error::other)?;
            }
            writer.finish().map_err(io::Error::other)?;
            writer.into_inner().into_inner().map_err(|e| e.into_error())?
        }
        ExportFormat::Parquet => {
            let level = ZstdLevel::try_new(1).map_err(io::Error::other)?;
            let properties = WriterProperties::builder()
                .set_compression(Compression::ZSTD(level))
                .set_created_by(format!("trustflow {} export", env!("CARGO_PKG_VERSION")))
                .build();
            let mut writer =
                ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(io::Error::other)?;
            for batch in rows {
                writer.write(batch).map_err(io::Error::other)?;
            }
            writer.into_inner().map_err(io::Error::other)?
        }
    };
    file.sync_all()
}

/// The format's name, as the flag spells it.
fn format_name(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Jsonl => "jsonl",
        ExportFormat::Parquet => "parquet",
    }
}

/// Writes what `export` did: sentences, or one JSON object.
pub fn write_export(out: &mut dyn Write, report: &ExportReport, json: bool) -> io::Result<()> {
    if json {
        let mut summary = json!({
            "table": report.table, "version": report.version, "rows": report.rows,
            "consolidated": report.consolidated, "format": format_name(report.format),
            "to": report.to.display().to_string(), "bytes": report.bytes,
        });
        if let Some(access) = &report.access {
            summary["access"] = access_json(access);
        }
        return writeln!(out, "{summary}");
    }
    let what = if report.consolidated { "consolidated rows" } else { "change rows" };
    writeln!(out, "table         {}", report.table)?;
    writeln!(out, "version       {}", report.version)?;
    writeln!(
        out,
        "exported      {} {what} to {} ({}, {})",
        report.rows,
        report.to.display(),
        format_name(report.format),
        bytes(report.bytes)
    )?;
    if let Some(access) = &report.access {
        write_access(out, access)?;
    }
    Ok(())
}
