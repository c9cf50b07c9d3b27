//! Tests of maintenance and time travel on changelogs the sink writes in temporary directories.

use std::collections::BTreeMap;
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Int64Array, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::arrow::record_batch::RecordBatch;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::*;
use crate::dataflow::quality::QualityRow;
use crate::location::StorageOptions;
use crate::record::Transaction;
use crate::sink::columns::OUTPUT_COLUMNS;
use crate::sink::{QualitySink, batch_to_changes};

/// A verdict for transaction `id` of `amount`, with metadata, duplicate or not.
pub(super) fn verdict(id: &str, amount: &str, unique: bool) -> QualityRow {
    let amount: Decimal = amount.parse().unwrap();
    let metadata: BTreeMap<String, String> = [("channel".to_owned(), format!("web-{id}"))].into();
    QualityRow {
        record: Transaction {
            origin: None,
            timestamp: Some(1_700_000_000_000),
            transaction_id: Some(id.to_owned()),
            amount: Some(amount),
            currency: Some("EUR".into()),
            metadata: Some(metadata.into()),
            user_id: Some("u1".into()),
        },
        transaction_id_complete: true,
        user_id_complete: true,
        amount_complete: true,
        currency_complete: true,
        timestamp_complete: true,
        amount_valid: amount > Decimal::ZERO,
        currency_valid: true,
        timestamp_valid: true,
        avg_transaction_amount: Some(amount),
        consistent: true,
        unique,
        fraud: None,
        governance: None,
    }
}

/// Epochs with inserts, a retraction and correction (a duplicate found later), a row
/// inserted twice, and a row inserted then deleted.
pub(super) fn epochs() -> Vec<Vec<(QualityRow, isize)>> {
    let (a, b, c) = (verdict("a", "10.00", true), verdict("b", "-3.50", true), verdict("c", "7.25", true));
    vec![
        vec![(a.clone(), 1), (b.clone(), 1)],
        vec![(c.clone(), 2)],
        vec![(a.clone(), -1), (verdict("a", "10.00", false), 1), (verdict("d", "1.00", true), 1)],
        vec![(c.clone(), -1), (b.clone(), -1)],
        vec![(verdict("e", "0.01", true), 1)],
    ]
}

/// A temporary directory and a changelog table in it holding `epochs`, one commit each.
pub(super) async fn changelog(epochs: &[Vec<(QualityRow, isize)>]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    for (i, changes) in epochs.iter().enumerate() {
        sink.commit_epoch(i as u64 + 1, changes).await.unwrap();
    }
    (dir, path)
}

/// The consolidation of the first `through` epochs, computed plainly: each row `n` times
/// for a positive sum of diffs `n`, sorted.
pub(super) fn expected(epochs: &[Vec<(QualityRow, isize)>], through: usize) -> Vec<QualityRow> {
    let mut counts: BTreeMap<&QualityRow, isize> = BTreeMap::new();
    for (row, diff) in epochs.iter().take(through).flatten() {
        *counts.entry(row).or_default() += diff;
    }
    counts.into_iter().flat_map(|(row, n)| std::iter::repeat_n(row.clone(), n.max(0) as usize)).collect()
}

/// Rows of the data columns (a snapshot, or consolidated batches), decoded and sorted.
pub(super) fn data_rows(batches: &[RecordBatch]) -> Vec<QualityRow> {
    let mut rows = Vec::new();
    for batch in batches {
        let n = batch.num_rows();
        let mut fields = batch.schema().fields().to_vec();
        fields.push(Arc::new(Field::new("_change_type", DataType::Utf8, false)));
        fields.push(Arc::new(Field::new("_epoch", DataType::Int64, false)));
        let mut columns = batch.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec!["insert"; n])) as ArrayRef);
        columns.push(Arc::new(Int64Array::from(vec![0; n])) as ArrayRef);
        let full = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        rows.extend(batch_to_changes(&full).unwrap().into_iter().map(|c| c.row));
    }
    rows.sort();
    rows
}

/// The `trustflow` object of the newest commit's `commitInfo`.
pub(super) async fn last_marker(url: &str) -> Value {
    use futures::TryStreamExt;
    let table = deltalake::open_table(deltalake::ensure_table_uri(url).unwrap()).await.unwrap();
    let commits: Vec<_> = table.history(Some(1)).try_collect().await.unwrap();
    commits[0].info.get("trustflow").cloned().unwrap_or(Value::Null)
}

