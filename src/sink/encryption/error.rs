//! Why a table could not be encrypted or decrypted: a missing or wrong key, or a table that cannot take it.

use deltalake::parquet::errors::ParquetError;

/// A key that is missing or wrong, or a table that cannot be written or read as asked.
/// Never retryable: the environment or the spec has to change.
#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    /// `encryption_required` is set and the key's variable is not (user error).
    #[error(
        "governance_policies.data_retention.encryption_required is set, but ${var} is not: put the \
         table key there (64 hex digits, a 256-bit AES key), or turn encryption_required off"
    )]
    KeyNotSet {
        /// The variable's name.
        var: String,
    },
    /// The key's variable does not hold 64 hexadecimal digits (user error). The value is
    /// never shown.
    #[error("${var} must hold a 256-bit key as 64 hexadecimal digits; it holds {what}")]
    BadKey {
        /// The variable's name.
        var: String,
        /// What it holds instead, without its value (e.g. `40 characters`, `a non-hex character`).
        what: String,
    },
    /// An encrypted table (or file) is read or written without its key in the environment.
    #[error("{what} is encrypted ({algorithm}, key id {key_id}): set ${var} to its key (64 hex digits)")]
    TableKeyNotSet {
        /// The table or file.
        what: String,
        /// The algorithm recorded with it.
        algorithm: String,
        /// The key id recorded with it.
        key_id: String,
        /// The variable its writer named.
        var: String,
    },
    /// The key at hand is not the one the table (or file) was encrypted with.
    #[error(
        "{what} is encrypted with key id {expected}; the key in ${var} has id {found}: set ${var} to the table's key"
    )]
    WrongKey {
        /// The table or file.
        what: String,
        /// The table's key id.
        expected: String,
        /// The variable holding the other key.
        var: String,
        /// That key's id.
        found: String,
    },
    /// `encryption_required` is set (or the source is encrypted) but the existing table holds
    /// plaintext files.
    #[error(
        "table `{table}` holds plaintext files: trustflow does not add encrypted files to it (nor \
         leave its plaintext as it is) for encryption_required or an encrypted source; write to a \
         new location"
    )]
    PlaintextTable {
        /// The table.
        table: String,
    },
    /// The table records an encryption trustflow does not know.
    #[error("table `{table}` records encryption `{algorithm}`, which this trustflow cannot read or write")]
    UnknownAlgorithm {
        /// The table.
        table: String,
        /// What it records.
        algorithm: String,
    },
    /// The table records encryption but not its key id (its metadata was edited).
    #[error("table `{table}` is marked encrypted but records no key id ({property})")]
    IncompleteMarker {
        /// The table.
        table: String,
        /// The missing property.
        property: &'static str,
    },
    /// A target that cannot be encrypted while encryption_required is set.
    #[error("encryption_required is set, and {target} cannot be encrypted: {reason}")]
    Unencryptable {
        /// What would be written (e.g. `the output topic `quality-out``).
        target: String,
        /// Why it cannot be encrypted, and what to do.
        reason: String,
    },
    /// The parquet crate refused the encryption or decryption settings.
    #[error("Parquet encryption settings: {0}")]
    Parquet(#[from] ParquetError),
}
