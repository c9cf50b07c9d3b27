//! `trustflow batch`: JSON lines and Parquet in, Delta and Parquet out, read back by Python.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Value, json};

use trustflow::dataflow::quality::reference;
use trustflow::record::Transaction;

use crate::support::{
    canonical, expected_row, failing_count, first_difference, read_delta, read_jsonl, read_parquet, trustflow,
};

const NOW: &str = "1767225600000";

/// The batch output's columns (QUALITY_SEMANTICS.md, then the fraud verdict) and their
/// pyarrow types.
const OUTPUT: [(&str, &str); 29] = [
    ("transactionId", "string"),
    ("userId", "string"),
    ("amount", "decimal128(18, 2)"),
    ("currency", "string"),
    ("timestamp", "int64"),
    ("metadata", "map<string, string>"),
    ("transactionId_completeness", "string"),
    ("userId_completeness", "string"),
    ("amount_completeness", "string"),
    ("currency_completeness", "string"),
    ("timestamp_completeness", "string"),
    ("amount_validity", "string"),
    ("currency_validity", "string"),
    ("timestamp_validity", "string"),
    ("avg_transaction_amount", "decimal128(22, 6)"),
    ("consistency_check", "string"),
    ("uniqueness", "string"),
    ("checks_passed", "int32"),
    ("quality_score", "double"),
    ("fraud_score", "double"),
    ("risk_category", "string"),
    ("model_version", "int32"),
    ("classification", "list<element: string not null>"),
    ("pii_fields", "list<element: string not null>"),
    ("source_topic", "string"),
    ("source_partition", "int32"),
    ("source_offset", "int64"),
    ("schema_id", "int32"),
    ("lineage", "string"),
];

/// Runs `trustflow batch` with `args` after the input and output, returning its summary JSON.
fn batch(input: &Path, output: &Path, args: &[&str]) -> Value {
    let summary = output.with_extension("summary.json");
    let mut argv = vec!["batch", "--input", input.to_str().unwrap(), "--output", output.to_str().unwrap()];
    argv.extend(["--now", NOW, "--summary-json", summary.to_str().unwrap()]);
    argv.extend(args);
    let out = trustflow(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("failing checks") && stdout.contains(output.file_name().unwrap().to_str().unwrap())
    );
    serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap()
}

/// Asserts the output's shape and that its rows are the from-scratch evaluation of `input`.
fn assert_output(report: &Value, input: &[Transaction]) {
    let columns: Vec<&str> = OUTPUT.iter().map(|(name, _)| *name).collect();
    let types: Vec<&str> = OUTPUT.iter().map(|(_, t)| *t).collect();
    assert_eq!(report["columns"], json!(columns));
    // pyarrow names a Parquet map's entries after the column (`map<string, string ('metadata')>`)
    // when it reads the file itself, and `entries` through deltalake: the same type.
    let found: Vec<String> = report["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().replace(" ('metadata')", ""))
        .collect();
    assert_eq!(found, types);
    assert_eq!(report["rows"], json!(input.len()));
    let mut expected: Vec<String> = reference::evaluate(input, NOW.parse().unwrap())
        .iter()
        .map(|q| canonical(&expected_row(q)))
        .collect();
    let mut actual: Vec<String> = report["consolidated"].as_array().unwrap().iter().map(canonical).collect();
    actual.sort();
    expected.sort();
    assert!(
        actual == expected,
        "output differs from the reference: {:?}",
        first_difference(&actual, &expected)
    );
}

/// Issue 3: 20k generated transactions as JSON lines through `batch` to a Delta table (-w 2) and
/// to Parquet (-w 1); Python reads both: every row once, the exact columns and types, every row
/// equal to the reference evaluation. The Parquet output read back as input gives the same rows.
#[test]
fn issue_3_batch_jsonl_to_delta_and_parquet_equals_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    trustflow(&[
        "generate",
        "--jsonl",
        input.to_str().unwrap(),
        "--count",
        "20000",
        "--now",
        NOW,
        "--seed",
        "5",
    ]);
    let sent = read_jsonl(&input);

    let table = dir.path().join("quality");
    let summary = batch(&input, &table, &["-w", "2"]);
    assert_eq!(summary["read"]["rows"], json!(sent.len()));
    assert_eq!(
        (summary["read"]["rejected"].clone(), summary["output_rows"].clone()),
        (json!(0), json!(sent.len()))
    );
    assert_eq!(summary["output"]["version"], json!(0), "created with its data in one commit");
    let delta = read_delta(&table, true);
    assert_eq!(delta["version"], json!(0));
    assert_output(&delta, &sent);
    for (column, failing) in summary["failing"].as_object().unwrap() {
        let counted = failing_count(&delta, column);
        assert_eq!(json!(counted), *failing, "{column}");
    }

    let files = dir.path().join("parquet");
    batch(&input, &files, &["--format", "parquet"]);
    let parquet = read_parquet(&files, true);
    assert_output(&parquet, &sent);
    assert!(parquet["consolidated"] == delta["consolidated"], "Delta and Parquet outputs differ");

    // The Parquet output as input (its first six columns by name, the rest ignored).
    let again = dir.path().join("again");
    let summary = batch(&files, &again, &["--format", "parquet"]);
    assert_eq!(summary["read"]["format"], json!("parquet"));
    assert_output(&read_parquet(&again, true), &sent);
}

