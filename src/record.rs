//! Typed records: what the codec decodes Kafka values into and the dataflow computes on.

use std::collections::BTreeMap;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Scale of `amount` in the FinancialTransaction schema (Avro `decimal(18,2)`).
pub const AMOUNT_SCALE: u32 = 2;

/// A transaction's string metadata, shared: rows are cloned at every dataflow stage, and a
/// shared map makes that a reference-count increment instead of a tree copy.
pub type Metadata = Arc<BTreeMap<String, String>>;

/// One `com.fintech.events.FinancialTransaction`.
///
/// Every field is optional: the Avro schema cannot carry nulls, but batch input (JSON lines)
/// can, and the quality rules define what a null means. The field order is the consistency
/// window's tie order (timestamp, then transactionId, amount, currency, metadata, nulls
/// first), so the derived `Ord` is the order of a user's rows in event time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Transaction {
    /// Event time, epoch milliseconds.
    pub timestamp: Option<i64>,
    /// Business identifier; duplicates share it.
    pub transaction_id: Option<String>,
    /// Amount, scale [`AMOUNT_SCALE`].
    #[serde(with = "opt_decimal")]
    pub amount: Option<Decimal>,
    /// Currency code as sent (validated by the quality graph, not here).
    pub currency: Option<String>,
    /// Free-form string metadata.
    pub metadata: Option<Metadata>,
    /// The user the transaction belongs to.
    pub user_id: Option<String>,
    /// Where the record was read (`None` for records not read from Kafka: batch input,
    /// tests). Last, so that it breaks ties between otherwise equal rows only.
    #[serde(default)]
    pub origin: Option<Origin>,
}

/// Where a transaction was read: the lineage every output row carries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The Kafka topic (shared by every record of a run).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The registry id of the Avro schema it was written with.
    pub schema_id: u32,
}

/// One `com.fintech.events.MarketData` quote.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MarketData {
    /// Instrument symbol, e.g. `EURUSD` or `AAPL`.
    pub symbol: String,
    /// Price, scale 6.
    #[serde(with = "decimal_bytes")]
    pub price: Decimal,
    /// Quote currency.
    pub currency: String,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
}

/// One `com.fintech.events.UserEvent` (logins, device and profile changes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserEvent {
    /// The user.
    pub user_id: String,
    /// What happened, e.g. `LOGIN`, `DEVICE_CHANGE`.
    pub event_type: String,
    /// Device fingerprint, if known.
    pub device: Option<String>,
    /// ISO 3166 country code, if known.
    pub country: Option<String>,
    /// Client IP address, if known.
    pub ip: Option<String>,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
}

/// A decoded Kafka value of one of the registered record types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A financial transaction.
    Transaction(Transaction),
    /// A market data quote.
    MarketData(MarketData),
    /// A user event.
    UserEvent(UserEvent),
}

/// Serde for `Decimal` as its 16-byte exact representation: compact and exact under bincode,
/// which timely uses between processes (rust_decimal's default serde needs `deserialize_any`).
mod decimal_bytes {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        d.serialize().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        <[u8; 16]>::deserialize(d).map(Decimal::deserialize)
    }
}

/// As [`decimal_bytes`], for an optional decimal.
pub(crate) mod opt_decimal {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.serialize()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Ok(Option::<[u8; 16]>::deserialize(d)?.map(Decimal::deserialize))
    }
}
