//! The reference features on hand-made histories: window edges, ties, copies, nulls.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::features::{Features, HOUR_MS, MINUTE_MS, compute};
use crate::record::Transaction;

fn row(
    user: Option<&str>,
    id: &str,
    ts: Option<i64>,
    cents: Option<i64>,
    currency: Option<&str>,
) -> Transaction {
    Transaction {
        origin: None,
        timestamp: ts,
        transaction_id: Some(id.to_owned()),
        amount: cents.map(|c| Decimal::new(c, 2)),
        currency: currency.map(str::to_owned),
        metadata: Some(BTreeMap::new().into()),
        user_id: user.map(str::to_owned),
    }
}

fn u(id: &str, ts: i64, cents: i64) -> Transaction {
    row(Some("u"), id, Some(ts), Some(cents), Some("USD"))
}

#[test]
fn windows_exclude_a_row_exactly_w_earlier() {
    let rows = [
        u("a", 0, 100),
        u("b", 1_000, 200),
        u("c", MINUTE_MS, 300),
        u("d", MINUTE_MS + 1, 400),
        u("e", 2 * MINUTE_MS + 1, 500),
    ];
    let f = compute(&rows, &[]);
    let counts: Vec<_> = f.iter().map(|f| f.count[0].unwrap()).collect();
    assert_eq!(counts, [0, 1, 1, 2, 0], "1-minute window (t - 60 s, t]");
    let sums: Vec<_> = f.iter().map(|f| f.sum[0].unwrap()).collect();
    assert_eq!(sums, [0.0, 1.0, 2.0, 5.0, 0.0]);
    assert_eq!(f[4].count[1], Some(4), "all within the hour");
    assert_eq!(f[4].sum[2], Some(10.0));
    assert_eq!(f.iter().map(|f| f.prior_count.unwrap()).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    let hour = [u("a", 0, 100), u("b", HOUR_MS, 100), u("c", HOUR_MS + 1, 100)];
    let f = compute(&hour, &[]);
    assert_eq!((f[1].count[1], f[2].count[1]), (Some(0), Some(1)));
    assert_eq!((f[1].count[2], f[2].count[2]), (Some(1), Some(2)));
}

#[test]
fn ties_in_time_are_ordered_by_transaction_id_and_copies_follow_each_other() {
    let rows = [u("b", 5_000, 100), u("a", 5_000, 300)];
    let f = compute(&rows, &[]);
    assert_eq!((f[1].prior_count, f[0].prior_count), (Some(0), Some(1)), "a before b");
    assert_eq!(f[0].since_previous_s, Some(0.0));
    assert_eq!(f[0].count[0], Some(1), "a tie is inside every window");
    assert_eq!(f[1].since_previous_s, None);
    let copies = [u("x", 1_000, 100), u("x", 1_000, 100)];
    let f = compute(&copies, &[]);
    assert_eq!((f[0].prior_count, f[1].prior_count), (Some(0), Some(1)));
    assert_eq!(f[1].new_currency, Some(false), "the second copy sees the first");
}

#[test]
fn the_result_does_not_depend_on_input_order() {
    let rows: Vec<Transaction> =
        (0..40).map(|i| u(&format!("t{i:02}"), (i * 7_919 % 50) * 10_000, 100 + i * 37 % 500)).collect();
    let forward = compute(&rows, &[]);
    let mut reversed_rows = rows.clone();
    reversed_rows.reverse();
    let mut backward = compute(&reversed_rows, &[]);
    backward.reverse();
    assert_eq!(forward, backward);
}

#[test]
fn running_zscore_is_exact_and_needs_two_amounts() {
    let rows = [u("a", 1, 1_000), u("b", 2, 2_000), u("c", 3, 2_500), u("d", 4, 1_500)];
    let f = compute(&rows, &[]);
    assert_eq!((f[0].zscore, f[1].zscore), (None, None));
    assert_eq!(f[2].zscore, Some(2.0), "(25 - 15) / 5");
    // History 10, 20, 25: mean 55/3, population std sqrt(350/9); (15 - 55/3) / std.
    let expected = (15.0 - 55.0 / 3.0) / (350.0f64 / 9.0).sqrt();
    assert!((f[3].zscore.unwrap() - expected).abs() < 1e-12);
    let flat = [u("a", 1, 500), u("b", 2, 500), u("c", 3, 900)];
    assert_eq!(compute(&flat, &[])[2].zscore, None, "std 0");
}

#[test]
fn ratio_to_the_last_six_skips_null_amounts_and_nonpositive_averages() {
    let mut rows: Vec<Transaction> = (1..=7).map(|i| u(&format!("t{i}"), i, i * 100)).collect();
    rows.push(u("t8", 8, 900));
    let f = compute(&rows, &[]);
    assert_eq!(f[7].ratio_last6, Some(2.0), "9 / mean(2..7)");
    assert_eq!(f[0].ratio_last6, None, "no history");
    let with_null = [u("a", 1, 400), row(Some("u"), "b", Some(2), None, Some("USD")), u("c", 3, 800)];
    let f = compute(&with_null, &[]);
    assert_eq!(f[2].ratio_last6, Some(2.0), "the null amount is not in the average");
    assert_eq!((f[1].ratio_last6, f[1].zscore, f[1].amount), (None, None, None));
    assert_eq!(f[2].count[0], Some(2), "a null amount still counts as a transaction");
    assert_eq!(f[2].sum[0], Some(4.0));
    let negative = [u("a", 1, -500), u("b", 2, 300)];
    assert_eq!(compute(&negative, &[])[1].ratio_last6, None, "average <= 0");
}

#[test]
fn new_currency_needs_history_and_a_currency() {
    let rows = [
        row(Some("u"), "a", Some(1), Some(100), Some("USD")),
        row(Some("u"), "b", Some(2), Some(100), Some("USD")),
        row(Some("u"), "c", Some(3), Some(100), Some("EUR")),
        row(Some("u"), "d", Some(4), Some(100), None),
        row(Some("u"), "e", Some(5), Some(100), Some("")),
        row(Some("u"), "f", Some(6), Some(100), Some("EUR")),
    ];
    let new: Vec<_> = compute(&rows, &[]).iter().map(|f| f.new_currency).collect();
    assert_eq!(new, [None, Some(false), Some(true), None, None, Some(false)]);
}

#[test]
fn rows_without_timestamp_get_only_their_amount_and_users_are_apart() {
    let rows = [
        row(Some("u"), "a", None, Some(700), Some("USD")),
        u("b", 10, 100),
        row(None, "c", Some(10), Some(100), Some("USD")),
        row(None, "d", Some(11), Some(100), Some("USD")),
        row(Some(""), "e", Some(12), Some(100), Some("USD")),
        row(Some("v"), "f", Some(12), Some(100), Some("USD")),
    ];
    let f = compute(&rows, &[]);
    assert_eq!(f[0], Features { amount: Some(7.0), ..Features::default() });
    assert_eq!(f[1].prior_count, Some(0), "the timestamp-less row is in nobody's history");
    assert_eq!(f[3].prior_count, Some(1), "null users form one user");
    assert_eq!((f[4].prior_count, f[5].prior_count), (Some(0), Some(0)), "\"\" is its own user");
}

#[test]
fn hour_of_day_is_utc_and_wraps_below_zero() {
    let rows = [u("a", 3 * HOUR_MS + 5 * MINUTE_MS, 100), row(Some("w"), "b", Some(-HOUR_MS), Some(1), None)];
    let f = compute(&rows, &[]);
    assert_eq!((f[0].hour, f[1].hour), (Some(3), Some(23)));
}
