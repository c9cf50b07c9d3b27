//! Shared helpers: the binary, the real Kafka broker, Azurite, the Python reader of Delta tables.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use differential_dataflow::consolidation::consolidate;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use trustflow::dataflow::quality::QualityRow;
use trustflow::location::StorageOptions;
use trustflow::record::Transaction;
use trustflow::sink::{ChangeType, QualitySink};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the trustflow binary with `args`, panicking with its output if it fails.
pub fn trustflow(args: &[&str]) -> Output {
    trustflow_env(args, &[])
}

/// Runs the trustflow binary with `args` and the extra environment `env`, whatever its outcome.
pub fn run_trustflow(args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args(args)
        .env("RUST_LOG", "warn,trustflow=info")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("cannot start the trustflow binary")
}

/// Runs the trustflow binary with `args` and the extra environment `env`, panicking with its
/// output if it fails.
pub fn trustflow_env(args: &[&str], env: &[(String, String)]) -> Output {
    let output = run_trustflow(args, env);
    assert!(
        output.status.success(),
        "trustflow {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a script under `scripts/` and returns its stdout's last line.
fn script(name: &str, args: &[&str]) -> String {
    script_output(name, args, &[]).lines().last().unwrap_or_default().trim().to_owned()
}

/// Runs a script under `scripts/` with the extra environment `env`; returns its stdout.
fn script_output(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = Command::new("bash")
        .arg(root().join("scripts").join(name))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{name}: {e}"));
    assert!(
        output.status.success(),
        "scripts/{name} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The real Kafka broker: `TRUSTFLOW_TEST_BROKERS` if the test command started one, else
/// started here with `scripts/kafka.sh start` (idempotent).
pub fn kafka() -> &'static str {
    static BROKERS: OnceLock<String> = OnceLock::new();
    BROKERS.get_or_init(|| {
        std::env::var("TRUSTFLOW_TEST_BROKERS").unwrap_or_else(|_| {
            script("kafka.sh", &["start"]);
            script("kafka.sh", &["bootstrap"])
        })
    })
}

/// Azurite, the Azure Blob emulator, with the container `trustflow`.
pub struct Azurite {
    /// The blob service's address, e.g. `http://127.0.0.1:10000`.
    pub url: String,
    /// The environment that points object_store at it (the emulator's public dev account),
    /// for child processes: `scripts/azurite.sh env`.
    pub env: Vec<(String, String)>,
}

/// Azurite: `TRUSTFLOW_TEST_AZURITE` (its URL) if the test command started it, else started
/// here with `scripts/azurite.sh start` (idempotent). The tests pass [`Azurite::env`] to the
/// processes they start rather than changing this process's environment.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| {
        let url = std::env::var("TRUSTFLOW_TEST_AZURITE").unwrap_or_else(|_| {
            script("azurite.sh", &["start"]);
            format!("http://127.0.0.1:{}", std::env::var("AZURITE_PORT").as_deref().unwrap_or("10000"))
        });
        let port = url.rsplit(':').next().unwrap_or("10000").trim_end_matches('/').to_owned();
        let env = script_output("azurite.sh", &["env"], &[("AZURITE_PORT", &port)])
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Azurite { url, env }
    })
}

/// The Python interpreter of the test virtualenv (deltalake, pyarrow), set up on first use.
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| script("pyenv.sh", &[]))
}

/// The Python interpreter of Presidio's virtualenv (`scripts/pyenv.sh presidio`: pinned
/// presidio-analyzer and spaCy), set up on first use.
pub fn presidio_python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| script("pyenv.sh", &["presidio"]))
}

/// What `scripts/read_delta.py` reports about a table (with `--rows`: the consolidated rows).
pub fn read_delta(table: &Path, rows: bool) -> Value {
    read_table(table.as_os_str(), rows, false, &[])
}

/// What `scripts/read_delta.py --parquet` reports about a directory of Parquet files (pyarrow).
pub fn read_parquet(dir: &Path, rows: bool) -> Value {
    read_table(dir.as_os_str(), rows, true, &[])
}

