//! Errors of table maintenance and time travel, each saying which table and whether a retry helps.

use deltalake::DeltaTableError;
use deltalake::arrow::error::ArrowError;
use deltalake::kernel::transaction::TransactionError;

use crate::location::LocationError;
use crate::sink::encryption::EncryptionError;
use crate::sink::error::delta_is_retryable;

/// What can go wrong compacting, vacuuming, checkpointing, snapshotting, expiring or reading a table.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    /// The text is not a usable table location (bad scheme, a query string, ...).
    #[error(transparent)]
    Location(#[from] LocationError),
    /// Nothing at the location is a Delta table (no `_delta_log` with commits).
    #[error("no Delta table at `{url}`")]
    NotATable {
        /// The table location.
        url: String,
    },
    /// Opening or reading the table's log or data files failed.
    #[error("reading Delta table `{url}` failed: {source}")]
    Read {
        /// The table location.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// The version asked for does not exist (or its log was cleaned up).
    #[error("Delta table `{url}` has no version {version} (versions {earliest}..={latest}){reason}")]
    NoSuchVersion {
        /// The table location.
        url: String,
        /// The version asked for.
        version: i64,
        /// The oldest version whose commit is still in the log.
        earliest: i64,
        /// The newest version.
        latest: i64,
        /// Why it cannot be loaded, if not simply out of range (starts with `: `).
        reason: String,
    },
    /// The time asked for is before the table's oldest version still in the log.
    #[error(
        "Delta table `{url}` did not exist yet at {as_of}: its oldest version {earliest} is from {earliest_at}"
    )]
    BeforeFirstVersion {
        /// The table location.
        url: String,
        /// The time asked for (RFC 3339).
        as_of: String,
        /// The oldest version still in the log.
        earliest: i64,
        /// Its commit time (RFC 3339).
        earliest_at: String,
    },
    /// The vacuum retention is below the table's `delta.deletedFileRetentionDuration`.
    #[error(
        "vacuum retention {requested} is shorter than the table's minimum {minimum} \
         (delta.deletedFileRetentionDuration): files that readers or time travel may still \
         need would be deleted; allow it explicitly if that is intended"
    )]
    RetentionTooShort {
        /// The retention asked for, e.g. `1h`.
        requested: String,
        /// The table's minimum, e.g. `7days`.
        minimum: String,
    },
    /// The table is not a changelog (or not one this code can read): a column is missing or
    /// has a value it does not understand.
    #[error("Delta table `{url}` is not a changelog table: {reason}")]
    NotAChangelog {
        /// The table location.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Retention was asked of a table trustflow did not create (its description does not
    /// start with `trustflow`): it is never touched.
    #[error(
        "Delta table `{url}` is not a trustflow table (its description is `{description}`): \
         retention only deletes from tables trustflow created"
    )]
    NotTrustflow {
        /// The table location.
        url: String,
        /// The table's description, as found.
        description: String,
    },
    /// Retention found no event time to judge the table's rows by.
    #[error("Delta table `{url}` has no event time retention can judge its rows by: {reason}")]
    NoEventTime {
        /// The table location.
        url: String,
        /// What is missing or of the wrong type.
        reason: String,
    },
    /// Neither a Delta table nor a directory holding Delta tables.
    #[error("no Delta table at `{url}`, nor in its subdirectories")]
    NoTables {
        /// The location.
        url: String,
    },
    /// The table uses a feature the DataFusion-free reader cannot honour.
    #[error("Delta table `{url}` cannot be read without DataFusion: {reason}")]
    Unsupported {
        /// The table location.
        url: String,
        /// The feature (deletion vectors, column mapping, partitions).
        reason: String,
    },
    /// The snapshot table exists with other columns than the changelog's data columns.
    #[error("snapshot table `{url}` has another schema than the changelog's data columns: {difference}")]
    SnapshotSchema {
        /// The snapshot table location.
        url: String,
        /// The first differences found.
        difference: String,
    },
    /// The snapshot would be written into the changelog table, or the other way round.
    #[error("the snapshot `{snapshot}` and the changelog `{changelog}` must be separate directories")]
    Overlap {
        /// The changelog location.
        changelog: String,
        /// The snapshot location.
        snapshot: String,
    },
    /// Writing data files or committing them failed (the table is unchanged unless the
    /// commit landed: a retry sees it).
    #[error("{action} `{url}` failed: {source}")]
    Write {
        /// What was being done, e.g. `compacting`.
        action: &'static str,
        /// The table location.
        url: String,
        /// deltalake's error.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Arrow refused to convert or consolidate rows.
    #[error("Arrow error while {context}: {source}")]
    Arrow {
        /// What was being done.
        context: &'static str,
        /// Arrow's error.
        #[source]
        source: ArrowError,
    },
    /// The table is encrypted and its key is missing or wrong, or an encrypted source would
    /// be written into a plaintext table.
    #[error(transparent)]
    Encryption(Box<EncryptionError>),
}

