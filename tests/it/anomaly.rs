//! Issue 7.4, anomaly monitoring: the differential monitor against a from-scratch
//! recomputation at every epoch (late rows, retractions, 1 and 2 workers), and planted
//! anomalies found exactly.

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::graph_support::{Graph, run};

use trustflow::dataflow::anomaly::{Alert, AlertKind, AnomalyConfig, Field, monitor, reference};
use trustflow::record::{Origin, Transaction};

const WIDTH: i64 = 60_000;
const T0: i64 = 1_700_000_040_000;

type Update = (Transaction, u64, isize);
type Key = (Arc<str>, i64, AlertKind, Option<Field>);
/// A change planted in each row of a window, by the row's index.
type Planted = Box<dyn Fn(usize, &mut Transaction)>;

/// The monitor with `config`, as a graph under test.
struct Monitor(AnomalyConfig);

impl Graph<Alert> for Monitor {
    fn build<'s>(&self, rows: VecCollection<'s, u64, Transaction>) -> VecCollection<'s, u64, Alert> {
        monitor(rows, self.0)
    }
}

/// Runs the monitor on `workers` threads, each feeding its share of the updates epoch by
/// epoch, and returns every output update.
fn run_monitor(
    updates: &[Update],
    epochs: u64,
    workers: usize,
    config: AnomalyConfig,
) -> Vec<(Alert, u64, isize)> {
    run(updates, epochs, workers, Monitor(config))
}

/// The alerts held at `epoch`: every accumulated count must be 0 or 1.
fn held_at(output: &[(Alert, u64, isize)], epoch: u64, context: &str) -> BTreeMap<Key, Alert> {
    let mut counts: BTreeMap<&Alert, isize> = BTreeMap::new();
    for (alert, _, diff) in output.iter().filter(|(_, t, _)| *t <= epoch) {
        *counts.entry(alert).or_default() += diff;
    }
    counts.retain(|_, n| *n != 0);
    assert!(counts.values().all(|n| *n == 1), "{context}: {counts:#?}");
    let held: BTreeMap<Key, Alert> = counts
        .into_keys()
        .map(|a| ((a.source.clone(), a.window_start_ms, a.kind, a.field), a.clone()))
        .collect();
    held
}

/// The rows present at `epoch`, with their multiplicity.
fn rows_at(updates: &[Update], epoch: u64) -> Vec<Transaction> {
    let mut present: BTreeMap<&Transaction, isize> = BTreeMap::new();
    for (row, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
        *present.entry(row).or_default() += diff;
    }
    present.into_iter().flat_map(|(row, n)| std::iter::repeat_n(row.clone(), n.max(0) as usize)).collect()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
        _ => false,
    }
}

/// Every column but the evidence, floats within 1e-9 (relative).
fn same(actual: &Alert, expected: &Alert) -> bool {
    let real = |r: Option<trustflow::dataflow::anomaly::Real>| r.map(|r| r.0);
    actual.window_end_ms == expected.window_end_ms
        && actual.baseline_windows == expected.baseline_windows
        && actual.threshold == expected.threshold
        && close(Some(actual.observed.0), Some(expected.observed.0))
        && close(real(actual.baseline_mean), real(expected.baseline_mean))
        && close(real(actual.baseline_stddev), real(expected.baseline_stddev))
        && close(real(actual.z_score), real(expected.z_score))
        && serde_json::from_str::<Value>(&actual.evidence).is_ok()
}

