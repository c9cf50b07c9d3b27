//! Tests of compaction, vacuum and log checkpoints on changelogs in temporary directories.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::tests::{changelog, verdict};
use super::*;
use crate::dataflow::quality::QualityRow;
use crate::location::StorageOptions;
use crate::sink::QualitySink;

fn local() -> StorageOptions {
    StorageOptions::default()
}

/// The data files (`*.parquet` outside `_delta_log`) in a local table directory, sorted.
fn parquet_files(table: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(table)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".parquet"))
        .collect();
    files.sort();
    files
}

/// `n` epochs of one row each; every third retracts the row before it.
fn many_epochs(n: usize) -> Vec<Vec<(QualityRow, isize)>> {
    (0..n)
        .map(|i| {
            let row = verdict(&format!("t{i}"), "5.00", true);
            if i % 3 == 2 {
                vec![(verdict(&format!("t{}", i - 1), "5.00", true), -1), (row, 1)]
            } else {
                vec![(row, 1)]
            }
        })
        .collect()
}

/// Issue 4: compaction rewrites many small files into one without changing a row (epochs
/// included), commits with dataChange false, and the pipeline's sink keeps appending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_4_compaction_keeps_the_rows_and_reduces_the_files() {
    let (_dir, path) = changelog(&many_epochs(30)).await;
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let before = sink.read_changes().await.unwrap();
    assert_eq!(parquet_files(&path).len(), 30);

    let outcome = compact(&path, &local(), None).await.unwrap();
    assert_eq!((outcome.files_removed, outcome.files_added, outcome.version), (30, 1, 31), "{outcome:?}");
    assert_eq!(outcome.rows, before.len() as u64);
    assert!(outcome.bytes_added < outcome.bytes_removed, "{outcome:?}");
    let log = std::fs::read_to_string(Path::new(&path).join("_delta_log/00000000000000000031.json")).unwrap();
    let actions: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let files: Vec<&Value> =
        actions.iter().filter_map(|a| a.get("add").or_else(|| a.get("remove"))).collect();
    assert_eq!(files.len(), 31);
    assert!(files.iter().all(|f| f["dataChange"] == json!(false)), "{log}");
    assert!(log.contains("\"operation\":\"OPTIMIZE\""), "{log}");

    // The sink opened before the compaction commits its next epoch on top of it.
    sink.commit_epoch(31, &[(verdict("late", "1.00", true), 1)]).await.unwrap();
    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!((reopened.version(), reopened.last_committed_epoch()), (32, Some(31)));
    let mut after = reopened.read_changes().await.unwrap();
    after.retain(|c| c.epoch != 31);
    let (mut before, mut after) = (before, after);
    before.sort();
    after.sort();
    assert_eq!(after, before, "the rows, with their epochs, are unchanged");
    let state = read_at(&path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(consolidate(&state.schema, &state.batches, 1000).unwrap().0.consolidated, 21);

    // The compacted file and the new one are still small: packed again. Then one file is
    // left, and with a 1-byte target no file is small: nothing to do, no commit.
    let again = compact(&path, &local(), None).await.unwrap();
    assert_eq!((again.files_removed, again.files_added, again.version), (2, 1, 33));
    assert_eq!(compact(&path, &local(), None).await.unwrap().version, 33);
    let tiny = compact(&path, &local(), Some(1)).await.unwrap();
    assert_eq!((tiny.files_removed, tiny.version), (0, 33));
}

/// Compactions racing the sink's appends: both sides commit (appends do not conflict with
/// an `OPTIMIZE`), and every row is there once. A compaction may give way: on a loaded
/// machine the appends can take every version its 15 commit attempts try (CI saw
/// `MaxCommitAttempts(15)`); that loses nothing, and the compaction after the race packs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_racing_appends_loses_nothing() {
    let epochs = many_epochs(20);
    let (_dir, path) = changelog(&epochs).await;
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let appends = async {
        for epoch in 21..=40 {
            sink.commit_epoch(epoch, &[(verdict(&format!("r{epoch}"), "3.00", true), 1)]).await.unwrap();
        }
    };
    let compactions = async {
        let mut done = 0;
        for _ in 0..5 {
            match compact(&path, &local(), None).await {
                Ok(outcome) => done += outcome.files_removed,
                Err(e) => assert!(format!("{e:?}").contains("MaxCommitAttempts"), "{e:?}"),
            }
        }
        done
    };
    let ((), removed) = tokio::join!(appends, compactions);
    let after = compact(&path, &local(), None).await.unwrap().files_removed;
    assert!(removed + after > 0);
    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(reopened.last_committed_epoch(), Some(40));
    let rows = reopened.read_changes().await.unwrap();
    let stored: usize = epochs.iter().flatten().map(|(_, d)| d.unsigned_abs()).sum();
    assert_eq!(rows.len(), stored + 20);
    for epoch in 21..=40 {
        assert_eq!(rows.iter().filter(|c| c.epoch == epoch).count(), 1, "epoch {epoch}");
    }
}

