//! The encoder: typed records to wire-format Avro values (data generator, tests, benches).
//!
//! It writes Avro binary directly, walking the writer schema's fields by name, so it needs
//! no intermediate `apache_avro::types::Value` (and is an implementation independent of the
//! decoder's, which the round-trip tests then cross-check). Supported field types are those
//! of the reference schemas: string, long / timestamp-millis, decimal (bytes or fixed),
//! map of strings, and unions of these with null.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, RecordField};
use rust_decimal::Decimal;

use super::decimal;
use super::error::{CodecError, RegistryError};
use super::registry::{RecordKind, RegisteredSchema, SchemaResolver};
use super::types::schema_name;
use super::wire;
use crate::record::{MarketData, Record, Transaction, UserEvent};

/// Encodes [`Record`]s as Confluent wire-format Avro values, schemas cached by id.
pub struct Encoder {
    resolver: Arc<dyn SchemaResolver>,
    cache: HashMap<u32, Arc<RegisteredSchema>>,
}

impl Encoder {
    /// An encoder asking `resolver` for the schemas it does not know yet.
    pub fn new(resolver: Arc<dyn SchemaResolver>) -> Self {
        Encoder { resolver, cache: HashMap::new() }
    }

    /// Append the wire-format value of `record` under `schema_id` to `out`.
    ///
    /// On error `out` is left as it was. A transaction field that is `None` is
    /// [`CodecError::Unrepresentable`] with the reference schema (which has no nulls).
    pub fn encode(&mut self, schema_id: u32, record: &Record, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let schema = match self.cache.entry(schema_id) {
            Entry::Occupied(hit) => hit.into_mut(),
            Entry::Vacant(slot) => match self.resolver.schema_by_id(schema_id) {
                Ok(schema) => slot.insert(schema),
                Err(RegistryError::NotFound { .. }) => {
                    return Err(CodecError::UnknownSchemaId { id: schema_id });
                }
                Err(e) => return Err(CodecError::Registry(e)),
            },
        };
        let start = out.len();
        wire::write_header(schema_id, out);
        let written = encode_body(schema, record, out);
        if written.is_err() {
            out.truncate(start);
        }
        written
    }

    /// The wire-format value of `record` under `schema_id`, in a new vector.
    pub fn encode_to_vec(&mut self, schema_id: u32, record: &Record) -> Result<Vec<u8>, CodecError> {
        let mut out = Vec::with_capacity(128);
        self.encode(schema_id, record, &mut out)?;
        Ok(out)
    }
}

/// Append the Avro body (no header) of `record` written with `schema` to `out`.
///
/// On error `out` may hold a partial body.
pub fn encode_body(schema: &RegisteredSchema, record: &Record, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let Schema::Record(writer) = &schema.schema else {
        return Err(CodecError::UnsupportedRecord { name: schema.kind.full_name().to_owned() });
    };
    let fields = &writer.fields;
    match (&schema.kind, record) {
        (RecordKind::Transaction, Record::Transaction(t)) => {
            write_fields(out, fields, |name| transaction_field(t, name))
        }
        (RecordKind::MarketData, Record::MarketData(m)) => {
            write_fields(out, fields, |name| market_data_field(m, name))
        }
        (RecordKind::UserEvent, Record::UserEvent(u)) => {
            write_fields(out, fields, |name| user_event_field(u, name))
        }
        (RecordKind::Unknown(name), _) => Err(CodecError::UnsupportedRecord { name: name.clone() }),
        (kind, record) => Err(CodecError::RecordKindMismatch {
            schema_id: schema.id,
            schema: kind.full_name().to_owned(),
            record: match record {
                Record::Transaction(_) => "Transaction",
                Record::MarketData(_) => "MarketData",
                Record::UserEvent(_) => "UserEvent",
            },
        }),
    }
}

/// Write every field of the writer schema, in its order, taking values by name.
fn write_fields<'r>(
    out: &mut Vec<u8>,
    fields: &[RecordField],
    value_of: impl Fn(&str) -> Option<(&'static str, Field<'r>)>,
) -> Result<(), CodecError> {
    for field in fields {
        let (name, value) =
            value_of(&field.name).ok_or_else(|| CodecError::UnknownField { name: field.name.clone() })?;
        write(out, name, &field.schema, value)?;
    }
    Ok(())
}

/// A record field's value, borrowed.
#[derive(Clone, Copy)]
enum Field<'r> {
    Null,
    Str(&'r str),
    Long(i64),
    Decimal(Decimal),
    Map(&'r BTreeMap<String, String>),
}

impl Field<'_> {
    fn name(&self) -> &'static str {
        match self {
            Field::Null => "null",
            Field::Str(_) => "string",
            Field::Long(_) => "long",
            Field::Decimal(_) => "decimal",
            Field::Map(_) => "map of strings",
        }
    }
}

