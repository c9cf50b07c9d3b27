//! The table key: 256 bits from an environment variable, its public id, and the process's keyring.
//!
//! A key is given as 64 hexadecimal digits in a variable (by default
//! `TRUSTFLOW_ENCRYPTION_KEY`). It is never printed: `Debug` shows only its id, the first 8
//! bytes of `SHA-256("trustflow-encryption-key-id-v1" 0x1F key)` in hex, which tables and
//! files record so that a wrong key is named as such before any decryption is tried (a
//! truncated hash of a random 256-bit key reveals nothing usable about it).
//!
//! The keyring holds the keys this process was given or has read, by id: readers and
//! maintenance find a table's key there, or read it from the variable the table names.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use sha2::{Digest, Sha256};

use super::error::EncryptionError;

/// The variable read when the spec names none.
pub const DEFAULT_KEY_ENV: &str = "TRUSTFLOW_ENCRYPTION_KEY";
/// Bytes of a key: AES-256.
pub const KEY_BYTES: usize = 32;
/// Domain separation of the key id.
const KEY_ID_DOMAIN: &[u8] = b"trustflow-encryption-key-id-v1";

/// A 256-bit table key, the variable it came from, and its public id.
#[derive(Clone)]
pub struct TableKey {
    bytes: Arc<[u8; KEY_BYTES]>,
    id: String,
    var: String,
}

impl fmt::Debug for TableKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TableKey {{ id: {}, var: {}, key: <redacted> }}", self.id, self.var)
    }
}

impl PartialEq for TableKey {
    fn eq(&self, other: &TableKey) -> bool {
        self.id == other.id && self.bytes == other.bytes
    }
}

impl TableKey {
    /// The key in the variable `var`; an error names the variable, never its value.
    pub fn from_env(var: &str) -> Result<TableKey, EncryptionError> {
        match std::env::var(var) {
            Ok(text) => TableKey::from_hex(var, &text),
            Err(std::env::VarError::NotPresent) => Err(EncryptionError::KeyNotSet { var: var.to_owned() }),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(EncryptionError::BadKey { var: var.to_owned(), what: "bytes that are not text".into() })
            }
        }
    }

    /// The key written as 64 hex digits (surrounding white space ignored), said to come from
    /// the variable `var`.
    pub fn from_hex(var: &str, text: &str) -> Result<TableKey, EncryptionError> {
        let bad = |what: String| EncryptionError::BadKey { var: var.to_owned(), what };
        let text = text.trim();
        if text.len() != 2 * KEY_BYTES {
            return Err(bad(format!("{} characters", text.chars().count())));
        }
        let mut bytes = [0u8; KEY_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(high), Some(low)) => *byte = (high * 16 + low) as u8,
                _ => return Err(bad("a character that is not a hex digit".into())),
            }
        }
        Ok(TableKey::new(bytes, var))
    }

    /// A key of these bytes, said to come from the variable `var`.
    pub fn new(bytes: [u8; KEY_BYTES], var: &str) -> TableKey {
        let digest =
            Sha256::new().chain_update(KEY_ID_DOMAIN).chain_update([0x1F]).chain_update(bytes).finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        TableKey { bytes: Arc::new(bytes), id, var: var.to_owned() }
    }

    /// The key's public id (16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The variable the key came from (recorded with tables, so readers know where to look).
    pub fn var(&self) -> &str {
        &self.var
    }

    /// The key's bytes, for the parquet crate only.
    pub(super) fn bytes(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }
}

fn keyring() -> &'static RwLock<BTreeMap<String, TableKey>> {
    static KEYRING: OnceLock<RwLock<BTreeMap<String, TableKey>>> = OnceLock::new();
    KEYRING.get_or_init(|| RwLock::new(BTreeMap::new()))
}

/// Keeps `key` for the rest of the process: readers and maintenance of tables encrypted
/// with it find it without reading the environment again.
pub fn remember(key: &TableKey) {
    let mut ring = keyring().write().unwrap_or_else(|poisoned| poisoned.into_inner());
    ring.entry(key.id.clone()).or_insert_with(|| key.clone());
}

/// The key with id `key_id`, for `what` (a table or file, for errors): from the keyring, or
/// read from `var` (then kept). Refused when `var` is not set or holds another key.
pub fn key_for(what: &str, algorithm: &str, key_id: &str, var: &str) -> Result<TableKey, EncryptionError> {
    if let Some(key) = keyring().read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key_id) {
        return Ok(key.clone());
    }
    let key = match TableKey::from_env(var) {
        Ok(key) => key,
        Err(EncryptionError::KeyNotSet { var }) => {
            return Err(EncryptionError::TableKeyNotSet {
                what: what.to_owned(),
                algorithm: algorithm.to_owned(),
                key_id: key_id.to_owned(),
                var,
            });
        }
        Err(other) => return Err(other),
    };
    if key.id != key_id {
        return Err(EncryptionError::WrongKey {
            what: what.to_owned(),
            expected: key_id.to_owned(),
            var: var.to_owned(),
            found: key.id,
        });
    }
    remember(&key);
    Ok(key)
}
