//! Raw flags of `trustflow bench` (validated in [`super::bench_plan`]).

use std::path::PathBuf;

use clap::Args;

use crate::bench::Part;

/// Flags of `trustflow bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Kafka bootstrap servers of a running broker (`bash scripts/kafka.sh start` starts one on
    /// 127.0.0.1:9092). The harness creates fresh topics of its own on it.
    #[arg(long, value_name = "HOST:PORT[,..]", env = "TRUSTFLOW_BROKERS")]
    pub brokers: String,
    /// The parts to run, comma-separated: throughput (streaming over preloaded events),
    /// batch (`trustflow batch` over the same events), latency (fixed-rate producer, output
    /// topic, read_committed consumer).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "throughput,batch,latency")]
    pub parts: Vec<Part>,
    /// Events to preload for throughput and batch (garbage included).
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    pub events: u64,
    /// Partitions of each new input topic (and of the output topic).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub partitions: i32,
    /// Worker counts of the throughput and batch runs, comma-separated, run in this order.
    #[arg(short = 'w', long = "workers", value_delimiter = ',', default_value = "1,2", value_name = "N,..")]
    pub workers: Vec<usize>,
    /// Epoch length of the throughput runs, milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub epoch_ms: u64,
    /// Producer rates of the latency runs, events per second, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000", value_name = "N,..")]
    pub rates: Vec<u64>,
    /// Epoch lengths of the latency runs, milliseconds, comma-separated: each rate runs with
    /// each. The epoch bounds the latency from below.
    #[arg(long, value_delimiter = ',', default_value = "1000,10", value_name = "MS,..")]
    pub latency_epoch_ms: Vec<u64>,
    /// How long each latency run produces, seconds.
    #[arg(long, default_value_t = 20.0, value_name = "SECONDS")]
    pub latency_secs: f64,
    /// Workers of the latency runs.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub latency_workers: usize,
    /// After a latency run's producer stops, how long to wait for the rest of its events on
    /// the output topic, seconds. Events not seen by then count with their wait so far.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub drain_secs: f64,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// "Now" of the generated timestamps and of timestamp validity, epoch milliseconds
    /// (default: the wall clock).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,
    /// Directory for the preloaded JSON lines and the runs' tables (default: a new directory
    /// under the system's temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Keep the tables and files of the runs (default: removed after each run).
    #[arg(long)]
    pub keep: bool,
    /// Write the result as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the result as Markdown tables here.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Extra librdkafka property, `key=value` (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_option: Vec<String>,
}
