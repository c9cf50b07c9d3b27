//! Tests of retention (expired rows deleted by a rewrite in one commit) on changelogs in
//! temporary directories.

use std::path::Path;

use deltalake::arrow::datatypes::{DataType, Field, Schema};
use serde_json::{Value, json};

use super::retention::{ByStats, by_stats, event_time_column};
use super::tests::{data_rows, verdict};
use super::*;
use crate::dataflow::quality::QualityRow;
use crate::governance::policy::RetentionPeriod;
use crate::location::{Location, StorageOptions};
use crate::sink::{ChangeRow, QualitySink};

const DAY: i64 = 86_400_000;
/// "Now" of these tests: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;

fn local() -> StorageOptions {
    StorageOptions::default()
}

fn options(period: &str, dry_run: bool) -> RetentionOptions {
    RetentionOptions { period: RetentionPeriod::parse(period).unwrap(), now_ms: NOW, dry_run }
}

/// A verdict for `id` whose event time is `days_old` days (plus `extra_ms`) before NOW.
fn aged(id: &str, days_old: i64, extra_ms: i64) -> QualityRow {
    let mut row = verdict(id, "5.00", true);
    row.record.timestamp = Some(NOW - days_old * DAY - extra_ms);
    row
}

/// The data files in a local table directory, sorted.
fn parquet_files(table: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(table)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    files.sort();
    files
}

