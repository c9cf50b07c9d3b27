//! A worker that fails ends the whole run with its error, instead of leaving the other
//! workers waiting for it forever.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{kafka, trustflow, unique};

const NOW: &str = "1767225600000";

/// Found in this session: an unbounded run on 2 workers whose worker 0 stopped at a `fail`
/// expectation never exited (worker 1 kept reading, then waited for worker 0), and neither
/// did a run whose worker panicked. Now the other workers stop, and the run exits with the
/// failed worker's error. (The deadline only tells a hang from an exit; it is far above the
/// run's few seconds.)
#[test]
fn issue_4_a_failed_worker_stops_an_unbounded_run_on_two_workers() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("worker-failure");
    let args = ["--topic", &topic, "--partitions", "2", "--count", "3000", "--now", NOW, "--seed", "75"];
    trustflow(&[&["generate", "--brokers", kafka()][..], &args].concat());
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "name: failure\napp_id: failure\nepoch_ms: 100\n\
         source: {topic: unused, dead_letter_topic: unused-dlq, group: failure}\n\
         sink: {output: unused}\n\
         expectations:\n  - {name: currency_iso, column: currency, rule: iso_4217_code, action: fail}\n",
    )
    .unwrap();
    let log = dir.path().join("run.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args(["run", "--config", spec.to_str().unwrap(), "--brokers", kafka(), "--topic", &topic])
        .args(["--dead-letter-topic", &format!("{topic}-dlq"), "--now", NOW, "-w", "2", "--output"])
        .arg(dir.path().join("out"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the run did not exit:\n{}", std::fs::read_to_string(&log).unwrap());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("expectation `currency_iso` failed"), "the failed worker's error:\n{stderr}");
    assert!(!stderr.contains("another worker failed") && !stderr.contains("panicked"), "{stderr}");
}
