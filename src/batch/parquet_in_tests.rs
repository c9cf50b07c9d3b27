//! Tests of the Parquet reader: files written here with arrow, read back as transactions.

use deltalake::arrow::array::{
    Decimal128Array, Int32Array, LargeStringArray, MapBuilder, StringBuilder, StringViewArray,
    TimestampMicrosecondArray, TimestampMillisecondArray,
};
use deltalake::arrow::datatypes::{Field, Schema};
use deltalake::parquet::arrow::ArrowWriter;

use super::*;

fn write(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let schema = Arc::new(Schema::new(
        columns.iter().map(|(name, a)| Field::new(*name, a.data_type().clone(), true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn read_all(path: &Path) -> (Vec<Transaction>, Vec<(u64, String)>, ReadStats) {
    let (mut rejects, mut stats) = (Rejects::in_memory(), ReadStats::default());
    let rows = read(path, &mut rejects, &mut stats).unwrap();
    (rows, rejects.take(), stats)
}

/// One row's map: its entries, or null.
type Entries<'a> = Option<&'a [(&'a str, Option<&'a str>)]>;

fn metadata(entries: &[Entries<'_>]) -> ArrayRef {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for entry in entries {
        match entry {
            None => builder.append(false).unwrap(),
            Some(pairs) => {
                for (k, v) in *pairs {
                    builder.keys().append_value(k);
                    builder.values().append_option(*v);
                }
                builder.append(true).unwrap();
            }
        }
    }
    Arc::new(builder.finish())
}

#[test]
fn columns_by_name_with_timestamps_decimals_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.parquet");
    let amounts = Decimal128Array::from(vec![Some(100_125), Some(-5), None, Some(1), Some(2)])
        .with_precision_and_scale(10, 3)
        .unwrap();
    write(
        &path,
        vec![
            ("extra", Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5]))),
            (
                "timestamp",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(1_767_142_800_123),
                    None,
                    Some(-1),
                    Some(0),
                    Some(0),
                ])),
            ),
            ("amount", Arc::new(amounts)),
            (
                "transactionId",
                Arc::new(StringViewArray::from(vec![Some("tx-1"), Some(""), None, Some("a"), Some("b")])),
            ),
            (
                "userId",
                Arc::new(LargeStringArray::from(vec![Some("u1"), None, Some(" "), Some("u"), Some("u")])),
            ),
            (
                "metadata",
                metadata(&[
                    Some(&[("channel", Some("atm")), ("merchant", Some("m-1"))]),
                    None,
                    Some(&[]),
                    Some(&[("k", None)]),
                    Some(&[("k", Some("1")), ("k", Some("2"))]),
                ]),
            ),
        ],
    );
    let (rows, rejects, stats) = read_all(&path);
    assert_eq!((stats.records, stats.rows, stats.rejected, stats.files), (5, 3, 2, 1));
    assert_eq!(rejects[0], (4, "metadata `k` is null, not a string".to_string()));
    assert_eq!(rejects[1].0, 5);
    assert!(rejects[1].1.contains("appears twice"));
    let amounts: Vec<Option<String>> = rows.iter().map(|r| r.amount.map(|a| a.to_string())).collect();
    assert_eq!(amounts, [Some("100.13".into()), Some("-0.01".into()), None]);
    assert_eq!(rows[0].timestamp, Some(1_767_142_800_123));
    assert_eq!((rows[1].timestamp, rows[2].timestamp), (None, Some(-1)));
    assert_eq!(rows[0].transaction_id.as_deref(), Some("tx-1"));
    assert_eq!(rows[1].transaction_id.as_deref(), Some(""));
    assert_eq!(rows[2].user_id.as_deref(), Some(" "));
    assert_eq!(rows[0].currency, None, "a missing column is null");
    assert_eq!(rows[0].metadata.as_ref().and_then(|m| m.get("merchant")).map(String::as_str), Some("m-1"));
    assert_eq!(rows[1].metadata, None);
    assert_eq!(rows[2].metadata.as_deref(), Some(&BTreeMap::new()));
}

#[test]
fn directories_integers_strings_and_microseconds() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("part-1.parquet"),
        vec![
            ("amount", Arc::new(Int32Array::from(vec![Some(7), None]))),
            ("timestamp", Arc::new(TimestampMicrosecondArray::from(vec![Some(1_999), Some(-1)]))),
        ],
    );
    write(
        &dir.path().join("part-0.parquet"),
        vec![("amount", Arc::new(StringArray::from(vec![Some("0.125"), Some("x")])) as ArrayRef)],
    );
    std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
    let (rows, rejects, stats) = read_all(dir.path());
    assert_eq!((stats.files, stats.records, stats.rows), (2, 4, 3));
    assert_eq!(rejects, [(2, "amount: `x` is not a decimal number".to_string())]);
    let amounts: Vec<Option<String>> = rows.iter().map(|r| r.amount.map(|a| a.to_string())).collect();
    assert_eq!(amounts, [Some("0.13".into()), Some("7.00".into()), None]);
    assert_eq!((rows[1].timestamp, rows[2].timestamp), (Some(1), Some(-1)), "micros floor to millis");
}

#[test]
fn unusable_columns_and_empty_directories_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.parquet");
    write(
        &path,
        vec![("amount", Arc::new(deltalake::arrow::array::Float64Array::from(vec![1.5])) as ArrayRef)],
    );
    let error = read(&path, &mut Rejects::in_memory(), &mut ReadStats::default()).unwrap_err().to_string();
    assert!(error.contains("column `amount` is Float64, expected a decimal"), "{error}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let error = read(&empty, &mut Rejects::in_memory(), &mut ReadStats::default()).unwrap_err().to_string();
    assert!(error.contains("without *.parquet files"), "{error}");
    std::fs::write(dir.path().join("bad.parquet"), b"not parquet").unwrap();
    let error = read(&dir.path().join("bad.parquet"), &mut Rejects::in_memory(), &mut ReadStats::default());
    assert!(matches!(error, Err(BatchError::Parquet { .. })), "{error:?}");
}

#[test]
fn equal_maps_are_shared_and_only_equal_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.parquet");
    let same: &[(&str, Option<&str>)] = &[("k", Some("v"))];
    write(
        &path,
        vec![(
            "metadata",
            metadata(&[Some(same), Some(same), Some(&[("a\0b", Some("c"))]), Some(&[("a", Some("b\0c"))])]),
        )],
    );
    let (rows, _, _) = read_all(&path);
    let maps: Vec<Metadata> = rows.into_iter().map(|r| r.metadata.unwrap()).collect();
    assert!(Arc::ptr_eq(&maps[0], &maps[1]));
    assert_eq!(maps[2].get("a\0b").map(String::as_str), Some("c"));
    assert_eq!(maps[3].get("a").map(String::as_str), Some("b\0c"));
}
