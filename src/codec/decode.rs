//! The decoder: wire-format Kafka values to typed records, schemas cached by id.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;

use super::convert::to_record;
use super::error::{CodecError, RegistryError};
use super::registry::{RecordKind, RegisteredSchema, SchemaResolver};
use super::wire;
use crate::record::Record;

/// How long a final registry answer for an id (not found, not a usable schema) is repeated
/// from memory before asking again: a burst of values with a bad id must not become a
/// burst of registry requests. Retryable failures are not remembered.
const FAILED_ID_TTL: Duration = Duration::from_secs(10);

/// A decoded value: its writer schema id and its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The schema id of the wire-format header.
    pub schema_id: u32,
    /// The record.
    pub record: Record,
}

/// Decodes Confluent wire-format Avro values into [`Record`]s.
///
/// One per worker thread: it caches every writer schema it has seen, so the registry is
/// asked once per schema id, and schemas are never parsed per message.
///
/// ```
/// use std::sync::Arc;
/// use trustflow::codec::{Decoder, Encoder, LocalRegistry};
/// use trustflow::record::{Record, UserEvent};
///
/// let registry = Arc::new(LocalRegistry::embedded().unwrap());
/// let event = Record::UserEvent(UserEvent {
///     user_id: "u1".into(),
///     event_type: "LOGIN".into(),
///     device: None,
///     country: Some("DE".into()),
///     ip: None,
///     timestamp: 1_700_000_000_000,
/// });
/// let value = Encoder::new(registry.clone()).encode_to_vec(3, &event).unwrap();
/// let decoded = Decoder::new(registry).decode(&value).unwrap();
/// assert_eq!((decoded.schema_id, decoded.record), (3, event));
/// ```
pub struct Decoder {
    resolver: Arc<dyn SchemaResolver>,
    cache: HashMap<u32, Writer>,
    failed: HashMap<u32, (Instant, CodecError)>,
}

/// A cached writer schema.
struct Writer {
    schema: Arc<RegisteredSchema>,
    /// No named-type references: decoding needs no name table (built per datum otherwise).
    self_contained: bool,
}

impl Decoder {
    /// A decoder asking `resolver` for the schemas it does not know yet.
    pub fn new(resolver: Arc<dyn SchemaResolver>) -> Self {
        Decoder { resolver, cache: HashMap::new(), failed: HashMap::new() }
    }

    /// Decode one Kafka value.
    ///
    /// Errors about the bytes are final (dead-letter the value with [`CodecError::reason`]);
    /// a registry failure may be retried ([`CodecError::is_retryable`]).
    pub fn decode(&mut self, value: &[u8]) -> Result<Decoded, CodecError> {
        let (schema_id, body) = wire::split(value)?;
        let writer = self.writer(schema_id)?;
        let record = decode_with(&writer.schema, writer.self_contained, body)?;
        Ok(Decoded { schema_id, record })
    }

    /// The writer schema of `id`, from the cache or the registry (also to warm the cache).
    pub fn writer_schema(&mut self, id: u32) -> Result<Arc<RegisteredSchema>, CodecError> {
        self.writer(id).map(|w| w.schema.clone())
    }

    fn writer(&mut self, id: u32) -> Result<&Writer, CodecError> {
        match self.cache.entry(id) {
            Entry::Occupied(hit) => Ok(hit.into_mut()),
            Entry::Vacant(slot) => {
                if let Some((at, error)) = self.failed.get(&id)
                    && at.elapsed() < FAILED_ID_TTL
                {
                    return Err(error.clone());
                }
                let schema = match self.resolver.schema_by_id(id) {
                    Ok(schema) => schema,
                    Err(e) => {
                        let error = match e {
                            RegistryError::NotFound { .. } => CodecError::UnknownSchemaId { id },
                            e => CodecError::Registry(e),
                        };
                        if !error.is_retryable() {
                            self.failed.insert(id, (Instant::now(), error.clone()));
                        }
                        return Err(error);
                    }
                };
                self.failed.remove(&id);
                let self_contained = !has_refs(&schema.schema);
                Ok(slot.insert(Writer { schema, self_contained }))
            }
        }
    }
}

/// Decode an Avro body (no wire-format header) written with `schema`.
///
/// For one-off use; [`Decoder`] caches what this recomputes.
pub fn decode_body(schema: &RegisteredSchema, body: &[u8]) -> Result<Record, CodecError> {
    decode_with(schema, !has_refs(&schema.schema), body)
}

fn decode_with(writer: &RegisteredSchema, self_contained: bool, body: &[u8]) -> Result<Record, CodecError> {
    if let RecordKind::Unknown(name) = &writer.kind {
        return Err(CodecError::UnsupportedRecord { name: name.clone() });
    }
    let schema_id = writer.id;
    let avro = |e: apache_avro::Error| CodecError::AvroBody { schema_id, message: e.to_string() };
    // Names are only looked up for `Schema::Ref`; without any, an empty table (no
    // allocation) replaces the one `GenericDatumReader` would otherwise build per datum.
    let names = if self_contained {
        ResolvedSchema::new_with_schemata(Vec::new())
    } else {
        ResolvedSchema::new(&writer.schema)
    }
    .map_err(avro)?;
    let reader =
        GenericDatumReader::builder(&writer.schema).resolved_writer_schemata(names).build().map_err(avro)?;
    let mut input = Body { rest: body, ended_early: false };
    let value = reader.read_value(&mut input);
    // apache-avro turns some ends of input into values (a string or boolean into null, a
    // union into its null branch); any read past the end means the body was truncated.
    if input.ended_early {
        return Err(CodecError::AvroBody {
            schema_id,
            message: format!("body of {} bytes ends before the record does", body.len()),
        });
    }
    let value = value.map_err(avro)?;
    if !input.rest.is_empty() {
        return Err(CodecError::TrailingBytes { schema_id, count: input.rest.len() });
    }
    to_record(&writer.kind, &writer.schema, value)
}

/// An Avro body being read, remembering whether a read went past its end.
struct Body<'a> {
    rest: &'a [u8],
    ended_early: bool,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.rest.is_empty() {
            self.ended_early = true;
            return Ok(0);
        }
        let n = buf.len().min(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        buf[..n].copy_from_slice(head);
        self.rest = tail;
        Ok(n)
    }

    #[inline]
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        match self.rest.split_at_checked(buf.len()) {
            Some((head, tail)) => {
                buf.copy_from_slice(head);
                self.rest = tail;
                Ok(())
            }
            None => {
                self.ended_early = true;
                self.rest = &[];
                Err(io::ErrorKind::UnexpectedEof.into())
            }
        }
    }
}

/// Whether a schema refers to a named type by name anywhere.
fn has_refs(schema: &Schema) -> bool {
    match schema {
        Schema::Ref { .. } => true,
        Schema::Record(r) => r.fields.iter().any(|f| has_refs(&f.schema)),
        Schema::Array(a) => has_refs(&a.items),
        Schema::Map(m) => has_refs(&m.types),
        Schema::Union(u) => u.variants().iter().any(has_refs),
        _ => false,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
