//! Raw command-line flags, as clap parses them (validation happens in [`super::plan`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::bench_args::BenchArgs;
use super::cluster::ClusterArgs;
use super::fraud_args::{EvaluateArgs, ModelsArgs, TrainArgs};
use super::governance_args::{AccessArgs, AuditArgs, ExportArgs, RetentionArgs};
use super::pii_args::PiiArgs;
use crate::batch::OutputFormat;
use crate::fraud::ModelRef;

/// trustflow: financial events from Kafka, checked incrementally, written exactly once to Delta.
///
/// Start with `trustflow run`: with no --brokers it starts an in-process Kafka (librdkafka's
/// mock cluster), generates a demo stream, runs the quality checks and writes a Delta table
/// under ./trustflow-data/.
#[derive(Parser, Debug)]
#[command(name = "trustflow", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the quality pipeline: Kafka -> Avro -> quality graph -> Delta table.
    ///
    /// Without --brokers this is the zero-install demo: an in-process Kafka, a generated stream
    /// of --demo-events transactions, one bounded run, a summary at the end.
    Run(Box<RunArgs>),
    /// Generate realistic transactions (skewed users, duplicates, invalid fields, late and
    /// out-of-order events, undecodable garbage) to Kafka and/or JSON lines.
    Generate(GenerateArgs),
    /// Check a bounded input (JSON lines or Parquet) in one go: one verdict per row, written
    /// to a new Delta table or to Parquet files; bad lines go to a rejects file.
    ///
    /// The streaming quality graph run to the end of its input, so the output equals the
    /// consolidated output of `run` over the same events.
    Batch(BatchArgs),
    /// Show a Delta table now or in the past: its version, row counts (inserts, deletes, and
    /// the consolidated current state), and optionally its first rows.
    ///
    /// Works on any table trustflow wrote (and on other unpartitioned Delta tables): for a
    /// changelog, "consolidated" is inserts minus deletes per distinct row of the data columns
    /// (all but _change_type and _epoch); a table without _change_type counts every row as an
    /// insert. --version and --as-of travel back in time: the table as it was at that version,
    /// or at the newest version committed at or before that time.
    ///
    /// With --role ROLE --config SPEC.yaml the read is under the spec's rbac_policies: denied
    /// (exit code 77, nothing printed), allowed with PII masked (roles with no_pii_access), or
    /// allowed; the decision is appended to a hash-chained audit log (--audit-log). Without
    /// --role there is no access control.
    #[command(disable_version_flag = true)]
    Query(QueryArgs),
    /// Keep Delta tables cheap to read: compact small files, write a snapshot of the current
    /// state, checkpoint the log, vacuum unreferenced files.
    ///
    /// Each TABLE gets the actions asked for, in this order: --compact, --snapshot,
    /// --checkpoint, --vacuum. The pipeline may keep writing meanwhile. Example, nightly:
    /// `trustflow maintain out/quality out/quarantine out/quality_windows --compact
    /// --checkpoint --vacuum`; and `trustflow maintain out/quality --snapshot out/quality_current`.
    Maintain(MaintainArgs),
    /// Delete expired data: every row whose event time is older than the spec's
    /// governance_policies.data_retention.retention_period, from every trustflow table under
    /// an output root (or from the tables given).
    ///
    /// A row's event time is `window_end` in the window table and `timestamp` in the others;
    /// rows without one are kept. Each table gets at most one DELETE commit: only files whose
    /// statistics say they may hold expired rows are read, wholly expired files are removed,
    /// the others rewritten without those rows. A changelog loses an expired row's insert and
    /// its retractions alike, so its consolidation is the old one minus the expired rows.
    /// Tables trustflow did not create are never touched. Older versions still hold the data
    /// until a vacuum (--vacuum) deletes the removed files. Example:
    /// `trustflow retention out --config dataflows/governance.yaml --dry-run`.
    Retention(RetentionArgs),
    /// Write a table's rows to a file (JSON lines or Parquet): the consolidated current state,
    /// or with --changes the stored change rows, now or at a version or time.
    ///
    /// With --role ROLE --config SPEC.yaml the export is decided by the spec's rbac_policies
    /// for the action `export` (require_approval: [export] needs --approval ID): denied (exit
    /// code 77, nothing written), allowed with PII masked (roles with no_pii_access), or
    /// allowed; every export is appended to the hash-chained audit log.
    #[command(disable_version_flag = true)]
    Export(ExportArgs),
    /// The audit log of query and export: verify its hash chain.
    Audit(AuditArgs),
    /// Train a fraud model on labelled transactions: logistic regression and a random forest
    /// (smartcore) on the earliest 80% by event time, both evaluated on the latest 20% (ROC AUC,
    /// PR AUC, precision and recall at HIGH > 0.8 and MEDIUM > 0.5, against a plain amount
    /// rule); the better by PR AUC is saved as the registry's next version.
    ///
    /// The features are those of docs/fraud-features.md, computed per transaction over the
    /// user's event-time history. The models are fitted on the first 7/8 of the training 80%,
    /// with non-fraud examples undersampled to --negatives-per-fraud per fraud example; the
    /// last 1/8 (untouched) calibrates their scores back to probabilities at the real balance
    /// (Platt scaling), so that HIGH and MEDIUM mean what they say.
    Train(TrainArgs),
    /// Evaluate a saved fraud model on labelled transactions it never saw, against the amount
    /// rule of its training run.
    Evaluate(EvaluateArgs),
    /// The fraud model registry: list versions, promote one to a stage, check that one loads.
    ///
    /// A registry is a directory: DIR/<version>/model.bin and meta.json (metrics, feature list,
    /// training data identity, SHA-256 of model.bin) per training run, versions 1, 2, ..., and
    /// DIR/stages.json. A model is named DIR, DIR@VERSION, DIR@production, DIR@staging or
    /// DIR@latest; DIR alone is the production version, else the latest. Loading verifies the
    /// hash and the feature list and refuses a corrupt or mismatched artifact.
    Models(ModelsArgs),
    /// Measure the pipeline on a real Kafka broker: throughput over preloaded events (1 and 2
    /// workers, and `batch` over the same events), Kafka-in -> Kafka-out latency at fixed
    /// rates, peak memory; writes JSON and Markdown.
    ///
    /// Needs a running broker (`bash scripts/kafka.sh start`); creates fresh topics and
    /// output directories. Latency is measured per event from its intended send time on the
    /// producer's fixed schedule (coordinated-omission aware) to its insert on the output
    /// topic as a read_committed consumer sees it. A quick run: `--events 20000 --rates 2000
    /// --latency-secs 3`.
    Bench(Box<BenchArgs>),
    /// Personal data in texts: scan JSON lines with trustflow's recognizers, write the
    /// labelled evaluation corpus, or score detectors' precision and recall on it (trustflow
    /// side by side with another, e.g. Presidio).
    ///
    /// `pii scan` reads {"text", "field", "id"} lines and prints one JSON line per finding.
    /// `pii corpus` writes the seeded labelled corpus (plus hand-written cases, --append).
    /// `pii eval` scores trustflow and other detectors' findings files on it by one rule.
    /// The whole workflow with Presidio: docs/governance.md.
    Pii(PiiArgs),
}

