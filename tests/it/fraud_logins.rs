//! Issue 5: the login features (`fraud-features/2`) in the dataflow, against a plain reference
//! written from `docs/fraud-features.md`, at every epoch, with late and retracted logins and
//! transactions, on 1 and 2 workers; a late login re-scores the payments after it.

use std::collections::BTreeMap;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use trustflow::dataflow::quality::QualityRow;
use trustflow::dataflow::quality::graph::{frames_and_features_with, logins, quality_scored_with};
use trustflow::fraud::features::Features;
use trustflow::fraud::inputs::{INPUTS, vector};
use trustflow::fraud::model::Model;
use trustflow::fraud::score::Scorer;
use trustflow::record::{Transaction, UserEvent};

use crate::graph_support::{EventGraph, run_with_events};

const NOW_MS: i64 = 1_767_225_600_000;
/// N of the doc: 30 minutes.
const WINDOW_MS: i64 = 30 * 60_000;

/// A transaction's login features: (logins[30m], new_device_login_s bits, new_country_login_s
/// bits), the floats as bits so that the tuple is ordered.
type Login3 = (Option<u64>, Option<u64>, Option<u64>);

fn login3(f: &Features) -> Login3 {
    (f.logins_30m, f.new_device_login_s.map(f64::to_bits), f.new_country_login_s.map(f64::to_bits))
}

