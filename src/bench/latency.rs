//! Latency: a fixed-rate producer, the pipeline with its output topic, a read_committed
//! consumer timing each event from its intended send time (coordinated-omission aware).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::memory::{MemoryStats, reset_peak_rss, rss_now};
use super::preload::generator_config;
use super::throughput::{pipeline_config, timely_config};
use super::{BenchConfig, BenchError, Fixture};
use crate::generate::produce::WireEncoder;
use crate::generate::{Event, Generator};
use crate::pipeline::{self, RunSummary};
use crate::sink::kafka_out::record::CHANGE_HEADER;
use crate::source::KafkaSettings;

/// How long the pipeline may take to open its tables and output topic.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the harness reports progress during a latency run.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// The producer sleeps when it is this far ahead of its schedule (else it sends at once,
/// at most this early).
const SLEEP_AHEAD: Duration = Duration::from_micros(200);
/// Largest latency the histogram holds, microseconds (one hour; larger values saturate).
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Latency percentiles, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Events recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of a histogram of microseconds.
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        }
    }
}

/// One latency run: a rate, an epoch length.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyResult {
    /// Target producer rate, events per second.
    pub target_rate: u64,
    /// The pipeline's epoch, milliseconds (a lower bound of the latency's scale: an event
    /// waits for its epoch to close, then for the epoch's commits).
    pub epoch_ms: u64,
    /// Timely workers.
    pub workers: usize,
    /// Seconds the producer was scheduled to send.
    pub duration_seconds: f64,
    /// Events sent (garbage included).
    pub sent: u64,
    /// Of those, transactions (each must come out as an insert on the output topic).
    pub sent_transactions: u64,
    /// Events per second the producer achieved (sent over the time to its last send).
    pub achieved_rate: f64,
    /// Transactions seen on the output topic within the drain time.
    pub observed: u64,
    /// Transactions not seen within the drain time: counted in the percentiles with their
    /// wait up to the deadline (a lower bound), never left out.
    pub unobserved: u64,
    /// Per transaction, intended send time to its insert on the output topic, read_committed.
    pub latency_ms: Percentiles,
    /// Change records read from the output topic (inserts and deletes).
    pub output_records: u64,
    /// Records the pipeline read.
    pub events_in: u64,
    /// Epochs the pipeline committed.
    pub epochs: u64,
    /// Peak memory of the run.
    pub memory: MemoryStats,
}

/// Events sent but not yet seen on the output topic: per transactionId (`None`: a null id),
/// the intended send times in nanoseconds since the start, oldest first.
#[derive(Debug, Default)]
pub struct InFlight {
    by_id: HashMap<Option<String>, VecDeque<u64>>,
    len: u64,
}

impl InFlight {
    /// An event with `id` is due at `intended_ns`.
    pub fn expect(&mut self, id: Option<String>, intended_ns: u64) {
        self.by_id.entry(id).or_default().push_back(intended_ns);
        self.len += 1;
    }

    /// An insert of `id` was read at `at_ns`: the oldest event of that id waiting is seen,
    /// and its latency returned. An insert with no event waiting (the re-emitted verdict of
    /// an earlier row, e.g. its uniqueness changed) returns `None`.
    pub fn observe(&mut self, id: &Option<String>, at_ns: u64) -> Option<u64> {
        let queue = self.by_id.get_mut(id)?;
        let intended = queue.pop_front()?;
        if queue.is_empty() {
            self.by_id.remove(id);
        }
        self.len -= 1;
        Some(at_ns.saturating_sub(intended))
    }

    /// Events still waiting.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes every waiting event's intended time.
    pub fn drain(&mut self) -> Vec<u64> {
        self.len = 0;
        self.by_id.drain().flat_map(|(_, times)| times).collect()
    }
}

/// The latency histogram, in microseconds, one hour at most, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("1 us to 1 h at 3 digits is a valid histogram")
}

/// Records a latency in nanoseconds (as microseconds, at least 1).
fn record(histogram: &mut Histogram<u64>, latency_ns: u64) {
    histogram.saturating_record((latency_ns / 1000).max(1));
}

/// What the producer thread did.
struct Produced {
    sent: u64,
    transactions: u64,
    last_send: Duration,
}