/// Flags of `trustflow run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Pipeline spec (YAML: topics, dead-letter topic, epoch, output); flags override it.
    /// Default: the built-in copy of dataflows/quality.yaml.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Kafka bootstrap servers. Without it, the demo runs on an in-process mock cluster.
    #[arg(long, value_name = "HOST:PORT[,..]", env = "TRUSTFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Transactions topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
    /// Dead-letter topic for undecodable records.
    #[arg(long, value_name = "NAME")]
    pub dead_letter_topic: Option<String>,
    /// Consumer group id (informational: positions live in the output table).
    #[arg(long, value_name = "ID")]
    pub group: Option<String>,
    /// Output root: the Delta tables quality, quarantine, quality_windows and alerts are
    /// created under it (also late_events with --horizon, quality_current with
    /// --maintain-every). A local path or an Azure Blob URL (az://CONTAINER/PATH, abfss://...).
    ///
    /// URLs: az://CONTAINER/PATH, or abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH (also
    /// abfs://, azure://, adl://). Azure credentials come from the environment, never from the
    /// URL: AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, or AZURE_STORAGE_SAS_KEY,
    /// or a service principal (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID), or the
    /// managed identity; AZURE_STORAGE_USE_EMULATOR=true for Azurite (its address in
    /// AZURITE_BLOB_STORAGE_URL). They are never printed.
    #[arg(long, value_name = "PATH|URL")]
    pub output: Option<String>,
    /// Also publish each epoch's quality changes to this Kafka topic (created if missing),
    /// one Kafka transaction per epoch: read_committed consumers see each change once, even
    /// across crashes. JSON change records keyed by transactionId (docs/kafka-output.md).
    #[arg(long, value_name = "NAME")]
    pub output_topic: Option<String>,
    /// Report the run as OpenLineage events (spec 2-0-2): START, one RUNNING per committed
    /// epoch (source offsets, each table's new Delta version and row counts, schemas and
    /// column lineage), then COMPLETE or FAIL. TARGET is a file (JSON lines, appended) or an
    /// http(s):// endpoint (`http://marquez:5000` posts to /api/v1/lineage; a bearer token
    /// from OPENLINEAGE_API_KEY). An event that cannot be delivered is logged and counted,
    /// never fails the run. Default: the spec's `sink.lineage`, else none.
    #[arg(long, value_name = "FILE|URL", env = "OPENLINEAGE_URL")]
    pub lineage: Option<String>,
    /// The pipeline's identity in the table's transaction log.
    #[arg(long, value_name = "ID")]
    pub app_id: Option<String>,
    /// Epoch length in milliseconds: how long input collects before its changes commit.
    #[arg(long, value_name = "MS")]
    pub epoch_ms: Option<u64>,
    /// The most records one worker reads into an epoch: an epoch closes when --epoch-ms has
    /// passed or when it holds this many records, whichever comes first (Spark's
    /// maxOffsetsPerTrigger, per worker). Small epochs commit sooner; under a backlog,
    /// epochs otherwise grow with the graph's speed. Default: no limit (the spec's
    /// `max_epoch_records` if it sets one).
    #[arg(long, value_name = "N")]
    pub max_epoch_records: Option<u64>,
    /// "Now" for timestamp validity, epoch milliseconds (default: the wall clock at start).
    /// Pass the same value to every process of a cluster.
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,
    /// A Confluent-compatible schema registry to resolve schema ids with (default: the schemas
    /// compiled in from schemas/).
    #[arg(long, value_name = "URL", env = "TRUSTFLOW_SCHEMA_REGISTRY")]
    pub schema_registry: Option<String>,
    /// Bound the state by an event-time horizon (e.g. 7d, 36h): history older than the
    /// largest timestamp read minus the horizon is retired and its verdicts are final; rows
    /// that arrive later than that, or without a timestamp, go to the late_events table with
    /// their reason. Default: keep all history (the spec's `horizon` if it sets one).
    #[arg(long, value_name = "DURATION")]
    pub horizon: Option<String>,
    /// Score every row for fraud with this model: a registry directory (`trustflow train
    /// --model-dir`), DIR@VERSION, DIR@production, DIR@staging or DIR@latest; DIR alone is
    /// the production version, else the latest. The model is verified before the run starts
    /// (hash, feature list). Rows get fraud_score, risk_category (HIGH > 0.8, MEDIUM > 0.5,
    /// LOW) and model_version in the tables and the output topic; a late row that changes a
    /// user's features re-scores the later rows (retraction + new row). Without a model rows
    /// are UNSCORED (null score). Not with --horizon. Default: the spec's `model`.
    /// The model's login features (`fraud-features/2`: a login from a new device or country
    /// in the 30 minutes before a payment) join the --user-events-topic topic, which the run
    /// then reads too; a login read after the payments it concerns re-scores them.
    #[arg(long, value_name = "DIR[@VERSION]")]
    pub model: Option<String>,
    /// The topic of user events (logins) that --model's login features join. Default: the
    /// spec's `source.user_events_topic`, `user-events`. Read from its beginning, like the
    /// transactions, and positioned exactly once with them.
    #[arg(long, value_name = "NAME")]
    pub user_events_topic: Option<String>,
    /// Score with --model without reading user events: every row's login features say "no
    /// login" (as `batch --model` without --user-events), so account takeover goes unseen.
    /// For streams that have no user-events topic.
    #[arg(long)]
    pub score_without_logins: bool,
    /// Table upkeep while running, every DURATION (e.g. 10m): compact the small files of the
    /// quality table (one commit per epoch writes small files) and rewrite the
    /// `quality_current` snapshot table (the consolidated current state) under the output
    /// root. Done by the committing worker between epochs. Default: never (use `trustflow
    /// maintain`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub maintain_every: Option<i64>,
    /// Stop after reading every partition to its end, instead of running until interrupted.
    #[arg(long)]
    pub stop_at_end: bool,
    /// Extra librdkafka property, `key=value` (repeatable), e.g. -X security.protocol=SSL.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_option: Vec<String>,
    /// Demo only: how many events the generator sends to the in-process cluster. With
    /// --model, 0.5% of them are planted fraud (as `generate --fraud-rate 0.005`).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub demo_events: u64,
    /// Demo only: spread the events steadily over this much event time before now (e.g. 30d,
    /// to watch --horizon bound the state) instead of over the last day.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub demo_span: Option<i64>,
    /// Write the run's summary as JSON to this file too.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,
    /// Cluster flags.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Flags of `trustflow generate`.
