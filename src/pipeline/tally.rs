//! Each worker's counts, gathered at worker 0 so that the committing process sums the cluster.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;

use super::summary::RunSummary;

/// What one worker read (or, added up, several workers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Workers counted.
    pub workers: usize,
    /// Kafka records read.
    pub events: u64,
    /// Decoded transactions fed to the graph at new epochs or replayed ones.
    pub transactions: u64,
    /// Decoded user events fed to the graph.
    pub user_events: u64,
    /// Records fed at already committed epochs, to rebuild the state.
    pub replayed: u64,
    /// Records of committed epochs read again but not fed: the state no longer needed them.
    pub skipped: u64,
    /// Records rejected at new epochs, by reason (replayed ones were counted by the run that
    /// read them).
    pub dead_lettered: BTreeMap<String, u64>,
}

impl Tally {
    /// A worker's empty tally.
    pub fn worker() -> Tally {
        Tally { workers: 1, ..Tally::default() }
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Tally) {
        self.workers += other.workers;
        self.events += other.events;
        self.transactions += other.transactions;
        self.user_events += other.user_events;
        self.replayed += other.replayed;
        self.skipped += other.skipped;
        for (reason, count) in &other.dead_lettered {
            *self.dead_lettered.entry(reason.clone()).or_default() += count;
        }
    }

    /// Adds these counts to a summary's.
    pub fn count_into(&self, summary: &mut RunSummary) {
        summary.workers += self.workers;
        summary.events_in += self.events;
        summary.transactions += self.transactions;
        summary.user_events += self.user_events;
        summary.replayed_events += self.replayed;
        summary.skipped_events += self.skipped;
        for (reason, count) in &self.dead_lettered {
            *summary.dead_lettered.entry(reason.clone()).or_default() += count;
        }
    }
}

/// The tallies worker 0 has received, and whether every worker has sent its own.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The sum of the tallies received.
    pub sum: Tally,
    /// Every worker's tally input is closed: `sum` is the cluster's.
    pub complete: bool,
}

/// Sends every tally of `tallies` to worker 0, which adds them up in `gathered` (the other
/// workers' `gathered` only learns when all are in).
pub fn gather<'scope>(tallies: StreamVec<'scope, u64, Tally>, gathered: Rc<RefCell<Gathered>>) {
    tallies.sink(Exchange::new(|_: &Tally| 0), "GatherTallies", move |(input, frontier)| {
        let mut gathered = gathered.borrow_mut();
        input.for_each(|_, data| {
            for tally in data.drain(..) {
                gathered.sum.add(&tally);
            }
        });
        gathered.complete = frontier.frontier().is_empty();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_into_a_summary() {
        let mut one = Tally::worker();
        one.events = 10;
        one.transactions = 8;
        one.dead_lettered.insert("bad_magic_byte".into(), 2);
        let mut two = Tally::worker();
        two.events = 5;
        two.user_events = 3;
        two.replayed = 4;
        two.skipped = 1;
        two.dead_lettered.insert("bad_magic_byte".into(), 1);
        two.dead_lettered.insert("invalid_avro_body".into(), 1);
        let mut sum = Tally::default();
        sum.add(&one);
        sum.add(&two);
        let mut summary = RunSummary::default();
        sum.count_into(&mut summary);
        assert_eq!((summary.workers, summary.events_in, summary.transactions), (2, 15, 8));
        assert_eq!((summary.user_events, summary.replayed_events, summary.skipped_events), (3, 4, 1));
        assert_eq!(summary.dead_letter_total(), 4);
        assert_eq!(summary.dead_lettered["bad_magic_byte"], 3);
    }

    /// Two workers each send their tally; worker 0 alone holds the sum, once both are in.
    #[test]
    fn worker_0_gathers_every_workers_tally() {
        use timely::dataflow::operators::vec::Input;
        let results = timely::execute(timely::Config::process(2), |worker| {
            let gathered = Rc::new(RefCell::new(Gathered::default()));
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, tallies) = scope.new_input::<Tally>();
                gather(tallies, gathered.clone());
                input
            });
            let mut tally = Tally::worker();
            tally.events = 10 * (worker.index() as u64 + 1);
            tally.dead_lettered.insert(format!("reason-{}", worker.index()), 1);
            input.send(tally);
            drop(input);
            while !gathered.borrow().complete {
                worker.step();
            }
            (worker.index(), gathered.take().sum)
        })
        .unwrap()
        .join();
        let mut sums: Vec<(usize, Tally)> = results.into_iter().map(Result::unwrap).collect();
        sums.sort_by_key(|(index, _)| *index);
        let expected = Tally {
            workers: 2,
            events: 30,
            dead_lettered: [("reason-0".to_owned(), 1), ("reason-1".to_owned(), 1)].into(),
            ..Tally::default()
        };
        assert_eq!(sums, vec![(0, expected), (1, Tally::default())]);
    }
}
