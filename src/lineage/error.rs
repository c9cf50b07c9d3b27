//! `LineageError`: what can go wrong naming datasets, building events and emitting them.

use std::path::PathBuf;

/// A lineage event that could not be built or delivered.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    /// The `--lineage` target is neither a file path nor an `http(s)://` URL, or is malformed.
    #[error("invalid lineage target `{target}`: {reason}")]
    Target {
        /// The target as given (without any password it carried).
        target: String,
        /// What is wrong.
        reason: String,
    },
    /// A dataset cannot be named by the OpenLineage naming conventions.
    #[error("cannot name the lineage dataset of {what}: {reason}")]
    Naming {
        /// The location or address being named.
        what: String,
        /// What is missing.
        reason: String,
    },
    /// A table's columns could not be derived from its definition.
    #[error("cannot describe the columns of the {table} table: {reason}")]
    Columns {
        /// The table kind.
        table: &'static str,
        /// The sink's error.
        reason: String,
    },
    /// An event could not be serialized (a bug, not bad input).
    #[error("cannot serialize a lineage event: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The events file could not be opened or created.
    #[error("cannot open the lineage file {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An event could not be appended to the events file or synced to disk.
    #[error("cannot append to the lineage file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP endpoint could not be reached or did not answer in time.
    #[error("cannot POST the lineage event to {url}: {source}")]
    Http {
        /// The endpoint, without credentials.
        url: String,
        /// reqwest's error (connection refused, timeout, ...).
        #[source]
        source: reqwest::Error,
    },
    /// The HTTP endpoint answered with a status other than 2xx.
    #[error("the lineage endpoint {url} refused the event: HTTP {status}: {body}")]
    Status {
        /// The endpoint, without credentials.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body (at most 512 bytes), usually the reason.
        body: String,
    },
}