/// The hand-written input: worked cases, every amount form, nulls, missing fields, `""` ids,
/// blank lines and four bad lines (13 to 16).
const EDGES: &str = r#"{"transactionId":"t1","userId":"w1","amount":100,"currency":"USD","timestamp":1767225000001,"metadata":{"k":"v"}}
{"transactionId":"t2","userId":"w1","amount":1e2,"currency":"USD","timestamp":1767225000002}
{"transactionId":"t3","userId":"w1","amount":200,"currency":"USD","timestamp":1767225000003}
{"transactionId":"t4","userId":"w2","amount":100,"currency":"GBP","timestamp":1767225000001}
{"transactionId":"t5","userId":"w2","amount":"300.02","currency":"GBP","timestamp":1767225000002}
{"transactionId":"t6","userId":"w3","amount":100.5,"currency":"EUR","timestamp":1767225000001}
{"transactionId":"t7","userId":"w3","amount":0.125,"currency":"EUR","timestamp":1767225000002}
{"transactionId":null,"userId":"w4","amount":null,"currency":null,"timestamp":null,"metadata":null}
{"userId":"w4"}
{"transactionId":"","userId":"","amount":"5","currency":"usd","timestamp":1767225600999,"metadata":{}}
{"transactionId":"","userId":"","amount":5,"currency":"USD","timestamp":1767225601000}

{"transactionId":"bad","amount":
{"transactionId":"t14","userId":"w5","timestamp":1767225000000.5}
{"transactionId":"t15","userId":"w5","metadata":{"n":5}}
{"transactionId":"t16","userId":"w5","amount":"12e15","currency":"EUR","timestamp":1767139200000}
   
{"transactionId":"t18","userId":"w5","amount":-0.125,"currency":"EUR","timestamp":1767139199999,"extra":{"x":[1]}}
{"transactionId":"t19","userId":"w5","amount":"1,000.50","currency":"EUR","timestamp":1767139200000,"metadata":{"a":"1","b":"2"}}
"#;

/// The transactions EDGES must parse into, in order.
fn edge_rows() -> Vec<Transaction> {
    let row =
        |id: Option<&str>, user: &str, amount: Option<&str>, currency: Option<&str>, ts: Option<i64>| {
            Transaction {
                origin: None,
                transaction_id: id.map(str::to_owned),
                user_id: Some(user.to_owned()),
                amount: amount.map(|a| a.parse().unwrap()),
                currency: currency.map(str::to_owned),
                timestamp: ts,
                metadata: None,
            }
        };
    let meta = |row: Transaction, pairs: &[(&str, &str)]| Transaction {
        metadata: Some(Arc::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())),
        ..row
    };
    let t = 1_767_225_000_000;
    vec![
        meta(row(Some("t1"), "w1", Some("100.00"), Some("USD"), Some(t + 1)), &[("k", "v")]),
        row(Some("t2"), "w1", Some("100.00"), Some("USD"), Some(t + 2)),
        row(Some("t3"), "w1", Some("200.00"), Some("USD"), Some(t + 3)),
        row(Some("t4"), "w2", Some("100.00"), Some("GBP"), Some(t + 1)),
        row(Some("t5"), "w2", Some("300.02"), Some("GBP"), Some(t + 2)),
        row(Some("t6"), "w3", Some("100.50"), Some("EUR"), Some(t + 1)),
        row(Some("t7"), "w3", Some("0.13"), Some("EUR"), Some(t + 2)),
        row(None, "w4", None, None, None),
        row(None, "w4", None, None, None),
        meta(row(Some(""), "", Some("5.00"), Some("usd"), Some(1_767_225_600_999)), &[]),
        row(Some(""), "", Some("5.00"), Some("USD"), Some(1_767_225_601_000)),
        row(Some("t18"), "w5", Some("-0.13"), Some("EUR"), Some(1_767_139_199_999)),
        meta(
            row(Some("t19"), "w5", Some("1000.50"), Some("EUR"), Some(1_767_139_200_000)),
            &[("a", "1"), ("b", "2")],
        ),
    ]
}

