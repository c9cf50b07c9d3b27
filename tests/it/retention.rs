//! Issue 7, item 3: `trustflow retention` on demo tables: exactly the expired rows go (checked
//! with the independent Python reader), a second run commits nothing, other writers' tables
//! are never touched, older versions show the rows until a vacuum; locally and on Azurite.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::maintenance::{demo, fails, json_lines};
use crate::support::{
    azurite, python, read_delta_with, root, run_trustflow, trustflow, trustflow_env, unique,
};

/// `dataflows/governance.yaml`'s retention period, 7 years, in milliseconds.
const SEVEN_YEARS_MS: i64 = 2555 * 86_400_000;

/// The event time retention judges a stored row of `table` by.
fn event_time(table: &str, row: &Value) -> Option<i64> {
    let windowed = table.ends_with("quality_windows") || table.ends_with("alerts");
    let column = if windowed { "window_end" } else { "timestamp" };
    row[column].as_i64()
}

/// "Now" at which about half of the stored rows are older than 7 years: their median event
/// time plus the period.
fn now_expiring_half(stored: &Value) -> i64 {
    let mut times: Vec<i64> =
        stored.as_array().unwrap().iter().filter_map(|r| r["timestamp"].as_i64()).collect();
    times.sort_unstable();
    times[times.len() / 2] + SEVEN_YEARS_MS
}

/// The rows of a read_delta.py list (`stored` or `consolidated`) that retention keeps at `now`:
/// without an event time, or not older than 7 years.
fn kept(report: &Value, key: &str, table: &str, now: i64) -> Vec<Value> {
    let expired = |row: &Value| event_time(table, row).is_some_and(|t| now - t > SEVEN_YEARS_MS);
    report[key].as_array().unwrap().iter().filter(|r| !expired(r)).cloned().collect()
}

/// The `action` report about the table named `table` among a run's JSON lines.
fn report_of<'a>(reports: &'a [Value], action: &str, table: &str) -> &'a Value {
    reports
        .iter()
        .find(|r| r["action"] == action && r["url"].as_str().unwrap().ends_with(&format!("/{table}")))
        .unwrap_or_else(|| panic!("no {action} report for {table}: {reports:?}"))
}

