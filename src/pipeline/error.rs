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
    /// Compacting or snapshotting the quality table failed.
    #[error("table maintenance: {0}")]
    Maintain(#[from] crate::sink::maintain::MaintainError),
    /// The output topic could not be opened or written.
    #[error("output topic: {0}")]
    Output(#[from] crate::sink::KafkaOutputError),
    /// A record could not be decoded for a reason that is not the record's fault (the schema
    /// registry is unavailable); it was not dead-lettered.
    #[error("cannot decode: {0}")]
    Codec(#[source] crate::codec::CodecError),
    /// The run's datasets cannot be named for its OpenLineage events.
    #[error("lineage: {0}")]
    Lineage(#[from] crate::lineage::LineageError),
    /// The schema registry could not be loaded or asked.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The main table holds epochs of this pipeline, but resuming from them is not possible.
    #[error(
        "table {table} holds epochs up to {epoch} of pipeline `{app_id}`, and {reason}: choose a new \
         --output or --app-id to start over"
    )]
    CannotResume {
        /// The table.
        table: String,
        /// The pipeline's app id.
        app_id: String,
        /// The last committed epoch.
        epoch: u64,
        /// Why not.
        reason: String,
    },
    /// The tables changed between reading the position and opening them, or a side table
    /// is ahead of the main table: another run of the same pipeline is writing.
    #[error(
        "table {table}: expected pipeline `{app_id}` at epoch {expected:?}, found {found:?}; is another run \
         with the same --app-id writing to this output?"
    )]
    ConcurrentRun {
        /// The main table.
        table: String,
        /// The pipeline's app id.
        app_id: String,
        /// The epoch the run resumes from (`None`: a fresh run).
        expected: Option<u64>,
        /// The newest epoch found.
        found: Option<u64>,
    },
    /// The main table's last commit does not say where its input ended.
    #[error("table {table}: the commit of epoch {epoch} cannot be resumed from: {reason}")]
    InvalidPosition {
        /// The table.
        table: String,
        /// The last committed epoch.
        epoch: u64,
        /// What is wrong with its metadata.
        reason: String,
    },
    /// Replaying the topic to the committed position found fewer records than were committed.
    #[error(
        "cannot replay topic `{topic}` partition {partition}: it ends at offset {end}, but the committed \
         epochs read it up to {target} (was the topic recreated or truncated by retention?)"
    )]
    ReplayShort {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Where reading it ended.
        end: i64,
        /// The committed offset.
        target: i64,
    },
    /// A verdict failed an expectation whose action is `fail`; its epoch was not committed.
    #[error("expectation `{expectation}` failed (action: fail) for record {record:?}")]
    ExpectationFailed {
        /// The expectation's name.
        expectation: String,
        /// The record that failed it.
        record: Box<crate::record::Transaction>,
    },
    /// Fraud scoring and an event-time horizon were both asked for: the features need each
    /// user's whole history, which the horizon retires.
    #[error(
        "fraud scoring (--model) needs each user's whole history (running mean, new currency, prior \
         count), which --horizon retires: run without --horizon"
    )]
    ScoringWithHorizon,
    /// The model's login features join a user-events topic that the brokers do not have.
    #[error(
        "user-events topic `{topic}` does not exist on {brokers}: the fraud model's login features \
         join it (a login from a new device or country before a payment); create it or produce user \
         events to it (`trustflow generate --fraud-rate R` does), name another with --user-events-topic, \
         or score without logins (--score-without-logins: account takeover then goes unseen)"
    )]
    NoUserEvents {
        /// The topic.
        topic: String,
        /// The bootstrap servers asked.
        brokers: String,
    },
    /// The timely runtime could not start (bad cluster addresses, port in use, ...).
    #[error("cannot start the timely workers: {0}")]
    Cluster(String),
    /// An async runtime for the Delta client could not be created.
    #[error("cannot create the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Another worker of this process failed (its error is the run's): this one stopped.
    #[error("stopped because another worker failed")]
    PeerFailed,
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
            PipelineError::Output(e) => e.is_retryable(),
            PipelineError::Maintain(e) => e.is_retryable(),
            PipelineError::Registry(e) => e.is_retryable(),
            PipelineError::Codec(e) => e.is_retryable(),
            PipelineError::CannotResume { .. }
            | PipelineError::InvalidPosition { .. }
            | PipelineError::ReplayShort { .. }
            | PipelineError::ConcurrentRun { .. }
            | PipelineError::ExpectationFailed { .. }
            | PipelineError::ScoringWithHorizon
            | PipelineError::NoUserEvents { .. }
            | PipelineError::Lineage(_)
            | PipelineError::Cluster(_)
            | PipelineError::Runtime(_)
            | PipelineError::PeerFailed
            | PipelineError::WorkerPanicked { .. } => false,
        }
    }
}