/// Issue 3: hand-written edge inputs through `batch`: bad lines are rejected with their line
/// numbers (and counted, as are blank lines), the rest give the worked cases' verdicts.
#[test]
fn issue_3_batch_edge_inputs_rejects_and_worked_cases() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("edges.jsonl");
    std::fs::write(&input, EDGES).unwrap();
    let table = dir.path().join("edges");
    let summary = batch(&input, &table, &[]);
    let read = &summary["read"];
    assert_eq!(
        (&read["records"], &read["blank"], &read["rejected"], &read["rows"]),
        (&json!(19), &json!(2), &json!(4), &json!(13))
    );

    let rejects_path = dir.path().join("edges.rejects.jsonl");
    assert_eq!(summary["rejects"], json!(rejects_path.to_str().unwrap()));
    let rejects: Vec<Value> = std::fs::read_to_string(&rejects_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lines: Vec<&str> = EDGES.lines().collect();
    let expected = [
        (13, "malformed JSON"),
        (14, "expected timestamp as an integer"),
        (15, "metadata `n` is the number 5, not a string"),
        (16, "amount: 12e15 does not fit decimal(18,2)"),
    ];
    assert_eq!(rejects.len(), expected.len(), "{rejects:?}");
    for (reject, (line, error)) in rejects.iter().zip(expected) {
        assert_eq!(reject["line"], json!(line), "{reject}");
        assert!(reject["error"].as_str().unwrap().contains(error), "{reject}");
        assert_eq!(reject["text"], json!(lines[line - 1]));
    }

    let report = read_delta(&table, true);
    let rows = edge_rows();
    assert_output(&report, &rows);
    let by_id = |id: &str| -> Vec<Value> {
        let rows = report["consolidated"].as_array().unwrap().iter();
        rows.filter(|r| r["transactionId"] == json!(id)).cloned().collect()
    };
    let one = |id: &str| by_id(id).pop().unwrap();
    // 100, 100, 200: avg 133.333333, INCONSISTENT; 100, 300.02: INCONSISTENT; 0.125 -> 0.13.
    assert_eq!(
        (one("t3")["avg_transaction_amount"].clone(), one("t3")["consistency_check"].clone()),
        (json!("133.333333"), json!("INCONSISTENT"))
    );
    assert_eq!(one("t2")["amount"], json!("100.00"));
    assert_eq!(
        (one("t5")["avg_transaction_amount"].clone(), one("t5")["consistency_check"].clone()),
        (json!("200.010000"), json!("INCONSISTENT"))
    );
    assert_eq!(one("t7")["amount"], json!("0.13"));
    assert_eq!(one("t18")["amount"], json!("-0.13"));
    assert_eq!(
        (one("t18")["timestamp_validity"].clone(), one("t19")["timestamp_validity"].clone()),
        (json!("INVALID"), json!("VALID"))
    );
    assert_eq!(one("t19")["amount"], json!("1000.50"));
    // "" twice: DUPLICATE; the boundary now*1000+999 VALID, +1000 INVALID.
    let empty = by_id("");
    assert!(empty.iter().all(|r| r["uniqueness"] == json!("DUPLICATE")), "{empty:?}");
    let validity: Vec<&Value> = empty.iter().map(|r| &r["timestamp_validity"]).collect();
    assert!(validity.contains(&&json!("VALID")) && validity.contains(&&json!("INVALID")));
    // Null ids twice: UNIQUE; all-null rows pass userId, consistency, uniqueness only.
    let nulls = by_id_null(&report);
    assert_eq!(nulls.len(), 2);
    for row in nulls {
        assert_eq!(
            (row["uniqueness"].clone(), row["checks_passed"].clone()),
            (json!("UNIQUE"), json!(3)),
            "{row}"
        );
        assert_eq!(row["avg_transaction_amount"], Value::Null);
    }

    // The table is there now: a second run is refused unless --overwrite.
    let again = Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args([
            "batch",
            "--input",
            input.to_str().unwrap(),
            "--output",
            table.to_str().unwrap(),
            "--now",
            NOW,
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds a Delta table") && stderr.contains("--overwrite"), "{stderr}");
    batch(&input, &table, &["--overwrite", "--format", "parquet"]);
    assert!(!table.join("_delta_log").exists() && table.join("part-00000.parquet").exists());
}

fn by_id_null(report: &Value) -> Vec<Value> {
    let rows = report["consolidated"].as_array().unwrap().iter();
    rows.filter(|r| r["transactionId"].is_null()).cloned().collect()
}
