//! Issue 4: the exactly-once Kafka output topic, on a real broker.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::json;

use trustflow::dataflow::quality::QualityRow;
use trustflow::sink::kafka_out::{progress_topic, transactional_id};
use trustflow::sink::{KafkaOutput, KafkaOutputError, PublishOutcome};
use trustflow::source::KafkaSettings;

use crate::kafka_output_support::{end_offsets, read_topic, verdict};
use crate::support::{kafka, unique};

/// Epoch `n`'s changes: two inserts of its own and the retraction of the previous epoch's.
fn epoch_changes(n: u64) -> Vec<(QualityRow, isize)> {
    let mut changes = vec![(verdict(Some(&format!("tx-{n}-a")), "10.00", "10.000000"), 1)];
    changes.push((verdict(Some(&format!("tx-{n}-b")), "20.50", "15.250000"), 1));
    if n > 1 {
        changes.push((verdict(Some(&format!("tx-{}-a", n - 1)), "10.00", "10.000000"), -1));
    }
    changes
}

/// How many records each epoch has on the topic, by the epoch header.
fn per_epoch(brokers: &str, topic: &str) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for record in read_topic(brokers, topic, true) {
        *counts.entry(record.epoch()).or_default() += 1;
    }
    counts
}

/// Epochs 1..=3 published, the output reopened: it knows epoch 3 is out and refuses to
/// publish 3 (or 2) again, leaving the topic as it was; each epoch's records appear once.
#[test]
fn issue_4_kafka_output_read_committed_sees_each_epoch_once() {
    let brokers = kafka();
    let settings = KafkaSettings::new(brokers);
    let topic = unique("quality-out");
    let mut output = KafkaOutput::open(&settings, &topic, 3, "it-once").unwrap();
    assert_eq!(output.last_published_epoch(), None);
    for n in 1..=3 {
        let outcome = output.publish_epoch(n, &epoch_changes(n)).unwrap();
        let deletes = u64::from(n > 1);
        assert_eq!(outcome, PublishOutcome { epoch: n, records: 2 + deletes, deletes });
    }
    drop(output);

    let mut output = KafkaOutput::open(&settings, &topic, 3, "it-once").unwrap();
    assert_eq!(output.last_published_epoch(), Some(3));
    let before = end_offsets(brokers, &topic);
    for epoch in [3, 2] {
        let refused = output.publish_epoch(epoch, &epoch_changes(epoch)).unwrap_err();
        assert!(matches!(refused, KafkaOutputError::EpochAlreadyPublished { last: 3, .. }), "{refused}");
        assert!(!refused.is_retryable());
    }
    assert_eq!(end_offsets(brokers, &topic), before, "a refused epoch produced something");
    assert_eq!(per_epoch(brokers, &topic), BTreeMap::from([(1, 2), (2, 3), (3, 3)]));
    let progress: Vec<_> =
        read_topic(brokers, &progress_topic(&topic), true).into_iter().map(|r| r.value).collect();
    let expected: Vec<_> = [(1, 2), (2, 3), (3, 3)].map(|(e, m)| json!({"epoch": e, "records": m})).into();
    assert_eq!(progress, expected);
}