/// Shared between the harness and its threads.
struct Shared {
    start: Instant,
    in_flight: Mutex<InFlight>,
    histogram: Mutex<Histogram<u64>>,
    sent: AtomicU64,
    observed: AtomicU64,
    records: AtomicU64,
    stop_consumer: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

/// Runs one latency measurement: `rate` events per second for the configured duration into
/// a new topic, the pipeline (epochs of `epoch`) publishing to a new output topic.
pub fn run(
    config: &BenchConfig,
    fixture: &Fixture,
    rate: u64,
    epoch: Duration,
    progress: &dyn Fn(&str),
) -> Result<LatencyResult, BenchError> {
    let name = format!("{}-lat-{rate}-{}ms", fixture.run_id, epoch.as_millis());
    let (input, output_topic) = (format!("{name}-in"), format!("{name}-out"));
    config.kafka.ensure_topics(&[(&input, config.partitions), (&output_topic, config.partitions)])?;
    let output = config.work_dir.join(&name);
    let mut pipeline = pipeline_config(fixture, config, &input, output.clone(), &name, epoch);
    pipeline.output_topic = Some(output_topic.clone());
    pipeline.bounded = false;
    let stop = pipeline.stop.clone();
    let workers = config.latency_workers;
    progress(&format!(
        "latency: {rate} events/s for {} s, pipeline -w {workers} with epochs of {} ms, output topic {output_topic}",
        config.latency_duration.as_secs_f64(),
        epoch.as_millis()
    ));
    let reset = reset_peak_rss();
    let start_rss = rss_now();
    let running = std::thread::Builder::new()
        .name("bench-pipeline".into())
        .spawn(move || pipeline::run(pipeline, timely_config(workers)))
        .map_err(BenchError::io("bench-pipeline thread"))?;
    let what = format!("latency {rate}/s, epochs of {} ms", epoch.as_millis());
    if let Err(e) = wait_for_start(&output, &running) {
        stop.store(true, Ordering::Relaxed);
        return Err(match running.join() {
            Ok(Err(source)) => BenchError::pipeline(what)(source),
            _ => e,
        });
    }

    let shared = Arc::new(Shared {
        start: Instant::now(),
        in_flight: Mutex::new(InFlight::default()),
        histogram: Mutex::new(histogram()),
        sent: AtomicU64::new(0),
        observed: AtomicU64::new(0),
        records: AtomicU64::new(0),
        stop_consumer: AtomicBool::new(false),
    });
    let consumer = {
        let (shared, settings, topic) = (shared.clone(), config.kafka.clone(), output_topic.clone());
        std::thread::Builder::new()
            .name("bench-consumer".into())
            .spawn(move || consume(&settings, &topic, &shared))
            .map_err(BenchError::io("bench-consumer thread"))?
    };
    let total = (rate as f64 * config.latency_duration.as_secs_f64()).round() as u64;
    let producer = {
        let (shared, settings, topic) = (shared.clone(), config.kafka.clone(), input.clone());
        let generator = Generator::new(generator_config(config));
        let encoder = WireEncoder::new(fixture.registry.clone(), fixture.schema_id);
        std::thread::Builder::new()
            .name("bench-producer".into())
            .spawn(move || produce_at_rate(&settings, &topic, rate, total, generator, encoder, &shared))
            .map_err(BenchError::io("bench-producer thread"))?
    };

    let mut last_report = Instant::now();
    let report = |label: &str| {
        let in_flight = shared.in_flight.lock().map_or(0, |f| f.len());
        progress(&format!(
            "latency: {label} {:.0} s: {} sent, {} seen on the output topic, {in_flight} in flight",
            shared.start.elapsed().as_secs_f64(),
            shared.sent.load(Ordering::Relaxed),
            shared.observed.load(Ordering::Relaxed),
        ));
    };
    while !producer.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            report("at");
        }
    }
    let produced = match producer.join().map_err(|_| BenchError::Panicked("producer")).and_then(|r| r) {
        Ok(produced) => produced,
        Err(e) => {
            // Leave no thread behind: the consumer and the pipeline stop, their outcome aside.
            shared.stop_consumer.store(true, Ordering::Relaxed);
            stop.store(true, Ordering::Relaxed);
            let _ = consumer.join();
            let _ = running.join();
            return Err(e);
        }
    };
    let deadline = Instant::now() + config.drain;
    while Instant::now() < deadline
        && shared.in_flight.lock().map_or(0, |f| f.len()) > 0
        && !running.is_finished()
    {
        std::thread::sleep(Duration::from_millis(20));
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            report("draining, at");
        }
    }
    shared.stop_consumer.store(true, Ordering::Relaxed);
    consumer.join().map_err(|_| BenchError::Panicked("consumer"))??;
    // Events not seen by the deadline count with their wait so far: a lower bound.
    let now_ns = shared.now_ns();
    let unseen = shared.in_flight.lock().map(|mut f| f.drain()).unwrap_or_default();
    let mut histogram = shared.histogram.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram());
    for intended in &unseen {
        record(&mut histogram, now_ns.saturating_sub(*intended));
    }
    stop.store(true, Ordering::Relaxed);
    progress("latency: stopping the pipeline (it commits what it read)");
    let summary: RunSummary =
        running.join().map_err(|_| BenchError::Panicked("pipeline"))?.map_err(BenchError::pipeline(what))?;
    let memory = MemoryStats::after_run(start_rss, reset, summary.state.as_ref());
    let result = LatencyResult {
        target_rate: rate,
        epoch_ms: epoch.as_millis() as u64,
        workers,
        duration_seconds: config.latency_duration.as_secs_f64(),
        sent: produced.sent,
        sent_transactions: produced.transactions,
        achieved_rate: produced.sent as f64 / produced.last_send.as_secs_f64().max(1e-9),
        observed: shared.observed.load(Ordering::Relaxed),
        unobserved: unseen.len() as u64,
        latency_ms: Percentiles::of(&histogram),
        output_records: shared.records.load(Ordering::Relaxed),
        events_in: summary.events_in,
        epochs: summary.table.as_ref().map_or(0, |t| t.epochs),
        memory,
    };
    progress(&format!(
        "latency: {rate}/s achieved {:.0}/s, epochs of {} ms: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms ({} of {} seen)",
        result.achieved_rate,
        result.epoch_ms,
        result.latency_ms.p50,
        result.latency_ms.p99,
        result.latency_ms.p999,
        result.latency_ms.max,
        result.observed,
        result.sent_transactions
    ));
    if !config.keep {
        let _ = std::fs::remove_dir_all(&output);
    }
    Ok(result)
}

