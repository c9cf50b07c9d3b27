//! Issue 4, exactly once under crashes: a run through real Kafka into Azurite, killed with
//! SIGKILL again and again and restarted each time, ends with the same tables as a run that
//! never failed.
//!
//! Scale with `TRUSTFLOW_CRASH_EVENTS` (default 1,000,000) and `TRUSTFLOW_CRASH_KILLS`
//! (default 20); `TRUSTFLOW_CRASH_SEED` picks the kill moments.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::kafka_output_support::for_each_record;
use crate::kill_loop::{Kills, kill_again_and_again};
use crate::support::{
    azurite, consolidated_quality, kafka, read_url, setting, trustflow, trustflow_env, unique,
};

const NOW: &str = "1767225600000";

/// Starts an unbounded run writing to `root`, its stderr (with one line per committed epoch)
/// into `log`.
fn start(brokers: &str, topic: &str, root: &str, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args(["run", "--brokers", brokers, "--topic", topic, "--output", root, "--now", NOW])
        .args(["--dead-letter-topic", &format!("{topic}-dlq"), "--app-id", "crash-test", "-w", "2"])
        .args(["--epoch-ms", "100", "--output-topic", &format!("{topic}-out")])
        .env("RUST_LOG", "warn,trustflow::pipeline=debug")
        .envs(azurite().env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(File::create(log).unwrap())
        .spawn()
        .expect("cannot start trustflow")
}

/// The change records of an output topic as a `read_committed` consumer sees them,
/// consolidated: each distinct row (as canonical JSON) with its inserts minus deletes.
fn consolidated_topic(brokers: &str, topic: &str) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for_each_record(brokers, topic, true, |record| {
        let diff = if record.value["change"] == "delete" { -1 } else { 1 };
        *rows.entry(record.value["row"].to_string()).or_default() += diff;
    });
    rows.retain(|_, n| *n != 0);
    rows
}

/// Issue 4: at least 1M events through real Kafka into Azurite; the pipeline is killed with
/// SIGKILL at least 20 times at random moments (during start-up, replay, epochs and commits)
/// and restarted each time. The consolidated tables, and the output topic as a
/// `read_committed` consumer sees it, equal those of a failure-free run: nothing lost, nothing
/// doubled.
#[test]
fn issue_4_sigkill_again_and_again_loses_and_doubles_nothing() {
    let (events, kills) =
        (setting("TRUSTFLOW_CRASH_EVENTS", 1_000_000), setting("TRUSTFLOW_CRASH_KILLS", 20));
    let mut rng = StdRng::seed_from_u64(setting("TRUSTFLOW_CRASH_SEED", 4));
    let brokers = kafka();
    let env = &azurite().env;
    let topic = unique("crash");
    let count = events.to_string();
    let args = ["--topic", &topic, "--partitions", "4", "--count", &count, "--now", NOW, "--seed", "4"];
    trustflow(&[&["generate", "--brokers", brokers][..], &args].concat());

    let base = format!("az://trustflow/{}", unique("crash"));
    let (reference, crashed) = (format!("{base}/reference"), format!("{base}/crashed"));
    let started = Instant::now();
    trustflow_env(
        &[
            "run",
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--output",
            &reference,
            "--now",
            NOW,
            "--stop-at-end",
            "-w",
            "2",
            "--epoch-ms",
            "1000",
            "--dead-letter-topic",
            &format!("{topic}-ref-dlq"),
            "--output-topic",
            &format!("{topic}-ref-out"),
        ],
        env,
    );
    let reference_time = started.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let plan = Kills {
        kills,
        early_ms: 200..4_000,
        commits: 1..=3,
        patience: Duration::from_secs(120),
        late_ms: 0..300,
    };
    let progress =
        kill_again_and_again(&plan, &mut rng, dir.path(), |log| start(brokers, &topic, &crashed, log));
    let output = trustflow_env(
        &[
            "run",
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--output",
            &crashed,
            "--now",
            NOW,
            "--stop-at-end",
            "-w",
            "2",
            "--epoch-ms",
            "100",
            "--dead-letter-topic",
            &format!("{topic}-dlq"),
            "--output-topic",
            &format!("{topic}-out"),
            "--app-id",
            "crash-test",
        ],
        env,
    );
    let crashed_time = started.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("resumed"), "the last run resumed:\n{printed}");

    let expected = consolidated_quality(&format!("{reference}/quality"), env);
    let actual = consolidated_quality(&format!("{crashed}/quality"), env);
    let transactions: isize = expected.iter().map(|(_, n)| n).sum();
    println!(
        "{events} events ({transactions} transactions), {kills} SIGKILLs (epochs committed by each killed run: \
         {progress:?}); failure-free run {:.1} s, killed runs and the last one {:.1} s",
        reference_time.as_secs_f64(),
        crashed_time.as_secs_f64()
    );
    assert!(expected.iter().all(|(_, n)| *n > 0) && actual.iter().all(|(_, n)| *n > 0), "negative counts");
    let missing = expected.iter().filter(|r| actual.binary_search(r).is_err()).count();
    let extra = actual.iter().filter(|r| expected.binary_search(r).is_err()).count();
    println!(
        "quality: {} rows expected, {} found, {missing} missing or different, {extra} extra",
        expected.len(),
        actual.len()
    );
    assert!(transactions as u64 > events * 9 / 10);
    assert_eq!((missing, extra), (0, 0));
    assert!(expected == actual);

    let (expected_topic, actual_topic) = (
        consolidated_topic(brokers, &format!("{topic}-ref-out")),
        consolidated_topic(brokers, &format!("{topic}-out")),
    );
    let published: i64 = expected_topic.values().sum();
    println!(
        "output topic (read_committed): {published} rows expected, {} found",
        actual_topic.values().sum::<i64>()
    );
    assert_eq!(published, transactions as i64, "the reference topic holds every kept verdict");
    assert!(actual_topic.values().all(|n| *n > 0), "negative counts in the output topic");
    assert!(expected_topic == actual_topic, "the output topic differs");

    for table in ["quality_windows", "quarantine"] {
        let (a, b) = (
            read_url(&format!("{reference}/{table}"), true, false, env),
            read_url(&format!("{crashed}/{table}"), true, false, env),
        );
        println!("{table}: {} rows expected, {} found", a["consolidated_rows"], b["consolidated_rows"]);
        assert_eq!(b["negative"], 0, "{table}");
        assert!(a["consolidated"] == b["consolidated"], "{table} differs");
    }
}
