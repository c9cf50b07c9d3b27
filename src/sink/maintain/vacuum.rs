//! Vacuum (deleting unreferenced data files) and log checkpoints with expired-log cleanup.

use std::time::Duration;

use deltalake::checkpoints::{cleanup_metadata, create_checkpoint};
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, Path};
use serde::Serialize;

use super::error::MaintainError;
use super::open::{AsOf, loaded_version, open};
use crate::location::StorageOptions;

/// How to vacuum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VacuumOptions {
    /// Keep unreferenced files younger than this (default: the table's
    /// `delta.deletedFileRetentionDuration`, 7 days unless set).
    pub retention: Option<Duration>,
    /// Only list what would be deleted.
    pub dry_run: bool,
    /// Accept a retention below the table's `delta.deletedFileRetentionDuration`: readers
    /// of older versions, time travel, and a writer whose commit is in flight may still need
    /// those files.
    pub allow_short_retention: bool,
}

/// What a vacuum deleted (or, dry, would delete).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VacuumOutcome {
    /// The table.
    pub url: String,
    /// The table's version afterwards (a vacuum that deletes commits `VACUUM START/END`).
    pub version: i64,
    /// The retention applied, in seconds.
    pub retention_secs: u64,
    /// Whether nothing was deleted because it was a dry run.
    pub dry_run: bool,
    /// The files deleted (or that would be), relative to the table.
    pub files: Vec<String>,
}

/// Deletes the table's data files that no version within `retention` references: files
/// replaced by a compaction or a snapshot overwrite, and files a failed commit left behind
/// (deltalake's `FULL` vacuum), once older than the retention. A retention below the
/// table's minimum is refused unless [`VacuumOptions::allow_short_retention`].
pub async fn vacuum(
    url: &str,
    storage: &StorageOptions,
    options: &VacuumOptions,
) -> Result<VacuumOutcome, MaintainError> {
    let (location, table) = open(url, storage, AsOf::Latest).await?;
    let name = location.to_string();
    let minimum = table
        .snapshot()
        .map_err(MaintainError::read(&name))?
        .table_config()
        .deleted_file_retention_duration();
    let retention = options.retention.unwrap_or(minimum);
    if retention < minimum && !options.allow_short_retention {
        return Err(MaintainError::RetentionTooShort {
            requested: humantime::format_duration(retention).to_string(),
            minimum: humantime::format_duration(minimum).to_string(),
        });
    }
    let period = chrono::Duration::from_std(retention).map_err(|_| MaintainError::RetentionTooShort {
        requested: humantime::format_duration(retention).to_string(),
        minimum: "(a retention that fits in chrono's range)".into(),
    })?;
    let (table, metrics) = table
        .vacuum()
        .with_retention_period(period)
        .with_enforce_retention_duration(false)
        .with_mode(VacuumMode::Full)
        .with_dry_run(options.dry_run)
        .await
        .map_err(MaintainError::write("vacuuming", &name))?;
    let mut files = metrics.files_deleted;
    files.sort();
    Ok(VacuumOutcome {
        url: name,
        version: loaded_version(&table),
        retention_secs: retention.as_secs(),
        dry_run: options.dry_run,
        files,
    })
}

/// What a checkpoint call did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckpointOutcome {
    /// The table.
    pub url: String,
    /// The version checkpointed (the newest).
    pub version: i64,
    /// Whether a checkpoint was written (not when the newest version already had one).
    pub created: bool,
    /// Commit files older than the table's `delta.logRetentionDuration` (30 days unless
    /// set) and before the newest checkpoint that were removed (0 when
    /// `delta.enableExpiredLogCleanup` is false).
    pub expired_logs_removed: usize,
}

/// Writes a checkpoint of the newest version (a Parquet file of every live action, and
/// `_last_checkpoint`), so that opening the table reads it and only the commits after it,
/// then removes expired commit files as the table's settings say. The pipeline's commits
/// already checkpoint every `delta.checkpointInterval` (100) versions; this is for other
/// writers' tables, or to checkpoint now.
pub async fn checkpoint(url: &str, storage: &StorageOptions) -> Result<CheckpointOutcome, MaintainError> {
    let (location, table) = open(url, storage, AsOf::Latest).await?;
    let name = location.to_string();
    let version = loaded_version(&table);
    let created = last_checkpoint(&table).await != Some(version);
    if created {
        create_checkpoint(&table, None).await.map_err(MaintainError::write("checkpointing", &name))?;
    }
    let cleanup =
        table.snapshot().map_err(MaintainError::read(&name))?.table_config().enable_expired_log_cleanup();
    let expired_logs_removed = if cleanup {
        cleanup_metadata(&table, None).await.map_err(MaintainError::write("cleaning the log of", &name))?
    } else {
        0
    };
    Ok(CheckpointOutcome { url: name, version, created, expired_logs_removed })
}

/// The version `_delta_log/_last_checkpoint` names, if it can be read.
pub(crate) async fn last_checkpoint(table: &DeltaTable) -> Option<i64> {
    let store = table.log_store().object_store(None);
    let bytes = store.get(&Path::from("_delta_log/_last_checkpoint")).await.ok()?.bytes().await.ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["version"].as_i64()
}
