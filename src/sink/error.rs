//! Errors of the Delta sink, each saying what was being done and whether a retry can help.

use deltalake::arrow::error::ArrowError;
use deltalake::kernel::transaction::TransactionError;
use deltalake::{DeltaTableError, ObjectStoreError};

/// What can go wrong opening, writing, committing or reading the changelog table.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The location is neither a usable local path nor a URL of a registered store.
    #[error("invalid table location `{url}`: {source}")]
    InvalidLocation {
        /// The location as given.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Loading or creating the table failed (storage unreachable, corrupt log, ...).
    #[error("could not open Delta table `{url}`: {source}")]
    Open {
        /// The table URL.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// The table exists with a schema other than the changelog's.
    #[error("Delta table `{url}` has another schema than the changelog: {difference}")]
    SchemaMismatch {
        /// The table URL.
        url: String,
        /// The first differences found, e.g. ``column 3 `amount`: table has decimal(10,2)``.
        difference: String,
    },
    /// The table's log holds a negative transaction version for this app id (not ours).
    #[error("Delta table `{url}` holds transaction version {version} for app `{app_id}`")]
    InvalidTxnVersion {
        /// The table URL.
        url: String,
        /// The application id.
        app_id: String,
        /// The version found.
        version: i64,
    },
    /// The epoch is not after the last committed one: it is already in the table.
    #[error("epoch {epoch} is already committed (last committed epoch: {last})")]
    EpochAlreadyCommitted {
        /// The epoch offered.
        epoch: u64,
        /// The last epoch committed under this app id.
        last: u64,
    },
    /// The epoch does not fit a Delta transaction version (a signed 64-bit integer).
    #[error("epoch {epoch} exceeds the largest Delta transaction version (i64::MAX)")]
    EpochOutOfRange {
        /// The epoch offered.
        epoch: u64,
    },
    /// A value cannot be written exactly in its column's type.
    #[error("value {value} does not fit column `{column}`: {reason}")]
    ValueOutOfRange {
        /// The column.
        column: &'static str,
        /// The value, as text.
        value: String,
        /// Why it does not fit.
        reason: String,
    },
    /// Arrow refused to build or convert something.
    #[error("Arrow error while {context}: {source}")]
    Arrow {
        /// What was being done.
        context: &'static str,
        /// Arrow's error.
        #[source]
        source: ArrowError,
    },
    /// Writing the epoch's Parquet files failed; nothing was committed.
    #[error("writing the Parquet files of epoch {epoch} failed: {source}")]
    Write {
        /// The epoch being written.
        epoch: u64,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// The Delta commit of the epoch failed; its files, if written, are unreferenced.
    #[error("committing epoch {epoch} failed: {source}")]
    Commit {
        /// The epoch being committed.
        epoch: u64,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Another writer committed a transaction of the same app id meanwhile (a second
    /// instance of this pipeline): this one must stop, or reopen and resume after it.
    #[error("another writer committed for app `{app_id}` while epoch {epoch} was committing")]
    ConcurrentWriter {
        /// The application id.
        app_id: String,
        /// The epoch being committed.
        epoch: u64,
    },
    /// Reading the table's log or data files failed.
    #[error("reading Delta table `{url}` failed: {source}")]
    Read {
        /// The table URL.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// A batch read back does not have the changelog's shape.
    #[error("unexpected data in column `{column}`: {reason}")]
    Decode {
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// The table's encryption and the key at hand do not agree (a missing or wrong key, a
    /// plaintext table under encryption_required).
    #[error(transparent)]
    Encryption(Box<super::encryption::EncryptionError>),
    /// A bug in trustflow: an invariant of the sink does not hold.
    #[error("internal error in the Delta sink: {0}")]
    Internal(String),
}

impl From<super::encryption::EncryptionError> for SinkError {
    fn from(error: super::encryption::EncryptionError) -> SinkError {
        SinkError::Encryption(Box::new(error))
    }
}

impl SinkError {
    /// An [`SinkError::Internal`] error.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        SinkError::Internal(message.into())
    }

    /// Whether retrying the same call later may succeed (storage unreachable, throttling,
    /// too many concurrent commits), as opposed to a mistake, bad data or a fenced writer.
    /// After a failed commit, the sink re-reads the log before the next one, so retrying
    /// `commit_epoch` with the same epoch is safe: if the commit did land, the retry is
    /// refused with [`SinkError::EpochAlreadyCommitted`].
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Open { source, .. }
            | SinkError::Write { source, .. }
            | SinkError::Commit { source, .. }
            | SinkError::Read { source, .. } => delta_is_retryable(source),
            SinkError::InvalidLocation { .. }
            | SinkError::SchemaMismatch { .. }
            | SinkError::InvalidTxnVersion { .. }
            | SinkError::EpochAlreadyCommitted { .. }
            | SinkError::EpochOutOfRange { .. }
            | SinkError::ValueOutOfRange { .. }
            | SinkError::Arrow { .. }
            | SinkError::ConcurrentWriter { .. }
            | SinkError::Decode { .. }
            | SinkError::Encryption(_)
            | SinkError::Internal(_) => false,
        }
    }
}

/// Whether a deltalake error is transient: I/O and storage failures, lost commit races.
pub(crate) fn delta_is_retryable(error: &DeltaTableError) -> bool {
    match error {
        DeltaTableError::ObjectStore { source } => store_is_retryable(source),
        DeltaTableError::Io { .. } | DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => match source {
            TransactionError::VersionAlreadyExists(_)
            | TransactionError::MaxCommitAttempts(_)
            | TransactionError::LogStoreError { .. } => true,
            TransactionError::ObjectStore { source } => store_is_retryable(source),
            _ => false,
        },
        // delta-kernel (reading the log) wraps object store errors without exposing them as a
        // source, and deltalake does not re-export its error type: its message is the clue.
        DeltaTableError::KernelError(kernel) => {
            kernel.to_string().starts_with("Error interacting with object store")
                && !crate::location::is_access_denied(error)
        }
        _ => false,
    }
}

/// Object store errors worth retrying: the generic (HTTP, network, I/O) and join errors,
/// unless the store refused the credentials.
pub(crate) fn store_is_retryable(error: &ObjectStoreError) -> bool {
    matches!(error, ObjectStoreError::Generic { .. } | ObjectStoreError::JoinError { .. })
        && !crate::location::is_access_denied(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let io = || Box::new(DeltaTableError::Io { source: std::io::Error::other("reset") });
        let (write, commit) =
            (SinkError::Write { epoch: 1, source: io() }, SinkError::Commit { epoch: 1, source: io() });
        assert!(write.is_retryable() && commit.is_retryable());
        let schema = Box::new(DeltaTableError::SchemaMismatch { msg: "x".into() });
        assert!(!SinkError::Write { epoch: 1, source: schema }.is_retryable());
        assert!(!SinkError::EpochAlreadyCommitted { epoch: 2, last: 2 }.is_retryable());
        let fenced = SinkError::ConcurrentWriter { app_id: "a".into(), epoch: 3 };
        assert!(!fenced.is_retryable());
        assert!(fenced.to_string().contains("app `a`"));
        // Small enough to travel in callers' `Result`s (clippy's result_large_err: 128 bytes).
        assert!(std::mem::size_of::<SinkError>() <= 72, "{}", std::mem::size_of::<SinkError>());
    }
}
