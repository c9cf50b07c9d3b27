//! The quality graph over a bounded input: batch mode is the streaming graph run to its end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::input::Input;
use timely::dataflow::operators::capture::{Capture, Extract};

use super::graph::{quality, quality_scored_with};
use super::row::QualityRow;
use crate::fraud::score::Scorer;
use crate::governance::{Governor, governed};
use crate::record::{Transaction, UserEvent};

/// Runs [`quality`] (or [`quality_scored_with`] with a scorer, over `rows` and the logins of
/// `user_events`) as one epoch on `timely` workers and returns one verdict per input row,
/// consolidated, in no particular order. Copies of a row come back as copies. Without a
/// scorer the user events are not used.
/// Rows are moved, not cloned: worker `i` of `peers` takes every `peers`-th row from `i` (each
/// process of a cluster holds the whole input and keeps its own workers' shares).
/// With a `governor`, the rows come back as the sinks write them ([`governed`]).
pub fn evaluate_bounded(
    rows: Vec<Transaction>,
    user_events: Vec<UserEvent>,
    now_ms: i64,
    scorer: Option<Arc<Scorer>>,
    governor: Option<Arc<Governor>>,
    timely: timely::Config,
) -> Result<Vec<QualityRow>, String> {
    let (send, recv) = mpsc::channel();
    let send = Arc::new(Mutex::new(send));
    let shares: Arc<Mutex<Shares<Transaction>>> =
        Arc::new(Mutex::new(Shares { unsplit: Some(rows), split: HashMap::new() }));
    let event_shares: Arc<Mutex<Shares<UserEvent>>> =
        Arc::new(Mutex::new(Shares { unsplit: Some(user_events), split: HashMap::new() }));
    timely::execute(timely, move |worker| {
        // A poisoned lock means another worker panicked, which the join below reports.
        let send = send.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let (index, peers) = (worker.index(), worker.peers());
        let mine = shares.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(index, peers);
        let my_events =
            event_shares.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take(index, peers);
        let (mut input, mut events_input) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            let (events_input, user_events) = scope.new_collection::<UserEvent, isize>();
            let verdicts = match scorer.clone() {
                Some(scorer) => quality_scored_with(transactions, user_events, now_ms, scorer),
                None => quality(transactions, now_ms),
            };
            let verdicts = match governor.clone() {
                Some(governor) => governed(verdicts, governor),
                None => verdicts,
            };
            verdicts.inner.capture_into(send);
            (input, events_input)
        });
        for row in mine {
            input.insert(row);
        }
        for event in my_events {
            events_input.insert(event);
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

/// An input, split once into the workers' shares by whichever worker asks first.
struct Shares<R> {
    unsplit: Option<Vec<R>>,
    split: HashMap<usize, Vec<R>>,
}

impl<R> Shares<R> {
    /// Worker `index`'s share: rows `index`, `index + peers`, ...
    fn take(&mut self, index: usize, peers: usize) -> Vec<R> {
        if let Some(rows) = self.unsplit.take() {
            for (k, row) in rows.into_iter().enumerate() {
                self.split.entry(k % peers).or_default().push(row);
            }
        }
        self.split.remove(&index).unwrap_or_default()
    }
}
