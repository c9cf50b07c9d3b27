//! Issue 7.5: OpenLineage run events built by `trustflow::lineage` for a realistic run validate
//! against the spec (`scripts/lineage/validate.py`, openlineage-python), and broken ones do not.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use trustflow::lineage::{
    InputTopic, JobInfo, LineageEmitter, OutputTable, Processing, RunEvent, TableCommit, TableKind, Uuid,
};
use trustflow::location::{Location, StorageOptions};

use crate::support::root;

/// The Python of the lineage venv (openlineage-python, jsonschema), set up on first use.
fn lineage_python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let output = Command::new("bash")
            .arg(root().join("scripts/pyenv.sh"))
            .arg("lineage")
            .output()
            .expect("cannot run scripts/pyenv.sh");
        assert!(
            output.status.success(),
            "pyenv.sh lineage failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().trim().to_owned()
    })
}

/// Runs `scripts/lineage/validate.py` over a file of events.
pub fn validate(events: &Path) -> Output {
    Command::new(lineage_python())
        .arg(root().join("scripts/lineage/validate.py"))
        .arg(events)
        .output()
        .expect("cannot run validate.py")
}

/// A run of two epochs over two partitions into the quality, quarantine and window tables
/// (two local, one on Azure), then a restarted run that fails: every event trustflow emits.
fn write_run(events: &Path, root_dir: &Path) -> Vec<RunEvent> {
    let storage =
        StorageOptions::from_vars([("AZURE_STORAGE_ACCOUNT_NAME".to_owned(), "devstoreaccount1".to_owned())]);
    let local = Location::parse(root_dir.to_str().unwrap()).unwrap();
    let azure = Location::parse("az://trustflow/runs/lineage").unwrap();
    let tables = [
        OutputTable::new(TableKind::Quality, &local.join("quality"), &storage).unwrap(),
        OutputTable::new(TableKind::Quarantine, &local.join("quarantine"), &storage).unwrap(),
        OutputTable::new(TableKind::Windows, &azure.join("quality_windows"), &storage).unwrap(),
    ];
    let topic = InputTopic::transactions("127.0.0.1:19092,127.0.0.1:19094", "transactions").unwrap();
    let job = JobInfo::new("trustflow", "lineage-it", Processing::Streaming);
    let time = |s| Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, s).unwrap();
    let run = Uuid::new_v4();
    let epoch1 = BTreeMap::from([(0, 500), (1, 488)]);
    let epoch2 = BTreeMap::from([(0, 1000), (1, 991)]);
    let changes = |inserted: isize, retracted: isize| vec![((), inserted), ((), -retracted)];
    let mut written = vec![
        RunEvent::start(&job, run, std::slice::from_ref(&topic), &tables, time(0)).unwrap(),
        RunEvent::epoch_committed(
            &job,
            run,
            1,
            &[topic.at(&epoch1)],
            &[
                tables[0].committed(TableCommit::of(1, &changes(975, 0))),
                tables[1].committed(TableCommit::of(1, &changes(13, 0))),
                tables[2].committed(TableCommit::of(1, &changes(4, 0))),
            ],
            time(2),
        )
        .unwrap(),
        RunEvent::epoch_committed(
            &job,
            run,
            2,
            &[topic.at(&epoch2)],
            &[
                tables[0].committed(TableCommit::of(2, &changes(1021, 38))),
                tables[2].committed(TableCommit::of(2, &changes(5, 3))),
            ],
            time(4),
        )
        .unwrap(),
        RunEvent::complete(&job, run, &[topic.at(&epoch2)], &tables, time(5)).unwrap(),
    ];
    let restarted = Uuid::new_v4();
    let error = std::io::Error::other("the table's txn is ahead: another run of lineage-it is writing");
    written.push(RunEvent::start(&job, restarted, &[topic.at(&epoch2)], &tables, time(30)).unwrap());
    written.push(RunEvent::fail(&job, restarted, &error, &[topic.at(&epoch2)], &tables, time(31)).unwrap());
    let emitter = LineageEmitter::from_target(events.to_str().unwrap()).unwrap();
    for event in &written {
        emitter.emit(event).unwrap();
    }
    written
}

