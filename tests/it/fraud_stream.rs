//! Issue 5 on a real broker: `run --model` reads the transactions and the user-events topic,
//! and scores every transaction as `batch --model --user-events` does over the same events,
//! bit for bit, also when it is killed and restarted again and again while events arrive.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::kafka_output_support::for_each_record;
use crate::kill_loop::{Kills, kill_again_and_again};
use crate::support::{consolidated_quality, kafka, read_delta, run_trustflow, setting, trustflow, unique};

const NOW_MS: i64 = 1_767_225_600_000;

/// `(transactionId, fraud_score bits, risk_category, model_version)` of each row, sorted.
type ScoreKey = (Option<String>, Option<u64>, String, Option<i64>);

/// The consolidated rows of a run's quality table as score keys (every row scored).
fn streamed(table: &Path) -> Vec<ScoreKey> {
    let mut keys: Vec<ScoreKey> = consolidated_quality(table.to_str().unwrap(), &[])
        .into_iter()
        .flat_map(|(row, n)| {
            assert!(n > 0, "a retraction without its row: {row:?}");
            let fraud = row.fraud.expect("every streamed row is scored");
            let key = (
                row.record.transaction_id.clone(),
                Some(fraud.score.0.to_bits()),
                trustflow::fraud::score::risk_label(Some(&fraud)).to_owned(),
                Some(i64::from(fraud.model_version)),
            );
            std::iter::repeat_n(key, n as usize)
        })
        .collect();
    keys.sort();
    keys
}

/// A batch output table as score keys, read with trustflow's own Arrow reader: JSON (Python's
/// reader) does not carry every float bit through serde_json's default parsing.
fn batched(table: &Path) -> Vec<ScoreKey> {
    use deltalake::arrow::array::{Array, AsArray};
    use deltalake::arrow::datatypes::{Float64Type, Int32Type};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let storage = trustflow::location::StorageOptions::from_vars(std::iter::empty());
    let table = runtime
        .block_on(trustflow::sink::maintain::read_at(
            table.to_str().unwrap(),
            &storage,
            trustflow::sink::maintain::AsOf::Latest,
        ))
        .unwrap();
    let mut keys: Vec<ScoreKey> = Vec::new();
    for batch in &table.batches {
        let ids = batch.column_by_name("transactionId").unwrap().as_string::<i32>();
        let scores = batch.column_by_name("fraud_score").unwrap().as_primitive::<Float64Type>();
        let risks = batch.column_by_name("risk_category").unwrap().as_string::<i32>();
        let versions = batch.column_by_name("model_version").unwrap().as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            keys.push((
                ids.is_valid(i).then(|| ids.value(i).to_owned()),
                scores.is_valid(i).then(|| scores.value(i).to_bits()),
                risks.value(i).to_owned(),
                versions.is_valid(i).then(|| i64::from(versions.value(i))),
            ));
        }
    }
    keys.sort();
    keys
}

/// How many of `a`'s keys `b` lacks, and the other way round (multisets).
fn differing(a: &[ScoreKey], b: &[ScoreKey]) -> (usize, usize) {
    let mut counts: BTreeMap<&ScoreKey, i64> = BTreeMap::new();
    for key in a {
        *counts.entry(key).or_default() += 1;
    }
    for key in b {
        *counts.entry(key).or_default() -= 1;
    }
    let only_a = counts.values().filter(|n| **n > 0).map(|n| *n as usize).sum();
    let only_b = counts.values().filter(|n| **n < 0).map(|n| n.unsigned_abs() as usize).sum();
    (only_a, only_b)
}

/// A labelled stream with its logins written to `dir`, and a model trained on it (version 1
/// of `dir/models`, with the login features); returns the registry's path.
fn trained_model(dir: &Path, seed: &str) -> String {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let now = NOW_MS.to_string();
    trustflow(&[
        "generate",
        "--fraud-rate",
        "0.01",
        "--seed",
        "31",
        "--count",
        "40000",
        "--now",
        &now,
        "--jsonl",
        &path("train.jsonl"),
        "--labels",
        &path("train.labels.jsonl"),
        "--user-events-jsonl",
        &path("train.users.jsonl"),
    ]);
    train(dir, seed)
}

/// Trains a new version of `dir/models` on the labelled stream and logins in `dir` with `seed`;
/// returns the registry's path.
fn train(dir: &Path, seed: &str) -> String {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (input, labels, users, models) =
        (path("train.jsonl"), path("train.labels.jsonl"), path("train.users.jsonl"), path("models"));
    let args =
        ["train", "--input", &input, "--labels", &labels, "--user-events", &users, "--model-dir", &models];
    trustflow(&[&args[..], &["--seed", seed]].concat());
    models
}

