//! The quality graph against a from-scratch recomputation, on seeded random input with
//! duplicates, ties, nulls, late rows and retractions, at every epoch, with 1 and 2 workers.

use std::collections::BTreeMap;

use differential_dataflow::VecCollection;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::graph_support::{Graph, run};

use trustflow::dataflow::quality::{QualityRow, quality};
use trustflow::record::Transaction;

const NOW_MS: i64 = 1_700_000_000_000;

type Update = (Transaction, u64, isize);

/// Random updates: inserts of small-domain rows (so ids, users and timestamps collide), some
/// retracted at a later epoch, all arriving out of event-time order.
fn random_updates(seed: u64, count: usize, epochs: u64) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    let pick = |rng: &mut StdRng, options: &[Option<&str>]| {
        options[rng.random_range(0..options.len())].map(str::to_owned)
    };
    let mut updates = Vec::new();
    for _ in 0..count {
        let amount = match rng.random_range(0..10) {
            0 => None,
            1 => Some(Decimal::new(rng.random_range(-500..=0), 2)),
            _ => Some(Decimal::new(rng.random_range(1..50_000), 2)),
        };
        let row = Transaction {
            origin: None,
            timestamp: (!rng.random_bool(0.05)).then(|| NOW_MS - rng.random_range(0..30) * 4_000_000),
            transaction_id: pick(
                &mut rng,
                &[Some("a"), Some("b"), Some("c"), Some("d"), Some("e"), Some(""), None],
            )
            .map(|id| {
                if id.is_empty() || rng.random_bool(0.3) {
                    id
                } else {
                    format!("{id}{}", rng.random_range(0..40))
                }
            }),
            amount,
            currency: pick(&mut rng, &[Some("USD"), Some("EUR"), Some("usd"), Some(""), None]),
            metadata: match rng.random_range(0..3) {
                0 => None,
                1 => Some(BTreeMap::new().into()),
                _ => Some(BTreeMap::from([("k".to_owned(), rng.random_range(0..2).to_string())]).into()),
            },
            user_id: pick(&mut rng, &[Some("u1"), Some("u2"), Some("u3"), Some(""), None]),
        };
        let epoch = rng.random_range(0..epochs);
        updates.push((row.clone(), epoch, 1));
        if rng.random_bool(0.2) {
            let later = rng.random_range(epoch..epochs);
            updates.push((row, later, -1));
        }
    }
    updates
}

/// Runs the graph on `workers` threads, each worker feeding its share of the updates epoch by
/// epoch, and returns every output update.
fn run_graph(updates: &[Update], epochs: u64, workers: usize) -> Vec<(QualityRow, u64, isize)> {
    run(updates, epochs, workers, Quality)
}

/// The quality graph, as a graph under test.
struct Quality;

impl Graph<QualityRow> for Quality {
    fn build<'s>(&self, rows: VecCollection<'s, u64, Transaction>) -> VecCollection<'s, u64, QualityRow> {
        quality(rows, NOW_MS)
    }
}

/// The reference verdicts, written plainly with decimals (no shared code with the graph).
fn from_scratch(rows: &[Transaction]) -> BTreeMap<QualityRow, i64> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for id in rows.iter().filter_map(|r| r.transaction_id.clone()) {
        *ids.entry(id).or_default() += 1;
    }
    from_scratch_with_ids(rows, &ids)
}

