//! Validated plans: flags and the pipeline spec combined, checked, with defaults filled in.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::args::{BatchArgs, GenerateArgs, RunArgs};
use super::cluster::ClusterArgs;
use crate::batch::BatchJob;
use crate::config::{ConfigError, PipelineSpec};
use crate::dataflow::horizon::Horizon;
use crate::fraud::ModelRef;
use crate::generate::{GeneratorConfig, Timeline};
use crate::governance::Governor;
use crate::location::{Location, StorageOptions};
use crate::sink::encryption::{EncryptionError, TableKey};
use crate::source::KafkaSettings;

/// A flag value that does not make sense, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A flag or combination of flags is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The pipeline spec is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl PlanError {
    /// An invalid-flag error with this message.
    pub fn new(message: impl Into<String>) -> PlanError {
        PlanError::Invalid(message.into())
    }
}

/// What `trustflow run` will do.
#[derive(Debug)]
pub struct RunPlan {
    /// The spec after flags were applied.
    pub spec: PipelineSpec,
    /// The output root, parsed from the spec's (or --output's) text.
    pub output: Location,
    /// Object store settings for a URL output root, from the environment (redacted in Debug).
    pub storage: StorageOptions,
    /// The brokers, or `None` for the in-process demo cluster.
    pub brokers: Option<String>,
    /// Extra librdkafka properties (spec first, then flags).
    pub kafka_options: Vec<(String, String)>,
    /// "Now" for timestamp validity.
    pub now_ms: i64,
    /// `--now` was given; otherwise `now_ms` is the start time (a resumed run then takes the
    /// committed one).
    pub now_fixed: bool,
    /// The schema registry's URL, or `None` for the built-in schemas.
    pub schema_registry: Option<String>,
    /// Whether to stop at the end of the input (always for the demo).
    pub bounded: bool,
    /// Demo stream size (only used without brokers).
    pub demo_events: u64,
    /// Demo only: event time the generated events span, milliseconds.
    pub demo_span_ms: Option<i64>,
    /// Where to write the summary JSON.
    pub summary_json: Option<PathBuf>,
    /// Timely's configuration.
    pub timely: timely::Config,
    /// Processes in the cluster (for warnings about per-process clocks).
    pub processes: usize,
    /// The event-time horizon that bounds the state, if any.
    pub horizon: Option<Horizon>,
    /// How often to compact the quality table and rewrite its snapshot, if at all.
    pub maintain_every: Option<Duration>,
    /// The fraud model to score with, if any.
    pub model: Option<ModelRef>,
    /// The user-events topic the model's login features join (with a model, unless
    /// `--score-without-logins`).
    pub user_events_topic: Option<String>,
    /// The key every table is encrypted with (the spec's `encryption_required`).
    pub encryption: Option<TableKey>,
}

/// The table key `spec` asks for: `None` unless `encryption_required` is set; then the key
/// from the variable the spec names (an error when it is unset or not 64 hex digits).
pub fn encryption_key(spec: &PipelineSpec) -> Result<Option<TableKey>, PlanError> {
    let var = spec.governance_policies.as_ref().and_then(|g| g.encryption_key_env());
    var.map(TableKey::from_env).transpose().map_err(|e| PlanError::new(e.to_string()))
}

