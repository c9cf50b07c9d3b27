//! Errors of the Kafka source and the dead-letter producer.

use rdkafka::error::KafkaError;

/// What can go wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A Kafka client could not be created from the settings (bad option, bad value).
    #[error("invalid Kafka client settings: {0}")]
    Config(#[source] KafkaError),
    /// The topic is not known to the brokers.
    #[error("topic `{topic}` does not exist on {brokers} (create it, or run `trustflow generate` first)")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
        /// The bootstrap servers asked.
        brokers: String,
    },
    /// The brokers did not answer a metadata, watermark or assignment request.
    #[error("Kafka request `{what}` failed: {source}")]
    Request {
        /// The request that failed.
        what: &'static str,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
    /// Consuming failed for a reason other than reaching the end of a partition.
    #[error("consuming from `{topic}` failed: {source}")]
    Consume {
        /// The topic being read.
        topic: String,
        /// The client's error.
        #[source]
        source: KafkaError,
    },
}

impl SourceError {
    /// Whether retrying the same operation later may succeed (broker unavailable, timeouts),
    /// as opposed to a configuration mistake that needs a person.
    pub fn is_retryable(&self) -> bool {
        match self {
            SourceError::Config(_) | SourceError::UnknownTopic { .. } => false,
            SourceError::Request { .. } | SourceError::Consume { .. } => true,
        }
    }
}
