//! Labelled examples: each labelled, timestamped transaction's model inputs, in event-time order.

use serde::{Deserialize, Serialize};

use super::features;
use super::inputs::{self, INPUTS};
use super::labels::Labels;
use crate::record::{Transaction, UserEvent};

/// One labelled transaction, as the models and the amount rule see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// Model inputs ([`inputs::vector`] of its features).
    pub inputs: [f64; INPUTS],
    /// The label.
    pub fraud: bool,
    /// The fraud pattern, if labelled fraud with one.
    pub pattern: Option<String>,
    /// Event time, epoch milliseconds.
    pub timestamp: i64,
    /// The amount in currency units (`-inf` when null: below every threshold).
    pub amount: f64,
}

/// How much of the input became examples.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Transactions read.
    pub rows: u64,
    /// Examples: rows with a timestamp and a labelled transactionId.
    pub labelled: u64,
    /// Rows with a timestamp whose transactionId is null or has no label.
    pub unlabelled: u64,
    /// Rows without a timestamp (no place in event time, no features).
    pub no_timestamp: u64,
    /// Examples labelled fraud.
    pub fraud: u64,
}

/// The examples of `rows` (features over all of `rows` and the logins among `user_events`,
/// labelled ones kept), sorted by timestamp, then transactionId, then input position: the
/// order the time split cuts.
pub fn assemble(
    rows: &[Transaction],
    user_events: &[UserEvent],
    labels: &Labels,
) -> (Vec<Example>, Coverage) {
    let features = features::compute(rows, user_events);
    let mut coverage = Coverage { rows: rows.len() as u64, ..Coverage::default() };
    let mut keyed: Vec<((i64, &str, usize), Example)> = Vec::new();
    for (i, (row, features)) in rows.iter().zip(&features).enumerate() {
        let Some(timestamp) = row.timestamp else {
            coverage.no_timestamp += 1;
            continue;
        };
        let id = row.transaction_id.as_deref();
        let Some(label) = id.and_then(|id| labels.get(id)) else {
            coverage.unlabelled += 1;
            continue;
        };
        coverage.labelled += 1;
        coverage.fraud += u64::from(label.fraud);
        let example = Example {
            inputs: inputs::vector(features),
            fraud: label.fraud,
            pattern: label.pattern.clone(),
            timestamp,
            amount: features.amount.unwrap_or(f64::NEG_INFINITY),
        };
        keyed.push(((timestamp, id.unwrap_or_default(), i), example));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    (keyed.into_iter().map(|(_, e)| e).collect(), coverage)
}
