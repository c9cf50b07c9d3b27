//! Schema registries: where the codec finds the writer schema of a schema id.
//!
//! The codec only sees the [`SchemaResolver`] trait. Its implementations are a Confluent REST
//! registry client ([`RestRegistry`]), the repository's `schemas/` folder ([`LocalRegistry`],
//! also embedded in the binary), and test doubles ([`FixedRegistry`], [`FailingRegistry`]).
//! Resolvers hand out parsed schemas behind an [`Arc`], so callers can cache them by id and
//! never parse a schema per message.

mod fixed;
mod local;
mod rest;
#[cfg(test)]
mod test_server;

use std::sync::Arc;

use apache_avro::Schema;

pub use self::fixed::{FailingRegistry, FixedRegistry};
pub use self::local::{LocalRegistry, MANIFEST_FILE, ManifestEntry};
pub use self::rest::{RestRegistry, SCHEMA_REGISTRY_MEDIA_TYPE};
use super::error::RegistryError;
use super::types::schema_name;

/// Full Avro name of the financial transaction record.
pub const TRANSACTION_RECORD: &str = "com.fintech.events.FinancialTransaction";
/// Full Avro name of the market data record.
pub const MARKET_DATA_RECORD: &str = "com.fintech.events.MarketData";
/// Full Avro name of the user event record.
pub const USER_EVENT_RECORD: &str = "com.fintech.events.UserEvent";

/// Looks up writer schemas, the way a Confluent Schema Registry does.
pub trait SchemaResolver: Send + Sync {
    /// The schema registered under `id` ([`RegistryError::NotFound`] if there is none).
    fn schema_by_id(&self, id: u32) -> Result<Arc<RegisteredSchema>, RegistryError>;
    /// All subjects.
    fn subjects(&self) -> Result<Vec<String>, RegistryError>;
    /// The versions registered under `subject`, ascending.
    fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError>;
    /// The latest version registered under `subject`.
    fn latest(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError>;
}

/// A parsed writer schema and where it is registered.
#[derive(Debug, Clone)]
pub struct RegisteredSchema {
    /// The schema id (the one in the wire-format header).
    pub id: u32,
    /// The subject, when the lookup knew it (lookups by id do not).
    pub subject: Option<String>,
    /// The version within the subject, when the lookup knew it.
    pub version: Option<u32>,
    /// The parsed schema.
    pub schema: Schema,
    /// Which record type the schema describes.
    pub kind: RecordKind,
}

impl RegisteredSchema {
    /// Wrap a parsed schema; its [`RecordKind`] is decided by its full name.
    pub fn new(id: u32, subject: Option<String>, version: Option<u32>, schema: Schema) -> Self {
        let kind = RecordKind::of(&schema);
        RegisteredSchema { id, subject, version, schema, kind }
    }

    /// Parse the JSON text of an Avro schema ([`RegistryError::BadSchema`] if it is invalid).
    pub fn parse(
        id: u32,
        subject: Option<String>,
        version: Option<u32>,
        avsc: &str,
    ) -> Result<Self, RegistryError> {
        let schema =
            Schema::parse_str(avsc).map_err(|e| RegistryError::BadSchema { id, message: e.to_string() })?;
        Ok(Self::new(id, subject, version, schema))
    }
}

/// The record types the codec can decode, decided by the schema's full name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// `com.fintech.events.FinancialTransaction`.
    Transaction,
    /// `com.fintech.events.MarketData`.
    MarketData,
    /// `com.fintech.events.UserEvent`.
    UserEvent,
    /// Anything else: the full name of the record, or the type name of a non-record schema.
    Unknown(String),
}

impl RecordKind {
    /// The kind of a schema, by its full name.
    pub fn of(schema: &Schema) -> Self {
        match schema {
            Schema::Record(record) => Self::from_full_name(&record.name.fullname(None)),
            other => RecordKind::Unknown(schema_name(other).to_owned()),
        }
    }

    /// The kind a full record name stands for.
    pub fn from_full_name(name: &str) -> Self {
        match name {
            TRANSACTION_RECORD => RecordKind::Transaction,
            MARKET_DATA_RECORD => RecordKind::MarketData,
            USER_EVENT_RECORD => RecordKind::UserEvent,
            other => RecordKind::Unknown(other.to_owned()),
        }
    }

    /// The full name this kind stands for.
    pub fn full_name(&self) -> &str {
        match self {
            RecordKind::Transaction => TRANSACTION_RECORD,
            RecordKind::MarketData => MARKET_DATA_RECORD,
            RecordKind::UserEvent => USER_EVENT_RECORD,
            RecordKind::Unknown(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_decided_by_full_name() {
        let parse = |s: &str| RegisteredSchema::parse(1, None, None, s).unwrap().kind;
        let named = |ns: &str, name: &str| {
            format!(r#"{{"type":"record","name":"{name}","namespace":"{ns}","fields":[]}}"#)
        };
        assert_eq!(parse(&named("com.fintech.events", "FinancialTransaction")), RecordKind::Transaction);
        assert_eq!(parse(&named("com.fintech.events", "MarketData")), RecordKind::MarketData);
        assert_eq!(parse(&named("com.fintech.events", "UserEvent")), RecordKind::UserEvent);
        // Same simple name, other namespace: not ours.
        assert_eq!(
            parse(&named("com.other", "UserEvent")),
            RecordKind::Unknown("com.other.UserEvent".into())
        );
        assert_eq!(parse(r#""string""#), RecordKind::Unknown("string".into()));
        assert_eq!(RecordKind::MarketData.full_name(), MARKET_DATA_RECORD);
    }

    #[test]
    fn invalid_schema_text_is_bad_schema() {
        let err = RegisteredSchema::parse(4, None, None, r#"{"type":"nope"}"#).unwrap_err();
        assert!(matches!(err, RegistryError::BadSchema { id: 4, .. }), "{err}");
    }
}
