//! Issue 7.5: `run --lineage` on a real broker sends one OpenLineage event per committed epoch,
//! each agreeing with the Delta tables and the topic, to a file or an HTTP endpoint; events
//! that cannot be delivered never fail the run; a failed run ends with FAIL.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::kafka_output_support::end_offsets;
use crate::openlineage::validate;
use crate::support::{kafka, read_delta_with, run_trustflow, trustflow, trustflow_env, unique};

const NOW: &str = "1767225600000";

/// A spec whose currency expectation has `action` (quarantine: the quarantine table gets
/// rows; fail: the run stops at the first bad currency).
fn spec(dir: &Path, action: &str) -> String {
    let path = dir.join(format!("spec-{action}.yaml"));
    let text = format!(
        "name: lineage\napp_id: lineage-{action}\nepoch_ms: 100\n\
         source: {{topic: unused, dead_letter_topic: unused-dlq, group: lineage}}\n\
         sink: {{output: unused}}\n\
         expectations:\n  - {{name: currency_iso, column: currency, rule: iso_4217_code, action: {action}}}\n"
    );
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `count` generated events on a new topic of two partitions.
fn topic_with(count: &str) -> String {
    let topic = unique("lineage");
    trustflow(&[
        "generate",
        "--brokers",
        kafka(),
        "--topic",
        &topic,
        "--partitions",
        "2",
        "--count",
        count,
        "--now",
        NOW,
        "--seed",
        "75",
    ]);
    topic
}

fn run_args<'a>(spec: &'a str, topic: &'a str, root: &'a Path, lineage: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--config",
        spec,
        "--brokers",
        kafka(),
        "--topic",
        topic,
        "--output",
        root.to_str().unwrap(),
        "--lineage",
        lineage,
        "--now",
        NOW,
        "--stop-at-end",
        "-w",
        "2",
    ]
}

fn events_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Per `_epoch`, the (inserted, retracted) rows a table stores.
fn changes_by_epoch(table: &Path) -> BTreeMap<u64, (u64, u64)> {
    let report = read_delta_with(table, &["--changes"], &[]);
    let mut by_epoch: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for row in report["stored"].as_array().unwrap() {
        let entry = by_epoch.entry(row["_epoch"].as_u64().unwrap()).or_default();
        match row["_change_type"].as_str().unwrap() {
            "insert" => entry.0 += 1,
            "delete" => entry.1 += 1,
            other => panic!("change type {other}"),
        }
    }
    by_epoch
}

/// Issue 7.5: a bounded run with `--lineage FILE` writes START, one RUNNING per committed
/// epoch and COMPLETE under one run id; each RUNNING names the Delta version and the rows
/// that epoch's commit wrote to each table (as the tables store them), the last one the
/// topic's end offsets; the events validate against the spec.
#[test]
fn issue7_run_sends_an_openlineage_event_per_committed_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let topic = topic_with("6000");
    let root = dir.path().join("out");
    let file = dir.path().join("lineage/events.jsonl");
    let spec = spec(dir.path(), "quarantine");
    let output = trustflow(&run_args(&spec, &topic, &root, file.to_str().unwrap()));
    let stdout = String::from_utf8_lossy(&output.stdout);

    let events = events_in(&file);
    let kinds: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"START"));
    assert_eq!(kinds.last(), Some(&"COMPLETE"));
    assert!(kinds[1..kinds.len() - 1].iter().all(|k| *k == "RUNNING"), "{kinds:?}");
    assert!(kinds.len() >= 3, "at least one epoch committed: {kinds:?}");
    assert!(stdout.contains(&format!("lineage        {} OpenLineage events to", events.len())), "{stdout}");
    let run_id = &events[0]["run"]["runId"];
    for event in &events {
        assert_eq!(&event["run"]["runId"], run_id);
        assert_eq!(event["job"]["namespace"], "trustflow");
        assert_eq!(event["job"]["name"], "lineage-quarantine");
        assert_eq!(event["job"]["facets"]["jobType"]["processingType"], "BATCH");
        let input = &event["inputs"][0];
        assert_eq!(input["namespace"], format!("kafka://{}", kafka().split(',').next().unwrap()));
        assert_eq!(input["name"], topic.as_str());
    }

    // Each epoch event against the tables: per table, the version and the rows of its epoch.
    let root = std::fs::canonicalize(&root).unwrap();
    let tables = ["quality", "quarantine", "quality_windows", "alerts"];
    let stored: BTreeMap<&str, BTreeMap<u64, (u64, u64)>> =
        tables.iter().map(|t| (*t, changes_by_epoch(&root.join(t)))).collect();
    let mut reported: BTreeMap<String, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
    let mut last_version: BTreeMap<String, i64> = BTreeMap::new();
    let mut previous_epoch = 0;
    for event in &events[1..events.len() - 1] {
        let epoch = event["run"]["facets"]["trustflow_epoch"]["epoch"].as_u64().unwrap();
        assert!(epoch > previous_epoch, "epochs are reported in order, once each");
        previous_epoch = epoch;
        for table in event["outputs"].as_array().unwrap() {
            let name = table["name"].as_str().unwrap().to_owned();
            assert_eq!(table["namespace"], "file");
            let changes = &table["outputFacets"]["trustflow_changes"];
            assert_eq!(changes["epoch"].as_u64(), Some(epoch));
            let counts = (changes["inserted"].as_u64().unwrap(), changes["retracted"].as_u64().unwrap());
            let statistics = table["outputFacets"]["outputStatistics"]["rowCount"].as_u64().unwrap();
            assert_eq!(statistics, counts.0 + counts.1, "{name} at epoch {epoch}");
            let version = table["facets"]["version"]["datasetVersion"].as_str().unwrap().parse().unwrap();
            assert!(last_version.get(&name).is_none_or(|v| *v < version), "{name}: versions increase");
            last_version.insert(name.clone(), version);
            reported.entry(name).or_default().insert(epoch, counts);
        }
    }
    for table in tables {
        let name = root.join(table).to_str().unwrap().to_owned();
        let expected: BTreeMap<u64, (u64, u64)> = stored[table].clone();
        let got: BTreeMap<u64, (u64, u64)> = reported
            .get(&name)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, c)| *c != (0, 0))
            .collect();
        assert_eq!(got, expected, "{table}: the rows each epoch event reports are the rows stored");
        let version = read_delta_with(root.join(table), &[], &[])["version"].as_i64().unwrap();
        assert_eq!(
            last_version.get(&name),
            Some(&version),
            "{table}: the last reported version is the table's"
        );
    }
    assert!(!stored["quarantine"].is_empty(), "the quarantine table got rows");

    let last_offsets: Vec<i64> = events[events.len() - 2]["run"]["facets"]["trustflow_epoch"]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["nextOffset"].as_i64().unwrap())
        .collect();
    assert_eq!(last_offsets, end_offsets(kafka(), &topic), "the last epoch read the topic to its end");
    let fields = &events.last().unwrap()["inputs"][0]["facets"]["schema"]["fields"];
    assert!(fields.as_array().is_some_and(|f| f.iter().any(|f| f["name"] == "transactionId")), "{fields}");

    let validated = validate(&file);
    let report = String::from_utf8_lossy(&validated.stdout);
    assert!(validated.status.success(), "{report}\n{}", String::from_utf8_lossy(&validated.stderr));
    assert!(report.contains(&format!("{} valid run events", events.len())), "{report}");
}

