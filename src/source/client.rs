//! Kafka client settings shared by consumers, producers and the admin client.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;

use super::error::SourceError;

/// How long metadata and admin requests may take before they count as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the brokers are and any extra librdkafka properties (TLS, SASL, tuning), as
/// `key=value` pairs applied last so that they override trustflow's defaults.
#[derive(Clone, Debug)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port[,host:port...]`.
    pub brokers: String,
    /// Extra librdkafka properties.
    pub options: Vec<(String, String)>,
}

impl KafkaSettings {
    /// Settings for the given bootstrap servers and no extra properties.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaSettings { brokers: brokers.into(), options: Vec::new() }
    }

    /// A client configuration with trustflow's `defaults` and then the user's options.
    pub fn config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in &self.options {
            config.set(key, value);
        }
        config
    }

    /// The partition ids of `topic`, or [`SourceError::UnknownTopic`].
    pub fn partitions(&self, topic: &str) -> Result<Vec<i32>, SourceError> {
        let consumer: BaseConsumer = self.config(&[]).create().map_err(SourceError::Config)?;
        let metadata = consumer
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|source| SourceError::Request { what: "metadata", source })?;
        let unknown = || SourceError::UnknownTopic { topic: topic.to_owned(), brokers: self.brokers.clone() };
        let found = metadata.topics().iter().find(|t| t.name() == topic).ok_or_else(unknown)?;
        if found.error().is_some() || found.partitions().is_empty() {
            return Err(unknown());
        }
        let mut ids: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Creates each `(topic, partitions)` that does not exist yet (replication factor 1 is the
    /// broker default; existing topics are left as they are).
    pub fn ensure_topics(&self, topics: &[(&str, i32)]) -> Result<(), SourceError> {
        self.ensure_topics_with(topics, &[])
    }

    /// As [`KafkaSettings::ensure_topics`], creating the missing topics with the topic-level
    /// `config` (e.g. `cleanup.policy=compact`); existing topics are not altered.
    pub fn ensure_topics_with(
        &self,
        topics: &[(&str, i32)],
        config: &[(&str, &str)],
    ) -> Result<(), SourceError> {
        let admin: AdminClient<DefaultClientContext> =
            self.config(&[]).create().map_err(SourceError::Config)?;
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|(name, partitions)| {
                let topic = NewTopic::new(name, *partitions, TopicReplication::Fixed(-1));
                config.iter().fold(topic, |topic, (key, value)| topic.set(key, value))
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
            SourceError::Request {
                what: "create topics",
                source: rdkafka::error::KafkaError::AdminOpCreation(e.to_string()),
            }
        })?;
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = runtime
            .block_on(admin.create_topics(&new, &options))
            .map_err(|source| SourceError::Request { what: "create topics", source })?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(SourceError::Request {
                        what: "create topics",
                        source: rdkafka::error::KafkaError::AdminOp(code),
                    })
                    .inspect_err(|_| tracing::error!(%topic, ?code, "topic creation failed"));
                }
            }
        }
        Ok(())
    }
}
