//! Tests of table encryption (issue 7.3): keys, files, the sink, maintenance and readers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, StringArray};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use deltalake::parquet::encryption::decrypt::FileDecryptionProperties;
use rust_decimal::Decimal;

use super::*;
use crate::dataflow::quality::QualityRow;
use crate::location::StorageOptions;
use crate::record::Transaction;
use crate::sink::QualitySink;
use crate::sink::maintain::{self, AsOf};
use crate::sink::table::writer_properties;

/// A variable no test sets: keys said to come from it are found through the keyring only.
const UNSET_VAR: &str = "TRUSTFLOW_TEST_ISSUE7_UNSET_KEY";

/// A distinctive string that must never appear in an encrypted file's bytes.
const SECRET: &str = "tx-SECRET-PLAINTEXT-4711";

fn key(seed: u8) -> TableKey {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    TableKey::new(bytes, UNSET_VAR)
}

fn ids_batch(ids: &[&str]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("transactionId", DataType::Utf8, true)]));
    let column: ArrayRef = Arc::new(StringArray::from(ids.to_vec()));
    RecordBatch::try_new(schema, vec![column]).unwrap()
}

fn encrypted_file(key: &TableKey, batch: &RecordBatch) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, batch.schema(), Some(writer_properties(Some(key)).unwrap()))
            .unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn read(bytes: Vec<u8>, options: ArrowReaderOptions) -> Result<Vec<RecordBatch>, String> {
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}

#[test]
fn keys_parse_from_hex_and_never_print() {
    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
    let parsed = TableKey::from_hex("K", &format!("  {hex}\n")).unwrap();
    let bytes: [u8; 32] = std::array::from_fn(|i| i as u8);
    assert_eq!(parsed, TableKey::new(bytes, "K"));
    assert_eq!(parsed.id().len(), 16);
    assert_ne!(parsed.id(), key(1).id());
    let debug = format!("{parsed:?} {parsed:#?}");
    assert!(!debug.to_lowercase().contains("0001020304") && debug.contains("redacted"), "{debug}");
    let short = TableKey::from_hex("K", &hex[..40]).unwrap_err().to_string();
    assert!(short.contains("$K") && short.contains("40 characters") && !short.contains("0001"), "{short}");
    let not_hex = TableKey::from_hex("K", &hex.replace('A', "x")).unwrap_err().to_string();
    assert!(not_hex.contains("not a hex digit"), "{not_hex}");
    let unset = TableKey::from_env(UNSET_VAR).unwrap_err().to_string();
    assert!(unset.contains(UNSET_VAR) && unset.contains("encryption_required"), "{unset}");
}

/// Issue 7.3: a file written under a key reads back with it, holds none of its values in
/// the clear, and no other key opens it.
#[test]
fn issue7_files_round_trip_and_hold_no_plaintext() {
    let (k, other) = (key(11), key(12));
    remember(&k);
    let batch = ids_batch(&[SECRET, "tx-2"]);
    let bytes = encrypted_file(&k, &batch);
    assert!(bytes.starts_with(b"PARE") && bytes.ends_with(b"PARE"), "an encrypted footer");
    assert!(!contains(&bytes, SECRET) && !contains(&bytes, "transactionId"));
    assert_eq!(read(bytes.clone(), read::reader_options().unwrap()).unwrap(), vec![batch.clone()]);
    // Explicit wrong key: AES-GCM authentication fails; no key at all: refused.
    let wrong = FileDecryptionProperties::builder(other.bytes()).build().unwrap();
    let error =
        read(bytes.clone(), ArrowReaderOptions::new().with_file_decryption_properties(wrong)).unwrap_err();
    assert!(error.contains("unable to decrypt"), "{error}");
    let error = read(bytes, ArrowReaderOptions::new()).unwrap_err();
    assert!(error.contains("encrypted footer"), "{error}");
    // A key id not in the keyring, its variable unset: the error names both.
    let stranger = key(13);
    let error = read(encrypted_file(&stranger, &batch), read::reader_options().unwrap()).unwrap_err();
    assert!(error.contains(UNSET_VAR) && error.contains(stranger.id()), "{error}");
    // Plaintext files read as before with the decrypting options.
    let mut plain = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut plain, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    assert!(contains(&plain, SECRET));
    assert_eq!(read(plain, read::reader_options().unwrap()).unwrap(), vec![batch]);
}

#[test]
fn issue7_tables_are_written_with_their_own_key_or_refused() {
    let k = key(21);
    let configuration: HashMap<String, String> =
        table_configuration(&k).into_iter().map(|(a, b)| (a, b.unwrap_or_default())).collect();
    assert_eq!(configuration[PROPERTY], ALGORITHM);
    assert_eq!(configuration["delta.dataSkippingNumIndexedCols"], "0");
    let plain = HashMap::new();
    assert_eq!(writer_key("t", &plain, None).unwrap(), None);
    let error = writer_key("t", &plain, Some(&k)).unwrap_err().to_string();
    assert!(error.contains("`t` holds plaintext files"), "{error}");
    let error = writer_key("t", &configuration, Some(&key(22))).unwrap_err().to_string();
    assert!(error.contains(k.id()) && error.contains(key(22).id()), "{error}");
    // Not given a key and not holding one: refused, naming the variable; never plaintext.
    let error = writer_key("t", &configuration, None).unwrap_err().to_string();
    assert!(error.contains("`t` is encrypted") && error.contains(UNSET_VAR), "{error}");
    assert!(reader_key("t", &configuration).is_err());
    assert_eq!(writer_key("t", &configuration, Some(&k)).unwrap(), Some(k.clone()));
    // Given once, kept: readers and later writers find it.
    assert_eq!(reader_key("t", &configuration).unwrap(), Some(k.clone()));
    assert_eq!(writer_key("t", &configuration, None).unwrap(), Some(k));
    let mut odd = configuration.clone();
    odd.insert(PROPERTY.into(), "AES_GCM_CTR_V1".into());
    assert!(reader_key("t", &odd).unwrap_err().to_string().contains("AES_GCM_CTR_V1"));
    odd.insert(PROPERTY.into(), ALGORITHM.into());
    odd.remove(KEY_ID_PROPERTY);
    assert!(reader_key("t", &odd).unwrap_err().to_string().contains(KEY_ID_PROPERTY));
}

