//! The governance hot path for benchmarks: scan and classify records, counted.

use super::classify::{Classification, Sensitivity, classify_record};
use super::pii::Recognizers;
use crate::generate::{Event, Generator, GeneratorConfig};
use crate::record::Transaction;

/// `count` transactions of the default generated stream (seed 42), with personal data planted
/// in `pii_rate` of them.
pub fn rows(count: usize, pii_rate: f64) -> Vec<Transaction> {
    Generator::new(GeneratorConfig { garbage_rate: 0.0, pii_rate, ..GeneratorConfig::default() })
        .filter_map(|e| match e {
            Event::Transaction(row, _) => Some(row),
            Event::Garbage(_) => None,
        })
        .take(count)
        .collect()
}

/// What one pass over the rows found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows scanned.
    pub rows: usize,
    /// Rows with PII.
    pub with_pii: usize,
    /// Findings.
    pub findings: usize,
    /// Rows at sensitivity CRITICAL.
    pub critical: usize,
}

/// Scans and classifies every row (the work of [`super::operator::classified`] without the
/// dataflow around it).
pub fn scan_and_classify(recognizers: &Recognizers, rows: &[Transaction]) -> Tally {
    let mut tally = Tally::default();
    for row in rows {
        let class: Classification = classify_record(recognizers, row);
        tally.rows += 1;
        tally.with_pii += usize::from(class.pii);
        tally.findings += class.findings.len();
        tally.critical += usize::from(class.sensitivity == Sensitivity::Critical);
    }
    tally
}
