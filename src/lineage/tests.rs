//! Tests of the event builders and of both emitters (a file, a one-request HTTP server).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::*;
use crate::location::{Location, StorageOptions};

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, second).unwrap()
}

fn job() -> JobInfo {
    JobInfo::new("trustflow", "app-1", Processing::Streaming)
}

fn topic() -> InputTopic {
    InputTopic::transactions("127.0.0.1:19092", "transactions").unwrap()
}

fn tables() -> Vec<OutputTable> {
    let storage = StorageOptions::from_vars([("AZURE_STORAGE_ACCOUNT_NAME".to_owned(), "acct".to_owned())]);
    vec![
        OutputTable::new(TableKind::Quality, &Location::parse("/data/out/quality").unwrap(), &storage)
            .unwrap(),
        OutputTable::new(
            TableKind::Windows,
            &Location::parse("az://lake/out/quality_windows").unwrap(),
            &storage,
        )
        .unwrap(),
    ]
}

fn epoch_event(run_id: Uuid) -> RunEvent {
    let offsets = BTreeMap::from([(0, 120), (1, 98)]);
    let tables = tables();
    let changes: Vec<(u8, isize)> = vec![(1, 2), (2, -1), (3, 1), (4, 0)];
    let committed = [
        tables[0].committed(TableCommit::of(4, &changes)),
        tables[1].committed(TableCommit::of(9, &[((), 5)])),
    ];
    RunEvent::epoch_committed(&job(), run_id, 3, &[topic().at(&offsets)], &committed, at(5)).unwrap()
}

#[test]
fn epoch_event_has_the_spec_shape() {
    let run_id = Uuid::new_v4();
    let json = serde_json::to_value(epoch_event(run_id)).unwrap();
    assert_eq!(json["eventType"], "RUNNING");
    assert_eq!(json["schemaURL"], RUN_EVENT_SCHEMA_URL);
    assert_eq!(json["producer"], PRODUCER);
    // A version-4 UUID in its canonical hyphenated form.
    let id = json["run"]["runId"].as_str().unwrap();
    assert_eq!(Uuid::parse_str(id).unwrap(), run_id);
    assert_eq!((id.len(), &id[14..15]), (36, "4"));
    // RFC 3339 with an explicit zone.
    let time = json["eventTime"].as_str().unwrap();
    assert_eq!(time, "2026-03-01T12:00:05.000Z");
    assert_eq!(DateTime::parse_from_rfc3339(time).unwrap(), at(5));
    assert_eq!(json["job"]["namespace"], "trustflow");
    assert_eq!(json["job"]["name"], "app-1");
    assert_eq!(json["job"]["facets"]["jobType"]["processingType"], "STREAMING");

    let input = &json["inputs"][0];
    assert_eq!(
        (input["namespace"].as_str(), input["name"].as_str()),
        (Some("kafka://127.0.0.1:19092"), Some("transactions"))
    );
    assert_eq!(input["facets"]["schema"]["fields"].as_array().unwrap().len(), 6);

    let epoch = &json["run"]["facets"]["trustflow_epoch"];
    assert_eq!(epoch["epoch"], 3);
    assert_eq!(
        epoch["offsets"][1],
        serde_json::json!({"topic": "transactions", "partition": 1, "nextOffset": 98})
    );

    let quality = &json["outputs"][0];
    assert_eq!(
        (quality["namespace"].as_str(), quality["name"].as_str()),
        (Some("file"), Some("/data/out/quality"))
    );
    assert_eq!(quality["facets"]["version"]["datasetVersion"], "4");
    assert_eq!(
        quality["facets"]["schema"]["fields"].as_array().unwrap().len(),
        crate::sink::columns::COLUMN_NAMES.len()
    );
    assert_eq!(
        quality["facets"]["schema"]["fields"][2],
        serde_json::json!({"name": "amount", "type": "decimal(18,2)"})
    );
    let changes = &quality["outputFacets"]["trustflow_changes"];
    assert_eq!((changes["inserted"].as_u64(), changes["retracted"].as_u64()), (Some(3), Some(1)));
    assert_eq!(quality["outputFacets"]["outputStatistics"]["rowCount"], 4);
    let uniqueness = &quality["facets"]["columnLineage"]["fields"]["uniqueness"]["inputFields"][0];
    assert_eq!(uniqueness["namespace"], "kafka://127.0.0.1:19092");
    assert_eq!(uniqueness["name"], "transactions");
    assert_eq!(uniqueness["field"], "transactionId");
    assert_eq!(uniqueness["transformations"][0]["type"], "DIRECT");
    assert_eq!(uniqueness["transformations"][0]["subtype"], "AGGREGATION");
    let windows = &json["outputs"][1];
    assert_eq!(windows["namespace"], "abfss://lake@acct.dfs.core.windows.net");
    assert_eq!(windows["name"], "out/quality_windows");
    assert_eq!(windows["facets"]["dataSource"]["uri"], "abfss://lake@acct.dfs.core.windows.net");
}