/// Random transactions: few users (null and "" among them), times on a 20 s grid over two
/// hours (the 30-minute window sees logins come and go; ties with logins), some without a
/// timestamp, copies, retractions at a later epoch.
fn random_rows(rng: &mut StdRng, count: usize, epochs: u64) -> Vec<(Transaction, u64, isize)> {
    let mut updates: Vec<(Transaction, u64, isize)> = Vec::new();
    for i in 0..count {
        let row = if i > 0 && rng.random_bool(0.05) {
            updates[rng.random_range(0..updates.len())].0.clone()
        } else {
            Transaction {
                origin: None,
                timestamp: (!rng.random_bool(0.04)).then(|| NOW_MS - rng.random_range(0..360) * 20_000),
                transaction_id: Some(format!("t{i}")),
                amount: Some(Decimal::new(rng.random_range(1..100_000), 2)),
                currency: Some("USD".into()),
                metadata: None,
                user_id: [Some("u1"), Some("u2"), Some(""), None][rng.random_range(0..4)].map(str::to_owned),
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

/// Random user events: mostly logins (either case), some other types, devices and countries
/// from small sets with null and "", a few days old now and then (history that makes a device
/// known), copies, retractions, arrival epochs unrelated to event time (late logins).
fn random_events(rng: &mut StdRng, count: usize, epochs: u64) -> Vec<(UserEvent, u64, isize)> {
    let mut updates: Vec<(UserEvent, u64, isize)> = Vec::new();
    for i in 0..count {
        let event = if i > 0 && rng.random_bool(0.05) {
            updates[rng.random_range(0..updates.len())].0.clone()
        } else {
            let old = rng.random_bool(0.1);
            UserEvent {
                user_id: ["u1", "u2", "", "u3"][rng.random_range(0..4)].to_owned(),
                event_type: ["LOGIN", "LOGIN", "login", "LOGOUT"][rng.random_range(0..4)].to_owned(),
                device: [Some("a"), Some("b"), Some("c"), Some("d"), Some(""), None][rng.random_range(0..6)]
                    .map(str::to_owned),
                country: [Some("DE"), Some("FR"), Some("US"), Some(""), None][rng.random_range(0..5)]
                    .map(str::to_owned),
                ip: None,
                timestamp: if old {
                    NOW_MS - rng.random_range(1..5) * 86_400_000
                } else {
                    NOW_MS - rng.random_range(0..390) * 20_000
                },
            }
        };
        let epoch = rng.random_range(0..epochs);
        updates.push((event.clone(), epoch, 1));
        if rng.random_bool(0.15) {
            updates.push((event, rng.random_range(epoch..epochs), -1));
        }
    }
    updates
}

/// The live multiset after `epoch`, as a list with copies.
fn accumulated<D: Ord + Clone>(updates: &[(D, u64, isize)], epoch: u64) -> Vec<D> {
    let mut counts: BTreeMap<&D, isize> = BTreeMap::new();
    for (d, _, diff) in updates.iter().filter(|(_, t, _)| *t <= epoch) {
        *counts.entry(d).or_default() += diff;
    }
    counts.into_iter().flat_map(|(d, n)| std::iter::repeat_n(d.clone(), n.max(0) as usize)).collect()
}

/// The output accumulated through `epoch` (zero counts removed).
fn through<D: Ord + Clone>(changes: &[(D, u64, isize)], epoch: u64) -> BTreeMap<D, isize> {
    let mut out: BTreeMap<D, isize> = BTreeMap::new();
    for (d, _, diff) in changes.iter().filter(|(_, t, _)| *t <= epoch) {
        *out.entry(d.clone()).or_default() += diff;
    }
    out.retain(|_, n| *n != 0);
    out
}

/// The login features of `rows` given `events`, written plainly from the doc, quadratic,
/// sharing no code with the library.
fn plain(rows: &[Transaction], events: &[UserEvent]) -> BTreeMap<(Transaction, Login3), isize> {
    let present = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_owned);
    let mut out = BTreeMap::new();
    for row in rows {
        let features = match row.timestamp {
            None => (None, None, None),
            Some(t) => {
                let user_logins: Vec<&UserEvent> = events
                    .iter()
                    .filter(|e| e.event_type.eq_ignore_ascii_case("login"))
                    .filter(|e| row.user_id.as_deref() == Some(e.user_id.as_str()))
                    .collect();
                let in_window: Vec<&&UserEvent> =
                    user_logins.iter().filter(|e| e.timestamp > t - WINDOW_MS && e.timestamp <= t).collect();
                // A login is new in `field` iff it has a value that no strictly earlier login had.
                let latest_new = |field: fn(&UserEvent) -> &Option<String>| {
                    in_window
                        .iter()
                        .filter(|e| {
                            present(field(e)).is_some_and(|v| {
                                !user_logins.iter().any(|p| {
                                    p.timestamp < e.timestamp && present(field(p)).as_ref() == Some(&v)
                                })
                            })
                        })
                        .map(|e| e.timestamp)
                        .max()
                        .map(|s| ((t - s) as f64 / 1000.0).to_bits())
                };
                (Some(in_window.len() as u64), latest_new(|e| &e.device), latest_new(|e| &e.country))
            }
        };
        *out.entry((row.clone(), features)).or_default() += 1;
    }
    out
}

/// The incremental login features (the per-user reduce over transactions and logins).
struct LoginGraph;

impl EventGraph<(Transaction, Login3)> for LoginGraph {
    fn build<'s>(
        &self,
        rows: VecCollection<'s, u64, Transaction>,
        events: VecCollection<'s, u64, UserEvent>,
    ) -> VecCollection<'s, u64, (Transaction, Login3)> {
        frames_and_features_with(rows, Some(logins(events))).map(|(row, _avg, f)| (row, login3(&f)))
    }
}

/// Issue 5: the login features maintained by the dataflow equal the plain reference over the
/// transactions and user events accumulated to every epoch (late logins, retracted logins and
/// rows, copies, ties), on 1 and 2 workers; and so does the library's `features::compute`.
#[test]
fn issue5_incremental_login_features_equal_the_plain_reference_at_every_epoch() {
    for workers in [1, 2] {
        for seed in 0..6 {
            let epochs = 6;
            let mut rng = StdRng::seed_from_u64(seed);
            let rows = random_rows(&mut rng, 200, epochs);
            let events = random_events(&mut rng, 250, epochs);
            let changes = run_with_events(&rows, &events, epochs, workers, LoginGraph);
            let mut non_trivial = 0;
            for epoch in 0..epochs {
                let (live_rows, live_events) = (accumulated(&rows, epoch), accumulated(&events, epoch));
                let expected = plain(&live_rows, &live_events);
                non_trivial += expected.keys().filter(|(_, f)| f.1.is_some() || f.2.is_some()).count();
                let library: BTreeMap<(Transaction, Login3), isize> = live_rows
                    .iter()
                    .zip(trustflow::fraud::features::compute(&live_rows, &live_events))
                    .fold(BTreeMap::new(), |mut out, (row, f)| {
                        *out.entry((row.clone(), login3(&f))).or_default() += 1;
                        out
                    });
                assert_eq!(library, expected, "features::compute, seed {seed}, epoch {epoch}");
                assert_eq!(
                    through(&changes, epoch),
                    expected,
                    "seed {seed}, epoch {epoch}, {workers} worker(s)"
                );
            }
            assert!(non_trivial > 20, "seed {seed}: only {non_trivial} rows after a new login");
        }
    }
}

/// A logistic model on synthetic inputs where a large amount shortly after a new-device login
/// is fraud: a row's score moves with its login inputs.
fn login_model() -> Arc<Scorer> {
    let mut rng = StdRng::seed_from_u64(3);
    let (mut rows, mut fraud): (Vec<[f64; INPUTS]>, Vec<bool>) = (Vec::new(), Vec::new());
    for _ in 0..2_000 {
        let new_device = rng.random_bool(0.3);
        let f = Features {
            amount: Some(rng.random_range(1.0..5_000.0)),
            prior_count: Some(rng.random_range(0..10)),
            count: [
                Some(rng.random_range(0..3)),
                Some(rng.random_range(0..5)),
                Some(rng.random_range(0..10)),
            ],
            sum: [
                Some(rng.random_range(0.0..5e3)),
                Some(rng.random_range(0.0..2e4)),
                Some(rng.random_range(0.0..5e4)),
            ],
            zscore: Some(rng.random_range(-2.0..3.0)),
            ratio_last6: Some(rng.random_range(0.2..5.0)),
            new_currency: Some(false),
            since_previous_s: Some(rng.random_range(0.0..86_400.0)),
            hour: Some(rng.random_range(0..24)),
            logins_30m: Some(rng.random_range(0..3)),
            new_device_login_s: new_device.then(|| rng.random_range(0.0..1_800.0)),
            ..Features::default()
        };
        let x = vector(&f);
        fraud.push(new_device && x[0] > 6.0);
        rows.push(x);
    }
    Scorer::from_model(Model::fit_logistic(&rows, &fraud, 0.1).unwrap(), 1, "test").unwrap()
}

/// Issue 5: a late login from a new device retracts and re-scores the payments in the 30
/// minutes after it (and no other), and its retraction restores their first scores.
#[test]
fn issue5_a_late_login_rescores_the_payments_after_it() {
    struct Scored(Arc<Scorer>);
    impl EventGraph<QualityRow> for Scored {
        fn build<'s>(
            &self,
            rows: VecCollection<'s, u64, Transaction>,
            events: VecCollection<'s, u64, UserEvent>,
        ) -> VecCollection<'s, u64, QualityRow> {
            quality_scored_with(rows, events, NOW_MS, self.0.clone())
        }
    }
    let t0 = NOW_MS - 3_600_000;
    let row = |id: &str, ts: i64| Transaction {
        origin: None,
        timestamp: Some(ts),
        transaction_id: Some(id.to_owned()),
        amount: Some(Decimal::new(250_000, 2)),
        currency: Some("USD".into()),
        metadata: None,
        user_id: Some("u".into()),
    };
    let login = |device: &str, ts: i64| UserEvent {
        user_id: "u".into(),
        event_type: "LOGIN".into(),
        device: Some(device.into()),
        country: Some("DE".into()),
        ip: None,
        timestamp: ts,
    };
    let rows: Vec<(Transaction, u64, isize)> =
        vec![(row("a", t0), 0, 1), (row("b", t0 + 10 * 60_000), 0, 1), (row("c", t0 + 40 * 60_000), 0, 1)];
    let late = login("stolen", t0 - 60_000);
    let events = vec![
        (login("home", t0 - 86_400_000), 0, 1),
        (login("home", t0 - 120_000), 0, 1),
        (late.clone(), 1, 1),
        (late, 2, -1),
    ];
    let changes = run_with_events(&rows, &events, 3, 1, Scored(login_model()));
    let score = |epoch: u64, id: &str, diff: isize| -> Vec<f64> {
        changes
            .iter()
            .filter(|(r, t, d)| *t == epoch && *d == diff && r.record.transaction_id.as_deref() == Some(id))
            .map(|(r, _, _)| r.fraud.expect("scored").score.0)
            .collect()
    };
    for id in ["a", "b"] {
        let (first, rescored) = (score(0, id, 1), score(1, id, 1));
        assert_eq!((score(1, id, -1), rescored.len()), (first.clone(), 1), "{id}: retracted and re-scored");
        assert!(
            rescored[0] > first[0],
            "{id}: a new device before a large payment raises the score: {first:?} -> {rescored:?}"
        );
        assert_eq!(
            (score(2, id, -1), score(2, id, 1)),
            (rescored, first),
            "{id}: the retraction restores it"
        );
    }
    assert!(
        changes.iter().all(|(r, t, _)| *t == 0 || r.record.transaction_id.as_deref() != Some("c")),
        "c is 41 minutes after the login: untouched"
    );
}
