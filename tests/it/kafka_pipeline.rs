//! The spine on a real Kafka broker: generate, run with 1 and 2 workers, read back in Python.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};

use trustflow::dataflow::quality::reference;
use trustflow::generate::Truth;

use crate::support::{
    COLUMNS, DATA_COLUMNS, canonical, expected_row, failing_count, first_difference, kafka, read_delta,
    read_jsonl, trustflow, unique,
};

const NOW: &str = "1767225600000";
const EVENTS: u64 = 100_000;

/// Issue 2: 100k generated events on a 4-partition topic of a real broker, `-w 2`: every
/// decodable event lands exactly once with the flags the generator planted, every garbage
/// record lands in the dead-letter topic with its reason, and `-w 1` gives the same table.
#[test]
fn issue_2_real_kafka_every_event_once_with_planted_flags() {
    let brokers = kafka();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("tx");
    let jsonl = dir.path().join("events.jsonl");
    let truth_path = dir.path().join("truth.json");
    let count = EVENTS.to_string();
    trustflow(&[
        "generate",
        "--brokers",
        brokers,
        "--topic",
        &topic,
        "--partitions",
        "4",
        "--count",
        &count,
        "--now",
        NOW,
        "--seed",
        "2",
        "--jsonl",
        jsonl.to_str().unwrap(),
        "--truth",
        truth_path.to_str().unwrap(),
    ]);
    let truth: Truth = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    assert_eq!(truth.events, EVENTS);

    let tables: Vec<_> = ["2", "1"]
        .iter()
        .map(|workers| {
            let root = dir.path().join(format!("out-w{workers}"));
            let summary = dir.path().join(format!("summary-w{workers}.json"));
            let dlq = format!("{topic}-dlq-w{workers}");
            trustflow(&[
                "run",
                "--brokers",
                brokers,
                "--topic",
                &topic,
                "--dead-letter-topic",
                &dlq,
                "--output",
                root.to_str().unwrap(),
                "--now",
                NOW,
                "--stop-at-end",
                "--epoch-ms",
                "200",
                "-w",
                workers,
                "--summary-json",
                summary.to_str().unwrap(),
                "--app-id",
                &format!("it-w{workers}"),
            ]);
            let summary: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
            assert_eq!(summary["events_in"], json!(EVENTS), "w{workers}: {summary}");
            assert_eq!(summary["transactions"], json!(truth.transactions), "w{workers}");
            root.join("quality")
        })
        .collect();

    let report = read_delta(&tables[0], true);
    assert_eq!(report["columns"], json!(COLUMNS));
    assert_eq!(report["negative"], json!(0));
    assert_eq!(report["consolidated_rows"], json!(truth.transactions), "every decodable event exactly once");
    assert!(report["txn"]["it-w2"].as_u64().is_some(), "commits carry the app's txn: {}", report["txn"]);

    // Flags: the generator's planted problems, counted by its own ledger.
    for (column, expected) in &truth.failing {
        let failing = failing_count(&report, column);
        assert_eq!(failing, *expected, "{column}: {}", report["flag_counts"]);
    }
    // Every row, consistency included, equals a from-scratch evaluation of what was sent.
    let sent = read_jsonl(&jsonl);
    assert_eq!(sent.len() as u64, truth.transactions);
    let expected: Vec<String> = reference::evaluate(&sent, NOW.parse().unwrap())
        .iter()
        .map(expected_row)
        .map(|r| canonical(&r))
        .collect();
    let mut actual: Vec<String> = report["consolidated"].as_array().unwrap().iter().map(canonical).collect();
    let mut expected = expected;
    actual.sort();
    expected.sort();
    assert!(
        actual == expected,
        "consolidated table differs from the reference: first difference {:?}",
        first_difference(&actual, &expected)
    );

    // -w 1 gives the identical consolidated table.
    let single = read_delta(&tables[1], true);
    assert!(single["consolidated"] == report["consolidated"], "-w 1 and -w 2 tables differ");

    // Issue 3: batch mode over the same events equals the consolidated stream, row for row.
    let batch = dir.path().join("batch");
    trustflow(&[
        "batch",
        "--input",
        jsonl.to_str().unwrap(),
        "--output",
        batch.to_str().unwrap(),
        "--now",
        NOW,
    ]);
    let batch = read_delta(&batch, true);
    assert_eq!(batch["columns"], json!(COLUMNS[..DATA_COLUMNS]));
    // Row for row but for the lineage columns (batch rows were not read from Kafka).
    let without_lineage = |report: &Value| {
        let mut rows: Vec<String> =
            report["consolidated"].as_array().unwrap().iter().map(canonical).collect();
        rows.sort();
        rows
    };
    assert!(
        without_lineage(&batch) == without_lineage(&report),
        "batch output differs from the consolidated stream"
    );
    assert!(
        batch["consolidated"][0]["source_offset"].is_null()
            && report["consolidated"][0]["source_offset"].is_i64()
    );

    // Garbage: in the dead-letter topic, with the reasons the generator planted.
    for workers in ["1", "2"] {
        let reasons = dead_letter_reasons(brokers, &format!("{topic}-dlq-w{workers}"), truth.garbage_total());
        assert_eq!(reasons, truth.garbage, "dead-letter reasons, -w {workers}");
    }
}

/// Reads `expected` records of the dead-letter topic and counts their reason headers, checking
/// that each names its source topic, partition, offset and schema id.
fn dead_letter_reasons(brokers: &str, topic: &str, expected: u64) -> BTreeMap<String, u64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "it-dlq")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment.add_partition_offset(topic, partition.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut reasons = BTreeMap::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while seen < expected && std::time::Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
        let message = message.unwrap();
        let headers = message.headers().expect("dead letters carry headers");
        let header = |name: &str| {
            headers
                .iter()
                .find(|h| h.key == name)
                .and_then(|h| h.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        for name in [
            "trustflow.source.topic",
            "trustflow.source.partition",
            "trustflow.source.offset",
            "trustflow.error",
        ] {
            assert!(header(name).is_some_and(|v| !v.is_empty()), "dead letter without {name}");
        }
        *reasons.entry(header("trustflow.reason").unwrap()).or_default() += 1;
        seen += 1;
    }
    // Nothing beyond the expected records either.
    assert!(consumer.poll(Duration::from_secs(1)).is_none(), "more dead letters than garbage sent");
    reasons
}