/// `batch --model` over `events.jsonl` in `dir`, with its logins unless `logins` is false.
fn batch_scores(dir: &Path, model: &str, name: &str, logins: bool) -> Vec<ScoreKey> {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let now = NOW_MS.to_string();
    let (input, output, users) = (path("events.jsonl"), path(name), path("events.users.jsonl"));
    let mut args = vec!["batch", "--input", &input, "--output", &output, "--now", &now, "--model", model];
    if logins {
        args.extend(["--user-events", &users]);
    }
    trustflow(&args);
    batched(&dir.join(name))
}

/// Issue 5: on a real broker, `run --model` (2 workers, small epochs, with the output topic)
/// reads the user-events topic too and gives every transaction the same score as `batch
/// --model --user-events` over the same events and model version, bit for bit; the logins
/// change scores (batch without them differs); the output topic carries the same scores; the
/// window metrics average them; a missing user-events topic is refused before anything is
/// written; and a run with another model, or without the logins, refuses to resume the tables.
#[test]
fn issue_5_streaming_scores_with_logins_equal_batch_scores_on_real_kafka() {
    let brokers = kafka();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let now = NOW_MS.to_string();
    let models = trained_model(dir.path(), "7");
    let topic = unique("fraud-tx");
    let users = format!("{topic}-users");
    let mut generate = vec!["generate", "--fraud-rate", "0.01", "--seed", "32", "--count", "20000"];
    generate.extend(["--now", &now, "--brokers", brokers, "--topic", &topic, "--partitions", "3"]);
    let (events, user_events) = (path("events.jsonl"), path("events.users.jsonl"));
    generate.extend(["--user-events-topic", &users, "--jsonl", &events, "--user-events-jsonl", &user_events]);
    trustflow(&generate);

    let out_topic = format!("{topic}-scored");
    let model = format!("{models}@1");
    let lineage = path("lineage.jsonl");
    let run = |model: &str, user_topic: Option<&str>, output: &str| {
        let dlq = format!("{topic}-dlq");
        let mut args = vec!["run", "--brokers", brokers, "--topic", &topic, "--dead-letter-topic", &dlq];
        args.extend(["--lineage", &lineage]);
        args.extend(["--output-topic", &out_topic, "--output", output, "--now", &now, "--stop-at-end"]);
        args.extend(["--epoch-ms", "100", "-w", "2", "--model", model]);
        match user_topic {
            Some(user_topic) => args.extend(["--user-events-topic", user_topic]),
            None => args.push("--score-without-logins"),
        }
        run_trustflow(&args, &[])
    };
    let refused = run(&model, Some("no-such-user-events"), &path("refused"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("`no-such-user-events` does not exist"), "{stderr}");
    assert!(stderr.contains("--score-without-logins"), "the error names the way out: {stderr}");
    assert!(!dir.path().join("refused/quality/_delta_log").exists(), "no table created when refused");

    let output = run(&model, Some(&users), &path("stream"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let logins = std::fs::read_to_string(&user_events).unwrap().lines().count();
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains(&format!("{logins} user events")), "every login read once: {summary}");

    // The lineage events name both topics as inputs; the last epoch's position covers every login.
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&lineage)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let last = events.iter().rev().find(|e| e["eventType"] == "RUNNING").expect("no RUNNING event");
    let inputs: Vec<&str> =
        last["inputs"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(inputs, [topic.as_str(), users.as_str()]);
    let offsets = last["run"]["facets"]["trustflow_epoch"]["offsets"].as_array().unwrap();
    let read: i64 = offsets
        .iter()
        .filter(|o| o["topic"] == users.as_str())
        .map(|o| o["nextOffset"].as_i64().unwrap())
        .sum();
    assert_eq!(read, logins as i64, "the committed user-events offsets cover every login");

    let streamed = streamed(&dir.path().join("stream/quality"));
    let batched = batch_scores(dir.path(), &model, "batch", true);
    assert_eq!(streamed.len(), batched.len());
    if streamed != batched {
        let first: Vec<_> = streamed.iter().zip(&batched).filter(|(a, b)| a != b).take(5).collect();
        panic!("streaming and batch scores differ ({:?}), first: {first:?}", differing(&streamed, &batched));
    }
    let high = streamed.iter().filter(|k| k.2 == "HIGH").count();
    assert!(high > 0 && high < streamed.len() / 10, "{high} HIGH of {}", streamed.len());
    // The logins matter: without them, batch scores some rows differently.
    let (changed, _) = differing(&streamed, &batch_scores(dir.path(), &model, "batch-no-logins", false));
    assert!(changed > 0, "the logins changed no score: the join shows nothing");
    println!(
        "{} rows, {logins} logins, {high} HIGH; {changed} rows scored differently without the logins",
        streamed.len()
    );

    // The output topic: inserts minus deletes per (id, score) equal the table's. serde_json's
    // default float parsing may miss the last bit, so scores compare to within 2 ulps.
    let mut topic_scores: BTreeMap<Option<String>, Vec<(f64, i64)>> = BTreeMap::new();
    for record in crate::kafka_output_support::read_topic(brokers, &out_topic, true) {
        let row = &record.value["row"];
        assert_eq!(row["model_version"], 1);
        let diff = if record.value["change"] == "insert" { 1 } else { -1 };
        let score = row["fraud_score"].as_f64().unwrap();
        let id = row["transactionId"].as_str().map(str::to_owned);
        let entries = topic_scores.entry(id).or_default();
        match entries.iter_mut().find(|(s, _)| (s - score).abs() <= 2.0 * f64::EPSILON) {
            Some(entry) => entry.1 += diff,
            None => entries.push((score, diff)),
        }
    }
    let mut topic_rows = 0;
    for (id, entries) in &topic_scores {
        for (score, n) in entries.iter().filter(|(_, n)| *n != 0) {
            let in_table = streamed
                .iter()
                .filter(|k| &k.0 == id && (f64::from_bits(k.1.unwrap()) - score).abs() <= 2.0 * f64::EPSILON)
                .count();
            assert_eq!(*n, in_table as i64, "{id:?} score {score}: topic and table disagree");
            topic_rows += n;
        }
    }
    assert_eq!(topic_rows, streamed.len() as i64, "the topic holds every scored row once");

    let windows = read_delta(&dir.path().join("stream/quality_windows"), true);
    let averages: Vec<f64> = windows["consolidated"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["avg_fraud_score"].as_f64())
        .collect();
    assert!(!averages.is_empty() && averages.iter().all(|a| (0.0..=1.0).contains(a)), "{averages:?}");

    // Neither another model version nor the same model without the logins may continue these
    // tables: the retractions would not match the rows committed.
    let refused = run(&model, None, &path("stream"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains(&format!("joined user-events topic `{users}`")),
        "{stderr}"
    );
    train(dir.path(), "2");
    let refused = run(&format!("{models}@2"), Some(&users), &path("stream"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("scored with model version 1"), "{stderr}");
}

/// Starts `run --model` over `topic` and `users` into `root`, 2 workers and 50 ms epochs, its
/// stderr (one line per committed epoch) into `log`; `bounded` stops it at the topics' end.
fn start(
    brokers: &str,
    topic: &str,
    users: &str,
    model: &str,
    root: &Path,
    log: &Path,
    bounded: bool,
) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trustflow"));
    command
        .args(["run", "--brokers", brokers, "--topic", topic, "--user-events-topic", users, "--model", model])
        .args(["--now", &NOW_MS.to_string(), "--epoch-ms", "50", "-w", "2", "--app-id", "fraud-crash"])
        .args(["--dead-letter-topic", &format!("{topic}-dlq"), "--output"])
        .arg(root)
        .env("RUST_LOG", "warn,trustflow::pipeline=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if bounded {
        command.arg("--stop-at-end");
    }
    command.spawn().expect("cannot start trustflow")
}

/// Issue 5 with issue 4's promise: a run reading transactions and user events, killed with
/// SIGKILL again and again while both topics grow (during replays, between and during
/// commits) and restarted each time, ends with the scores `batch --model --user-events`
/// computes over all the events: each topic resumes from its own committed offsets.
#[test]
fn issue_5_a_run_joining_logins_killed_again_and_again_equals_batch() {
    let (events, kills) =
        (setting("TRUSTFLOW_FRAUD_CRASH_EVENTS", 30_000), setting("TRUSTFLOW_FRAUD_CRASH_KILLS", 6));
    let mut rng = StdRng::seed_from_u64(setting("TRUSTFLOW_FRAUD_CRASH_SEED", 5));
    let brokers = kafka();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let model = format!("{}@1", trained_model(dir.path(), "7"));
    let topic = unique("fraud-crash");
    let users = format!("{topic}-users");
    let (count, now) = (events.to_string(), NOW_MS.to_string());
    let rate = setting("TRUSTFLOW_FRAUD_CRASH_RATE", 3_000).to_string();
    let mut producer = Command::new(env!("CARGO_BIN_EXE_trustflow"))
        .args([
            "generate",
            "--brokers",
            brokers,
            "--topic",
            &topic,
            "--partitions",
            "3",
            "--fraud-rate",
            "0.01",
        ])
        .args([
            "--user-events-topic",
            &users,
            "--count",
            &count,
            "--now",
            &now,
            "--seed",
            "33",
            "--rate",
            &rate,
        ])
        .args(["--jsonl", &path("events.jsonl"), "--user-events-jsonl", &path("events.users.jsonl")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the generator");
    // Both topics exist once the generator has created them.
    let deadline = Instant::now() + Duration::from_secs(60);
    let settings = trustflow::source::KafkaSettings::new(brokers);
    while settings.partitions(&topic).is_err() || settings.partitions(&users).is_err() {
        assert!(Instant::now() < deadline, "the generator did not create {topic} and {users}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let root = dir.path().join("out");
    let started = Instant::now();
    let plan = Kills {
        kills,
        early_ms: 300..3_000,
        commits: 2..=8,
        // (Once the generator is done, a run may have fewer epochs left to commit.)
        patience: Duration::from_secs(15),
        late_ms: 0..200,
    };
    let progress = kill_again_and_again(&plan, &mut rng, dir.path(), |log| {
        start(brokers, &topic, &users, &model, &root, log, false)
    });
    assert!(producer.wait().unwrap().success(), "the generator failed");
    let log = dir.path().join("final.log");
    let status = start(brokers, &topic, &users, &model, &root, &log, true).wait().unwrap();
    assert!(status.success(), "the final run failed:\n{}", std::fs::read_to_string(&log).unwrap());

    let streamed = streamed(&root.join("quality"));
    let batched = batch_scores(dir.path(), &model, "batch", true);
    let (missing, extra) = differing(&batched, &streamed);
    println!(
        "{kills} SIGKILLs (epochs committed per run: {progress:?}) in {:.1?}; {} scored rows expected, {} \
         stored, {missing} missing, {extra} extra",
        started.elapsed(),
        batched.len(),
        streamed.len()
    );
    assert!(
        progress.iter().any(|n| *n > 0),
        "no run committed anything before its kill: the test shows nothing"
    );
    assert_eq!((missing, extra), (0, 0), "the resumed run's scores differ from batch over the same events");

    // Dead letters too are exactly once for read_committed consumers: every undecodable record
    // of the topic once, with its original value, however often its epoch was read again.
    let mut decoder = trustflow::codec::Decoder::new(std::sync::Arc::new(
        trustflow::codec::registry::LocalRegistry::embedded().unwrap(),
    ));
    let mut undecodable: BTreeMap<(String, i32, i64), Vec<u8>> = BTreeMap::new();
    for_each_record(brokers, &topic, false, |record| {
        if decoder.decode(&record.payload).is_err() {
            undecodable.insert((topic.clone(), record.partition, record.offset), record.payload);
        }
    });
    let mut published: BTreeMap<(String, i32, i64), Vec<Vec<u8>>> = BTreeMap::new();
    for_each_record(brokers, &format!("{topic}-dlq"), true, |record| {
        let position = (
            record.headers["trustflow.source.topic"].clone(),
            record.headers["trustflow.source.partition"].parse().unwrap(),
            record.headers["trustflow.source.offset"].parse().unwrap(),
        );
        assert!(!record.headers["trustflow.reason"].is_empty());
        published.entry(position).or_default().push(record.payload);
    });
    let doubled = published.values().filter(|copies| copies.len() > 1).count();
    println!(
        "dead letters: {} undecodable records in the topic, {} published, {doubled} more than once",
        undecodable.len(),
        published.values().map(Vec::len).sum::<usize>()
    );
    assert!(!undecodable.is_empty(), "the generator planted no garbage: the check shows nothing");
    assert_eq!(doubled, 0, "a dead letter was published more than once");
    let published: BTreeMap<_, _> = published.into_iter().map(|(k, mut v)| (k, v.remove(0))).collect();
    assert!(published == undecodable, "the dead-letter topic differs from the topic's undecodable records");
}
