//! A pipeline run: timely workers read Kafka, run the quality graph and commit to Delta.
//!
//! Every worker owns a share of the topic's partitions ([`crate::source::partitions_for_worker`]),
//! and of the user-events topic's when a fraud model joins logins, decodes what it reads,
//! dead-letters what it cannot decode, and feeds transactions (and user events) into the
//! graph stamped with the current epoch. With a horizon, it also reports each partition's
//! event-time progress, and the graph keeps only the history within the horizon (rows that
//! arrive beyond it go to `late_events`). The verdicts are routed by the spec's expectations
//! and summarised into dashboard windows; the anomaly monitor watches the decoded input
//! itself (per topic and event-time window) and raises alerts. Worker 0 receives every output change, and once
//! every output's frontier passes an epoch, commits that epoch to each table that changed
//! (`quality`, `quarantine`, `quality_windows`, `alerts`, `late_events` under the output root) as one Delta
//! transaction per table, tagged with the pipeline's app id and the epoch number. An epoch
//! holding a verdict that fails a `fail` expectation is not committed: the run stops.

mod commit;
mod error;
pub mod held;
mod lineage_report;
mod memory;
pub mod resume;
mod sources;
mod summary;
mod tally;
mod worker;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use commit::TablePaths;
pub use error::PipelineError;
pub use lineage_report::{JOB_NAMESPACE, LineageStats};
pub use memory::{StateStats, resident_bytes};
pub use summary::{RunSummary, SideTableStats, TableStats};

use crate::codec::SchemaResolver;
use crate::location::{Location, StorageOptions};
use crate::source::KafkaSettings;

/// Everything a run needs, validated.
#[derive(Clone)]
pub struct PipelineConfig {
    /// The brokers and client options.
    pub kafka: KafkaSettings,
    /// The transactions topic.
    pub topic: String,
    /// The user-events topic whose logins the fraud model's login features join (`None`: no
    /// user events are read; a model then scores every login feature as "no login").
    pub user_events_topic: Option<String>,
    /// Where undecodable records go.
    pub dead_letter_topic: String,
    /// A topic that also receives each epoch's quality changes, exactly once.
    pub output_topic: Option<String>,
    /// Consumer group id (informational: offsets are never committed to Kafka).
    pub group: String,
    /// The output root (a local directory or an Azure Blob URL): the tables `quality`,
    /// `quarantine` and `quality_windows` (`alerts` with the anomaly monitor, `late_events`
    /// with a horizon) are created under it.
    pub output: Location,
    /// Object store settings (credentials) for a URL output root; never printed.
    pub storage: StorageOptions,
    /// The expectations that route verdicts (warn, drop, quarantine, fail).
    pub expectations: Vec<crate::dataflow::expectations::Expectation>,
    /// The pipeline's identity in the table's transaction log.
    pub app_id: String,
    /// How long each epoch collects input before it is closed.
    pub epoch: Duration,
    /// The most records one worker reads into an epoch before it is closed, if limited.
    pub max_epoch_records: Option<u64>,
    /// The "now" of timestamp validity, epoch milliseconds.
    pub now_ms: i64,
    /// `now_ms` was chosen by the user (`--now`). Otherwise it is the start time, and a
    /// resumed run takes the "now" its committed epochs were judged by instead.
    pub now_fixed: bool,
    /// Bound the graph's state by this event-time horizon (`None`: keep all history).
    pub horizon: Option<crate::dataflow::horizon::Horizon>,
    /// The PII policy every table and topic row is written under (`Governor::masking()`
    /// unless the spec's `governance_policies.pii_handling` says otherwise).
    pub governor: Arc<crate::governance::Governor>,
    /// The anomaly monitor over the decoded input, writing the `alerts` table (`None`: off).
    pub anomaly: Option<crate::dataflow::anomaly::AnomalyConfig>,
    /// The fraud model that scores every row (`None`: rows are written `UNSCORED`).
    pub scorer: Option<Arc<crate::fraud::score::Scorer>>,
    /// Encrypt every table with this key (the spec's `encryption_required`; tables already
    /// encrypted are written with their own key either way). Never printed.
    pub encryption: Option<crate::sink::encryption::TableKey>,
    /// Where each committed epoch's OpenLineage run event goes (`None`: no events).
    pub lineage: Option<Arc<crate::lineage::LineageEmitter>>,
    /// Compact the quality table and rewrite its `quality_current` snapshot this often.
    pub maintain_every: Option<Duration>,
    /// Stop once every partition has been read to its end (instead of running until stopped).
    pub bounded: bool,
    /// The schema registry.
    pub registry: Arc<dyn SchemaResolver>,
    /// Set (e.g. by a SIGINT/SIGTERM handler) to stop reading: the run then finishes like a
    /// bounded one, committing every epoch it has read.
    pub stop: Arc<AtomicBool>,
}

