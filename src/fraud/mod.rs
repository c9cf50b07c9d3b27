//! Fraud scoring: labelled data, features, training, evaluation, model registry, scoring.
//!
//! * [`features`]: the reference per-transaction features over the user's event-time history
//!   (`docs/fraud-features.md`), [`logins`]: the login features from the user-events
//!   stream (`fraud-features/2`), and [`inputs`]: the model's numeric input vector.
//! * [`dataset`], [`labels`], [`examples`]: transactions (JSON lines, Parquet or Delta) and a
//!   side file of labels joined by transactionId into examples in event-time order.
//! * [`model`], [`train`]: smartcore logistic regression and random forest fitted on a
//!   time-based split with undersampled negatives; the better by held-out PR AUC is kept.
//! * [`metrics`], [`evaluation`]: ROC AUC, PR AUC, precision and recall at the HIGH and MEDIUM
//!   thresholds, against a plain amount-threshold rule.
//! * [`registry`]: versioned, hashed artifacts with stages; loading verifies them.
//! * [`jobs`], [`report`]: `trustflow train` / `evaluate` end to end, and what they print.
//! * [`score`]: scoring in the dataflow (`run --model`, `batch --model`): features in, a
//!   [`score::FraudScore`] per row out.

pub mod bench;
pub mod dataset;
pub mod error;
pub mod evaluation;
pub mod examples;
pub mod features;
pub mod inputs;
pub mod jobs;
pub mod labels;
pub mod logins;
pub mod metrics;
pub mod model;
pub mod registry;
mod registry_error;
pub mod report;
pub mod score;
pub mod train;

pub use error::FraudError;
pub use inputs::{FEATURE_NAMES, INPUTS};
pub use registry::{ModelRef, Registry, RegistryError, Selector, Stage};

/// Scores above this are HIGH risk.
pub const HIGH: f64 = 0.8;
/// Scores above this (and not HIGH) are MEDIUM risk.
pub const MEDIUM: f64 = 0.5;

/// The risk category of a fraud score, as the reference design names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskCategory {
    /// Score > 0.8.
    High,
    /// 0.5 < score <= 0.8.
    Medium,
    /// Score <= 0.5.
    Low,
}

impl RiskCategory {
    /// The category of `score`.
    pub fn of(score: f64) -> RiskCategory {
        if score > HIGH {
            RiskCategory::High
        } else if score > MEDIUM {
            RiskCategory::Medium
        } else {
            RiskCategory::Low
        }
    }
}

#[cfg(test)]
#[path = "features_tests.rs"]
mod features_tests;

#[cfg(test)]
#[path = "logins_tests.rs"]
mod logins_tests;

#[cfg(test)]
#[path = "registry_tests.rs"]
mod registry_tests;
