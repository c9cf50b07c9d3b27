//! Issue 7.3, `encryption_required`: batch and run write Parquet-encrypted Delta tables that
//! trustflow reads back with the key and refuses to read without it; pyarrow cannot read them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{azurite, python, read_jsonl, root, unique};

const NOW: &str = "1767225600000";
/// The test's table key (64 hex digits) and another one.
const KEY: &str = "5f1e0c0ffee0ddba11c0de5eed00aa55aa55aa55aa55aa55aa55aa55aa55aa55";
const OTHER_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const KEY_ENV: &str = "TRUSTFLOW_ENCRYPTION_KEY";

/// Runs trustflow with `args`, the key variable set to `key` (or removed), whatever the outcome.
fn run(args: &[&str], key: Option<&str>) -> Output {
    run_in(args, key, &[])
}

/// [`run`] with the extra environment `env` (Azurite's).
fn run_in(args: &[&str], key: Option<&str>, env: &[(String, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustflow"));
    // The governance spec tokenizes e-mails: its token key, the same for every run.
    let token_key = "0123456789abcdef".repeat(4);
    command.args(args).env("RUST_LOG", "warn").env("TRUSTFLOW_TOKEN_KEY", token_key);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    match key {
        Some(key) => command.env(KEY_ENV, key),
        None => command.env_remove(KEY_ENV),
    };
    command.output().expect("cannot start the trustflow binary")
}

/// [`run`], which must succeed; its stdout.
fn ok(args: &[&str], key: Option<&str>) -> String {
    ok_in(args, key, &[])
}

/// [`run_in`], which must succeed; its stdout.
fn ok_in(args: &[&str], key: Option<&str>, env: &[(String, String)]) -> String {
    let output = run_in(args, key, env);
    assert!(
        output.status.success(),
        "trustflow {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// [`run`], which must fail; its stderr.
fn refused(args: &[&str], key: Option<&str>) -> String {
    refused_in(args, key, &[])
}

/// [`run_in`], which must fail; its stderr.
fn refused_in(args: &[&str], key: Option<&str>, env: &[(String, String)]) -> String {
    let output = run_in(args, key, env);
    assert!(!output.status.success(), "trustflow {args:?} should have failed");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `dataflows/governance.yaml` as written (encryption_required: true) or with it turned off.
fn spec(dir: &Path, encrypted: bool) -> PathBuf {
    let text = std::fs::read_to_string(root().join("dataflows/governance.yaml")).unwrap();
    let path = dir.join(if encrypted { "encrypted.yaml" } else { "plain.yaml" });
    let text = if encrypted {
        text
    } else {
        text.replace("encryption_required: true", "encryption_required: false")
    };
    std::fs::write(&path, text).unwrap();
    path
}

/// The consolidated rows `trustflow query` prints for `table` (the summary line left out but
/// its row counts kept).
fn query_rows(table: &Path, key: Option<&str>) -> (Value, Vec<Value>) {
    query_rows_in(table.to_str().unwrap(), key, &[])
}

/// [`query_rows`] of a table given as a path or URL, with the extra environment `env`.
fn query_rows_in(table: &str, key: Option<&str>, env: &[(String, String)]) -> (Value, Vec<Value>) {
    let stdout = ok_in(&["query", table, "--consolidated", "--rows", "1000000", "--json"], key, env);
    let mut lines = stdout.lines().map(|l| serde_json::from_str::<Value>(l).unwrap());
    let summary = lines.next().unwrap();
    let counts = serde_json::json!([summary["rows"], summary["consolidated_rows"]]);
    (counts, lines.collect())
}

/// Every file under `dir` whose path ends with `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

/// Asserts that the table's data files are Parquet-encrypted (encrypted footer) and hold none
/// of `secrets`, that its log records the encryption and repeats none of them, and that
/// pyarrow's plain reader fails on a data file.
fn assert_encrypted(table: &Path, secrets: &[&str]) {
    let data = files(table, ".parquet");
    assert!(!data.is_empty(), "{} has no data files", table.display());
    for file in &data {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            bytes.starts_with(b"PARE") && bytes.ends_with(b"PARE"),
            "{} is not encrypted",
            file.display()
        );
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                file.display()
            );
        }
    }
    let log: String = files(&table.join("_delta_log"), ".json")
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(log.contains("\"trustflow.encryption\":\"AES_GCM_V1\""), "no marker in the log");
    assert!(!log.contains("minValues"), "column statistics in the log");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in the log");
    }
    let read = Command::new(python())
        .args(["-c", "import sys, pyarrow.parquet as pq; pq.read_table(sys.argv[1])"])
        .arg(&data[0])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&read.stderr);
    assert!(!read.status.success(), "pyarrow read an encrypted file without a key");
    assert!(stderr.to_lowercase().contains("encrypt"), "{stderr}");
}

