//! Encryption at rest: trustflow's tables as Parquet modular encryption, AES-256-GCM (`AES_GCM_V1`).
//!
//! Under `governance_policies.data_retention.encryption_required` every data file trustflow
//! writes is encrypted with one 256-bit key from the environment ([`TableKey`]): the footer
//! and every column (uniform encryption), the footer encrypted too (`PARE` files), so a
//! reader without the key learns nothing but the file's size. Each file's footer key
//! metadata names the key's id and variable ([`FILE_KEY_FORMAT`]).
//!
//! The table is the source of truth: a table created encrypted records it in its Delta
//! configuration ([`PROPERTY`], [`KEY_ID_PROPERTY`], [`KEY_ENV_PROPERTY`]), and every writer
//! and reader checks it first ([`writer_key`], [`reader_key`]): a process without the key
//! is refused with the variable to set, a wrong key is named as such, a plaintext table
//! is never appended to with encrypted files nor an encrypted table with plaintext ones.
//! The table also gets `delta.dataSkippingNumIndexedCols = 0`, and trustflow strips the
//! per-column min/max/null statistics from every `add` of an encrypted table
//! ([`strip_column_stats`]): Delta keeps them in plain JSON in `_delta_log`, where they
//! would repeat values the files encrypt.
//!
//! Modules: [`key`] the key, its id and the keyring; [`read`] decrypting readers;
//! [`error`].

pub mod error;
pub mod key;
pub mod read;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::kernel::Add;
use deltalake::parquet::encryption::encrypt::FileEncryptionProperties;
use serde::{Deserialize, Serialize};

pub use error::EncryptionError;
pub use key::{DEFAULT_KEY_ENV, TableKey, key_for, remember};

/// The algorithm: Parquet's AES-GCM for every module (pages and metadata), 256-bit key.
pub const ALGORITHM: &str = "AES_GCM_V1";
/// Table property: the algorithm of an encrypted table.
pub const PROPERTY: &str = "trustflow.encryption";
/// Table property: the id of the table's key ([`TableKey::id`]).
pub const KEY_ID_PROPERTY: &str = "trustflow.encryption.keyId";
/// Table property: the variable the table's writer took the key from.
pub const KEY_ENV_PROPERTY: &str = "trustflow.encryption.keyEnv";
/// The `trustflow` value of a file's footer key metadata (JSON
/// `{"trustflow":"AES_GCM_V1/1","keyId":..,"keyEnv":..}`).
pub const FILE_KEY_FORMAT: &str = "AES_GCM_V1/1";

/// The footer key metadata of every encrypted file: which key, and where its writer found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileKeyMetadata {
    /// [`FILE_KEY_FORMAT`].
    pub trustflow: String,
    /// The key's id.
    #[serde(rename = "keyId")]
    pub key_id: String,
    /// The variable it came from.
    #[serde(rename = "keyEnv")]
    pub key_env: String,
}

/// What a table's configuration says about its encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The algorithm ([`ALGORITHM`]).
    pub algorithm: String,
    /// The key's id.
    pub key_id: String,
    /// The variable its writer took the key from.
    pub var: String,
}

/// The encryption marker in `configuration` (a table's Delta configuration), if any.
pub fn marker(
    table: &str,
    configuration: &HashMap<String, String>,
) -> Result<Option<Marker>, EncryptionError> {
    let Some(algorithm) = configuration.get(PROPERTY) else { return Ok(None) };
    if algorithm != ALGORITHM {
        return Err(EncryptionError::UnknownAlgorithm {
            table: table.to_owned(),
            algorithm: algorithm.clone(),
        });
    }
    let key_id = configuration.get(KEY_ID_PROPERTY).filter(|id| !id.is_empty()).ok_or_else(|| {
        EncryptionError::IncompleteMarker { table: table.to_owned(), property: KEY_ID_PROPERTY }
    })?;
    let var = configuration.get(KEY_ENV_PROPERTY).filter(|v| !v.is_empty()).cloned();
    Ok(Some(Marker {
        algorithm: algorithm.clone(),
        key_id: key_id.clone(),
        var: var.unwrap_or_else(|| DEFAULT_KEY_ENV.to_owned()),
    }))
}