fn verdict(id: &str, amount: &str) -> QualityRow {
    let amount: Decimal = amount.parse().unwrap();
    QualityRow {
        record: Transaction {
            timestamp: Some(1_700_000_000_000),
            transaction_id: Some(id.to_owned()),
            amount: Some(amount),
            currency: Some("EUR".into()),
            metadata: Some(BTreeMap::from([("note".to_owned(), format!("{id}-note"))]).into()),
            user_id: Some("u1".into()),
            origin: None,
        },
        transaction_id_complete: true,
        user_id_complete: true,
        amount_complete: true,
        currency_complete: true,
        timestamp_complete: true,
        amount_valid: true,
        currency_valid: true,
        timestamp_valid: true,
        avg_transaction_amount: Some(amount),
        consistent: true,
        unique: true,
        fraud: None,
        governance: None,
    }
}

/// Every file under `dir` whose name ends with `suffix`, with its bytes.
fn files(dir: &std::path::Path, suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

/// Issue 7.3: the sink, compaction, the snapshot and time travel on an encrypted changelog:
/// every data file encrypted, no value in the log's statistics, the rows read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue7_encrypted_changelog_through_sink_and_maintenance() {
    let k = key(31);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").display().to_string();
    let storage = StorageOptions::default();
    let mut sink = QualitySink::open_with_key(&path, "app", &storage, Some(&k)).await.unwrap();
    assert!(sink.is_encrypted());
    let (a, b) = (verdict(SECRET, "10.00"), verdict("tx-b", "2.50"));
    sink.commit_epoch(1, &[(a.clone(), 1), (b.clone(), 1)]).await.unwrap();
    sink.commit_epoch(2, &[(b.clone(), -1)]).await.unwrap();
    drop(sink);
    // Reopened without a key: the table's own key (kept), encrypted again.
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    assert!(sink.is_encrypted() && sink.last_committed_epoch() == Some(2));
    sink.commit_epoch(3, &[(verdict("tx-c", "1.00"), 1)]).await.unwrap();
    assert_eq!(sink.read_changes().await.unwrap().len(), 4);
    // Another key, or a plaintext table under encryption_required: refused at open.
    let error = QualitySink::open_with_key(&path, "app", &storage, Some(&key(32))).await.unwrap_err();
    assert!(error.to_string().contains(k.id()), "{error}");
    let plain = dir.path().join("plain").display().to_string();
    QualitySink::open(&plain, "app").await.unwrap();
    let error = QualitySink::open_with_key(&plain, "app", &storage, Some(&k)).await.unwrap_err();
    assert!(error.to_string().contains("holds plaintext files"), "{error}");

    let compacted = maintain::compact(&path, &storage, None).await.unwrap();
    assert_eq!((compacted.files_removed, compacted.files_added), (3, 1));
    let current = dir.path().join("quality_current").display().to_string();
    let snapshot = maintain::snapshot(&path, &current, &storage).await.unwrap();
    assert_eq!(snapshot.rows, 2);
    let table = maintain::read_at(&current, &storage, AsOf::Latest).await.unwrap();
    assert_eq!(table.batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
    let old = maintain::read_at(&path, &storage, AsOf::Version(1)).await.unwrap();
    assert_eq!(old.batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
    // Training input: the consolidated changelog, decrypted.
    let input = path.clone();
    let training =
        tokio::task::spawn_blocking(move || crate::fraud::dataset::load(std::path::Path::new(&input)))
            .await
            .unwrap()
            .unwrap();
    let mut ids: Vec<_> = training.rows.iter().filter_map(|t| t.transaction_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, [SECRET, "tx-c"]);

    let data = files(dir.path(), ".parquet");
    let encrypted: Vec<_> = data.iter().filter(|(name, _)| !name.contains("/plain/")).collect();
    assert!(encrypted.len() >= 5, "{} data files", encrypted.len());
    for (name, bytes) in &encrypted {
        assert!(bytes.starts_with(b"PARE") && !contains(bytes, SECRET), "{name}");
    }
    for (name, log) in files(dir.path(), ".json") {
        let text = String::from_utf8(log).unwrap();
        if !name.contains("/plain/") {
            assert!(!text.contains(SECRET) && !text.contains("minValues"), "{name}: {text}");
        }
    }
    let snapshot_config = deltalake::open_table(url::Url::from_directory_path(&current).unwrap())
        .await
        .unwrap()
        .snapshot()
        .unwrap()
        .metadata()
        .configuration()
        .clone();
    assert_eq!(snapshot_config.get(KEY_ID_PROPERTY).map(String::as_str), Some(k.id()));
}