impl RunPlan {
    /// Validates `args` over the spec they name (or the built-in one).
    pub fn from_args(args: RunArgs) -> Result<RunPlan, PlanError> {
        let mut spec = match &args.config {
            Some(path) => PipelineSpec::load(path)?,
            None => PipelineSpec::builtin()?,
        };
        let set = |slot: &mut String, value: Option<String>| {
            if let Some(v) = value {
                *slot = v;
            }
        };
        set(&mut spec.source.topic, args.topic);
        let user_events_flag = args.user_events_topic.is_some();
        set(&mut spec.source.user_events_topic, args.user_events_topic);
        set(&mut spec.source.dead_letter_topic, args.dead_letter_topic);
        set(&mut spec.source.group, args.group);
        set(&mut spec.sink.output, args.output);
        if args.output_topic.is_some() {
            spec.sink.topic = args.output_topic;
        }
        set(&mut spec.app_id, args.app_id);
        if args.lineage.is_some() {
            spec.sink.lineage = args.lineage;
        }
        if let Some(ms) = args.epoch_ms {
            spec.epoch_ms = ms;
        }
        if args.max_epoch_records.is_some() {
            spec.max_epoch_records = args.max_epoch_records;
        }
        if args.horizon.is_some() {
            spec.horizon = args.horizon;
        }
        if args.model.is_some() {
            spec.model = args.model;
        }
        spec.validate("(flags over the spec)")?;
        let model = spec
            .model
            .as_deref()
            .map(str::parse::<ModelRef>)
            .transpose()
            .map_err(|e| PlanError::new(format!("--model: {e}")))?;
        // A model's login features join the user events; without a model none are read.
        let user_events_topic = match (&model, args.score_without_logins) {
            (Some(_), false) => Some(spec.source.user_events_topic.clone()),
            (Some(_), true) if user_events_flag => {
                return Err(PlanError::new(
                    "--user-events-topic and --score-without-logins contradict each other: the first names \
                     the logins to join, the second scores without them",
                ));
            }
            (Some(_), true) => None,
            (None, true) => return Err(PlanError::new("--score-without-logins needs --model")),
            (None, false) if user_events_flag => {
                return Err(PlanError::new(
                    "--user-events-topic needs --model: only the fraud model's login features read user events",
                ));
            }
            (None, false) => None,
        };
        if user_events_topic.as_deref() == Some(spec.source.topic.as_str()) {
            return Err(PlanError::new(format!(
                "the user-events topic and the transactions topic are both `{}`: logins and payments are \
                 read from two topics",
                spec.source.topic
            )));
        }
        let horizon = match spec.horizon.as_deref().map(Horizon::parse).transpose() {
            Ok(horizon) => horizon,
            Err(e) => return Err(PlanError::new(format!("--horizon: {e}"))),
        };
        let output =
            Location::parse(&spec.sink.output).map_err(|e| PlanError::new(format!("--output: {e}")))?;

        let mut kafka_options: Vec<(String, String)> =
            spec.source.kafka.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        kafka_options.extend(parse_options(&args.kafka_option)?);
        let encryption = encryption_key(&spec)?;
        if let (Some(_), Some(topic)) = (&encryption, &spec.sink.topic) {
            let refused = EncryptionError::Unencryptable {
                target: format!("the output topic `{topic}`"),
                reason: "its records are plaintext JSON on the broker; drop --output-topic (or the spec's \
                         sink.topic), or run without encryption_required"
                    .into(),
            };
            return Err(PlanError::new(refused.to_string()));
        }
        if args.brokers.is_none() && args.cluster.processes > 1 {
            return Err(PlanError::new(
                "the in-process demo cluster cannot span processes: pass --brokers to run a cluster",
            ));
        }
        Ok(RunPlan {
            storage: output.storage_from_env(),
            output,
            bounded: args.stop_at_end || args.brokers.is_none(),
            schema_registry: args.schema_registry,
            brokers: args.brokers,
            kafka_options,
            now_ms: args.now.unwrap_or_else(wall_clock_ms),
            now_fixed: args.now.is_some(),
            demo_events: args.demo_events,
            demo_span_ms: args.demo_span,
            summary_json: args.summary_json,
            timely: args.cluster.timely_config()?,
            processes: args.cluster.processes,
            horizon,
            maintain_every: args.maintain_every.map(|ms| Duration::from_millis(ms.unsigned_abs())),
            model,
            user_events_topic,
            encryption,
            spec,
        })
    }

    /// The epoch length.
    pub fn epoch(&self) -> Duration {
        Duration::from_millis(self.spec.epoch_ms)
    }
}

/// What `trustflow generate` will do.
#[derive(Debug)]
pub struct GeneratePlan {
    /// Where to produce, if anywhere.
    pub kafka: Option<KafkaSettings>,
    /// The topic.
    pub topic: String,
    /// Partitions for a topic that has to be created.
    pub partitions: i32,
    /// Events to generate.
    pub count: u64,
    /// Events per second, if throttled.
    pub rate: Option<u64>,
    /// The generator's settings.
    pub generator: GeneratorConfig,
    /// JSON lines output.
    pub jsonl: Option<PathBuf>,
    /// Ground truth output.
    pub truth: Option<PathBuf>,
    /// Fraud labels output (JSON lines).
    pub labels: Option<PathBuf>,
    /// User events output (JSON lines; fraud mode's logins).
    pub user_events_jsonl: Option<PathBuf>,
    /// The Kafka topic of the user events.
    pub user_events_topic: String,
}

