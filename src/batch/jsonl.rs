//! JSON lines to transactions: one borrowed, exact parse per line, bad lines rejected by number.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::amount::{self, AmountError, shorten};
use super::error::BatchError;
use super::input::{MetadataCache, ReadStats, Rejects};
use crate::record::{Metadata, Transaction};

/// Why a line is not a transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is not UTF-8.
    #[error("not valid UTF-8 (byte {0})")]
    Utf8(usize),
    /// The line is not well-formed JSON, or ends early.
    #[error("malformed JSON: {0}")]
    Syntax(String),
    /// Well-formed JSON but not a transaction: not an object, or a field of the wrong type.
    #[error("{0}")]
    Shape(String),
    /// The amount is not a decimal number, or does not fit decimal(18,2).
    #[error("amount: {0}")]
    Amount(#[from] AmountError),
}

/// Parses lines into [`Transaction`]s, sharing the maps of repeated metadata objects.
#[derive(Debug, Default)]
pub struct LineParser {
    metadata: MetadataCache,
}

impl LineParser {
    /// A parser with an empty metadata cache.
    pub fn new() -> LineParser {
        LineParser::default()
    }

    /// The transaction on `line` (without its line terminator).
    ///
    /// `amount` may be a JSON number or a decimal string (commas ignored, as Spark's `en-US`
    /// decimal parser does), exact, rounded HALF_UP to 2 decimals; `timestamp` an integer;
    /// `metadata` an object of strings. Any field may be null or missing; others are ignored.
    pub fn parse(&mut self, line: &[u8]) -> Result<Transaction, LineError> {
        let text = std::str::from_utf8(line).map_err(|e| LineError::Utf8(e.valid_up_to()))?;
        if !text.trim_start().starts_with('{') {
            return Err(not_an_object(text));
        }
        let fields: Line<'_> = serde_json::from_str(text).map_err(|e| json_error(&e, 0))?;
        let amount = fields.amount.map(|raw| parse_amount(raw.get())).transpose()?;
        let metadata = match fields.metadata {
            Some(raw) => Some(self.metadata(raw.get(), column_of(text, raw.get()))?),
            None => None,
        };
        Ok(Transaction {
            origin: None,
            timestamp: fields.timestamp,
            transaction_id: fields.transaction_id.map(Cow::into_owned),
            amount,
            currency: fields.currency.map(Cow::into_owned),
            metadata,
            user_id: fields.user_id.map(Cow::into_owned),
        })
    }

    /// The map of the metadata object `raw` (found at `column`), from the cache if seen before.
    fn metadata(&mut self, raw: &str, column: usize) -> Result<Metadata, LineError> {
        if let Some(map) = self.metadata.get(raw) {
            return Ok(map);
        }
        let map = Arc::new(
            serde_json::from_str::<MetadataMap>(raw).map_err(|e| json_error(&e, column.saturating_sub(1)))?.0,
        );
        self.metadata.insert(raw, &map);
        Ok(map)
    }
}

/// Reads JSON lines from `reader` (named `path` in errors): every line a transaction, a
/// rejected line (written to `rejects` with its 1-based number), or blank (skipped, counted).
pub fn read(
    path: &Path,
    mut reader: impl BufRead,
    rejects: &mut Rejects,
    stats: &mut ReadStats,
) -> Result<Vec<Transaction>, BatchError> {
    let mut parser = LineParser::new();
    let mut rows = Vec::new();
    let mut buffer = Vec::with_capacity(1 << 12);
    let mut number = 0u64;
    let read_error = |source| BatchError::Input { path: path.to_path_buf(), source };
    loop {
        buffer.clear();
        if reader.read_until(b'\n', &mut buffer).map_err(read_error)? == 0 {
            break;
        }
        number += 1;
        let mut line = buffer.as_slice();
        if number == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            stats.blank += 1;
            continue;
        }
        match parser.parse(line) {
            Ok(row) => rows.push(row),
            Err(error) => {
                stats.rejected += 1;
                rejects.line(number, &error.to_string(), line)?;
            }
        }
    }
    stats.records += number;
    stats.rows += rows.len() as u64;
    Ok(rows)
}

/// One line's fields, borrowed from the line where no unescaping is needed.
#[derive(Deserialize)]
#[serde(expecting = "a transaction object")]
struct Line<'a> {
    #[serde(rename = "transactionId", default, borrow, deserialize_with = "transaction_id")]
    transaction_id: Option<Cow<'a, str>>,
    #[serde(rename = "userId", default, borrow, deserialize_with = "user_id")]
    user_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    amount: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "currency")]
    currency: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "timestamp")]
    timestamp: Option<i64>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
}

