//! The login features on hand-made logins: window edges, ties, what counts as new, nulls.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::features::{Features, MINUTE_MS, compute};
use super::logins::LOGIN_WINDOW_MS;
use crate::generate::{Event, FraudPattern, Generator, GeneratorConfig};
use crate::record::{Transaction, UserEvent};

fn tx(user: Option<&str>, id: &str, ts: Option<i64>) -> Transaction {
    Transaction {
        origin: None,
        timestamp: ts,
        transaction_id: Some(id.to_owned()),
        amount: Some(Decimal::new(1_000, 2)),
        currency: Some("USD".into()),
        metadata: Some(BTreeMap::new().into()),
        user_id: user.map(str::to_owned),
    }
}

fn login(user: &str, ts: i64, device: Option<&str>, country: Option<&str>) -> UserEvent {
    UserEvent {
        user_id: user.to_owned(),
        event_type: "LOGIN".into(),
        device: device.map(str::to_owned),
        country: country.map(str::to_owned),
        ip: None,
        timestamp: ts,
    }
}

/// (logins, new-device seconds, new-country seconds) of a feature row.
fn l(f: &Features) -> (Option<u64>, Option<f64>, Option<f64>) {
    (f.logins_30m, f.new_device_login_s, f.new_country_login_s)
}

const T: i64 = 1_000 * MINUTE_MS;

#[test]
fn the_window_is_t_minus_30_minutes_exclusive_to_t_inclusive() {
    let rows = [tx(Some("u"), "a", Some(T))];
    let at = |s: i64| l(&compute(&rows, &[login("u", s, Some("d"), Some("DE"))])[0]);
    assert_eq!(at(T - LOGIN_WINDOW_MS), (Some(0), None, None), "exactly 30 minutes earlier: out");
    assert_eq!(at(T - LOGIN_WINDOW_MS + 1), (Some(1), Some(1_799.999), Some(1_799.999)));
    assert_eq!(at(T), (Some(1), Some(0.0), Some(0.0)), "the same millisecond: in");
    assert_eq!(at(T + 1), (Some(0), None, None), "a login after the payment: out");
}

#[test]
fn a_device_is_new_until_a_strictly_earlier_login_used_it() {
    let rows = [tx(Some("u"), "a", Some(T))];
    let known = [
        login("u", T - 40 * MINUTE_MS, Some("d"), Some("DE")),
        login("u", T - 60_000, Some("d"), Some("DE")),
    ];
    assert_eq!(l(&compute(&rows, &known)[0]), (Some(1), None, None), "seen 40 minutes before");
    let same_ms =
        [login("u", T - 60_000, Some("d"), Some("DE")), login("u", T - 60_000, Some("d"), Some("FR"))];
    assert_eq!(l(&compute(&rows, &same_ms)[0]), (Some(2), Some(60.0), Some(60.0)), "same ms: both new");
    let device_only = [
        login("u", T - 50 * MINUTE_MS, Some("d"), Some("DE")),
        login("u", T - 10 * MINUTE_MS, Some("e"), Some("DE")),
        login("u", T - 5 * MINUTE_MS, Some("d"), Some("DE")),
    ];
    let f = &compute(&rows, &device_only)[0];
    assert_eq!(l(f), (Some(2), Some(600.0), None), "the latest NEW-device login, not the latest login");
}

#[test]
fn null_and_empty_devices_and_countries_are_never_new_nor_known() {
    let rows = [tx(Some("u"), "a", Some(T))];
    let blank = [login("u", T - 1_000, None, Some("")), login("u", T - 2_000, Some(""), None)];
    assert_eq!(l(&compute(&rows, &blank)[0]), (Some(2), None, None));
    let after_blank =
        [login("u", T - 40 * MINUTE_MS, Some(""), None), login("u", T - 1_000, Some("d"), Some("DE"))];
    assert_eq!(l(&compute(&rows, &after_blank)[0]), (Some(1), Some(1.0), Some(1.0)));
}

