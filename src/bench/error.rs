//! Why a benchmark run failed: `BenchError`, classified as retryable or not.

use std::path::PathBuf;

/// A benchmark that could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The events could not be generated or produced to the broker.
    #[error("preloading the events failed: {0}")]
    Generate(#[source] Box<crate::generate::produce::GenerateError>),
    /// A topic could not be created or described.
    #[error(transparent)]
    Source(Box<crate::source::SourceError>),
    /// A pipeline run failed.
    #[error("the pipeline run ({what}) failed: {source}")]
    Pipeline {
        /// Which run.
        what: String,
        /// Its error.
        #[source]
        source: Box<crate::pipeline::PipelineError>,
    },
    /// The batch run on the same events failed.
    #[error("the batch run failed: {0}")]
    Batch(#[source] Box<crate::batch::BatchError>),
    /// The built-in schemas or pipeline spec could not be loaded (a build defect).
    #[error("built-in configuration: {0}")]
    Builtin(String),
    /// A Kafka client of the latency benchmark failed.
    #[error("{what}: {source}")]
    Kafka {
        /// What the client was doing.
        what: &'static str,
        /// The client's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// A record could not be encoded (a generator defect).
    #[error("cannot encode a generated record: {0}")]
    Encode(#[source] Box<crate::codec::CodecError>),
    /// The pipeline of the latency benchmark did not come up in time.
    #[error("the pipeline did not create {0} within {1} s")]
    NotStarted(PathBuf, u64),
    /// A file or directory of the benchmark could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A thread of the benchmark panicked.
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

/// `From` for the errors kept boxed (they are large, and `BenchError` is returned often).
macro_rules! boxed_from {
    ($($variant:ident($error:ty)),*) => {$(
        impl From<$error> for BenchError {
            fn from(error: $error) -> BenchError {
                BenchError::$variant(Box::new(error))
            }
        }
    )*};
}

boxed_from!(
    Generate(crate::generate::produce::GenerateError),
    Source(crate::source::SourceError),
    Batch(crate::batch::BatchError),
    Encode(crate::codec::CodecError)
);

impl BenchError {
    /// A failed pipeline run, `what` naming it.
    pub fn pipeline(what: impl Into<String>) -> impl FnOnce(crate::pipeline::PipelineError) -> BenchError {
        let what = what.into();
        move |source| BenchError::Pipeline { what, source: Box::new(source) }
    }

    /// Whether running again may succeed (broker or store unavailable).
    pub fn is_retryable(&self) -> bool {
        match self {
            BenchError::Source(e) => e.is_retryable(),
            BenchError::Pipeline { source, .. } => source.is_retryable(),
            BenchError::Batch(e) => e.is_retryable(),
            BenchError::Kafka { .. } | BenchError::NotStarted(..) => true,
            _ => false,
        }
    }

    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BenchError {
        let path = path.into();
        move |source| BenchError::Io { path, source }
    }
}
