//! OpenLineage run events for a run: START, one RUNNING per committed epoch, COMPLETE or FAIL.
//!
//! A trustflow process is one OpenLineage *run* (a random UUID) of the *job* named by its app
//! id; a restarted process is a new run of the same job (the job ties restarts together, and
//! each epoch event carries the source position, so nothing needs a stable run id). Events name
//! datasets by the OpenLineage naming conventions ([`naming`]): the Kafka topic is the input,
//! the changelog tables are the outputs, with `schema`, `dataSource` and `columnLineage`
//! facets (which input fields each column derives from: [`columns`]); an epoch's event adds
//! each committed table's `version` (the Delta version its commit created), `outputStatistics`,
//! and trustflow's own facets `trustflow_epoch` (epoch and offsets per partition) and
//! `trustflow_changes` (rows inserted and retracted). `docs/lineage.md` shows an event.
//!
//! Use from the committer (worker 0), outside the tokio runtime's `block_on`:
//!
//! ```no_run
//! # use trustflow::lineage::*;
//! # use trustflow::location::{Location, StorageOptions};
//! # fn demo(root: &Location, storage: &StorageOptions) -> Result<(), LineageError> {
//! let emitter = LineageEmitter::from_target("lineage.jsonl")?; // or "http://marquez:5000"
//! let job = JobInfo::new("trustflow", "my-app-id", Processing::Streaming);
//! let run_id = Uuid::new_v4();
//! let topic = InputTopic::transactions("127.0.0.1:9092", "transactions")?;
//! let quality = OutputTable::new(TableKind::Quality, &root.join("quality"), storage)?;
//! emitter.emit(&RunEvent::start(&job, run_id, &[topic.clone()], &[quality.clone()], chrono::Utc::now())?)?;
//! // after epoch 7's commits: the offsets the main table's commit recorded, and per table
//! // committed in that epoch its new version and the changes it wrote
//! let offsets = [(0, 1200), (1, 1187)].into_iter().collect();
//! let changes: Vec<((), isize)> = vec![((), 3), ((), -1)];
//! let committed = [quality.committed(TableCommit::of(12, &changes))];
//! emitter.emit(&RunEvent::epoch_committed(&job, run_id, 7, &[topic.at(&offsets)], &committed, chrono::Utc::now())?)?;
//! // at the end: RunEvent::complete(..), or RunEvent::fail(.., &error, ..)
//! # Ok(()) }
//! ```
//!
//! An emit that fails returns a [`LineageError`] and changes nothing else. The recommended
//! policy at the call site: log it (`tracing::warn!`), count it in the run summary, and go on;
//! never fail or roll back a committed epoch because its lineage could not be delivered, since
//! the tables are the data and lineage is a report about them (the next epoch's event carries
//! the cumulative offsets and the tables' new versions, so a lost event loses only that epoch's
//! row counts). Only a target that cannot be opened at start is worth refusing the run for.

pub mod build;
pub mod columns;
pub mod emit;
pub mod error;
pub mod event;
pub mod facets;
pub mod naming;

#[cfg(test)]
mod tests;

pub use build::{InputTopic, JobInfo, OutputTable, PRODUCER, Processing, TableCommit, event_time};
pub use columns::{FieldUse, TableKind, TableLineage, transaction_fields};
pub use emit::LineageEmitter;
pub use error::LineageError;
pub use event::{EventType, RUN_EVENT_SCHEMA_URL, RunEvent};
pub use naming::DatasetId;
pub use uuid::Uuid;
