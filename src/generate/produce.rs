//! Sends a generated stream to Kafka in the wire format, and to JSON lines, keeping the ledger.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::events::{Event, Garbage, Generator};
use super::jsonl;
use super::truth::Truth;
use crate::codec::{CodecError, Encoder, SchemaResolver, wire};
use crate::record::{Record, UserEvent};
use crate::source::{DeliveryTracker, KafkaSettings};

/// A schema id that no registry entry uses, for unknown-schema garbage.
const UNKNOWN_SCHEMA_ID: u32 = 0x00FF_FFFF;

/// Why generating stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A generated record could not be encoded (a generator bug).
    #[error("cannot encode a generated record: {0}")]
    Encode(#[from] CodecError),
    /// The producer could not be created or refused a record.
    #[error("producing to `{topic}` failed: {source}")]
    Produce {
        /// The topic.
        topic: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// The brokers did not acknowledge some records.
    #[error("records sent to `{topic}` were not delivered: {message}")]
    Undelivered {
        /// The topic.
        topic: String,
        /// How many, and the first reason.
        message: String,
    },
    /// The JSON lines file could not be written.
    #[error("cannot write JSON lines: {0}")]
    Jsonl(#[from] std::io::Error),
    /// Topics could not be created.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
}

/// Where generated events go.
pub struct Destinations<'a> {
    /// Kafka, with the topic to produce to.
    pub kafka: Option<(&'a KafkaSettings, &'a str)>,
    /// JSON lines of the decodable transactions.
    pub jsonl: Option<&'a mut dyn Write>,
    /// JSON lines of every decodable transaction's fraud label (`jsonl::write_label`).
    pub labels: Option<&'a mut dyn Write>,
    /// JSON lines of the user events (fraud mode's logins, `jsonl::write_user_event`).
    pub user_events: Option<&'a mut dyn Write>,
    /// The Kafka topic for the user events and its schema id (with `kafka`; fraud mode only
    /// has user events to send).
    pub user_events_topic: Option<(&'a str, u32)>,
}

impl<'a> Destinations<'a> {
    /// Transactions to Kafka and/or JSON lines, nothing else.
    pub fn transactions(
        kafka: Option<(&'a KafkaSettings, &'a str)>,
        jsonl: Option<&'a mut dyn Write>,
    ) -> Self {
        Destinations { kafka, jsonl, labels: None, user_events: None, user_events_topic: None }
    }
}

/// Encodes generated events: transactions with the registry's transaction schema id,
/// garbage as the broken bytes its kind names.
pub struct WireEncoder {
    encoder: Encoder,
    schema_id: u32,
    buffer: Vec<u8>,
}

impl WireEncoder {
    /// An encoder writing transactions with `schema_id`.
    pub fn new(registry: Arc<dyn SchemaResolver>, schema_id: u32) -> WireEncoder {
        WireEncoder { encoder: Encoder::new(registry), schema_id, buffer: Vec::with_capacity(256) }
    }

    /// The Kafka value of `event`.
    /// The Kafka value of a user event, with the user-events schema id `schema_id`.
    pub fn encode_user_event(&mut self, event: &UserEvent, schema_id: u32) -> Result<&[u8], CodecError> {
        self.buffer.clear();
        self.encoder.encode(schema_id, &Record::UserEvent(event.clone()), &mut self.buffer)?;
        Ok(&self.buffer)
    }

    /// The Kafka value of `event`.
    pub fn encode(&mut self, event: &Event) -> Result<&[u8], CodecError> {
        self.buffer.clear();
        match event {
            Event::Transaction(row, _) => {
                self.encoder.encode(self.schema_id, &Record::Transaction(row.clone()), &mut self.buffer)?;
            }
            Event::Garbage(kind) => {
                let valid = Record::Transaction(crate::record::Transaction {
                    origin: None,
                    timestamp: Some(0),
                    transaction_id: Some("garbage".into()),
                    amount: Some(rust_decimal::Decimal::new(100, 2)),
                    currency: Some("USD".into()),
                    metadata: Some(Default::default()),
                    user_id: Some("garbage".into()),
                });
                self.encoder.encode(self.schema_id, &valid, &mut self.buffer)?;
                match kind {
                    Garbage::BadMagicByte => self.buffer[0] = 1,
                    Garbage::UnknownSchemaId => {
                        self.buffer[1..wire::HEADER_LEN].copy_from_slice(&UNKNOWN_SCHEMA_ID.to_be_bytes())
                    }
                    Garbage::TruncatedBody => {
                        let cut = wire::HEADER_LEN + (self.buffer.len() - wire::HEADER_LEN) / 2;
                        self.buffer.truncate(cut);
                    }
                    Garbage::TruncatedHeader => self.buffer.truncate(3),
                }
            }
        }
        Ok(&self.buffer)
    }
}

/// Generates `count` events into `to`, at most `rate` per second, calling `progress` with the
/// number sent so far every 100k events. Returns the closed ledger. The user events the
/// generator plans (fraud mode) go out after each event, to their own file and topic; they
/// are not among the `count` events.
pub fn produce(
    mut generator: Generator,
    count: u64,
    rate: Option<u64>,
    mut encoder: WireEncoder,
    mut to: Destinations<'_>,
    mut progress: impl FnMut(u64),
) -> Result<Truth, GenerateError> {
    let producer: Option<(BaseProducer<DeliveryTracker>, &str)> = match to.kafka {
        Some((settings, topic)) => {
            let producer = settings
                .config(&[
                    ("enable.idempotence", "true"),
                    ("linger.ms", "20"),
                    ("batch.num.messages", "10000"),
                    ("queue.buffering.max.messages", "500000"),
                    ("compression.type", "lz4"),
                ])
                .create_with_context(DeliveryTracker::default())
                .map_err(|source| GenerateError::Produce { topic: topic.to_owned(), source })?;
            Some((producer, topic))
        }
        None => None,
    };
    let started = Instant::now();
    let mut truth = Truth::default();
    for sent in 0..count {
        let Some(event) = generator.next() else { break };
        while let Some(user_event) = generator.next_user_event() {
            truth.user_events += 1;
            if let Some(out) = to.user_events.as_mut() {
                jsonl::write_user_event(out, &user_event)?;
            }
            if let (Some((producer, _)), Some((topic, schema_id))) = (&producer, to.user_events_topic) {
                let value = encoder.encode_user_event(&user_event, schema_id)?;
                send(producer, topic, user_event.user_id.as_bytes(), value)?;
            }
        }
        truth.observe(&event);
        if let (Some(out), Event::Transaction(row, _)) = (to.jsonl.as_mut(), &event) {
            jsonl::write_line(out, row)?;
        }
        if let (Some(out), Event::Transaction(row, planted)) = (to.labels.as_mut(), &event) {
            jsonl::write_label(out, row, planted)?;
        }
        if let Some((producer, topic)) = &producer {
            let value = encoder.encode(&event)?;
            let key = match &event {
                Event::Transaction(row, _) => row.transaction_id.clone().unwrap_or_default(),
                Event::Garbage(_) => String::new(),
            };
            send(producer, topic, key.as_bytes(), value)?;
        }
        let sent = sent + 1;
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        if sent.is_multiple_of(100_000) {
            progress(sent);
        }
    }
    if let Some((producer, topic)) = &producer {
        let topic = match to.user_events_topic {
            Some((user_topic, _)) if truth.user_events > 0 => format!("{topic} and {user_topic}"),
            _ => (*topic).to_owned(),
        };
        producer
            .flush(Duration::from_secs(60))
            .map_err(|source| GenerateError::Produce { topic: topic.clone(), source })?;
        producer.context().check().map_err(|message| GenerateError::Undelivered { topic, message })?;
    }
    for out in [to.jsonl.as_mut(), to.labels.as_mut(), to.user_events.as_mut()].into_iter().flatten() {
        out.flush()?;
    }
    Ok(truth.finish())
}

/// Hands one record to the producer, waiting while its queue is full.
fn send(
    producer: &BaseProducer<DeliveryTracker>,
    topic: &str,
    key: &[u8],
    value: &[u8],
) -> Result<(), GenerateError> {
    let mut record = BaseRecord::to(topic).key(key).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                producer.poll(Duration::from_millis(5));
                record = returned;
            }
            Err((source, _)) => return Err(GenerateError::Produce { topic: topic.to_owned(), source }),
        }
    }
}
