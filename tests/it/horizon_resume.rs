//! Issue 4 with a horizon: a run with `--horizon`, killed with SIGKILL again and again on a real
//! broker, ends with exactly the tables that the horizon graph computes over the epochs its
//! log records, fed plainly in this test (records cut by each commit's offsets, each epoch's
//! recorded event-time marks). Which rows are late depends on the epochs' boundaries, so the
//! reference is the graph over the run's own epochs, not another run's. A restart reads each
//! partition only from the oldest row its state held, and still matches that reference.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use differential_dataflow::input::Input;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use timely::dataflow::operators::capture::{Capture, Extract};

use crate::kafka_output_support::for_each_record;
use crate::kill_loop::{Kills, kill_again_and_again};
use crate::support::{consolidated_quality, kafka, read_delta, setting, unique};
use trustflow::codec::Decoder;
use trustflow::codec::registry::LocalRegistry;
use trustflow::dataflow::horizon::{Horizon, LateEvent, Mark, quality_within_marks};
use trustflow::dataflow::quality::QualityRow;
use trustflow::location::StorageOptions;
use trustflow::record::{Origin, Record, Transaction};

const NOW: i64 = 1_767_225_600_000;
const APP: &str = "horizon-crash";

/// Starts a run with a one-day horizon and 50 ms epochs writing to `root`, its stderr (one
/// line per committed epoch) into `log`; `bounded` stops it at the end of the topic.
fn start(brokers: &str, topic: &str, root: &Path, log: &Path, bounded: bool) -> Child {
    start_with(brokers, topic, root, log, bounded, &[])
}

/// As [`start`], with `extra` arguments.
fn start_with(brokers: &str, topic: &str, root: &Path, log: &Path, bounded: bool, extra: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustflow"));
    command
        .args(["run", "--brokers", brokers, "--topic", topic, "--output"])
        .arg(root)
        .args(["--now", &NOW.to_string(), "--horizon", "1d", "--epoch-ms", "50", "-w", "2"])
        .args(["--app-id", APP, "--dead-letter-topic", &format!("{topic}-dlq")])
        .env("RUST_LOG", "warn,trustflow::pipeline=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if bounded {
        command.arg("--stop-at-end");
    }
    command.args(extra);
    command.spawn().expect("cannot start trustflow")
}

/// One committed epoch as the main table's log records it.
struct Epoch {
    epoch: u64,
    offsets: BTreeMap<i32, i64>,
    marks: Vec<Mark>,
}

/// Every commit of the run in the main table, oldest first, read from its commit info.
fn epochs(table: &str) -> Vec<Epoch> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let history =
        runtime.block_on(trustflow::sink::committed_history(table, APP, &StorageOptions::default())).unwrap();
    let mut epochs: Vec<Epoch> = history
        .into_iter()
        .map(|(epoch, info)| {
            let offsets = info["source"]["offsets"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(p, o)| (p.parse().unwrap(), o.as_i64().unwrap()))
                .collect();
            let marks = info["horizon"]["marks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| Mark {
                    source: m[0].as_i64().unwrap(),
                    max_ts: m[1].as_i64(),
                    finished: m[2].as_bool().unwrap(),
                })
                .collect();
            Epoch { epoch, offsets, marks }
        })
        .collect();
    epochs.sort_by_key(|e| e.epoch);
    epochs
}

/// The topic's transactions, each with its origin as the pipeline sets it, at the first
/// committed epoch whose offsets cover it.
fn records_by_epoch(brokers: &str, topic: &str, epochs: &[Epoch]) -> BTreeMap<u64, Vec<Transaction>> {
    let mut decoder = Decoder::new(Arc::new(LocalRegistry::embedded().unwrap()));
    let topic_name: Arc<str> = Arc::from(topic);
    let mut out: BTreeMap<u64, Vec<Transaction>> = BTreeMap::new();
    for_each_record(brokers, topic, false, |record| {
        let Ok(decoded) = decoder.decode(&record.payload) else { return };
        let Record::Transaction(mut row) = decoded.record else { return };
        row.origin = Some(Origin {
            topic: topic_name.clone(),
            partition: record.partition,
            offset: record.offset,
            schema_id: decoded.schema_id,
        });
        let epoch = epochs
            .iter()
            .find(|e| e.offsets.get(&record.partition).is_some_and(|next| record.offset < *next))
            .unwrap_or_else(|| {
                panic!("record {}:{} is in no committed epoch", record.partition, record.offset)
            })
            .epoch;
        out.entry(epoch).or_default().push(row);
    });
    out
}