/// Runs the pipeline on the timely cluster described by `timely`, until the input ends
/// (`bounded`) and everything is committed. Returns this process's summary.
pub fn run(mut config: PipelineConfig, timely: timely::Config) -> Result<RunSummary, PipelineError> {
    if config.scorer.is_some() && config.horizon.is_some() {
        return Err(PipelineError::ScoringWithHorizon);
    }
    let started = Instant::now();
    let shared = Arc::new(Mutex::new(RunSummary::default()));
    let totals = shared.clone();
    let retained = memory::Retained::default();
    let resume = resume_point(&mut config)?.map(Arc::new);
    // Worker 0's committer puts its lineage reporter here; the run's last event is sent below,
    // once every worker of the process has stopped.
    let lineage: lineage_report::SharedReport = Arc::default();
    let report = lineage.clone();
    if let Some(resume) = &resume {
        tracing::info!(
            epoch = resume.last.epoch,
            offsets = ?resume.last.offsets,
            replayed_epochs = resume.epochs.len(),
            "resuming after the last committed epoch"
        );
    }
    let (process, processes) = match &timely.communication {
        timely::CommunicationConfig::Cluster { process, addresses, .. } => (*process, addresses.len()),
        _ => (0, 1),
    };
    let peers = worker::Peers { process, failed: Arc::default() };
    let guards = timely::execute(timely, move |worker| {
        let index = worker.index();
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            worker::run_worker(worker, &config, &totals, retained.clone(), resume.as_deref(), &report, &peers)
        }));
        let result = ran.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            Err(PipelineError::WorkerPanicked { worker: index, message })
        });
        if result.is_err() {
            // The other workers stop too. Dropping the dataflow now, before timely steps it
            // again, means the progress of the epochs this worker left unfinished (its inputs
            // closed as they were dropped) is never sent: no worker sees them complete, so
            // none is committed with part of its records.
            peers.failed.store(true, Ordering::SeqCst);
            for dataflow in worker.installed_dataflows() {
                worker.drop_dataflow(dataflow);
            }
        }
        result
    })
    .map_err(PipelineError::Cluster)?;
    // The run's error is the failed worker's, not the others' `PeerFailed`.
    let mut first_error = None;
    for (index, result) in guards.join().into_iter().enumerate() {
        let error = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(message) => PipelineError::WorkerPanicked { worker: index, message },
        };
        match (&first_error, &error) {
            (None, _) | (Some(PipelineError::PeerFailed), _) => first_error = Some(error),
            _ => {}
        }
    }
    let report = lineage.lock().ok().and_then(|mut slot| slot.take());
    let lineage_stats = report.map(|mut report| {
        report.finish(first_error.as_ref().map(|e| e as &(dyn std::error::Error + 'static)));
        report.stats
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut summary = shared.lock().map(|s| s.clone()).unwrap_or_default();
    summary.lineage = lineage_stats;
    summary.elapsed = started.elapsed();
    (summary.process, summary.processes) = (process, processes);
    Ok(summary)
}

/// Where this run starts: after the last epoch the main table holds for the app id, or (no
/// such epoch) at the beginning. Every process reads it itself, before any table is created.
/// A resumed run without `--now` takes the "now" the committed epochs were judged by.
fn resume_point(config: &mut PipelineConfig) -> Result<Option<resume::Resume>, PipelineError> {
    let table = TablePaths::under(&config.output).quality;
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(PipelineError::Runtime)?;
    let position = runtime.block_on(crate::sink::committed_position(
        &table.table_uri(),
        &config.app_id,
        &config.storage,
    ))?;
    let Some((epoch, info)) = position else { return Ok(None) };
    let cannot = |reason: String| PipelineError::CannotResume {
        table: table.to_string(),
        app_id: config.app_id.clone(),
        epoch,
        reason,
    };
    let mut resume = resume::Resume::from_info(&table.to_string(), epoch, &info)?;
    let width = |ms: Option<i64>| ms.map_or("no horizon".to_owned(), |ms| format!("a horizon of {ms} ms"));
    match (config.horizon.map(|h| h.width_ms), resume.horizon_ms) {
        (None, None) => {}
        (Some(ours), Some(theirs)) if ours == theirs => {
            let history = runtime.block_on(crate::sink::committed_history(
                &table.table_uri(),
                &config.app_id,
                &config.storage,
            ))?;
            resume = resume.with_history(&table.to_string(), history)?;
        }
        (ours, theirs) => {
            return Err(cannot(format!(
                "they were committed with {}, this run has {}: which rows are late and which verdicts \
                 are final depends on the horizon, so a run keeps one from start to end",
                width(theirs),
                width(ours)
            )));
        }
    }
    match resume.now_ms {
        Some(now) if now != config.now_ms && !config.now_fixed => {
            tracing::info!(now_ms = now, "resuming with the committed epochs' \"now\"");
            config.now_ms = now;
        }
        Some(now) if now != config.now_ms => {
            return Err(cannot(format!(
                "they were judged with --now {now}, this run with --now {}: timestamp validity depends on \
                 it, so a run keeps one from start to end (leave --now out to take the committed one)",
                config.now_ms
            )));
        }
        _ => {}
    }
    if resume.topic != config.topic {
        return Err(cannot(format!("they were read from topic `{}`, not `{}`", resume.topic, config.topic)));
    }
    if resume.user_events_topic != config.user_events_topic {
        let read = |t: &Option<String>| {
            t.as_ref().map_or("no user events".to_owned(), |t| format!("user-events topic `{t}`"))
        };
        return Err(cannot(format!(
            "their scores joined {}, this run reads {}: the login features change the scores, so a run \
             reads one user-events topic (or none, --score-without-logins) from start to end",
            read(&resume.user_events_topic),
            read(&config.user_events_topic)
        )));
    }
    let model = config.scorer.as_ref().map(|s| s.id());
    if resume.model != model {
        let name =
            |m: &Option<resume::ModelId>| m.as_ref().map_or("no model".to_owned(), |m| format!("model {m}"));
        return Err(cannot(format!(
            "they were scored with {}, this run with {}: a run must score with one model from start to \
             end (write a new model's scores to another output or app id)",
            name(&resume.model),
            name(&model)
        )));
    }
    let policy = config.governor.id();
    if resume.pii_policy.as_deref() != Some(policy) {
        return Err(cannot(format!(
            "their rows were written under PII policy {}, this run's is {policy} (pii_handling or its \
             token key changed): a run must protect personal data one way from start to end, or its \
             retractions would not match the rows committed before",
            resume.pii_policy.as_deref().unwrap_or("(none recorded)")
        )));
    }
    Ok(Some(resume))
}
