//! A from-scratch evaluation of the quality rules over a whole input, with no dataflow.
//!
//! The oracle that the generator's ground truth, the tests and the benchmarks' baseline use.

use std::collections::{BTreeMap, HashMap};

use super::frame;
use super::row::QualityRow;
use super::rules::verdict;
use crate::record::Transaction;

/// The verdict of every row of `rows`, sorted (one output row per input row).
pub fn evaluate(rows: &[Transaction], now_ms: i64) -> Vec<QualityRow> {
    let mut copies_by_id: HashMap<&str, usize> = HashMap::new();
    for id in rows.iter().filter_map(|r| r.transaction_id.as_deref()) {
        *copies_by_id.entry(id).or_default() += 1;
    }
    let mut by_user: BTreeMap<Option<&str>, BTreeMap<&Transaction, isize>> = BTreeMap::new();
    for row in rows {
        *by_user.entry(row.user_id.as_deref()).or_default().entry(row).or_default() += 1;
    }
    let mut out = Vec::with_capacity(rows.len());
    for user_rows in by_user.values() {
        frame::walk(user_rows.iter().map(|(row, copies)| (*row, *copies)), |row, avg| {
            let unique = row
                .transaction_id
                .as_deref()
                .is_none_or(|id| copies_by_id.get(id).copied().unwrap_or(0) <= 1);
            out.push(verdict(row.clone(), avg, unique, now_ms));
        });
    }
    out.sort();
    out
}