/// A Delta table another writer made (no trustflow description), with ancient event times.
fn write_foreign_table(path: &Path) {
    let script = "import os, sys, pyarrow as pa\nfrom deltalake import write_deltalake\n\
                  write_deltalake(sys.argv[1], pa.table({'timestamp': pa.array([0, 1], pa.int64()), \
                  'note': ['old', 'older']}))\nos._exit(0)";
    let output = Command::new(python()).args(["-c", script]).arg(path).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Issue 7: retention with a --now that expires about half of a demo's data deletes exactly
/// the rows older than the spec's 7 years from quality, its snapshot and the window table
/// (a dry run counts the same and changes nothing), in one DELETE commit each; another
/// writer's table under the root is skipped untouched; older versions still show the rows
/// until `--vacuum`; a second run deletes nothing and commits nothing; errors are clear.
#[test]
fn issue_7_retention_deletes_exactly_the_expired_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    demo(out_s, &[]);
    let snapshot = out.join("quality_current");
    trustflow(&["maintain", &format!("{out_s}/quality"), "--snapshot", snapshot.to_str().unwrap()]);
    let foreign = out.join("foreign");
    write_foreign_table(&foreign);
    let spec = root().join("dataflows/governance.yaml");
    let spec_s = spec.to_str().unwrap();
    let tables = ["quality", "quality_current", "quality_windows", "quarantine", "alerts"];
    let read = |table: &str| read_delta_with(out.join(table), &["--rows", "--changes"], &[]);
    let before: Vec<Value> = tables.iter().map(|t| read(t)).collect();
    let now = now_expiring_half(&before[0]["stored"]);
    let now_s = now.to_string();
    let retention = |extra: &[&str]| {
        let mut args = vec!["retention", out_s, "--config", spec_s, "--now", &now_s, "--json"];
        args.extend_from_slice(extra);
        json_lines(&trustflow(&args).stdout)
    };
    let expected_deletes: Vec<u64> = tables
        .iter()
        .zip(&before)
        .map(|(t, b)| b["rows"].as_u64().unwrap() - kept(b, "stored", t, now).len() as u64)
        .collect();
    for (i, table) in tables[..3].iter().enumerate() {
        let rows = before[i]["rows"].as_u64().unwrap();
        assert!(expected_deletes[i] > 0 && expected_deletes[i] < rows, "{table}: {expected_deletes:?}");
    }

    // A dry run counts what would go and changes nothing.
    let dry = retention(&["--dry-run"]);
    for ((table, b), deletes) in tables.iter().zip(&before).zip(&expected_deletes) {
        let report = report_of(&dry, "retention", table);
        assert_eq!(
            (&report["rows_deleted"], &report["dry_run"]),
            (&json!(deletes), &json!(true)),
            "{report}"
        );
        assert_eq!(report["version"], b["version"]);
    }
    assert_eq!(read("quality")["version"], before[0]["version"]);

    let reports = retention(&[]);
    assert_eq!(
        report_of(&reports, "skipped", "foreign")["reason"]
            .as_str()
            .map(|r| r.contains("not a trustflow table")),
        Some(true)
    );
    for ((table, b), deletes) in tables.iter().zip(&before).zip(&expected_deletes) {
        let report = report_of(&reports, "retention", table);
        assert_eq!(report["rows_deleted"], json!(deletes), "{table}: {report}");
        let after = read(table);
        assert!(
            after["stored"] == json!(kept(b, "stored", table, now)),
            "{table}: not the stored rows minus the expired"
        );
        assert!(
            after["consolidated"] == json!(kept(b, "consolidated", table, now)),
            "{table}: consolidation"
        );
        assert_eq!(after["negative"], json!(0), "{table}");
        let version = b["version"].as_i64().unwrap() + i64::from(*deletes > 0);
        assert_eq!((&after["version"], &report["version"]), (&json!(version), &json!(version)), "{table}");
        if *deletes == 0 {
            assert_eq!(report["committed_version"], Value::Null);
            continue;
        }
        let log =
            std::fs::read_to_string(out.join(table).join(format!("_delta_log/{version:020}.json"))).unwrap();
        let info: Value = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find_map(|a| a.get("commitInfo").cloned())
            .unwrap();
        assert_eq!(info["operation"], json!("DELETE"), "{info}");
        assert_eq!(info["operationMetrics"]["numDeletedRows"], json!(deletes), "{info}");
        assert_eq!(info["trustflow"]["retentionPeriod"], json!("7 years"), "{info}");
        let travel = report_of(&reports, "time_travel", table);
        assert_eq!(travel["files_still_stored"], travel["files_removed"], "{travel}");
    }
    assert_eq!(report_of(&reports, "retention", "quality_windows")["column"], json!("window_end"));
    assert_eq!(report_of(&reports, "retention", "alerts")["column"], json!("window_end"));
    let total = reports.last().unwrap();
    assert_eq!(
        (&total["action"], &total["tables"], &total["skipped"]),
        (&json!("total"), &json!(5), &json!(1))
    );
    assert_eq!(total["rows_deleted"], json!(expected_deletes.iter().sum::<u64>()));
    assert!(!foreign.join("_delta_log/00000000000000000001.json").exists(), "the foreign table was touched");
    assert_eq!(read_delta_with(&foreign, &[], &[])["rows"], json!(2));

    // Time travel to the version before the DELETE still shows the expired rows.
    let quality = out.join("quality");
    let quality_s = quality.to_str().unwrap();
    let previous = before[0]["version"].to_string();
    let old = json_lines(&trustflow(&["query", quality_s, "--version", &previous, "--json"]).stdout);
    assert_eq!(old[0]["rows"], before[0]["rows"]);

    // Again: nothing expired, every file judged by its statistics, no commit.
    let again = retention(&[]);
    for table in tables {
        let report = report_of(&again, "retention", table);
        assert_eq!(
            (&report["rows_deleted"], &report["committed_version"]),
            (&json!(0), &Value::Null),
            "{report}"
        );
        assert_eq!(report["files_skipped"], report["files"], "{report}");
    }
    assert_eq!(read("quality")["version"], json!(before[0]["version"].as_i64().unwrap() + 1));

    // The vacuum deletes the removed files: the old version can no longer be read.
    let removed = report_of(&reports, "retention", "quality")["files_removed"].clone();
    let vacuumed = retention(&["--vacuum", "--retain", "0s", "--allow-short-retention"]);
    assert_eq!(json!(report_of(&vacuumed, "vacuum", "quality")["files"].as_array().unwrap().len()), removed);
    let gone = run_trustflow(&["query", quality_s, "--version", &previous], &[]);
    let stderr = String::from_utf8_lossy(&gone.stderr);
    assert!(!gone.status.success() && !stderr.contains("panicked"), "{stderr}");
    assert!(read("quality")["stored"] == json!(kept(&before[0], "stored", "quality", now)));

    // Clear refusals.
    let plain = root().join("dataflows/quality.yaml");
    let no_period = fails(&["retention", out_s, "--config", plain.to_str().unwrap()], 2);
    assert!(no_period.contains("no governance_policies.data_retention.retention_period"), "{no_period}");
    let not_ours = fails(&["retention", foreign.to_str().unwrap(), "--config", spec_s], 1);
    assert!(not_ours.contains("not a trustflow table"), "{not_ours}");
    let missing = dir.path().join("missing");
    let nothing = fails(&["retention", missing.to_str().unwrap(), "--config", spec_s], 1);
    assert!(nothing.contains("no Delta table at"), "{nothing}");
}

