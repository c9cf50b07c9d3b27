//! The snapshot table: a changelog's current state (inserts minus deletes), rewritten in one commit.

use std::time::{SystemTime, UNIX_EPOCH};

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TableReference};
use deltalake::kernel::{Action, StructField, Transaction};
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::table::config::TablePropertiesExt;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, Path, ensure_table_uri};
use futures::TryStreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use super::consolidate::Consolidator;
use super::error::MaintainError;
use super::open::{AsOf, arrow_schema, conform, loaded_version, open, read_stream, unloaded};
use crate::location::{Location, StorageOptions};
use crate::sink::columns::{CHANGE_TYPE, EPOCH};
use crate::sink::encryption::{self, TableKey};
use crate::sink::table::{COMMIT_INFO_KEY, create, schema_difference, writer_properties};

/// The `txn` app id of snapshot commits, followed by the changelog table's id (so a
/// changelog recreated at the same place is not mistaken for the old one).
pub const SNAPSHOT_APP_PREFIX: &str = "trustflow-snapshot-";

/// Rows per batch handed to the writer.
const BATCH_ROWS: usize = 64 * 1024;
/// Commits between the snapshot's and the changelog's version read to decide that no data
/// changed (compactions, vacuums); beyond that the snapshot is rebuilt without looking.
const SCAN_LIMIT: i64 = 1000;

/// What a snapshot call did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotOutcome {
    /// The changelog table.
    pub changelog: String,
    /// The snapshot table.
    pub snapshot: String,
    /// The changelog version whose state the snapshot holds now.
    pub source_version: i64,
    /// The snapshot table's version afterwards.
    pub version: i64,
    /// Nothing was written: the snapshot already held the state of `source_version`
    /// (its `txn` named it, or only maintenance commits came since).
    pub up_to_date: bool,
    /// Rows in the snapshot (the consolidated count; when up to date, as its last commit
    /// recorded it).
    pub rows: u64,
    /// Files of the previous snapshot removed.
    pub files_removed: usize,
    /// Files written.
    pub files_added: usize,
}

/// Overwrites the table at `snapshot_url` (created if missing) with the current state of
/// the changelog at `changelog_url`: every distinct row of its data columns (all but
/// `_change_type` and `_epoch`) whose inserts outnumber its deletes, `n` times for a
/// surplus of `n`. One commit replaces all the snapshot's files; it carries a `txn` of
/// app id [`SNAPSHOT_APP_PREFIX`]`<changelog table id>` whose version is the changelog
/// version it reflects, and the same in `commitInfo.trustflow`. When that version is
/// already the changelog's newest, or only commits without data changes came after it,
/// nothing is written.
pub async fn snapshot(
    changelog_url: &str,
    snapshot_url: &str,
    storage: &StorageOptions,
) -> Result<SnapshotOutcome, MaintainError> {
    let (changelog, table) = open(changelog_url, storage, AsOf::Latest).await?;
    let source = changelog.to_string();
    let destination = Location::parse(snapshot_url)?;
    check_apart(&changelog, &destination)?;
    let state = table.snapshot().map_err(MaintainError::read(&source))?;
    let columns: Vec<StructField> = state.schema().fields().cloned().collect();
    if !columns.iter().any(|f| f.name() == CHANGE_TYPE) {
        let reason = format!("no `{CHANGE_TYPE}` column");
        return Err(MaintainError::NotAChangelog { url: source, reason });
    }
    if !state.metadata().partition_columns().is_empty() {
        return Err(MaintainError::Unsupported { url: source, reason: "partitioned tables".into() });
    }
    let data: Vec<StructField> =
        columns.into_iter().filter(|f| f.name() != CHANGE_TYPE && f.name() != EPOCH).collect();
    let source_version = loaded_version(&table);
    let app_id = format!("{SNAPSHOT_APP_PREFIX}{}", state.metadata().id());
    // An encrypted changelog gets an encrypted snapshot, with its key.
    let source_key = encryption::reader_key(&source, state.metadata().configuration())?;

    let target = open_or_create(&destination, storage, data.clone(), &source, source_key.as_ref()).await?;
    let name = destination.to_string();
    let target_state = target.snapshot().map_err(MaintainError::read(&name))?.clone();
    let key = encryption::writer_key(&name, target_state.metadata().configuration(), source_key.as_ref())?;
    let found: Vec<StructField> = target_state.schema().fields().cloned().collect();
    if let Some(difference) = schema_difference(&data, &found) {
        return Err(MaintainError::SnapshotSchema { url: name, difference });
    }
    let log_store = target.log_store();
    let reflected = target_state
        .transaction_version(log_store.as_ref(), &app_id)
        .await
        .map_err(MaintainError::read(&name))?;
    let mut outcome = SnapshotOutcome {
        changelog: source.clone(),
        snapshot: name.clone(),
        source_version,
        version: loaded_version(&target),
        ..SnapshotOutcome::default()
    };
    if let Some(reflected) = reflected
        && (reflected == source_version || !data_changed(&table, reflected, source_version).await)
    {
        outcome.up_to_date = true;
        outcome.rows = recorded_rows(&target).await.unwrap_or(0);
        return Ok(outcome);
    }

    let schema = arrow_schema(&table, &source)?;
    let mut consolidator = Consolidator::new(&schema)?;
    let mut batches = read_stream(&table, &source).await?;
    while let Some(batch) = batches.try_next().await.map_err(MaintainError::read(&source))? {
        consolidator.push(&conform(&batch, &schema)?).map_err(|e| e.at(&source))?;
    }
    outcome.rows = consolidator.counts().consolidated;
    let rows = consolidator.finish(BATCH_ROWS)?;

    let write_error = || MaintainError::write("writing the snapshot", &name);
    let properties = writer_properties(key.as_ref())
        .map_err(|e| write_error()(DeltaTableError::Generic(e.to_string())))?;
    let target_size = target_state.table_config().target_file_size().get();
    let mut writer = RecordBatchWriter::for_table(&target)
        .map_err(write_error())?
        .with_writer_properties(properties)
        .with_target_file_size(target_size);
    for batch in rows {
        if let Err(error) = writer.write(batch).await {
            writer.reset();
            return Err(write_error()(error));
        }
    }
    let mut adds = writer.flush().await.map_err(write_error())?;
    if key.is_some() {
        adds.iter_mut().for_each(encryption::strip_column_stats);
    }
    let mut actions = Vec::new();
    let mut files = target_state.snapshot().file_views(log_store.as_ref(), None);
    while let Some(file) = files.try_next().await.map_err(MaintainError::read(&name))? {
        actions.push(Action::Remove(file.remove_action(true)));
    }
    outcome.files_removed = actions.len();
    outcome.files_added = adds.len();
    actions.extend(adds.into_iter().map(Action::Add));

    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let marker = json!({
        "snapshotOf": source,
        "sourceVersion": source_version,
        "sourceTableId": state.metadata().id(),
        "rows": outcome.rows,
    });
    let properties = CommitProperties::default()
        .with_application_transaction(Transaction::new_with_last_update(
            &app_id,
            source_version,
            Some(now_ms),
        ))
        .with_metadata([(COMMIT_INFO_KEY.to_owned(), marker)]);
    let operation = DeltaOperation::Write { mode: SaveMode::Overwrite, partition_by: None, predicate: None };
    let finalized = CommitBuilder::from(properties)
        .with_actions(actions)
        .build(Some(&target_state as &dyn TableReference), log_store, operation)
        .await
        .map_err(write_error())?;
    outcome.version = i64::try_from(finalized.version).unwrap_or(i64::MAX);
    Ok(outcome)
}

