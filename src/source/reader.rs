//! The Kafka reader of one worker: assigns its partitions, polls, and knows when it is done.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::client::KafkaSettings;
use super::error::SourceError;

/// One consumed record, borrowed from the client's buffer.
pub struct SourceMessage<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// The value bytes (`None` for a tombstone).
    pub payload: Option<&'a [u8]>,
    /// The key bytes, if any.
    pub key: Option<&'a [u8]>,
}

/// The reader's client context: reaching the end of a partition is how a bounded run
/// finishes, not an error worth logging; everything else is logged.
pub struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_))
            && error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF)
        {
            tracing::error!(%error, reason, "Kafka client error");
        }
    }
}

impl ConsumerContext for ReaderContext {}

/// A consumer over a fixed set of partitions of one topic (manual assignment: no group
/// rebalancing; the dataflow decides who reads what).
pub struct KafkaReader {
    consumer: BaseConsumer<ReaderContext>,
    topic: String,
    /// Partitions not yet read to the end (only tracked when reading a bounded range).
    open: BTreeSet<i32>,
    /// Partitions whose last event was their end: caught up, idle until a record arrives.
    caught_up: BTreeSet<i32>,
    bounded: bool,
}

impl KafkaReader {
    /// Assigns the partitions of `topic` that `starts` names, each from its offset there (0:
    /// from the beginning; records before the offset are not read at all). With `bounded`,
    /// the reader reports [`KafkaReader::finished`] once each partition has been read to its
    /// end as of the moment it was reached (librdkafka's partition EOF), which covers all
    /// records present at start.
    pub fn open(
        settings: &KafkaSettings,
        group: &str,
        topic: &str,
        starts: &BTreeMap<i32, i64>,
        bounded: bool,
    ) -> Result<KafkaReader, SourceError> {
        let consumer: BaseConsumer<ReaderContext> = settings
            .config(&[
                ("group.id", group),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                // Bounded runs end at the partitions' ends; unbounded ones learn which
                // partitions are caught up (idle), so that they do not hold event time back.
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "earliest"),
                ("isolation.level", "read_committed"),
                ("fetch.wait.max.ms", "10"),
                ("queued.min.messages", "200000"),
            ])
            .create_with_context(ReaderContext)
            .map_err(SourceError::Config)?;
        let mut assignment = TopicPartitionList::new();
        for (partition, start) in starts {
            let offset = if *start > 0 { Offset::Offset(*start) } else { Offset::Beginning };
            assignment
                .add_partition_offset(topic, *partition, offset)
                .map_err(|source| SourceError::Request { what: "assign", source })?;
        }
        consumer.assign(&assignment).map_err(|source| SourceError::Request { what: "assign", source })?;
        Ok(KafkaReader {
            consumer,
            topic: topic.to_owned(),
            open: if bounded { starts.keys().copied().collect() } else { BTreeSet::new() },
            caught_up: BTreeSet::new(),
            bounded,
        })
    }

    /// Whether a bounded reader has read every partition to its end (never for unbounded).
    pub fn finished(&self) -> bool {
        self.bounded && self.open.is_empty()
    }

    /// Whether `partition` has nothing more to read for now: a bounded reader has read it to
    /// its end, or an unbounded one reached its end and no record has arrived since.
    pub fn partition_idle(&self, partition: i32) -> bool {
        if self.bounded { !self.open.contains(&partition) } else { self.caught_up.contains(&partition) }
    }

    /// Stops fetching `partitions` until [`resume`](Self::resume) (records already fetched
    /// may still arrive; none is skipped: fetching resumes after the last record handed over).
    pub fn pause(&self, partitions: &[i32]) -> Result<(), SourceError> {
        let list = self.partition_list(partitions)?;
        self.consumer.pause(&list).map_err(|source| SourceError::Request { what: "pause", source })
    }

    /// Fetches `partitions` again after [`pause`](Self::pause).
    pub fn resume(&self, partitions: &[i32]) -> Result<(), SourceError> {
        let list = self.partition_list(partitions)?;
        self.consumer.resume(&list).map_err(|source| SourceError::Request { what: "resume", source })
    }

    fn partition_list(&self, partitions: &[i32]) -> Result<TopicPartitionList, SourceError> {
        let mut list = TopicPartitionList::new();
        for partition in partitions {
            list.add_partition(&self.topic, *partition);
        }
        Ok(list)
    }

    /// Hands up to `max` records to `each`, waiting at most `timeout` for the first one.
    /// Returns how many records were handed over.
    pub fn poll_batch(
        &mut self,
        max: usize,
        timeout: Duration,
        mut each: impl FnMut(SourceMessage<'_>),
    ) -> Result<usize, SourceError> {
        let mut seen = 0;
        let mut wait = timeout;
        while seen < max {
            let Some(result) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            match result {
                Ok(message) => {
                    self.caught_up.remove(&message.partition());
                    each(SourceMessage {
                        topic: message.topic(),
                        partition: message.partition(),
                        offset: message.offset(),
                        payload: message.payload(),
                        key: message.key(),
                    });
                    seen += 1;
                }
                Err(KafkaError::PartitionEOF(partition)) => {
                    self.open.remove(&partition);
                    self.caught_up.insert(partition);
                }
                Err(source) => return Err(SourceError::Consume { topic: self.topic.clone(), source }),
            }
        }
        Ok(seen)
    }
}
