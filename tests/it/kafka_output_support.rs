//! Helpers of the Kafka output tests: verdicts to publish and a reader of whole topics.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal::Decimal;
use serde_json::Value;

use trustflow::dataflow::quality::QualityRow;
use trustflow::record::Transaction;
use trustflow::source::KafkaSettings;

/// A verdict for `id` (`None`: a null transactionId) with `amount` and average `avg`.
pub fn verdict(id: Option<&str>, amount: &str, avg: &str) -> QualityRow {
    let amount: Decimal = amount.parse().unwrap();
    QualityRow {
        record: Transaction {
            origin: None,
            timestamp: Some(1_767_225_600_000),
            transaction_id: id.map(str::to_owned),
            amount: Some(amount),
            currency: Some("EUR".into()),
            metadata: Some(
                [("channel".to_owned(), "app".to_owned())].into_iter().collect::<BTreeMap<_, _>>().into(),
            ),
            user_id: Some("user-1".into()),
        },
        transaction_id_complete: id.is_some(),
        user_id_complete: true,
        amount_complete: true,
        currency_complete: true,
        timestamp_complete: true,
        amount_valid: amount > Decimal::ZERO,
        currency_valid: true,
        timestamp_valid: true,
        avg_transaction_amount: Some(avg.parse().unwrap()),
        consistent: true,
        unique: true,
        fraud: None,
        governance: None,
    }
}

/// One consumed record of an output topic.
#[derive(Debug)]
pub struct Consumed {
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// The value's bytes.
    pub payload: Vec<u8>,
    /// Key as text (`None`: no key).
    pub key: Option<String>,
    /// The value as JSON (`Value::Null` if it is not JSON).
    pub value: Value,
    /// Headers, name to text.
    pub headers: BTreeMap<String, String>,
}

impl Consumed {
    /// The `trustflow.epoch` header as a number.
    pub fn epoch(&self) -> u64 {
        self.headers["trustflow.epoch"].parse().unwrap()
    }
}

/// Every record of every partition of `topic`, as a `read_committed` (or, with `committed`
/// false, a `read_uncommitted`) consumer sees it, in partition then offset order.
pub fn read_topic(brokers: &str, topic: &str, committed: bool) -> Vec<Consumed> {
    let mut out = Vec::new();
    for_each_record(brokers, topic, committed, |record| out.push(record));
    out.sort_by_key(|c| c.partition);
    out
}

/// Calls `visit` with every record of every partition of `topic` as a `read_committed` (or
/// `read_uncommitted`) consumer sees it, in offset order per partition, until every partition
/// reached its end; without holding them all (the crash test reads millions).
pub fn for_each_record(brokers: &str, topic: &str, committed: bool, mut visit: impl FnMut(Consumed)) {
    let settings = KafkaSettings::new(brokers);
    let isolation = if committed { "read_committed" } else { "read_uncommitted" };
    let consumer: BaseConsumer = settings
        .config(&[
            ("group.id", "trustflow-it-reader"),
            ("enable.partition.eof", "true"),
            ("isolation.level", isolation),
        ])
        .create()
        .unwrap();
    let partitions = settings.partitions(topic).unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        assignment.add_partition_offset(topic, *partition, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut open = partitions.len();
    let mut last_seen = std::time::Instant::now();
    while open > 0 {
        // `poll` also returns `None` early when it served an event that is not a message.
        let Some(polled) = consumer.poll(Duration::from_secs(1)) else {
            assert!(last_seen.elapsed() < Duration::from_secs(60), "{topic}: no partition EOF within 60 s");
            continue;
        };
        last_seen = std::time::Instant::now();
        match polled {
            Ok(m) => {
                let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter().map(|h| (h.key.to_owned(), text(h.value.unwrap_or_default()))).collect()
                    })
                    .unwrap_or_default();
                visit(Consumed {
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    key: m.key().map(text),
                    value: m.payload().and_then(|p| serde_json::from_slice(p).ok()).unwrap_or(Value::Null),
                    headers,
                });
            }
            Err(KafkaError::PartitionEOF(_)) => open -= 1,
            Err(e) => panic!("consuming {topic}: {e}"),
        }
    }
}

/// The high watermark of each partition of `topic`.
pub fn end_offsets(brokers: &str, topic: &str) -> Vec<i64> {
    let settings = KafkaSettings::new(brokers);
    let consumer: BaseConsumer = settings.config(&[]).create().unwrap();
    let partitions = settings.partitions(topic).unwrap();
    partitions
        .iter()
        .map(|p| consumer.fetch_watermarks(topic, *p, Duration::from_secs(15)).unwrap().1)
        .collect()
}
