//! Throughput: the preloaded events through the streaming pipeline, and through batch.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use super::memory::{MemoryStats, reset_peak_rss, rss_now};
use super::preload::Preloaded;
use super::{BenchConfig, BenchError, Fixture};
use crate::batch::{BatchJob, OutputFormat};
use crate::location::{Location, StorageOptions};
use crate::pipeline::{self, PipelineConfig};

/// One streaming run over the preloaded topic.
#[derive(Clone, Debug, Serialize)]
pub struct StreamingResult {
    /// Timely workers.
    pub workers: usize,
    /// Epoch length, milliseconds.
    pub epoch_ms: u64,
    /// Kafka records read.
    pub events_in: u64,
    /// Of those, transactions fed to the graph.
    pub transactions: u64,
    /// Of those, records dead-lettered.
    pub dead_lettered: u64,
    /// Epochs committed to the quality table.
    pub epochs: u64,
    /// Change rows written to the quality table (inserts plus deletes).
    pub change_rows: u64,
    /// Rows of the consolidated quality table (one verdict per transaction).
    pub table_rows: i64,
    /// Wall time from the run's start to its last commit, seconds.
    pub seconds: f64,
    /// `events_in / seconds`.
    pub events_per_second: f64,
    /// Peak memory of the run.
    pub memory: MemoryStats,
}

/// One batch run over the preloaded events (the JSON lines file).
#[derive(Clone, Debug, Serialize)]
pub struct BatchResult {
    /// Timely workers.
    pub workers: usize,
    /// Rows read and written.
    pub rows: u64,
    /// Wall time of the whole run (read, graph, write), seconds.
    pub seconds: f64,
    /// Of that, the quality graph, seconds.
    pub graph_seconds: f64,
    /// Of that, reading the JSON lines, seconds.
    pub read_seconds: f64,
    /// Of that, writing the Delta table, seconds.
    pub write_seconds: f64,
    /// `rows / seconds`.
    pub rows_per_second: f64,
    /// Peak memory of the run.
    pub memory: MemoryStats,
}

/// Timely's configuration for `workers` threads in this process.
pub fn timely_config(workers: usize) -> timely::Config {
    let communication = match workers {
        0 | 1 => timely::CommunicationConfig::Thread,
        n => timely::CommunicationConfig::Process(n),
    };
    timely::Config { communication, worker: timely::WorkerConfig::default() }
}

/// A pipeline configuration of the harness: `topic` in, the tables under `output`.
pub fn pipeline_config(
    fixture: &Fixture,
    config: &BenchConfig,
    topic: &str,
    output: PathBuf,
    app: &str,
    epoch: Duration,
) -> PipelineConfig {
    PipelineConfig {
        kafka: config.kafka.clone(),
        topic: topic.to_owned(),
        user_events_topic: None,
        dead_letter_topic: format!("{}-dlq", fixture.run_id),
        output_topic: None,
        group: format!("{}-{app}", fixture.run_id),
        output: Location::Local(output),
        storage: StorageOptions::default(),
        expectations: fixture.expectations.clone(),
        app_id: format!("{}-{app}", fixture.run_id),
        epoch,
        max_epoch_records: None,
        now_ms: config.now_ms,
        now_fixed: true,
        horizon: None,
        anomaly: Some(crate::dataflow::anomaly::AnomalyConfig::default()),
        maintain_every: None,
        lineage: None,
        scorer: None,
        governor: fixture.governor.clone(),
        encryption: None,
        bounded: true,
        registry: fixture.registry.clone(),
        stop: Arc::new(AtomicBool::new(false)),
    }
}

