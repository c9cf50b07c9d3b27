//! The validated plan of `trustflow bench`.

use std::path::PathBuf;
use std::time::Duration;

use super::bench_args::BenchArgs;
use super::plan::{PlanError, parse_options, wall_clock_ms};
use crate::bench::BenchConfig;
use crate::source::KafkaSettings;

/// What `trustflow bench` will do.
#[derive(Debug)]
pub struct BenchPlan {
    /// The harness's configuration.
    pub config: BenchConfig,
    /// Where to write the JSON result.
    pub json: Option<PathBuf>,
    /// Where to write the Markdown tables.
    pub markdown: Option<PathBuf>,
}

/// A positive number of seconds as a duration.
fn seconds(flag: &str, value: f64) -> Result<Duration, PlanError> {
    if value.is_finite() && value > 0.0 && value < 1e7 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(PlanError::new(format!("{flag} must be a positive number of seconds, not {value}")))
    }
}

impl BenchPlan {
    /// Validates `args`: at least one part, event, partition, worker and rate; positive
    /// epochs and durations.
    pub fn from_args(args: BenchArgs) -> Result<BenchPlan, PlanError> {
        if args.parts.is_empty() {
            return Err(PlanError::new("--parts names nothing to run"));
        }
        if args.events == 0 {
            return Err(PlanError::new("--events must be at least 1"));
        }
        if args.partitions < 1 {
            return Err(PlanError::new("--partitions must be at least 1"));
        }
        if args.workers.is_empty() || args.workers.contains(&0) || args.latency_workers == 0 {
            return Err(PlanError::new("--workers and --latency-workers must be at least 1"));
        }
        if args.rates.is_empty() || args.rates.contains(&0) {
            return Err(PlanError::new("--rates must be at least 1 event per second each"));
        }
        if args.epoch_ms == 0 || args.latency_epoch_ms.is_empty() || args.latency_epoch_ms.contains(&0) {
            return Err(PlanError::new("--epoch-ms and --latency-epoch-ms must be at least 1 ms"));
        }
        let mut parts = args.parts;
        parts.sort_unstable();
        parts.dedup();
        let work_dir = args
            .work_dir
            .unwrap_or_else(|| std::env::temp_dir().join(format!("trustflow-bench-{}", std::process::id())));
        let config = BenchConfig {
            kafka: KafkaSettings { brokers: args.brokers, options: parse_options(&args.kafka_option)? },
            parts,
            events: args.events,
            partitions: args.partitions,
            workers: args.workers,
            epoch: Duration::from_millis(args.epoch_ms),
            rates: args.rates,
            latency_epochs: args.latency_epoch_ms.into_iter().map(Duration::from_millis).collect(),
            latency_duration: seconds("--latency-secs", args.latency_secs)?,
            latency_workers: args.latency_workers,
            drain: seconds("--drain-secs", args.drain_secs)?,
            seed: args.seed,
            now_ms: args.now.unwrap_or_else(wall_clock_ms),
            work_dir,
            keep: args.keep,
        };
        Ok(BenchPlan { config, json: args.json, markdown: args.markdown })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::bench::Part;
    use crate::cli::{Cli, Command};

    fn plan(argv: &[&str]) -> Result<BenchPlan, PlanError> {
        let cli = Cli::try_parse_from(
            ["trustflow", "bench", "--brokers", "127.0.0.1:39092"].into_iter().chain(argv.iter().copied()),
        )
        .map_err(|e| PlanError::new(e.to_string()))?;
        match cli.command {
            Command::Bench(args) => BenchPlan::from_args(*args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_run_every_part_on_one_and_two_workers() {
        let plan = plan(&[]).unwrap();
        let config = &plan.config;
        assert_eq!(config.parts, vec![Part::Throughput, Part::Batch, Part::Latency]);
        assert_eq!((config.events, config.partitions, config.workers.clone()), (1_000_000, 4, vec![1, 2]));
        assert_eq!(config.rates, vec![10_000, 100_000]);
        assert_eq!(config.latency_epochs, vec![Duration::from_secs(1), Duration::from_millis(10)]);
        assert_eq!(config.epoch, Duration::from_secs(1));
        assert!(plan.json.is_none() && plan.markdown.is_none() && !config.keep);
    }

    #[test]
    fn lists_and_outputs_are_taken() {
        let plan = plan(&[
            "--parts",
            "latency,throughput",
            "--events",
            "5000",
            "-w",
            "2",
            "--rates",
            "500",
            "--latency-epoch-ms",
            "10",
            "--latency-secs",
            "1.5",
            "--json",
            "r.json",
            "--markdown",
            "r.md",
            "-X",
            "a=b",
        ])
        .unwrap();
        assert_eq!(plan.config.parts, vec![Part::Throughput, Part::Latency]);
        assert_eq!((plan.config.events, plan.config.workers.clone()), (5000, vec![2]));
        assert_eq!(plan.config.latency_duration, Duration::from_millis(1500));
        assert_eq!(plan.config.kafka.options, vec![("a".to_owned(), "b".to_owned())]);
        assert_eq!(plan.json, Some(PathBuf::from("r.json")));
    }

    #[test]
    fn nonsense_is_refused() {
        for argv in [
            &["--events", "0"][..],
            &["-w", "0"],
            &["--rates", "0"],
            &["--latency-epoch-ms", "0"],
            &["--latency-secs", "-1"],
            &["--partitions", "0"],
            &["--parts", "nope"],
            &["-X", "novalue"],
        ] {
            assert!(plan(argv).is_err(), "{argv:?}");
        }
    }
}