/// The horizon graph over the run's epochs: consolidated verdicts and late rows.
fn reference(
    epochs: &[Epoch],
    records: BTreeMap<u64, Vec<Transaction>>,
) -> (BTreeMap<QualityRow, i64>, BTreeMap<LateEvent, i64>) {
    let (verdicts_tx, verdicts_rx) = mpsc::channel();
    let (late_tx, late_rx) = mpsc::channel();
    let senders = Arc::new(Mutex::new((verdicts_tx, late_tx)));
    let plan: Vec<(u64, Vec<Transaction>, Vec<Mark>)> = epochs
        .iter()
        .map(|e| (e.epoch, records.get(&e.epoch).cloned().unwrap_or_default(), e.marks.clone()))
        .collect();
    let plan = Arc::new(plan);
    let horizon = Horizon::parse("1d").unwrap();
    timely::execute(timely::Config::thread(), move |worker| {
        let (verdicts_tx, late_tx) = senders.lock().unwrap().clone();
        let (mut input, mut marks) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, rows) = scope.new_collection::<Transaction, isize>();
            let (marks_input, marks) = timely::dataflow::operators::vec::Input::new_input::<Mark>(&scope);
            let bounded = quality_within_marks(rows, marks, NOW, horizon);
            bounded.verdicts.inner.capture_into(verdicts_tx);
            bounded.late.inner.capture_into(late_tx);
            (input, marks_input)
        });
        for (epoch, rows, epoch_marks) in plan.iter() {
            input.advance_to(*epoch);
            marks.advance_to(*epoch);
            for row in rows {
                input.update(row.clone(), 1);
            }
            for mark in epoch_marks {
                marks.send(*mark);
            }
            input.flush();
            worker.step();
        }
    })
    .unwrap();
    let mut verdicts = BTreeMap::new();
    for (row, _, diff) in verdicts_rx.extract().into_iter().flat_map(|(_, batch)| batch) {
        *verdicts.entry(row).or_insert(0) += diff as i64;
    }
    verdicts.retain(|_, n| *n != 0);
    let mut late = BTreeMap::new();
    for (event, _, diff) in late_rx.extract().into_iter().flat_map(|(_, batch)| batch) {
        *late.entry(event).or_insert(0) += diff as i64;
    }
    late.retain(|_, n| *n != 0);
    (verdicts, late)
}

/// What the comparison looks at in a verdict: the source position and every check.
fn verdict_key(row: &QualityRow) -> String {
    let origin = row.record.origin.as_ref().expect("a row without its source position");
    let checks: String = row.checks().iter().map(|(_, passed)| if *passed { '1' } else { '0' }).collect();
    format!("{}:{} {checks} {:?}", origin.partition, origin.offset, row.avg_transaction_amount)
}

/// What the comparison looks at in a late row, as the late-events table spells it.
fn late_key(
    transaction_id: Option<&str>,
    timestamp: Option<i64>,
    reason: &str,
    cutoff: Option<i64>,
) -> String {
    format!("{transaction_id:?} {timestamp:?} {reason} {cutoff:?}")
}

fn counted<K: Ord>(keys: impl IntoIterator<Item = (K, i64)>) -> BTreeMap<K, i64> {
    let mut out = BTreeMap::new();
    for (key, n) in keys {
        *out.entry(key).or_insert(0) += n;
    }
    out.retain(|_, n| *n != 0);
    out
}

