//! The quality graph over a bounded input: batch mode is the streaming graph run to its end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::input::Input;
use timely::dataflow::operators::capture::{Capture, Extract};

use super::graph::{quality, quality_scored};
use super::row::QualityRow;
use crate::fraud::score::Scorer;
use crate::governance::{Governor, governed};
use crate::record::Transaction;

/// Runs [`quality`] (or [`quality_scored`] with a scorer) over `rows` as one epoch on `timely` workers and returns one verdict per
/// input row, consolidated, in no particular order. Copies of a row come back as copies.
/// Rows are moved, not cloned: worker `i` of `peers` takes every `peers`-th row from `i` (each
/// process of a cluster holds the whole input and keeps its own workers' shares).
/// With a `governor`, the rows come back as the sinks write them ([`governed`]).
pub fn evaluate_bounded(
    rows: Vec<Transaction>,
    now_ms: i64,
    scorer: Option<Arc<Scorer>>,
    governor: Option<Arc<Governor>>,
    timely: timely::Config,
) -> Result<Vec<QualityRow>, String> {
    let (send, recv) = mpsc::channel();
    let send = Arc::new(Mutex::new(send));
    let shares: Arc<Mutex<Shares>> =
        Arc::new(Mutex::new(Shares { unsplit: Some(rows), split: HashMap::new() }));
    timely::execute(timely, move |worker| {
        // A poisoned lock means another worker panicked, which the join below reports.
        let send = send.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let (index, peers) = (worker.index(), worker.peers());
        let mine = shares.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(index, peers);
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            let verdicts = match scorer.clone() {
                Some(scorer) => quality_scored(transactions, now_ms, scorer),
                None => quality(transactions, now_ms),
            };
            let verdicts = match governor.clone() {
                Some(governor) => governed(verdicts, governor),
                None => verdicts,
            };
            verdicts.inner.capture_into(send);
            input
        });
        for row in mine {
            input.insert(row);
        }
    })?
    .join()
    .into_iter()
    .collect::<Result<Vec<()>, String>>()?;
    let mut out = Vec::new();
    for (row, _, diff) in recv.extract().into_iter().flat_map(|(_, changes)| changes) {
        if diff < 0 {
            return Err(format!("a bounded run produced a retraction without its row: {row:?}"));
        }
        out.extend(std::iter::repeat_n(row, diff as usize));
    }
    Ok(out)
}

/// The input, split once into the workers' shares by whichever worker asks first.
struct Shares {
    unsplit: Option<Vec<Transaction>>,
    split: HashMap<usize, Vec<Transaction>>,
}

impl Shares {
    /// Worker `index`'s share: rows `index`, `index + peers`, ...
    fn take(&mut self, index: usize, peers: usize) -> Vec<Transaction> {
        if let Some(rows) = self.unsplit.take() {
            for (k, row) in rows.into_iter().enumerate() {
                self.split.entry(k % peers).or_default().push(row);
            }
        }
        self.split.remove(&index).unwrap_or_default()
    }
}
