//! A model against the plain amount-threshold rule on labelled examples, overall and per pattern.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::examples::Example;
use super::metrics::Metrics;
use super::model::Model;
use super::{FraudError, HIGH, MEDIUM};

/// The baseline: flag a transaction when its amount is large. HIGH flags amounts above the
/// training split's 99th percentile, MEDIUM above its 95th; its ROC and PR AUC rank by the
/// amount itself (every amount threshold at once), the best any such rule can do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmountRule {
    /// HIGH: amount greater than this (currency units, currency ignored).
    pub high_amount: f64,
    /// MEDIUM: amount greater than this.
    pub medium_amount: f64,
}

/// Quantiles of the training amounts that set the rule's thresholds.
const HIGH_QUANTILE: f64 = 0.99;
const MEDIUM_QUANTILE: f64 = 0.95;

impl AmountRule {
    /// The rule whose thresholds are the 99th and 95th percentiles (nearest rank) of the
    /// examples' non-null amounts.
    pub fn fit(examples: &[Example]) -> AmountRule {
        let mut amounts: Vec<f64> = examples.iter().map(|e| e.amount).filter(|a| a.is_finite()).collect();
        amounts.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            if amounts.is_empty() {
                return 0.0;
            }
            let rank = ((q * amounts.len() as f64).ceil() as usize).clamp(1, amounts.len());
            amounts[rank - 1]
        };
        AmountRule { high_amount: quantile(HIGH_QUANTILE), medium_amount: quantile(MEDIUM_QUANTILE) }
    }

    /// The rule's metrics on `examples`.
    pub fn metrics(&self, examples: &[Example]) -> Metrics {
        let amounts: Vec<f64> = examples.iter().map(|e| e.amount).collect();
        Metrics::of(&amounts, &fraud(examples), self.high_amount, self.medium_amount)
    }
}

/// How many fraud rows of one pattern a scorer flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternRecall {
    /// Fraud rows of the pattern.
    pub fraud: u64,
    /// Of those, flagged by the model at HIGH / MEDIUM.
    pub model_high: u64,
    /// Flagged by the model at MEDIUM.
    pub model_medium: u64,
    /// Flagged by the amount rule at HIGH.
    pub rule_high: u64,
    /// Flagged by the amount rule at MEDIUM.
    pub rule_medium: u64,
}

/// A model and the amount rule on the same examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The model's metrics (HIGH > 0.8, MEDIUM > 0.5).
    pub model: Metrics,
    /// The amount rule's metrics.
    pub rule: Metrics,
    /// Recall per fraud pattern (`unnamed` for fraud labels without one).
    pub patterns: BTreeMap<String, PatternRecall>,
}

fn fraud(examples: &[Example]) -> Vec<bool> {
    examples.iter().map(|e| e.fraud).collect()
}

/// Scores `examples` with `model` and compares with `rule`.
pub fn evaluate(model: &Model, rule: &AmountRule, examples: &[Example]) -> Result<Evaluation, FraudError> {
    let inputs: Vec<_> = examples.iter().map(|e| e.inputs).collect();
    let scores = model.score(&inputs)?;
    Ok(evaluate_scores(&scores, rule, examples))
}

/// As [`evaluate`], with the model's scores of `examples` given.
pub fn evaluate_scores(scores: &[f64], rule: &AmountRule, examples: &[Example]) -> Evaluation {
    let mut patterns: BTreeMap<String, PatternRecall> = BTreeMap::new();
    for (example, score) in examples.iter().zip(scores).filter(|(e, _)| e.fraud) {
        let name = example.pattern.clone().unwrap_or_else(|| "unnamed".to_owned());
        let entry = patterns.entry(name).or_insert(PatternRecall {
            fraud: 0,
            model_high: 0,
            model_medium: 0,
            rule_high: 0,
            rule_medium: 0,
        });
        entry.fraud += 1;
        entry.model_high += u64::from(*score > HIGH);
        entry.model_medium += u64::from(*score > MEDIUM);
        entry.rule_high += u64::from(example.amount > rule.high_amount);
        entry.rule_medium += u64::from(example.amount > rule.medium_amount);
    }
    Evaluation {
        model: Metrics::of(scores, &fraud(examples), HIGH, MEDIUM),
        rule: rule.metrics(examples),
        patterns,
    }
}
