//! Issue 5: fraud features and scores in the dataflow, against the reference computed from
//! scratch, at every epoch, with late rows and retractions (`run` on a real broker against
//! `batch`: `fraud_stream.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use trustflow::dataflow::quality::QualityRow;
use trustflow::dataflow::quality::graph::{frames_and_features, quality_scored};
use trustflow::fraud::features::{self, Features, MINUTE_MS};
use trustflow::fraud::inputs::{INPUTS, vector};
use trustflow::fraud::model::Model;
use trustflow::fraud::score::{FraudScore, Scorer};
use trustflow::record::Transaction;

use crate::graph_support::{Graph, run};

const NOW_MS: i64 = 1_767_225_600_000;

type Update = (Transaction, u64, isize);

/// Random updates for features: few users, times in steps of 20 s over two days (so that the
/// 1-minute, 1-hour and 24-hour windows all see rows come and go), ties, copies, nulls, and
/// retractions at a later epoch; arrival order unrelated to event time.
fn random_updates(seed: u64, count: usize, epochs: u64) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut updates: Vec<Update> = Vec::new();
    for i in 0..count {
        let row = if i > 0 && rng.random_bool(0.05) {
            // A copy of an earlier row: identical payload.
            updates[rng.random_range(0..updates.len())].0.clone()
        } else {
            let step: i64 = if rng.random_bool(0.5) { 3 } else { 8_640 };
            Transaction {
                origin: None,
                timestamp: (!rng.random_bool(0.04)).then(|| NOW_MS - rng.random_range(0..step) * 20_000),
                transaction_id: Some(format!("t{}", rng.random_range(0..count as u64 * 2))),
                amount: match rng.random_range(0..12) {
                    0 => None,
                    1 => Some(Decimal::new(-rng.random_range(0..500), 2)),
                    _ => Some(Decimal::new(rng.random_range(1..200_000), 2)),
                },
                currency: [Some("USD"), Some("EUR"), Some("GBP"), Some(""), None][rng.random_range(0..5)]
                    .map(str::to_owned),
                metadata: None,
                user_id: [Some("u1"), Some("u2"), Some("u3"), Some(""), None][rng.random_range(0..5)]
                    .map(str::to_owned),
            }
        };
        let epoch = rng.random_range(0..epochs);
        updates.push((row.clone(), epoch, 1));
        if rng.random_bool(0.15) {
            updates.push((row, rng.random_range(epoch..epochs), -1));
        }
    }
    updates
}

/// The rows alive after `epoch` (inserts minus retractions), as a list with copies.
fn accumulated(updates: &[Update], epoch: u64) -> Vec<Transaction> {
    let mut counts: BTreeMap<&Transaction, isize> = BTreeMap::new();
    for (row, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
        *counts.entry(row).or_default() += diff;
    }
    counts.into_iter().flat_map(|(row, n)| std::iter::repeat_n(row.clone(), n.max(0) as usize)).collect()
}

/// The incremental features alone.
struct FeatureGraph;

impl Graph<(Transaction, Features)> for FeatureGraph {
    fn build<'s>(
        &self,
        rows: VecCollection<'s, u64, Transaction>,
    ) -> VecCollection<'s, u64, (Transaction, Features)> {
        frames_and_features(rows).map(|(row, _avg, features)| (row, features))
    }
}

/// The quality graph with scores.
struct ScoredGraph(Arc<Scorer>);

impl Graph<QualityRow> for ScoredGraph {
    fn build<'s>(&self, rows: VecCollection<'s, u64, Transaction>) -> VecCollection<'s, u64, QualityRow> {
        quality_scored(rows, NOW_MS, self.0.clone())
    }
}

/// The output accumulated through `epoch`, as a multiset (zero counts removed).
fn through<D: Ord + Clone>(changes: &[(D, u64, isize)], epoch: u64) -> BTreeMap<D, isize> {
    let mut out: BTreeMap<D, isize> = BTreeMap::new();
    for (d, _, diff) in changes.iter().filter(|(_, t, _)| *t <= epoch) {
        *out.entry(d.clone()).or_default() += diff;
    }
    out.retain(|_, n| *n != 0);
    out
}

/// Whole cents of an amount (2 decimals, half away from zero).
fn cents(amount: Decimal) -> i128 {
    let rounded = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    rounded.mantissa() * 10i128.pow(2 - rounded.scale())
}