/// Waits until the pipeline has opened its last table (it then opens the output topic and
/// starts reading), or fails if it ended or took too long.
fn wait_for_start(
    output: &Path,
    running: &JoinHandle<Result<RunSummary, crate::pipeline::PipelineError>>,
) -> Result<(), BenchError> {
    let marker = output.join("quality_windows").join("_delta_log");
    let started = Instant::now();
    while !marker.exists() {
        if running.is_finished() || started.elapsed() > START_TIMEOUT {
            return Err(BenchError::NotStarted(marker, START_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The output topic's producer initialises its transactions after the tables open.
    std::thread::sleep(Duration::from_secs(1));
    Ok(())
}

/// Sends `total` generated events to `topic`, event `i` at `i / rate` seconds after the
/// start; each transaction is entered in flight (with its intended time) before it is sent.
fn produce_at_rate(
    settings: &KafkaSettings,
    topic: &str,
    rate: u64,
    total: u64,
    generator: Generator,
    mut encoder: WireEncoder,
    shared: &Shared,
) -> Result<Produced, BenchError> {
    let producer: BaseProducer = settings
        .config(&[
            ("enable.idempotence", "true"),
            ("linger.ms", "1"),
            ("queue.buffering.max.messages", "500000"),
        ])
        .create()
        .map_err(|source| BenchError::Kafka { what: "creating the bench producer", source })?;
    let interval_ns = 1e9 / rate.max(1) as f64;
    let mut produced = Produced { sent: 0, transactions: 0, last_send: Duration::ZERO };
    for (i, event) in generator.take(total as usize).enumerate() {
        let intended_ns = (i as f64 * interval_ns) as u64;
        let ahead = Duration::from_nanos(intended_ns).saturating_sub(shared.start.elapsed());
        if ahead > SLEEP_AHEAD {
            std::thread::sleep(ahead);
        }
        let key = match &event {
            Event::Transaction(row, _) => {
                let id = row.transaction_id.clone();
                shared
                    .in_flight
                    .lock()
                    .map_err(|_| BenchError::Panicked("consumer"))?
                    .expect(id.clone(), intended_ns);
                produced.transactions += 1;
                id.unwrap_or_default()
            }
            Event::Garbage(_) => String::new(),
        };
        let value = encoder.encode(&event)?;
        let mut record = BaseRecord::to(topic).key(key.as_bytes()).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    producer.poll(Duration::from_millis(1));
                    record = returned;
                }
                Err((source, _)) => return Err(BenchError::Kafka { what: "producing bench events", source }),
            }
        }
        producer.poll(Duration::ZERO);
        produced.sent += 1;
        shared.sent.store(produced.sent, Ordering::Relaxed);
    }
    produced.last_send = shared.start.elapsed();
    producer
        .flush(Duration::from_secs(60))
        .map_err(|source| BenchError::Kafka { what: "flushing the bench producer", source })?;
    Ok(produced)
}

/// Reads the output topic (read_committed) from its beginning until told to stop, timing
/// each insert against the intended send time of its event.
fn consume(settings: &KafkaSettings, topic: &str, shared: &Shared) -> Result<(), BenchError> {
    let consumer: BaseConsumer = settings
        .config(&[
            ("group.id", "trustflow-bench-latency"),
            ("enable.auto.commit", "false"),
            ("isolation.level", "read_committed"),
            ("fetch.wait.max.ms", "5"),
        ])
        .create()
        .map_err(|source| BenchError::Kafka { what: "creating the output consumer", source })?;
    let mut assignment = TopicPartitionList::new();
    for partition in settings.partitions(topic)? {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .map_err(|source| BenchError::Kafka { what: "assigning the output topic", source })?;
    }
    consumer
        .assign(&assignment)
        .map_err(|source| BenchError::Kafka { what: "assigning the output topic", source })?;
    while !shared.stop_consumer.load(Ordering::Relaxed) {
        let Some(message) = consumer.poll(Duration::from_millis(50)) else { continue };
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "bench consumer");
                continue;
            }
        };
        let at_ns = shared.now_ns();
        shared.records.fetch_add(1, Ordering::Relaxed);
        let insert = message.headers().is_some_and(|headers| {
            headers.iter().any(|h| h.key == CHANGE_HEADER && h.value == Some(b"insert".as_slice()))
        });
        if !insert {
            continue;
        }
        let id = message.key().map(|k| String::from_utf8_lossy(k).into_owned());
        let latency =
            shared.in_flight.lock().map_err(|_| BenchError::Panicked("producer"))?.observe(&id, at_ns);
        if let Some(latency) = latency {
            if let Ok(mut histogram) = shared.histogram.lock() {
                record(&mut histogram, latency);
            }
            shared.observed.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_matches_the_oldest_event_of_an_id() {
        let mut in_flight = InFlight::default();
        in_flight.expect(Some("a".into()), 100);
        in_flight.expect(Some("a".into()), 300);
        in_flight.expect(None, 50);
        assert_eq!(in_flight.len(), 3);
        assert_eq!(in_flight.observe(&Some("a".into()), 1_000), Some(900));
        assert_eq!(in_flight.observe(&Some("a".into()), 1_100), Some(800));
        assert_eq!(in_flight.observe(&Some("a".into()), 1_200), None, "a re-emitted verdict");
        assert_eq!(in_flight.observe(&Some("b".into()), 1_200), None);
        assert_eq!(in_flight.drain(), vec![50]);
        assert!(in_flight.is_empty());
    }

    #[test]
    fn percentiles_come_from_intended_times_in_milliseconds() {
        let mut histogram = histogram();
        for latency_ms in 1..=1000u64 {
            record(&mut histogram, latency_ms * 1_000_000);
        }
        let p = Percentiles::of(&histogram);
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() < 1.0 && (p.p99 - 990.0).abs() < 1.0, "{p:?}");
        assert!(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.max);
        assert!((p.max - 1000.0).abs() < 1.0);
    }
}
