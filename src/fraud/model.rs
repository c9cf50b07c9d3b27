//! The two model kinds, fitted with smartcore: logistic regression and a random forest.
//!
//! Both give each row a raw logit: logistic regression its linear predictor, the forest the
//! logit of the share of its trees that vote fraud (kept inside `[0.5/T, 1 - 0.5/T]` for `T`
//! trees; smartcore's forest only exposes the majority vote, so its trees are taken out of
//! the fitted forest through its serde form and asked one by one). Models are fitted on
//! undersampled negatives, so the raw logit overstates fraud; a [`Calibration`] maps it to
//! a probability at the real class balance: `score = sigmoid(slope * logit + intercept)`.

use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};
use smartcore::tree::decision_tree_classifier::DecisionTreeClassifier;

use super::error::FraudError;
use super::inputs::INPUTS;

/// One tree of the forest, as smartcore fits it.
pub type Tree = DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

/// The learning algorithms `train` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// L2-regularised logistic regression on standardised inputs.
    LogisticRegression,
    /// smartcore's random forest (bootstrap samples, sqrt(inputs) features tried per split).
    RandomForest,
}

impl Algorithm {
    /// The algorithm's name in reports and artifacts.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::LogisticRegression => "logistic_regression",
            Algorithm::RandomForest => "random_forest",
        }
    }
}

/// Maps a raw logit to a probability: `sigmoid(slope * logit + intercept)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Multiplies the raw logit.
    pub slope: f64,
    /// Added after.
    pub intercept: f64,
}

impl Calibration {
    /// The raw probability as it is.
    pub const NONE: Calibration = Calibration { slope: 1.0, intercept: 0.0 };

    /// The prior shift for a training sample that kept `share` of the negatives: odds times
    /// `share`, i.e. `ln(share)` added to the logit (exact for a calibrated raw model).
    pub fn prior_shift(share: f64) -> Calibration {
        Calibration { slope: 1.0, intercept: share.max(f64::MIN_POSITIVE).ln() }
    }

    /// Platt scaling: a one-input logistic regression (smartcore) of `fraud` on `logits`,
    /// fitted on rows at the real class balance. `None` if it cannot be fitted or would
    /// reverse the ranking (slope <= 0).
    pub fn platt(logits: &[f64], fraud: &[bool]) -> Option<Calibration> {
        let x = DenseMatrix::new(logits.len(), 1, logits.to_vec(), false).ok()?;
        let parameters = LogisticRegressionParameters::default().with_alpha(PLATT_ALPHA);
        let fitted = LogisticRegression::fit(&x, &labels(fraud), parameters).ok()?;
        if fitted.classes() != &[0, 1] {
            return None;
        }
        let slope = *fitted.coefficients().get((0, 0));
        let intercept = *fitted.intercept().get((0, 0));
        (slope > 0.0 && slope.is_finite() && intercept.is_finite())
            .then_some(Calibration { slope, intercept })
    }

    /// The probability of a raw logit.
    pub fn apply(&self, logit: f64) -> f64 {
        1.0 / (1.0 + (-(self.slope * logit + self.intercept)).exp())
    }
}

/// L2 penalty of Platt scaling (small: two parameters, thousands of rows).
const PLATT_ALPHA: f64 = 1e-3;

/// A fitted model.
#[derive(Debug, Serialize, Deserialize)]
pub struct Model {
    kind: Kind,
    calibration: Calibration,
}

#[derive(Debug, Serialize, Deserialize)]
enum Kind {
    Logistic { means: Vec<f64>, scales: Vec<f64>, weights: Vec<f64>, intercept: f64 },
    Forest { trees: Vec<Tree> },
}

/// The fields of smartcore 0.7's `RandomForestClassifier`, in order: its serde form is read
/// back into this to reach the trees (a test checks the votes against smartcore's own).
#[derive(Deserialize)]
struct ForestParts {
    trees: Option<Vec<Tree>>,
    #[expect(dead_code, reason = "read to consume the serialized form")]
    classes: Option<Vec<u32>>,
    #[expect(dead_code, reason = "read to consume the serialized form")]
    samples: Option<Vec<Vec<bool>>>,
}

/// The rows as a smartcore matrix.
fn matrix(rows: &[[f64; INPUTS]]) -> Result<DenseMatrix<f64>, String> {
    DenseMatrix::new(rows.len(), INPUTS, rows.concat(), false).map_err(|e| e.to_string())
}

fn labels(fraud: &[bool]) -> Vec<u32> {
    fraud.iter().map(|f| u32::from(*f)).collect()
}

