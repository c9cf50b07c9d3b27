//! Sinks: where the quality graph's changes go (Delta tables).
//!
//! A [`ChangeTable`] names a table kind: its columns and how one epoch's `(row, diff)`
//! changes become Arrow. [`DeltaSink<T>`](DeltaSink) appends them to a Delta table of that
//! kind as a changelog. The main kind is [`QualityChanges`]; [`QuarantineChanges`] and
//! [`WindowChanges`] are the side tables ([`extra_tables`]), and [`LateChanges`] holds the rows an
//! event-time horizon kept out of the graph ([`late_table`]). The quality table holds the
//! reference design's output columns plus `_change_type` (`insert` for a positive diff,
//! `delete` for a retraction, one row per unit of diff) and `_epoch`. Consolidating the changelog (inserts minus deletes) gives the
//! batch output row for row.
//!
//! Exactly once: each epoch is one Delta commit holding its Parquet files, a `txn` action
//! `(app_id, epoch)` and the caller's metadata (source offsets) in `commitInfo`. On restart,
//! [`DeltaSink::last_committed_epoch`] and [`DeltaSink::last_commit_info`] say where to
//! resume, and an epoch at or below the last committed one is refused.
//!
//! Modules: [`changelog`] the table-kind trait; [`columns`] defines the quality Delta schema and the Arrow schema derived from it;
//! [`encode`] turns changes into an Arrow batch and [`decode`] batches back into rows;
//! [`delta`] is the sink itself and [`table`] creates and checks the table and reads its
//! log; [`encryption`] writes and reads tables encrypted (AES-256-GCM, Parquet modular
//! encryption) under `encryption_required`; [`error`] holds [`SinkError`]; [`maintain`] compacts, vacuums, checkpoints,
//! snapshots and expires (retention) tables and reads them at a version or time; [`position`] reads where an app
//! stands without opening a table for writing.
//!
//! [`kafka_out`] is the other output: each epoch's quality changes on a Kafka topic, one
//! Kafka transaction per epoch ([`KafkaOutput`]), exactly once under the same app id.

pub mod alerts_table;
pub mod changelog;
pub mod columns;
pub mod decode;
pub mod delta;
pub mod encode;
pub mod encryption;
pub mod error;
pub mod extra_tables;
pub mod kafka_out;
pub mod late_table;
pub mod lineage;
pub mod maintain;
pub mod position;
pub mod table;

#[cfg(test)]
mod tests;

pub use alerts_table::AlertChanges;
pub use changelog::{ChangeTable, QualityChanges};
pub use columns::{ChangeType, arrow_schema, delta_fields, delta_schema};
pub use decode::{ChangeRow, batch_to_changes};
pub use delta::{CommitOutcome, DeltaSink, QualitySink};
pub use encode::changes_to_batch;
pub use error::SinkError;
pub use extra_tables::{QuarantineChanges, WindowChanges};
pub use kafka_out::{KafkaOutput, KafkaOutputError, PublishOutcome};
pub use late_table::LateChanges;
pub use position::{committed_history, committed_position};
