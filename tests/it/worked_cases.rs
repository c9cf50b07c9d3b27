//! The worked cases at the end of QUALITY_SEMANTICS.md, each through the streaming graph run
//! over a bounded input and through the from-scratch reference.

use rust_decimal::Decimal;

use trustflow::dataflow::quality::{QualityRow, evaluate_bounded, reference};
use trustflow::record::Transaction;

/// "now", in seconds, of every case.
const NOW_S: i64 = 1_767_225_600;
const NOW_MS: i64 = NOW_S * 1000 + 250;

fn row(id: Option<&str>, user: &str, amount: Option<&str>, ts: Option<i64>) -> Transaction {
    Transaction {
        origin: None,
        timestamp: ts,
        transaction_id: id.map(str::to_owned),
        amount: amount.map(|a| a.parse().unwrap()),
        currency: Some("USD".to_owned()),
        metadata: Some(Default::default()),
        user_id: Some(user.to_owned()),
    }
}

/// A user's rows one minute apart, in the order given, with ids r0, r1, ...
fn series(amounts: &[Option<&str>]) -> Vec<Transaction> {
    amounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            row(Some(&format!("r{i}")), "u", *a, Some(NOW_S * 1000 - 3_600_000 + i as i64 * 60_000))
        })
        .collect()
}

/// Both evaluations, which must agree; the verdicts sorted by timestamp then id.
fn evaluate(rows: Vec<Transaction>) -> Vec<QualityRow> {
    let mut streamed =
        evaluate_bounded(rows.clone(), Vec::new(), NOW_MS, None, None, timely::Config::process(2))
            .expect("graph runs");
    streamed.sort();
    assert_eq!(streamed, reference::evaluate(&rows, NOW_MS), "graph and reference disagree");
    streamed.sort_by(|a, b| {
        (a.record.timestamp, &a.record.transaction_id).cmp(&(b.record.timestamp, &b.record.transaction_id))
    });
    streamed
}

fn avg(q: &QualityRow) -> Option<String> {
    q.avg_transaction_amount.map(|a| a.to_string())
}

fn d(text: &str) -> Option<String> {
    Some(text.parse::<Decimal>().unwrap().to_string())
}

#[test]
fn issue_3_worked_case_100_100_200_rounds_the_average() {
    let out = evaluate(series(&[Some("100"), Some("100"), Some("200")]));
    assert_eq!(avg(&out[2]), d("133.333333"));
    assert!(!out[2].consistent);
    assert!(out[0].consistent && out[1].consistent);
}

#[test]
fn issue_3_worked_case_ratio_of_exactly_half_is_consistent() {
    let out = evaluate(series(&[Some("100"), Some("300")]));
    assert_eq!(avg(&out[1]), d("200.000000"));
    assert!(out[1].consistent);
    let out = evaluate(series(&[Some("100"), Some("300.02")]));
    assert_eq!(avg(&out[1]), d("200.010000"));
    assert!(!out[1].consistent, "100.01 / 200.01 is just above 0.5");
}

#[test]
fn issue_3_worked_case_zero_and_negative_averages_never_flag() {
    let out = evaluate(series(&[Some("10"), Some("-10")]));
    assert_eq!(avg(&out[1]), d("0.000000"));
    assert!(out[1].consistent);
    let out = evaluate(series(&[Some("-5"), Some("-5"), Some("-50")]));
    assert_eq!(avg(&out[2]), d("-20.000000"));
    assert!(out.iter().all(|q| q.consistent));
}

#[test]
fn issue_3_worked_case_null_amount_takes_a_slot_but_not_the_average() {
    let out = evaluate(series(&[Some("10"), None, Some("10"), Some("50")]));
    assert_eq!(avg(&out[1]), d("10.000000"));
    assert!(out[1].consistent && !out[1].amount_complete && !out[1].amount_valid);
    assert_eq!(avg(&out[3]), d("23.333333"));
    assert!(!out[3].consistent);
}

#[test]
fn issue_3_worked_case_frame_is_six_rows() {
    let out = evaluate(series(&[
        Some("1000"),
        Some("10"),
        Some("10"),
        Some("10"),
        Some("10"),
        Some("10"),
        Some("10"),
    ]));
    assert_eq!(avg(&out[5]), d("175.000000"), "the 6th row's frame still holds 1000");
    assert!(!out[5].consistent);
    assert_eq!(avg(&out[6]), d("10.000000"), "the 7th row's frame no longer does");
    assert!(out[6].consistent);
}

#[test]
fn issue_3_worked_case_timestamp_ties_break_by_transaction_id() {
    let ts = Some(NOW_S * 1000 - 1_000);
    // Given in the "wrong" order: b first. Sorted, a (100) precedes b (400).
    let out = evaluate(vec![row(Some("b"), "u", Some("400"), ts), row(Some("a"), "u", Some("100"), ts)]);
    let a = out.iter().find(|q| q.record.transaction_id.as_deref() == Some("a")).unwrap();
    let b = out.iter().find(|q| q.record.transaction_id.as_deref() == Some("b")).unwrap();
    assert_eq!((avg(a), a.consistent), (d("100.000000"), true));
    assert_eq!((avg(b), b.consistent), (d("250.000000"), false));
}

#[test]
fn issue_3_worked_case_null_timestamp_sorts_first() {
    let out = evaluate(vec![
        row(Some("late"), "u", Some("10"), Some(NOW_S * 1000 - 5_000)),
        row(Some("none"), "u", Some("1000"), None),
    ]);
    assert_eq!(out[0].record.transaction_id.as_deref(), Some("none"));
    assert!(!out[0].timestamp_complete && !out[0].timestamp_valid);
    assert_eq!(avg(&out[1]), d("505.000000"), "the null-timestamp row precedes it");
    assert!(!out[1].consistent);
}

#[test]
fn issue_3_worked_case_timestamp_boundaries() {
    let cases = [
        ((NOW_S - 86_400) * 1000 - 1, false),
        ((NOW_S - 86_400) * 1000, true),
        (NOW_S * 1000 + 999, true),
        (NOW_S * 1000 + 1000, false),
    ];
    let rows: Vec<Transaction> = cases
        .iter()
        .enumerate()
        .map(|(i, (ts, _))| row(Some(&format!("t{i}")), &format!("u{i}"), Some("1"), Some(*ts)))
        .collect();
    let out = evaluate(rows);
    for (ts, valid) in cases {
        let q = out.iter().find(|q| q.record.timestamp == Some(ts)).unwrap();
        assert_eq!(q.timestamp_valid, valid, "timestamp {ts}");
    }
}

#[test]
fn issue_3_worked_case_empty_ids_duplicate_null_ids_do_not() {
    let ts = |s: i64| Some(NOW_S * 1000 - s * 1000);
    let out = evaluate(vec![
        row(Some(""), "u", Some("1"), ts(1)),
        row(Some(""), "v", Some("2"), ts(2)),
        row(None, "u", Some("3"), ts(3)),
        row(None, "v", Some("4"), ts(4)),
    ]);
    for q in &out {
        let expected_unique = q.record.transaction_id.is_none();
        assert_eq!(q.unique, expected_unique, "{:?}", q.record.transaction_id);
        assert!(!q.transaction_id_complete);
        assert_eq!(q.checks_passed(), if expected_unique { 9 } else { 8 });
    }
}
