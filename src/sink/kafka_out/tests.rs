//! Tests of the output record format, and of the whole output on librdkafka's mock cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::{Offset, TopicPartitionList};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::record::{ChangeJson, RowJson};
use super::*;
use crate::fraud::score::{FraudScore, Score};
use crate::record::Transaction;
use crate::sink::SinkError;
use crate::sink::columns::{COLUMN_NAMES, OUTPUT_COLUMNS};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A verdict for `id` with `amount`, failing the timestamp and uniqueness checks.
fn row(id: Option<&str>, amount: Option<&str>) -> QualityRow {
    QualityRow {
        record: Transaction {
            origin: None,
            timestamp: Some(1_700_000_000_123),
            transaction_id: id.map(String::from),
            amount: amount.map(dec),
            currency: Some("EUR".into()),
            metadata: Some(
                [("channel".to_owned(), "web".to_owned())].into_iter().collect::<BTreeMap<_, _>>().into(),
            ),
            user_id: Some("u1".into()),
        },
        transaction_id_complete: id.is_some(),
        user_id_complete: true,
        amount_complete: amount.is_some(),
        currency_complete: true,
        timestamp_complete: true,
        amount_valid: amount.is_some_and(|a| dec(a) > Decimal::ZERO),
        currency_valid: true,
        timestamp_valid: false,
        avg_transaction_amount: amount.map(|_| dec("133.333333")),
        consistent: true,
        unique: false,
        fraud: None,
        governance: None,
    }
}

fn value_of(row: &QualityRow, diff: isize, epoch: u64) -> String {
    let json = RowJson::new(row).unwrap();
    serde_json::to_string(&ChangeJson::new(&json, diff, epoch)).unwrap()
}

