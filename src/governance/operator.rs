//! The classification as a differential operator, kept current under retractions.

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use timely::progress::Timestamp;

use std::sync::Arc;

use super::classify::{Classification, classify_record};
use super::govern::Governor;
use super::pii::Recognizers;
use crate::dataflow::horizon::LateEvent;
use crate::dataflow::quality::QualityRow;
use crate::record::Transaction;

/// Each transaction paired with its [`Classification`] (findings included), one output row
/// per input row (copies included). Classification reads only the record itself (dates of
/// birth are judged against its own timestamp), so this is a stateless `map`: a retraction
/// retracts exactly the row it once produced. Key it downstream as needed, e.g. by
/// transactionId with `.map(|(row, class)| (row.transaction_id.clone(), class))`.
///
/// `recognizers` is moved into the operator: build it once per worker.
pub fn classified<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    recognizers: Recognizers,
) -> VecCollection<'scope, T, (Transaction, Classification)>
where
    T: Timestamp + Lattice + Ord,
{
    tracing::debug!(threshold = %recognizers.threshold(), "governance classification operator");
    transactions.map(move |row| {
        let classification = classify_record(&recognizers, &row);
        (row, classification)
    })
}

/// Each verdict as the sinks write it: its record protected by `governor`'s policy and its
/// [`Label`](super::Label) set. A `map` of the row alone, deterministic for a policy and key:
/// a retraction retracts exactly the row once written. The verdicts themselves were computed
/// on the clear values (uniqueness, consistency and the fraud features see the real data).
pub fn governed<'scope, T>(
    verdicts: VecCollection<'scope, T, QualityRow>,
    governor: Arc<Governor>,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    verdicts.map(move |mut row| {
        let (record, label) = governor.govern(row.record);
        row.record = record;
        row.governance = Some(label);
        row
    })
}

/// Each late event with its record protected by `governor`'s policy, as the late-events table
/// writes it.
pub fn governed_late<'scope, T>(
    late: VecCollection<'scope, T, LateEvent>,
    governor: Arc<Governor>,
) -> VecCollection<'scope, T, LateEvent>
where
    T: Timestamp + Lattice + Ord,
{
    late.map(move |mut event| {
        event.row = governor.govern(event.row).0;
        event
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex, mpsc};

    use differential_dataflow::input::Input;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use timely::dataflow::operators::capture::{Capture, Extract};

    use super::*;
    use crate::generate::{Event, Generator, GeneratorConfig};

    type Multiset<D> = BTreeMap<D, isize>;

    fn accumulate<D: Ord + Clone>(updates: &[(D, u64, isize)], upto: u64) -> Multiset<D> {
        let mut out = Multiset::new();
        for (data, _, diff) in updates.iter().filter(|(_, t, _)| *t <= upto) {
            *out.entry(data.clone()).or_insert(0) += diff;
        }
        out.retain(|_, diff| *diff != 0);
        out
    }

    /// The operator's output, at every epoch, equals the plain function applied to each
    /// record of the input at that epoch, with rows inserted and retracted over 5 epochs.
    #[test]
    fn operator_equals_the_plain_function_at_every_epoch() {
        let config =
            GeneratorConfig { seed: 7, pii_rate: 0.3, garbage_rate: 0.0, ..GeneratorConfig::default() };
        let rows: Vec<Transaction> = Generator::new(config)
            .filter_map(|e| match e {
                Event::Transaction(row, _) => Some(row),
                Event::Garbage(_) => None,
            })
            .take(600)
            .collect();
        let mut rng = StdRng::seed_from_u64(7);
        let mut updates: Vec<(Transaction, u64, isize)> = Vec::new();
        for row in rows {
            let epoch = rng.random_range(0..5u64);
            updates.push((row.clone(), epoch, 1));
            if rng.random_bool(0.3) {
                updates.push((row, rng.random_range(epoch..5), -1));
            }
        }
        let (send, recv) = mpsc::channel();
        let send = Arc::new(Mutex::new(send));
        let mut feed = updates.clone();
        feed.sort_by_key(|(_, epoch, _)| *epoch);
        timely::execute_directly(move |worker| {
            let send = send.lock().unwrap().clone();
            let recognizers = Recognizers::new().unwrap();
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, rows) = scope.new_collection::<Transaction, isize>();
                classified(rows, recognizers).inner.capture_into(send);
                input
            });
            for (row, epoch, diff) in feed {
                input.advance_to(epoch);
                input.update(row, diff);
            }
        });
        let output: Vec<((Transaction, Classification), u64, isize)> =
            recv.extract().into_iter().flat_map(|(_, changes)| changes).collect();
        let recognizers = Recognizers::new().unwrap();
        let mut with_pii = 0;
        for epoch in 0..5 {
            let expected: Multiset<(Transaction, Classification)> = accumulate(&updates, epoch)
                .into_iter()
                .map(|(row, diff)| {
                    let class = classify_record(&recognizers, &row);
                    ((row, class), diff)
                })
                .collect();
            with_pii = expected.keys().filter(|(_, class)| class.pii).count();
            assert_eq!(accumulate(&output, epoch), expected, "epoch {epoch}");
        }
        assert!(with_pii > 50, "the test should see planted PII, saw {with_pii}");
    }
}
