//! Errors that stop a pipeline run.

use crate::codec::RegistryError;
use crate::sink::SinkError;
use crate::source::SourceError;

/// Why a pipeline run stopped (records that cannot be decoded do not stop it: they are
/// dead-lettered).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Kafka could not be read or the dead-letter topic not written.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The Delta table could not be opened or committed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A record could not be decoded for a reason that is not the record's fault (the schema
    /// registry is unavailable); it was not dead-lettered.
    #[error("cannot decode: {0}")]
    Codec(#[source] crate::codec::CodecError),
    /// The schema registry could not be loaded or asked.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The output table already holds epochs of this pipeline: resuming is not supported yet,
    /// and starting over would write every event twice.
    #[error(
        "table {table} already holds epochs up to {epoch} of pipeline `{app_id}`; resuming is not supported \
         yet, so this run would write those events twice: choose a new --output or --app-id"
    )]
    AlreadyStarted {
        /// The table.
        table: String,
        /// The pipeline's app id.
        app_id: String,
        /// The last committed epoch.
        epoch: u64,
    },
    /// A verdict failed an expectation whose action is `fail`; its epoch was not committed.
    #[error("expectation `{expectation}` failed (action: fail) for record {record:?}")]
    ExpectationFailed {
        /// The expectation's name.
        expectation: String,
        /// The record that failed it.
        record: Box<crate::record::Transaction>,
    },
    /// The timely runtime could not start (bad cluster addresses, port in use, ...).
    #[error("cannot start the timely workers: {0}")]
    Cluster(String),
    /// An async runtime for the Delta client could not be created.
    #[error("cannot create the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A worker thread panicked; this is a bug in trustflow.
    #[error("worker {worker} failed: {message}")]
    WorkerPanicked {
        /// The worker's index.
        worker: usize,
        /// The panic message.
        message: String,
    },
}

impl PipelineError {
    /// Whether running again unchanged may succeed (an unavailable broker or store).
    pub fn is_retryable(&self) -> bool {
        match self {
            PipelineError::Source(e) => e.is_retryable(),
            PipelineError::Sink(e) => e.is_retryable(),
            PipelineError::Registry(e) => e.is_retryable(),
            PipelineError::Codec(e) => e.is_retryable(),
            PipelineError::AlreadyStarted { .. }
            | PipelineError::ExpectationFailed { .. }
            | PipelineError::Cluster(_)
            | PipelineError::Runtime(_)
            | PipelineError::WorkerPanicked { .. } => false,
        }
    }
}
