//! The recognizers together: context, thresholds, overlaps, and what must never be found.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::record::Transaction;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;

fn recognizers() -> Recognizers {
    Recognizers::new().unwrap()
}

/// (type, matched text, confidence in thousandths) of each finding in `value` under `key`.
fn found(key: &str, value: &str) -> Vec<(PiiType, String, u16)> {
    recognizers()
        .scan_value(value, &format!("metadata.{key}"), Some(key), Some(NOW))
        .into_iter()
        .map(|f| (f.kind, value[f.span()].to_owned(), f.confidence.milli()))
        .collect()
}

#[test]
fn context_in_the_field_name_raises_and_lowers() {
    // Bare ten digits: 0.1 alone, 0.45 under a phone key.
    assert_eq!(found("note", "4155552671"), []);
    assert_eq!(found("phone", "4155552671"), [(PiiType::Phone, "4155552671".into(), 450)]);
    assert_eq!(found("customerPhone", "(415) 555-2671"), [(PiiType::Phone, "(415) 555-2671".into(), 950)]);
    // An id field lowers a phone-shaped value below the threshold.
    assert_eq!(found("order_id", "415-555-2671"), []);
    assert_eq!(found("note", "415-555-2671"), [(PiiType::Phone, "415-555-2671".into(), 500)]);
    // Dates: a birth-date key or word makes a date a date of birth.
    assert_eq!(found("settlement_date", "1985-03-14"), []);
    assert_eq!(found("note", "1985-03-14"), []);
    assert_eq!(found("dob", "1985-03-14"), [(PiiType::DateOfBirth, "1985-03-14".into(), 800)]);
    assert_eq!(found("birthDate", "14.03.1985"), [(PiiType::DateOfBirth, "14.03.1985".into(), 800)]);
    assert_eq!(found("geburtsdatum", "14. März 1985"), [(PiiType::DateOfBirth, "14. März 1985".into(), 800)]);
    // A version field lowers a dotted quad; an IP field raises it.
    assert_eq!(found("app_version", "1.2.3.4"), []);
    assert_eq!(found("client_ip", "203.0.113.7"), [(PiiType::IpAddress, "203.0.113.7".into(), 800)]);
    // SSNs: bare nine digits only with context.
    assert_eq!(found("note", "536228726"), []);
    assert_eq!(found("ssn", "536228726"), [(PiiType::UsSsn, "536228726".into(), 400)]);
    assert_eq!(found("ssn", "536-22-8726"), [(PiiType::UsSsn, "536-22-8726".into(), 850)]);
}

#[test]
fn context_words_next_to_the_match_count_too() {
    assert_eq!(
        found("note", "Kunde geboren am 14.03.1985 in Köln"),
        [(PiiType::DateOfBirth, "14.03.1985".into(), 800)]
    );
    assert_eq!(found("note", "ssn 536 22 8726"), [(PiiType::UsSsn, "536 22 8726".into(), 650)]);
    assert_eq!(found("note", "my phone: 4155552671"), [(PiiType::Phone, "4155552671".into(), 450)]);
}

#[test]
fn evidence_explains_the_confidence() {
    let findings =
        recognizers().scan_value("4111 1111 1111 1111", "metadata.order_ref", Some("order_ref"), None);
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    let sum: i32 = f.evidence.iter().map(|e| i32::from(e.milli)).sum();
    assert_eq!(i32::from(f.confidence.milli()), sum.clamp(0, 1000));
    let text: Vec<String> = f.evidence.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "pattern `card prefix visa` 0.300",
            "luhn +0.500",
            "length issued by the brand +0.150",
            "word `ref` -0.300"
        ]
    );
}

#[test]
fn plain_ids_codes_and_amounts_are_never_pii() {
    for value in [
        "txn-000123",
        "tx-2a-00000001",
        "user-00042",
        "m-4711",
        "USD",
        "EUR",
        "usd",
        "1234.56",
        "-99.90",
        "1,234.56",
        "1.234.567,89",
        "0.00",
        "1767225600000",
        "550e8400-e29b-41d4-a716-446655440000",
        "2026-01-01T12:00:00Z",
        "web",
        "pos",
        "v2.10.3",
        "12:30:45",
        "SKU-12345678",
        "ORDER 2026-000123",
    ] {
        for key in ["transactionId", "note", "merchant", "amount"] {
            assert_eq!(found(key, value), [], "{key}: {value}");
        }
    }
}

#[test]
fn overlapping_matches_keep_the_most_confident() {
    // The IPv4 inside an IPv6 address is not reported on its own.
    assert_eq!(found("note", "::ffff:192.0.2.128"), [(PiiType::IpAddress, "::ffff:192.0.2.128".into(), 600)]);
    // An address field's value is one address, even with a number that looks like a phone.
    let address = found("billing_address", "1 Main St, 020 7946 0958");
    assert_eq!(address.len(), 1);
    assert_eq!(address[0].0, PiiType::Address);
}

#[test]
fn a_record_is_scanned_field_by_field_keys_included() {
    let metadata = BTreeMap::from([
        ("channel".to_owned(), "web".to_owned()),
        ("email".to_owned(), "Contact: jane@example.com".to_owned()),
        ("jdoe@example.org".to_owned(), "true".to_owned()),
        ("customer_name".to_owned(), "Jane Doe".to_owned()),
    ]);
    let record = Transaction {
        origin: None,
        timestamp: Some(NOW),
        transaction_id: Some("tx-1".into()),
        amount: Some("10.00".parse().unwrap()),
        currency: Some("EUR".into()),
        metadata: Some(Arc::new(metadata)),
        user_id: Some("jane@example.com".into()),
    };
    let findings = recognizers().scan(&record);
    let summary: Vec<(&str, bool, PiiType, usize, usize)> =
        findings.iter().map(|f| (f.field.as_str(), f.in_key, f.kind, f.start, f.end)).collect();
    assert_eq!(
        summary,
        [
            ("userId", false, PiiType::Email, 0, 16),
            ("metadata.customer_name", false, PiiType::PersonName, 0, 8),
            ("metadata.email", false, PiiType::Email, 9, 25),
            ("metadata.jdoe@example.org", true, PiiType::Email, 0, 16),
        ]
    );
}

#[test]
fn thresholds_can_be_changed() {
    let strict = recognizers().with_threshold(Confidence::from_milli(900));
    assert!(strict.scan_value("415-555-2671", "note", Some("note"), None).is_empty());
    let lenient = recognizers().with_threshold(Confidence::from_milli(100));
    assert_eq!(lenient.scan_value("4155552671", "note", Some("note"), None).len(), 1);
}
