//! Errors of batch mode, each naming the file or step that failed.

use std::path::PathBuf;

use deltalake::arrow::error::ArrowError;
use deltalake::parquet::errors::ParquetError;
use deltalake::{DeltaTableError, ObjectStoreError};

use crate::location::LocationError;
use crate::sink::SinkError;

/// What can stop a batch run (bad input lines are not errors: they are rejected and counted).
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The input path does not exist or cannot be read.
    #[error("cannot read input {path}: {source}")]
    Input {
        /// The input file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is neither JSON lines nor Parquet (by extension or content), or is empty.
    #[error("input {path}: {reason}")]
    InputFormat {
        /// The input file or directory.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A Parquet input file is unreadable (not Parquet, corrupt, unsupported encoding).
    #[error("cannot read Parquet file {path}: {source}")]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The parquet crate's error.
        #[source]
        source: ParquetError,
    },
    /// A Parquet input column has a type that batch mode cannot read as its field.
    #[error("Parquet file {path}: column `{column}` {reason}")]
    Column {
        /// The Parquet file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type and why it cannot be used.
        reason: String,
    },
    /// The output location holds something batch mode will not replace.
    #[error("output {location}: {reason}")]
    OutputExists {
        /// The output directory or URL.
        location: String,
        /// What is there, and what to do about it.
        reason: String,
    },
    /// Writing the output, or the rejects file, failed.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file or directory being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a Parquet output file failed.
    #[error("cannot write Parquet file {path}: {source}")]
    ParquetWrite {
        /// The Parquet file (a path or URL).
        path: String,
        /// The parquet crate's error.
        #[source]
        source: ParquetError,
    },
    /// Writing or committing the output Delta table failed.
    #[error("cannot write Delta table {url}: {source}")]
    Delta {
        /// The table's URL.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// An object store request for a URL output failed.
    #[error("cannot write {location}: {source}")]
    Store {
        /// The object's URL.
        location: String,
        /// object_store's error.
        #[source]
        source: Box<ObjectStoreError>,
    },
    /// The URL output location could not be listed or cleared.
    #[error(transparent)]
    Location(#[from] LocationError),
    /// Building the output batches failed (schema, exact decimals).
    #[error(transparent)]
    Encode(#[from] SinkError),
    /// The output cannot be encrypted, or an encrypted input cannot be decrypted (a missing
    /// or wrong key).
    #[error(transparent)]
    Encryption(Box<crate::sink::encryption::EncryptionError>),
    /// Arrow refused an input conversion.
    #[error("Arrow error while {context}: {source}")]
    Arrow {
        /// What was being done.
        context: &'static str,
        /// Arrow's error.
        #[source]
        source: ArrowError,
    },
    /// The quality graph failed (a worker panicked, or timely could not start).
    #[error("the quality graph failed: {0}")]
    Graph(String),
    /// A writer thread or task panicked or was cancelled: a bug in trustflow.
    #[error("internal error in batch mode: {0}")]
    Internal(String),
    /// The async runtime for the Delta client could not start.
    #[error("cannot create the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl From<crate::sink::encryption::EncryptionError> for BatchError {
    fn from(error: crate::sink::encryption::EncryptionError) -> BatchError {
        BatchError::Encryption(Box::new(error))
    }
}

impl BatchError {
    /// Whether running again unchanged may succeed (storage hiccups), as opposed to bad input,
    /// a refused output location or a bug.
    pub fn is_retryable(&self) -> bool {
        match self {
            BatchError::Delta { source, .. } => {
                matches!(**source, DeltaTableError::ObjectStore { .. } | DeltaTableError::Io { .. })
                    && !crate::location::is_access_denied(source.as_ref())
            }
            BatchError::Encode(sink) => sink.is_retryable(),
            BatchError::Store { source, .. } => crate::sink::error::store_is_retryable(source),
            BatchError::Location(location) => location.is_retryable(),
            _ => false,
        }
    }
}
