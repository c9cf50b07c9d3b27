//! Issue 4, object stores: `az://` outputs on Azurite, read back through the Azure API.

use serde_json::{Value, json};

use crate::support::{
    COLUMNS, azurite, read_delta, read_parquet, read_url, run_trustflow, trustflow, trustflow_env, unique,
};

/// A fresh directory in Azurite's `trustflow` container.
fn prefix(name: &str) -> String {
    format!("az://trustflow/{}", unique(name))
}

/// The value of `name` in Azurite's environment.
fn env_value(name: &str) -> String {
    azurite().env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap()
}

/// Issue 4: the zero-install demo writes its three tables under an `az://` root; Python's
/// deltalake reads them back through the Azure API with the same rows the summary counted,
/// and the printed summary names the URLs (never a credential).
#[test]
fn issue_4_demo_to_azure_blob_reads_back_through_the_azure_api() {
    let azurite = azurite();
    assert_eq!(env_value("AZURITE_BLOB_STORAGE_URL"), azurite.url);
    let dir = tempfile::tempdir().unwrap();
    let summary_path = dir.path().join("summary.json");
    // A trailing slash on the root must not change where the tables go.
    let root = prefix("demo");
    let output = trustflow_env(
        &[
            "run",
            "--demo-events",
            "20000",
            "--output",
            &format!("{root}/"),
            "--summary-json",
            summary_path.to_str().unwrap(),
            "-w",
            "2",
        ],
        &azurite.env,
    );
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(printed.contains(&format!("{root}/quality/")), "{printed}");
    assert!(!printed.contains(&env_value("AZURE_STORAGE_ACCOUNT_KEY")), "the key was printed:\n{printed}");

    let summary: Value = serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap();
    let table = &summary["table"];
    assert_eq!(table["table"], json!(format!("{root}/quality/")));
    assert_eq!(table["windows"]["table"], json!(format!("{root}/quality_windows/")));
    assert_eq!(summary["events_in"], json!(20_000));

    let quality = read_url(&format!("{root}/quality"), false, false, &azurite.env);
    assert_eq!(quality["columns"], json!(COLUMNS));
    assert_eq!(quality["consolidated_rows"], table["rows"]);
    assert_eq!(quality["consolidated_rows"], summary["transactions"]);
    assert_eq!(quality["rows"], table["change_rows"]);
    assert_eq!(quality["version"], table["version"]);
    assert_eq!(quality["negative"], json!(0));
    assert_eq!(quality["txn"]["trustflow-quality"], json!(table["epochs"].as_i64().unwrap()));
    let windows = read_url(&format!("{root}/quality_windows"), false, false, &azurite.env);
    assert_eq!(windows["consolidated_rows"], table["windows"]["rows"]);
    assert_eq!(windows["rows"], table["windows"]["change_rows"]);
    let quarantine = read_url(&format!("{root}/quarantine"), false, false, &azurite.env);
    assert_eq!((quarantine["rows"].clone(), quarantine["version"].clone()), (json!(0), json!(0)));
}

