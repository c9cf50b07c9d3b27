//! The exactly-once Delta changelog sink: one Delta commit, with a `txn` action, per epoch.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::kernel::transaction::{
    CommitBuilder, CommitConflictError, CommitProperties, TableReference, TransactionError,
};
use deltalake::kernel::{Action, StructField, Transaction};
use deltalake::logstore::LogStoreRef;
use deltalake::logstore::object_store::ObjectStoreExt;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::table::config::TablePropertiesExt;
use deltalake::table::state::DeltaTableState;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, ensure_table_uri};
use futures::TryStreamExt;
use serde_json::{Value, json};
use url::Url;

use super::changelog::{ChangeTable, QualityChanges};
use super::decode::{ChangeRow, batch_to_changes};
use super::encryption::{self, TableKey};
use super::error::SinkError;
use super::table::{COMMIT_INFO_KEY, create, find_info, schema_difference, writer_properties};
use crate::location::{StorageOptions, register_object_stores};

/// What one epoch's commit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The table version the commit created.
    pub version: i64,
    /// Rows written (inserts plus deletes).
    pub rows: usize,
    /// Parquet files added (0 for an epoch without changes).
    pub files: usize,
}

/// The sink of the main table, the quality verdicts.
pub type QualitySink = DeltaSink<QualityChanges>;

/// An append-only Delta table of quality changes, written exactly once per epoch.
///
/// Every [`commit_epoch`](DeltaSink::commit_epoch) writes the epoch's rows as Parquet files
/// and commits them in one Delta transaction carrying a `txn` action `(app_id, epoch)` and,
/// in `commitInfo`, the caller's metadata (source offsets). The log is thus the sink's
/// durable position: [`last_committed_epoch`](DeltaSink::last_committed_epoch) and
/// [`last_commit_info`](DeltaSink::last_commit_info) say where to resume after a crash.
pub struct DeltaSink<T: ChangeTable = QualityChanges> {
    url: Url,
    app_id: String,
    log_store: LogStoreRef,
    state: DeltaTableState,
    writer: RecordBatchWriter,
    schema: SchemaRef,
    last_epoch: Option<u64>,
    last_info: Option<BTreeMap<String, Value>>,
    /// A commit failed, maybe after landing: re-read the log before the next one.
    stale: bool,
    /// The table is encrypted: its files are, and their adds carry no column statistics.
    encrypted: bool,
    kind: PhantomData<T>,
}