/// Runs the pipeline over the preloaded topic on `workers` workers to a fresh output
/// directory, bounded (as `run --stop-at-end`).
pub fn streaming(
    config: &BenchConfig,
    fixture: &Fixture,
    preloaded: &Preloaded,
    workers: usize,
    progress: &dyn Fn(&str),
) -> Result<StreamingResult, BenchError> {
    let output = config.work_dir.join(format!("{}-stream-w{workers}", fixture.run_id));
    let app = format!("w{workers}");
    let pipeline =
        pipeline_config(fixture, config, &preloaded.report.topic, output.clone(), &app, config.epoch);
    progress(&format!(
        "throughput: pipeline -w {workers}, epochs of {} ms, over {} events to {}",
        config.epoch.as_millis(),
        preloaded.report.events,
        output.display()
    ));
    let reset = reset_peak_rss();
    let start_rss = rss_now();
    let summary = pipeline::run(pipeline, timely_config(workers))
        .map_err(BenchError::pipeline(format!("throughput -w {workers}")))?;
    let memory = MemoryStats::after_run(start_rss, reset, summary.state.as_ref());
    let table = summary.table.clone().unwrap_or_default();
    let result = StreamingResult {
        workers,
        epoch_ms: config.epoch.as_millis() as u64,
        events_in: summary.events_in,
        transactions: summary.transactions,
        dead_lettered: summary.dead_letter_total(),
        epochs: table.epochs,
        change_rows: table.change_rows,
        table_rows: table.rows,
        seconds: summary.elapsed.as_secs_f64(),
        events_per_second: summary.events_per_second(),
        memory,
    };
    progress(&format!(
        "throughput: -w {workers}: {} events in {:.2} s = {:.0} events/s, {} epochs, peak RSS {} MiB",
        result.events_in,
        result.seconds,
        result.events_per_second,
        result.epochs,
        result.memory.peak_rss_bytes >> 20
    ));
    if !config.keep {
        let _ = std::fs::remove_dir_all(&output);
    }
    Ok(result)
}

/// Runs `trustflow batch` over the preloaded events' JSON lines on `workers` workers.
pub fn batch(
    config: &BenchConfig,
    fixture: &Fixture,
    preloaded: &Preloaded,
    workers: usize,
    progress: &dyn Fn(&str),
) -> Result<BatchResult, BenchError> {
    let stem = preloaded.jsonl.with_extension("");
    let output = PathBuf::from(format!("{}-batch-w{workers}", stem.display()));
    let job = BatchJob {
        input: preloaded.jsonl.clone(),
        output: Location::Local(output.clone()),
        storage: StorageOptions::default(),
        format: OutputFormat::Delta,
        overwrite: true,
        rejects: PathBuf::from(format!("{}.rejects.jsonl", output.display())),
        now_ms: config.now_ms,
        workers,
        timely: timely_config(workers),
        scorer: None,
        user_events: None,
        governor: fixture.governor.clone(),
        encryption: None,
    };
    progress(&format!("batch: -w {workers} over {}", preloaded.jsonl.display()));
    let reset = reset_peak_rss();
    let start_rss = rss_now();
    let summary = crate::batch::run(&job)?;
    let mut memory = MemoryStats::after_run(start_rss, reset, None);
    memory.retained_rows = summary.output_rows as i64;
    memory.bytes_per_retained_event = (summary.output_rows > 0)
        .then(|| memory.peak_rss_bytes.saturating_sub(start_rss) / summary.output_rows);
    let result = BatchResult {
        workers,
        rows: summary.output_rows,
        seconds: summary.total.seconds,
        graph_seconds: summary.graph_phase.seconds,
        read_seconds: summary.read_phase.seconds,
        write_seconds: summary.write_phase.seconds,
        rows_per_second: summary.total.rows_per_second,
        memory,
    };
    progress(&format!(
        "batch: -w {workers}: {} rows in {:.2} s = {:.0} rows/s (graph {:.2} s)",
        result.rows, result.seconds, result.rows_per_second, result.graph_seconds
    ));
    if !config.keep {
        let _ = std::fs::remove_dir_all(&output);
        let _ = std::fs::remove_file(&job.rejects);
    }
    Ok(result)
}
