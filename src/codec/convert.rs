//! Decoded Avro values to typed records, by field name, taking decimal scales from the schema.
//!
//! Fields are matched by name, so a writer schema may order its fields freely and carry extra
//! fields (ignored). A missing field takes the reader default of the reference schemas
//! (`metadata` = `{}`, `device`/`country`/`ip` = null) or is [`CodecError::MissingField`].
//! Avro's promotions int -> long and bytes -> string are accepted; a `["null", T]` union
//! is accepted wherever `T` is, its null being `None` (or a type mismatch where the record
//! has no `Option`).

use std::collections::BTreeMap;

use apache_avro::Schema;
use apache_avro::schema::RecordField;
use apache_avro::types::Value;
use rust_decimal::Decimal;

use super::decimal;
use super::error::CodecError;
use super::registry::RecordKind;
use super::types::{schema_name, value_name};
use crate::record::{AMOUNT_SCALE, MarketData, Record, Transaction, UserEvent};

/// Scale of `price` in the MarketData schema (Avro `decimal(18,6)`).
pub(crate) const PRICE_SCALE: u32 = 6;

/// The typed record of a decoded value of `kind`.
pub(crate) fn to_record(kind: &RecordKind, schema: &Schema, value: Value) -> Result<Record, CodecError> {
    let (Schema::Record(record), Value::Record(values)) = (schema, value) else {
        return Err(CodecError::UnsupportedRecord { name: kind.full_name().to_owned() });
    };
    // `decode_internal` yields one value per schema field, in schema order.
    let fields = record.fields.iter().zip(values).map(|(f, (_, v))| (f, v));
    match kind {
        RecordKind::Transaction => transaction(fields).map(Record::Transaction),
        RecordKind::MarketData => market_data(fields).map(Record::MarketData),
        RecordKind::UserEvent => user_event(fields).map(Record::UserEvent),
        RecordKind::Unknown(name) => Err(CodecError::UnsupportedRecord { name: name.clone() }),
    }
}

fn transaction<'s>(
    fields: impl Iterator<Item = (&'s RecordField, Value)>,
) -> Result<Transaction, CodecError> {
    let (mut id, mut user, mut amount, mut currency, mut ts, mut metadata) =
        (None, None, None, None, None, None);
    for (field, value) in fields {
        let (value, schema) = branch(value, &field.schema);
        match field.name.as_str() {
            "transactionId" => id = Some(opt_string("transactionId", value)?),
            "userId" => user = Some(opt_string("userId", value)?),
            "amount" => amount = Some(opt_decimal("amount", value, schema, AMOUNT_SCALE)?),
            "currency" => currency = Some(opt_string("currency", value)?),
            "timestamp" => ts = Some(opt_long("timestamp", value)?),
            "metadata" => metadata = Some(opt_map("metadata", value)?),
            _ => {}
        }
    }
    Ok(Transaction {
        origin: None,
        timestamp: ts.ok_or(CodecError::MissingField { field: "timestamp" })?,
        transaction_id: id.ok_or(CodecError::MissingField { field: "transactionId" })?,
        amount: amount.ok_or(CodecError::MissingField { field: "amount" })?,
        currency: currency.ok_or(CodecError::MissingField { field: "currency" })?,
        metadata: metadata.unwrap_or_else(|| Some(BTreeMap::new())).map(Into::into),
        user_id: user.ok_or(CodecError::MissingField { field: "userId" })?,
    })
}

fn market_data<'s>(fields: impl Iterator<Item = (&'s RecordField, Value)>) -> Result<MarketData, CodecError> {
    let (mut symbol, mut price, mut currency, mut ts) = (None, None, None, None);
    for (field, value) in fields {
        let (value, schema) = branch(value, &field.schema);
        match field.name.as_str() {
            "symbol" => symbol = Some(string("symbol", value)?),
            "price" => {
                price = Some(required("price", opt_decimal("price", value, schema, PRICE_SCALE)?, "decimal")?)
            }
            "currency" => currency = Some(string("currency", value)?),
            "timestamp" => ts = Some(long("timestamp", value)?),
            _ => {}
        }
    }
    Ok(MarketData {
        symbol: symbol.ok_or(CodecError::MissingField { field: "symbol" })?,
        price: price.ok_or(CodecError::MissingField { field: "price" })?,
        currency: currency.ok_or(CodecError::MissingField { field: "currency" })?,
        timestamp: ts.ok_or(CodecError::MissingField { field: "timestamp" })?,
    })
}

