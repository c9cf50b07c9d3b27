//! Confluent wire format and Avro: Kafka values to typed records.
//!
//! A Kafka value is `0x00`, a 4-byte big-endian schema id, then the Avro binary body written
//! with that schema ([`wire`]). The [`Decoder`] asks a [`SchemaResolver`] for the writer
//! schema of an id once, caches it, decodes the body with apache-avro into a generic value
//! and maps it, by field name, onto the typed [`Record`](crate::record::Record) of the
//! schema's [`RecordKind`] (decided by the record's full name). Decimals are exact: the
//! scale comes from the writer schema, transaction amounts end at scale 2, market prices at
//! scale 6, and a value that does not fit `rust_decimal` is an error, never rounded.
//!
//! Every failure is a [`CodecError`] with a stable [`reason`](CodecError::reason) (the
//! dead-letter header) and [`is_retryable`](CodecError::is_retryable): a registry that is
//! down is retried, bad bytes go to the dead-letter topic.
//!
//! The [`Encoder`] is the inverse (data generator, tests, benches). Registries: a Confluent
//! REST client ([`RestRegistry`]), the `schemas/` folder ([`LocalRegistry`], also compiled
//! into the binary), and test doubles ([`FixedRegistry`], [`FailingRegistry`]).

mod convert;
mod decimal;
mod decode;
mod encode;
mod error;
pub mod registry;
mod types;
pub mod wire;

pub use self::decode::{Decoded, Decoder, decode_body};
pub use self::encode::{Encoder, encode_body};
pub use self::error::{CodecError, RegistryError};
pub use self::registry::{
    FailingRegistry, FixedRegistry, LocalRegistry, RecordKind, RegisteredSchema, RestRegistry, SchemaResolver,
};