fn transaction_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextOrNull("transactionId as a string or null"))
}

fn user_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextOrNull("userId as a string or null"))
}

fn currency<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(TextOrNull("currency as a string or null"))
}

fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Millis)
}

/// A string (borrowed when it has no escapes) or null; anything else is refused naming `.0`.
struct TextOrNull(&'static str);

impl<'de> Visitor<'de> for TextOrNull {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An integer number of milliseconds, or null; a fraction, a string or a bool is refused.
struct Millis;

impl Visitor<'_> for Millis {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timestamp as an integer (epoch milliseconds) or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A metadata object: string keys, string values; a null or non-string value, or a repeated
/// key, is refused with the key named.
struct MetadataMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for MetadataMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MetadataVisitor)
    }
}

struct MetadataVisitor;

impl<'de> Visitor<'de> for MetadataVisitor {
    type Value = MetadataMap;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("metadata as an object of strings or null")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<MetaValue<'de>>()? {
            let MetaValue::Text(key) = key else {
                return Err(de::Error::custom("metadata key is not a string"));
            };
            let value = match map.next_value::<MetaValue<'de>>()? {
                MetaValue::Text(value) => value.into_owned(),
                MetaValue::Null => {
                    return Err(de::Error::custom(format!(
                        "metadata `{}` is null, not a string",
                        shorten(&key)
                    )));
                }
                MetaValue::Other(what) => {
                    return Err(de::Error::custom(format!(
                        "metadata `{}` is {what}, not a string",
                        shorten(&key)
                    )));
                }
            };
            let key = key.into_owned();
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("metadata key `{}` appears twice", shorten(&key))));
            }
            out.insert(key, value);
        }
        Ok(MetadataMap(out))
    }
}

/// Any JSON value, classified: a string, null, or something else (described).
enum MetaValue<'a> {
    Text(Cow<'a, str>),
    Null,
    Other(String),
}

impl<'de> Deserialize<'de> for MetaValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MetaValueVisitor)
    }
}

struct MetaValueVisitor;

impl<'de> Visitor<'de> for MetaValueVisitor {
    type Value = MetaValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(MetaValue::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MetaValue::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(MetaValue::Text(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(MetaValue::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(MetaValue::Other(format!("the boolean {v}")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(MetaValue::Other(format!("the number {v}")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(MetaValue::Other(format!("the number {v}")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(MetaValue::Other(format!("the number {v}")))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MetaValue::Other("an array".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MetaValue::Other("an object".into()))
    }
}

/// The amount in the raw JSON value `raw`: a number, or a string holding one.
fn parse_amount(raw: &str) -> Result<rust_decimal::Decimal, LineError> {
    let Some(quoted) = raw.strip_prefix('"') else {
        // A JSON number (serde_json checked its syntax) or a bool, object, array: parse refuses those.
        return Ok(amount::parse(raw)?);
    };
    let text: Cow<'_, str> = if quoted.contains('\\') {
        Cow::Owned(serde_json::from_str::<String>(raw).map_err(|e| LineError::Shape(e.to_string()))?)
    } else {
        Cow::Borrowed(quoted.strip_suffix('"').unwrap_or(quoted))
    };
    if text.contains(',') {
        return Ok(amount::parse(&text.replace(',', ""))?);
    }
    Ok(amount::parse(&text)?)
}

/// The error for a line that does not hold an object: malformed, or which JSON value it holds
/// (serde would read an array as the struct's fields in order).
fn not_an_object(text: &str) -> LineError {
    if let Err(error) = serde_json::from_str::<IgnoredAny>(text) {
        return json_error(&error, 0);
    }
    let found = match text.trim_start().as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    };
    LineError::Shape(format!("expected a transaction object, found {found}"))
}

/// The 1-based column of `part` (a slice of `line`) in `line`.
fn column_of(line: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize) + 1
}

/// A serde_json error as a [`LineError`], its position as a column of the whole line (the
/// parsed text started `offset` bytes into it).
fn json_error(error: &serde_json::Error, offset: usize) -> LineError {
    let mut message = error.to_string();
    if error.line() > 0 {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = format!("{stripped} (column {})", error.column() + offset);
        }
    }
    match error.classify() {
        serde_json::error::Category::Data => LineError::Shape(message),
        _ => LineError::Syntax(message),
    }
}

#[cfg(test)]
#[path = "jsonl_tests.rs"]
mod tests;