/// Issue 7.5: a run stopped by a `fail` expectation ends with FAIL, naming the expectation;
/// the events still validate.
#[test]
fn issue7_failed_run_ends_with_an_openlineage_fail_event() {
    let dir = tempfile::tempdir().unwrap();
    let topic = topic_with("3000");
    let file = dir.path().join("events.jsonl");
    let spec = spec(dir.path(), "fail");
    let output =
        run_trustflow(&run_args(&spec, &topic, &dir.path().join("out"), file.to_str().unwrap()), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("currency_iso"), "{stderr}");
    let events = events_in(&file);
    let last = events.last().unwrap();
    assert_eq!(events[0]["eventType"], "START");
    assert_eq!(last["eventType"], "FAIL");
    let message = last["run"]["facets"]["errorMessage"]["message"].as_str().unwrap();
    assert!(message.contains("currency_iso"), "{message}");
    let validated = validate(&file);
    assert!(validated.status.success(), "{}", String::from_utf8_lossy(&validated.stderr));
}

/// The requests an endpoint received: `Authorization` header and body.
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A one-thread HTTP endpoint answering every request with `status`; it keeps each request's
/// `Authorization` header and body.
fn endpoint(status: u16) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut authorization, mut line) = (0, None, String::new());
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if lower.starts_with("authorization:") {
                    authorization = Some(line["authorization:".len()..].trim().to_owned());
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            kept.lock().unwrap().push((authorization, serde_json::from_slice(&body).unwrap()));
            let reason = if status == 200 { "OK" } else { "Service Unavailable" };
            let answer =
                format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope");
            stream.write_all(answer.as_bytes()).unwrap();
        }
    });
    (url, received)
}

/// Issue 7.5: to an HTTP endpoint, each event is POSTed to /api/v1/lineage with the bearer
/// token from OPENLINEAGE_API_KEY; an endpoint that refuses every event leaves the run and its
/// tables as they would be, and the summary counts what was not delivered.
#[test]
fn issue7_run_posts_openlineage_events_and_survives_a_refusing_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let topic = topic_with("2000");
    let spec = spec(dir.path(), "quarantine");
    let token = [("OPENLINEAGE_API_KEY".to_owned(), "sesame".to_owned())];

    let (url, received) = endpoint(200);
    let root = dir.path().join("accepted");
    let output = trustflow_env(&run_args(&spec, &topic, &root, &url), &token);
    let received = received.lock().unwrap().clone();
    let kinds: Vec<&str> = received.iter().map(|(_, e)| e["eventType"].as_str().unwrap()).collect();
    assert_eq!((kinds.first(), kinds.last()), (Some(&"START"), Some(&"COMPLETE")), "{kinds:?}");
    assert!(received.iter().all(|(auth, _)| auth.as_deref() == Some("Bearer sesame")));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{} OpenLineage events to {url}/api/v1/lineage", kinds.len())),
        "{stdout}"
    );
    assert!(!stdout.contains("sesame") && !String::from_utf8_lossy(&output.stderr).contains("sesame"));

    let (url, refused) = endpoint(503);
    let other = dir.path().join("refused");
    let output = trustflow_env(&run_args(&spec, &topic, &other, &url), &token);
    let attempts = refused.lock().unwrap().len();
    assert!(attempts > 2, "START, the epochs and COMPLETE were each attempted: {attempts}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("0 OpenLineage events to {url}")), "{stdout}");
    assert!(stdout.contains(&format!("{attempts} not delivered")), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("503"));
    let rows = |root: &Path| read_delta_with(root.join("quality"), &[], &[])["consolidated_rows"].clone();
    assert_eq!(rows(&other), rows(&root), "the refused run wrote the same table");
}
