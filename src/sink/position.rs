//! Reading where an application stands in a table without opening it for writing.

use std::collections::BTreeMap;

use deltalake::{DeltaTable, ensure_table_uri};
use serde_json::Value;

use super::error::SinkError;
use super::table::find_info;
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
    register_object_stores();
    let table_url = ensure_table_uri(url)
        .map_err(|source| SinkError::InvalidLocation { url: url.to_string(), source: Box::new(source) })?;
    let read_error = |source| SinkError::Read { url: table_url.to_string(), source: Box::new(source) };
    let mut table = DeltaTable::try_from_url_with_storage_options(table_url.clone(), storage.to_map())
        .await
        .map_err(read_error)?;
    if table.verify_deltatable_existence().await.map_err(read_error)? {
        table.load().await.map_err(read_error)?;
    } else {
        return Ok(None);
    }
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