impl GeneratePlan {
    /// Validates `args`.
    pub fn from_args(args: GenerateArgs) -> Result<GeneratePlan, PlanError> {
        if args.brokers.is_none() && args.jsonl.is_none() {
            return Err(PlanError::new("nothing to write to: pass --brokers, --jsonl, or both"));
        }
        if args.partitions < 1 {
            return Err(PlanError::new("--partitions must be at least 1"));
        }
        for (flag, rate) in [("--garbage-rate", args.garbage_rate), ("--duplicate-rate", args.duplicate_rate)]
        {
            if !(0.0..=0.5).contains(&rate) {
                return Err(PlanError::new(format!("{flag} must be between 0 and 0.5, not {rate}")));
            }
        }
        if !(0.0..=0.2).contains(&args.fraud_rate) {
            return Err(PlanError::new(format!(
                "--fraud-rate must be between 0 and 0.2, not {}",
                args.fraud_rate
            )));
        }
        if !(0.0..=1.0).contains(&args.pii_rate) {
            return Err(PlanError::new(format!("--pii-rate must be between 0 and 1, not {}", args.pii_rate)));
        }
        if args.users == 0 {
            return Err(PlanError::new("--users must be at least 1"));
        }
        if args.user_events_jsonl.is_some() && args.fraud_rate == 0.0 {
            return Err(PlanError::new(
                "--user-events-jsonl needs --fraud-rate: user events (logins) are generated in fraud mode only",
            ));
        }
        if args.user_events_topic == args.topic {
            return Err(PlanError::new("--user-events-topic must differ from --topic"));
        }
        let now_ms = args.now.unwrap_or_else(wall_clock_ms);
        let kafka = args.brokers.map(|brokers| -> Result<KafkaSettings, PlanError> {
            Ok(KafkaSettings { brokers, options: parse_options(&args.kafka_option)? })
        });
        Ok(GeneratePlan {
            kafka: kafka.transpose()?,
            topic: args.topic,
            partitions: args.partitions,
            count: args.count,
            rate: (args.rate > 0).then_some(args.rate),
            generator: GeneratorConfig {
                seed: args.seed,
                users: args.users,
                now_ms,
                garbage_rate: args.garbage_rate,
                duplicate_rate: args.duplicate_rate,
                timeline: args.span.map(|span| Timeline::spanning(now_ms, span, args.count)),
                fraud_rate: args.fraud_rate,
                pii_rate: args.pii_rate,
                ..GeneratorConfig::default()
            },
            jsonl: args.jsonl,
            truth: args.truth,
            labels: args.labels,
            user_events_jsonl: args.user_events_jsonl,
            user_events_topic: args.user_events_topic,
        })
    }
}

/// What `trustflow batch` will do.
#[derive(Debug)]
pub struct BatchPlan {
    /// The run itself.
    pub job: BatchJob,
    /// `--now` was not given: "now" is the wall clock at start (worth a warning).
    pub now_defaulted: bool,
    /// Where to write the summary JSON.
    pub summary_json: Option<PathBuf>,
    /// The fraud model to score with, if any (loaded and verified before the run).
    pub model: Option<ModelRef>,
}