/// Issue 4: a run with an event-time horizon, killed with SIGKILL again and again (while it
/// replays, between and during commits) and restarted each time, resumes exactly: its
/// consolidated verdicts and late rows equal the horizon graph's over the epochs it committed.
#[test]
fn issue_4_a_horizon_run_killed_again_and_again_resumes_exactly() {
    let (events, kills) =
        (setting("TRUSTFLOW_HZ_CRASH_EVENTS", 150_000), setting("TRUSTFLOW_HZ_CRASH_KILLS", 10));
    let mut rng = StdRng::seed_from_u64(setting("TRUSTFLOW_HZ_CRASH_SEED", 11));
    let brokers = kafka();
    let topic = unique("horizon-crash");
    let count = events.to_string();
    let now = NOW.to_string();
    // The events arrive while the runs are killed and restarted: each run reads some new
    // ones in many small epochs, and replays the epochs the runs before it committed.
    let rate = setting("TRUSTFLOW_HZ_CRASH_RATE", 4_000).to_string();
    let mut producer = Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args(["generate", "--brokers", brokers, "--topic", &topic, "--partitions", "4", "--span", "4d"])
        .args(["--count", &count, "--now", &now, "--seed", "11", "--rate", &rate])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the generator");
    // The topic exists once the generator has created it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while trustflow::source::KafkaSettings::new(brokers).partitions(&topic).is_err() {
        assert!(Instant::now() < deadline, "the generator did not create {topic}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let started = Instant::now();
    let plan = Kills {
        kills,
        early_ms: 200..3_000,
        commits: 2..=8,
        patience: Duration::from_secs(120),
        late_ms: 0..200,
    };
    let progress =
        kill_again_and_again(&plan, &mut rng, dir.path(), |log| start(brokers, &topic, &root, log, false));
    assert!(producer.wait().unwrap().success(), "the generator failed");
    let log = dir.path().join("final.log");
    let status = start(brokers, &topic, &root, &log, true).wait().unwrap();
    assert!(status.success(), "the final run failed:\n{}", std::fs::read_to_string(&log).unwrap());
    let crashed_time = started.elapsed();

    let (epochs, fed) = matches_reference(brokers, &topic, &root);
    println!(
        "{kills} SIGKILLs (epochs committed per run: {progress:?}) in {crashed_time:.1?}; {epochs} committed \
         epochs over {fed} transactions"
    );
}

/// Asserts that the tables under `root` hold exactly the horizon graph's consolidated verdicts
/// and late rows over the epochs the main table's log records (`reference`), and returns how
/// many epochs that is and how many transactions they read.
fn matches_reference(brokers: &str, topic: &str, root: &Path) -> (usize, usize) {
    let quality = root.join("quality");
    let epochs = epochs(quality.to_str().unwrap());
    let records = records_by_epoch(brokers, topic, &epochs);
    let fed: usize = records.values().map(Vec::len).sum();
    let (verdicts, late) = reference(&epochs, records);

    let expected = counted(verdicts.iter().map(|(row, n)| (verdict_key(row), *n)));
    let table = consolidated_quality(quality.to_str().unwrap(), &[]);
    let actual = counted(table.iter().map(|(row, n)| (verdict_key(row), *n as i64)));
    let missing = expected.iter().filter(|(k, n)| actual.get(*k) != Some(n)).count();
    let extra = actual.iter().filter(|(k, n)| expected.get(*k) != Some(n)).count();

    let expected_late = counted(late.iter().map(|(event, n)| {
        let row = &event.row;
        (late_key(row.transaction_id.as_deref(), row.timestamp, event.reason.as_str(), event.cutoff_ms), *n)
    }));
    let stored = read_delta(&root.join("late_events"), true);
    let actual_late = counted(stored["consolidated"].as_array().unwrap().iter().map(|row: &Value| {
        let key = late_key(
            row["transactionId"].as_str(),
            row["timestamp"].as_i64(),
            row["reason"].as_str().unwrap(),
            row["cutoff"].as_i64(),
        );
        (key, 1)
    }));
    println!(
        "verdicts: {} expected, {} stored, {missing} missing, {extra} extra; late rows: {} expected, {} stored",
        expected.values().sum::<i64>(),
        actual.values().sum::<i64>(),
        expected_late.values().sum::<i64>(),
        actual_late.values().sum::<i64>(),
    );
    assert!(fed > 0 && !expected_late.is_empty(), "the horizon set nothing aside: the test shows nothing");
    assert_eq!(
        (missing, extra),
        (0, 0),
        "the stored verdicts differ from the graph's over the committed epochs"
    );
    assert_eq!(actual_late, expected_late, "the late-events table differs from the graph's late rows");
    (epochs.len(), fed)
}

/// Issue 4: every commit records the run's "now". A restart without `--now` (whose own
/// default is the wall clock) judges timestamp validity by the committed one, so its tables
/// equal one uninterrupted run's; a restart with another `--now` is refused.
#[test]
fn issue_4_a_restart_without_now_takes_the_committed_now() {
    let brokers = kafka();
    let topic = unique("resume-now");
    let dir = tempfile::tempdir().unwrap();
    let (resumed, whole) = (dir.path().join("resumed"), dir.path().join("whole"));
    let now = NOW.to_string();
    let generate = |seed: &str| {
        let args = ["generate", "--brokers", brokers, "--topic", &topic, "--partitions", "2"];
        crate::support::trustflow(&[&args[..], &["--count", "5000", "--now", &now, "--seed", seed]].concat());
    };
    let run = |root: &Path, now: Option<&str>| {
        let mut args = vec!["run", "--brokers", brokers, "--topic", &topic, "--stop-at-end"];
        args.extend(["--dead-letter-topic", "resume-now-dlq", "--app-id", "resume-now", "--output"]);
        args.push(root.to_str().unwrap());
        if let Some(now) = now {
            args.extend(["--now", now]);
        }
        crate::support::run_trustflow(&args, &[])
    };
    generate("1");
    assert!(run(&resumed, Some(&now)).status.success());
    generate("2");
    let second = run(&resumed, None);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(run(&whole, Some(&now)).status.success());

    let (resumed_rows, whole_rows) = (
        consolidated_quality(resumed.join("quality").to_str().unwrap(), &[]),
        consolidated_quality(whole.join("quality").to_str().unwrap(), &[]),
    );
    assert_eq!(resumed_rows.len(), whole_rows.len());
    assert!(resumed_rows == whole_rows, "the resumed run's table differs from the uninterrupted run's");
    assert!(
        resumed_rows.iter().any(|(row, _)| row.timestamp_valid),
        "no row was judged valid by the committed now"
    );

    let refused = run(&resumed, Some(&(NOW + 1).to_string()));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("judged with --now {NOW}")), "{stderr}");
}

