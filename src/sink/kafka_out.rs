//! The Kafka output topic: each epoch's quality changes in one Kafka transaction, exactly once.
//!
//! [`KafkaOutput`] is an idempotent, transactional producer whose `transactional.id` is
//! derived from the app id and the topic ([`transactional_id`]). Opening it calls
//! `init_transactions`, which fences any older producer of the same id and aborts the
//! transaction that producer left open: a run killed mid-epoch leaves nothing visible to
//! `read_committed` consumers. Each epoch is one transaction holding one record per unit
//! of diff on the output topic and one progress record on `{topic}.progress`
//! ([`progress_topic`]); the last committed progress record of the app id says which epoch
//! was published last, so an epoch is never published twice. The record format is in
//! `docs/kafka-output.md` and [`record`]; reading the progress back is [`progress`].

mod client;
pub mod error;
pub mod progress;
pub mod record;

#[cfg(test)]
mod tests;

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use client::{TxnContext, ensure_topic, retry};
pub use error::KafkaOutputError;
use error::{is_fatal, is_fenced, is_fenced_code};
use record::{CHANGE_HEADER, ChangeJson, EPOCH_HEADER, Progress, RowJson};

use crate::dataflow::quality::QualityRow;
use crate::source::KafkaSettings;
use crate::source::dead_letter::DeadLetter;

/// Partitions of a new output topic when the caller has no better number (the input's).
pub const DEFAULT_PARTITIONS: i32 = 4;

/// How long one transactional call (init, flush, commit, abort) may block.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a retriable init, commit or abort is tried before giving up.
const ATTEMPTS: u32 = 3;

/// The producer's `transactional.id` for `app_id` writing `topic`: `trustflow-{app_id}-{topic}`.
pub fn transactional_id(app_id: &str, topic: &str) -> String {
    format!("trustflow-{app_id}-{topic}")
}

/// The progress topic of the output topic `topic`: `{topic}.progress`, one partition,
/// compacted (the last record of each app id is kept).
pub fn progress_topic(topic: &str) -> String {
    format!("{topic}.progress")
}

/// What one published epoch wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishOutcome {
    /// The epoch.
    pub epoch: u64,
    /// Change records written to the output topic (inserts plus deletes).
    pub records: u64,
    /// Of those, deletes (retractions).
    pub deletes: u64,
}

/// An exactly-once producer of quality changes to one output topic, for one app id.
pub struct KafkaOutput {
    producer: BaseProducer<TxnContext>,
    topic: String,
    progress_topic: String,
    app_id: String,
    transactional_id: String,
    last_published: Option<u64>,
    /// Why the producer is unusable, once it is (fatal error, fenced, commit in doubt).
    broken: Option<KafkaError>,
}

impl KafkaOutput {
    /// Creates `topic` (with `partitions`) and its progress topic if missing, starts the
    /// transactional producer (fencing older producers of the same id and aborting their
    /// open transaction) and reads the last epoch this app id published.
    pub fn open(
        settings: &KafkaSettings,
        topic: &str,
        partitions: i32,
        app_id: &str,
    ) -> Result<KafkaOutput, KafkaOutputError> {
        let progress_topic = progress_topic(topic);
        ensure_topic(settings, topic, partitions, &[])?;
        ensure_topic(settings, &progress_topic, 1, &[("cleanup.policy", "compact")])?;
        let transactional_id = transactional_id(app_id, topic);
        let producer: BaseProducer<TxnContext> = settings
            .config(&[
                ("transactional.id", &transactional_id),
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("transaction.timeout.ms", "60000"),
                ("linger.ms", "5"),
                // Java's default for keyed records: consumers and Kafka Streams agree on
                // which partition holds a transactionId.
                ("partitioner", "murmur2_random"),
            ])
            .create_with_context(TxnContext::default())
            .map_err(KafkaOutputError::Config)?;
        let init_error =
            |source| KafkaOutputError::Init { transactional_id: transactional_id.clone(), source };
        retry(|| producer.init_transactions(CALL_TIMEOUT)).map_err(init_error)?;
        let last_published = progress::last_epoch(settings, &progress_topic, app_id)?;
        tracing::info!(topic, %transactional_id, ?last_published, "Kafka output open");
        Ok(KafkaOutput {
            producer,
            topic: topic.to_owned(),
            progress_topic,
            app_id: app_id.to_owned(),
            transactional_id,
            last_published,
            broken: None,
        })
    }

    /// The last epoch this app id published to the topic (committed), if any.
    pub fn last_published_epoch(&self) -> Option<u64> {
        self.last_published
    }

