//! Scoring in the dataflow: a loaded model turns each row's features into its fraud score.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use serde::{Deserialize, Serialize};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::progress::Timestamp;

use super::features::Features;
use super::inputs::{INPUTS, vector};
use super::model::Model;
use super::registry::Loaded;
use super::{FraudError, RiskCategory};
use crate::dataflow::quality::QualityRow;
use crate::pipeline::resume::ModelId;

/// A fraud score in `[0, 1]`, compared bit for bit so that it can be differential data (two
/// scorings of the same features by the same model give the very same bits).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Score) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Hash for Score {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// A row's fraud verdict: the score and the model version that gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FraudScore {
    /// The calibrated probability of fraud.
    pub score: Score,
    /// The registry version of the model.
    pub model_version: u32,
}

impl FraudScore {
    /// HIGH above 0.8, MEDIUM above 0.5, else LOW.
    pub fn risk(&self) -> RiskCategory {
        RiskCategory::of(self.score.0)
    }
}

/// The `risk_category` column's word for a row: the category of its score, or `UNSCORED` when
/// the run has no model (the score and model version are then null: nothing is made up).
pub fn risk_label(fraud: Option<&FraudScore>) -> &'static str {
    match fraud.map(FraudScore::risk) {
        Some(RiskCategory::High) => "HIGH",
        Some(RiskCategory::Medium) => "MEDIUM",
        Some(RiskCategory::Low) => "LOW",
        None => "UNSCORED",
    }
}

/// A verified model ready to score, shared by the workers of a process.
#[derive(Debug)]
pub struct Scorer {
    model: Model,
    version: u32,
    sha256: String,
}

impl Scorer {
    /// A scorer for a model the registry loaded (and so verified). Scores one row of null
    /// features first, so that a model that cannot score fails here, before any data flows.
    pub fn new(loaded: Loaded) -> Result<Arc<Scorer>, FraudError> {
        Scorer::from_model(loaded.model, loaded.meta.version, &loaded.meta.model_sha256)
    }

    /// The model's registry version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The model's identity, as commits record it.
    pub fn id(&self) -> ModelId {
        ModelId { version: self.version, sha256: self.sha256.clone() }
    }

    /// A scorer for a model that did not come from a registry (tests, benchmarks): `version`
    /// and `sha256` are what the rows and commits will say.
    pub fn from_model(model: Model, version: u32, sha256: &str) -> Result<Arc<Scorer>, FraudError> {
        let scorer = Scorer { model, version, sha256: sha256.to_owned() };
        scorer.score(&[vector(&Features::default())])?;
        Ok(Arc::new(scorer))
    }

    /// The scores of `inputs`, each with this model's version.
    pub fn score(&self, inputs: &[[f64; INPUTS]]) -> Result<Vec<FraudScore>, FraudError> {
        let scores = self.model.score(inputs)?;
        Ok(scores.into_iter().map(|s| FraudScore { score: Score(s), model_version: self.version }).collect())
    }

    /// The score of one row's features.
    pub fn score_one(&self, features: &Features) -> Result<FraudScore, FraudError> {
        let mut scores = self.score(&[vector(features)])?;
        scores
            .pop()
            .ok_or(FraudError::Fit { algorithm: self.model.algorithm().name(), message: "no score".into() })
    }
}

/// Scores the rows of a collection of verdicts with their features: each row leaves with
/// `fraud` set by `scorer`. Each batch of changes is scored at once (one matrix for a forest's
/// trees). A retraction is scored like its insertion, giving the same bits, so the two cancel.
///
/// A batch the model cannot score (which [`Scorer::new`]'s trial makes unexpected) is logged
/// as an error and its rows leave unscored (`UNSCORED`), never dropped.
pub fn scored<'scope, T: Timestamp>(
    rows: VecCollection<'scope, T, (QualityRow, Features)>,
    scorer: Arc<Scorer>,
) -> VecCollection<'scope, T, QualityRow> {
    rows.inner
        .unary(Pipeline, "FraudScore", move |_, _| {
            move |input, output| {
                input.for_each(|cap, data| {
                    let inputs: Vec<[f64; INPUTS]> = data.iter().map(|((_, f), _, _)| vector(f)).collect();
                    let scores = match scorer.score(&inputs) {
                        Ok(scores) => scores.into_iter().map(Some).collect(),
                        Err(error) => {
                            tracing::error!(%error, rows = inputs.len(), "cannot score; rows left unscored");
                            vec![None; inputs.len()]
                        }
                    };
                    let mut session = output.session(&cap);
                    for (((mut row, _), time, diff), fraud) in data.drain(..).zip(scores) {
                        row.fraud = fraud;
                        session.give((row, time, diff));
                    }
                });
            }
        })
        .as_collection()
}