/// Issue 7.3: `batch --config` with encryption_required writes an encrypted Delta table (and
/// encrypted Parquet files); `query` with the key reads the rows of an unencrypted run, and
/// without the key or with another one fails, naming the variable.
#[test]
fn issue7_batch_encryption_required() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let input_arg = input.to_str().unwrap();
    ok(&["generate", "--jsonl", input_arg, "--count", "2000", "--now", NOW, "--seed", "73"], None);
    let sent = read_jsonl(&input);
    let ids: Vec<String> = sent.iter().filter_map(|t| t.transaction_id.clone()).take(3).collect();
    let secrets: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (encrypted_spec, plain_spec) = (spec(dir.path(), true), spec(dir.path(), false));
    let batch = |out: &Path, spec: &Path, extra: &[&str], key: Option<&str>| {
        let mut args = vec!["batch", "--input", input_arg, "--output", out.to_str().unwrap(), "--now", NOW];
        args.extend(["--config", spec.to_str().unwrap()]);
        args.extend(extra);
        run(&args, key)
    };

    let table = dir.path().join("quality");
    let missing = batch(&table, &encrypted_spec, &[], None);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success() && stderr.contains(KEY_ENV), "{stderr}");
    assert!(!table.exists(), "nothing is written without the key");
    let short = batch(&table, &encrypted_spec, &[], Some("abcd"));
    assert!(String::from_utf8_lossy(&short.stderr).contains("4 characters") && !table.exists());

    assert!(batch(&table, &encrypted_spec, &["-w", "2"], Some(KEY)).status.success());
    assert_encrypted(&table, &secrets);
    let plain = dir.path().join("plain");
    assert!(batch(&plain, &plain_spec, &[], Some(KEY)).status.success());
    let plain_bytes = std::fs::read(&files(&plain, ".parquet")[0]).unwrap();
    assert!(plain_bytes.starts_with(b"PAR1"), "the plain run is not encrypted");

    let ((counts, rows), (plain_counts, plain_rows)) =
        (query_rows(&table, Some(KEY)), query_rows(&plain, None));
    assert_eq!(counts, plain_counts);
    assert_eq!(rows.len(), sent.len());
    assert!(rows == plain_rows, "the encrypted table's rows differ from the plain run's");
    let stderr = refused(&["query", table.to_str().unwrap()], None);
    assert!(stderr.contains("is encrypted (AES_GCM_V1") && stderr.contains(KEY_ENV), "{stderr}");
    let stderr = refused(&["query", table.to_str().unwrap()], Some(OTHER_KEY));
    assert!(stderr.contains("key id") && stderr.contains(KEY_ENV), "{stderr}");

    // Parquet files: encrypted too, and `batch` reads them back as input with the key only.
    let files_out = dir.path().join("files");
    assert!(batch(&files_out, &encrypted_spec, &["--format", "parquet"], Some(KEY)).status.success());
    for file in files(&files_out, ".parquet") {
        assert!(std::fs::read(&file).unwrap().starts_with(b"PARE"), "{}", file.display());
    }
    let again = dir.path().join("again");
    let args =
        ["batch", "--input", files_out.to_str().unwrap(), "--output", again.to_str().unwrap(), "--now", NOW];
    let stderr = refused(&args, None);
    assert!(stderr.contains("is encrypted") && stderr.contains(KEY_ENV), "{stderr}");
    ok(&args, Some(KEY));
}

