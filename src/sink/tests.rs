//! Tests of the Delta sink against real tables in temporary directories.

use std::collections::BTreeMap;

use deltalake::datafile::reader::ParquetTableReader;
use deltalake::datafile::{DeltaDataReader, ReadOptions};
use deltalake::kernel::{DataType, StructField};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, open_table};
use futures::TryStreamExt;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::delta::QualitySink;
use super::*;
use crate::dataflow::quality::QualityRow;
use crate::record::Transaction;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A verdict with every field set, or with the given ones null.
fn row(id: Option<&str>, amount: Option<&str>, metadata: Option<&[(&str, &str)]>) -> QualityRow {
    QualityRow {
        record: Transaction {
            origin: None,
            timestamp: Some(1_700_000_000_123),
            transaction_id: id.map(String::from),
            amount: amount.map(dec),
            currency: Some("EUR".into()),
            metadata: metadata.map(|m| {
                m.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>().into()
            }),
            user_id: Some("u1".into()),
        },
        transaction_id_complete: id.is_some_and(|i| !i.is_empty()),
        user_id_complete: true,
        amount_complete: amount.is_some(),
        currency_complete: true,
        timestamp_complete: true,
        amount_valid: amount.is_some_and(|a| dec(a) > Decimal::ZERO),
        currency_valid: true,
        timestamp_valid: false,
        avg_transaction_amount: amount.map(|_| dec("133.333333")),
        consistent: amount != Some("-5.00"),
        unique: id != Some("dup"),
        fraud: None,
        governance: None,
    }
}

fn temp_table() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/quality_changes");
    (dir, path.to_str().unwrap().to_string())
}