#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Kafka bootstrap servers to produce to (omit to write only --jsonl).
    #[arg(long, value_name = "HOST:PORT[,..]", env = "TRUSTFLOW_BROKERS")]
    pub brokers: Option<String>,
    /// Topic to produce to (created with --partitions if missing).
    #[arg(long, default_value = "financial-transactions", value_name = "NAME")]
    pub topic: String,
    /// Partitions for a topic that has to be created.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub partitions: i32,
    /// Number of events (garbage included).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub count: u64,
    /// Events per second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rate: u64,
    /// Seed: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Distinct users (activity is skewed towards a few).
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub users: u32,
    /// "Now" that timestamps are generated around, epoch milliseconds (default: wall clock).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,
    /// Share of undecodable values.
    #[arg(long, default_value_t = 0.005, value_name = "FRACTION")]
    pub garbage_rate: f64,
    /// Share of rows that repeat an earlier transactionId.
    #[arg(long, default_value_t = 0.02, value_name = "FRACTION")]
    pub duplicate_rate: f64,
    /// Also write the decodable transactions as JSON lines here.
    #[arg(long, value_name = "PATH")]
    pub jsonl: Option<PathBuf>,
    /// Write the generator's ground truth (planted problems, counted) as JSON here.
    #[arg(long, value_name = "PATH")]
    pub truth: Option<PathBuf>,
    /// Share of events that are planted fraud (card testing, amount spikes, unusual currency,
    /// night-time activity, rapid velocity), seeded like the rest. 0 (the default) plants none
    /// and leaves the stream exactly as before; a positive rate also shapes ordinary activity
    /// (fewer night-time rows, now and then a travel currency).
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub fraud_rate: f64,
    /// Share of ordinary rows that get one metadata entry of planted personal data (e-mail,
    /// phone, card, IBAN, SSN, IP address, date of birth, name or address), seeded on a random
    /// stream of its own. 0 (the default) plants none and leaves the stream exactly as before.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub pii_rate: f64,
    /// Write each decodable transaction's ground-truth label here, as JSON lines
    /// {"transactionId", "fraud", "pattern"} (the label is never a field of the transaction).
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,
    /// Write the user events (logins; generated only with --fraud-rate) here, as JSON lines
    /// {"userId", "eventType", "device", "country", "ip", "timestamp"}: what `train`,
    /// `evaluate` and `batch` take as --user-events.
    #[arg(long, value_name = "PATH")]
    pub user_events_jsonl: Option<PathBuf>,
    /// Topic for the user events when producing to Kafka (Confluent wire format, the
    /// `user-events` schema id), created with --partitions if missing.
    #[arg(long, default_value = "user-events", value_name = "NAME")]
    pub user_events_topic: String,
    /// Spread the rows steadily over this much event time before now (e.g. 30d) instead of
    /// over the last day: rows older than a day are then stale (timestamp INVALID) too.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_ms)]
    pub span: Option<i64>,
    /// Extra librdkafka property, `key=value` (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub kafka_option: Vec<String>,
}