/// What `scripts/read_delta.py --version N --rows` reports about a local Delta table as it was
/// at version `version` (Python's time travel).
pub fn read_delta_at(table: &Path, version: i64) -> Value {
    let output = Command::new(python())
        .arg(root().join("scripts/read_delta.py"))
        .arg(table)
        .args(["--rows", "--version", &version.to_string()])
        .output()
        .expect("cannot run read_delta.py");
    assert!(output.status.success(), "read_delta.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("read_delta.py printed no JSON")
}

/// [`read_delta`] (or with `parquet`, [`read_parquet`]) of a table at a URL, with the
/// environment `env` (its object store settings).
pub fn read_url(url: &str, rows: bool, parquet: bool, env: &[(String, String)]) -> Value {
    read_table(url.as_ref(), rows, parquet, env)
}

/// What `scripts/read_delta.py` reports about the table at `table` (a path or URL, with the
/// object store settings in `env`) given the extra `flags` (e.g. `--rows`, `--changes`).
pub fn read_delta_with(table: impl AsRef<OsStr>, flags: &[&str], env: &[(String, String)]) -> Value {
    let output = Command::new(python())
        .arg(root().join("scripts/read_delta.py"))
        .arg(table.as_ref())
        .args(flags)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("cannot run read_delta.py");
    assert!(output.status.success(), "read_delta.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("read_delta.py printed no JSON")
}

fn read_table(table: &OsStr, rows: bool, parquet: bool, env: &[(String, String)]) -> Value {
    let mut command = Command::new(python());
    command.arg(root().join("scripts/read_delta.py")).arg(table);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    if rows {
        command.arg("--rows");
    }
    if parquet {
        command.arg("--parquet");
    }
    let output = command.output().expect("cannot run read_delta.py");
    assert!(output.status.success(), "read_delta.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("read_delta.py printed no JSON")
}

/// The consolidated rows of the quality table at `url` (a path or URL, with the object store
/// settings in `env`), read with trustflow's own reader: faster than Python for millions of
/// rows, for tests that compare two tables written by trustflow.
pub fn consolidated_quality(url: &str, env: &[(String, String)]) -> Vec<(QualityRow, isize)> {
    let storage = StorageOptions::from_vars(env.iter().cloned());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sink = runtime.block_on(QualitySink::open_with_storage(url, "reader", &storage)).unwrap();
    let mut rows: Vec<(QualityRow, isize)> = runtime
        .block_on(sink.read_changes())
        .unwrap()
        .into_iter()
        .map(|c| (c.row, if c.change == ChangeType::Insert { 1 } else { -1 }))
        .collect();
    consolidate(&mut rows);
    rows
}

/// A name no earlier run used, for topics and tables.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The output columns, named and ordered as QUALITY_SEMANTICS.md says, then the fraud verdict,
/// governance's columns, then the change columns.
pub const COLUMNS: [&str; 31] = [
    "transactionId",
    "userId",
    "amount",
    "currency",
    "timestamp",
    "metadata",
    "transactionId_completeness",
    "userId_completeness",
    "amount_completeness",
    "currency_completeness",
    "timestamp_completeness",
    "amount_validity",
    "currency_validity",
    "timestamp_validity",
    "avg_transaction_amount",
    "consistency_check",
    "uniqueness",
    "checks_passed",
    "quality_score",
    "fraud_score",
    "risk_category",
    "model_version",
    "classification",
    "pii_fields",
    "source_topic",
    "source_partition",
    "source_offset",
    "schema_id",
    "lineage",
    "_change_type",
    "_epoch",
];

/// The transactions of a JSON lines file that `trustflow generate --jsonl` wrote.
pub fn read_jsonl(path: &Path) -> Vec<Transaction> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let text = |k: &str| v[k].as_str().map(str::to_owned);
            Transaction {
                origin: None,
                timestamp: v["timestamp"].as_i64(),
                transaction_id: text("transactionId"),
                amount: v["amount"].as_str().map(|a| a.parse().unwrap()),
                currency: text("currency"),
                metadata: v["metadata"].as_object().map(|m| {
                    m.iter()
                        .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_owned()))
                        .collect::<BTreeMap<_, _>>()
                        .into()
                }),
                user_id: text("userId"),
            }
        })
        .collect()
}

/// A flag's spelling.
fn flag(ok: bool, yes: &str, no: &str) -> String {
    (if ok { yes } else { no }).to_owned()
}

/// The number of data columns (without `_change_type` and `_epoch`).
pub const DATA_COLUMNS: usize = 29;