/// Issue 7.3: the pipeline (`run`, the in-process demo) under encryption_required writes all
/// its tables encrypted, equal to an unencrypted run's; maintenance rewrites them encrypted;
/// a run without the key is refused before writing, as is an output topic.
#[test]
fn issue7_run_encryption_required() {
    let dir = tempfile::tempdir().unwrap();
    let (encrypted_spec, plain_spec) = (spec(dir.path(), true), spec(dir.path(), false));
    let demo = |out: &Path, spec: &Path, key: Option<&str>, extra: &[&str]| {
        let mut args = vec!["run", "--config", spec.to_str().unwrap(), "--output", out.to_str().unwrap()];
        args.extend(["--demo-events", "3000", "--now", NOW, "--epoch-ms", "50"]);
        args.extend(extra);
        run(&args, key)
    };
    let out = dir.path().join("encrypted");
    let stderr = String::from_utf8_lossy(&demo(&out, &encrypted_spec, None, &[]).stderr).into_owned();
    assert!(stderr.contains(KEY_ENV) && !out.join("quality").exists(), "{stderr}");
    let topic = demo(&out, &encrypted_spec, Some(KEY), &["--output-topic", "quality-out"]);
    assert!(String::from_utf8_lossy(&topic.stderr).contains("output topic `quality-out`"));

    let output = demo(&out, &encrypted_spec, Some(KEY), &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("the tables are encrypted"));
    assert!(!files(&out.join("quality"), ".parquet").is_empty());
    for table in ["quality", "quarantine", "quality_windows"] {
        if !files(&out.join(table), ".parquet").is_empty() {
            assert_encrypted(&out.join(table), &[]);
        }
    }
    let plain = dir.path().join("plain");
    assert!(demo(&plain, &plain_spec, None, &[]).status.success());
    let (counts, rows) = query_rows(&out.join("quality"), Some(KEY));
    let (plain_counts, plain_rows) = query_rows(&plain.join("quality"), None);
    // Two demo runs cut their epochs at times of their own, so their change rows (retractions
    // of rows revised in a later epoch) differ; their consolidated rows do not.
    assert_eq!(counts[1], plain_counts[1]);
    // They also read their generated events at offsets of their own: compare the rows
    // without the lineage columns.
    let data = |rows: &[Value]| {
        let mut rows: Vec<String> = rows.iter().map(crate::support::canonical).collect();
        rows.sort();
        rows
    };
    assert!(
        data(&rows) == data(&plain_rows),
        "the encrypted run's consolidated rows differ from the plain run's"
    );

    let quality = out.join("quality");
    let current = out.join("quality_current");
    let maintain =
        ["maintain", quality.to_str().unwrap(), "--compact", "--snapshot", current.to_str().unwrap()];
    let stderr = refused(&maintain, None);
    assert!(stderr.contains("is encrypted") && stderr.contains(KEY_ENV), "{stderr}");
    ok(&maintain, Some(KEY));
    assert_encrypted(&quality, &[]);
    assert_encrypted(&current, &[]);
    assert_eq!(query_rows(&current, Some(KEY)).0[1], plain_counts[1]);
}