/// Flags of `trustflow batch`.
#[derive(Args, Debug, Clone)]
pub struct BatchArgs {
    /// Input: JSON lines (.jsonl/.json; one transaction object per line), a Parquet file, or a
    /// directory of *.parquet files. Other names are recognised by their first bytes.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Output directory: a new Delta table, or Parquet files with --format parquet. A local
    /// path or an Azure Blob URL (az://CONTAINER/PATH, abfss://...).
    ///
    /// URLs: az://CONTAINER/PATH, or abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH (also
    /// abfs://, azure://, adl://); both formats are written through the object store. Azure
    /// credentials come from the environment, never from the URL: AZURE_STORAGE_ACCOUNT_NAME
    /// with AZURE_STORAGE_ACCOUNT_KEY, or AZURE_STORAGE_SAS_KEY, or a service principal
    /// (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID), or the managed identity;
    /// AZURE_STORAGE_USE_EMULATOR=true for Azurite (its address in AZURITE_BLOB_STORAGE_URL).
    /// They are never printed.
    #[arg(long, value_name = "DIR|URL")]
    pub output: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Delta)]
    pub format: OutputFormat,
    /// Replace a Delta table or Parquet files already at --output (deleted before writing).
    #[arg(long)]
    pub overwrite: bool,
    /// "Now" for timestamp validity, epoch milliseconds (default: the wall clock, with a warning).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,
    /// Rejected input records, one JSON object each: {"line", "error", "text"} for JSON lines,
    /// {"file", "row", "error"} for Parquet (default: <DIR>.rejects.jsonl beside a local output,
    /// <NAME>.rejects.jsonl in the working directory for a URL output).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Worker threads for the quality graph and the writers.
    #[arg(short = 'w', long = "workers", default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// Score every row for fraud with this model (DIR, DIR@VERSION, DIR@production, ...; see
    /// `trustflow models`): the same features and scores as `run --model` gives for the same
    /// rows. Without it the fraud columns say UNSCORED.
    #[arg(long, value_name = "DIR[@VERSION]")]
    pub model: Option<ModelRef>,
    /// User events (JSON lines, as `generate --user-events-jsonl` writes them) whose logins
    /// the fraud features join (`fraud-features/2`: a login from a new device or country in
    /// the 30 minutes before a payment). Only with --model; without it every row's login
    /// features say "no login".
    #[arg(long, value_name = "PATH", requires = "model")]
    pub user_events: Option<PathBuf>,
    /// Write the run's summary as JSON to this file too.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,
    /// A pipeline spec whose governance_policies apply to the output: pii_handling says how
    /// personal data found in the rows is written (mask, tokenize or clear, per type; default:
    /// every finding masked, as `run` does; the classification and pii_fields columns say what
    /// was found); with data_retention.encryption_required, every file is written with Parquet
    /// modular encryption (AES-256-GCM) under the key in the variable the spec names
    /// (encryption_key_env, default TRUSTFLOW_ENCRYPTION_KEY), and the run is refused without
    /// it. The spec's other sections do not apply to batch.
    #[arg(long, value_name = "SPEC.yaml")]
    pub config: Option<PathBuf>,
}