/// A run "killed" mid-epoch: its producer began epoch 3's transaction, produced change and
/// progress records and vanished without committing (librdkafka does not end a transaction
/// when the client is destroyed, so dropping it is what SIGKILL leaves behind). Opening the
/// output again fences it and aborts its transaction: the last published epoch is 2 although
/// the progress partition ends with 100 aborted epoch-3 records and a marker; epoch 3 is
/// then published once, and read_committed sees none of the aborted records. A
/// read_uncommitted reader does see them: the test would fail if they had been committed.
#[test]
fn issue_4_kafka_output_fences_a_crashed_producer_and_hides_its_records() {
    let brokers = kafka();
    let settings = KafkaSettings::new(brokers);
    let (topic, app) = (unique("quality-out"), "it-crash");
    let mut first = KafkaOutput::open(&settings, &topic, 2, app).unwrap();
    for n in 1..=2 {
        first.publish_epoch(n, &epoch_changes(n)).unwrap();
    }

    let zombie: BaseProducer =
        settings.config(&[("transactional.id", &transactional_id(app, &topic))]).create().unwrap();
    zombie.init_transactions(Duration::from_secs(30)).unwrap();
    zombie.begin_transaction().unwrap();
    let headers = || {
        rdkafka::message::OwnedHeaders::new()
            .insert(rdkafka::message::Header { key: "trustflow.epoch", value: Some("3") })
    };
    for i in 0..3 {
        let key = format!("zombie-{i}");
        let record = BaseRecord::<str, str>::to(&topic).key(&key).payload(r#"{"change":"insert"}"#);
        zombie.send(record.headers(headers())).unwrap();
    }
    let progress = progress_topic(&topic);
    for _ in 0..100 {
        let record = BaseRecord::<str, str>::to(&progress).partition(0).key(app);
        zombie.send(record.payload(r#"{"epoch":3,"records":3}"#)).unwrap();
    }
    zombie.flush(Duration::from_secs(30)).unwrap();
    drop(zombie);

    let started = Instant::now();
    let mut second = KafkaOutput::open(&settings, &topic, 2, app).unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "open waited for the transaction timeout");
    assert_eq!(second.last_published_epoch(), Some(2));
    assert_eq!(second.publish_epoch(3, &epoch_changes(3)).unwrap().records, 3);

    // The first run's producer was fenced twice over: it cannot publish any more.
    let fenced = first.publish_epoch(3, &epoch_changes(3)).unwrap_err();
    assert!(matches!(fenced, KafkaOutputError::Fenced { .. }), "{fenced:?}");
    assert!(!fenced.is_retryable());
    drop(second);
    assert_eq!(KafkaOutput::open(&settings, &topic, 2, app).unwrap().last_published_epoch(), Some(3));

    let committed = read_topic(brokers, &topic, true);
    assert!(committed.iter().all(|r| !r.key.as_deref().unwrap_or_default().starts_with("zombie")));
    assert_eq!(per_epoch(brokers, &topic), BTreeMap::from([(1, 2), (2, 3), (3, 3)]));
    let progress_epochs: Vec<_> =
        read_topic(brokers, &progress, true).iter().map(|r| r.value["epoch"].clone()).collect();
    assert_eq!(progress_epochs, [json!(1), json!(2), json!(3)]);

    let uncommitted = read_topic(brokers, &topic, false);
    assert_eq!(
        uncommitted.iter().filter(|r| r.key.as_deref().unwrap_or_default().starts_with("zombie")).count(),
        3
    );
    assert_eq!(read_topic(brokers, &progress, false).len(), 103);
}

/// The records themselves: keyed by transactionId (no key for a null one), a retraction
/// carries change=delete in its value and header, a diff of 2 is two identical records,
/// decimals are exact strings at their column's scale, nulls are null.
#[test]
fn issue_4_kafka_output_records_keyed_by_transaction_id_with_exact_decimals() {
    let brokers = kafka();
    let settings = KafkaSettings::new(brokers);
    let topic = unique("quality-out");
    let mut output = KafkaOutput::open(&settings, &topic, 4, "it-format").unwrap();
    let mut retracted = verdict(Some("tx-del"), "0.1", "0.05");
    retracted.unique = false;
    let changes = vec![
        // 18 digits: as a JSON number (f64) it would read 1234567890123456.8.
        (verdict(Some("tx-ins"), "1234567890123456.78", "33.333333"), 1),
        (retracted, -1),
        (verdict(Some("tx-twice"), "-7", "7"), 2),
        (verdict(None, "1", "1"), 1),
    ];
    assert_eq!(
        output.publish_epoch(5, &changes).unwrap(),
        PublishOutcome { epoch: 5, records: 5, deletes: 1 }
    );

    let records = read_topic(brokers, &topic, true);
    let by_key =
        |key: Option<&str>| records.iter().filter(move |r| r.key.as_deref() == key).collect::<Vec<_>>();
    let inserted = &by_key(Some("tx-ins"))[0];
    assert_eq!(inserted.value["change"], "insert");
    assert_eq!(inserted.value["epoch"], 5);
    assert_eq!(inserted.headers["trustflow.change"], "insert");
    assert_eq!(inserted.headers["trustflow.epoch"], "5");
    assert_eq!(inserted.value["row"]["transactionId"], "tx-ins");
    assert_eq!(inserted.value["row"]["amount"], "1234567890123456.78");
    assert_eq!(inserted.value["row"]["avg_transaction_amount"], "33.333333");
    assert_eq!(inserted.value["row"]["timestamp"], 1_767_225_600_000_i64);
    assert_eq!(inserted.value["row"]["metadata"], json!({"channel": "app"}));
    assert_eq!(inserted.value["row"]["checks_passed"], 10);

    let deleted = &by_key(Some("tx-del"))[0];
    assert_eq!(
        (deleted.value["change"].as_str(), deleted.headers["trustflow.change"].as_str()),
        (Some("delete"), "delete")
    );
    assert_eq!(deleted.value["row"]["amount"], "0.10");
    assert_eq!(deleted.value["row"]["avg_transaction_amount"], "0.050000");
    assert_eq!(deleted.value["row"]["uniqueness"], "DUPLICATE");

    let twice = by_key(Some("tx-twice"));
    assert_eq!(twice.len(), 2);
    assert_eq!((twice[0].partition, &twice[0].value), (twice[1].partition, &twice[1].value));
    assert_eq!(twice[0].value["row"]["amount"], "-7.00");
    assert_eq!(twice[0].value["row"]["amount_validity"], "INVALID");

    let keyless = by_key(None);
    assert_eq!(keyless.len(), 1);
    assert_eq!(keyless[0].value["row"]["transactionId"], serde_json::Value::Null);
    assert_eq!(keyless[0].value["row"]["transactionId_completeness"], "INCOMPLETE");
    assert_eq!(records.len(), 5);
}

/// Another app id publishing to the same output pushes this app's progress record far from
/// the partition's end: the reader widens its window until it finds it.
#[test]
fn issue_4_kafka_output_progress_found_behind_other_apps() {
    let brokers = kafka();
    let settings = KafkaSettings::new(brokers);
    let topic = unique("quality-out");
    KafkaOutput::open(&settings, &topic, 1, "it-early").unwrap().publish_epoch(7, &epoch_changes(1)).unwrap();
    let mut busy = KafkaOutput::open(&settings, &topic, 1, "it-busy").unwrap();
    for n in 1..=40 {
        busy.publish_epoch(n, &[]).unwrap();
    }
    assert_eq!(KafkaOutput::open(&settings, &topic, 1, "it-early").unwrap().last_published_epoch(), Some(7));
    assert_eq!(KafkaOutput::open(&settings, &topic, 1, "it-busy").unwrap().last_published_epoch(), Some(40));
    assert_eq!(KafkaOutput::open(&settings, &topic, 1, "it-new").unwrap().last_published_epoch(), None);
}

/// Another app id's transaction left open on the progress partition, before this app's last
/// epoch: read_committed stops at that transaction (the last stable offset), so a reader that
/// took that stop for the end would miss the epoch and publish it again. Opening waits until
/// the open transaction is over (here: its 5 s timeout) and then finds epoch 2.
#[test]
fn issue_4_kafka_output_waits_for_open_transactions_before_the_last_epoch() {
    let brokers = kafka();
    let settings = KafkaSettings::new(brokers);
    let topic = unique("quality-out");
    let mut output = KafkaOutput::open(&settings, &topic, 1, "it-behind").unwrap();
    let other: BaseProducer = settings
        .config(&[("transactional.id", "it-other-zombie"), ("transaction.timeout.ms", "5000")])
        .create()
        .unwrap();
    other.init_transactions(Duration::from_secs(30)).unwrap();
    other.begin_transaction().unwrap();
    let progress = progress_topic(&topic);
    let record = BaseRecord::<str, str>::to(&progress).partition(0).key("it-other");
    other.send(record.payload(r#"{"epoch":1,"records":0}"#)).unwrap();
    other.flush(Duration::from_secs(30)).unwrap();
    drop(other);
    for n in 1..=2 {
        output.publish_epoch(n, &epoch_changes(n)).unwrap();
    }
    drop(output);
    assert_eq!(KafkaOutput::open(&settings, &topic, 1, "it-behind").unwrap().last_published_epoch(), Some(2));
}
