//! Issue 4, the cluster: two processes of two workers each (`scripts/cluster.sh -n 2 -w 2`)
//! on a real Kafka topic write the same table as one process with one worker.

use std::process::Command;

use crate::support::{consolidated_quality, kafka, root, trustflow, unique};

const NOW: &str = "1767225600000";

/// Issue 4: `scripts/cluster.sh -n 2 -w 2` spreads 6 partitions over 4 workers in 2
/// processes with one committer; the consolidated table equals a `-w 1` run's, row for row,
/// and process 0's summary counts the events all four workers read.
#[test]
fn issue_4_two_processes_two_workers_each_equal_one_worker() {
    let brokers = kafka();
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("cluster");
    let args = ["--topic", &topic, "--partitions", "6", "--count", "60000", "--now", NOW, "--seed", "6"];
    trustflow(&[&["generate", "--brokers", brokers][..], &args].concat());
    let run = |root: &str| {
        ["run", "--brokers", brokers, "--topic", &topic, "--output", root, "--now", NOW, "--stop-at-end"]
            .map(str::to_owned)
            .to_vec()
    };

    let single = dir.path().join("single");
    let single = single.to_str().unwrap();
    trustflow(&run(single).iter().map(String::as_str).collect::<Vec<_>>());

    let clustered = dir.path().join("cluster");
    let clustered = clustered.to_str().unwrap();
    let logs = dir.path().join("logs");
    // A port range of its own, so that concurrent test runs do not collide.
    let base_port = (20_000 + std::process::id() % 20_000).to_string();
    let output = Command::new("bash")
        .arg(root().join("scripts/cluster.sh"))
        .args(["-n", "2", "-w", "2", "--base-port", &base_port, "--logs", logs.to_str().unwrap(), "--"])
        .args(run(clustered))
        .env("TRUSTFLOW_BIN", env!("CARGO_BIN_EXE_trustflow"))
        .env("RUST_LOG", "warn,trustflow=info")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cluster.sh failed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("rows out"), "process 0 commits and prints the summary:\n{printed}");
    // Process 0 counts every worker of the cluster; process 1 its own two, and says so.
    assert!(
        printed.contains("events in      60000 ") && printed.contains("on 4 worker(s) in 2 processes"),
        "process 0's summary counts the whole cluster:\n{printed}"
    );
    let other = std::fs::read_to_string(logs.join("process-1.out")).unwrap();
    assert!(
        other.contains("on 2 worker(s) of process 1 (of 2;") && !other.contains("rows out"),
        "process 1 counts its own workers:\n{other}"
    );
    for process in 0..2 {
        let log = std::fs::read_to_string(logs.join(format!("process-{process}.log"))).unwrap();
        let assigned = log.lines().filter(|l| l.contains("assigned")).count();
        assert_eq!(assigned, 2, "process {process} runs two workers:\n{log}");
    }

    let expected = consolidated_quality(&format!("{single}/quality"), &[]);
    let actual = consolidated_quality(&format!("{clustered}/quality"), &[]);
    assert!(expected.len() > 50_000 && expected.iter().all(|(_, n)| *n > 0));
    assert!(expected == actual, "the cluster's table differs: {} vs {} rows", expected.len(), actual.len());
}