/// Flags of `trustflow query`.
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// The Delta table: a local path or an Azure Blob URL (az://CONTAINER/PATH,
    /// abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PATH), credentials from the AZURE_*
    /// environment as for run --output.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// Read the table as it was at this version (0 is its creation).
    #[arg(long, value_name = "N", conflicts_with = "as_of")]
    pub version: Option<u64>,
    /// Read the table as of this time: the newest version committed at or before it. RFC 3339
    /// (2026-01-31T12:00:00Z, 2026-01-31T13:00:00+01:00), or `2026-01-31 12:00:00` in UTC.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Also print the first N rows: in epoch order, or with --consolidated the current state.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rows: usize,
    /// Print consolidated rows (the current state, sorted, each row as often as its inserts
    /// outnumber its deletes, without _change_type/_epoch) instead of stored changes.
    #[arg(long)]
    pub consolidated: bool,
    /// JSON lines: the summary as one object on the first line, then one object per row.
    #[arg(long)]
    pub json: bool,
    /// Access control (action `read`).
    #[command(flatten)]
    pub access: AccessArgs,
}

/// Flags of `trustflow maintain`.
#[derive(Args, Debug, Clone)]
pub struct MaintainArgs {
    /// The Delta tables (local paths or az:// / abfss:// URLs, credentials from the AZURE_*
    /// environment).
    #[arg(value_name = "TABLE", required = true)]
    pub tables: Vec<String>,
    /// Rewrite small data files into files of about --target-size, in one commit marked
    /// dataChange=false (streaming readers skip it; rows and _epoch are unchanged).
    #[arg(long)]
    pub compact: bool,
    /// Compaction's file size, e.g. 128MiB, 64M, 1G (K/M/G are powers of 1024). Default:
    /// the table's delta.targetFileSize, 100 MiB unless set.
    #[arg(long, value_name = "SIZE", requires = "compact")]
    pub target_size: Option<String>,
    /// Overwrite the Delta table DEST (created if missing; one TABLE only) with the current
    /// state of the changelog TABLE: inserts minus deletes over its data columns. The commit's
    /// txn (app id trustflow-snapshot-<table id>) and commitInfo name the changelog version it
    /// reflects; when the changelog's data has not changed since, nothing is written.
    #[arg(long, value_name = "DEST")]
    pub snapshot: Option<String>,
    /// Checkpoint the newest version now, then remove commit files older than the table's
    /// delta.logRetentionDuration (30 days) before a checkpoint. The pipeline's own commits
    /// already checkpoint every 100 versions.
    #[arg(long)]
    pub checkpoint: bool,
    /// Delete data files that no version within --retain references: files replaced by
    /// compactions and snapshots, and files left by failed commits. Time travel to versions
    /// older than the retention stops working.
    #[arg(long)]
    pub vacuum: bool,
    /// Vacuum retention, e.g. 7d, 36h (default: the table's delta.deletedFileRetentionDuration,
    /// 7 days unless set). Shorter than that needs --allow-short-retention.
    #[arg(long, value_name = "DURATION", requires = "vacuum")]
    pub retain: Option<String>,
    /// Accept a --retain below the table's minimum. Readers of older versions and a writer
    /// whose commit is in flight may still need those files: only for tables nobody writes.
    #[arg(long, requires = "vacuum")]
    pub allow_short_retention: bool,
    /// Vacuum lists what it would delete and deletes nothing.
    #[arg(long, requires = "vacuum")]
    pub dry_run: bool,
    /// One JSON object per table and action instead of sentences.
    #[arg(long)]
    pub json: bool,
}

/// A positive duration such as `30d` or `12h`, in milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let duration = humantime::parse_duration(text).map_err(|e| format!("{e} (try 30d, 12h or 90min)"))?;
    match i64::try_from(duration.as_millis()) {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err("must be more than 0 ms and fit in 64 bits".to_owned()),
    }
}
