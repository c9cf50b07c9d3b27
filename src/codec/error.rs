//! Errors of the codec and of the schema registries, with their dead-letter reason codes.
//!
//! Every error says whether it is about the *bytes* (the value can never be decoded: it goes
//! to the dead-letter topic with [`CodecError::reason`] as its reason header) or about the
//! *environment* (the registry is down: retrying the same value later may succeed), see
//! [`CodecError::is_retryable`].

use std::path::PathBuf;
use std::sync::Arc;

/// What can go wrong turning Kafka values into records and back.
#[derive(thiserror::Error, Debug, Clone)]
pub enum CodecError {
    /// The value does not start with the Confluent magic byte 0.
    #[error("bad magic byte {found:#04x}: not a Confluent wire-format value")]
    BadMagicByte {
        /// The first byte of the value.
        found: u8,
    },

    /// The value is shorter than the 5-byte wire-format header.
    #[error("value of {len} bytes is shorter than the 5-byte wire-format header")]
    Truncated {
        /// Length of the value.
        len: usize,
    },

    /// The registry does not know the schema id of the header.
    #[error("schema id {id} is not registered")]
    UnknownSchemaId {
        /// The schema id read from the header.
        id: u32,
    },

    /// The registry could not be asked (see [`RegistryError`] for which failures are retryable).
    #[error("schema registry: {0}")]
    Registry(#[from] RegistryError),

    /// The Avro body does not decode with its writer schema (including a body that ends early).
    #[error("Avro body does not match writer schema {schema_id}: {message}")]
    AvroBody {
        /// The writer schema id.
        schema_id: u32,
        /// What the Avro decoder reported.
        message: String,
    },

    /// Bytes are left over after the record was decoded.
    #[error("{count} trailing bytes after the record of schema {schema_id}")]
    TrailingBytes {
        /// The writer schema id.
        schema_id: u32,
        /// How many bytes were left.
        count: usize,
    },

    /// A field has a type the record cannot hold (writer schema and record disagree).
    #[error("field `{field}`: expected {expected}, found {found}")]
    TypeMismatch {
        /// The Avro field name.
        field: &'static str,
        /// The type the record needs (decode) or the schema wants (encode).
        expected: &'static str,
        /// The type that was there.
        found: &'static str,
    },

    /// The writer schema lacks a field that has no default.
    #[error("field `{field}` is missing from the writer schema and has no default")]
    MissingField {
        /// The Avro field name.
        field: &'static str,
    },

    /// A decimal does not fit: beyond 28 significant digits (decode) or the schema's
    /// precision or fixed size (encode).
    #[error("field `{field}`: decimal out of range")]
    DecimalOutOfRange {
        /// The Avro field name.
        field: &'static str,
    },

    /// A decimal cannot be brought to the required scale without dropping non-zero digits.
    #[error("field `{field}`: decimal of scale {from} cannot be rescaled to {to} exactly")]
    DecimalPrecisionLoss {
        /// The Avro field name.
        field: &'static str,
        /// The scale of the value.
        from: u32,
        /// The scale required.
        to: u32,
    },

    /// The writer schema is not one of the record types the codec knows.
    #[error("unsupported record type `{name}`")]
    UnsupportedRecord {
        /// The full name of the writer schema (or its type, when it is not a record).
        name: String,
    },

    /// A record value cannot be written with the schema (a `None` where the schema has no null).
    #[error("field `{field}`: no value, and the schema cannot represent null")]
    Unrepresentable {
        /// The Avro field name.
        field: &'static str,
    },

    /// The writer schema has a field records of this kind have no value for (encode side).
    #[error("the schema has a field `{name}` that the record has no value for")]
    UnknownField {
        /// The schema's field name.
        name: String,
    },

    /// The record asked to be encoded is not of the schema's kind (encode side).
    #[error("schema {schema_id} is `{schema}`, cannot encode a {record} with it")]
    RecordKindMismatch {
        /// The schema id asked for.
        schema_id: u32,
        /// The schema's full name.
        schema: String,
        /// The kind of record given.
        record: &'static str,
    },
}

impl CodecError {
    /// A short, stable, snake_case code for this error: the dead-letter reason header.
    pub fn reason(&self) -> &'static str {
        match self {
            CodecError::BadMagicByte { .. } => "bad_magic_byte",
            CodecError::Truncated { .. } => "truncated",
            CodecError::UnknownSchemaId { .. } => "unknown_schema_id",
            CodecError::Registry(e) => e.reason(),
            CodecError::AvroBody { .. } => "invalid_avro_body",
            CodecError::TrailingBytes { .. } => "trailing_bytes",
            CodecError::TypeMismatch { .. } => "type_mismatch",
            CodecError::MissingField { .. } => "missing_field",
            CodecError::DecimalOutOfRange { .. } => "decimal_out_of_range",
            CodecError::DecimalPrecisionLoss { .. } => "decimal_precision_loss",
            CodecError::UnsupportedRecord { .. } => "unsupported_record",
            CodecError::Unrepresentable { .. } => "unrepresentable",
            CodecError::UnknownField { .. } => "unknown_field",
            CodecError::RecordKindMismatch { .. } => "record_kind_mismatch",
        }
    }