#[test]
fn change_record_columns_and_values() {
    let mut verdict = row(Some("t-1"), Some("0.1"));
    verdict.avg_transaction_amount = Some(dec("12.5"));
    let text = value_of(&verdict, -1, 7);
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["change"], "delete");
    assert_eq!(value["epoch"], 7);
    let expected = json!({
        "transactionId": "t-1", "userId": "u1", "amount": "0.10", "currency": "EUR",
        "timestamp": 1_700_000_000_123_i64, "metadata": {"channel": "web"},
        "transactionId_completeness": "COMPLETE", "userId_completeness": "COMPLETE",
        "amount_completeness": "COMPLETE", "currency_completeness": "COMPLETE",
        "timestamp_completeness": "COMPLETE", "amount_validity": "VALID", "currency_validity": "VALID",
        "timestamp_validity": "INVALID", "avg_transaction_amount": "12.500000",
        "consistency_check": "CONSISTENT", "uniqueness": "DUPLICATE", "checks_passed": 8, "quality_score": 0.8,
        "fraud_score": null, "risk_category": "UNSCORED", "model_version": null,
        "classification": null, "pii_fields": null,
        "source_topic": null, "source_partition": null, "source_offset": null, "schema_id": null,
        "lineage": crate::sink::lineage::Trail::of(&verdict).to_json().parse::<Value>().unwrap(),
    });
    assert_eq!(value["row"], expected);
    let governor = crate::governance::Governor::masking().unwrap();
    let mut governed = verdict.clone();
    governed.record.metadata =
        Some(std::sync::Arc::new([("email".to_owned(), "jane.doe@example.com".to_owned())].into()));
    (governed.record, governed.governance) = {
        let (record, label) = governor.govern(governed.record);
        (record, Some(label))
    };
    let value: Value = serde_json::from_str(&value_of(&governed, 1, 8)).unwrap();
    assert_eq!(value["row"]["metadata"], json!({"email": "j***@example.com"}));
    assert_eq!(
        value["row"]["classification"],
        json!(["PII", "FINANCIAL", "SENSITIVITY_HIGH", "GDPR", "SOX"])
    );
    assert_eq!(value["row"]["pii_fields"], json!(["metadata.email:email:mask"]));
    verdict.fraud = Some(FraudScore { score: Score(0.875), model_version: 3 });
    let value: Value = serde_json::from_str(&value_of(&verdict, 1, 8)).unwrap();
    assert_eq!(
        (&value["row"]["fraud_score"], &value["row"]["risk_category"], &value["row"]["model_version"]),
        (&json!(0.875), &json!("HIGH"), &json!(3))
    );
    // The columns come in the quality table's order.
    let positions: Vec<usize> =
        COLUMN_NAMES[..OUTPUT_COLUMNS].iter().map(|c| text.find(&format!("\"{c}\":")).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn nulls_and_decimals_that_do_not_fit() {
    let mut nulls = row(None, None);
    nulls.record.metadata = None;
    let value: Value = serde_json::from_str(&value_of(&nulls, 1, 1)).unwrap();
    for column in ["transactionId", "amount", "metadata", "avg_transaction_amount"] {
        assert_eq!(value["row"][column], Value::Null, "{column}");
    }
    assert_eq!(value["change"], "insert");
    // An amount with a third decimal place is not a decimal(18,2): refused, never rounded.
    let rounded = row(Some("t"), Some("1.005"));
    assert!(matches!(RowJson::new(&rounded), Err(SinkError::ValueOutOfRange { column: "amount", .. })));
    let big = row(Some("t"), Some("12345678901234567.00"));
    assert!(RowJson::new(&big).is_err());
}

/// Reads every record of `topic` partition `partition` (the mock has no read_committed).
fn read_all(brokers: &str, topic: &str, partition: i32) -> Vec<(Option<Vec<u8>>, Value, Vec<String>)> {
    let consumer: BaseConsumer = KafkaSettings::new(brokers)
        .config(&[
            ("group.id", "reader"),
            ("enable.partition.eof", "true"),
            ("isolation.level", "read_committed"),
        ])
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    loop {
        match consumer.poll(Duration::from_secs(10)).expect("no EOF within 10 s") {
            Ok(m) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter().map(|h| String::from_utf8_lossy(h.value.unwrap()).into_owned()).collect()
                    })
                    .unwrap_or_default();
                out.push((
                    m.key().map(<[u8]>::to_vec),
                    serde_json::from_slice(m.payload().unwrap()).unwrap(),
                    headers,
                ));
            }
            Err(rdkafka::error::KafkaError::PartitionEOF(_)) => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn publishes_epochs_on_the_mock_cluster() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("out", 1, 1).unwrap();
    cluster.create_topic("out.progress", 1, 1).unwrap();
    let settings = KafkaSettings::new(cluster.bootstrap_servers());
    let mut output = KafkaOutput::open(&settings, "out", 1, "app").unwrap();
    assert_eq!(output.last_published_epoch(), None);
    let changes = vec![(row(Some("a"), Some("1.50")), 2), (row(Some("b"), Some("-5")), -1)];
    let outcome = output.publish_epoch(1, &changes).unwrap();
    assert_eq!(outcome, PublishOutcome { epoch: 1, records: 3, deletes: 1 });
    output.publish_epoch(2, &changes[1..]).unwrap();
    assert!(matches!(
        output.publish_epoch(2, &changes),
        Err(KafkaOutputError::EpochAlreadyPublished { epoch: 2, last: 2 })
    ));
    drop(output);

    let output = KafkaOutput::open(&settings, "out", 1, "app").unwrap();
    assert_eq!(output.last_published_epoch(), Some(2));
    let records = read_all(&cluster.bootstrap_servers(), "out", 0);
    let summary: Vec<(Option<&[u8]>, &str, &str, &str)> = records
        .iter()
        .map(|(k, v, h)| (k.as_deref(), v["change"].as_str().unwrap(), h[0].as_str(), h[1].as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (Some(&b"a"[..]), "insert", "insert", "1"),
            (Some(&b"a"[..]), "insert", "insert", "1"),
            (Some(&b"b"[..]), "delete", "delete", "1"),
            (Some(&b"b"[..]), "delete", "delete", "2"),
        ]
    );
    assert_eq!(records[0].1["row"]["amount"], "1.50");
    let progress = read_all(&cluster.bootstrap_servers(), "out.progress", 0);
    let epochs: Vec<&Value> = progress.iter().map(|(_, v, _)| v).collect();
    assert_eq!(epochs, [&json!({"epoch": 1, "records": 3}), &json!({"epoch": 2, "records": 1})]);
}

/// What the mock cluster does not do, so that the demo's documentation stays true: it hands
/// out a new producer id instead of fencing the old one, writes no transaction markers and
/// serves aborted records to `read_committed` readers. If this test fails, librdkafka's mock
/// learned transactions: update `docs/kafka-output.md`.
#[test]
fn mock_cluster_neither_fences_nor_hides_aborted_records() {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("out", 1, 1).unwrap();
    cluster.create_topic("out.progress", 1, 1).unwrap();
    let settings = KafkaSettings::new(cluster.bootstrap_servers());
    let old: BaseProducer =
        settings.config(&[("transactional.id", &transactional_id("app", "out"))]).create().unwrap();
    old.init_transactions(Duration::from_secs(10)).unwrap();
    old.begin_transaction().unwrap();
    let progress = BaseRecord::<[u8], [u8]>::to("out.progress").partition(0).key(&b"app"[..]);
    old.send(progress.payload(&br#"{"epoch":99,"records":0}"#[..])).unwrap();
    old.flush(Duration::from_secs(10)).unwrap();
    // A real broker aborts the open transaction here and the epoch 99 record disappears.
    let mut output = KafkaOutput::open(&settings, "out", 1, "app").unwrap();
    assert_eq!(output.last_published_epoch(), Some(99));
    output.publish_epoch(100, &[(row(Some("a"), Some("1.00")), 1)]).unwrap();
    // A real broker refuses the fenced producer's commit.
    old.commit_transaction(Duration::from_secs(10)).unwrap();
}