fn expected(epoch: u64, changes: &[(QualityRow, isize)]) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    for (row, diff) in changes {
        let change = if *diff > 0 { ChangeType::Insert } else { ChangeType::Delete };
        for _ in 0..diff.unsigned_abs() {
            out.push(ChangeRow { epoch, change, row: row.clone() });
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_expects_exactly_the_derived_arrow_schema() {
    let (_dir, path) = temp_table();
    let sink = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(sink.table_url().scheme(), "file");
    assert!(sink.table_url().path().contains("nested/quality_changes"));
    let mut table = open_table(sink.table_url().clone()).await.unwrap();
    let mut writer = RecordBatchWriter::for_table(&table).unwrap();
    assert_eq!(*writer.arrow_schema(), *arrow_schema().unwrap());
    let changes = [(row(Some("t1"), Some("1.50"), Some(&[("k", "v")])), 1)];
    let batch = changes_to_batch(&arrow_schema().unwrap(), 1, &changes).unwrap();
    writer.write(batch).await.unwrap();
    assert_eq!(writer.flush_and_commit(&mut table).await.unwrap(), 1);
    let metadata = table.snapshot().unwrap().metadata().clone();
    assert_eq!(metadata.name(), Some("quality_changes"));
    assert!(metadata.description().is_some_and(|d| d.contains("changelog")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_commit_once_and_read_back_exactly() {
    let (_dir, path) = temp_table();
    let mut sink = QualitySink::open(&path, "quality-app").await.unwrap();
    assert_eq!(sink.last_committed_epoch(), None);
    assert_eq!(sink.version(), 0);

    let first = row(Some("dup"), Some("9999999999999999.99"), Some(&[("channel", "web"), ("ip", "")]));
    let nulls = row(None, None, None);
    let epoch1 = vec![(first.clone(), 1), (nulls.clone(), 2), (row(Some(""), Some("-5.00"), Some(&[])), 1)];
    let outcome = sink.commit_epoch(1, &epoch1).await.unwrap();
    assert_eq!(outcome, CommitOutcome { version: 1, rows: 4, files: 1 });

    // Epoch 2 retracts one verdict and emits its correction.
    let mut corrected = first.clone();
    corrected.unique = true;
    corrected.avg_transaction_amount = Some(dec("0.000001"));
    let epoch2 = vec![(first.clone(), -1), (corrected.clone(), 1)];
    let info: BTreeMap<String, Value> = [
        ("offsets".to_string(), json!({"financial-transactions": {"0": 42, "1": 7}})),
        ("now".to_string(), json!(1_700_000_100_000_i64)),
    ]
    .into();
    let outcome = sink.commit_epoch_with_info(2, &epoch2, info.clone()).await.unwrap();
    assert_eq!(outcome, CommitOutcome { version: 2, rows: 2, files: 1 });
    drop(sink);

    let sink = QualitySink::open(&path, "quality-app").await.unwrap();
    assert_eq!(sink.last_committed_epoch(), Some(2));
    assert_eq!(sink.last_commit_info(), Some(&info));
    assert_eq!(sink.version(), 2);
    let other = QualitySink::open(&path, "other-app").await.unwrap();
    assert_eq!(other.last_committed_epoch(), None);

    // The txn action as deltalake itself reads it.
    let table = open_table(sink.table_url().clone()).await.unwrap();
    let log_store = table.log_store();
    let txn = table.snapshot().unwrap().transaction_version(log_store.as_ref(), "quality-app");
    assert_eq!(txn.await.unwrap(), Some(2));

    let mut want = expected(1, &epoch1);
    want.extend(expected(2, &epoch2));
    let got = sink.read_changes().await.unwrap();
    assert_eq!(got, want);
    assert_eq!(got[0].row.record.amount, Some(dec("9999999999999999.99")));
    assert_eq!(got[1].row.record.metadata, None);
    assert_eq!(got[3].row.record.metadata, Some(BTreeMap::new().into()));

    // deltalake's table-level reader sees the same rows (order across files is not kept).
    let reader = ParquetTableReader::try_new(&table).await.unwrap();
    let stream = reader.read(ReadOptions::default()).await.unwrap();
    let batches: Vec<_> = stream.try_collect().await.unwrap();
    let mut all: Vec<ChangeRow> = batches.iter().flat_map(|b| batch_to_changes(b).unwrap()).collect();
    all.sort();
    want.sort();
    assert_eq!(all, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_epochs_are_refused_and_a_second_writer_is_fenced() {
    let (_dir, path) = temp_table();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let mut zombie = QualitySink::open(&path, "app").await.unwrap();
    let changes = [(row(Some("t1"), Some("10.00"), None), 1)];
    sink.commit_epoch(1, &changes).await.unwrap();
    sink.commit_epoch(2, &changes).await.unwrap();
    for epoch in [2, 1, 0] {
        match sink.commit_epoch(epoch, &changes).await {
            Err(SinkError::EpochAlreadyCommitted { epoch: e, last: 2 }) => assert_eq!(e, epoch),
            other => panic!("epoch {epoch} not refused: {other:?}"),
        }
    }
    assert_eq!(sink.version(), 2);

    // The zombie still believes nothing was committed: the commit conflict fences it ...
    match zombie.commit_epoch(2, &changes).await {
        Err(e @ SinkError::ConcurrentWriter { .. }) => assert!(!e.is_retryable()),
        other => panic!("zombie not fenced: {other:?}"),
    }
    // ... and it re-reads the log before trying again.
    assert!(matches!(
        zombie.commit_epoch(2, &changes).await,
        Err(SinkError::EpochAlreadyCommitted { epoch: 2, last: 2 })
    ));
    assert_eq!(zombie.commit_epoch(3, &changes).await.unwrap().version, 3);

    let reopened = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(reopened.version(), 3);
    assert_eq!(reopened.read_changes().await.unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_epoch_still_commits_its_position() {
    let (_dir, path) = temp_table();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    // The sink and its futures can move across threads (e.g. `tokio::spawn`).
    let outcome = assert_send(sink.commit_epoch(5, &[])).await.unwrap();
    assert_eq!(outcome, CommitOutcome { version: 1, rows: 0, files: 0 });
    let zero = [(row(Some("t"), Some("1.00"), None), 0)];
    let info: BTreeMap<String, Value> = [("offsets".to_string(), json!([1, 2]))].into();
    let outcome = sink.commit_epoch_with_info(6, &zero, info.clone()).await.unwrap();
    assert_eq!(outcome, CommitOutcome { version: 2, rows: 0, files: 0 });
    let sink = QualitySink::open(&path, "app").await.unwrap();
    assert_eq!(sink.last_committed_epoch(), Some(6));
    assert_eq!(sink.last_commit_info(), Some(&info));
    assert!(sink.read_changes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_schema_is_a_typed_error() {
    let (_dir, path) = temp_table();
    let mut fields = delta_fields().unwrap();
    fields[2] = StructField::nullable("amount", DataType::decimal(10, 2).unwrap());
    fields.pop();
    let url = deltalake::ensure_table_uri(&path).unwrap();
    let table = DeltaTable::try_from_url(url).await.unwrap();
    table.create().with_columns(fields).await.unwrap();
    match QualitySink::open(&path, "app").await {
        Err(SinkError::SchemaMismatch { difference, .. }) => {
            assert!(difference.contains("`amount`: expected decimal(18,2)"), "{difference}");
            assert!(difference.contains("decimal(10,2)"), "{difference}");
            assert!(difference.contains("`_epoch` is missing"), "{difference}");
        }
        other => panic!("schema mismatch not detected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_and_bad_values() {
    let (_dir, path) = temp_table();
    let url = format!("file://{path}");
    let mut sink = QualitySink::open(&url, "app").await.unwrap();
    assert!(std::path::Path::new(&path).join("_delta_log").is_dir());
    let bad = [(row(Some("t"), Some("1.005"), None), 1)];
    match sink.commit_epoch(1, &bad).await {
        Err(e @ SinkError::ValueOutOfRange { column: "amount", .. }) => assert!(!e.is_retryable()),
        other => panic!("inexact amount accepted: {other:?}"),
    }
    assert_eq!(sink.version(), 0);
    assert!(sink.commit_epoch(1, &[]).await.is_ok());
    assert!(matches!(sink.commit_epoch(u64::MAX, &[]).await, Err(SinkError::EpochOutOfRange { .. })));
}

/// Issue 4: an account key given to the sink appears in neither the error nor its `Debug`
/// when the store cannot be reached (no retries, so the test does not wait).
#[tokio::test]
async fn storage_credentials_never_reach_errors() {
    let key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let storage = crate::location::StorageOptions::from_vars([
        ("AZURE_STORAGE_ACCOUNT_NAME".to_owned(), "devstoreaccount1".to_owned()),
        ("AZURE_STORAGE_ACCOUNT_KEY".to_owned(), key.to_owned()),
        ("AZURE_STORAGE_ENDPOINT".to_owned(), "http://127.0.0.1:9/devstoreaccount1".to_owned()),
        ("AZURE_STORAGE_USE_EMULATOR".to_owned(), "false".to_owned()),
    ])
    .with("azure_allow_http", "true")
    .with("max_retries", "0");
    let error =
        QualitySink::open_with_storage("az://trustflow/x/quality", "app", &storage).await.unwrap_err();
    let text = format!("{error} | {error:?} | {storage:?}");
    assert!(text.contains("az://trustflow/x/quality"), "{text}");
    assert!(!text.contains(key), "{text}");
    assert!(matches!(error, SinkError::Open { .. }) && error.is_retryable(), "{text}");
}