/// The actions of commit `version` of a local table.
fn commit(table: &str, version: i64) -> Vec<Value> {
    let log =
        std::fs::read_to_string(Path::new(table).join(format!("_delta_log/{version:020}.json"))).unwrap();
    log.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The rows of a table without change columns (a snapshot), decoded and sorted.
async fn snapshot_rows(url: &str) -> Vec<QualityRow> {
    data_rows(&read_at(url, &local(), AsOf::Latest).await.unwrap().batches)
}

async fn changes(path: &str) -> Vec<ChangeRow> {
    let mut rows = QualitySink::open(path, "reader").await.unwrap().read_changes().await.unwrap();
    rows.sort();
    rows
}

#[test]
fn statistics_decide_what_is_read() {
    let o = options("30d", false);
    let fresh = NOW - DAY;
    let old = NOW - 31 * DAY;
    let stats = |min: i64, max: i64, nulls: u64, records: u64| {
        json!({"numRecords": records, "minValues": {"timestamp": min}, "maxValues": {"timestamp": max},
               "nullCount": {"timestamp": nulls}})
        .to_string()
    };
    assert_eq!(by_stats(Some(&stats(fresh, fresh, 0, 5)), "timestamp", &o), ByStats::Keep);
    assert_eq!(by_stats(Some(&stats(old, old, 0, 5)), "timestamp", &o), ByStats::AllExpired(5));
    assert_eq!(by_stats(Some(&stats(old, fresh, 0, 5)), "timestamp", &o), ByStats::Read);
    // A null event time is kept: an old file with a null must be read.
    assert_eq!(by_stats(Some(&stats(old, old, 1, 5)), "timestamp", &o), ByStats::Read);
    // Exactly the period old is kept; one millisecond more expires.
    let edge = NOW - 30 * DAY;
    assert_eq!(by_stats(Some(&stats(edge, edge, 0, 2)), "timestamp", &o), ByStats::Keep);
    assert_eq!(by_stats(Some(&stats(edge - 1, edge - 1, 0, 2)), "timestamp", &o), ByStats::AllExpired(2));
    let all_null = json!({"numRecords": 3, "minValues": {}, "maxValues": {}, "nullCount": {"timestamp": 3}});
    assert_eq!(by_stats(Some(&all_null.to_string()), "timestamp", &o), ByStats::Keep);
    assert_eq!(by_stats(None, "timestamp", &o), ByStats::Read);
    assert_eq!(by_stats(Some("not json"), "timestamp", &o), ByStats::Read);
    assert_eq!(by_stats(Some(r#"{"numRecords": 4}"#), "timestamp", &o), ByStats::Read);
    // Statistics of another column say nothing.
    assert_eq!(by_stats(Some(&stats(old, old, 0, 5)), "window_end", &o), ByStats::Read);
}

#[test]
fn the_event_time_column_per_table_kind() {
    let long = |name: &str| Field::new(name, DataType::Int64, true);
    let windows = Schema::new(vec![long("window_start"), long("window_end"), long("total_records")]);
    assert_eq!(event_time_column(&windows), Ok("window_end"));
    let quality = Schema::new(vec![Field::new("transactionId", DataType::Utf8, true), long("timestamp")]);
    assert_eq!(event_time_column(&quality), Ok("timestamp"));
    let text = Schema::new(vec![Field::new("timestamp", DataType::Utf8, true)]);
    assert!(event_time_column(&text).unwrap_err().contains("not epoch milliseconds"));
    assert!(event_time_column(&Schema::new(vec![long("x")])).unwrap_err().contains("no event-time column"));
}

/// Issue 7: retention deletes exactly the expired change rows (an expired insert and its
/// retraction both), leaves files without expired rows untouched, only removes files that
/// are entirely expired, rewrites mixed files, all in one DELETE commit; dry runs count the
/// same without writing; a second run deletes nothing and commits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_7_retention_deletes_exactly_the_expired_rows() {
    let mut no_time = aged("n", 0, 0);
    no_time.record.timestamp = None;
    let epochs = [
        // 1: all expired (40 and 35 days old).
        vec![(aged("a", 40, 0), 1), (aged("b", 35, 0), 1)],
        // 2: all fresh, and a row without event time.
        vec![(aged("c", 1, 0), 1), (no_time.clone(), 1)],
        // 3: mixed: the retraction of the expired `a`, a correction of it, and a fresh row.
        vec![(aged("a", 40, 0), -1), (aged("a2", 40, 0), 1), (aged("d", 2, 0), 2)],
        // 4: exactly the period old (kept) and a millisecond older (expired).
        vec![(aged("e", 30, 0), 1), (aged("f", 30, 1), 1)],
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    for (i, changes) in epochs.iter().enumerate() {
        sink.commit_epoch(i as u64 + 1, changes).await.unwrap();
    }
    let before = changes(&path).await;
    let files_before = parquet_files(&path);
    assert_eq!(files_before.len(), 4);
    let o = options("30d", false);
    let expected: Vec<ChangeRow> =
        before.iter().filter(|c| !o.expired(c.row.record.timestamp)).cloned().collect();
    let expired = before.len() - expected.len();
    assert_eq!(expired, 5, "a, b, a's retraction, a2, f");

    let dry = expire(&path, &local(), &options("30d", true)).await.unwrap();
    assert_eq!((dry.rows_deleted, dry.files_removed, dry.files_rewritten), (5, 3, 2), "{dry:?}");
    assert_eq!((dry.version, dry.committed_version, dry.files_added), (4, None, 0));
    assert_eq!(changes(&path).await, before, "a dry run changes nothing");

    let outcome = expire(&path, &local(), &o).await.unwrap();
    assert_eq!(
        (
            outcome.rows_deleted,
            outcome.files,
            outcome.files_removed,
            outcome.files_rewritten,
            outcome.files_added
        ),
        (5, 4, 3, 2, 1),
        "{outcome:?}"
    );
    assert_eq!((outcome.files_skipped, outcome.files_read), (1, 2), "epoch 1 by stats, 2 untouched");
    assert_eq!((outcome.version, outcome.committed_version), (5, Some(5)));
    assert_eq!(outcome.rows_copied, 3, "d twice and e");
    assert_eq!(outcome.column, "timestamp");
    assert_eq!(outcome.cutoff_ms, NOW - 30 * DAY);
    assert_eq!(changes(&path).await, expected, "the remaining rows (epochs included)");
    let state = read_at(&path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(consolidate(&state.schema, &state.batches, 100).unwrap().0.negative, 0);

    // One commit: removes with dataChange, one add, DELETE with its predicate and metrics.
    let actions = commit(&path, 5);
    let removes: Vec<&Value> = actions.iter().filter_map(|a| a.get("remove")).collect();
    let adds: Vec<&Value> = actions.iter().filter_map(|a| a.get("add")).collect();
    assert_eq!((removes.len(), adds.len()), (3, 1));
    assert!(removes.iter().all(|r| r["dataChange"] == json!(true)));
    let info = actions.iter().find_map(|a| a.get("commitInfo")).unwrap();
    assert_eq!(info["operation"], json!("DELETE"));
    let predicate = info["operationParameters"]["predicate"].as_str().unwrap();
    assert!(predicate.starts_with(&format!("timestamp < {}", NOW - 30 * DAY)), "{predicate}");
    assert_eq!(info["operationMetrics"]["numDeletedRows"], json!(5));
    assert_eq!(info["trustflow"]["maintenance"], json!("retention"));
    assert_eq!(info["trustflow"]["retentionDays"], json!(30));
    // The fresh file (epoch 2) is untouched, the entirely expired one (epoch 1) only removed.
    let live: Vec<String> = parquet_files(&path)
        .into_iter()
        .filter(|f| !removes.iter().any(|r| r["path"].as_str() == Some(f.as_str())))
        .collect();
    assert_eq!(live.len(), 2, "{live:?}");
    assert_eq!(still_stored(&path, &local(), &outcome.removed).await.unwrap().len(), 3);

    // Again: nothing expired, no commit.
    let again = expire(&path, &local(), &o).await.unwrap();
    assert_eq!((again.rows_deleted, again.files_removed, again.version), (0, 0, 5), "{again:?}");
    assert_eq!(again.files_skipped, 2, "both files are judged by their statistics");
    assert!(!Path::new(&path).join("_delta_log/00000000000000000006.json").exists());

    // Time travel before the DELETE still sees the expired rows, until a vacuum.
    let old = read_at(&path, &local(), AsOf::Version(4)).await.unwrap();
    assert_eq!(old.batches.iter().map(|b| b.num_rows()).sum::<usize>(), before.len());
    vacuum(
        &path,
        &local(),
        &VacuumOptions {
            retention: Some(std::time::Duration::ZERO),
            dry_run: false,
            allow_short_retention: true,
        },
    )
    .await
    .unwrap();
    assert!(still_stored(&path, &local(), &outcome.removed).await.unwrap().is_empty());
    assert_eq!(changes(&path).await, expected);
}

/// Issue 7: a snapshot (no change columns) loses its expired rows the same way, and stays
/// the consolidation of the changelog after retention on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_7_retention_on_a_snapshot_matches_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let current = dir.path().join("quality_current").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    sink.commit_epoch(1, &[(aged("a", 100, 0), 1), (aged("b", 3, 0), 1)]).await.unwrap();
    sink.commit_epoch(2, &[(aged("a", 100, 0), -1), (aged("a", 100, 5), 1), (aged("c", 0, 0), 1)])
        .await
        .unwrap();
    snapshot(&path, &current, &local()).await.unwrap();
    let o = options("90 days", false);
    let on_snapshot = expire(&current, &local(), &o).await.unwrap();
    assert_eq!((on_snapshot.rows_deleted, on_snapshot.files_rewritten), (1, 1), "{on_snapshot:?}");
    expire(&path, &local(), &o).await.unwrap();
    let rebuilt = dir.path().join("rebuilt").to_str().unwrap().to_owned();
    snapshot(&path, &rebuilt, &local()).await.unwrap();
    assert_eq!(snapshot_rows(&current).await, snapshot_rows(&rebuilt).await);
    assert_eq!(snapshot_rows(&current).await.len(), 2);
}

/// Issue 7: a table trustflow did not create is never touched; a root lists its tables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_7_retention_refuses_other_tables_and_finds_a_roots_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    sink.commit_epoch(1, &[(aged("a", 100, 0), 1)]).await.unwrap();
    // Another writer's table with the same columns.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let url = deltalake::ensure_table_uri(other.to_str().unwrap()).unwrap();
    let table = deltalake::DeltaTable::try_from_url(url.clone()).await.unwrap();
    crate::sink::table::create(&table, &url, crate::sink::delta_fields().unwrap(), "someone else's", None)
        .await
        .unwrap();
    let error = expire(other.to_str().unwrap(), &local(), &options("1d", false)).await.unwrap_err();
    assert!(matches!(error, MaintainError::NotTrustflow { .. }) && !error.is_retryable(), "{error}");
    assert!(error.to_string().contains("someone else's"), "{error}");

    std::fs::create_dir(dir.path().join("_not_a_table")).unwrap();
    let root = Location::parse(dir.path().to_str().unwrap()).unwrap();
    let found: Vec<String> =
        tables_at(&root, &local()).await.unwrap().iter().map(|l| l.name().unwrap()).collect();
    assert_eq!(found, ["other", "quality"]);
    let one = tables_at(&Location::parse(&path).unwrap(), &local()).await.unwrap();
    assert_eq!(one.len(), 1);
    let empty = Location::parse(dir.path().join("_not_a_table").to_str().unwrap()).unwrap();
    assert!(matches!(tables_at(&empty, &local()).await, Err(MaintainError::NoTables { .. })));
}
