//! Table maintenance and time travel: compaction, vacuum, checkpoints, the snapshot table, retention.
//!
//! The pipeline appends one commit per epoch to each changelog table, so a long run leaves
//! many small data files and a long log. These functions keep such a table cheap to read,
//! each on a table location (a local path or an `az://`/`abfss://` URL) and the object store
//! settings ([`StorageOptions`](crate::location::StorageOptions)):
//!
//! * [`compact`]: small files rewritten into bigger ones in one `OPTIMIZE` commit whose
//!   actions say `dataChange: false`; the rows (and `_epoch`) are unchanged.
//! * [`vacuum`]: data files no version within the retention references are deleted
//!   (deltalake's vacuum, `FULL` mode); the table's 7-day minimum is enforced unless
//!   explicitly waived.
//! * [`checkpoint`]: a checkpoint of the newest version and expired-log cleanup. The sink's
//!   own commits already checkpoint every `delta.checkpointInterval` (100) versions.
//! * [`snapshot`]: the changelog's current state (inserts minus deletes over the data
//!   columns) written over a second table in one commit whose `txn` names the changelog
//!   version it reflects; skipped when nothing changed.
//! * [`expire`]: retention, the rows whose event time is older than a retention period
//!   deleted from a trustflow table in one `DELETE` commit (a rewrite of only the files
//!   holding such rows, found by their statistics where possible).
//! * [`read_at`]: time travel, the table at a version or as of a time, as Arrow batches;
//!   [`consolidate`] counts and consolidates them.
//!
//! deltalake's `optimize`, `write` and `delete` builders need its `datafusion` feature, which
//! would pull DataFusion into the build for three operations; compaction, the snapshot and
//! retention use the record batch writer and the commit builder instead, and read data files
//! with deltalake's DataFusion-free Parquet reader. Tables with deletion vectors, column mapping or
//! partitions, which trustflow never writes, are refused with [`MaintainError::Unsupported`].
//!
//! Modules: [`open`] (loading at a version or time), [`consolidate`], [`compact`],
//! [`vacuum`] (and checkpoints), [`snapshot`], [`retention`], [`error`].

pub mod compact;
pub mod consolidate;
pub mod error;
pub mod open;
pub mod retention;
pub mod snapshot;
pub mod vacuum;

#[cfg(test)]
mod measure;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_retention;

pub use compact::{CompactOutcome, compact};
pub use consolidate::{ChangeCounts, Consolidator, consolidate};
pub use error::MaintainError;
pub use open::{AsOf, TableAt, read_at};
pub use retention::{RetentionOptions, RetentionOutcome, expire, still_stored, tables_at};
pub use snapshot::{SNAPSHOT_APP_PREFIX, SnapshotOutcome, snapshot};
pub use vacuum::{CheckpointOutcome, VacuumOptions, VacuumOutcome, checkpoint, vacuum};
