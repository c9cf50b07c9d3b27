//! README command one: `trustflow run` with nothing installed leaves a table Python can read.

use serde_json::{Value, json};

use crate::support::{COLUMNS, failing_count, read_delta, trustflow};

/// Issue 2: the demo on the in-process mock cluster writes a Delta table whose rows and
/// columns are what the summary printed.
#[test]
fn issue_2_demo_writes_a_table_python_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let table = root.join("quality");
    let summary_path = dir.path().join("summary.json");
    let output = trustflow(&[
        "run",
        "--demo-events",
        "20000",
        "--output",
        root.to_str().unwrap(),
        "--summary-json",
        summary_path.to_str().unwrap(),
        "-w",
        "2",
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("events/s") && printed.contains("failing checks"), "{printed}");

    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["events_in"], json!(20_000));
    let dead: u64 = summary["dead_lettered"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert!(dead > 0, "the demo stream carries garbage: {summary}");
    assert_eq!(summary["transactions"].as_u64().unwrap() + dead, 20_000);

    // The default expectations only warn: nothing quarantined or dropped, and the dashboard's
    // windows add up to every row.
    assert_eq!(summary["table"]["quarantine"]["rows"], json!(0));
    assert_eq!(summary["table"]["dropped"], json!(0));
    assert!(summary["table"]["windows"]["rows"].as_i64().unwrap() > 0);
    // Per expectation, passing and failing verdicts add up to every verdict, and the
    // positive-amount rule fails exactly where amount_validity says INVALID.
    let expectations = summary["table"]["expectations"].as_object().unwrap();
    assert_eq!(expectations.len(), 3, "{expectations:?}");
    for (name, outcome) in expectations {
        let total = outcome["passed"].as_i64().unwrap() + outcome["failed"].as_i64().unwrap();
        assert_eq!(json!(total), summary["transactions"], "{name}");
    }
    assert_eq!(expectations["amount_positive"]["failed"], summary["table"]["failing"]["amount_validity"]);
    let report = read_delta(&table, false);
    assert_eq!(report["columns"], json!(COLUMNS));
    assert_eq!(report["consolidated_rows"], summary["table"]["rows"]);
    assert_eq!(report["consolidated_rows"], summary["transactions"]);
    assert_eq!(report["rows"], summary["table"]["change_rows"]);
    for (column, failing) in summary["table"]["failing"].as_object().unwrap() {
        let counted = failing_count(&report, column);
        assert_eq!(json!(counted), *failing, "{column}");
    }
}

/// Issue 3: with a horizon, the demo over a month of event time keeps only the recent
/// history, sets the rows that arrive beyond it aside in `late_events` with their reason
/// (nothing silently dropped: verdicts plus late rows are every transaction), and reports
/// what its state holds and costs.
#[test]
fn issue_3_horizon_run_sets_late_rows_aside_and_reports_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let summary_path = dir.path().join("summary.json");
    let output = trustflow(&[
        "run",
        "--demo-events",
        "100000",
        "--demo-span",
        "30d",
        "--horizon",
        "2d",
        "--epoch-ms",
        "1",
        "--output",
        root.to_str().unwrap(),
        "--summary-json",
        summary_path.to_str().unwrap(),
    ]);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("late events") && printed.contains("bytes per row held"), "{printed}");

    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    let transactions = summary["transactions"].as_i64().unwrap();
    let table = &summary["table"];
    let late = table["late"]["rows"].as_i64().unwrap();
    assert!(late > 0, "stale rows (2-10 days old) are beyond a 2-day horizon: {summary}");
    assert_eq!(table["rows"].as_i64().unwrap() + late, transactions, "{summary}");
    let by_reason: i64 =
        table["late_by_reason"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(by_reason, late);
    assert!(table["late_by_reason"]["before_horizon"].as_i64().unwrap() > 0, "{summary}");

    let report = read_delta(&root.join("late_events"), false);
    assert_eq!(report["consolidated_rows"], json!(late));
    let columns = report["columns"].as_array().unwrap();
    for column in ["transactionId", "timestamp", "metadata", "reason", "cutoff", "_change_type", "_epoch"] {
        assert!(columns.contains(&json!(column)), "{column} missing from {columns:?}");
    }
    assert_eq!(read_delta(&root.join("quality"), false)["consolidated_rows"], table["rows"]);

    let state = &summary["state"];
    let retained = state["retained_rows"].as_i64().unwrap();
    assert!(retained > 0 && retained < transactions - late, "history was retired: {state}");
    assert!(state["peak_retained_rows"].as_i64().unwrap() >= retained);
    assert!(state["bytes_per_retained_row"].as_u64().is_some(), "{state}");
}