/// The lineage columns: where a run read each row, which a reference computed from the
/// events cannot know; [`canonical`] leaves them out.
pub const LINEAGE_COLUMNS: [&str; 5] =
    ["source_topic", "source_partition", "source_offset", "schema_id", "lineage"];

/// A reference row in the JSON shape read_delta.py prints, as a run with the default PII
/// policy (everything masked) writes it.
pub fn expected_row(q: &QualityRow) -> Value {
    thread_local! {
        static GOVERNOR: trustflow::governance::Governor = trustflow::governance::Governor::masking().unwrap();
    }
    let mut q = q.clone();
    if q.governance.is_none() {
        let (record, label) = GOVERNOR.with(|g| g.govern(q.record));
        (q.record, q.governance) = (record, Some(label));
    }
    let label = q.governance.as_ref().unwrap();
    let r = &q.record;
    json!({
        "transactionId": r.transaction_id, "userId": r.user_id, "amount": r.amount.map(|a| a.to_string()),
        "currency": r.currency, "timestamp": r.timestamp, "metadata": r.metadata,
        "transactionId_completeness": flag(q.transaction_id_complete, "COMPLETE", "INCOMPLETE"),
        "userId_completeness": flag(q.user_id_complete, "COMPLETE", "INCOMPLETE"),
        "amount_completeness": flag(q.amount_complete, "COMPLETE", "INCOMPLETE"),
        "currency_completeness": flag(q.currency_complete, "COMPLETE", "INCOMPLETE"),
        "timestamp_completeness": flag(q.timestamp_complete, "COMPLETE", "INCOMPLETE"),
        "amount_validity": flag(q.amount_valid, "VALID", "INVALID"),
        "currency_validity": flag(q.currency_valid, "VALID", "INVALID"),
        "timestamp_validity": flag(q.timestamp_valid, "VALID", "INVALID"),
        "avg_transaction_amount": q.avg_transaction_amount.map(|a| a.to_string()),
        "consistency_check": flag(q.consistent, "CONSISTENT", "INCONSISTENT"),
        "uniqueness": flag(q.unique, "UNIQUE", "DUPLICATE"),
        "checks_passed": q.checks_passed(), "quality_score": q.quality_score(),
        "fraud_score": q.fraud.map(|f| f.score.0),
        "risk_category": trustflow::fraud::score::risk_label(q.fraud.as_ref()),
        "model_version": q.fraud.map(|f| f.model_version),
        "classification": label.tags(),
        "pii_fields": label.protected.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// A row as a comparable string: decimals normalized, keys sorted, the lineage columns left out.
pub fn canonical(row: &Value) -> String {
    let mut row = row.clone();
    if let Some(map) = row.as_object_mut() {
        for column in LINEAGE_COLUMNS {
            map.remove(column);
        }
    }
    for column in ["amount", "avg_transaction_amount"] {
        if let Some(text) = row[column].as_str() {
            row[column] = json!(text.parse::<Decimal>().unwrap().normalize().to_string());
        }
    }
    let sorted: BTreeMap<String, Value> = row.as_object().unwrap().clone().into_iter().collect();
    serde_json::to_string(&sorted).unwrap()
}

/// The first row only in `actual` and the first only in `expected` (both sorted).
pub fn first_difference(actual: &[String], expected: &[String]) -> Option<(Option<String>, Option<String>)> {
    let extra = actual.iter().find(|r| expected.binary_search(r).is_err()).cloned();
    let missing = expected.iter().find(|r| actual.binary_search(r).is_err()).cloned();
    Some((extra, missing))
}

/// Rows of a `read_delta.py` report that fail the check in `column` (INCOMPLETE, INVALID,
/// INCONSISTENT or DUPLICATE).
pub fn failing_count(report: &Value, column: &str) -> u64 {
    report["flag_counts"][column]
        .as_object()
        .map(|values| {
            values
                .iter()
                .filter(|(v, _)| v.starts_with("IN") || *v == "DUPLICATE")
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// The number in the environment variable `name`, or `default` (test sizes: events, kills).
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Epochs the run logging to `log` (at `trustflow::pipeline=debug`) has committed so far.
pub fn commits(log: &Path) -> usize {
    std::fs::read_to_string(log).unwrap_or_default().matches("committed epoch").count()
}
