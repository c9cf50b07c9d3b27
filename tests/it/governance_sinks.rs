//! Issue 7: the PII policy at every sink, on a real broker: every Delta table and the output
//! topic are scanned for the personal data the generator planted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use trustflow::codec::Decoder;
use trustflow::codec::registry::LocalRegistry;
use trustflow::generate::pii::is_planted_key;
use trustflow::record::Record;

use crate::kafka_output_support::for_each_record;
use crate::support::{kafka, read_delta, read_jsonl, trustflow, unique};

const NOW: &str = "1767225600000";

/// A spec whose currency expectation quarantines (so the quarantine table gets rows) and
/// whose `pii_handling` default is `action`.
fn spec(dir: &Path, action: &str) -> String {
    let path = dir.join(format!("spec-{action}.yaml"));
    let text = format!(
        "name: pii\napp_id: pii-{action}\nepoch_ms: 200\n\
         source: {{topic: unused, dead_letter_topic: unused-dlq, group: pii}}\n\
         sink: {{output: unused}}\n\
         expectations:\n  - {{name: currency_iso, column: currency, rule: iso_4217_code, action: quarantine}}\n\
         governance_policies:\n  pii_handling: {{default: {action}}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Every string in `value`, object keys included.
fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k);
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// The planted values that occur as a whole string anywhere in `values`.
fn leaked<'a>(planted: &BTreeSet<String>, values: &[&'a str]) -> BTreeSet<&'a str> {
    values.iter().copied().filter(|s| planted.contains(*s)).collect()
}

/// Issue 7: each quality row's lineage names the exact Kafka position it was read from: the
/// record at that topic, partition and offset decodes to the row's transactionId and
/// timestamp, with the schema id the row names; the `lineage` trail says the same.
fn lineage_names_the_offsets(brokers: &str, topic: &str, table: &Path) {
    let registry = Arc::new(LocalRegistry::embedded().unwrap());
    let mut decoder = Decoder::new(registry);
    let mut at = BTreeMap::new();
    for_each_record(brokers, topic, false, |record| {
        if let Ok(decoded) = decoder.decode(&record.payload)
            && let Record::Transaction(t) = decoded.record
        {
            at.insert((record.partition, record.offset), (t.transaction_id, t.timestamp, decoded.schema_id));
        }
    });
    let report = read_delta(table, true);
    let rows = report["consolidated"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row["source_topic"], json!(topic));
        let key = (row["source_partition"].as_i64().unwrap() as i32, row["source_offset"].as_i64().unwrap());
        let (id, ts, schema) = at.get(&key).unwrap_or_else(|| panic!("no record at {key:?}: {row}"));
        assert_eq!((&row["transactionId"], &row["timestamp"]), (&json!(id), &json!(ts)), "{key:?}");
        assert_eq!(row["schema_id"], json!(schema));
        let trail: Value = serde_json::from_str(row["lineage"].as_str().unwrap()).unwrap();
        assert_eq!(trail["source"]["offset"], json!(key.1));
        assert_eq!(trail["source"]["partition"], json!(key.0));
    }
    println!("lineage: {} rows name their exact offsets among {} records", rows.len(), at.len());
}