/// The features of `rows` written plainly from `docs/fraud-features.md`, quadratic, sharing
/// no code with the library: per row, its history is filtered out of the user's sorted rows
/// and every feature computed from it directly.
fn plain_features(rows: &[Transaction]) -> BTreeMap<(Transaction, Features), isize> {
    let mut out = BTreeMap::new();
    let mut users: BTreeMap<Option<&str>, Vec<&Transaction>> = BTreeMap::new();
    for row in rows {
        if row.timestamp.is_none() {
            let f = Features { amount: row.amount.map(|a| cents(a) as f64 / 100.0), ..Features::default() };
            *out.entry((row.clone(), f)).or_default() += 1;
        } else {
            users.entry(row.user_id.as_deref()).or_default().push(row);
        }
    }
    for sorted in users.values_mut() {
        sorted.sort();
        for (k, row) in sorted.iter().enumerate() {
            let history = &sorted[..k];
            let t = row.timestamp.unwrap();
            let x = row.amount.map(cents);
            let amounts: Vec<i128> = history.iter().filter_map(|r| r.amount.map(cents)).collect();
            let mut f = Features {
                amount: x.map(|c| c as f64 / 100.0),
                prior_count: Some(k as u64),
                hour: Some(t.div_euclid(3_600_000).rem_euclid(24) as u8),
                // No user events in these graphs: no login in any window
                // (`tests/it/fraud_logins.rs` tests the login features).
                logins_30m: Some(0),
                ..Features::default()
            };
            for (w, width) in [60_000i64, 3_600_000, 86_400_000].into_iter().enumerate() {
                let inside: Vec<&&Transaction> =
                    history.iter().filter(|r| r.timestamp.unwrap() > t - width).collect();
                f.count[w] = Some(inside.len() as u64);
                f.sum[w] =
                    Some(inside.iter().filter_map(|r| r.amount.map(cents)).sum::<i128>() as f64 / 100.0);
            }
            let n = amounts.len() as i128;
            let (s1, s2) = (amounts.iter().sum::<i128>(), amounts.iter().map(|a| a * a).sum::<i128>());
            f.zscore = x
                .filter(|_| n >= 2 && n * s2 - s1 * s1 > 0)
                .map(|x| (n * x - s1) as f64 / ((n * s2 - s1 * s1) as f64).sqrt());
            let last: Vec<i128> =
                history[k.saturating_sub(6)..].iter().filter_map(|r| r.amount.map(cents)).collect();
            let last_sum: i128 = last.iter().sum();
            f.ratio_last6 = x
                .filter(|_| !last.is_empty() && last_sum > 0)
                .map(|x| (x * last.len() as i128) as f64 / last_sum as f64);
            let currency = row.currency.as_deref().filter(|c| !c.is_empty());
            f.new_currency =
                currency.filter(|_| k > 0).map(|c| history.iter().all(|r| r.currency.as_deref() != Some(c)));
            f.since_previous_s = history.last().map(|p| (t - p.timestamp.unwrap()) as f64 / 1000.0);
            *out.entry(((*row).clone(), f)).or_default() += 1;
        }
    }
    out
}

/// The library's reference features of `rows` as a multiset of (row, features).
fn reference_features(rows: &[Transaction]) -> BTreeMap<(Transaction, Features), isize> {
    let mut out = BTreeMap::new();
    for (row, f) in rows.iter().zip(features::compute(rows, &[])) {
        *out.entry((row.clone(), f)).or_default() += 1;
    }
    out
}

/// Issue 5: the incremental features (one reduce per user) equal a plain computation from
/// scratch over the rows accumulated to every epoch, retractions and late rows included, on 1
/// and 2 workers (and so does the library's reference, `features::compute`).
#[test]
fn issue_5_incremental_features_equal_the_reference_at_every_epoch() {
    for workers in [1, 2] {
        for seed in 0..6 {
            let epochs = 6;
            let updates = random_updates(seed, 300, epochs);
            let changes = run(&updates, epochs, workers, FeatureGraph);
            for epoch in 0..epochs {
                let rows = accumulated(&updates, epoch);
                let expected = plain_features(&rows);
                assert_eq!(reference_features(&rows), expected, "the library's reference, seed {seed}");
                let actual = through(&changes, epoch);
                assert_eq!(actual, expected, "seed {seed}, epoch {epoch}, {workers} worker(s)");
            }
        }
    }
}

/// A small logistic model fitted on synthetic inputs where large amounts and bursts are fraud:
/// any change of a row's features changes its score.
fn small_model() -> Arc<Scorer> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut rows: Vec<[f64; INPUTS]> = Vec::new();
    let mut fraud = Vec::new();
    for _ in 0..2_000 {
        let f = Features {
            amount: Some(rng.random_range(1.0..5_000.0)),
            prior_count: Some(rng.random_range(0..50)),
            count: [
                Some(rng.random_range(0..5)),
                Some(rng.random_range(0..20)),
                Some(rng.random_range(0..50)),
            ],
            sum: [
                Some(rng.random_range(0.0..500.0)),
                Some(rng.random_range(0.0..5e3)),
                Some(rng.random_range(0.0..5e4)),
            ],
            zscore: Some(rng.random_range(-2.0..10.0)),
            ratio_last6: Some(rng.random_range(0.1..20.0)),
            new_currency: Some(rng.random_bool(0.1)),
            since_previous_s: Some(rng.random_range(0.0..86_400.0)),
            hour: Some(rng.random_range(0..24)),
            ..Features::default()
        };
        let x = vector(&f);
        fraud.push(x[0] + x[2] + x[8] * 0.5 > 9.0);
        rows.push(x);
    }
    let model = Model::fit_logistic(&rows, &fraud, 0.1).unwrap();
    Scorer::from_model(model, 1, "test").unwrap()
}