fn opt<'r, T: ?Sized>(v: Option<&'r T>, f: impl FnOnce(&'r T) -> Field<'r>) -> Field<'r> {
    v.map_or(Field::Null, f)
}

fn transaction_field<'r>(t: &'r Transaction, name: &str) -> Option<(&'static str, Field<'r>)> {
    Some(match name {
        "transactionId" => ("transactionId", opt(t.transaction_id.as_deref(), Field::Str)),
        "userId" => ("userId", opt(t.user_id.as_deref(), Field::Str)),
        "amount" => ("amount", opt(t.amount.as_ref(), |d| Field::Decimal(*d))),
        "currency" => ("currency", opt(t.currency.as_deref(), Field::Str)),
        "timestamp" => ("timestamp", opt(t.timestamp.as_ref(), |v| Field::Long(*v))),
        "metadata" => ("metadata", opt(t.metadata.as_deref(), Field::Map)),
        _ => return None,
    })
}

fn market_data_field<'r>(m: &'r MarketData, name: &str) -> Option<(&'static str, Field<'r>)> {
    Some(match name {
        "symbol" => ("symbol", Field::Str(&m.symbol)),
        "price" => ("price", Field::Decimal(m.price)),
        "currency" => ("currency", Field::Str(&m.currency)),
        "timestamp" => ("timestamp", Field::Long(m.timestamp)),
        _ => return None,
    })
}

fn user_event_field<'r>(u: &'r UserEvent, name: &str) -> Option<(&'static str, Field<'r>)> {
    Some(match name {
        "userId" => ("userId", Field::Str(&u.user_id)),
        "eventType" => ("eventType", Field::Str(&u.event_type)),
        "device" => ("device", opt(u.device.as_deref(), Field::Str)),
        "country" => ("country", opt(u.country.as_deref(), Field::Str)),
        "ip" => ("ip", opt(u.ip.as_deref(), Field::Str)),
        "timestamp" => ("timestamp", Field::Long(u.timestamp)),
        _ => return None,
    })
}

/// Whether `schema` (not a union) can hold `value`.
fn accepts(schema: &Schema, value: &Field<'_>) -> bool {
    match (schema, value) {
        (Schema::Null, Field::Null)
        | (Schema::String, Field::Str(_))
        | (Schema::Long | Schema::TimestampMillis, Field::Long(_))
        | (Schema::Decimal(_), Field::Decimal(_)) => true,
        (Schema::Map(m), Field::Map(_)) => matches!(*m.types, Schema::String),
        _ => false,
    }
}

fn write(
    out: &mut Vec<u8>,
    field: &'static str,
    schema: &Schema,
    value: Field<'_>,
) -> Result<(), CodecError> {
    match (schema, value) {
        (Schema::Union(union), value) => {
            let variants = union.variants();
            let Some(index) = variants.iter().position(|s| accepts(s, &value)) else {
                return Err(match value {
                    Field::Null => CodecError::Unrepresentable { field },
                    value => CodecError::TypeMismatch { field, expected: "union", found: value.name() },
                });
            };
            write_long(out, index as i64);
            write(out, field, &variants[index], value)
        }
        (Schema::Null, Field::Null) => Ok(()),
        (_, Field::Null) => Err(CodecError::Unrepresentable { field }),
        (Schema::String, Field::Str(s)) => {
            write_bytes(out, s.as_bytes());
            Ok(())
        }
        (Schema::Long | Schema::TimestampMillis, Field::Long(v)) => {
            write_long(out, v);
            Ok(())
        }
        (Schema::Decimal(ds), Field::Decimal(d)) => {
            let mantissa = decimal::encode(field, &d, ds.precision, ds.scale)?;
            let (buf, start) = decimal::minimal_be(mantissa);
            let bytes = &buf[start..];
            match &ds.inner {
                InnerDecimalSchema::Bytes => write_bytes(out, bytes),
                InnerDecimalSchema::Fixed(fixed) => {
                    let pad =
                        fixed.size.checked_sub(bytes.len()).ok_or(CodecError::DecimalOutOfRange { field })?;
                    let fill = if mantissa < 0 { 0xFF } else { 0x00 };
                    out.resize(out.len() + pad, fill);
                    out.extend_from_slice(bytes);
                }
            }
            Ok(())
        }
        (Schema::Map(m), Field::Map(map)) if matches!(*m.types, Schema::String) => {
            if !map.is_empty() {
                write_long(out, map.len() as i64);
                for (k, v) in map {
                    write_bytes(out, k.as_bytes());
                    write_bytes(out, v.as_bytes());
                }
            }
            out.push(0);
            Ok(())
        }
        (schema, value) => {
            Err(CodecError::TypeMismatch { field, expected: schema_name(schema), found: value.name() })
        }
    }
}

/// Avro `long`: zig-zag, then base-128 varint, least significant group first.
#[inline]
fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z > 0x7F {
        out.push((z as u8 & 0x7F) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Avro `bytes` / `string`: length as a long, then the bytes.
#[inline]
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