/// The configuration of a table created encrypted with `key`: the marker, and no column
/// statistics in the log.
pub fn table_configuration(key: &TableKey) -> Vec<(String, Option<String>)> {
    vec![
        (PROPERTY.to_owned(), Some(ALGORITHM.to_owned())),
        (KEY_ID_PROPERTY.to_owned(), Some(key.id().to_owned())),
        (KEY_ENV_PROPERTY.to_owned(), Some(key.var().to_owned())),
        ("delta.dataSkippingNumIndexedCols".to_owned(), Some("0".to_owned())),
    ]
}

/// The key a writer must encrypt the existing table `table` with, given its configuration
/// and the key the writer was given (`required`: the spec says encryption_required).
///
/// * An encrypted table: its own key, which must be `required` if one was given; without
///   one, from the keyring or the variable the table names. Refused when missing or wrong:
///   an encrypted table never gets plaintext files.
/// * A plaintext table: `None`, unless a key is required: then refused
///   ([`EncryptionError::PlaintextTable`]).
pub fn writer_key(
    table: &str,
    configuration: &HashMap<String, String>,
    required: Option<&TableKey>,
) -> Result<Option<TableKey>, EncryptionError> {
    match (marker(table, configuration)?, required) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(EncryptionError::PlaintextTable { table: table.to_owned() }),
        (Some(marker), Some(key)) if key.id() != marker.key_id => Err(EncryptionError::WrongKey {
            what: format!("table `{table}`"),
            expected: marker.key_id,
            var: key.var().to_owned(),
            found: key.id().to_owned(),
        }),
        (Some(_), Some(key)) => {
            remember(key);
            Ok(Some(key.clone()))
        }
        (Some(marker), None) => {
            key_for(&format!("table `{table}`"), &marker.algorithm, &marker.key_id, &marker.var).map(Some)
        }
    }
}

/// The key needed to read the table `table`, if its configuration says it is encrypted:
/// from the keyring or the variable the table names (a clear error when it is not set or
/// holds another key).
pub fn reader_key(
    table: &str,
    configuration: &HashMap<String, String>,
) -> Result<Option<TableKey>, EncryptionError> {
    match marker(table, configuration)? {
        None => Ok(None),
        Some(marker) => {
            key_for(&format!("table `{table}`"), &marker.algorithm, &marker.key_id, &marker.var).map(Some)
        }
    }
}

/// Parquet encryption with `key`: AES-GCM, footer and all columns under the one key, the
/// footer encrypted, the key's id and variable as footer key metadata.
pub fn file_encryption(key: &TableKey) -> Result<Arc<FileEncryptionProperties>, EncryptionError> {
    let metadata = FileKeyMetadata {
        trustflow: FILE_KEY_FORMAT.to_owned(),
        key_id: key.id().to_owned(),
        key_env: key.var().to_owned(),
    };
    let metadata = serde_json::to_vec(&metadata).map_err(|e| {
        EncryptionError::Parquet(deltalake::parquet::errors::ParquetError::General(e.to_string()))
    })?;
    Ok(FileEncryptionProperties::builder(key.bytes())
        .with_plaintext_footer(false)
        .with_footer_key_metadata(metadata)
        .build()?)
}

/// Leaves only `numRecords` of an `add`'s statistics: the per-column minimum, maximum and
/// null counts are plain JSON in the log and would repeat values the file encrypts.
pub fn strip_column_stats(add: &mut Add) {
    let Some(stats) = add.stats.as_deref() else { return };
    let records =
        serde_json::from_str::<serde_json::Value>(stats).ok().and_then(|v| v["numRecords"].as_i64());
    add.stats = records.map(|n| serde_json::json!({ "numRecords": n }).to_string());
}
