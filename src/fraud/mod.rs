//! Fraud scoring, first part: labelled data in, features, training, evaluation, model registry.
//!
//! * [`features`]: the reference per-transaction features over the user's event-time history
//!   (`docs/fraud-features.md`), and [`inputs`]: the model's numeric input vector.

pub mod features;
pub mod inputs;

pub use inputs::{FEATURE_NAMES, INPUTS};

#[cfg(test)]
#[path = "features_tests.rs"]
mod features_tests;