/// Random updates over two topics and rows without an origin, across 14 windows whose
/// volumes, null rates, schema ids, amounts and currencies drift: inserts at random epochs
/// (so rows arrive late for their window), a fifth retracted at a later epoch.
fn random_updates(seed: u64, count: usize, epochs: u64) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    let topics: [Arc<str>; 2] = [Arc::from("payments"), Arc::from("refunds")];
    // Per window: a weight (volume), a null rate, a schema id, an amount scale, a currency bias.
    let profiles: Vec<(u32, f64, u32, i64, usize)> = (0..14)
        .map(|_| {
            (
                if rng.random_bool(0.15) { 6 } else { rng.random_range(1..3) },
                if rng.random_bool(0.15) { 0.6 } else { 0.05 },
                if rng.random_bool(0.1) { 2 } else { 1 },
                if rng.random_bool(0.15) { 50_000 } else { 10_000 },
                rng.random_range(0..3),
            )
        })
        .collect();
    let weights: Vec<u32> = profiles.iter().map(|p| p.0).collect();
    let total: u32 = weights.iter().sum();
    let mut updates = Vec::new();
    for offset in 0..count {
        let mut pick = rng.random_range(0..total);
        let window = weights.iter().position(|w| match pick.checked_sub(*w) {
            Some(rest) => {
                pick = rest;
                false
            }
            None => true,
        });
        let window = window.unwrap_or(0);
        let (_, null_rate, schema, scale, bias) = profiles[window];
        let null = |rng: &mut StdRng| rng.random_bool(null_rate);
        let codes = ["USD", "EUR", "GBP", ""];
        let currency = if rng.random_bool(0.6) { codes[bias] } else { codes[rng.random_range(0..4)] };
        let row = Transaction {
            timestamp: (!rng.random_bool(0.03))
                .then(|| T0 + window as i64 * WIDTH + rng.random_range(0..WIDTH)),
            transaction_id: (!null(&mut rng)).then(|| format!("t{offset}")),
            amount: (!null(&mut rng)).then(|| Decimal::new(rng.random_range(1..scale), 2)),
            currency: (!null(&mut rng)).then(|| currency.to_owned()),
            metadata: (!null(&mut rng)).then(|| Arc::new(BTreeMap::new())),
            user_id: (!null(&mut rng))
                .then(|| if rng.random_bool(0.1) { String::new() } else { "u".to_owned() }),
            origin: (!rng.random_bool(0.05)).then(|| Origin {
                topic: topics[rng.random_range(0..2)].clone(),
                partition: rng.random_range(0..2),
                offset: offset as i64,
                schema_id: schema,
            }),
        };
        let epoch = rng.random_range(0..epochs);
        updates.push((row.clone(), epoch, 1));
        if rng.random_bool(0.2) {
            updates.push((row, rng.random_range(epoch..epochs), -1));
        }
    }
    updates
}

fn check(seed: u64, workers: usize, seen: &mut BTreeMap<(AlertKind, Option<Field>), usize>) {
    let epochs = 5;
    let config = AnomalyConfig {
        window_ms: WIDTH,
        baseline_windows: 4,
        min_baseline_windows: 2,
        // Small random windows: judge null ratios and distributions from 8 rows on, so that
        // windows on both sides of the minimum occur.
        min_window_rows: 8,
        ..AnomalyConfig::default()
    };
    let updates = random_updates(seed, 600, epochs);
    let output = run_monitor(&updates, epochs, workers, config);
    for epoch in 0..epochs {
        let context = format!("seed {seed}, {workers} worker(s), epoch {epoch}");
        let actual = held_at(&output, epoch, &context);
        let expected: BTreeMap<Key, Alert> = reference::alerts(&rows_at(&updates, epoch), &config)
            .into_iter()
            .map(|a| ((a.source.clone(), a.window_start_ms, a.kind, a.field), a))
            .collect();
        let missing: Vec<&Key> = expected.keys().filter(|k| !actual.contains_key(*k)).collect();
        let extra: Vec<&Key> = actual.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{context}: missing {missing:?}, extra {extra:?}");
        for (key, alert) in &actual {
            assert!(same(alert, &expected[key]), "{context}:\n{alert:#?}\nexpected {:#?}", expected[key]);
            if epoch == epochs - 1 {
                *seen.entry((key.2, key.3)).or_default() += 1;
            }
        }
    }
}

/// Issue 7.4: the monitor's alerts, accumulated to any epoch, equal a from-scratch
/// recomputation over the rows accumulated to that epoch (late rows and retractions
/// included), on 1 and 2 workers; and the random streams raise every kind of alert.
#[test]
fn issue_7_anomaly_monitor_matches_from_scratch() {
    let mut seen = BTreeMap::new();
    for seed in 0..6 {
        check(seed, 1, &mut seen);
        check(seed, 2, &mut seen);
    }
    for kind in [
        (AlertKind::Volume, None),
        (AlertKind::NullRatio, Some(Field::TransactionId)),
        (AlertKind::NullRatio, Some(Field::UserId)),
        (AlertKind::SchemaChange, None),
        (AlertKind::Distribution, Some(Field::Amount)),
        (AlertKind::Distribution, Some(Field::Currency)),
    ] {
        assert!(seen.get(&kind).copied().unwrap_or(0) > 0, "no {kind:?} alert in any seed: {seen:?}");
    }
}