fn local() -> StorageOptions {
    StorageOptions::default()
}

/// Issue 4: the snapshot holds exactly the consolidated changelog, says which changelog
/// version it reflects, and is rewritten only when the changelog's data changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_4_snapshot_equals_the_plain_consolidation() {
    let mut epochs = epochs();
    let (dir, changelog_path) = changelog(&epochs).await;
    let snapshot_path = dir.path().join("quality_snapshot").to_str().unwrap().to_owned();
    let first = snapshot(&changelog_path, &snapshot_path, &local()).await.unwrap();
    assert_eq!((first.source_version, first.version, first.up_to_date), (5, 1, false));
    assert_eq!((first.files_removed, first.files_added), (0, 1));
    let want = expected(&epochs, epochs.len());
    assert_eq!(first.rows, want.len() as u64);
    let table = read_at(&snapshot_path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(table.schema.fields().len(), OUTPUT_COLUMNS, "data columns only");
    assert_eq!(data_rows(&table.batches), want);
    let marker = last_marker(&snapshot_path).await;
    assert_eq!(marker["sourceVersion"], json!(5), "{marker}");
    assert!(marker["snapshotOf"].as_str().unwrap().ends_with("quality"), "{marker}");

    // Up to date: nothing written. A compaction changes no data: still up to date.
    let again = snapshot(&changelog_path, &snapshot_path, &local()).await.unwrap();
    assert!(again.up_to_date && again.version == 1 && again.rows == first.rows, "{again:?}");
    let compacted = compact(&changelog_path, &local(), None).await.unwrap();
    assert_eq!(compacted.version, 6);
    let after_compaction = snapshot(&changelog_path, &snapshot_path, &local()).await.unwrap();
    assert!(after_compaction.up_to_date && after_compaction.source_version == 6, "{after_compaction:?}");

    // A new epoch: the snapshot is rewritten in one commit, the old file replaced.
    let late = vec![(verdict("d", "1.00", true), -1), (verdict("c", "7.25", true), 1)];
    let mut sink = QualitySink::open(&changelog_path, "app").await.unwrap();
    sink.commit_epoch(6, &late).await.unwrap();
    epochs.push(late);
    let second = snapshot(&changelog_path, &snapshot_path, &local()).await.unwrap();
    assert_eq!((second.source_version, second.version, second.up_to_date), (7, 2, false));
    assert_eq!((second.files_removed, second.files_added), (1, 1));
    let table = read_at(&snapshot_path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(data_rows(&table.batches), expected(&epochs, epochs.len()));
    assert_eq!(last_marker(&snapshot_path).await["sourceVersion"], json!(7));
    // The snapshot's own time travel still has the previous state.
    let before = read_at(&snapshot_path, &local(), AsOf::Version(1)).await.unwrap();
    assert_eq!(data_rows(&before.batches), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_refuses_overlaps_other_schemas_and_missing_changelogs() {
    let (dir, changelog_path) = changelog(&epochs()[..1]).await;
    let inside = format!("{changelog_path}/snapshot");
    assert!(matches!(snapshot(&changelog_path, &inside, &local()).await, Err(MaintainError::Overlap { .. })));
    assert!(matches!(
        snapshot(&changelog_path, &changelog_path, &local()).await,
        Err(MaintainError::Overlap { .. })
    ));
    // A changelog is no snapshot table (it has the change columns).
    let (_other_dir, other) = changelog(&epochs()[..1]).await;
    match snapshot(&changelog_path, &other, &local()).await {
        Err(error @ MaintainError::SnapshotSchema { .. }) => {
            assert!(error.to_string().contains("extra column 29 `_change_type`"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // A snapshot table is no changelog.
    let snapshot_path = dir.path().join("snap").to_str().unwrap().to_owned();
    snapshot(&changelog_path, &snapshot_path, &local()).await.unwrap();
    let error = snapshot(&snapshot_path, &other, &local()).await.unwrap_err();
    assert!(matches!(error, MaintainError::NotAChangelog { .. }), "{error}");
    let missing = dir.path().join("missing").to_str().unwrap().to_owned();
    let error = snapshot(&missing, &snapshot_path, &local()).await.unwrap_err();
    assert!(matches!(error, MaintainError::NotATable { .. }) && !error.is_retryable(), "{error}");
    assert!(!dir.path().join("missing").exists(), "opening a missing table must not create it");
}

/// Issue 4: time travel to version k returns what was committed through k; times before
/// the table, versions out of range and missing tables are named errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_4_time_travel_returns_what_was_committed_through_k() {
    let epochs = epochs();
    let (dir, path) = changelog(&epochs).await;
    for k in 0..=epochs.len() {
        let at = read_at(&path, &local(), AsOf::Version(k as i64)).await.unwrap();
        assert_eq!(at.version, k as i64);
        let (counts, rows) = consolidate(&at.schema, &at.batches, 2).unwrap();
        assert_eq!(data_rows(&rows), expected(&epochs, k), "version {k}");
        let stored: usize = epochs.iter().take(k).flatten().map(|(_, d)| d.unsigned_abs()).sum();
        assert_eq!(counts.rows, stored as u64);
        assert_eq!(counts.negative, 0);
    }
    let latest = read_at(&path, &local(), AsOf::Latest).await.unwrap();
    assert_eq!(latest.version, 5);
    // As of the commit time of version 3 (later commits may share its millisecond).
    let three = read_at(&path, &local(), AsOf::Version(3)).await.unwrap();
    let at_three = read_at(&path, &local(), AsOf::Time(three.committed_at.unwrap())).await.unwrap();
    assert!(at_three.version >= 3, "{}", at_three.version);
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(read_at(&path, &local(), AsOf::Time(future)).await.unwrap().version, 5);

    let before = "2001-02-03T04:05:06Z".parse().unwrap();
    match read_at(&path, &local(), AsOf::Time(before)).await {
        Err(error @ MaintainError::BeforeFirstVersion { .. }) => {
            let text = error.to_string();
            assert!(text.contains("2001-02-03T04:05:06.000Z") && text.contains("version 0"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    for version in [6, -1] {
        match read_at(&path, &local(), AsOf::Version(version)).await {
            Err(error @ MaintainError::NoSuchVersion { .. }) => {
                assert!(error.to_string().contains("versions 0..=5"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }
    let missing = dir.path().join("nothing");
    let error = read_at(missing.to_str().unwrap(), &local(), AsOf::Latest).await.unwrap_err();
    assert!(matches!(error, MaintainError::NotATable { .. }), "{error}");
    std::fs::create_dir(&missing).unwrap();
    let error = read_at(missing.to_str().unwrap(), &local(), AsOf::Latest).await.unwrap_err();
    assert!(matches!(error, MaintainError::NotATable { .. }), "{error}");
    let error = read_at("s3://bucket/t", &local(), AsOf::Latest).await.unwrap_err();
    assert!(matches!(error, MaintainError::Location(_)), "{error}");
}

#[test]
fn consolidation_counts_tables_without_change_columns_and_refuses_unknown_changes() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new("_change_type", DataType::Utf8, true),
    ]));
    let batch = |keys: Vec<Option<&str>>, changes: Vec<Option<&str>>| {
        RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(keys)) as ArrayRef, Arc::new(StringArray::from(changes))],
        )
        .unwrap()
    };
    let rows = batch(
        vec![Some("x"), Some("x"), None, Some("y"), Some("z")],
        vec![Some("insert"), Some("insert"), Some("insert"), Some("delete"), Some("insert")],
    );
    let (counts, out) = consolidate(&schema, std::slice::from_ref(&rows), 10).unwrap();
    assert_eq!(
        counts,
        ChangeCounts { rows: 5, inserts: 4, deletes: 1, consolidated: 4, negative: 1 },
        "y is deleted more often than inserted"
    );
    let keys = out[0].column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(keys.iter().collect::<Vec<_>>(), [None, Some("x"), Some("x"), Some("z")]);
    let error = consolidate(&schema, &[batch(vec![Some("x")], vec![Some("upsert")])], 10).unwrap_err();
    assert!(error.to_string().contains("`upsert`"), "{error}");

    let plain = schema.project(&[0]).unwrap();
    let only_keys = rows.project(&[0]).unwrap();
    let (counts, _) = consolidate(&plain, &[only_keys], 10).unwrap();
    assert_eq!((counts.inserts, counts.deletes, counts.consolidated), (5, 0, 5));
}