/// Issue 4: a horizon run's restart feeds again only the records its state may still need.
/// Over 4 days of events read in many epochs and a one-day horizon, the restart replays less
/// than half of the records before its committed position, and its tables still equal the
/// horizon graph's over the epochs the log records (the new epochs after the restart too).
#[test]
fn issue_4_a_horizon_restart_replays_only_from_the_horizon() {
    let brokers = kafka();
    let topic = unique("horizon-skip");
    let now = NOW.to_string();
    let generate = |count: &str, seed: &str, rate: &str| {
        let args = ["generate", "--brokers", brokers, "--topic", &topic, "--partitions", "2", "--span", "4d"];
        let more = ["--count", count, "--now", &now, "--seed", seed, "--users", "200", "--rate", rate];
        Command::new(env!("CARGO_BIN_EXE_trustflow"))
            .args(args)
            .args(more)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start the generator")
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    let table = root.join("quality");
    // The first run reads the events as they arrive (10 s of them: its start, with the
    // dead-letter producer's transactional handshake, takes a second or two), in many epochs, and is
    // killed once it has committed all of them.
    let mut producer = generate("30000", "21", "3000");
    let deadline = Instant::now() + Duration::from_secs(60);
    while trustflow::source::KafkaSettings::new(brokers).partitions(&topic).is_err() {
        assert!(Instant::now() < deadline, "the generator did not create {topic}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dir.path().join("first.log");
    let mut first = start(brokers, &topic, &root, &log, false);
    assert!(producer.wait().unwrap().success(), "the generator failed");
    let deadline = Instant::now() + Duration::from_secs(120);
    let read_all = || {
        table.join("_delta_log").exists() && {
            let committed = epochs(table.to_str().unwrap());
            committed.last().is_some_and(|e| e.offsets.values().sum::<i64>() >= 30_000)
        }
    };
    while !read_all() {
        let ended = first.try_wait().unwrap().is_some();
        assert!(!ended && Instant::now() < deadline, "{}", std::fs::read_to_string(&log).unwrap());
        std::thread::sleep(Duration::from_millis(200));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let committed = epochs(table.to_str().unwrap());
    let last = committed.last().unwrap();
    let before: i64 = last.offsets.values().sum();
    assert!(committed.len() > 10, "the first run committed {} epochs: too few to skip any", committed.len());

    assert!(generate("3000", "22", "0").wait().unwrap().success(), "the generator failed");
    let summary = dir.path().join("summary.json");
    let log = dir.path().join("restart.log");
    let extra = ["--summary-json", summary.to_str().unwrap()];
    let status = start_with(brokers, &topic, &root, &log, true, &extra).wait().unwrap();
    assert!(status.success(), "the restart failed:\n{}", std::fs::read_to_string(&log).unwrap());

    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["resumed_after"].as_u64(), Some(last.epoch), "{summary}");
    let (replayed, skipped) =
        (summary["replayed_events"].as_i64().unwrap(), summary["skipped_events"].as_i64().unwrap());
    println!(
        "the restart after epoch {} fed {replayed} of the {before} records before it again ({skipped} read but \
         skipped)",
        last.epoch
    );
    // The offsets count every record (garbage included; the generator does not write
    // transactionally, so no offset is a transaction marker).
    assert!(
        replayed > 0 && replayed * 2 < before,
        "the restart fed {replayed} of {before} records again: it did not start from the horizon"
    );
    let (epochs, fed) = matches_reference(brokers, &topic, &root);
    assert!(epochs > committed.len(), "the restart committed no new epoch");
    assert!(fed > 30_000, "the new events were not read");
}