    /// Whether decoding the same value later may succeed (the registry was unreachable or
    /// failed), as opposed to a problem with the bytes themselves (dead-letter them).
    pub fn is_retryable(&self) -> bool {
        match self {
            CodecError::Registry(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// What can go wrong asking a schema registry (REST, local folder, or a test double).
#[derive(thiserror::Error, Debug, Clone)]
pub enum RegistryError {
    /// The registry answered that the schema, subject or version does not exist.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, and the registry's message.
        what: String,
    },

    /// The registry answered with an error status other than 404.
    #[error("HTTP {status}{}: {message}", code.map(|c| format!(" (error code {c})")).unwrap_or_default())]
    Http {
        /// HTTP status code.
        status: u16,
        /// Confluent `error_code` of the body, when there was one.
        code: Option<u32>,
        /// The registry's message (or the raw body).
        message: String,
    },

    /// The registry could not be reached (connection refused, DNS, timeout, broken body).
    #[error("cannot reach {url}: {message}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The client's error chain.
        message: String,
    },

    /// The registry's answer (or a local manifest) is not what the API documents.
    #[error("malformed registry response: {message}")]
    Malformed {
        /// What was wrong, and where.
        message: String,
    },

    /// A registered schema is not a valid Avro schema (or not Avro at all).
    #[error("schema {id} is not a usable Avro schema: {message}")]
    BadSchema {
        /// The schema id.
        id: u32,
        /// The parser's message.
        message: String,
    },

    /// The registry URL is not a usable base URL.
    #[error("bad registry URL `{url}`: {message}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is unusable.
        message: String,
    },

    /// A local registry file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error (shared, so the error stays cloneable).
        #[source]
        source: Arc<std::io::Error>,
    },
}

impl RegistryError {
    /// A short, stable, snake_case code for this error (dead-letter reason, metrics label).
    pub fn reason(&self) -> &'static str {
        match self {
            RegistryError::NotFound { .. } => "registry_not_found",
            RegistryError::Http { .. } => "registry_http_error",
            RegistryError::Unreachable { .. } => "registry_unreachable",
            RegistryError::Malformed { .. } => "registry_malformed_response",
            RegistryError::BadSchema { .. } => "registry_bad_schema",
            RegistryError::BadUrl { .. } => "registry_bad_url",
            RegistryError::Io { .. } => "registry_io",
        }
    }

    /// Whether asking again later may succeed: the registry was unreachable, overloaded
    /// (429), timed out (408) or failed (5xx). Not found, malformed and bad schemas are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Unreachable { .. } => true,
            RegistryError::Http { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            RegistryError::NotFound { .. }
            | RegistryError::Malformed { .. }
            | RegistryError::BadSchema { .. }
            | RegistryError::BadUrl { .. }
            | RegistryError::Io { .. } => false,
        }
    }

    /// A [`RegistryError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RegistryError::Io { path: path.into(), source: Arc::new(source) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_snake_case_and_distinct() {
        let errors = [
            CodecError::BadMagicByte { found: 1 },
            CodecError::Truncated { len: 2 },
            CodecError::UnknownSchemaId { id: 3 },
            CodecError::AvroBody { schema_id: 1, message: String::new() },
            CodecError::TrailingBytes { schema_id: 1, count: 1 },
            CodecError::TypeMismatch { field: "a", expected: "string", found: "int" },
            CodecError::MissingField { field: "a" },
            CodecError::DecimalOutOfRange { field: "a" },
            CodecError::DecimalPrecisionLoss { field: "a", from: 3, to: 2 },
            CodecError::UnsupportedRecord { name: "x".into() },
            CodecError::Unrepresentable { field: "a" },
            CodecError::UnknownField { name: "x".into() },
            CodecError::RecordKindMismatch { schema_id: 1, schema: "x".into(), record: "y" },
            CodecError::Registry(RegistryError::NotFound { what: "x".into() }),
            CodecError::Registry(RegistryError::io("f", std::io::Error::other("x"))),
        ];
        let mut seen = std::collections::HashSet::new();
        for e in &errors {
            let r = e.reason();
            assert!(r.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{r}");
            assert!(seen.insert(r), "duplicate reason {r}");
            assert!(!e.is_retryable(), "{e}");
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn registry_retryability() {
        let http = |status| RegistryError::Http { status, code: None, message: String::new() };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(422).is_retryable());
        assert!(!http(401).is_retryable());
        let unreachable = RegistryError::Unreachable { url: "http://x".into(), message: "refused".into() };
        assert!(unreachable.is_retryable());
        assert!(CodecError::Registry(unreachable).is_retryable());
        assert!(CodecError::Registry(http(502)).is_retryable());
        assert!(!CodecError::UnknownSchemaId { id: 9 }.is_retryable());
    }

    #[test]
    fn http_error_display_includes_code() {
        let e = RegistryError::Http {
            status: 500,
            code: Some(50001),
            message: "Error in the backend data store".into(),
        };
        assert_eq!(e.to_string(), "HTTP 500 (error code 50001): Error in the backend data store");
    }
}
