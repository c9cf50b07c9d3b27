//! Training: a time-based holdout, undersampled negatives, calibration, the better model kept.
//!
//! The examples (in event-time order) are cut by time into three slices: the earliest
//! `1 - holdout` share is the training split, the rest is held out. The training split's
//! last `calibration` share is set aside for calibration; the rest fits the models. Fraud is
//! rare, so fitting keeps every fraud row and a seeded random sample of at most
//! `negatives_per_fraud` other rows per fraud row. Each model's raw logits are then mapped to
//! probabilities at the real class balance by Platt scaling on the calibration slice (all of
//! its rows, none dropped), or, if that slice cannot support it (no fraud in it), by the
//! prior shift of the undersampling. Logistic regression and the random forest are both
//! fitted, calibrated, and scored on the untouched holdout; the one with the higher PR AUC
//! there is kept (logistic regression on a tie).

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::FraudError;
use super::dataset::{DataIdentity, FileIdentity, UserEventsIdentity};
use super::evaluation::{AmountRule, Evaluation, evaluate_scores};
use super::examples::{Coverage, Example};
use super::metrics::Metrics;
use super::model::{Algorithm, Calibration, Model};

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Share of the examples, the latest by event time, held out for evaluation.
    pub holdout: f64,
    /// Share of the training split, its latest by event time, kept for calibration.
    pub calibration: f64,
    /// Training negatives kept per training fraud row (undersampling).
    pub negatives_per_fraud: u32,
    /// Trees of the random forest.
    pub trees: u16,
    /// Maximum depth of a tree.
    pub max_depth: u16,
    /// L2 penalty of logistic regression.
    pub alpha: f64,
    /// Seed of the undersampling and the forest.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            holdout: 0.2,
            calibration: 0.125,
            negatives_per_fraud: 20,
            trees: 100,
            max_depth: 12,
            alpha: 1.0,
            seed: 7,
        }
    }
}

/// Where the time cuts fell and what the fitting sample holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Examples the models were fitted from (before undersampling).
    pub fit_rows: u64,
    /// Fraud rows among them.
    pub fit_fraud: u64,
    /// Examples of the calibration slice.
    pub calibration_rows: u64,
    /// Fraud rows among them.
    pub calibration_fraud: u64,
    /// Examples held out.
    pub holdout_rows: u64,
    /// Fraud rows among them.
    pub holdout_fraud: u64,
    /// Timestamp of the first calibration example (epoch ms).
    pub calibration_from_ms: i64,
    /// Timestamp of the first held-out example (epoch ms).
    pub holdout_from_ms: i64,
    /// Negatives the models were fitted on.
    pub sampled_negatives: u64,
    /// Share of the fitting negatives that is.
    pub negative_share: f64,
}

/// One algorithm's result on the holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// How its logits became probabilities: `platt` or `prior_shift`.
    pub calibration_method: String,
    /// The calibration.
    pub calibration: Calibration,
    /// Its holdout metrics.
    pub metrics: Metrics,
    /// Seconds spent fitting and calibrating it.
    pub fit_seconds: f64,
}

/// How the class imbalance is handled, in words (recorded in the artifact).
pub const IMBALANCE: &str = "fitting negatives undersampled (seeded) to at most negatives_per_fraud per fraud \
     row, every fraud row kept; scores calibrated back to the real balance by Platt scaling on the \
     calibration slice (all rows), or by the prior shift ln(negative_share) if that slice has no fraud";

/// What a training run records in its artifact's meta.json.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The transactions trained on.
    pub data: DataIdentity,
    /// The labels file.
    pub labels: FileIdentity,
    /// The user events whose logins the features joined (`None`: trained without them, every
    /// login feature "no login").
    #[serde(default)]
    pub user_events: Option<UserEventsIdentity>,
    /// How much of the input became labelled examples.
    pub coverage: Coverage,
    /// The time split and the training sample.
    pub split: Split,
    /// The settings.
    pub config: TrainConfig,
    /// How the class imbalance was handled ([`IMBALANCE`]).
    pub imbalance: String,
    /// Both algorithms on the holdout.
    pub candidates: Vec<Candidate>,
    /// The kept model against the amount rule on the holdout, per pattern too.
    pub holdout: Evaluation,
    /// The amount rule (thresholds from the training split).
    pub rule: AmountRule,
}

/// The outcome of training.
pub struct Trained {
    /// The kept model.
    pub model: Model,
    /// Every candidate, in fitting order (logistic regression, random forest).
    pub candidates: Vec<Candidate>,
    /// The kept model against the amount rule on the holdout.
    pub holdout: Evaluation,
    /// The amount rule, thresholds from the training split.
    pub rule: AmountRule,
    /// The split.
    pub split: Split,
}

