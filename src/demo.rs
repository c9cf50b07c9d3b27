//! The zero-install demo: an in-process Kafka cluster, a generated stream, one bounded run.

use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;

use crate::codec::{LocalRegistry, SchemaResolver};
use crate::generate::produce::{Destinations, GenerateError, WireEncoder, produce};
use crate::generate::{Generator, GeneratorConfig, Timeline, Truth};
use crate::location::{self, Location, LocationError, StorageOptions};
use crate::pipeline::{self, PipelineConfig, PipelineError, RunSummary, TablePaths};
use crate::source::KafkaSettings;
use crate::source::client::REQUEST_TIMEOUT;

/// Share of planted fraud in the demo stream when the run scores with a model.
const DEMO_FRAUD_RATE: f64 = 0.005;

/// Partitions of the demo's transactions topic.
const DEMO_PARTITIONS: i32 = 8;

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The in-process cluster could not start.
    #[error("cannot start the in-process Kafka cluster: {0}")]
    Cluster(#[source] rdkafka::error::KafkaError),
    /// The previous demo table could not be removed.
    #[error("cannot replace the previous demo table at {path}: {source}")]
    Replace {
        /// The table.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The output exists and is not a Delta table: the demo will not delete it.
    #[error(
        "{path} exists and is not a Delta table; the demo only replaces its own output: choose another --output"
    )]
    NotATable {
        /// The output path.
        path: String,
    },
    /// Looking at or deleting the previous demo table in an object store failed.
    #[error(transparent)]
    Location(#[from] LocationError),
    /// The async runtime for the object store client could not start.
    #[error("cannot create the I/O runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The demo stream could not be generated.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The in-process cluster dropped the oldest generated events before the run could read
    /// them (librdkafka's mock partitions keep about 5 MiB or 100k batches each).
    #[error(
        "the in-process Kafka cluster kept only part of the {events} demo events (partition {partition} now \
         starts at offset {start}): use a smaller --demo-events or a real broker with --brokers"
    )]
    Retention {
        /// Events generated.
        events: u64,
        /// A partition that lost its start.
        partition: i32,
        /// Its first remaining offset.
        start: i64,
    },
    /// The pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl DemoError {
    /// Whether running again unchanged may succeed (an unavailable store or broker).
    pub fn is_retryable(&self) -> bool {
        match self {
            DemoError::Location(e) => e.is_retryable(),
            DemoError::Pipeline(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// The demo's outcome: the run's summary and the generator's ledger.
pub struct DemoOutcome {
    /// What the pipeline did.
    pub summary: RunSummary,
    /// What the generator sent.
    pub truth: Truth,
}

/// Runs the demo: starts a mock cluster, produces `events` generated events (seeded, "now"
/// = `config.now_ms`) and runs the pipeline over them to the end. The demo's output
/// tables are replaced if they exist (the mock cluster's data does not outlive the process anyway).
pub fn run(
    mut config: PipelineConfig,
    timely: timely::Config,
    events: u64,
    span_ms: Option<i64>,
) -> Result<DemoOutcome, DemoError> {
    let cluster = MockCluster::new(1).map_err(DemoError::Cluster)?;
    cluster.create_topic(&config.topic, DEMO_PARTITIONS, 1).map_err(DemoError::Cluster)?;
    cluster.create_topic(&config.dead_letter_topic, 1, 1).map_err(DemoError::Cluster)?;
    // Dead letters are published transactionally with their epoch, progress on its own topic.
    let dead_letter_progress = crate::sink::kafka_out::progress_topic(&config.dead_letter_topic);
    cluster.create_topic(&dead_letter_progress, 1, 1).map_err(DemoError::Cluster)?;
    if let Some(topic) = &config.user_events_topic {
        cluster.create_topic(topic, DEMO_PARTITIONS, 1).map_err(DemoError::Cluster)?;
    }
    // The mock cluster cannot create topics on request: the output topic's are made here.
    if let Some(topic) = &config.output_topic {
        cluster
            .create_topic(topic, crate::sink::kafka_out::DEFAULT_PARTITIONS, 1)
            .map_err(DemoError::Cluster)?;
        cluster
            .create_topic(&crate::sink::kafka_out::progress_topic(topic), 1, 1)
            .map_err(DemoError::Cluster)?;
    }
    config.kafka = KafkaSettings { brokers: cluster.bootstrap_servers(), options: config.kafka.options };
    config.bounded = true;
    let tables = TablePaths::under(&config.output);
    for table in tables.all() {
        replace_table(table, &config.storage)?;
    }

    let registry: Arc<dyn SchemaResolver> = config.registry.clone();
    let local = LocalRegistry::embedded().map_err(PipelineError::from)?;
    let schema_id = local.id_for_topic(&config.topic).unwrap_or(1);
    // The model's logins go to the user-events topic, with that subject's schema id.
    let user_events = config
        .user_events_topic
        .as_deref()
        .map(|topic| (topic, local.id_for_topic("user-events").unwrap_or(3)));
    let timeline = span_ms.map(|span| Timeline::spanning(config.now_ms, span, events));
    // Scoring the demo: plant fraud as `generate --fraud-rate` does, so that the stream looks
    // like what `train` learns from (fraud mode also makes ordinary activity more lifelike).
    let fraud_rate = if config.scorer.is_some() { DEMO_FRAUD_RATE } else { 0.0 };
    let generator = Generator::new(GeneratorConfig {
        now_ms: config.now_ms,
        timeline,
        fraud_rate,
        ..GeneratorConfig::default()
    });
    tracing::info!(events, topic = %config.topic, "generating the demo stream");
    let truth = produce(
        generator,
        events,
        None,
        WireEncoder::new(registry, schema_id),
        Destinations {
            user_events_topic: user_events,
            ..Destinations::transactions(Some((&config.kafka, &config.topic)), None)
        },
        |sent| tracing::info!(sent, "generated"),
    )?;
    check_retention(&config.kafka, &config.topic, events)?;
    let summary = pipeline::run(config, timely)?;
    drop(cluster);
    Ok(DemoOutcome { summary, truth })
}

/// Refuses to run over a topic whose partitions no longer start at offset 0: the run would
/// silently miss events the generator sent.
fn check_retention(kafka: &KafkaSettings, topic: &str, events: u64) -> Result<(), DemoError> {
    let consumer: BaseConsumer = kafka.config(&[]).create().map_err(DemoError::Cluster)?;
    for partition in 0..DEMO_PARTITIONS {
        let (start, _) =
            consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT).map_err(DemoError::Cluster)?;
        if start > 0 {
            return Err(DemoError::Retention { events, partition, start });
        }
    }
    Ok(())
}

/// Deletes a previous demo table at `table`; refuses anything there that is not a Delta table.
fn replace_table(table: &Location, storage: &StorageOptions) -> Result<(), DemoError> {
    let output = table.to_string();
    let Some(path) = table.local_path() else {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(DemoError::Runtime)?;
        return runtime.block_on(async {
            let store = location::object_store(table, storage)?;
            let objects = location::list_all(store.as_ref(), table).await?;
            if objects.is_empty() {
                return Ok(());
            }
            if !objects.iter().any(|o| o.starts_with("_delta_log/")) {
                return Err(DemoError::NotATable { path: output });
            }
            location::delete_all(store.as_ref(), table).await?;
            Ok(())
        });
    };
    if !path.exists() {
        return Ok(());
    }
    if !path.join("_delta_log").is_dir() {
        return Err(DemoError::NotATable { path: output });
    }
    std::fs::remove_dir_all(path).map_err(|source| DemoError::Replace { path: output, source })
}