fn user_event<'s>(fields: impl Iterator<Item = (&'s RecordField, Value)>) -> Result<UserEvent, CodecError> {
    let (mut user, mut event_type, mut ts) = (None, None, None);
    let (mut device, mut country, mut ip) = (None, None, None);
    for (field, value) in fields {
        let (value, _) = branch(value, &field.schema);
        match field.name.as_str() {
            "userId" => user = Some(string("userId", value)?),
            "eventType" => event_type = Some(string("eventType", value)?),
            "device" => device = opt_string("device", value)?,
            "country" => country = opt_string("country", value)?,
            "ip" => ip = opt_string("ip", value)?,
            "timestamp" => ts = Some(long("timestamp", value)?),
            _ => {}
        }
    }
    Ok(UserEvent {
        user_id: user.ok_or(CodecError::MissingField { field: "userId" })?,
        event_type: event_type.ok_or(CodecError::MissingField { field: "eventType" })?,
        device,
        country,
        ip,
        timestamp: ts.ok_or(CodecError::MissingField { field: "timestamp" })?,
    })
}

/// A union value as its branch and the branch's schema; other values as they are.
fn branch(value: Value, schema: &Schema) -> (Value, &Schema) {
    match (value, schema) {
        (Value::Union(i, inner), Schema::Union(union)) => match union.variants().get(i as usize) {
            Some(variant) => (*inner, variant),
            None => (*inner, schema),
        },
        (value, schema) => (value, schema),
    }
}

fn mismatch(field: &'static str, expected: &'static str, found: &Value) -> CodecError {
    CodecError::TypeMismatch { field, expected, found: value_name(found) }
}

fn required<T>(field: &'static str, value: Option<T>, expected: &'static str) -> Result<T, CodecError> {
    value.ok_or(CodecError::TypeMismatch { field, expected, found: "null" })
}

fn opt_string(field: &'static str, value: Value) -> Result<Option<String>, CodecError> {
    match value {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        Value::Bytes(b) => String::from_utf8(b).map(Some).map_err(|_| CodecError::TypeMismatch {
            field,
            expected: "string",
            found: "bytes (not UTF-8)",
        }),
        other => Err(mismatch(field, "string", &other)),
    }
}

fn string(field: &'static str, value: Value) -> Result<String, CodecError> {
    required(field, opt_string(field, value)?, "string")
}

fn opt_long(field: &'static str, value: Value) -> Result<Option<i64>, CodecError> {
    match value {
        Value::Long(v) | Value::TimestampMillis(v) => Ok(Some(v)),
        Value::Int(v) => Ok(Some(i64::from(v))),
        Value::Null => Ok(None),
        other => Err(mismatch(field, "long", &other)),
    }
}

fn long(field: &'static str, value: Value) -> Result<i64, CodecError> {
    required(field, opt_long(field, value)?, "long")
}

fn opt_decimal(
    field: &'static str,
    value: Value,
    schema: &Schema,
    to: u32,
) -> Result<Option<Decimal>, CodecError> {
    match (value, schema) {
        (Value::Decimal(d), Schema::Decimal(ds)) => {
            // apache-avro keeps the unscaled value as a BigInt; this gives its bytes back.
            let bytes = Vec::<u8>::try_from(&d).map_err(|_| CodecError::DecimalOutOfRange { field })?;
            decimal::decode(field, &bytes, ds.scale, to).map(Some)
        }
        (Value::Decimal(_), other) => {
            Err(CodecError::TypeMismatch { field, expected: "decimal", found: schema_name(other) })
        }
        (Value::Null, _) => Ok(None),
        (other, _) => Err(mismatch(field, "decimal", &other)),
    }
}

fn opt_map(field: &'static str, value: Value) -> Result<Option<BTreeMap<String, String>>, CodecError> {
    match value {
        Value::Map(entries) => entries
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                Value::Union(_, inner) => match *inner {
                    Value::String(s) => Ok((k, s)),
                    other => Err(mismatch(field, "map of strings", &other)),
                },
                other => Err(mismatch(field, "map of strings", &other)),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Some),
        Value::Null => Ok(None),
        other => Err(mismatch(field, "map of strings", &other)),
    }
}
