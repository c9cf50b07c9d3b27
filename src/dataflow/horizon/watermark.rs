//! Event time as every worker sees it: the largest timestamp read so far, and the cutoff.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::progress::frontier::MutableAntichain;

use serde::{Deserialize, Serialize};

use super::Horizon;
use crate::record::Transaction;

/// Progress of one source of rows (a Kafka partition; a whole collection counts as one):
/// the largest timestamp read from it in an epoch, and whether it has been read to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mark {
    /// Which source.
    pub source: i64,
    /// Its largest timestamp at or before "now" read in the epoch, if any.
    pub max_ts: Option<i64>,
    /// It has been read to its end (for now: a record arriving later makes it active again
    /// with its next mark). While it is, it does not hold event time back.
    pub finished: bool,
}

/// Marks derived from the rows themselves, all as one source: each worker's largest timestamp
/// per epoch. For tests and bounded inputs; the pipeline sends one source per partition.
///
/// Only timestamps at or before `now_ms` count: a row from the future is flagged INVALID and
/// must not drag event time ahead (one bad clock would otherwise put every later row beyond
/// the horizon). Retractions do not count: event time only moves forward.
pub fn marks_of<'scope>(
    rows: StreamVec<'scope, u64, (Transaction, u64, isize)>,
    now_ms: i64,
) -> StreamVec<'scope, u64, Mark> {
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
                    let mark = Mark { source: 0, max_ts: Some(max), finished: false };
                    output.session(&cap.delayed(&time, 0)).give(mark);
                }
            });
        }
    })
}

/// Every source's progress, folded epoch by epoch into event time: the smallest of the
/// largest timestamps of the sources still being read (so that a partition read more slowly
/// than the others does not find its rows beyond the horizon; a source that has reported
/// no timestamp yet holds event time where it is), or, once every source is read to its end,
/// the largest of them all. Event time never goes back.
#[derive(Clone, Debug, Default)]
struct Sources {
    /// Per source: its largest timestamp and whether it is finished.
    by_source: BTreeMap<i64, (Option<i64>, bool)>,
    /// Event time so far.
    mark: Option<i64>,
}

impl Sources {
    fn apply(&mut self, marks: &[Mark]) {
        for mark in marks {
            let entry = self.by_source.entry(mark.source).or_insert((None, false));
            entry.0 = entry.0.max(mark.max_ts);
            entry.1 = mark.finished;
        }
        let mut active = self.by_source.values().filter(|(_, finished)| !finished).map(|(ts, _)| *ts);
        let candidate = match active.next() {
            // Every source is finished: nothing older can come.
            None => self.by_source.values().filter_map(|(ts, _)| *ts).max(),
            // A source still being read without a timestamp yet holds event time back.
            Some(first) => active.fold(first, |min, ts| Some(min?.min(ts?))),
        };
        self.mark = self.mark.max(candidate);
    }
}

/// The marks received so far, by epoch, folded into event time.
#[derive(Debug, Default)]
pub struct EventTime {
    /// The sources as of the epochs folded away.
    settled: Sources,
    /// Marks of later epochs.
    pending: BTreeMap<u64, Vec<Mark>>,
}

impl EventTime {
    /// Takes one mark of epoch `time`.
    pub fn absorb(&mut self, time: u64, mark: Mark) {
        self.pending.entry(time).or_default().push(mark);
    }

    /// Whether every mark of the epochs before `time` has arrived, given the marks' frontier.
    pub fn known(frontier: &MutableAntichain<u64>, time: u64) -> bool {
        !frontier.less_than(&time)
    }

    /// Event time as of the start of epoch `time`, i.e. the end of the epochs before it (call
    /// once [`EventTime::known`]). Rows of an epoch are judged by what was read before it, so
    /// a large epoch (a backlog read in one go) does not put its own older rows behind.
    pub fn at(&self, time: u64) -> Option<i64> {
        let mut sources = self.settled.clone();
        for marks in self.pending.range(..time).map(|(_, marks)| marks) {
            sources.apply(marks);
        }
        sources.mark
    }

    /// Folds the marks of epochs before `time` away: queries are for `time` or later.
    pub fn settle_before(&mut self, time: u64) {
        let later = self.pending.split_off(&time);
        for marks in std::mem::replace(&mut self.pending, later).values() {
            self.settled.apply(marks);
        }
    }
}

/// The first bucket that is not expired, as a collection of one record `((), bucket)` that
/// changes whenever the cutoff crosses into a new bucket. Produced on worker 0 only (every
/// worker receives the same marks).
pub fn horizon_bucket<'scope>(
    marks: StreamVec<'scope, u64, Mark>,
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
                    // Marks of epoch `t` move the cutoff of epoch `t + 1`.
                    if emits {
                        let next = time + 1;
                        stash.entry(next).or_insert_with(|| cap.delayed(&next, 0));
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

/// Applies `logic` to every update of `rows` with the cutoff of its epoch (event time at the
/// start of the epoch minus the horizon; `None` before any timestamp was read): updates wait
/// until every mark of the epochs before theirs has arrived, so the outcome does not depend
/// on which worker read what first.
pub fn with_cutoff<'scope, D, D2>(
    rows: StreamVec<'scope, u64, (D, u64, isize)>,
    marks: StreamVec<'scope, u64, Mark>,
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
