//! The harness's result: the machine, the settings, every run, the ratios; JSON and Markdown.

use std::fmt::Write as _;

use serde::Serialize;

use super::latency::LatencyResult;
use super::preload::PreloadReport;
use super::throughput::{BatchResult, StreamingResult};
use super::{BenchConfig, Part};

/// The machine the numbers were taken on.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// The CPU's model name.
    pub cpu: String,
    /// The 1-minute load average when the run started (other work on the machine).
    pub load_at_start: f64,
    /// trustflow's version.
    pub version: String,
}

impl Machine {
    /// This machine, from `/proc` (empty fields elsewhere).
    pub fn current() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let meminfo = read("/proc/meminfo");
        let memory_kib: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|v| v.split_once(':')).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default();
        let load =
            read("/proc/loadavg").split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes: memory_kib * 1024,
            cpu,
            load_at_start: load,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The settings of the run, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Parts run.
    pub parts: Vec<Part>,
    /// Events preloaded.
    pub events: u64,
    /// Partitions per input topic.
    pub partitions: i32,
    /// Worker counts of the throughput and batch runs.
    pub workers: Vec<usize>,
    /// Epoch of the throughput runs, milliseconds.
    pub epoch_ms: u64,
    /// Rates of the latency runs.
    pub rates: Vec<u64>,
    /// Epochs of the latency runs, milliseconds.
    pub latency_epoch_ms: Vec<u64>,
    /// Seconds each latency run produces.
    pub latency_seconds: f64,
    /// Workers of the latency runs.
    pub latency_workers: usize,
    /// Generator seed.
    pub seed: u64,
    /// "Now", epoch milliseconds.
    pub now_ms: i64,
}

/// Ratios between runs of the same harness run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Ratios {
    /// Streaming throughput on the most workers over the fewest.
    pub streaming_scaling: Option<f64>,
    /// Batch rows/s over streaming transactions/s, per worker count: `(workers, ratio)`.
    pub batch_over_streaming: Vec<(usize, f64)>,
}

/// Everything a harness run measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Unique prefix of the run's topics and tables.
    pub run_id: String,
    /// Where.
    pub machine: Machine,
    /// With what.
    pub settings: Settings,
    /// The preloaded input, if throughput or batch ran.
    pub preload: Option<PreloadReport>,
    /// Streaming runs over the preloaded topic.
    pub throughput: Vec<StreamingResult>,
    /// Batch runs over the same events.
    pub batch: Vec<BatchResult>,
    /// Latency runs.
    pub latency: Vec<LatencyResult>,
    /// Ratios between the runs above.
    pub ratios: Ratios,
}

impl BenchReport {
    /// An empty report of `config`'s run.
    pub fn new(config: &BenchConfig, run_id: &str) -> BenchReport {
        BenchReport {
            run_id: run_id.to_owned(),
            machine: Machine::current(),
            settings: Settings {
                parts: config.parts.clone(),
                events: config.events,
                partitions: config.partitions,
                workers: config.workers.clone(),
                epoch_ms: config.epoch.as_millis() as u64,
                rates: config.rates.clone(),
                latency_epoch_ms: config.latency_epochs.iter().map(|e| e.as_millis() as u64).collect(),
                latency_seconds: config.latency_duration.as_secs_f64(),
                latency_workers: config.latency_workers,
                seed: config.seed,
                now_ms: config.now_ms,
            },
            preload: None,
            throughput: Vec::new(),
            batch: Vec::new(),
            latency: Vec::new(),
            ratios: Ratios::default(),
        }
    }

    /// Computes the ratios from the runs.
    pub fn finish(&mut self) {
        let by_workers = |w: usize| self.throughput.iter().find(|r| r.workers == w);
        let fewest = self.throughput.iter().map(|r| r.workers).min();
        let most = self.throughput.iter().map(|r| r.workers).max();
        self.ratios.streaming_scaling = match (fewest.and_then(by_workers), most.and_then(by_workers)) {
            (Some(low), Some(high)) if high.workers > low.workers && low.events_per_second > 0.0 => {
                Some(high.events_per_second / low.events_per_second)
            }
            _ => None,
        };
        self.ratios.batch_over_streaming = self
            .batch
            .iter()
            .filter_map(|b| {
                let s = by_workers(b.workers)?;
                let streaming = s.transactions as f64 / s.seconds.max(1e-9);
                (streaming > 0.0).then(|| (b.workers, b.rows_per_second / streaming))
            })
            .collect();
    }