/// Every facet, wherever it sits, has `_producer` and `_schemaURL`.
#[test]
fn every_facet_has_producer_and_schema_url() {
    fn facets_in(value: &Value, found: &mut usize) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "facets" || key == "outputFacets" {
                        for (name, facet) in child.as_object().unwrap() {
                            assert!(facet["_producer"].is_string(), "{name}: no _producer");
                            assert!(
                                facet["_schemaURL"].as_str().is_some_and(|u| u.contains("#/$defs/")),
                                "{name}"
                            );
                            *found += 1;
                        }
                    }
                    facets_in(child, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| facets_in(i, found)),
            _ => {}
        }
    }
    let run_id = Uuid::new_v4();
    let error = std::io::Error::other(LineageError::Naming { what: "x".into(), reason: "y".into() });
    let events = [
        RunEvent::start(&job(), run_id, &[topic()], &tables(), at(0)).unwrap(),
        epoch_event(run_id),
        RunEvent::complete(&job(), run_id, &[topic()], &tables(), at(9)).unwrap(),
        RunEvent::fail(&job(), run_id, &error, &[topic()], &tables(), at(9)).unwrap(),
    ];
    let mut found = 0;
    for event in &events {
        facets_in(&serde_json::to_value(event).unwrap(), &mut found);
    }
    // job type + per dataset schema and dataSource + lineage on outputs, and the extras.
    assert!(found > 30, "{found}");
}

#[test]
fn start_complete_and_fail_events() {
    let run_id = Uuid::new_v4();
    let start = RunEvent::start(&job(), run_id, &[topic()], &tables(), at(0)).unwrap();
    assert_eq!(start.event_type, EventType::Start);
    let engine = start.run.facets.processing_engine.as_ref().unwrap();
    assert_eq!((engine.name.as_str(), engine.version.as_str()), ("trustflow", env!("CARGO_PKG_VERSION")));
    assert!(
        start
            .outputs
            .iter()
            .all(|o| o.facets.version.is_none() && o.output_facets.output_statistics.is_none())
    );
    assert!(start.run.facets.trustflow_epoch.is_none());

    let batch = JobInfo::new("ns", "app", Processing::Batch);
    let complete = RunEvent::complete(&batch, run_id, &[topic()], &tables(), at(9)).unwrap();
    assert_eq!(complete.event_type, EventType::Complete);
    assert_eq!(complete.job.facets.job_type.as_ref().unwrap().processing_type, "BATCH");
    assert_eq!(complete.run.run_id, start.run.run_id);

    let inner = std::io::Error::other("disk full");
    let error = LineageError::Write { path: "/x".into(), source: inner };
    let fail = RunEvent::fail(&job(), run_id, &error, &[topic()], &tables(), at(9)).unwrap();
    let message = fail.run.facets.error_message.as_ref().unwrap();
    assert_eq!(fail.event_type, EventType::Fail);
    assert!(message.message.starts_with("cannot append to the lineage file /x"), "{}", message.message);
    assert_eq!(message.stack_trace.as_deref(), Some("caused by: disk full"));
    assert_eq!(message.programming_language, "RUST");
}

#[test]
fn events_read_back_equal() {
    let event = epoch_event(Uuid::new_v4());
    let line = event.to_json_line().unwrap();
    assert!(!line.contains('\n'));
    let back: RunEvent = serde_json::from_str(&line).unwrap();
    assert_eq!(back, event);
}

#[test]
fn slim_epoch_events_keep_what_changes() {
    let full = epoch_event(Uuid::new_v4());
    let slim = full.clone().without_static_facets();
    let (full_size, slim_size) = (full.to_json_line().unwrap().len(), slim.to_json_line().unwrap().len());
    assert!(slim_size * 10 < full_size, "{slim_size} vs {full_size}");
    assert_eq!(slim.run, full.run);
    assert!(slim.job.facets.job_type.is_none());
    for (s, f) in slim.outputs.iter().zip(&full.outputs) {
        assert_eq!((&s.namespace, &s.name, &s.facets.version), (&f.namespace, &f.name, &f.facets.version));
        assert_eq!(s.output_facets, f.output_facets);
        assert!(
            s.facets.schema.is_none() && s.facets.column_lineage.is_none() && s.facets.data_source.is_none()
        );
    }
    assert!(slim.inputs.iter().all(|i| i.facets == Default::default()));
}

