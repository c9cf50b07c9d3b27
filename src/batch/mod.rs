//! Batch mode: a bounded input (JSON lines or Parquet) through the quality graph to a table.
//!
//! `trustflow batch` runs in three phases, each timed in the [`BatchSummary`]:
//!
//! 1. **read** ([`input`]): JSON lines ([`jsonl`], streamed line by line, amounts parsed
//!    exactly by [`amount`]) or Parquet ([`parquet_in`]) into [`Transaction`]s. A line that is
//!    not a transaction is written to the rejects file with its 1-based number and the reason,
//!    never dropped silently; blank lines are skipped and counted.
//! 2. **graph**: [`evaluate_bounded`], the streaming quality graph run over the whole input as
//!    one epoch: batch is the streaming graph over a bounded input, so its output equals the
//!    consolidated streaming output row for row.
//! 3. **write** ([`output`]): the 19 output columns of QUALITY_SEMANTICS.md (no change
//!    columns), one row per input row, as a new Delta table created in one commit, or as
//!    Parquet files; encrypted (AES-256-GCM) when the `--config` spec's
//!    `encryption_required` says so.
//!
//! [`Transaction`]: crate::record::Transaction

pub mod amount;
pub mod error;
pub mod input;
pub mod jsonl;
pub mod output;
pub mod parquet_in;
pub mod summary;
pub mod user_events;

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

pub use error::BatchError;
pub use input::{InputFormat, ReadStats, Rejects};
pub use output::{OutputFormat, Written};
pub use summary::{BatchSummary, Phase};

use crate::location::{Location, StorageOptions};

use crate::dataflow::quality::evaluate_bounded;

/// What a batch run reads, computes and writes (built by `cli::plan::BatchPlan`).
#[derive(Clone, Debug)]
pub struct BatchJob {
    /// A JSON lines file, a Parquet file, or a directory of Parquet files.
    pub input: PathBuf,
    /// The output directory: local, or an Azure Blob URL.
    pub output: Location,
    /// Object store settings (credentials) for a URL output; never printed.
    pub storage: StorageOptions,
    /// Delta table or Parquet files.
    pub format: OutputFormat,
    /// Replace a previous output at `output`.
    pub overwrite: bool,
    /// The rejects file (JSON lines).
    pub rejects: PathBuf,
    /// "Now" of timestamp validity, epoch milliseconds.
    pub now_ms: i64,
    /// Worker threads, for the graph and the writers.
    pub workers: usize,
    /// Timely's configuration for `workers` threads in this process.
    pub timely: timely::Config,
    /// The fraud model that scores every row (`None`: rows are `UNSCORED`).
    pub scorer: Option<std::sync::Arc<crate::fraud::score::Scorer>>,
    /// User events (JSON lines, [`user_events`]) whose logins the fraud features join
    /// (`fraud-features/2`); without them every row's login features say "no login".
    pub user_events: Option<PathBuf>,
    /// The PII policy the output rows are written under.
    pub governor: std::sync::Arc<crate::governance::Governor>,
    /// Encrypt the output with this key (the spec's `encryption_required`); never printed.
    pub encryption: Option<crate::sink::encryption::TableKey>,
}

impl BatchJob {
    /// The default rejects file of `output`: `<DIR>.rejects.jsonl` beside a local output, and
    /// `<NAME>.rejects.jsonl` in the working directory for a URL output (rejects stay local).
    pub fn default_rejects(output: &Location) -> PathBuf {
        match output {
            Location::Local(path) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(".rejects.jsonl");
                path.with_file_name(name)
            }
            Location::Azure(_) => {
                PathBuf::from(format!("{}.rejects.jsonl", output.name().unwrap_or_else(|| "batch".into())))
            }
        }
    }

    /// Why the paths cannot work together, if they cannot: the output must name a directory
    /// (for a URL, one inside the container) and must not be (or hold) the input; the rejects
    /// file must be neither the input nor inside the output.
    pub fn path_conflict(&self) -> Option<String> {
        let Some(output) = self.output.local_path() else {
            if self.output.name().is_none() {
                return Some(format!(
                    "--output {} must name a directory inside the container, not the container itself",
                    self.output
                ));
            }
            return (absolute(&self.rejects) == absolute(&self.input))
                .then(|| format!("--rejects {} must not be the input", self.rejects.display()));
        };
        if output.file_name().is_none() {
            let output = output.display();
            return Some(format!("--output {output} must name a directory (not `.`, `..` or a root)"));
        }
        let (input, output, rejects) = (absolute(&self.input), absolute(output), absolute(&self.rejects));
        if input.starts_with(&output) {
            return Some("--input must not be the --output directory or inside it".into());
        }
        (rejects == input || rejects.starts_with(&output)).then(|| {
            let rejects = self.rejects.display();
            format!("--rejects {rejects} must be neither the input nor inside the output directory")
        })
    }
}

/// `path` made absolute against the working directory, `.` and `..` resolved lexically.
fn absolute(path: &Path) -> PathBuf {
    let joined = std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Runs `job`: read, evaluate, write; returns what happened. The output location is checked
/// before anything is read, and a previous output is only deleted once the verdicts are ready.
pub fn run(job: &BatchJob) -> Result<BatchSummary, BatchError> {
    let started = Instant::now();
    let target = output::check(&job.output, job.overwrite, &job.storage)?;
    let format = input::detect(&job.input)?;

    let mut rejects = Rejects::create(&job.rejects)?;
    let (rows, read) = input::read(&job.input, format, &mut rejects)?;
    rejects.finish()?;
    let read_elapsed = started.elapsed();
    tracing::info!(rows = read.rows, rejected = read.rejected, seconds = read_elapsed.as_secs_f64(), "read");

    let user_events = match &job.user_events {
        Some(path) => user_events::read(path)?,
        None => Vec::new(),
    };
    let graph_started = Instant::now();
    let verdicts = evaluate_bounded(
        rows,
        user_events,
        job.now_ms,
        job.scorer.clone(),
        Some(job.governor.clone()),
        job.timely.clone(),
    )
    .map_err(BatchError::Graph)?;
    let graph_elapsed = graph_started.elapsed();
    if verdicts.len() as u64 != read.rows {
        let message = format!("{} rows in, {} verdicts out", read.rows, verdicts.len());
        return Err(BatchError::Internal(message));
    }
    tracing::info!(rows = verdicts.len(), seconds = graph_elapsed.as_secs_f64(), "quality graph");

    let output_rows = verdicts.len() as u64;
    let failing = summary::failing(&verdicts);
    let write_started = Instant::now();
    let written = target.write(job.format, verdicts, job.workers, job.encryption.as_ref())?;
    let write_elapsed = write_started.elapsed();

    Ok(BatchSummary {
        input: job.input.display().to_string(),
        rejects: job.rejects.display().to_string(),
        output_rows,
        failing,
        now_ms: job.now_ms,
        workers: job.workers,
        read_phase: Phase::new(read.records, read_elapsed),
        graph_phase: Phase::new(output_rows, graph_elapsed),
        write_phase: Phase::new(output_rows, write_elapsed),
        total: Phase::new(output_rows, started.elapsed()),
        read,
        output: written,
    })
}