/// Issue 7: on Azure Blob (Azurite), retention with --vacuum deletes exactly the expired
/// rows of the demo's quality table, the vacuum leaves no removed file behind, and a second
/// run commits nothing.
#[test]
fn issue_7_retention_on_azure_blob() {
    let azurite = azurite();
    let root_url = format!("az://trustflow/{}", unique("retention"));
    demo(&root_url, &azurite.env);
    let quality = format!("{root_url}/quality");
    let before = read_delta_with(&quality, &["--rows", "--changes"], &azurite.env);
    let now = now_expiring_half(&before["stored"]).to_string();
    let spec = root().join("dataflows/governance.yaml");
    let args = [
        "retention",
        &root_url,
        "--config",
        spec.to_str().unwrap(),
        "--now",
        &now,
        "--vacuum",
        "--retain",
        "0s",
        "--allow-short-retention",
        "--json",
    ];
    let reports = json_lines(&trustflow_env(&args, &azurite.env).stdout);
    let now: i64 = now.parse().unwrap();
    let kept_rows = kept(&before, "stored", "quality", now);
    let report = report_of(&reports, "retention", "quality");
    assert_eq!(report["rows_deleted"], json!(before["rows"].as_u64().unwrap() - kept_rows.len() as u64));
    assert_eq!(report_of(&reports, "time_travel", "quality")["files_still_stored"], json!(0));
    let after = read_delta_with(&quality, &["--rows", "--changes"], &azurite.env);
    assert!(after["stored"] == json!(kept_rows), "not the stored rows minus the expired");
    assert!(after["consolidated"] == json!(kept(&before, "consolidated", "quality", now)));

    let again = json_lines(&trustflow_env(&args, &azurite.env).stdout);
    let report = report_of(&again, "retention", "quality");
    assert_eq!(
        (&report["rows_deleted"], &report["committed_version"]),
        (&json!(0), &Value::Null),
        "{report}"
    );
}