#[test]
fn table_commits_count_inserts_and_retractions() {
    let commit = TableCommit::of(7, &[("a", 3), ("b", -2), ("c", 0), ("d", -1)]);
    assert_eq!(commit, TableCommit { version: 7, inserted: 3, retracted: 3 });
    assert_eq!(TableCommit::of::<()>(1, &[]), TableCommit { version: 1, inserted: 0, retracted: 0 });
}

#[test]
fn the_file_emitter_appends_one_json_line_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/lineage.jsonl");
    let run_id = Uuid::new_v4();
    let start = RunEvent::start(&job(), run_id, &[topic()], &tables(), at(0)).unwrap();
    let epoch = epoch_event(run_id);
    let emitter = LineageEmitter::from_target(path.to_str().unwrap()).unwrap();
    emitter.emit(&start).unwrap();
    emitter.emit(&epoch).unwrap();
    drop(emitter);
    // A second emitter (a restarted process) appends after what is there.
    let url = format!("file://{}", path.display());
    LineageEmitter::from_target(&url).unwrap().emit(&start).unwrap();
    let lines: Vec<RunEvent> = BufReader::new(std::fs::File::open(&path).unwrap())
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect();
    assert_eq!(lines, [start.clone(), epoch, start]);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
}

#[test]
fn bad_targets_are_refused_clearly() {
    for (target, words) in [
        ("", "empty"),
        ("s3://bucket/x", "unsupported scheme `s3://`"),
        ("http://h:1/api?token=secret", "no query"),
        ("https://user:pw@h/api", "password"),
    ] {
        let error = LineageEmitter::from_target(target).unwrap_err().to_string();
        assert!(error.contains(words), "{target}: {error}");
        assert!(!error.contains("secret") && !error.contains("pw@"), "{error}");
    }
    let dir = tempfile::tempdir().unwrap();
    let error = LineageEmitter::from_target(dir.path().to_str().unwrap()).unwrap_err();
    assert!(matches!(error, LineageError::Open { .. }), "{error}");
}

/// One HTTP exchange as the server saw it.
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A server on 127.0.0.1 that reads one request and answers `status` with `answer`.
fn one_request_server(status: &'static str, answer: &'static str) -> (String, JoinHandle<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize =
            headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        stream.flush().unwrap();
        Received {
            request_line: request_line.trim_end().to_owned(),
            headers,
            body: String::from_utf8(body).unwrap(),
        }
    });
    (format!("http://{address}"), handle)
}

#[test]
fn the_http_emitter_posts_json_to_the_lineage_endpoint() {
    let (url, server) = one_request_server("201 Created", "");
    let event = epoch_event(Uuid::new_v4());
    let emitter = LineageEmitter::from_target(&url).unwrap().with_bearer_token("t0ken");
    assert_eq!(emitter.describe(), format!("{url}/api/v1/lineage"));
    assert!(!format!("{emitter:?}").contains("t0ken"));
    emitter.emit(&event).unwrap();
    let received = server.join().unwrap();
    assert_eq!(received.request_line, "POST /api/v1/lineage HTTP/1.1");
    let header = |name: &str| received.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("content-type"), Some("application/json"));
    assert_eq!(header("authorization"), Some("Bearer t0ken"));
    assert_eq!(serde_json::from_str::<RunEvent>(&received.body).unwrap(), event);
}

#[test]
fn an_http_error_status_is_a_clear_error() {
    let (url, server) = one_request_server("422 Unprocessable Entity", "{\"error\": \"runId is required\"}");
    let emitter = LineageEmitter::from_target(&format!("{url}/custom/path")).unwrap();
    let error = emitter.emit(&epoch_event(Uuid::new_v4())).unwrap_err();
    let received = server.join().unwrap();
    assert_eq!(received.request_line, "POST /custom/path HTTP/1.1");
    let LineageError::Status { status, ref body, .. } = error else { panic!("{error}") };
    assert_eq!(status, 422);
    assert!(body.contains("runId is required"));
    let text = error.to_string();
    assert!(text.contains(&format!("{url}/custom/path")) && text.contains("HTTP 422"), "{text}");
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() {
    // A port that was just free: nothing listens there any more.
    let address = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let emitter = LineageEmitter::from_target(&format!("http://{address}/api/v1/lineage")).unwrap();
    let error = emitter.emit(&epoch_event(Uuid::new_v4())).unwrap_err();
    assert!(matches!(error, LineageError::Http { .. }), "{error}");
    assert!(
        error.to_string().starts_with(&format!("cannot POST the lineage event to http://{address}/")),
        "{error}"
    );
}