/// Issue 7: with the default policy (mask), no planted personal data reaches the quality,
/// quarantine, window, late-events or snapshot tables, nor the output topic, while every
/// planted row is labelled; with `pii_handling: {default: clear}` the same values do arrive.
#[test]
fn issue_7_no_clear_text_pii_in_any_sink_unless_the_policy_allows_it() {
    let brokers = kafka();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("pii");
    let jsonl = dir.path().join("events.jsonl");
    trustflow(&[
        "generate",
        "--brokers",
        brokers,
        "--topic",
        &topic,
        "--partitions",
        "2",
        "--count",
        "20000",
        "--now",
        NOW,
        "--seed",
        "7",
        "--pii-rate",
        "0.1",
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    let events = read_jsonl(&jsonl);
    let planted: BTreeSet<String> = events
        .iter()
        .filter_map(|t| t.metadata.as_ref())
        .flat_map(|m| m.iter().filter(|(k, _)| is_planted_key(k)).map(|(_, v)| v.clone()))
        .collect();
    let planted_rows = events
        .iter()
        .filter(|t| t.metadata.as_ref().is_some_and(|m| m.keys().any(|k| is_planted_key(k))))
        .count();
    assert!(planted.len() > 1_000, "the generator planted {} values", planted.len());

    for action in ["mask", "clear"] {
        let root = dir.path().join(format!("out-{action}"));
        let out_topic = format!("{topic}-out-{action}");
        trustflow(&[
            "run",
            "--config",
            &spec(dir.path(), action),
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--dead-letter-topic",
            &format!("{topic}-dlq-{action}"),
            "--output",
            root.to_str().unwrap(),
            "--output-topic",
            &out_topic,
            "--horizon",
            "6h",
            "--now",
            NOW,
            "--stop-at-end",
            "-w",
            "2",
        ]);
        let snapshot = root.join("quality_current");
        trustflow(&[
            "maintain",
            root.join("quality").to_str().unwrap(),
            "--snapshot",
            snapshot.to_str().unwrap(),
        ]);

        let mut seen = BTreeSet::new();
        let mut labelled = 0;
        for table in ["quality", "quarantine", "quality_windows", "late_events", "quality_current"] {
            let report = read_delta(&root.join(table), true);
            let rows = report["consolidated"].as_array().unwrap();
            assert!(!rows.is_empty() || table == "quality_windows", "{action}: {table} is empty");
            let mut values = Vec::new();
            strings(&report["consolidated"], &mut values);
            let found = leaked(&planted, &values);
            if action == "mask" {
                assert!(
                    found.is_empty(),
                    "{table} holds clear-text PII: {:?}",
                    found.iter().take(5).collect::<Vec<_>>()
                );
            }
            seen.extend(found.into_iter().map(str::to_owned));
            if table == "quality" || table == "quarantine" {
                labelled +=
                    rows.iter().filter(|r| r["pii_fields"].as_array().is_some_and(|f| !f.is_empty())).count();
                let pii_tagged = rows
                    .iter()
                    .filter(|r| r["classification"].as_array().unwrap().iter().any(|t| t == "PII"))
                    .count();
                let with_fields =
                    rows.iter().filter(|r| !r["pii_fields"].as_array().unwrap().is_empty()).count();
                assert_eq!(pii_tagged, with_fields, "{action} {table}: the PII tag goes with its fields");
            }
        }
        if action == "mask" {
            lineage_names_the_offsets(brokers, &topic, &root.join("quality"));
        }
        let mut records = 0;
        let mut topic_leaks = BTreeSet::new();
        for_each_record(brokers, &out_topic, true, |record| {
            records += 1;
            let mut values = Vec::new();
            strings(&record.value, &mut values);
            topic_leaks.extend(leaked(&planted, &values).into_iter().map(str::to_owned));
        });
        assert!(records > 0, "{action}: the output topic is empty");
        if action == "mask" {
            assert!(topic_leaks.is_empty(), "the output topic holds clear-text PII: {topic_leaks:?}");
            // Every row that got planted data, wherever it went except late_events (which has no
            // label columns), is labelled.
            let late = read_delta(&root.join("late_events"), true)["consolidated"].as_array().unwrap().len();
            assert!(
                labelled + late >= planted_rows,
                "{labelled} labelled + {late} late < {planted_rows} planted"
            );
            assert!(labelled > 0);
            println!(
                "mask: {records} topic records and 5 tables scanned, none of {} planted values found",
                planted.len()
            );
        } else {
            seen.extend(topic_leaks);
            assert_eq!(seen.len(), planted.len(), "clear: every planted value is written as it is");
            println!("clear: all {} planted values found in the sinks", planted.len());
        }
    }
}
