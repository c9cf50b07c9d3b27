//! `trustflow bench`: throughput, latency and memory of the pipeline on a real Kafka broker.
//!
//! The end-to-end harness ([`run`]) works on a running broker (`scripts/kafka.sh start`
//! starts one) and fresh topics and output directories of its own:
//!
//! 1. **throughput** ([`throughput`]): N generated events are preloaded to a new topic of P
//!    partitions (and to a JSON lines file), then the pipeline runs in-process over them,
//!    bounded, once per worker count, each time to a fresh output directory; events per
//!    second are the events read over the wall time of the run (from its start to its last
//!    commit). `trustflow batch` then runs over the same events from the file, for the ratio.
//! 2. **latency** ([`latency`]): a producer writes events at a fixed rate while the pipeline
//!    runs with the exactly-once output topic; a `read_committed` consumer measures each
//!    event's Kafka-in -> Kafka-out latency from its *intended* send time on the fixed
//!    schedule (coordinated omission: a producer that falls behind does not hide the wait),
//!    into an HDR histogram.
//! 3. **memory** ([`memory`]): each run's peak resident memory (VmHWM, reset before the run)
//!    and bytes per retained event.
//!
//! The result is [`report::BenchReport`], written as JSON and as a Markdown table.
//! [`micro`] and [`delta_write`] hold the code of the criterion suites in `benches/`.

pub mod delta_write;
pub mod error;
pub mod latency;
pub mod memory;
pub mod micro;
pub mod preload;
pub mod report;
pub mod throughput;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::BenchError;
pub use report::BenchReport;

use crate::codec::{LocalRegistry, SchemaResolver};
use crate::config::PipelineSpec;
use crate::dataflow::expectations::Expectation;
use crate::source::KafkaSettings;

/// The parts of the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Preloaded events through the streaming pipeline, per worker count.
    Throughput,
    /// `trustflow batch` over the same events (needs throughput's preload).
    Batch,
    /// Fixed-rate producer, pipeline with the output topic, read_committed consumer.
    Latency,
}

/// What a benchmark run does (built by `cli::bench::BenchPlan`).
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The broker and client options.
    pub kafka: KafkaSettings,
    /// The parts to run.
    pub parts: Vec<Part>,
    /// Events to preload for throughput (garbage included).
    pub events: u64,
    /// Partitions of each new input topic.
    pub partitions: i32,
    /// Worker counts to run the pipeline (and batch) with, in order.
    pub workers: Vec<usize>,
    /// Epoch length of the throughput runs.
    pub epoch: Duration,
    /// Producer rates of the latency runs, events per second.
    pub rates: Vec<u64>,
    /// Epoch lengths of the latency runs (each rate runs with each).
    pub latency_epochs: Vec<Duration>,
    /// How long the producer of a latency run sends.
    pub latency_duration: Duration,
    /// Workers of the latency runs.
    pub latency_workers: usize,
    /// How long to wait for the output after the producer stops, at most.
    pub drain: Duration,
    /// Generator seed.
    pub seed: u64,
    /// "Now" of the generator and of timestamp validity, epoch milliseconds.
    pub now_ms: i64,
    /// Where topics' JSON lines and output tables go (a fresh directory per run under it).
    pub work_dir: PathBuf,
    /// Whether to keep the work directory's contents at the end.
    pub keep: bool,
}

/// What every pipeline run of the harness shares: the schemas and the default expectations.
#[derive(Clone)]
pub struct Fixture {
    /// The built-in schemas.
    pub registry: Arc<dyn SchemaResolver>,
    /// The built-in spec's expectations (all `warn`: every verdict is kept).
    pub expectations: Vec<Expectation>,
    /// Schema id of transactions.
    pub schema_id: u32,
    /// A prefix unique to this harness run, for topics and app ids.
    pub run_id: String,
    /// The default PII policy (everything masked), as a plain run applies it.
    pub governor: Arc<crate::governance::Governor>,
}

impl Fixture {
    /// Loads the built-in schemas and spec.
    pub fn builtin() -> Result<Fixture, BenchError> {
        let registry = LocalRegistry::embedded().map_err(|e| BenchError::Builtin(e.to_string()))?;
        let schema_id = registry.id_for_topic("financial-transactions").unwrap_or(1);
        let spec = PipelineSpec::builtin().map_err(|e| BenchError::Builtin(e.to_string()))?;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Ok(Fixture {
            registry: Arc::new(registry),
            expectations: spec.expectations,
            schema_id,
            run_id: format!("bench-{}-{nanos}", std::process::id()),
            governor: Arc::new(
                crate::governance::Governor::masking().map_err(|e| BenchError::Builtin(e.to_string()))?,
            ),
        })
    }
}

/// Runs the harness's `parts`, telling `progress` what it does; returns the report.
pub fn run(config: &BenchConfig, progress: &dyn Fn(&str)) -> Result<BenchReport, BenchError> {
    let fixture = Fixture::builtin()?;
    std::fs::create_dir_all(&config.work_dir).map_err(BenchError::io(&config.work_dir))?;
    let mut report = BenchReport::new(config, &fixture.run_id);
    let wants = |part| config.parts.contains(&part);
    if wants(Part::Throughput) || wants(Part::Batch) {
        let preloaded = preload::preload(config, &fixture, progress)?;
        report.preload = Some(preloaded.report.clone());
        if wants(Part::Throughput) {
            for workers in &config.workers {
                report
                    .throughput
                    .push(throughput::streaming(config, &fixture, &preloaded, *workers, progress)?);
            }
        }
        if wants(Part::Batch) {
            for workers in &config.workers {
                report.batch.push(throughput::batch(config, &fixture, &preloaded, *workers, progress)?);
            }
        }
        if !config.keep {
            let _ = std::fs::remove_file(&preloaded.jsonl);
        }
    }
    if wants(Part::Latency) {
        for epoch in &config.latency_epochs {
            for rate in &config.rates {
                report.latency.push(latency::run(config, &fixture, *rate, *epoch, progress)?);
            }
        }
    }
    report.finish();
    Ok(report)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A configuration for unit tests (nothing is run).
    pub(crate) fn config() -> BenchConfig {
        BenchConfig {
            kafka: KafkaSettings::new("127.0.0.1:9"),
            parts: vec![Part::Throughput, Part::Batch, Part::Latency],
            events: 1000,
            partitions: 2,
            workers: vec![1, 2],
            epoch: Duration::from_secs(1),
            rates: vec![1000],
            latency_epochs: vec![Duration::from_millis(10)],
            latency_duration: Duration::from_secs(2),
            latency_workers: 2,
            drain: Duration::from_secs(10),
            seed: 42,
            now_ms: 1_767_225_600_000,
            work_dir: std::env::temp_dir(),
            keep: false,
        }
    }
}
