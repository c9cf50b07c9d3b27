//! Bounded state (issue 3): the horizon graph against a plain epoch-by-epoch simulation of its
//! rules, and against the unbounded graph when the horizon is wide enough to never bite.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};

use differential_dataflow::input::Input;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use timely::dataflow::operators::capture::{Capture, Event, Extract};

use crate::quality_graph::from_scratch_with_ids;
use trustflow::dataflow::horizon::{Horizon, LateEvent, LateReason, quality_within};
use trustflow::dataflow::quality::{QualityRow, quality};
use trustflow::record::Transaction;

const NOW_MS: i64 = 1_700_000_000_000;
/// The horizon of the simulation: 160 s, retired in buckets of 10 s.
const HORIZON: Horizon = Horizon { width_ms: 160_000, bucket_ms: 10_000 };
/// Epochs fed; the graph runs two more (retirement reaches the state one epoch later).
const EPOCHS: u64 = 10;

type Update = (Transaction, u64, isize);

/// Rows drifting forward in event time epoch by epoch (about 40 s per epoch, so the horizon
/// passes several epochs' rows), with stragglers up to 5 minutes behind, a few from the
/// future (some beyond the horizon) and a few without a timestamp; ids and users collide.
fn drifting_rows(seed: u64, count: usize) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = NOW_MS - 500_000;
    (0..count)
        .map(|_| {
            let epoch = rng.random_range(0..EPOCHS);
            let front = start + epoch as i64 * 40_000;
            let timestamp = match rng.random_range(0..40) {
                0 => None,
                1 => Some(NOW_MS + rng.random_range(1..400_000)),
                2..=6 => Some(front - rng.random_range(0..300_000)),
                _ => Some(front - rng.random_range(0..40_000)),
            };
            let id = format!("t{}", rng.random_range(0..60));
            let row = Transaction {
                origin: None,
                timestamp,
                transaction_id: (!rng.random_bool(0.05)).then_some(id),
                amount: (!rng.random_bool(0.05)).then(|| Decimal::new(rng.random_range(-100..20_000), 2)),
                currency: Some("USD".to_owned()),
                metadata: None,
                user_id: Some(format!("u{}", rng.random_range(0..4))),
            };
            (row, epoch, 1)
        })
        .collect()
}

/// What a run produced, every update with its epoch.
struct Run {
    verdicts: Vec<(QualityRow, u64, isize)>,
    late: Vec<(LateEvent, u64, isize)>,
    retained: Vec<(Transaction, u64, isize)>,
}

fn run_graph(updates: &[Update], workers: usize, horizon: Horizon) -> Run {
    let (verdicts_tx, verdicts_rx) = mpsc::channel();
    let (late_tx, late_rx) = mpsc::channel();
    let (retained_tx, retained_rx) = mpsc::channel();
    let senders = Arc::new(Mutex::new((verdicts_tx, late_tx, retained_tx)));
    let updates = Arc::new(updates.to_vec());
    timely::execute(timely::Config::process(workers), move |worker| {
        let (verdicts_tx, late_tx, retained_tx) = senders.lock().unwrap().clone();
        let (index, peers) = (worker.index(), worker.peers());
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<Transaction, isize>();
            let bounded = quality_within(rows, NOW_MS, horizon);
            bounded.verdicts.inner.capture_into(verdicts_tx);
            bounded.late.inner.capture_into(late_tx);
            bounded.retained.inner.capture_into(retained_tx);
            input
        });
        for epoch in 0..EPOCHS {
            input.advance_to(epoch);
            let mine = updates.iter().enumerate().filter(|(k, (_, t, _))| k % peers == index && *t == epoch);
            for (_, (row, _, diff)) in mine {
                input.update(row.clone(), *diff);
            }
            input.flush();
            worker.step();
        }
    })
    .unwrap();
    Run { verdicts: collect(verdicts_rx), late: collect(late_rx), retained: collect(retained_rx) }
}

/// A captured stream of updates.
type Captured<D> = mpsc::Receiver<Event<u64, Vec<(D, u64, isize)>>>;

/// Every update a captured stream carried.
fn collect<D: Ord + 'static>(rx: Captured<D>) -> Vec<(D, u64, isize)> {
    rx.extract().into_iter().flat_map(|(_, batch)| batch).collect()
}

/// The horizon's rules, applied plainly epoch by epoch: the expected output of each epoch.
#[derive(Default)]
struct Simulation {
    mark: Option<i64>,
    rows: BTreeMap<Transaction, isize>,
    ids: BTreeMap<(String, i64), isize>,
    retire_rows: BTreeMap<Transaction, isize>,
    retire_ids: BTreeMap<(String, i64), isize>,
    verdicts: BTreeMap<QualityRow, i64>,
}

