//! Event time as every worker sees it: the largest timestamp read so far, and the cutoff.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::progress::frontier::MutableAntichain;

use super::Horizon;
use crate::record::Transaction;

/// Each worker's largest timestamp per epoch, broadcast so that every worker sees all of them.
///
/// Only timestamps at or before `now_ms` count: a row from the future is flagged INVALID and
/// must not drag event time ahead (one bad clock would otherwise put every later row beyond
/// the horizon). Retractions do not count: event time only moves forward.
pub fn marks<'scope>(
    rows: StreamVec<'scope, u64, (Transaction, u64, isize)>,
    now_ms: i64,
) -> StreamVec<'scope, u64, i64> {
    rows.unary(Pipeline, "LocalEventTime", move |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let mut by_time: BTreeMap<u64, i64> = BTreeMap::new();
                for (row, time, diff) in data.iter() {
                    if let Some(ts) = row.timestamp.filter(|ts| *diff > 0 && *ts <= now_ms) {
                        let max = by_time.entry(*time).or_insert(ts);
                        *max = (*max).max(ts);
                    }
                }
                for (time, max) in by_time {
                    output.session(&cap.delayed(&time, 0)).give(max);
                }
            });
        }
    })
    .broadcast()
}

/// The marks received so far, folded into "the largest timestamp at or before epoch t".
#[derive(Debug, Default)]
pub struct EventTime {
    /// The largest mark of the epochs folded away.
    settled: Option<i64>,
    /// Marks of later epochs, each epoch's largest.
    pending: BTreeMap<u64, i64>,
}

impl EventTime {
    /// Takes one mark of epoch `time`.
    pub fn absorb(&mut self, time: u64, mark: i64) {
        let max = self.pending.entry(time).or_insert(mark);
        *max = (*max).max(mark);
    }

    /// Whether every mark of `time` has arrived, given the marks' frontier.
    pub fn known(frontier: &MutableAntichain<u64>, time: u64) -> bool {
        !frontier.less_equal(&time)
    }

    /// The largest timestamp of the epochs up to and including `time` (call once
    /// [`EventTime::known`]).
    pub fn at(&self, time: u64) -> Option<i64> {
        let pending = self.pending.range(..=time).map(|(_, mark)| *mark).max();
        self.settled.max(pending)
    }

    /// Folds the marks of epochs before `time` away: no query will ask about them again.
    pub fn settle_before(&mut self, time: u64) {
        let later = self.pending.split_off(&time);
        let done = std::mem::replace(&mut self.pending, later);
        self.settled = self.settled.max(done.into_values().max());
    }
}

/// The first bucket that is not expired, as a collection of one record `((), bucket)` that
/// changes whenever the cutoff crosses into a new bucket. Produced on worker 0 only (every
/// worker receives the same marks).
pub fn horizon_bucket<'scope>(
    marks: StreamVec<'scope, u64, i64>,
    horizon: Horizon,
) -> VecCollection<'scope, u64, ((), i64), isize> {
    let emits = marks.scope().index() == 0;
    marks
        .unary_frontier(Pipeline, "HorizonBucket", move |_, _| {
            let mut event_time = EventTime::default();
            let mut stash: BTreeMap<u64, Capability<u64>> = BTreeMap::new();
            let mut current: Option<i64> = None;
            move |(input, frontier), output| {
                input.for_each(|cap, data| {
                    let Some(time) = cap.least().copied() else { return };
                    for mark in data.drain(..) {
                        event_time.absorb(time, mark);
                    }
                    if emits {
                        stash.entry(time).or_insert_with(|| cap.delayed(&time, 0));
                    }
                });
                while let Some(entry) = stash.first_entry() {
                    let time = *entry.key();
                    if !EventTime::known(frontier, time) {
                        break;
                    }
                    let cap = entry.remove();
                    let bucket = event_time.at(time).map(|mark| horizon.bucket(mark - horizon.width_ms));
                    if bucket > current {
                        let mut session = output.session(&cap);
                        if let Some(old) = current {
                            session.give((((), old), time, -1));
                        }
                        if let Some(new) = bucket {
                            session.give((((), new), time, 1));
                        }
                        current = bucket;
                    }
                    event_time.settle_before(time);
                }
                if !emits {
                    // Only worker 0 reports; the others fold what they receive.
                    if let Some(first) = frontier.frontier().first() {
                        event_time.settle_before(*first);
                    }
                }
            }
        })
        .as_collection()
}

/// Updates of one epoch waiting for its cutoff, with the capability to send their outcome.
type Waiting<D> = (Capability<u64>, Vec<(D, isize)>);

/// Applies `logic` to every update of `rows` with the cutoff of its epoch (the largest
/// timestamp read up to that epoch minus the horizon; `None` before any): updates wait until
/// every mark of their epoch has arrived, so the outcome does not depend on which worker read
/// what first.
pub fn with_cutoff<'scope, D, D2>(
    rows: StreamVec<'scope, u64, (D, u64, isize)>,
    marks: StreamVec<'scope, u64, i64>,
    horizon: Horizon,
    name: &str,
    mut logic: impl FnMut(Option<i64>, D) -> Option<D2> + 'static,
) -> VecCollection<'scope, u64, D2>
where
    D: differential_dataflow::Data,
    D2: differential_dataflow::Data,
{
    rows.binary_frontier(marks, Pipeline, Pipeline, name, move |_, _| {
        let mut event_time = EventTime::default();
        let mut stash: BTreeMap<u64, Waiting<D>> = BTreeMap::new();
        move |(rows, rows_frontier), (marks, marks_frontier), output| {
            marks.for_each(|cap, data| {
                if let Some(time) = cap.least() {
                    for mark in data.drain(..) {
                        event_time.absorb(*time, mark);
                    }
                }
            });
            rows.for_each(|cap, data| {
                for (row, time, diff) in data.drain(..) {
                    let entry = stash.entry(time).or_insert_with(|| (cap.delayed(&time, 0), Vec::new()));
                    entry.1.push((row, diff));
                }
            });
            while let Some(entry) = stash.first_entry() {
                let time = *entry.key();
                if !EventTime::known(marks_frontier, time) {
                    break;
                }
                let (cap, batch) = entry.remove();
                let cutoff = event_time.at(time).map(|mark| mark - horizon.width_ms);
                let mut session = output.session(&cap);
                for (row, diff) in batch {
                    if let Some(out) = logic(cutoff, row) {
                        session.give((out, time, diff));
                    }
                }
            }
            // Marks of epochs before both the input's frontier and the stash are folded away.
            let low = rows_frontier.frontier().first().copied().unwrap_or(u64::MAX);
            let low = stash.keys().next().copied().map_or(low, |first| first.min(low));
            event_time.settle_before(low);
        }
    })
    .as_collection()
}