impl Model {
    /// Fits logistic regression with L2 penalty `alpha` on standardised inputs.
    pub fn fit_logistic(rows: &[[f64; INPUTS]], fraud: &[bool], alpha: f64) -> Result<Model, FraudError> {
        let fail =
            |message: String| FraudError::Fit { algorithm: Algorithm::LogisticRegression.name(), message };
        let n = rows.len().max(1) as f64;
        let means: Vec<f64> = (0..INPUTS).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n).collect();
        let scales: Vec<f64> = (0..INPUTS)
            .map(|j| {
                let var = rows.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n;
                if var > 0.0 { var.sqrt() } else { 1.0 }
            })
            .collect();
        let standard: Vec<[f64; INPUTS]> = rows.iter().map(|r| standardise(r, &means, &scales)).collect();
        let x = matrix(&standard).map_err(fail)?;
        let parameters = LogisticRegressionParameters::default().with_alpha(alpha);
        let fitted =
            LogisticRegression::fit(&x, &labels(fraud), parameters).map_err(|e| fail(e.to_string()))?;
        if fitted.classes() != &[0, 1] {
            return Err(fail(format!("expected the classes [0, 1], got {:?}", fitted.classes())));
        }
        let weights = (0..INPUTS).map(|j| *fitted.coefficients().get((0, j))).collect();
        let intercept = *fitted.intercept().get((0, 0));
        Ok(Model {
            kind: Kind::Logistic { means, scales, weights, intercept },
            calibration: Calibration::NONE,
        })
    }

    /// Fits smartcore's random forest of `trees` trees, at most `max_depth` deep, seeded.
    pub fn fit_forest(
        rows: &[[f64; INPUTS]],
        fraud: &[bool],
        trees: u16,
        max_depth: u16,
        seed: u64,
    ) -> Result<Model, FraudError> {
        let fail = |message: String| FraudError::Fit { algorithm: Algorithm::RandomForest.name(), message };
        let x = matrix(rows).map_err(fail)?;
        let parameters = RandomForestClassifierParameters::default()
            .with_n_trees(trees)
            .with_max_depth(max_depth)
            .with_min_samples_leaf(2)
            .with_seed(seed);
        let forest =
            RandomForestClassifier::fit(&x, &labels(fraud), parameters).map_err(|e| fail(e.to_string()))?;
        let trees = forest_trees(&forest).map_err(fail)?;
        Ok(Model { kind: Kind::Forest { trees }, calibration: Calibration::NONE })
    }

    /// The model's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.kind {
            Kind::Logistic { .. } => Algorithm::LogisticRegression,
            Kind::Forest { .. } => Algorithm::RandomForest,
        }
    }

    /// Fraud scores in `[0, 1]` of `rows`: calibrated probabilities.
    pub fn score(&self, rows: &[[f64; INPUTS]]) -> Result<Vec<f64>, FraudError> {
        Ok(self.logits(rows)?.into_iter().map(|l| self.calibration.apply(l)).collect())
    }

    /// The raw logits of `rows`, before calibration.
    pub fn logits(&self, rows: &[[f64; INPUTS]]) -> Result<Vec<f64>, FraudError> {
        Ok(match &self.kind {
            Kind::Logistic { means, scales, weights, intercept } => rows
                .iter()
                .map(|r| {
                    standardise(r, means, scales).iter().zip(weights).map(|(x, w)| x * w).sum::<f64>()
                        + intercept
                })
                .collect(),
            Kind::Forest { trees } => {
                let fail =
                    |message: String| FraudError::Fit { algorithm: Algorithm::RandomForest.name(), message };
                let mut votes = vec![0u32; rows.len()];
                if !rows.is_empty() {
                    let x = matrix(rows).map_err(fail)?;
                    for tree in trees {
                        let predicted = tree.predict(&x).map_err(|e| fail(e.to_string()))?;
                        votes.iter_mut().zip(predicted).for_each(|(v, p)| *v += p);
                    }
                }
                let t = trees.len().max(1) as f64;
                let edge = 0.5 / t;
                votes
                    .into_iter()
                    .map(|v| {
                        let p = (f64::from(v) / t).clamp(edge, 1.0 - edge);
                        (p / (1.0 - p)).ln()
                    })
                    .collect()
            }
        })
    }

    /// The calibration in use.
    pub fn calibration(&self) -> Calibration {
        self.calibration
    }

    /// The model with `calibration` instead.
    pub fn calibrated(self, calibration: Calibration) -> Model {
        Model { calibration, ..self }
    }

    /// Whether the model takes `inputs` inputs (a decoded artifact's sanity check).
    pub fn takes(&self, inputs: usize) -> bool {
        match &self.kind {
            Kind::Logistic { means, scales, weights, .. } => {
                means.len() == inputs && scales.len() == inputs && weights.len() == inputs
            }
            Kind::Forest { trees } => !trees.is_empty() && inputs == INPUTS,
        }
    }
}

/// `(x - mean) / scale`, per input.
fn standardise(row: &[f64; INPUTS], means: &[f64], scales: &[f64]) -> [f64; INPUTS] {
    let mut out = *row;
    for (j, x) in out.iter_mut().enumerate() {
        *x = (*x - means[j]) / scales[j];
    }
    out
}

/// The trees of a fitted smartcore forest.
fn forest_trees(
    forest: &RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>,
) -> Result<Vec<Tree>, String> {
    let bytes = bincode::serialize(forest).map_err(|e| e.to_string())?;
    let parts: ForestParts = bincode::deserialize(&bytes).map_err(|e| e.to_string())?;
    parts.trees.filter(|t| !t.is_empty()).ok_or_else(|| "the fitted forest has no trees".to_owned())
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