/// The snapshot table, loaded, or created with the data columns (encrypted with `key`, if
/// given) if nothing is there.
async fn open_or_create(
    location: &Location,
    storage: &StorageOptions,
    fields: Vec<StructField>,
    source: &str,
    key: Option<&TableKey>,
) -> Result<DeltaTable, MaintainError> {
    let name = location.to_string();
    if let Some(mut table) = unloaded(location, storage).await? {
        table.load().await.map_err(MaintainError::read(&name))?;
        return Ok(table);
    }
    let url = ensure_table_uri(location.table_uri()).map_err(MaintainError::write("creating", &name))?;
    let table = DeltaTable::try_from_url_with_storage_options(url.clone(), storage.to_map())
        .await
        .map_err(MaintainError::write("creating", &name))?;
    let comment = format!(
        "trustflow snapshot: the current state (inserts minus deletes) of the changelog {source}, \
         rewritten whole by each snapshot commit"
    );
    create(&table, &url, fields, &comment, key).await.map_err(MaintainError::write("creating", &name))
}

/// The row count the snapshot table's newest commit recorded, if it is a snapshot commit.
async fn recorded_rows(table: &DeltaTable) -> Option<u64> {
    let newest = table.history(Some(1)).try_next().await.ok()??;
    newest.info.get(COMMIT_INFO_KEY)?.get("rows")?.as_u64()
}

/// Refuses a snapshot inside the changelog's directory or the other way round (a vacuum of
/// one would delete the other's files).
fn check_apart(changelog: &Location, snapshot: &Location) -> Result<(), MaintainError> {
    let key = |location: &Location| match location {
        Location::Local(path) => std::path::absolute(path)
            .map(|p| p.components().collect::<std::path::PathBuf>().to_string_lossy().into_owned())
            .unwrap_or_else(|_| path.to_string_lossy().into_owned()),
        Location::Azure(url) => url.to_string(),
    };
    let (a, b) = (key(changelog), key(snapshot));
    let inside = |inner: &str, outer: &str| inner.starts_with(&format!("{}/", outer.trim_end_matches('/')));
    if a == b || inside(&a, &b) || inside(&b, &a) {
        return Err(MaintainError::Overlap {
            changelog: changelog.to_string(),
            snapshot: snapshot.to_string(),
        });
    }
    Ok(())
}

/// Whether any commit after `from` up to `to` adds or removes data (`dataChange` not
/// false) or changes the schema. Unreadable commits (cleaned up) and long gaps count as
/// changes: the caller then rebuilds, which is always correct.
async fn data_changed(table: &DeltaTable, from: i64, to: i64) -> bool {
    if from > to || to - from > SCAN_LIMIT {
        return true;
    }
    let store = table.log_store().object_store(None);
    for version in from + 1..=to {
        let path = Path::from(format!("_delta_log/{version:020}.json"));
        let Ok(bytes) = async { store.get(&path).await?.bytes().await }.await else { return true };
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
            let Ok(action) = serde_json::from_slice::<Value>(line) else { return true };
            let changes_data =
                |kind: &str| action.get(kind).is_some_and(|a| a["dataChange"] != Value::Bool(false));
            if changes_data("add") || changes_data("remove") || action.get("metaData").is_some() {
                return true;
            }
        }
    }
    false
}
