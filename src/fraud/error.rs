//! Why training or evaluating a fraud model failed (registry errors are [`RegistryError`]).

use std::path::PathBuf;

use super::registry::RegistryError;
use crate::batch::BatchError;

/// A failed `train` or `evaluate`.
#[derive(Debug, thiserror::Error)]
pub enum FraudError {
    /// The transactions could not be read (JSON lines or Parquet), or a Delta table's files.
    #[error(transparent)]
    Input(#[from] BatchError),
    /// A Delta table could not be opened or listed.
    #[error("cannot read the Delta table {path}: {source}")]
    Delta {
        /// The table's directory.
        path: PathBuf,
        /// deltalake's error.
        #[source]
        source: deltalake::DeltaTableError,
    },
    /// A Delta table that is not a table of transactions the way training needs it.
    #[error("cannot train on the Delta table {path}: {reason}")]
    DeltaShape {
        /// The table's directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line of the labels file is not a label.
    #[error(
        "{path}:{line}: not a label ({reason}); expected {{\"transactionId\": \"..\", \"fraud\": true|false, \"pattern\": \"..\"|null}}"
    )]
    Label {
        /// The labels file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The parse error.
        reason: String,
    },
    /// One transactionId labelled both fraud and not fraud.
    #[error("{path}:{line}: transactionId `{id}` is labelled both fraud and not fraud")]
    ConflictingLabel {
        /// The labels file.
        path: PathBuf,
        /// 1-based line number of the second label.
        line: u64,
        /// The transactionId.
        id: String,
    },
    /// Too little labelled data to train or evaluate.
    #[error("not enough labelled data: {0}")]
    NotEnoughData(String),
    /// smartcore could not fit a model.
    #[error("fitting {algorithm} failed: {message}")]
    Fit {
        /// The algorithm.
        algorithm: &'static str,
        /// smartcore's message.
        message: String,
    },
    /// The model registry refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The async runtime for reading Delta tables could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl FraudError {
    /// Whether retrying the same command may succeed (a store that was unavailable).
    pub fn is_retryable(&self) -> bool {
        match self {
            FraudError::Input(e) => e.is_retryable(),
            _ => false,
        }
    }
}