/// Trains on `examples` (sorted by event time, as [`super::examples::assemble`] gives them).
pub fn train(examples: &[Example], config: &TrainConfig) -> Result<Trained, FraudError> {
    let n = examples.len();
    let cut = |len: usize, share: f64| (((len as f64) * (1.0 - share)).round() as usize).min(len);
    let (training, holdout) = examples.split_at(cut(n, config.holdout));
    let (fitting, calibration) = training.split_at(cut(training.len(), config.calibration));
    let count = |part: &[Example]| part.iter().filter(|e| e.fraud).count() as u64;
    let both = |part: &[Example], least: u64| count(part) >= least && count(part) < part.len() as u64;
    if !both(fitting, 2) || !both(holdout, 1) || calibration.is_empty() {
        return Err(FraudError::NotEnoughData(format!(
            "{n} labelled examples: {} fraud of {} to fit on, {} of {} to calibrate on, {} of {} held out; \
             fitting needs 2 fraud rows and the holdout 1, both need other rows too",
            count(fitting),
            fitting.len(),
            count(calibration),
            calibration.len(),
            count(holdout),
            holdout.len()
        )));
    }
    let (rows, fraud, negative_share) = undersample(fitting, config);
    tracing::info!(
        rows = rows.len(),
        fraud = count(fitting),
        negative_share,
        "fitting on the training sample"
    );

    let inputs = |part: &[Example]| part.iter().map(|e| e.inputs).collect::<Vec<_>>();
    let flags = |part: &[Example]| part.iter().map(|e| e.fraud).collect::<Vec<_>>();
    let (calibration_inputs, calibration_fraud) = (inputs(calibration), flags(calibration));
    let (holdout_inputs, holdout_fraud) = (inputs(holdout), flags(holdout));
    let mut fitted: Vec<(Model, Candidate, Vec<f64>)> = Vec::new();
    for algorithm in [Algorithm::LogisticRegression, Algorithm::RandomForest] {
        let started = Instant::now();
        let raw = match algorithm {
            Algorithm::LogisticRegression => Model::fit_logistic(&rows, &fraud, config.alpha)?,
            Algorithm::RandomForest => {
                Model::fit_forest(&rows, &fraud, config.trees, config.max_depth, config.seed)?
            }
        };
        let platt = both(calibration, 1)
            .then(|| Calibration::platt(&raw.logits(&calibration_inputs).ok()?, &calibration_fraud))
            .flatten();
        let (method, calibration) = match platt {
            Some(fitted) => ("platt", fitted),
            None => {
                tracing::warn!(
                    algorithm = algorithm.name(),
                    "no Platt scaling possible: prior shift instead"
                );
                ("prior_shift", Calibration::prior_shift(negative_share))
            }
        };
        let model = raw.calibrated(calibration);
        let fit_seconds = started.elapsed().as_secs_f64();
        let scores = model.score(&holdout_inputs)?;
        let metrics = Metrics::of(&scores, &holdout_fraud, super::HIGH, super::MEDIUM);
        tracing::info!(algorithm = algorithm.name(), fit_seconds, pr_auc = ?metrics.pr_auc, "fitted");
        let candidate =
            Candidate { algorithm, calibration_method: method.to_owned(), calibration, metrics, fit_seconds };
        fitted.push((model, candidate, scores));
    }
    let pr = |k: usize| fitted[k].1.metrics.pr_auc.unwrap_or(0.0);
    let best = if pr(1) > pr(0) { 1 } else { 0 };
    let candidates = fitted.iter().map(|f| f.1.clone()).collect();
    let (model, _, scores) = fitted.swap_remove(best);
    let rule = AmountRule::fit(training);
    let sampled_negatives = fraud.iter().filter(|f| !**f).count() as u64;
    Ok(Trained {
        holdout: evaluate_scores(&scores, &rule, holdout),
        model,
        candidates,
        rule,
        split: Split {
            fit_rows: fitting.len() as u64,
            fit_fraud: count(fitting),
            calibration_rows: calibration.len() as u64,
            calibration_fraud: count(calibration),
            holdout_rows: holdout.len() as u64,
            holdout_fraud: count(holdout),
            calibration_from_ms: calibration[0].timestamp,
            holdout_from_ms: holdout[0].timestamp,
            sampled_negatives,
            negative_share,
        },
    })
}

/// The fitting sample: every fraud row and at most `negatives_per_fraud` per fraud row of
/// the others (a seeded sample, kept in event-time order), with the share of negatives kept.
fn undersample(fitting: &[Example], config: &TrainConfig) -> (Vec<[f64; super::INPUTS]>, Vec<bool>, f64) {
    let negatives: Vec<usize> = (0..fitting.len()).filter(|&i| !fitting[i].fraud).collect();
    let positives = fitting.len() - negatives.len();
    let wanted = positives.saturating_mul(config.negatives_per_fraud as usize).min(negatives.len());
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut keep: Vec<bool> = fitting.iter().map(|e| e.fraud).collect();
    for picked in rand::seq::index::sample(&mut rng, negatives.len(), wanted) {
        keep[negatives[picked]] = true;
    }
    let share = if negatives.is_empty() { 1.0 } else { wanted as f64 / negatives.len() as f64 };
    let kept: Vec<&Example> = fitting.iter().zip(&keep).filter(|(_, k)| **k).map(|(e, _)| e).collect();
    (kept.iter().map(|e| e.inputs).collect(), kept.iter().map(|e| e.fraud).collect(), share)
}