impl BatchPlan {
    /// Validates `args`: see [`BatchJob::path_conflict`]; at least one worker.
    pub fn from_args(args: BatchArgs) -> Result<BatchPlan, PlanError> {
        let timely = ClusterArgs { workers: args.workers, processes: 1, process: 0, hostfile: None }
            .timely_config()?;
        let output = Location::parse(&args.output).map_err(|e| PlanError::new(format!("--output: {e}")))?;
        let spec = args.config.as_deref().map(PipelineSpec::load).transpose()?;
        let encryption = match &spec {
            Some(spec) => encryption_key(spec)?,
            None => None,
        };
        let handling = spec.and_then(|s| s.governance_policies).map(|g| g.pii_handling).unwrap_or_default();
        let job = BatchJob {
            rejects: args.rejects.unwrap_or_else(|| BatchJob::default_rejects(&output)),
            input: args.input,
            storage: output.storage_from_env(),
            output,
            format: args.format,
            overwrite: args.overwrite,
            now_ms: args.now.unwrap_or_else(wall_clock_ms),
            workers: args.workers,
            timely,
            scorer: None,
            user_events: args.user_events,
            governor: std::sync::Arc::new(
                Governor::from_env(handling).map_err(|e| PlanError::new(format!("PII policy: {e}")))?,
            ),
            encryption,
        };
        if let Some(conflict) = job.path_conflict() {
            return Err(PlanError::new(conflict));
        }
        Ok(BatchPlan {
            job,
            now_defaulted: args.now.is_none(),
            summary_json: args.summary_json,
            model: args.model,
        })
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

/// Parses `key=value` librdkafka properties.
pub(crate) fn parse_options(options: &[String]) -> Result<Vec<(String, String)>, PlanError> {
    options
        .iter()
        .map(|option| match option.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
            _ => Err(PlanError::new(format!("-X {option}: expected key=value"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn run_plan(argv: &[&str]) -> Result<RunPlan, PlanError> {
        let cli = Cli::try_parse_from(
            std::iter::once("trustflow").chain(std::iter::once("run")).chain(argv.iter().copied()),
        )
        .map_err(|e| PlanError::new(e.to_string()))?;
        match cli.command {
            Command::Run(args) => RunPlan::from_args(*args),
            other => panic!("{other:?}"),
        }
    }

    fn batch_plan(argv: &[&str]) -> Result<BatchPlan, PlanError> {
        let cli = Cli::try_parse_from(
            std::iter::once("trustflow").chain(std::iter::once("batch")).chain(argv.iter().copied()),
        )
        .map_err(|e| PlanError::new(e.to_string()))?;
        match cli.command {
            Command::Batch(args) => BatchPlan::from_args(args),
            other => panic!("{other:?}"),
        }
    }

    fn generate_plan(argv: &[&str]) -> Result<GeneratePlan, PlanError> {
        let cli = Cli::try_parse_from(
            std::iter::once("trustflow").chain(std::iter::once("generate")).chain(argv.iter().copied()),
        )
        .map_err(|e| PlanError::new(e.to_string()))?;
        match cli.command {
            Command::Generate(args) => GeneratePlan::from_args(args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn issue_5_run_with_a_model_reads_the_user_events_topic() {
        let plan = run_plan(&["--model", "/m@1"]).unwrap();
        assert_eq!(plan.user_events_topic.as_deref(), Some("user-events"), "the spec's default");
        let plan = run_plan(&["--model", "/m@1", "--user-events-topic", "logins"]).unwrap();
        assert_eq!(plan.user_events_topic.as_deref(), Some("logins"));
        let plan = run_plan(&["--model", "/m@1", "--score-without-logins"]).unwrap();
        assert_eq!((plan.model.map(|m| m.dir), plan.user_events_topic), (Some(PathBuf::from("/m")), None));
        assert_eq!(run_plan(&[]).unwrap().user_events_topic, None, "no model, no user events");
        for (argv, part) in [
            (&["--score-without-logins"][..], "needs --model"),
            (&["--user-events-topic", "logins"][..], "needs --model"),
            (&["--model", "/m", "--user-events-topic", "x", "--score-without-logins"][..], "contradict"),
            (&["--model", "/m", "--user-events-topic", "financial-transactions"][..], "two topics"),
        ] {
            let error = run_plan(argv).unwrap_err().to_string();
            assert!(error.contains(part), "{argv:?}: {error}");
        }
    }

    #[test]
    fn no_brokers_means_a_bounded_demo() {
        let plan = run_plan(&[]).unwrap();
        assert!(plan.brokers.is_none() && plan.bounded);
        assert_eq!(plan.spec.sink.output, "./trustflow-data");
    }

    #[test]
    fn brokers_run_until_interrupted_unless_stop_at_end() {
        assert!(!run_plan(&["--brokers", "127.0.0.1:9092"]).unwrap().bounded);
        assert!(run_plan(&["--brokers", "127.0.0.1:9092", "--stop-at-end"]).unwrap().bounded);
    }

    #[test]
    fn flags_override_the_spec_and_are_validated() {
        let plan =
            run_plan(&["--topic", "t", "--output", "/tmp/x", "--epoch-ms", "250", "--app-id", "a"]).unwrap();
        assert_eq!((plan.spec.source.topic.as_str(), plan.spec.sink.output.as_str()), ("t", "/tmp/x"));
        assert_eq!((plan.spec.epoch_ms, plan.spec.app_id.as_str()), (250, "a"));
        assert!(run_plan(&["--epoch-ms", "0"]).is_err());
        assert!(run_plan(&["--topic", "financial-transactions-dlq"]).is_err());
    }

    #[test]
    fn kafka_options_must_be_key_value() {
        let plan = run_plan(&["-X", "security.protocol=SSL", "-X", "a=b=c"]).unwrap();
        assert_eq!(
            plan.kafka_options,
            vec![("security.protocol".into(), "SSL".into()), ("a".into(), "b=c".into())]
        );
        assert!(run_plan(&["-X", "novalue"]).is_err());
    }

    #[test]
    fn schema_registry_is_optional() {
        assert_eq!(run_plan(&[]).unwrap().schema_registry, None);
        let plan = run_plan(&["--schema-registry", "http://127.0.0.1:8081"]).unwrap();
        assert_eq!(plan.schema_registry.as_deref(), Some("http://127.0.0.1:8081"));
    }

    #[test]
    fn now_is_taken_from_the_flag() {
        assert_eq!(run_plan(&["--now", "1700000000000"]).unwrap().now_ms, 1_700_000_000_000);
    }

    #[test]
    fn cluster_flags_reach_timely() {
        let plan = run_plan(&["-w", "2"]).unwrap();
        assert!(matches!(plan.timely.communication, timely::CommunicationConfig::Process(2)));
        assert!(run_plan(&["-n", "2", "-p", "0"]).unwrap_err().to_string().contains("--brokers"));
    }

    #[test]
    fn missing_spec_file_is_a_clear_error() {
        let err = run_plan(&["--config", "/nonexistent/spec.yaml"]).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/spec.yaml"), "{err}");
    }

    #[test]
    fn generate_needs_a_destination_and_sane_rates() {
        assert!(generate_plan(&[]).unwrap_err().to_string().contains("nothing to write"));
        let plan = generate_plan(&["--jsonl", "/tmp/x.jsonl", "--rate", "0", "--seed", "7"]).unwrap();
        assert_eq!((plan.rate, plan.generator.seed), (None, 7));
        assert!(generate_plan(&["--jsonl", "x", "--garbage-rate", "0.9"]).is_err());
        assert!(generate_plan(&["--jsonl", "x", "--partitions", "0"]).is_err());
        assert_eq!(generate_plan(&["--jsonl", "x"]).unwrap().generator.fraud_rate, 0.0);
        let plan = generate_plan(&["--jsonl", "x", "--fraud-rate", "0.005", "--labels", "l"]).unwrap();
        assert_eq!((plan.generator.fraud_rate, plan.labels), (0.005, Some(PathBuf::from("l"))));
        assert!(generate_plan(&["--jsonl", "x", "--fraud-rate", "0.5"]).is_err());
        let plan =
            generate_plan(&["--jsonl", "x", "--fraud-rate", "0.01", "--user-events-jsonl", "u"]).unwrap();
        assert_eq!(
            (plan.user_events_jsonl, plan.user_events_topic.as_str()),
            (Some("u".into()), "user-events")
        );
        assert!(
            generate_plan(&["--jsonl", "x", "--user-events-jsonl", "u"]).is_err(),
            "no logins without fraud"
        );
        assert!(generate_plan(&["--jsonl", "x", "--user-events-topic", "financial-transactions"]).is_err());
        assert_eq!(generate_plan(&["--jsonl", "x"]).unwrap().generator.pii_rate, 0.0);
        assert_eq!(generate_plan(&["--jsonl", "x", "--pii-rate", "0.01"]).unwrap().generator.pii_rate, 0.01);
        assert!(generate_plan(&["--jsonl", "x", "--pii-rate", "1.5"]).is_err());
    }

    #[test]
    fn batch_defaults_delta_one_worker_and_rejects_beside_the_output() {
        let plan = batch_plan(&["--input", "in.jsonl", "--output", "/data/out/"]).unwrap();
        assert_eq!(plan.job.format, crate::batch::OutputFormat::Delta);
        assert_eq!(plan.job.rejects, PathBuf::from("/data/out.rejects.jsonl"));
        assert!(plan.now_defaulted && !plan.job.overwrite && plan.job.workers == 1);
        assert!(matches!(plan.job.timely.communication, timely::CommunicationConfig::Thread));
    }

    #[test]
    fn batch_flags_are_taken_and_checked() {
        let plan = batch_plan(&[
            "--input",
            "in.parquet",
            "--output",
            "out",
            "--format",
            "parquet",
            "--now",
            "5",
            "-w",
            "2",
            "--rejects",
            "bad.jsonl",
            "--overwrite",
        ])
        .unwrap();
        assert_eq!((plan.job.now_ms, plan.now_defaulted, plan.job.overwrite), (5, false, true));
        assert_eq!(plan.job.format, crate::batch::OutputFormat::Parquet);
        assert_eq!(plan.job.rejects, PathBuf::from("bad.jsonl"));
        assert!(matches!(plan.job.timely.communication, timely::CommunicationConfig::Process(2)));
        assert!(batch_plan(&["--input", "a", "--output", "b", "-w", "0"]).is_err());
        assert!(batch_plan(&["--input", "a", "--output", "b", "--format", "csv"]).is_err());
        assert!(batch_plan(&["--input", "a"]).is_err(), "--output is required");
    }

    #[test]
    fn output_urls_are_parsed_and_checked() {
        let plan = run_plan(&["--output", "az://trustflow/runs//2024/"]).unwrap();
        assert_eq!(plan.output.join("quality").to_string(), "az://trustflow/runs/2024/quality");
        assert!(format!("{plan:?}").contains("storage"));
        let error = run_plan(&["--output", "s3://bucket/x"]).unwrap_err().to_string();
        assert!(error.contains("--output") && error.contains("unsupported scheme"), "{error}");
        let batch = batch_plan(&["--input", "in.jsonl", "--output", "abfss://c/lake/out/"]).unwrap();
        assert_eq!(batch.job.output.to_string(), "abfss://c/lake/out");
        assert_eq!(batch.job.rejects, PathBuf::from("out.rejects.jsonl"), "rejects stay local");
        let root = batch_plan(&["--input", "in.jsonl", "--output", "az://c/"]).unwrap_err().to_string();
        assert!(root.contains("inside the container"), "{root}");
    }

    #[test]
    fn output_help_names_urls_and_credentials() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        for command in ["run", "batch"] {
            let help = cli.find_subcommand_mut(command).unwrap().render_long_help().to_string();
            for needle in ["az://CONTAINER/PATH", "abfss://", "AZURE_STORAGE_ACCOUNT_KEY", "never printed"] {
                assert!(help.contains(needle), "`{command} --help` lacks {needle}:\n{help}");
            }
        }
    }

    #[test]
    fn batch_refuses_overlapping_paths() {
        let error = |argv: &[&str]| batch_plan(argv).unwrap_err().to_string();
        assert!(error(&["--input", "out/x.parquet", "--output", "out"]).contains("inside it"));
        assert!(error(&["--input", "d", "--output", "./d/"]).contains("--input"));
        assert!(
            error(&["--input", "a", "--output", "out", "--rejects", "out/r.jsonl"]).contains("--rejects")
        );
        assert!(error(&["--input", "a", "--output", "b", "--rejects", "a"]).contains("--rejects"));
        assert!(error(&["--input", "a", "--output", "."]).contains("must name a directory"));
        assert!(error(&["--input", "a", "--output", "x/.."]).contains("must name a directory"));
    }
}
