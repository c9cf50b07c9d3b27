//! The producer's plumbing: its context (delivery failures), retries, topic creation.

use std::sync::Mutex;

use rdkafka::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};

use super::{ATTEMPTS, KafkaOutputError};
use crate::source::{KafkaSettings, SourceError};

/// Creates `topic` if the brokers do not know it (checked first: librdkafka's mock cluster
/// has no CreateTopics, so topics made there beforehand must not be created again).
pub(super) fn ensure_topic(
    settings: &KafkaSettings,
    topic: &str,
    partitions: i32,
    config: &[(&str, &str)],
) -> Result<(), KafkaOutputError> {
    match settings.partitions(topic) {
        Ok(existing) => {
            tracing::debug!(topic, partitions = existing.len(), "output topic exists");
            Ok(())
        }
        Err(SourceError::UnknownTopic { .. }) => {
            tracing::info!(topic, partitions, "creating the topic");
            settings
                .ensure_topics_with(&[(topic, partitions)], config)
                .map_err(|e| KafkaOutputError::Topics(Box::new(e)))
        }
        Err(error) => Err(KafkaOutputError::Topics(Box::new(error))),
    }
}

/// Runs a transactional call again while it fails with a retriable error, up to [`ATTEMPTS`].
pub(super) fn retry(mut call: impl FnMut() -> Result<(), KafkaError>) -> Result<(), KafkaError> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(KafkaError::Transaction(e)) if e.is_retriable() && attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "transactional call not finished, trying again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// The producer's context: logs client errors and keeps the first failed delivery of the
/// current transaction.
#[derive(Default)]
pub(super) struct TxnContext {
    first_failure: Mutex<Option<KafkaError>>,
}

impl TxnContext {
    pub(super) fn reset(&self) {
        if let Ok(mut first) = self.first_failure.lock() {
            *first = None;
        }
    }

    pub(super) fn first_failure(&self) -> Option<KafkaError> {
        self.first_failure.lock().ok().and_then(|first| first.clone())
    }
}

impl ClientContext for TxnContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(%error, reason, "Kafka output client error");
    }
}

impl ProducerContext for TxnContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result
            && let Ok(mut first) = self.first_failure.lock()
        {
            first.get_or_insert_with(|| error.clone());
        }
    }
}
