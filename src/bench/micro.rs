//! Code of the graph micro-benchmarks (`benches/`): one stage of the quality graph over
//! generated rows, split into epochs, on one worker, with no Kafka and no sink.

use std::cell::Cell;
use std::rc::Rc;

use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle;

use crate::dataflow::quality::graph::{duplicated, frames};
use crate::dataflow::quality::quality;
use crate::generate::{Event, Generator, GeneratorConfig};
use crate::record::Transaction;

/// Which part of the quality graph to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Duplicate detection: the count per transactionId, mapped to "more than once".
    Uniqueness,
    /// Consistency: the reduce per userId that walks each user's rows in event-time order.
    Consistency,
    /// The whole graph (both, the join, the verdicts).
    Full,
}

/// `count` generated transactions (no garbage) over `users` users, the generator's skew
/// (a few users produce most rows) and its duplicates included.
pub fn transactions(count: usize, users: u32) -> Vec<Transaction> {
    Generator::new(GeneratorConfig { garbage_rate: 0.0, users, ..GeneratorConfig::default() })
        .filter_map(|e| match e {
            Event::Transaction(row, _) => Some(row),
            Event::Garbage(_) => None,
        })
        .take(count)
        .collect()
}

/// Runs `stage` over `rows` fed in `epochs` equal epochs (each closed and computed before
/// the next is fed, as the pipeline does), on one worker. Returns the output changes.
pub fn run_stage(rows: &[Transaction], epochs: usize, stage: Stage) -> usize {
    let rows = rows.to_vec();
    let epochs = epochs.max(1);
    timely::execute_directly(move |worker| {
        let probe = Handle::new();
        let changes = Rc::new(Cell::new(0usize));
        let counter = changes.clone();
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            let count = move |n: &usize| counter.set(counter.get() + n);
            match stage {
                Stage::Uniqueness => {
                    duplicated(transactions).inspect(move |_| count(&1)).probe_with(&probe);
                }
                Stage::Consistency => {
                    frames(transactions).inspect(move |_| count(&1)).probe_with(&probe);
                }
                Stage::Full => {
                    quality(transactions, GeneratorConfig::default().now_ms)
                        .inspect(move |_| count(&1))
                        .probe_with(&probe);
                }
            }
            input
        });
        let per_epoch = rows.len().div_ceil(epochs).max(1);
        for (epoch, chunk) in rows.chunks(per_epoch).enumerate() {
            for row in chunk {
                input.insert(row.clone());
            }
            let next = epoch as u64 + 1;
            input.advance_to(next);
            input.flush();
            worker.step_while(|| probe.less_than(&next));
        }
        changes.get()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_emits_for_every_row() {
        let rows = transactions(500, 20);
        assert_eq!(rows.len(), 500);
        // The consistency frames and the verdicts: one row per input row, at least.
        for stage in [Stage::Consistency, Stage::Full] {
            assert!(run_stage(&rows, 5, stage) >= 500, "{stage:?}");
        }
        let ids: std::collections::BTreeSet<_> =
            rows.iter().filter_map(|r| r.transaction_id.clone()).collect();
        assert!(run_stage(&rows, 1, Stage::Uniqueness) == ids.len(), "one flag per id in one epoch");
    }
}