/// One steady window of `rows` rows from `topic` (identical in every window, so that steady
/// windows match their baseline exactly), the `planted` change applied to each row.
fn steady_window(
    topic: &Arc<str>,
    window: i64,
    rows: usize,
    planted: impl Fn(usize, &mut Transaction),
) -> Vec<Transaction> {
    (0..rows)
        .map(|i| {
            let mut row = Transaction {
                timestamp: Some(T0 + window * WIDTH + (i as i64 * 250) % WIDTH),
                transaction_id: Some(format!("w{window}-{i}")),
                amount: Some(Decimal::new(5_000 + (i as i64 * 37) % 10_000, 2)),
                currency: Some(["USD", "USD", "USD", "EUR", "EUR", "GBP"][i % 6].to_owned()),
                metadata: Some(Arc::new(BTreeMap::new())),
                user_id: (i % 50 != 0).then(|| format!("u{}", i % 17)),
                origin: Some(Origin { topic: topic.clone(), partition: 0, offset: i as i64, schema_id: 1 }),
            };
            planted(i, &mut row);
            row
        })
        .collect()
}

/// Issue 7.4: a stream with a volume spike, a burst of null userIds, a new schema id, a
/// shifted amount distribution and a currency switch, each in its own window, raises exactly
/// those alerts under the default settings, none in the steady windows; a late retraction
/// that brings the spike back to normal withdraws its alert.
#[test]
fn issue_7_planted_anomalies_raise_exactly_their_alerts() {
    let topic: Arc<str> = Arc::from("financial-transactions");
    let mut rows = Vec::new();
    let mut spike_extra = Vec::new();
    for window in 0..20 {
        let planted: Planted = match window {
            8 => Box::new(|i, row| {
                if i % 2 == 0 {
                    row.user_id = None;
                }
            }),
            // The producer moves to schema 2 from window 12 on: only window 12 is news.
            12.. => Box::new(move |i, row| {
                if window > 12 || i % 2 == 0 {
                    row.origin.as_mut().unwrap().schema_id = 2;
                }
                if window == 16 {
                    row.amount = row.amount.map(|a| a * Decimal::from(3));
                }
                if window == 18 {
                    row.currency = Some("JPY".to_owned());
                }
            }),
            _ => Box::new(|_, _| {}),
        };
        rows.extend(steady_window(&topic, window, 200, planted));
        if window == 4 {
            // The spike: the same rows again, under other ids.
            let mut extra = steady_window(&topic, window, 200, |_, _| {});
            for row in &mut extra {
                row.transaction_id = row.transaction_id.as_ref().map(|id| format!("{id}-again"));
            }
            spike_extra = extra;
        }
    }
    let mut updates: Vec<Update> = rows.into_iter().map(|row| (row, 0, 1)).collect();
    updates.extend(spike_extra.iter().map(|row| (row.clone(), 0, 1)));
    // Epoch 1: the extra rows of the spike are retracted (a late correction).
    updates.extend(spike_extra.iter().map(|row| (row.clone(), 1, -1)));
    let config = AnomalyConfig::default();
    let start = |w: i64| T0 + w * WIDTH;
    for workers in [1, 2] {
        let output = run_monitor(&updates, 2, workers, config);
        let held = held_at(&output, 0, "epoch 0");
        let found: Vec<(i64, AlertKind, Option<Field>)> =
            held.keys().map(|(_, start, kind, field)| (*start, *kind, *field)).collect();
        assert_eq!(
            found,
            [
                (start(4), AlertKind::Volume, None),
                (start(8), AlertKind::NullRatio, Some(Field::UserId)),
                (start(12), AlertKind::SchemaChange, None),
                (start(16), AlertKind::Distribution, Some(Field::Amount)),
                (start(18), AlertKind::Distribution, Some(Field::Currency)),
            ],
            "{workers} worker(s): {held:#?}"
        );
        let alert =
            |w: i64, kind| held.values().find(|a| a.window_start_ms == start(w) && a.kind == kind).unwrap();
        let evidence = |a: &Alert| serde_json::from_str::<Value>(&a.evidence).unwrap();
        let volume = alert(4, AlertKind::Volume);
        assert_eq!(
            (volume.observed.0, volume.baseline_mean.map(|m| m.0), volume.baseline_windows),
            (400.0, Some(200.0), 4)
        );
        assert_eq!(evidence(volume)["baseline"][0], json!({"window_start": start(0), "rows": 200}));
        let nulls = alert(8, AlertKind::NullRatio);
        assert_eq!((nulls.observed.0, nulls.baseline_windows), (0.5, 8));
        assert_eq!(evidence(nulls)["nulls"], json!(100));
        let schema = alert(12, AlertKind::SchemaChange);
        assert_eq!(evidence(schema), json!({"now": [1, 2], "baseline": [1], "new": [2]}));
        assert_eq!(schema.baseline_windows, 10);
        let amount = held.values().find(|a| a.field == Some(Field::Amount)).unwrap();
        assert!(amount.observed.0 > 2.9 * amount.baseline_mean.unwrap().0, "{amount:#?}");
        assert!(amount.z_score.unwrap().0 > 3.0, "{amount:#?}");
        let currency = held.values().find(|a| a.field == Some(Field::Currency)).unwrap();
        assert_eq!(currency.observed.0, 1.0);
        assert_eq!(evidence(currency)["now"], json!({"JPY": 200}));
        assert_eq!(evidence(currency)["baseline"], json!({"EUR": 660, "GBP": 330, "USD": 1_010}));

        // The spike corrected: its alert withdrawn, nothing else changes.
        let corrected = held_at(&output, 1, "epoch 1");
        let mut expected: Vec<&Key> = held.keys().collect();
        expected.retain(|(_, s, kind, _)| !(*s == start(4) && *kind == AlertKind::Volume));
        assert_eq!(corrected.keys().collect::<Vec<_>>(), expected, "{workers} worker(s)");
        // The null burst's baseline now shows the corrected window 4.
        let nulls = corrected.values().find(|a| a.kind == AlertKind::NullRatio).unwrap();
        assert_eq!(
            evidence(nulls)["baseline"][4],
            json!({"window_start": start(4), "rows": 200, "nulls": 4})
        );
        let before = held.values().find(|a| a.kind == AlertKind::NullRatio).unwrap();
        assert_eq!(evidence(before)["baseline"][4]["rows"], json!(400));
    }
}

