//! `trustflow train` and `trustflow evaluate` end to end: read, label, featurize, fit, save.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::FraudError;
use super::dataset::{self, DataIdentity, FileIdentity, UserEventsIdentity};
use super::evaluation::{AmountRule, Evaluation, evaluate};
use super::examples::{self, Coverage, Example};
use super::labels::Labels;
use super::metrics::Metrics;
use super::model::Algorithm;
use super::registry::{ModelRef, Registry};
use super::train::{self, Candidate, IMBALANCE, Split, TrainConfig, TrainingRecord};

/// What `trustflow train` does.
#[derive(Clone, Debug)]
pub struct TrainJob {
    /// Transactions: JSON lines, Parquet, or a Delta table.
    pub input: PathBuf,
    /// The labels file.
    pub labels: PathBuf,
    /// User events (JSON lines) whose logins the features join; `None`: no logins.
    pub user_events: Option<PathBuf>,
    /// The registry to save the kept model in.
    pub model_dir: PathBuf,
    /// The settings.
    pub config: TrainConfig,
    /// The artifact's creation time, epoch milliseconds.
    pub created_ms: i64,
}

/// The saved artifact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Saved {
    /// The registry directory.
    pub dir: String,
    /// The new version.
    pub version: u32,
    /// SHA-256 of its model.bin.
    pub sha256: String,
}

/// What a training run did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainReport {
    /// The transactions.
    pub data: DataIdentity,
    /// The labels file.
    pub labels: FileIdentity,
    /// The user events, if any.
    pub user_events: Option<UserEventsIdentity>,
    /// Labelled examples out of the input.
    pub coverage: Coverage,
    /// The time split.
    pub split: Split,
    /// Both algorithms on the holdout.
    pub candidates: Vec<Candidate>,
    /// The kept algorithm.
    pub chosen: Algorithm,
    /// The kept model against the amount rule on the holdout.
    pub holdout: Evaluation,
    /// The amount rule.
    pub rule: AmountRule,
    /// Where the model went.
    pub saved: Saved,
    /// Seconds reading and featurizing, fitting and evaluating, in all.
    pub seconds: (f64, f64, f64),
}

/// What [`examples`] read.
struct Read {
    data: DataIdentity,
    labels: FileIdentity,
    user_events: Option<UserEventsIdentity>,
    examples: Vec<Example>,
    coverage: Coverage,
}

/// Reads the input, the user events and the labels into examples.
fn examples(
    input: &std::path::Path,
    labels: &std::path::Path,
    user_events: Option<&std::path::Path>,
) -> Result<Read, FraudError> {
    let data = dataset::load(input)?;
    let (events, user_events) = match user_events {
        Some(path) => {
            let (events, identity) = dataset::load_user_events(path)?;
            (events, Some(identity))
        }
        None => (Vec::new(), None),
    };
    let label_set = Labels::read(labels)?;
    let label_identity = FileIdentity::of(labels)?;
    let (examples, coverage) = examples::assemble(&data.rows, &events, &label_set);
    tracing::info!(
        rows = coverage.rows,
        labelled = coverage.labelled,
        fraud = coverage.fraud,
        user_events = events.len(),
        "examples"
    );
    Ok(Read { data: data.identity, labels: label_identity, user_events, examples, coverage })
}

/// Trains both algorithms, keeps the better, saves it as the registry's next version.
pub fn run_train(job: &TrainJob) -> Result<TrainReport, FraudError> {
    let started = Instant::now();
    let Read { data, labels, user_events, examples, coverage } =
        examples(&job.input, &job.labels, job.user_events.as_deref())?;
    let read_seconds = started.elapsed().as_secs_f64();
    let fit_started = Instant::now();
    let trained = train::train(&examples, &job.config)?;
    let fit_seconds = fit_started.elapsed().as_secs_f64();
    let record = TrainingRecord {
        data: data.clone(),
        labels: labels.clone(),
        user_events: user_events.clone(),
        coverage: coverage.clone(),
        split: trained.split.clone(),
        config: job.config.clone(),
        imbalance: IMBALANCE.to_owned(),
        candidates: trained.candidates.clone(),
        holdout: trained.holdout.clone(),
        rule: trained.rule.clone(),
    };
    let registry = Registry::new(&job.model_dir);
    let meta = registry.save(&trained.model, record, job.created_ms)?;
    Ok(TrainReport {
        data,
        labels,
        user_events,
        coverage,
        split: trained.split,
        candidates: trained.candidates,
        chosen: trained.model.algorithm(),
        holdout: trained.holdout,
        rule: trained.rule,
        saved: Saved {
            dir: registry.dir().display().to_string(),
            version: meta.version,
            sha256: meta.model_sha256,
        },
        seconds: (read_seconds, fit_seconds, started.elapsed().as_secs_f64()),
    })
}

/// What `trustflow evaluate` does.
#[derive(Clone, Debug)]
pub struct EvaluateJob {
    /// The model.
    pub model: ModelRef,
    /// Transactions.
    pub input: PathBuf,
    /// Their labels.
    pub labels: PathBuf,
    /// User events (JSON lines) whose logins the features join; `None`: no logins.
    pub user_events: Option<PathBuf>,
}

/// A saved model on new labelled data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvaluateReport {
    /// The model's registry and version.
    pub model: Saved,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// The transactions evaluated on.
    pub data: DataIdentity,
    /// Their labels.
    pub labels: FileIdentity,
    /// The user events, if any.
    pub user_events: Option<UserEventsIdentity>,
    /// Labelled examples out of the input.
    pub coverage: Coverage,
    /// The model against the amount rule (the rule's thresholds from the model's training).
    pub evaluation: Evaluation,
    /// The same model's metrics on its training holdout, for comparison.
    pub trained_holdout: Metrics,
    /// The amount rule.
    pub rule: AmountRule,
}

/// Scores every labelled example of the input with a saved (and verified) model.
pub fn run_evaluate(job: &EvaluateJob) -> Result<EvaluateReport, FraudError> {
    let registry = Registry::new(&job.model.dir);
    let loaded = registry.load(job.model.selector)?;
    let Read { data, labels, user_events, examples, coverage } =
        examples(&job.input, &job.labels, job.user_events.as_deref())?;
    let trained_with = loaded.meta.training.user_events.is_some();
    if trained_with != user_events.is_some() {
        tracing::warn!(
            trained_with_user_events = trained_with,
            evaluated_with_user_events = user_events.is_some(),
            "the model was trained and is evaluated with different login information: its login \
             features say \"no login\" on the side without --user-events"
        );
    }
    if coverage.fraud == 0 || coverage.fraud == coverage.labelled {
        return Err(FraudError::NotEnoughData(format!(
            "{} labelled examples, {} of them fraud: evaluation needs both",
            coverage.labelled, coverage.fraud
        )));
    }
    let rule = loaded.meta.training.rule.clone();
    let evaluation = evaluate(&loaded.model, &rule, &examples)?;
    Ok(EvaluateReport {
        model: Saved {
            dir: registry.dir().display().to_string(),
            version: loaded.meta.version,
            sha256: loaded.meta.model_sha256.clone(),
        },
        algorithm: loaded.meta.algorithm,
        data,
        labels,
        user_events,
        coverage,
        evaluation,
        trained_holdout: loaded.meta.training.holdout.model.clone(),
        rule,
    })
}