impl Simulation {
    /// One epoch: returns (verdict changes, late rows).
    fn epoch(&mut self, batch: &[Transaction]) -> (BTreeMap<QualityRow, i64>, Vec<LateEvent>) {
        let h = HORIZON;
        // The cutoff of an epoch is event time at its start: what earlier epochs read.
        let cutoff = self.mark.map(|m| m - h.width_ms);
        let fresh = batch.iter().filter_map(|r| r.timestamp).filter(|ts| *ts <= NOW_MS).max();
        self.mark = self.mark.max(fresh);
        for (row, n) in std::mem::take(&mut self.retire_rows) {
            *self.rows.get_mut(&row).unwrap() -= n;
        }
        for (id, n) in std::mem::take(&mut self.retire_ids) {
            *self.ids.get_mut(&id).unwrap() -= n;
        }
        let mut late = Vec::new();
        for row in batch {
            let reason = match row.timestamp {
                None => Some(LateReason::NoEventTime),
                Some(ts) if cutoff.is_some_and(|c| ts < c) => Some(LateReason::BeforeHorizon),
                Some(ts) if ts > NOW_MS + h.width_ms => Some(LateReason::AfterHorizon),
                Some(_) => None,
            };
            match reason {
                Some(reason) => late.push(LateEvent { row: row.clone(), reason, cutoff_ms: cutoff }),
                None => {
                    *self.rows.entry(row.clone()).or_default() += 1;
                    if let Some(id) = &row.transaction_id {
                        let bucket = row.timestamp.unwrap().div_euclid(h.bucket_ms);
                        *self.ids.entry((id.clone(), bucket)).or_default() += 1;
                    }
                }
            }
        }
        self.rows.retain(|_, n| *n != 0);
        self.ids.retain(|_, n| *n != 0);

        // Verdicts over the state, and the changes to rows the cutoff has not passed.
        let live: Vec<Transaction> =
            self.rows.iter().flat_map(|(row, n)| std::iter::repeat_n(row.clone(), *n as usize)).collect();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for ((id, _), n) in &self.ids {
            *counts.entry(id.clone()).or_default() += *n as usize;
        }
        // A row whose id was retired still frames its successors, but has no verdict in the
        // graph (no join partner); it is frozen anyway, so leave its verdict out here too.
        let mut verdicts = from_scratch_with_ids(&live, &counts);
        verdicts.retain(|v, _| v.record.transaction_id.as_ref().is_none_or(|id| counts.contains_key(id)));
        let mut changes: BTreeMap<QualityRow, i64> = BTreeMap::new();
        for (row, n) in &verdicts {
            *changes.entry(row.clone()).or_default() += n;
        }
        for (row, n) in &self.verdicts {
            *changes.entry(row.clone()).or_default() -= n;
        }
        changes.retain(|row, n| *n != 0 && cutoff.is_none_or(|c| row.record.timestamp.unwrap() >= c));
        self.verdicts = verdicts;

        // What leaves the state next epoch.
        if let Some(first) = cutoff.map(|c| c.div_euclid(h.bucket_ms)) {
            let expired = |ts: Option<i64>| ts.unwrap().div_euclid(h.bucket_ms) < first;
            let mut by_user: BTreeMap<Option<String>, Vec<(Transaction, isize)>> = BTreeMap::new();
            for (row, n) in self.rows.iter().filter(|(r, _)| expired(r.timestamp)) {
                by_user.entry(row.user_id.clone()).or_default().push((row.clone(), *n));
            }
            for rows in by_user.values() {
                let mut surplus = rows.iter().map(|(_, n)| n).sum::<isize>() - 5;
                for (row, n) in rows {
                    let take = (*n).min(surplus);
                    if take > 0 {
                        self.retire_rows.insert(row.clone(), take);
                        surplus -= take;
                    }
                }
            }
            let mut newest: BTreeMap<&String, i64> = BTreeMap::new();
            for (id, bucket) in self.ids.keys() {
                let entry = newest.entry(id).or_insert(*bucket);
                *entry = (*entry).max(*bucket);
            }
            for ((id, bucket), n) in &self.ids {
                if newest[id] < first {
                    self.retire_ids.insert((id.clone(), *bucket), *n);
                }
            }
        }
        (changes, late)
    }
}

fn accumulate<D: Ord + Clone>(updates: &[(D, u64, isize)], epoch: u64) -> BTreeMap<D, i64> {
    let mut out = BTreeMap::new();
    for (d, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
        *out.entry(d.clone()).or_insert(0) += *diff as i64;
    }
    out.retain(|_, n| *n != 0);
    out
}