impl<T: ChangeTable> std::fmt::Debug for DeltaSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeltaSink")
            .field("url", &self.url.as_str())
            .field("app_id", &self.app_id)
            .field("version", &self.state.version())
            .field("last_epoch", &self.last_epoch)
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl<T: ChangeTable> DeltaSink<T> {
    /// Opens the changelog table at `url` (a local path, created if missing, or a URL such as
    /// `file:///..` or `az://..`), creating it if it has no log yet, for application `app_id`.
    /// An existing table must have exactly the changelog schema. Object store settings come
    /// from the environment (deltalake reads `AZURE_*` itself); see
    /// [`open_with_storage`](Self::open_with_storage) to pass them.
    pub async fn open(url: &str, app_id: &str) -> Result<DeltaSink<T>, SinkError> {
        Self::open_with_storage(url, app_id, &StorageOptions::default()).await
    }

    /// [`open`](Self::open) with object store settings (credentials) for a URL table; the
    /// environment fills in what `storage` leaves out.
    pub async fn open_with_storage(
        url: &str,
        app_id: &str,
        storage: &StorageOptions,
    ) -> Result<DeltaSink<T>, SinkError> {
        Self::open_with_key(url, app_id, storage, None).await
    }

    /// [`open_with_storage`](Self::open_with_storage) under `encryption_required` when `key`
    /// is given: a new table is created encrypted with it, an encrypted table must have been
    /// encrypted with it, and a plaintext table is refused. Without `key`, an encrypted table
    /// is written encrypted with its own key (from the keyring or the variable it names) or
    /// refused: never with plaintext files ([`encryption::writer_key`]).
    pub async fn open_with_key(
        url: &str,
        app_id: &str,
        storage: &StorageOptions,
        key: Option<&TableKey>,
    ) -> Result<DeltaSink<T>, SinkError> {
        register_object_stores();
        let table_url = ensure_table_uri(url).map_err(|source| SinkError::InvalidLocation {
            url: url.to_string(),
            source: Box::new(source),
        })?;
        let open_error = |source| SinkError::Open { url: table_url.to_string(), source: Box::new(source) };
        let mut table = DeltaTable::try_from_url_with_storage_options(table_url.clone(), storage.to_map())
            .await
            .map_err(open_error)?;
        let fields = T::fields()?;
        if table.version().is_none() {
            table = create(&table, &table_url, fields.clone(), T::COMMENT, key).await.map_err(open_error)?;
        }
        let state = table.snapshot().map_err(open_error)?.clone();
        let key = encryption::writer_key(table_url.as_str(), state.metadata().configuration(), key)?;
        let found: Vec<StructField> = state.schema().fields().cloned().collect();
        if let Some(difference) = schema_difference(&fields, &found) {
            return Err(SinkError::SchemaMismatch { url: table_url.to_string(), difference });
        }
        if !state.metadata().partition_columns().is_empty() {
            let difference = "the table is partitioned, the changelog is not".to_string();
            return Err(SinkError::SchemaMismatch { url: table_url.to_string(), difference });
        }
        let writer = RecordBatchWriter::for_table(&table)
            .map_err(open_error)?
            .with_writer_properties(writer_properties(key.as_ref())?);
        let mut sink = DeltaSink {
            url: table_url,
            app_id: app_id.to_string(),
            log_store: table.log_store(),
            state,
            writer,
            schema: T::arrow_schema()?,
            last_epoch: None,
            last_info: None,
            stale: false,
            encrypted: key.is_some(),
            kind: PhantomData,
        };
        sink.read_position(&table).await?;
        Ok(sink)
    }

    /// The last epoch committed under this app id: the `txn` version in the log.
    pub fn last_committed_epoch(&self) -> Option<u64> {
        self.last_epoch
    }

    /// The caller's metadata committed with [`last_committed_epoch`](Self::last_committed_epoch)
    /// (e.g. source offsets), if that commit is still in the log.
    pub fn last_commit_info(&self) -> Option<&BTreeMap<String, Value>> {
        self.last_info.as_ref()
    }

    /// The table version this sink last read or committed.
    pub fn version(&self) -> i64 {
        i64::try_from(self.state.version()).unwrap_or(i64::MAX)
    }

    /// The table's URL (local paths are shown as absolute `file://` URLs).
    pub fn table_url(&self) -> &Url {
        &self.url
    }

    /// Whether the table is encrypted (its data files are Parquet-encrypted).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The application id whose `txn` actions this sink writes.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// [`commit_epoch_with_info`](Self::commit_epoch_with_info) without metadata.
    pub async fn commit_epoch(
        &mut self,
        epoch: u64,
        changes: &[(T::Row, isize)],
    ) -> Result<CommitOutcome, SinkError> {
        self.commit_epoch_with_info(epoch, changes, BTreeMap::new()).await
    }

    /// Writes the changes of `epoch` and commits them in one Delta transaction with the
    /// `txn` action `(app_id, epoch)` and `info` in `commitInfo.trustflow.info`. An epoch
    /// without changes commits too (only `commitInfo` and `txn`), so the position advances.
    ///
    /// Refused with [`SinkError::EpochAlreadyCommitted`], the table untouched, unless
    /// `epoch` is after [`last_committed_epoch`](Self::last_committed_epoch) (delta-rs
    /// itself accepts a repeated `txn` version, delta-rs#2580).
    pub async fn commit_epoch_with_info(
        &mut self,
        epoch: u64,
        changes: &[(T::Row, isize)],
        info: BTreeMap<String, Value>,
    ) -> Result<CommitOutcome, SinkError> {
        if self.stale {
            self.refresh().await?;
        }
        if let Some(last) = self.last_epoch.filter(|last| epoch <= *last) {
            return Err(SinkError::EpochAlreadyCommitted { epoch, last });
        }
        let txn_version = i64::try_from(epoch).map_err(|_| SinkError::EpochOutOfRange { epoch })?;
        let batch = T::to_batch(&self.schema, epoch, changes)?;
        let rows = batch.num_rows();
        if rows > 0 {
            self.writer
                .write(batch)
                .await
                .map_err(|source| SinkError::Write { epoch, source: Box::new(source) })?;
        }
        let mut adds = self
            .writer
            .flush()
            .await
            .map_err(|source| SinkError::Write { epoch, source: Box::new(source) })?;
        if self.encrypted {
            adds.iter_mut().for_each(encryption::strip_column_stats);
        }
        let files = adds.len();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let marker = json!({ "appId": self.app_id, "epoch": epoch, "info": info });
        let properties = CommitProperties::default()
            .with_application_transaction(Transaction::new_with_last_update(
                &self.app_id,
                txn_version,
                Some(now_ms),
            ))
            .with_metadata([(COMMIT_INFO_KEY.to_string(), marker)])
            .with_cleanup_expired_logs(self.cleanup_now());
        let operation = DeltaOperation::Write { mode: SaveMode::Append, partition_by: None, predicate: None };
        self.stale = true;
        let finalized = CommitBuilder::from(properties)
            .with_actions(adds.into_iter().map(Action::Add).collect())
            .build(Some(&self.state as &dyn TableReference), self.log_store.clone(), operation)
            .await
            .map_err(|source| self.commit_error(epoch, source))?;
        self.state = finalized.snapshot;
        self.stale = false;
        self.last_epoch = Some(epoch);
        self.last_info = Some(info);
        Ok(CommitOutcome { version: self.version(), rows, files })
    }

    /// Re-reads the log: the latest version, and this app's last epoch and its metadata.
    pub async fn refresh(&mut self) -> Result<(), SinkError> {
        let read_error = |source| SinkError::Read { url: self.url.to_string(), source: Box::new(source) };
        let mut table = DeltaTable::new(self.log_store.clone());
        table.load().await.map_err(read_error)?;
        self.state = table.snapshot().map_err(read_error)?.clone();
        self.read_position(&table).await?;
        self.stale = false;
        Ok(())
    }

    /// Sets the last epoch from the snapshot's `txn` and finds the metadata committed with it.
    async fn read_position(&mut self, table: &DeltaTable) -> Result<(), SinkError> {
        let read_error = |source| SinkError::Read { url: self.url.to_string(), source: Box::new(source) };
        let txn = self
            .state
            .transaction_version(self.log_store.as_ref(), &self.app_id)
            .await
            .map_err(read_error)?;
        let epoch = txn
            .map(|version| {
                u64::try_from(version).map_err(|_| SinkError::InvalidTxnVersion {
                    url: self.url.to_string(),
                    app_id: self.app_id.clone(),
                    version,
                })
            })
            .transpose()?;
        if epoch != self.last_epoch || self.last_info.is_none() {
            self.last_info = match epoch {
                Some(epoch) => find_info(table, &self.app_id, epoch).await.map_err(read_error)?,
                None => None,
            };
        }
        self.last_epoch = epoch;
        Ok(())
    }

    /// Expired-log cleanup lists the whole `_delta_log`; deltalake runs it after every
    /// commit by default. Run it (as the table's config says) only with the commit that is
    /// expected to write a checkpoint, and skip it otherwise.
    fn cleanup_now(&self) -> Option<bool> {
        let interval = self.state.table_config().checkpoint_interval().get();
        let next = self.state.version() + 1;
        if (next + 1).is_multiple_of(interval) { None } else { Some(false) }
    }

    /// Names the fencing conflict; any other commit failure keeps deltalake's error.
    fn commit_error(&self, epoch: u64, source: DeltaTableError) -> SinkError {
        match source {
            DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction),
            } => SinkError::ConcurrentWriter { app_id: self.app_id.clone(), epoch },
            source => SinkError::Commit { epoch, source: Box::new(source) },
        }
    }
}