#[test]
fn issue7_openlineage_events_of_a_run_validate_against_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("lineage.jsonl");
    let written = write_run(&events, &dir.path().join("out"));
    let lines: Vec<Value> =
        std::fs::read_to_string(&events).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = lines.iter().map(|e| e["eventType"].as_str().unwrap()).collect();
    assert_eq!(types, ["START", "RUNNING", "RUNNING", "COMPLETE", "START", "FAIL"]);
    assert_eq!(lines.len(), written.len());
    let windows = &lines[2]["outputs"][1];
    assert_eq!(windows["namespace"], "abfss://trustflow@devstoreaccount1.dfs.core.windows.net");
    assert_eq!(windows["name"], "runs/lineage/quality_windows");
    assert_eq!(lines[2]["inputs"][0]["namespace"], "kafka://127.0.0.1:19092");

    let output = validate(&events);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "validate.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("6 valid run events"), "{stdout}");
    // Every facet was checked against its own definition: 2 epoch facets, the 5 committed
    // tables' changes and versions, a schema per dataset (4 + 4 + 3 + 4 + 4 + 4) and a column
    // lineage per output (3 + 3 + 2 + 3 + 3 + 3).
    // An epoch event without the static facets (schema, column lineage: sent at START) is
    // valid too.
    let slim = dir.path().join("slim.jsonl");
    let slim_event = written[2].clone().without_static_facets();
    std::fs::write(&slim, format!("{}\n", slim_event.to_json_line().unwrap())).unwrap();
    let slim_output = validate(&slim);
    assert!(slim_output.status.success(), "{}", String::from_utf8_lossy(&slim_output.stderr));
    let slim_stdout = String::from_utf8_lossy(&slim_output.stdout);
    assert!(
        slim_stdout.contains("1 valid run events") && !slim_stdout.contains("ColumnLineage"),
        "{slim_stdout}"
    );
    for facet in [
        "TrustflowEpochRunFacet 2",
        "TrustflowChangesOutputDatasetFacet 5",
        "DatasetVersionDatasetFacet 5",
        "OutputStatisticsOutputDatasetFacet 5",
        "SchemaDatasetFacet 23",
        "ColumnLineageDatasetFacet 17",
        "ErrorMessageRunFacet 1",
        "JobTypeJobFacet 6",
        "ProcessingEngineRunFacet 2",
    ] {
        assert!(stdout.contains(facet), "{facet} in {stdout}");
    }
}

/// The validator rejects what the spec rejects, each with the place and the reason.
#[test]
fn issue7_openlineage_validation_rejects_broken_events() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("lineage.jsonl");
    write_run(&events, &dir.path().join("out"));
    let epoch: Value =
        serde_json::from_str(std::fs::read_to_string(&events).unwrap().lines().nth(1).unwrap()).unwrap();
    type Breakage = fn(&mut Value);
    let cases: [(&str, Breakage, &str); 7] = [
        ("no runId", |e| drop(e["run"].as_object_mut().unwrap().remove("runId")), "required field `runId`"),
        ("runId not a UUID", |e| e["run"]["runId"] = "run-1".into(), "Run: ValueError"),
        ("unknown eventType", |e| e["eventType"] = "PAUSED".into(), "'PAUSED' is not one of"),
        ("no time zone", |e| e["eventTime"] = "2026-03-01T09:30:02".into(), "$.eventTime"),
        (
            "facet without _producer",
            |e| drop(e["inputs"][0]["facets"]["schema"].as_object_mut().unwrap().remove("_producer")),
            "$.inputs[0].facets.schema: `_producer` is required",
        ),
        (
            "custom facet with a negative count",
            |e| e["outputs"][0]["outputFacets"]["trustflow_changes"]["retracted"] = (-1).into(),
            "TrustflowChangesOutputDatasetFacet: -1 is less than the minimum of 0",
        ),
        (
            "column lineage without a field",
            |e| {
                let input =
                    &mut e["outputs"][0]["facets"]["columnLineage"]["fields"]["uniqueness"]["inputFields"][0];
                input.as_object_mut().unwrap().remove("field");
            },
            "required field `field` of InputField",
        ),
    ];
    for (what, break_it, expected) in cases {
        let mut broken = epoch.clone();
        break_it(&mut broken);
        let file = dir.path().join("broken.jsonl");
        let valid_first = std::fs::read_to_string(&events).unwrap().lines().next().unwrap().to_owned();
        std::fs::write(&file, format!("{valid_first}\n{broken}\n")).unwrap();
        let output = validate(&file);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{what}: accepted\n{stderr}");
        assert!(stderr.contains("broken.jsonl:2:"), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: expected `{expected}` in {stderr}");
    }
}