#[test]
fn users_match_exactly_and_null_users_see_no_login() {
    let rows = [tx(None, "a", Some(T)), tx(Some(""), "b", Some(T)), tx(Some("U"), "c", Some(T))];
    let events = [login("", T - 1_000, Some("d"), Some("DE")), login("u", T - 1_000, Some("d"), Some("DE"))];
    let f = compute(&rows, &events);
    assert_eq!(l(&f[0]), (Some(0), None, None), "null userId: no logins");
    assert_eq!(l(&f[1]), (Some(1), Some(1.0), Some(1.0)), "\"\" is a user");
    assert_eq!(l(&f[2]), (Some(0), None, None), "byte-exact: U is not u");
}

#[test]
fn only_logins_count_and_the_event_type_ignores_case() {
    let rows = [tx(Some("u"), "a", Some(T))];
    let mut other = login("u", T - 1_000, Some("d"), Some("DE"));
    other.event_type = "PASSWORD_CHANGE".into();
    let mut lower = login("u", T - 2_000, Some("e"), Some("FR"));
    lower.event_type = "login".into();
    assert_eq!(l(&compute(&rows, &[other, lower])[0]), (Some(1), Some(2.0), Some(2.0)));
}

#[test]
fn copies_of_a_login_count_and_rows_without_timestamp_get_nothing() {
    let rows = [tx(Some("u"), "a", Some(T)), tx(Some("u"), "b", None)];
    let copy = login("u", T - 1_000, Some("d"), Some("DE"));
    let f = compute(&rows, &[copy.clone(), copy]);
    assert_eq!(l(&f[0]), (Some(2), Some(1.0), Some(1.0)));
    assert_eq!(l(&f[1]), (None, None, None));
}

#[test]
fn issue5_a_late_earlier_login_makes_a_device_known_in_any_input_order() {
    let rows = [tx(Some("u"), "a", Some(T)), tx(Some("u"), "b", Some(T + 10 * MINUTE_MS))];
    let recent = login("u", T - 5 * MINUTE_MS, Some("d"), Some("DE"));
    let before = compute(&rows, std::slice::from_ref(&recent));
    assert_eq!(l(&before[0]), (Some(1), Some(300.0), Some(300.0)));
    assert_eq!(l(&before[1]), (Some(1), Some(900.0), Some(900.0)), "15 minutes later: still in the window");
    let late = login("u", T - 3 * 24 * 60 * MINUTE_MS, Some("d"), Some("FR"));
    let after = compute(&rows, &[recent.clone(), late.clone()]);
    assert_eq!(l(&after[0]), (Some(1), None, Some(300.0)), "device known from the late login");
    assert_eq!(l(&after[1]), (Some(1), None, Some(900.0)));
    assert_eq!(after, compute(&rows, &[late, recent]), "input order does not matter");
}

#[test]
fn issue5_generated_takeovers_follow_a_new_login_and_ordinary_rows_rarely_do() {
    let mut generator =
        Generator::new(GeneratorConfig { fraud_rate: 0.02, garbage_rate: 0.0, ..GeneratorConfig::default() });
    let (mut rows, mut patterns, mut events) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30_000 {
        if let Some(Event::Transaction(row, planted)) = generator.next() {
            rows.push(row);
            patterns.push(planted.fraud);
        }
        events.extend(std::iter::from_fn(|| generator.next_user_event()));
    }
    let features = compute(&rows, &events);
    let new_login = |f: &Features| f.new_device_login_s.is_some() || f.new_country_login_s.is_some();
    let takeovers: Vec<&Features> = features
        .iter()
        .zip(&patterns)
        .filter(|(_, p)| **p == Some(FraudPattern::AccountTakeover))
        .map(|(f, _)| f)
        .collect();
    assert!(takeovers.len() > 20, "{} takeover rows", takeovers.len());
    assert!(takeovers.iter().all(|f| new_login(f)), "every takeover row has a new login before it");
    let ordinary: Vec<&Features> =
        features.iter().zip(&patterns).filter(|(_, p)| p.is_none()).map(|(f, _)| f).collect();
    let flagged = ordinary.iter().filter(|f| new_login(f)).count();
    assert!(flagged > 0, "ordinary logins now and then come from a new phone or abroad");
    assert!(flagged * 50 < ordinary.len(), "{flagged} of {} ordinary rows after a new login", ordinary.len());
}
