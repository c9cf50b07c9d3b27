//! The generator's ledger: what it planted, counted, to check the pipeline's verdicts against.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::events::{Event, Garbage};

/// Counts of what was generated. Flag counts are predicted from the planted problems and the
/// generator's own id ledger, never by running the quality rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    /// Kafka values produced, garbage included.
    pub events: u64,
    /// Decodable transactions.
    pub transactions: u64,
    /// Undecodable values, by the dead-letter reason they must get.
    pub garbage: BTreeMap<String, u64>,
    /// Expected failing-check counts, by output column (`currency_validity` -> INVALID rows).
    pub failing: BTreeMap<String, u64>,
    /// Rows planted out of event-time order for their user.
    pub out_of_order: u64,
    /// Planted fraud rows, by pattern (`generate --fraud-rate`; absent without fraud).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fraud: BTreeMap<String, u64>,
    /// User events (logins) generated beside the transactions (fraud mode; not in `events`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub user_events: u64,
    #[serde(skip)]
    ids: HashMap<String, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Garbage {
    /// The dead-letter reason the codec gives this kind of garbage.
    pub fn reason(self) -> &'static str {
        match self {
            Garbage::BadMagicByte => "bad_magic_byte",
            Garbage::UnknownSchemaId => "unknown_schema_id",
            Garbage::TruncatedBody => "invalid_avro_body",
            Garbage::TruncatedHeader => "truncated",
        }
    }
}

impl Truth {
    /// Adds one generated event to the ledger.
    pub fn observe(&mut self, event: &Event) {
        self.events += 1;
        match event {
            Event::Garbage(kind) => *self.garbage.entry(kind.reason().to_owned()).or_default() += 1,
            Event::Transaction(row, planted) => {
                self.transactions += 1;
                let mut fail = |column: &str, failed: bool| {
                    if failed {
                        *self.failing.entry(column.to_owned()).or_default() += 1;
                    }
                };
                fail("transactionId_completeness", planted.empty_transaction_id);
                fail("userId_completeness", planted.empty_user_id);
                fail("currency_completeness", planted.empty_currency);
                fail("currency_validity", planted.empty_currency || planted.bad_currency);
                fail("amount_validity", planted.non_positive_amount);
                fail("timestamp_validity", planted.stale || planted.future);
                self.out_of_order += u64::from(planted.out_of_order);
                if let Some(pattern) = planted.fraud {
                    *self.fraud.entry(pattern.name().to_owned()).or_default() += 1;
                }
                if let Some(id) = &row.transaction_id {
                    *self.ids.entry(id.clone()).or_default() += 1;
                }
            }
        }
    }

    /// Closes the ledger: counts the rows whose transactionId occurs more than once.
    pub fn finish(mut self) -> Truth {
        let duplicates: u64 = self.ids.values().filter(|copies| **copies > 1).sum();
        self.failing.insert("uniqueness".to_owned(), duplicates);
        self.ids.clear();
        self
    }

    /// Total planted fraud rows.
    pub fn fraud_total(&self) -> u64 {
        self.fraud.values().sum()
    }

    /// Total undecodable values.
    pub fn garbage_total(&self) -> u64 {
        self.garbage.values().sum()
    }
}