/// The reference scores of `rows`: reference features scored one by one.
fn reference_scores(rows: &[Transaction], scorer: &Scorer) -> BTreeMap<(Transaction, FraudScore), isize> {
    let mut out = BTreeMap::new();
    for (row, f) in rows.iter().zip(features::compute(rows, &[])) {
        *out.entry((row.clone(), scorer.score_one(&f).unwrap())).or_default() += 1;
    }
    out
}

fn scores_of(rows: BTreeMap<QualityRow, isize>) -> BTreeMap<(Transaction, FraudScore), isize> {
    let mut out = BTreeMap::new();
    for (row, n) in rows {
        *out.entry((row.record, row.fraud.expect("every row scored"))).or_default() += n;
    }
    out
}

/// Issue 5: the scores of the streaming graph, at every epoch, equal the model applied to the
/// reference features of the rows accumulated so far (same bits), on 2 workers.
#[test]
fn issue_5_streaming_scores_equal_scores_of_reference_features() {
    let scorer = small_model();
    for seed in 10..14 {
        let epochs = 5;
        let updates = random_updates(seed, 250, epochs);
        let changes = run(&updates, epochs, 2, ScoredGraph(scorer.clone()));
        for epoch in 0..epochs {
            let expected = reference_scores(&accumulated(&updates, epoch), &scorer);
            assert_eq!(scores_of(through(&changes, epoch)), expected, "seed {seed}, epoch {epoch}");
        }
    }
}

/// Issue 5: a late row that changes the features of its user's later rows changes their scores:
/// the epoch of the late row retracts the old scored rows and inserts the new ones.
#[test]
fn issue_5_a_late_event_changes_the_scores_of_later_rows() {
    let scorer = small_model();
    let row = |id: &str, ts: i64, cents: i64| Transaction {
        origin: None,
        timestamp: Some(ts),
        transaction_id: Some(id.to_owned()),
        amount: Some(Decimal::new(cents, 2)),
        currency: Some("USD".to_owned()),
        metadata: None,
        user_id: Some("u".to_owned()),
    };
    let t0 = NOW_MS - 3_600_000;
    let mut updates: Vec<Update> =
        (0..4).map(|k| (row(&format!("on-time-{k}"), t0 + k * 10_000, 2_500), 0, 1)).collect();
    // Late: 5 s before the first row, a large amount: it enters every later row's windows,
    // running statistics and last 6.
    let late = row("late", t0 - 5_000, 900_000);
    updates.push((late.clone(), 1, 1));
    let changes = run(&updates, 2, 1, ScoredGraph(scorer.clone()));
    let in_epoch_1: Vec<&(QualityRow, u64, isize)> = changes.iter().filter(|(_, t, _)| *t == 1).collect();
    for k in 0..4 {
        let id = format!("on-time-{k}");
        let of = |diff: isize| {
            in_epoch_1
                .iter()
                .filter(|(r, _, d)| *d == diff && r.record.transaction_id.as_deref() == Some(&id))
                .map(|(r, _, _)| r.fraud.unwrap().score.0)
                .collect::<Vec<_>>()
        };
        let (retracted, inserted) = (of(-1), of(1));
        assert_eq!((retracted.len(), inserted.len()), (1, 1), "{id}: one retraction and one new row");
        assert_ne!(retracted[0].to_bits(), inserted[0].to_bits(), "{id}: the score changed");
    }
    let late_rows = in_epoch_1.iter().filter(|(r, _, _)| r.record == late).count();
    assert_eq!(late_rows, 1, "the late row itself is scored once");
    let all = accumulated(&updates, 1);
    assert_eq!(scores_of(through(&changes, 1)), reference_scores(&all, &scorer));
    // The windows moved: the first on-time row now has the late row 5 s before it.
    let first = features::compute(&all, &[])
        .into_iter()
        .zip(&all)
        .find(|(_, r)| r.transaction_id.as_deref() == Some("on-time-0"));
    assert_eq!(first.unwrap().0.count[0], Some(1), "the late row is in its 1-minute window ({MINUTE_MS} ms)");
}
