//! Reading where an application stands in a table without opening it for writing.

use std::collections::BTreeMap;

use deltalake::{DeltaTable, ensure_table_uri};
use futures::TryStreamExt;
use serde_json::Value;
use url::Url;

use super::error::SinkError;
use super::table::{COMMIT_INFO_KEY, find_info};
use crate::location::{StorageOptions, register_object_stores};

/// The last epoch `app_id` committed to the table at `url` and the metadata committed with
/// it, or `None` when there is no table yet or the application never committed to it.
/// Unlike [`DeltaSink::open`](super::DeltaSink::open) this never creates the table, so
/// every process of a cluster may ask.
pub async fn committed_position(
    url: &str,
    app_id: &str,
    storage: &StorageOptions,
) -> Result<Option<(u64, BTreeMap<String, Value>)>, SinkError> {
    let Some((table, table_url)) = existing(url, storage).await? else { return Ok(None) };
    let read_error = |source| SinkError::Read { url: table_url.to_string(), source: Box::new(source) };
    let snapshot = table.snapshot().map_err(read_error)?;
    let Some(version) =
        snapshot.transaction_version(table.log_store().as_ref(), app_id).await.map_err(read_error)?
    else {
        return Ok(None);
    };
    let epoch = u64::try_from(version).map_err(|_| SinkError::InvalidTxnVersion {
        url: table_url.to_string(),
        app_id: app_id.to_owned(),
        version,
    })?;
    let info = find_info(&table, app_id, epoch).await.map_err(read_error)?.unwrap_or_default();
    Ok(Some((epoch, info)))
}

/// Every commit `app_id` made to the table at `url` that the log still holds: its epoch and
/// the metadata committed with it, newest first (empty when there is no table). Reads one
/// log file per version: for runs that must replay every epoch as it was cut.
pub async fn committed_history(
    url: &str,
    app_id: &str,
    storage: &StorageOptions,
) -> Result<Vec<(u64, BTreeMap<String, Value>)>, SinkError> {
    let Some((table, table_url)) = existing(url, storage).await? else { return Ok(Vec::new()) };
    let read_error = |source| SinkError::Read { url: table_url.to_string(), source: Box::new(source) };
    let mut commits = Vec::new();
    let mut history = table.history(None);
    while let Some(commit) = history.try_next().await.map_err(read_error)? {
        let Some(marker) = commit.info.get(COMMIT_INFO_KEY) else { continue };
        if marker["appId"] != app_id {
            continue;
        }
        let (Some(epoch), Some(info)) = (marker["epoch"].as_u64(), marker["info"].as_object()) else {
            continue;
        };
        commits.push((epoch, info.clone().into_iter().collect()));
    }
    Ok(commits)
}

/// The table at `url`, loaded, with its URL, or `None` when there is none.
async fn existing(url: &str, storage: &StorageOptions) -> Result<Option<(DeltaTable, Url)>, SinkError> {
    register_object_stores();
    let table_url = ensure_table_uri(url)
        .map_err(|source| SinkError::InvalidLocation { url: url.to_string(), source: Box::new(source) })?;
    let read_error = |source| SinkError::Read { url: table_url.to_string(), source: Box::new(source) };
    let mut table = DeltaTable::try_from_url_with_storage_options(table_url.clone(), storage.to_map())
        .await
        .map_err(read_error)?;
    if !table.verify_deltatable_existence().await.map_err(read_error)? {
        return Ok(None);
    }
    table.load().await.map_err(read_error)?;
    Ok(Some((table, table_url)))
}
