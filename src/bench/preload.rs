//! Preloading: N generated events to a new topic and to a JSON lines file of the same rows.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{BenchConfig, BenchError, Fixture};
use crate::generate::produce::{Destinations, WireEncoder, produce};
use crate::generate::{Generator, GeneratorConfig, Truth};

/// What was preloaded, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct PreloadReport {
    /// The topic.
    pub topic: String,
    /// Its partitions.
    pub partitions: i32,
    /// Events produced (garbage included).
    pub events: u64,
    /// Of those, decodable transactions.
    pub transactions: u64,
    /// Of those, undecodable values.
    pub garbage: u64,
    /// Seconds the producing took (acknowledged by the broker).
    pub seconds: f64,
}

/// The preloaded input of the throughput and batch runs.
#[derive(Clone, Debug)]
pub struct Preloaded {
    /// As reported.
    pub report: PreloadReport,
    /// The generator's ledger.
    pub truth: Truth,
    /// The decodable transactions as JSON lines (batch's input).
    pub jsonl: PathBuf,
}

/// The generator settings of every harness run: the defaults, with `config`'s seed and now.
pub fn generator_config(config: &BenchConfig) -> GeneratorConfig {
    GeneratorConfig { seed: config.seed, now_ms: config.now_ms, ..GeneratorConfig::default() }
}

/// Produces `config.events` generated events to a new topic of `config.partitions`
/// partitions, and their transactions to a JSON lines file in the work directory.
pub fn preload(
    config: &BenchConfig,
    fixture: &Fixture,
    progress: &dyn Fn(&str),
) -> Result<Preloaded, BenchError> {
    let topic = format!("{}-in", fixture.run_id);
    config.kafka.ensure_topics(&[(&topic, config.partitions)])?;
    let jsonl = config.work_dir.join(format!("{}.jsonl", fixture.run_id));
    let mut file = BufWriter::new(File::create(&jsonl).map_err(BenchError::io(&jsonl))?);
    progress(&format!(
        "preload: {} events to topic {topic} ({} partitions) and {}",
        config.events,
        config.partitions,
        jsonl.display()
    ));
    let started = Instant::now();
    let truth = produce(
        Generator::new(generator_config(config)),
        config.events,
        None,
        WireEncoder::new(fixture.registry.clone(), fixture.schema_id),
        Destinations::transactions(Some((&config.kafka, &topic)), Some(&mut file)),
        |sent| progress(&format!("preload: {sent} sent")),
    )?;
    drop(file);
    let seconds = started.elapsed().as_secs_f64();
    progress(&format!("preload: done in {seconds:.1} s ({} transactions)", truth.transactions));
    let report = PreloadReport {
        topic,
        partitions: config.partitions,
        events: truth.events,
        transactions: truth.transactions,
        garbage: truth.garbage_total(),
        seconds,
    };
    Ok(Preloaded { report, truth, jsonl })
}