/// The reference verdicts of `rows`, where `ids` counts the copies of each transactionId.
pub fn from_scratch_with_ids(
    rows: &[Transaction],
    ids: &BTreeMap<String, usize>,
) -> BTreeMap<QualityRow, i64> {
    let mut users: BTreeMap<Option<&str>, Vec<&Transaction>> = BTreeMap::new();
    for row in rows {
        users.entry(row.user_id.as_deref()).or_default().push(row);
    }
    let complete = |s: &Option<String>| matches!(s, Some(s) if !s.is_empty());
    let mut out = BTreeMap::new();
    for user_rows in users.values_mut() {
        user_rows.sort_by(|a, b| {
            (&a.timestamp, &a.transaction_id, &a.amount, &a.currency, &a.metadata).cmp(&(
                &b.timestamp,
                &b.transaction_id,
                &b.amount,
                &b.currency,
                &b.metadata,
            ))
        });
        for (i, row) in user_rows.iter().enumerate() {
            let frame: Vec<Decimal> =
                user_rows[i.saturating_sub(5)..=i].iter().filter_map(|r| r.amount).collect();
            let avg = (!frame.is_empty()).then(|| {
                (frame.iter().sum::<Decimal>() / Decimal::from(frame.len()))
                    .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
            });
            let inconsistent = match (row.amount, avg) {
                (Some(a), Some(avg)) if avg > Decimal::ZERO => (a - avg).abs() / avg > Decimal::new(5, 1),
                _ => false,
            };
            let now_s = NOW_MS / 1000;
            let verdict = QualityRow {
                record: (*row).clone(),
                transaction_id_complete: complete(&row.transaction_id),
                user_id_complete: complete(&row.user_id),
                amount_complete: row.amount.is_some(),
                currency_complete: complete(&row.currency),
                timestamp_complete: row.timestamp.is_some(),
                amount_valid: row.amount.is_some_and(|a| a > Decimal::ZERO),
                currency_valid: row
                    .currency
                    .as_deref()
                    .is_some_and(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())),
                timestamp_valid: row
                    .timestamp
                    .is_some_and(|t| (now_s - 86_400..=now_s).contains(&t.div_euclid(1000))),
                avg_transaction_amount: avg.map(|mut a| {
                    a.rescale(6);
                    a
                }),
                consistent: !inconsistent,
                unique: row.transaction_id.as_deref().is_none_or(|id| ids.get(id).copied().unwrap_or(0) <= 1),
                fraud: None,
                governance: None,
            };
            *out.entry(verdict).or_default() += 1;
        }
    }
    out
}

fn check(seed: u64, workers: usize) {
    let epochs = 6;
    let updates = random_updates(seed, 120, epochs);
    let output = run_graph(&updates, epochs, workers);
    for epoch in 0..epochs {
        let mut input: BTreeMap<&Transaction, isize> = BTreeMap::new();
        for (row, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
            *input.entry(row).or_default() += diff;
        }
        let rows: Vec<Transaction> = input
            .iter()
            .flat_map(|(row, copies)| std::iter::repeat_n((*row).clone(), (*copies).max(0) as usize))
            .collect();
        let expected = from_scratch(&rows);
        let mut actual: BTreeMap<QualityRow, i64> = BTreeMap::new();
        for (row, _, diff) in output.iter().filter(|(_, t, _)| *t <= epoch) {
            *actual.entry(row.clone()).or_default() += *diff as i64;
        }
        actual.retain(|_, n| *n != 0);
        if actual != expected {
            let extra: Vec<_> = actual.iter().filter(|(r, n)| expected.get(*r) != Some(n)).take(3).collect();
            let missing: Vec<_> =
                expected.iter().filter(|(r, n)| actual.get(*r) != Some(n)).take(3).collect();
            panic!(
                "seed {seed}, {workers} worker(s), epoch {epoch}:\nextra {extra:#?}\nmissing {missing:#?}"
            );
        }
    }
}

/// Issue 2: the graph's output, accumulated to any epoch, equals a from-scratch evaluation of
/// the input accumulated to that epoch (retractions included), on one worker.
#[test]
fn issue_2_quality_graph_matches_from_scratch_one_worker() {
    for seed in 0..20 {
        check(seed, 1);
    }
}

/// Issue 2: the same with two workers exchanging data.
#[test]
fn issue_2_quality_graph_matches_from_scratch_two_workers() {
    for seed in 100..110 {
        check(seed, 2);
    }
}