    /// The output topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The producer's `transactional.id`.
    pub fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    /// Publishes `epoch`'s consolidated changes in one transaction: a diff `d` gives `|d|`
    /// identical records (`insert` for d > 0, `delete` for d < 0, none for 0), keyed by
    /// the transactionId, then the progress record `{"epoch":N,"records":M}` keyed by the
    /// app id. An epoch at or below the last published one is refused and nothing is
    /// produced; so is an epoch with a value that does not fit its column.
    pub fn publish_epoch(
        &mut self,
        epoch: u64,
        changes: &[(QualityRow, isize)],
    ) -> Result<PublishOutcome, KafkaOutputError> {
        self.ready(epoch)?;
        let rows = changes
            .iter()
            .filter(|(_, diff)| *diff != 0)
            .map(|(row, diff)| RowJson::new(row).map(|json| (json, *diff)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| KafkaOutputError::Encode { epoch, source: Box::new(source) })?;
        let records: u64 = rows.iter().map(|(_, d)| d.unsigned_abs() as u64).sum();
        let deletes: u64 = rows.iter().filter(|(_, d)| *d < 0).map(|(_, d)| d.unsigned_abs() as u64).sum();
        self.transact(epoch, records, |this| this.produce(epoch, &rows))?;
        tracing::debug!(topic = %self.topic, epoch, records, deletes, "epoch published");
        Ok(PublishOutcome { epoch, records, deletes })
    }

    /// Publishes `epoch`'s dead letters in one transaction (this producer writing the
    /// dead-letter topic): each with its original key and value and the reason headers
    /// ([`DeadLetter::headers`]), then the progress record. Dead letters are never retracted:
    /// only positive diffs are written. An epoch at or below the last published one is
    /// refused and nothing is produced.
    pub fn publish_dead_letters(
        &mut self,
        epoch: u64,
        letters: &[(DeadLetter, isize)],
    ) -> Result<PublishOutcome, KafkaOutputError> {
        self.ready(epoch)?;
        let records: u64 = letters.iter().filter(|(_, d)| *d > 0).map(|(_, d)| d.unsigned_abs() as u64).sum();
        self.transact(epoch, records, |this| {
            for (letter, diff) in letters.iter().filter(|(_, d)| *d > 0) {
                for _ in 0..*diff {
                    let mut record = BaseRecord::to(&this.topic).headers(letter.headers(epoch));
                    if let Some(value) = &letter.value {
                        record = record.payload(&value[..]);
                    }
                    if let Some(key) = &letter.key {
                        record = record.key(&key[..]);
                    }
                    this.send(record).map_err(|e| ("produce", e))?;
                }
            }
            Ok(())
        })?;
        tracing::debug!(topic = %self.topic, epoch, records, "dead letters published");
        Ok(PublishOutcome { epoch, records, deletes: 0 })
    }

    /// Refuses to publish `epoch` with an unusable producer or when it is already published.
    fn ready(&self, epoch: u64) -> Result<(), KafkaOutputError> {
        if let Some(source) = &self.broken {
            return Err(self.unusable(source.clone()));
        }
        if let Some(last) = self.last_published.filter(|last| epoch <= *last) {
            return Err(KafkaOutputError::EpochAlreadyPublished { epoch, last });
        }
        Ok(())
    }

    /// One transaction: what `produce` sends, then the progress record of `epoch` (`records`
    /// sent), waiting until all are acknowledged, then the commit. Any failure aborts.
    fn transact(
        &mut self,
        epoch: u64,
        records: u64,
        produce: impl FnOnce(&Self) -> Result<(), (&'static str, KafkaError)>,
    ) -> Result<(), KafkaOutputError> {
        self.producer.context().reset();
        if let Err(source) = self.producer.begin_transaction() {
            return Err(self.failed(epoch, "begin", source));
        }
        if let Err((what, source)) = produce(self).and_then(|()| self.progress(epoch, records)) {
            return Err(self.abort(epoch, what, source));
        }
        self.commit(epoch)?;
        self.last_published = Some(epoch);
        Ok(())
    }

    /// Sends the epoch's change records.
    fn produce(&self, epoch: u64, rows: &[(RowJson<'_>, isize)]) -> Result<(), (&'static str, KafkaError)> {
        let epoch_text = epoch.to_string();
        let headers = |change: &str| {
            OwnedHeaders::new_with_capacity(2)
                .insert(Header { key: CHANGE_HEADER, value: Some(change) })
                .insert(Header { key: EPOCH_HEADER, value: Some(&epoch_text) })
        };
        let (insert, delete) = (headers("insert"), headers("delete"));
        let mut value = Vec::with_capacity(512);
        for (row, diff) in rows {
            value.clear();
            let change = ChangeJson::new(row, *diff, epoch);
            serde_json::to_writer(&mut value, &change).map_err(|e| ("produce", json_error(e)))?;
            let key = row.transaction_id().map(str::as_bytes);
            for _ in 0..diff.unsigned_abs() {
                let headers = if *diff > 0 { insert.clone() } else { delete.clone() };
                let mut record = BaseRecord::to(&self.topic).payload(&value[..]).headers(headers);
                if let Some(key) = key {
                    record = record.key(key);
                }
                self.send(record).map_err(|e| ("produce", e))?;
            }
        }
        Ok(())
    }

    /// Sends the progress record of `epoch` (`records` records) and waits until every record
    /// of the transaction is acknowledged.
    fn progress(&self, epoch: u64, records: u64) -> Result<(), (&'static str, KafkaError)> {
        let progress =
            serde_json::to_vec(&Progress { epoch, records }).map_err(|e| ("produce", json_error(e)))?;
        let record = BaseRecord::to(&self.progress_topic)
            .partition(0)
            .key(self.app_id.as_bytes())
            .payload(&progress[..]);
        self.send(record).map_err(|e| ("produce", e))?;
        self.producer.flush(CALL_TIMEOUT).map_err(|e| ("flush", e))?;
        self.producer.context().first_failure().map_or(Ok(()), |e| Err(("delivery", e)))
    }

    /// Hands one record to the producer, waiting while its queue is full.
    fn send(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<(), KafkaError> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    self.producer.poll(Duration::from_millis(10));
                    record = returned;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Commits the open transaction: a retriable failure (a timeout, the commit going on in
    /// the background) is tried again, one that requires it aborts, anything else leaves
    /// the outcome unknown and the producer unusable.
    fn commit(&mut self, epoch: u64) -> Result<(), KafkaOutputError> {
        let mut attempt = 1;
        loop {
            let error = match self.producer.commit_transaction(CALL_TIMEOUT) {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            match &error {
                KafkaError::Transaction(e) if e.txn_requires_abort() => {
                    return Err(self.abort(epoch, "commit", error));
                }
                KafkaError::Transaction(e) if e.is_retriable() && attempt < ATTEMPTS => {}
                KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut) if attempt < ATTEMPTS => {}
                _ if is_fatal(&error) => return Err(self.failed(epoch, "commit", error)),
                _ => {
                    tracing::error!(topic = %self.topic, epoch, %error, "commit outcome unknown");
                    self.broken = Some(error.clone());
                    return Err(KafkaOutputError::InDoubt { epoch, source: error });
                }
            }
            tracing::warn!(topic = %self.topic, epoch, attempt, %error, "commit not finished, trying again");
            attempt += 1;
        }
    }

    /// Aborts the open transaction after `what` failed with `cause`.
    fn abort(&mut self, epoch: u64, what: &'static str, cause: KafkaError) -> KafkaOutputError {
        if is_fatal(&cause) || self.producer.client().fatal_error().is_some() {
            return self.failed(epoch, what, cause);
        }
        tracing::warn!(topic = %self.topic, epoch, what, error = %cause, "aborting the epoch's transaction");
        match retry(|| self.producer.abort_transaction(CALL_TIMEOUT)) {
            Ok(()) => KafkaOutputError::Aborted { epoch, what, source: cause },
            Err(error) => {
                tracing::error!(topic = %self.topic, epoch, %error, "abort failed after {what} failed: {cause}");
                self.failed(epoch, "abort", error)
            }
        }
    }

    /// Marks the producer unusable after `what` failed with `error` (no transaction can
    /// follow: fenced, fatal, or a transaction neither committed nor aborted).
    fn failed(&mut self, epoch: u64, what: &'static str, error: KafkaError) -> KafkaOutputError {
        tracing::error!(topic = %self.topic, epoch, what, %error, "Kafka output producer unusable");
        self.broken = Some(error.clone());
        self.unusable(error)
    }

    /// The error for an unusable producer: [`KafkaOutputError::Fenced`] if the call or the
    /// producer's fatal error says so, else [`KafkaOutputError::Fatal`].
    fn unusable(&self, source: KafkaError) -> KafkaOutputError {
        let transactional_id = self.transactional_id.clone();
        let fatal = self.producer.client().fatal_error();
        if is_fenced(&source) || fatal.is_some_and(|(code, _)| is_fenced_code(code)) {
            KafkaOutputError::Fenced { transactional_id, source }
        } else {
            KafkaOutputError::Fatal { transactional_id, source }
        }
    }
}

/// A serialization failure as a Kafka error (it cannot happen writing to a `Vec`).
fn json_error(error: serde_json::Error) -> KafkaError {
    tracing::error!(%error, "cannot serialize an output record");
    KafkaError::MessageProduction(RDKafkaErrorCode::InvalidMessage)
}