/// Issue 4: `batch` to an `az://` (or `abfss://`) directory writes what it writes to a local
/// one, as a Delta table and as Parquet files; a second run into the table is refused unless
/// --overwrite.
#[test]
fn issue_4_batch_to_azure_blob_equals_the_local_batch() {
    let azurite = azurite();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let now = "1767225600000";
    let generate = ["generate", "--jsonl", input.to_str().unwrap(), "--count", "5000", "--now", now];
    trustflow(&[&generate[..], &["--seed", "11"]].concat());
    let root = prefix("batch");
    let batch = |output: &str, extra: &[&str]| -> Value {
        let summary = dir.path().join(format!("summary-{}.json", extra.join("")));
        let rejects = dir.path().join("rejects.jsonl");
        let mut args = vec!["batch", "--input", input.to_str().unwrap(), "--output", output, "--now", now];
        args.extend(["--rejects", rejects.to_str().unwrap(), "--summary-json", summary.to_str().unwrap()]);
        args.extend(extra);
        trustflow_env(&args, &azurite.env);
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap()
    };

    let local = dir.path().join("local");
    batch(local.to_str().unwrap(), &["-w", "2"]);
    let remote = format!("{root}/delta");
    let summary = batch(&remote, &["-w", "2"]);
    assert_eq!(summary["output"]["location"], json!(remote));
    assert_eq!(summary["output"]["version"], json!(0));
    let expected = read_delta(&local, true);
    let actual = read_url(&remote, true, false, &azurite.env);
    assert_eq!(actual["rows"], expected["rows"]);
    assert_eq!(actual["types"], expected["types"]);
    assert!(actual["consolidated"] == expected["consolidated"], "the az:// table differs from the local one");

    let rejects = dir.path().join("refused.rejects.jsonl");
    let refused = run_trustflow(
        &[
            "batch",
            "--input",
            input.to_str().unwrap(),
            "--output",
            &remote,
            "--now",
            now,
            "--rejects",
            rejects.to_str().unwrap(),
        ],
        &azurite.env,
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already holds a Delta table") && stderr.contains(&remote), "{stderr}");

    // Parquet files through the object store (spelled abfss://), and --overwrite replacing
    // the Delta table.
    let local_files = dir.path().join("files");
    batch(local_files.to_str().unwrap(), &["--format", "parquet"]);
    let remote_files = format!("{}/files", root.replace("az://", "abfss://"));
    let summary = batch(&remote_files, &["--format", "parquet", "-w", "2"]);
    assert_eq!(summary["output"]["files"], json!(2));
    let files = read_url(&remote_files, true, true, &azurite.env);
    assert!(files["consolidated"] == read_parquet(&local_files, true)["consolidated"]);
    assert!(files["consolidated"] == expected["consolidated"]);
    batch(&remote, &["--format", "parquet", "--overwrite"]);
    let replaced = read_url(&remote, true, true, &azurite.env);
    assert!(replaced["consolidated"] == expected["consolidated"]);
}

/// Issue 4: wrong credentials and an unreachable store fail with a clear error and a
/// non-zero exit (1: refused, 75: retry later), no panic, and no credential in the output.
#[test]
fn issue_4_bad_azure_credentials_and_unreachable_store_fail_cleanly() {
    let azurite = azurite();
    let right_key = env_value("AZURE_STORAGE_ACCOUNT_KEY");
    // Valid base64 of 64 bytes, like a real key, but not the account's.
    let wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ==";
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut env: Vec<_> = azurite.env.iter().filter(|(k, _)| k != name).cloned().collect();
        env.push((name.to_owned(), value.to_owned()));
        env
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    trustflow(&["generate", "--jsonl", input.to_str().unwrap(), "--count", "100", "--now", "1767225600000"]);
    let rejects = dir.path().join("rejects.jsonl");
    let rejects = rejects.to_str().unwrap();
    let root = prefix("denied");
    let runs = [
        (
            "demo, wrong key",
            vec!["run", "--demo-events", "500", "--output", &root],
            with("AZURE_STORAGE_ACCOUNT_KEY", wrong_key),
            1,
        ),
        (
            "batch, wrong key",
            vec![
                "batch",
                "--input",
                input.to_str().unwrap(),
                "--output",
                &root,
                "--rejects",
                rejects,
                "--now",
                "1767225600000",
            ],
            with("AZURE_STORAGE_ACCOUNT_KEY", wrong_key),
            1,
        ),
        (
            "demo, unreachable",
            vec!["run", "--demo-events", "500", "--output", &root],
            with("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:9"),
            75,
        ),
    ];
    for (what, args, env, code) in runs {
        let started = std::time::Instant::now();
        let output = run_trustflow(&args, &env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let all = format!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
        assert_eq!(output.status.code(), Some(code), "{what}: {all}");
        assert!(!all.contains("panicked"), "{what}: {all}");
        for key in [right_key.as_str(), wrong_key] {
            assert!(!all.contains(key), "{what}: a key was printed:\n{all}");
        }
        let error =
            stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("{what}: {all}"));
        assert!(error.contains(&root), "{what}: the error names the location: {error}");
        if code == 1 {
            assert!(
                stderr.contains("403") && stderr.contains("hint: the object store refused the credentials"),
                "{what}: {all}"
            );
        } else {
            assert!(error.contains("Connection refused") || error.contains("connect"), "{what}: {error}");
        }
        assert!(started.elapsed().as_secs() < 60, "{what} took {:?}", started.elapsed());
    }
}
