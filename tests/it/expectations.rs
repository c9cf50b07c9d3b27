//! Expectation routing against a direct filter, after late verdict changes and retractions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::input::Input;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use timely::dataflow::operators::capture::{Capture, Extract};

use trustflow::dataflow::expectations::{Action, Expectation, Rule, route};
use trustflow::dataflow::quality::QualityRow;
use trustflow::dataflow::quality::rules::verdict;
use trustflow::record::Transaction;

const NOW_MS: i64 = 1_700_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Out {
    Kept(QualityRow),
    Quarantined(QualityRow, Vec<String>),
    Dropped(QualityRow),
    Fatal(QualityRow, String),
    Outcome(String, bool, isize),
}

fn expectations() -> Vec<Expectation> {
    let e = |name: &str, column: &str, rule, action| Expectation {
        name: name.into(),
        column: column.into(),
        rule,
        action,
    };
    vec![
        e("amount_positive", "amount", Rule::PositiveNumber, Action::Drop),
        e("currency_iso", "currency", Rule::Iso4217Code, Action::Quarantine),
        e("recent", "timestamp", Rule::Within24Hours, Action::Warn),
        e("has_user", "userId", Rule::NotNull, Action::Fail),
    ]
}

/// Issue 3: what routing keeps, quarantines, drops, fails and counts equals filtering the
/// final rows directly.
#[test]
fn issue_3_expectation_routing_matches_direct_filtering() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut updates = Vec::new();
    for i in 0..400 {
        let record = Transaction {
            origin: None,
            timestamp: Some(NOW_MS - rng.random_range(0..2 * 86_400_000)),
            transaction_id: Some(format!("t{i}")),
            amount: Some(Decimal::new(rng.random_range(-100..1_000), 2)),
            currency: Some(["USD", "EUR", "XYZ", "usd"][rng.random_range(0..4)].to_owned()),
            metadata: None,
            user_id: rng.random_bool(0.95).then(|| "u".to_owned()),
        };
        let row = verdict(record, None, true, NOW_MS);
        let epoch = rng.random_range(0..4u64);
        updates.push((row.clone(), epoch, 1isize));
        if rng.random_bool(0.3) {
            updates.push((row, rng.random_range(epoch..4), -1));
        }
    }
    let (send, recv) = mpsc::channel();
    let send = Arc::new(Mutex::new(send));
    let mut feed = updates.clone();
    feed.sort_by_key(|(_, epoch, _)| *epoch);
    timely::execute_directly(move |worker| {
        let send = send.lock().unwrap().clone();
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<QualityRow, isize>();
            let routed = route(rows, &expectations());
            routed
                .kept
                .map(Out::Kept)
                .concat(routed.quarantined.map(|(r, f)| Out::Quarantined(r, f)))
                .concat(routed.dropped.map(Out::Dropped))
                .concat(routed.fatal.map(|(r, n)| Out::Fatal(r, n)))
                .concat(routed.outcomes.map(|((n, p), c)| Out::Outcome(n, p, c)))
                .inner
                .capture_into(send);
            input
        });
        for (row, epoch, diff) in feed {
            input.advance_to(epoch);
            input.update(row, diff);
        }
    });
    let mut actual: BTreeMap<Out, isize> = BTreeMap::new();
    for (out, _, diff) in recv.extract().into_iter().flat_map(|(_, b)| b) {
        *actual.entry(out).or_default() += diff;
    }
    actual.retain(|_, n| *n != 0);

    let mut present: BTreeMap<QualityRow, isize> = BTreeMap::new();
    for (row, _, diff) in &updates {
        *present.entry(row.clone()).or_default() += diff;
    }
    let mut expected: BTreeMap<Out, isize> = BTreeMap::new();
    let mut outcomes: BTreeMap<(String, bool), isize> = BTreeMap::new();
    let all = expectations();
    for (row, n) in present.into_iter().filter(|(_, n)| *n > 0) {
        let failed: Vec<&Expectation> = all.iter().filter(|e| !e.passes(&row)).collect();
        let fails = |a: Action| failed.iter().any(|e| e.action == a);
        let out = if fails(Action::Quarantine) {
            Out::Quarantined(row.clone(), failed.iter().map(|e| e.name.clone()).collect())
        } else if fails(Action::Drop) {
            Out::Dropped(row.clone())
        } else {
            Out::Kept(row.clone())
        };
        *expected.entry(out).or_default() += n;
        if let Some(e) = failed.iter().find(|e| e.action == Action::Fail) {
            *expected.entry(Out::Fatal(row.clone(), e.name.clone())).or_default() += n;
        }
        for e in &all {
            *outcomes.entry((e.name.clone(), e.passes(&row))).or_default() += n;
        }
    }
    for ((name, passed), count) in outcomes {
        expected.insert(Out::Outcome(name, passed, count), 1);
    }
    assert_eq!(actual, expected);
}
