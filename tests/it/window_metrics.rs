//! Window metrics against a from-scratch aggregation, at every epoch, with retractions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::input::Input;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use timely::dataflow::operators::capture::{Capture, Extract};

use trustflow::dataflow::quality::QualityRow;
use trustflow::dataflow::quality::rules::verdict;
use trustflow::dataflow::windows::{WindowMetrics, window_metrics, window_start};
use trustflow::fraud::score::{FraudScore, Score};
use trustflow::record::Transaction;

const NOW_MS: i64 = 1_700_000_000_000;
const WIDTH: i64 = 300_000;

fn random_rows(seed: u64, count: usize, epochs: u64) -> Vec<(QualityRow, u64, isize)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut updates = Vec::new();
    for i in 0..count {
        let record = Transaction {
            origin: None,
            timestamp: (!rng.random_bool(0.05)).then(|| NOW_MS - rng.random_range(0..4 * WIDTH)),
            transaction_id: Some(format!("t{i}")),
            amount: (!rng.random_bool(0.1)).then(|| Decimal::new(rng.random_range(-1_000..100_000), 2)),
            currency: Some(if rng.random_bool(0.9) { "USD" } else { "usd" }.to_owned()),
            metadata: None,
            user_id: (!rng.random_bool(0.1)).then(|| format!("u{}", rng.random_range(0..6))),
        };
        let mut row = verdict(record, None, rng.random_bool(0.9), NOW_MS);
        if rng.random_bool(0.7) {
            row.fraud = Some(FraudScore { score: Score(rng.random::<f64>()), model_version: 1 });
        }
        let epoch = rng.random_range(0..epochs);
        updates.push((row.clone(), epoch, 1));
        if rng.random_bool(0.25) {
            updates.push((row, rng.random_range(epoch..epochs), -1));
        }
    }
    updates
}

fn from_scratch(rows: &[QualityRow]) -> BTreeSet<WindowMetrics> {
    let mut by_window: BTreeMap<Option<i64>, Vec<&QualityRow>> = BTreeMap::new();
    for row in rows {
        by_window.entry(window_start(row.record.timestamp, WIDTH)).or_default().push(row);
    }
    by_window
        .into_iter()
        .map(|(start_ms, rows)| WindowMetrics {
            start_ms,
            records: rows.len() as i64,
            good: rows.iter().filter(|r| r.quality_score() >= 0.9).count() as i64,
            users: rows.iter().filter_map(|r| r.record.user_id.as_ref()).collect::<BTreeSet<_>>().len()
                as i64,
            value_cents: rows.iter().filter_map(|r| r.record.amount).map(|a| a.mantissa()).sum(),
            scored: rows.iter().filter(|r| r.fraud.is_some()).count() as i64,
            score_nanos: rows.iter().filter_map(|r| r.fraud).map(|f| (f.score.0 * 1e9).round() as i128).sum(),
        })
        .collect()
}

/// Issue 3: the dashboard's window metrics, accumulated to any epoch, equal an aggregation of
/// the rows accumulated to that epoch (late rows and retractions included), on 2 workers.
#[test]
fn issue_3_window_metrics_match_from_scratch() {
    for seed in 0..8 {
        let epochs = 5;
        let updates = random_rows(seed, 150, epochs);
        let (send, recv) = mpsc::channel();
        let send = Arc::new(Mutex::new(send));
        let input_updates = Arc::new(updates.clone());
        timely::execute(timely::Config::process(2), move |worker| {
            let send = send.lock().unwrap().clone();
            let (index, peers) = (worker.index(), worker.peers());
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, rows) = scope.new_collection::<QualityRow, isize>();
                window_metrics(rows, WIDTH).inner.capture_into(send);
                input
            });
            for epoch in 0..epochs {
                input.advance_to(epoch);
                for (_, (row, _, diff)) in input_updates
                    .iter()
                    .enumerate()
                    .filter(|(k, (_, t, _))| k % peers == index && *t == epoch)
                {
                    input.update(row.clone(), *diff);
                }
            }
        })
        .unwrap();
        let output: Vec<(WindowMetrics, u64, isize)> =
            recv.extract().into_iter().flat_map(|(_, b)| b).collect();
        for epoch in 0..epochs {
            let mut present: BTreeMap<&QualityRow, isize> = BTreeMap::new();
            for (row, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
                *present.entry(row).or_default() += diff;
            }
            let rows: Vec<QualityRow> = present
                .into_iter()
                .flat_map(|(row, n)| std::iter::repeat_n(row.clone(), n.max(0) as usize))
                .collect();
            let mut actual: BTreeMap<WindowMetrics, isize> = BTreeMap::new();
            for (m, _, diff) in output.iter().filter(|(_, t, _)| *t <= epoch) {
                *actual.entry(m.clone()).or_default() += diff;
            }
            actual.retain(|_, n| *n != 0);
            assert!(actual.values().all(|n| *n == 1), "seed {seed} epoch {epoch}: {actual:?}");
            let actual: BTreeSet<WindowMetrics> = actual.into_keys().collect();
            assert_eq!(actual, from_scratch(&rows), "seed {seed} epoch {epoch}");
        }
    }
}