/// Issue 4: vacuum deletes only files no live version references (replaced by a compaction,
/// or left by a failed write), and a retention below the table's 7 days needs consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_4_vacuum_removes_unreferenced_files_only() {
    let (_dir, path) = changelog(&many_epochs(6)).await;
    let replaced = parquet_files(&path);
    compact(&path, &local(), None).await.unwrap();
    let orphan = Path::new(&path).join("part-00000-orphan-of-a-failed-commit.c000.zstd.parquet");
    std::fs::write(&orphan, b"not referenced").unwrap();
    let live: Vec<String> = parquet_files(&path).into_iter().filter(|f| !replaced.contains(f)).collect();
    assert_eq!(live.len(), 2, "the compacted file and the orphan: {live:?}");

    // Default retention (7 days): everything is too young.
    let kept = vacuum(&path, &local(), &VacuumOptions::default()).await.unwrap();
    assert!(kept.files.is_empty() && kept.retention_secs == 7 * 24 * 3600, "{kept:?}");
    let short = VacuumOptions { retention: Some(Duration::ZERO), ..VacuumOptions::default() };
    match vacuum(&path, &local(), &short).await {
        Err(error @ MaintainError::RetentionTooShort { .. }) => {
            assert!(error.to_string().contains("7days") && !error.is_retryable(), "{error}");
        }
        other => panic!("{other:?}"),
    }

    let allowed = VacuumOptions { allow_short_retention: true, ..short };
    let dry = vacuum(&path, &local(), &VacuumOptions { dry_run: true, ..allowed }).await.unwrap();
    let mut expected = replaced.clone();
    expected.push(orphan.file_name().unwrap().to_str().unwrap().to_owned());
    expected.sort();
    assert_eq!(dry.files, expected);
    assert_eq!(parquet_files(&path).len(), 8, "a dry run deletes nothing");
    let done = vacuum(&path, &local(), &allowed).await.unwrap();
    assert_eq!((done.files.clone(), done.dry_run), (expected, false));
    let compacted: Vec<String> = live.into_iter().filter(|f| !f.contains("orphan")).collect();
    assert_eq!(parquet_files(&path), compacted);
    assert_eq!(done.version, 9, "VACUUM START and END commits");
    let table = read_at(&path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(table.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8);
    // Versions before the compaction lost their files: reading them fails, not panics.
    assert!(read_at(&path, &local(), AsOf::Version(3)).await.is_err());
}

/// Issue 4: the sink's commits write a checkpoint every 100 versions, and reopening after
/// them still finds the last epoch and the metadata committed with it (commit info is in
/// the commit files, not in checkpoints).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_4_checkpoints_every_100_commits_keep_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let info =
        |epoch: u64| -> BTreeMap<String, Value> { [("offsets".to_owned(), json!({"0": epoch * 10}))].into() };
    for epoch in 1..=205 {
        let changes = [(verdict(&format!("t{epoch}"), "2.00", true), 1)];
        sink.commit_epoch_with_info(epoch, &changes, info(epoch)).await.unwrap();
    }
    let log = Path::new(&path).join("_delta_log");
    for version in [99, 199] {
        assert!(
            log.join(format!("{version:020}.checkpoint.parquet")).is_file(),
            "no checkpoint at {version}"
        );
    }
    let last: Value = serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(last["version"], json!(199));

    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!((reopened.version(), reopened.last_committed_epoch()), (205, Some(205)));
    assert_eq!(reopened.last_commit_info(), Some(&info(205)));

    // 18 commits of other writers after the last epoch (beyond the newest 16 that are read
    // first) do not hide it.
    for _ in 0..9 {
        let mut writer = QualitySink::open(&path, "other").await.unwrap();
        let epoch = writer.last_committed_epoch().map_or(1, |e| e + 1);
        writer.commit_epoch(epoch, &[(verdict("x", "1.00", true), 1)]).await.unwrap();
        compact(&path, &local(), None).await.unwrap();
    }
    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(reopened.last_committed_epoch(), Some(205));
    assert_eq!(reopened.last_commit_info(), Some(&info(205)));

    // An explicit checkpoint of the newest version, once.
    let outcome = checkpoint(&path, &local()).await.unwrap();
    assert_eq!((outcome.version, outcome.created, outcome.expired_logs_removed), (223, true, 0));
    let last: Value = serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    assert_eq!(last["version"], json!(223));
    assert!(!checkpoint(&path, &local()).await.unwrap().created);
    let state = read_at(&path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(consolidate(&state.schema, &state.batches, 1000).unwrap().0.consolidated, 214);

    // Forty days later for the first 151 versions: the commits before the newest checkpoint
    // at or below the oldest version still within the 30-day log retention (99) expire.
    let old = std::time::SystemTime::now() - Duration::from_secs(40 * 24 * 3600);
    for entry in std::fs::read_dir(&log).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.get(..20).and_then(|v| v.parse::<u64>().ok()).is_some_and(|v| v <= 150) {
            std::fs::File::options().append(true).open(entry.path()).unwrap().set_modified(old).unwrap();
        }
    }
    let cleaned = checkpoint(&path, &local()).await.unwrap();
    assert_eq!((cleaned.created, cleaned.expired_logs_removed), (false, 99), "{cleaned:?}");
    assert!(!log.join(format!("{:020}.json", 98)).exists() && log.join(format!("{:020}.json", 99)).exists());
    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(reopened.last_commit_info(), Some(&info(205)));
    match read_at(&path, &local(), AsOf::Version(5)).await {
        Err(error @ MaintainError::NoSuchVersion { .. }) => {
            assert!(error.to_string().contains("99..=223"), "{error}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(read_at(&path, &local(), AsOf::Version(99)).await.unwrap().version, 99);
    let long_ago = "2001-01-01T00:00:00Z".parse().unwrap();
    let error = read_at(&path, &local(), AsOf::Time(long_ago)).await.unwrap_err();
    assert!(matches!(error, MaintainError::BeforeFirstVersion { earliest: 99, .. }), "{error}");
}
