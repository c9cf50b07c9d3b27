//! Shared helpers: the binary, the real Kafka broker, the Python reader of Delta tables.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the trustflow binary with `args`, panicking with its output if it fails.
pub fn trustflow(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args(args)
        .env("RUST_LOG", "warn,trustflow=info")
        .output()
        .expect("cannot start the trustflow binary");
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
    let output = Command::new("bash")
        .arg(root().join("scripts").join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{name}: {e}"));
    assert!(
        output.status.success(),
        "scripts/{name} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().trim().to_owned()
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

/// The Python interpreter of the test virtualenv (deltalake, pyarrow), set up on first use.
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| script("pyenv.sh", &[]))
}

/// What `scripts/read_delta.py` reports about a table (with `--rows`: the consolidated rows).
pub fn read_delta(table: &Path, rows: bool) -> Value {
    let mut command = Command::new(python());
    command.arg(root().join("scripts/read_delta.py")).arg(table);
    if rows {
        command.arg("--rows");
    }
    let output = command.output().expect("cannot run read_delta.py");
    assert!(output.status.success(), "read_delta.py failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("read_delta.py printed no JSON")
}

/// A name no earlier run used, for topics and tables.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The output columns, named and ordered as QUALITY_SEMANTICS.md says, then the change columns.
pub const COLUMNS: [&str; 21] = [
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
    "_change_type",
    "_epoch",
];
