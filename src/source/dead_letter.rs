//! The dead-letter path: an undecodable record, with its reason, as the dead-letter topic gets it.

use std::sync::Arc;

use rdkafka::message::{Header, OwnedHeaders};
use serde::{Deserialize, Serialize};

use super::reader::SourceMessage;

/// Why a record was dead-lettered: a stable code, a readable message and, when the header
/// could be read, the schema id it claimed.
pub struct Rejection<'a> {
    /// Stable snake_case code, e.g. `bad_magic_byte`.
    pub reason: &'a str,
    /// Human-readable detail.
    pub message: String,
    /// The schema id from the wire-format header, if there was one.
    pub schema_id: Option<u32>,
}

/// A rejected record on its way to the dead-letter topic: the original key and value, where
/// it was read, and why it was rejected. It travels through the dataflow to the committing
/// worker, which publishes each epoch's dead letters in one Kafka transaction with the
/// epoch (exactly once for `read_committed` consumers, also across restarts).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The source topic.
    pub topic: Arc<str>,
    /// The source partition.
    pub partition: i32,
    /// The offset in the source partition.
    pub offset: i64,
    /// Stable snake_case reason code.
    pub reason: String,
    /// Human-readable detail.
    pub error: String,
    /// The schema id the wire-format header claimed, if it could be read.
    pub schema_id: Option<u32>,
    /// The original key bytes.
    pub key: Option<Vec<u8>>,
    /// The original value bytes.
    pub value: Option<Vec<u8>>,
}

impl DeadLetter {
    /// `message` (read from `topic`) rejected for `rejection`.
    pub fn new(topic: &Arc<str>, message: &SourceMessage<'_>, rejection: Rejection<'_>) -> DeadLetter {
        DeadLetter {
            topic: topic.clone(),
            partition: message.partition,
            offset: message.offset,
            reason: rejection.reason.to_owned(),
            error: rejection.message,
            schema_id: rejection.schema_id,
            key: message.key.map(<[u8]>::to_vec),
            value: message.payload.map(<[u8]>::to_vec),
        }
    }

    /// The record's headers: `trustflow.reason`, `trustflow.error`, `trustflow.source.topic`,
    /// `trustflow.source.partition`, `trustflow.source.offset`, `trustflow.schema.id` (empty
    /// when unknown) and `trustflow.epoch`, the epoch that read it.
    pub fn headers(&self, epoch: u64) -> OwnedHeaders {
        let partition = self.partition.to_string();
        let offset = self.offset.to_string();
        let schema_id = self.schema_id.map(|id| id.to_string()).unwrap_or_default();
        let epoch = epoch.to_string();
        OwnedHeaders::new_with_capacity(7)
            .insert(Header { key: "trustflow.reason", value: Some(&self.reason) })
            .insert(Header { key: "trustflow.error", value: Some(&self.error) })
            .insert(Header { key: "trustflow.source.topic", value: Some(&*self.topic) })
            .insert(Header { key: "trustflow.source.partition", value: Some(&partition) })
            .insert(Header { key: "trustflow.source.offset", value: Some(&offset) })
            .insert(Header { key: "trustflow.schema.id", value: Some(&schema_id) })
            .insert(Header { key: "trustflow.epoch", value: Some(&epoch) })
    }
}