impl From<EncryptionError> for MaintainError {
    fn from(error: EncryptionError) -> MaintainError {
        MaintainError::Encryption(Box::new(error))
    }
}

impl MaintainError {
    /// A [`MaintainError::Read`] of `url`.
    pub(crate) fn read(url: &str) -> impl FnOnce(DeltaTableError) -> MaintainError + '_ {
        move |source| MaintainError::Read { url: url.to_owned(), source: Box::new(source) }
    }

    /// A [`MaintainError::Write`] of `url` while doing `action`.
    pub(crate) fn write<'a>(
        action: &'static str,
        url: &'a str,
    ) -> impl FnOnce(DeltaTableError) -> MaintainError + 'a {
        move |source| MaintainError::Write { action, url: url.to_owned(), source: Box::new(source) }
    }

    /// An Arrow error while doing `context`.
    pub(crate) fn arrow(context: &'static str) -> impl FnOnce(ArrowError) -> MaintainError {
        move |source| MaintainError::Arrow { context, source }
    }

    /// This error, naming `url` if it is a [`MaintainError::NotAChangelog`],
    /// [`MaintainError::NoEventTime`] or [`MaintainError::Read`] without one.
    pub(crate) fn at(self, url: &str) -> MaintainError {
        match self {
            MaintainError::NotAChangelog { url: empty, reason } if empty.is_empty() => {
                MaintainError::NotAChangelog { url: url.to_owned(), reason }
            }
            MaintainError::NoEventTime { url: empty, reason } if empty.is_empty() => {
                MaintainError::NoEventTime { url: url.to_owned(), reason }
            }
            MaintainError::Read { url: empty, source } if empty.is_empty() => {
                MaintainError::Read { url: url.to_owned(), source }
            }
            other => other,
        }
    }

    /// Whether trying again later may succeed: the store was unreachable or throttling, or
    /// a concurrent commit won the race; not for a missing table, a bad version, a refused
    /// credential or a table of the wrong shape.
    pub fn is_retryable(&self) -> bool {
        match self {
            MaintainError::Location(error) => error.is_retryable(),
            MaintainError::Read { source, .. } => delta_is_retryable(source),
            // A concurrent commit won (e.g. the pipeline's epoch during a compaction): a new
            // attempt starts from the newer version.
            MaintainError::Write { source, .. } => {
                delta_is_retryable(source)
                    || matches!(
                        **source,
                        DeltaTableError::Transaction { source: TransactionError::CommitConflict(_) }
                    )
            }
            MaintainError::NotATable { .. }
            | MaintainError::NoSuchVersion { .. }
            | MaintainError::BeforeFirstVersion { .. }
            | MaintainError::RetentionTooShort { .. }
            | MaintainError::NotAChangelog { .. }
            | MaintainError::Unsupported { .. }
            | MaintainError::NotTrustflow { .. }
            | MaintainError::NoEventTime { .. }
            | MaintainError::NoTables { .. }
            | MaintainError::SnapshotSchema { .. }
            | MaintainError::Overlap { .. }
            | MaintainError::Encryption(_)
            | MaintainError::Arrow { .. } => false,
        }
    }
}