impl DeltaSink<QualityChanges> {
    /// Reads every row of the table's current files, ordered by epoch. Each file is fetched
    /// whole and decoded with the parquet crate (no DataFusion): Azure Blob does not serve the
    /// suffix range requests a footer-first reader makes. Encrypted files are decrypted with
    /// the key their metadata names (keyring or environment).
    pub async fn read_changes(&self) -> Result<Vec<ChangeRow>, SinkError> {
        let read_error = |source| SinkError::Read { url: self.url.to_string(), source: Box::new(source) };
        let store = self.log_store.object_store(None);
        let options = encryption::read::reader_options()?;
        let mut files = self.state.snapshot().file_views(self.log_store.as_ref(), None);
        let mut out = Vec::new();
        while let Some(file) = files.try_next().await.map_err(read_error)? {
            if file.deletion_vector_descriptor().is_some() {
                let reason = "deletion vectors are not supported by the sink's reader";
                return Err(SinkError::Decode { column: file.path().into_owned(), reason: reason.into() });
            }
            let path = file.object_store_path();
            let bytes = match store.get(&path).await {
                Ok(found) => found.bytes().await,
                Err(e) => Err(e),
            }
            .map_err(|source| read_error(DeltaTableError::ObjectStore { source }))?;
            let parquet_error = |e: deltalake::parquet::errors::ParquetError| SinkError::Decode {
                column: path.to_string(),
                reason: e.to_string(),
            };
            let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes, options.clone())
                .and_then(|b| b.build())
                .map_err(parquet_error)?;
            for batch in reader {
                let batch = batch
                    .map_err(|e| SinkError::Decode { column: path.to_string(), reason: e.to_string() })?;
                out.extend(batch_to_changes(&batch)?);
            }
        }
        out.sort_by_key(|c| c.epoch);
        Ok(out)
    }
}
