//! The dead-letter path: undecodable records go to a topic with the reason in headers.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::client::KafkaSettings;
use super::delivery::DeliveryTracker;
use super::error::SourceError;
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

/// A producer to the dead-letter topic. Each record keeps the original key and value and
/// carries `trustflow.reason`, `trustflow.error`, `trustflow.source.topic`,
/// `trustflow.source.partition`, `trustflow.source.offset` and `trustflow.schema.id` headers.
pub struct DeadLetters {
    producer: BaseProducer<DeliveryTracker>,
    topic: String,
    sent: u64,
}

impl DeadLetters {
    /// A dead-letter producer to `topic` (idempotent, so retries never duplicate).
    pub fn new(settings: &KafkaSettings, topic: &str) -> Result<DeadLetters, SourceError> {
        let producer = settings
            .config(&[("enable.idempotence", "true"), ("linger.ms", "5")])
            .create_with_context(DeliveryTracker::default())
            .map_err(SourceError::Config)?;
        Ok(DeadLetters { producer, topic: topic.to_owned(), sent: 0 })
    }

    /// Sends `message` with its rejection to the dead-letter topic.
    pub fn send(
        &mut self,
        message: &SourceMessage<'_>,
        rejection: &Rejection<'_>,
    ) -> Result<(), SourceError> {
        let partition = message.partition.to_string();
        let offset = message.offset.to_string();
        let schema_id = rejection.schema_id.map(|id| id.to_string()).unwrap_or_default();
        let headers = OwnedHeaders::new()
            .insert(Header { key: "trustflow.reason", value: Some(rejection.reason) })
            .insert(Header { key: "trustflow.error", value: Some(&rejection.message) })
            .insert(Header { key: "trustflow.source.topic", value: Some(message.topic) })
            .insert(Header { key: "trustflow.source.partition", value: Some(&partition) })
            .insert(Header { key: "trustflow.source.offset", value: Some(&offset) })
            .insert(Header { key: "trustflow.schema.id", value: Some(&schema_id) });
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(payload) = message.payload {
            record = record.payload(payload);
        }
        if let Some(key) = message.key {
            record = record.key(key);
        }
        let mut record = record;
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    self.producer.poll(Duration::from_millis(10));
                    record = returned;
                }
                Err((source, _)) => {
                    return Err(SourceError::DeadLetter { topic: self.topic.clone(), source });
                }
            }
        }
        self.sent += 1;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// How many records were sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Waits until every sent record is acknowledged by the brokers; any record that was not
    /// is an error (a dead letter must never be lost silently).
    pub fn flush(&mut self, timeout: Duration) -> Result<(), SourceError> {
        self.producer
            .flush(timeout)
            .map_err(|source| SourceError::DeadLetter { topic: self.topic.clone(), source })?;
        self.producer
            .context()
            .check()
            .map_err(|message| SourceError::Undelivered { topic: self.topic.clone(), message })
    }
}