    /// The report as Markdown tables.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# trustflow bench `{}`\n", self.run_id);
        let _ = writeln!(
            md,
            "Machine: {} cores ({}), {:.1} GiB, load {:.2} at start; trustflow {}.\n",
            m.cores,
            if m.cpu.is_empty() { "unknown CPU" } else { &m.cpu },
            m.memory_bytes as f64 / (1u64 << 30) as f64,
            m.load_at_start,
            m.version
        );
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        let per = |b: Option<u64>| b.map_or("-".to_owned(), |b| b.to_string());
        if let Some(p) = &self.preload {
            let _ = writeln!(
                md,
                "Preloaded {} events ({} transactions, {} undecodable) to `{}` ({} partitions) in {:.1} s.\n",
                p.events, p.transactions, p.garbage, p.topic, p.partitions, p.seconds
            );
        }
        if !self.throughput.is_empty() {
            md.push_str("## Throughput (streaming, to committed Delta tables)\n\n");
            md.push_str("| workers | epoch | events | epochs | seconds | events/s | peak RSS | bytes/retained event |\n");
            md.push_str("|---|---|---|---|---|---|---|---|\n");
            for r in &self.throughput {
                let _ = writeln!(
                    md,
                    "| {} | {} ms | {} | {} | {:.2} | {:.0} | {:.0} MiB | {} |",
                    r.workers,
                    r.epoch_ms,
                    r.events_in,
                    r.epochs,
                    r.seconds,
                    r.events_per_second,
                    mib(r.memory.peak_rss_bytes),
                    per(r.memory.bytes_per_retained_event)
                );
            }
            md.push('\n');
        }
        if !self.batch.is_empty() {
            md.push_str("## Batch over the same events\n\n");
            md.push_str("| workers | rows | seconds (read / graph / write) | rows/s | peak RSS |\n");
            md.push_str("|---|---|---|---|---|\n");
            for b in &self.batch {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.2} ({:.2} / {:.2} / {:.2}) | {:.0} | {:.0} MiB |",
                    b.workers,
                    b.rows,
                    b.seconds,
                    b.read_seconds,
                    b.graph_seconds,
                    b.write_seconds,
                    b.rows_per_second,
                    mib(b.memory.peak_rss_bytes)
                );
            }
            md.push('\n');
        }
        if self.ratios.streaming_scaling.is_some() || !self.ratios.batch_over_streaming.is_empty() {
            md.push_str("## Ratios\n\n");
            if let Some(scaling) = self.ratios.streaming_scaling {
                let _ = writeln!(md, "- streaming, most workers over fewest: {scaling:.2}x");
            }
            for (workers, ratio) in &self.ratios.batch_over_streaming {
                let _ = writeln!(md, "- batch over streaming, -w {workers}: {ratio:.2}x");
            }
            md.push('\n');
        }
        if !self.latency.is_empty() {
            md.push_str("## Latency (Kafka in -> Kafka out, read_committed, from intended send times)\n\n");
            md.push_str(
                "| rate | achieved | epoch | workers | seen / sent | p50 ms | p99 ms | p99.9 ms | max ms | epochs | peak RSS |\n",
            );
            md.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
            for l in &self.latency {
                let _ = writeln!(
                    md,
                    "| {}/s | {:.0}/s | {} ms | {} | {} / {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.0} MiB |",
                    l.target_rate,
                    l.achieved_rate,
                    l.epoch_ms,
                    l.workers,
                    l.observed,
                    l.sent_transactions,
                    l.latency_ms.p50,
                    l.latency_ms.p99,
                    l.latency_ms.p999,
                    l.latency_ms.max,
                    l.epochs,
                    mib(l.memory.peak_rss_bytes)
                );
            }
            md.push_str(
                "\nThe epoch bounds latency from below: an event waits for its epoch to close and for the \
                 epoch's Delta and Kafka commits. Transactions not seen within the drain time are counted \
                 with their wait until then.\n",
            );
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::memory::MemoryStats;

    fn streaming(workers: usize, seconds: f64) -> StreamingResult {
        StreamingResult {
            workers,
            epoch_ms: 1000,
            events_in: 1000,
            transactions: 990,
            dead_lettered: 10,
            epochs: 3,
            change_rows: 1200,
            table_rows: 990,
            seconds,
            events_per_second: 1000.0 / seconds,
            memory: MemoryStats::default(),
        }
    }

    #[test]
    fn ratios_compare_runs_of_the_same_report() {
        let config = crate::bench::tests::config();
        let mut report = BenchReport::new(&config, "t");
        report.throughput = vec![streaming(1, 10.0), streaming(2, 5.0)];
        report.batch.push(BatchResult {
            workers: 2,
            rows: 990,
            seconds: 1.0,
            graph_seconds: 0.5,
            read_seconds: 0.2,
            write_seconds: 0.3,
            rows_per_second: 990.0,
            memory: MemoryStats::default(),
        });
        report.finish();
        assert_eq!(report.ratios.streaming_scaling, Some(2.0));
        assert_eq!(report.ratios.batch_over_streaming, vec![(2, 5.0)]);
        let md = report.markdown();
        assert!(md.contains("| 2 | 1000 ms | 1000 | 3 | 5.00 | 200 |"), "{md}");
        assert!(md.contains("streaming, most workers over fewest: 2.00x"), "{md}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["throughput"][1]["workers"], 2);
        assert_eq!(json["settings"]["parts"][0], "throughput");
    }
}