fn check(seed: u64, workers: usize) {
    let updates = drifting_rows(seed, 400);
    let run = run_graph(&updates, workers, HORIZON);
    let mut sim = Simulation::default();
    let mut expected_verdicts: BTreeMap<QualityRow, i64> = BTreeMap::new();
    let mut expected_late: BTreeMap<LateEvent, i64> = BTreeMap::new();
    let mut retired_any = false;
    for epoch in 0..EPOCHS + 2 {
        let batch: Vec<Transaction> =
            updates.iter().filter(|(_, t, _)| *t == epoch).map(|(r, _, _)| r.clone()).collect();
        let (changes, late) = sim.epoch(&batch);
        for (row, n) in changes {
            *expected_verdicts.entry(row).or_default() += n;
        }
        expected_verdicts.retain(|_, n| *n != 0);
        for event in late {
            *expected_late.entry(event).or_default() += 1;
        }
        let context = format!("seed {seed}, {workers} worker(s), epoch {epoch}");
        let actual = accumulate(&run.verdicts, epoch);
        if actual != expected_verdicts {
            let extra: Vec<_> =
                actual.iter().filter(|(r, n)| expected_verdicts.get(*r) != Some(n)).take(2).collect();
            let missing: Vec<_> =
                expected_verdicts.iter().filter(|(r, n)| actual.get(*r) != Some(n)).take(2).collect();
            panic!("{context}: verdicts differ\nextra {extra:#?}\nmissing {missing:#?}");
        }
        assert_eq!(accumulate(&run.late, epoch), expected_late, "{context}: late rows differ");
        let retained: BTreeMap<Transaction, i64> =
            sim.rows.iter().map(|(r, n)| (r.clone(), *n as i64)).collect();
        assert_eq!(accumulate(&run.retained, epoch), retained, "{context}: retained state differs");
        let admitted: usize = updates.iter().filter(|(_, t, _)| *t <= epoch).count() - expected_late.len();
        retired_any |= retained.values().sum::<i64>() < admitted as i64;
    }
    assert!(retired_any, "seed {seed}: the horizon never retired anything");
    let reasons: Vec<LateReason> = expected_late.keys().map(|e| e.reason).collect();
    for reason in [LateReason::BeforeHorizon, LateReason::AfterHorizon, LateReason::NoEventTime] {
        assert!(reasons.contains(&reason), "seed {seed}: no row was late for {reason:?}");
    }
}

/// Issue 3: verdicts, late rows and retained state equal a plain simulation of the horizon's
/// rules at every epoch, on one worker.
#[test]
fn issue_3_horizon_matches_simulation_one_worker() {
    for seed in 0..12 {
        check(seed, 1);
    }
}

/// Issue 3: the same with three workers exchanging data.
#[test]
fn issue_3_horizon_matches_simulation_three_workers() {
    for seed in 50..56 {
        check(seed, 3);
    }
}

/// Issue 3: a horizon wider than the data never bites: every row with a timestamp gets the
/// unbounded graph's verdict, epoch by epoch.
#[test]
fn issue_3_wide_horizon_equals_unbounded_graph() {
    let wide = Horizon::parse("3650d").unwrap();
    for seed in 0..4 {
        let updates = drifting_rows(seed, 300);
        let bounded = run_graph(&updates, 2, wide);
        let with_time: Vec<Update> =
            updates.iter().filter(|(r, _, _)| r.timestamp.is_some()).cloned().collect();
        let (tx, rx) = mpsc::channel();
        let tx = Arc::new(Mutex::new(tx));
        let feed = Arc::new(with_time.clone());
        timely::execute(timely::Config::process(2), move |worker| {
            let tx = tx.lock().unwrap().clone();
            let (index, peers) = (worker.index(), worker.peers());
            let mut input = worker.dataflow::<u64, _, _>(|scope| {
                let (input, rows) = scope.new_collection::<Transaction, isize>();
                quality(rows, NOW_MS).inner.capture_into(tx);
                input
            });
            for epoch in 0..EPOCHS {
                input.advance_to(epoch);
                for (_, (row, _, diff)) in
                    feed.iter().enumerate().filter(|(k, (_, t, _))| k % peers == index && *t == epoch)
                {
                    input.update(row.clone(), *diff);
                }
            }
        })
        .unwrap();
        let unbounded: Vec<(QualityRow, u64, isize)> =
            rx.extract().into_iter().flat_map(|(_, b)| b).collect();
        for epoch in 0..EPOCHS + 2 {
            assert_eq!(accumulate(&bounded.verdicts, epoch), accumulate(&unbounded, epoch), "seed {seed}");
        }
        let late = accumulate(&bounded.late, EPOCHS + 2);
        assert!(late.keys().all(|e| e.reason == LateReason::NoEventTime), "seed {seed}: {late:?}");
        assert_eq!(late.values().sum::<i64>() as usize, updates.len() - with_time.len());
    }
}