/// Issue 7.3 on Azure Blob (Azurite): `batch` and the demo write encrypted tables under an
/// `az://` root (the object store writers and the sized decrypting readers), maintenance
/// rewrites them, and trustflow reads them back with the key only.
#[test]
fn issue7_encryption_on_azure_blob() {
    let env = &azurite().env;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let input_arg = input.to_str().unwrap();
    ok(&["generate", "--jsonl", input_arg, "--count", "1000", "--now", NOW, "--seed", "74"], None);
    let encrypted_spec = spec(dir.path(), true);
    let spec_arg = encrypted_spec.to_str().unwrap();
    let root = format!("az://trustflow/{}", unique("encrypted"));

    let local = dir.path().join("plain");
    ok(&["batch", "--input", input_arg, "--output", local.to_str().unwrap(), "--now", NOW], None);
    let table = format!("{root}/batch");
    // Rejects of a URL output default to the working directory: keep them in the temp dir.
    let rejects = dir.path().join("rejects.jsonl");
    let mut batch =
        vec!["batch", "--config", spec_arg, "--input", input_arg, "--output", &table, "--now", NOW];
    batch.extend(["--rejects", rejects.to_str().unwrap()]);
    ok_in(&batch, Some(KEY), env);
    let (counts, rows) = query_rows_in(&table, Some(KEY), env);
    let (plain_counts, plain_rows) = query_rows(&local, None);
    assert_eq!(counts, plain_counts);
    assert!(rows == plain_rows, "the encrypted table's rows differ from the plain run's");
    let stderr = refused_in(&["query", &table], None, env);
    assert!(stderr.contains("is encrypted (AES_GCM_V1") && stderr.contains(KEY_ENV), "{stderr}");

    let out = format!("{root}/run");
    let demo = [
        "run",
        "--config",
        spec_arg,
        "--output",
        &out,
        "--demo-events",
        "2000",
        "--now",
        NOW,
        "--epoch-ms",
        "50",
    ];
    ok_in(&demo, Some(KEY), env);
    let (quality, current) = (format!("{out}/quality"), format!("{out}/quality_current"));
    let maintain = ["maintain", &quality, "--compact", "--snapshot", &current];
    assert!(refused_in(&maintain, None, env).contains("is encrypted"));
    ok_in(&maintain, Some(KEY), env);
    let consolidated = query_rows_in(&quality, Some(KEY), env).0[1].clone();
    assert_eq!(query_rows_in(&current, Some(KEY), env).0[1], consolidated);
    assert!(refused_in(&["query", &current], None, env).contains("is encrypted"));
}

/// Issue 7.3 with retention: `retention` reads an encrypted table with its key and rewrites
/// it encrypted, deleting exactly what it deletes from the same table unencrypted; without the
/// key it is refused and changes nothing.
#[test]
fn issue7_retention_on_encrypted_tables() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let input_arg = input.to_str().unwrap();
    ok(&["generate", "--jsonl", input_arg, "--count", "3000", "--now", NOW, "--seed", "76"], None);
    let mut times: Vec<i64> = read_jsonl(&input).iter().filter_map(|t| t.timestamp).collect();
    times.sort_unstable();
    // The governance spec keeps data 7 years: at this "now" about half of it has expired.
    let now = (times[times.len() / 2] + 2555 * 86_400_000).to_string();
    let (encrypted_spec, plain_spec) = (spec(dir.path(), true), spec(dir.path(), false));
    let (table, plain) = (dir.path().join("encrypted"), dir.path().join("plain"));
    for (out, spec) in [(&table, &encrypted_spec), (&plain, &plain_spec)] {
        let config = spec.to_str().unwrap();
        ok(
            &[
                "batch",
                "--config",
                config,
                "--input",
                input_arg,
                "--output",
                out.to_str().unwrap(),
                "--now",
                NOW,
            ],
            Some(KEY),
        );
    }
    let (before, _) = query_rows(&table, Some(KEY));
    let retention = |out: &Path, key: Option<&str>| {
        let args = [
            "retention",
            out.to_str().unwrap(),
            "--config",
            encrypted_spec.to_str().unwrap(),
            "--now",
            &now,
            "--json",
        ];
        run(&args, key)
    };
    let stderr = String::from_utf8_lossy(&retention(&table, None).stderr).into_owned();
    assert!(stderr.contains("is encrypted") && stderr.contains(KEY_ENV), "{stderr}");
    assert_eq!(query_rows(&table, Some(KEY)).0, before, "a refused retention changed nothing");

    let report = |output: Output| -> Value {
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["action"] == "retention")
            .unwrap()
    };
    let (encrypted_report, plain_report) =
        (report(retention(&table, Some(KEY))), report(retention(&plain, None)));
    let deleted = encrypted_report["rows_deleted"].as_u64().unwrap();
    assert!(deleted > 0 && deleted < before[0].as_u64().unwrap(), "{encrypted_report}");
    assert_eq!(deleted, plain_report["rows_deleted"].as_u64().unwrap());
    assert_encrypted(&table, &[]);
    let ((counts, rows), (plain_counts, plain_rows)) =
        (query_rows(&table, Some(KEY)), query_rows(&plain, None));
    assert_eq!(counts, plain_counts);
    assert!(rows == plain_rows, "the encrypted table after retention differs from the plain one's");
}