/// Issue 7.4: the zero-install demo (a day of generated events, small windows) writes the
/// `alerts` table; Python reads it back: the documented columns, no row deleted more often
/// than inserted, as many consolidated alerts per kind as the run's summary counts, windows
/// of the default minute, evidence that is JSON.
#[test]
fn issue_7_demo_writes_the_alerts_table_python_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let summary_path = dir.path().join("summary.json");
    let output = crate::support::trustflow(&[
        "run",
        "--demo-events",
        "20000",
        "--now",
        "1700000000000",
        "--output",
        root.to_str().unwrap(),
        "--summary-json",
        summary_path.to_str().unwrap(),
        "-w",
        "2",
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("anomaly alerts"), "{printed}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    let table = &summary["table"];
    let held = table["alerts"]["rows"].as_i64().unwrap();
    assert!(held > 0, "a day of ~14 rows a minute has unusual minutes: {summary}");
    let by_kind: i64 =
        table["alerts_by_kind"].as_object().unwrap().values().map(|n| n.as_i64().unwrap()).sum();
    assert_eq!(by_kind, held);

    let report = crate::support::read_delta(&root.join("alerts"), true);
    let mut columns: Vec<String> =
        trustflow::sink::alerts_table::ALERT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    columns.extend(["_change_type".to_owned(), "_epoch".to_owned()]);
    assert_eq!(report["columns"], json!(columns));
    assert_eq!(report["negative"], json!(0));
    assert_eq!(report["consolidated_rows"], json!(held));
    let rows = report["consolidated"].as_array().unwrap();
    let mut kinds: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        *kinds.entry(row["kind"].as_str().unwrap().to_owned()).or_default() += 1;
        assert_eq!(row["source"], json!("financial-transactions"), "{row}");
        let (start, end) = (row["window_start"].as_i64().unwrap(), row["window_end"].as_i64().unwrap());
        assert_eq!((end - start, start % WIDTH), (WIDTH, 0), "{row}");
        assert!(row["baseline_windows"].as_i64().unwrap() >= 3, "{row}");
        serde_json::from_str::<Value>(row["evidence"].as_str().unwrap()).unwrap();
    }
    let summarised: BTreeMap<String, i64> = table["alerts_by_kind"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_i64().unwrap()))
        .filter(|(_, n)| *n != 0)
        .collect();
    assert_eq!(kinds, summarised);
}
