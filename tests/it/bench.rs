//! Issue 6: `trustflow bench` in quick mode on the real broker: the JSON result is well formed
//! and its counts add up (no wall-clock limits are asserted).

use serde_json::Value;

use crate::support::{kafka, trustflow};

/// The number at `value`, or a panic naming `what`.
fn number(value: &Value, what: &str) -> f64 {
    value.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {value}"))
}

#[test]
fn issue_6_bench_quick_mode_writes_counts_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let (json, markdown) = (dir.path().join("bench.json"), dir.path().join("bench.md"));
    let events = 3_000u64;
    let output = trustflow(&[
        "bench",
        "--brokers",
        kafka(),
        "--events",
        &events.to_string(),
        "--partitions",
        "2",
        "-w",
        "1,2",
        "--epoch-ms",
        "200",
        "--rates",
        "1000",
        "--latency-epoch-ms",
        "100",
        "--latency-secs",
        "2",
        "--drain-secs",
        "120",
        "--work-dir",
        dir.path().join("work").to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        markdown.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("throughput: -w 2"), "no progress printed:\n{stderr}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();

    let preload = &report["preload"];
    assert_eq!(preload["events"], events);
    let transactions = preload["transactions"].as_u64().unwrap();
    assert_eq!(transactions + preload["garbage"].as_u64().unwrap(), events);

    let throughput = report["throughput"].as_array().unwrap();
    assert_eq!(throughput.iter().map(|r| r["workers"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    for run in throughput {
        assert_eq!(run["events_in"], events, "{run}");
        assert_eq!(run["transactions"], transactions, "{run}");
        assert_eq!(run["dead_lettered"].as_u64().unwrap() + transactions, events, "{run}");
        assert_eq!(run["table_rows"], transactions, "one verdict per transaction: {run}");
        assert_eq!(run["epoch_ms"], 200);
        assert!(run["epochs"].as_u64().unwrap() >= 1, "{run}");
        assert!(number(&run["events_per_second"], "events/s") > 0.0);
        assert!(run["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0, "{run}");
    }
    let batch = report["batch"].as_array().unwrap();
    assert_eq!(batch.len(), 2);
    for run in batch {
        assert_eq!(run["rows"], transactions, "{run}");
    }
    assert!(number(&report["ratios"]["streaming_scaling"], "scaling") > 0.0);
    assert_eq!(report["ratios"]["batch_over_streaming"].as_array().unwrap().len(), 2);

    let latency = report["latency"].as_array().unwrap();
    assert_eq!(latency.len(), 1);
    let run = &latency[0];
    assert_eq!((run["target_rate"].as_u64(), run["epoch_ms"].as_u64()), (Some(1000), Some(100)));
    assert_eq!(run["sent"], 2000);
    let sent = run["sent_transactions"].as_u64().unwrap();
    assert!(sent > 1900 && sent <= 2000, "{run}");
    assert_eq!(run["observed"], sent, "every transaction came out within the drain time: {run}");
    assert_eq!(run["unobserved"], 0);
    assert!(run["events_in"].as_u64().unwrap() >= sent, "{run}");
    let p = &run["latency_ms"];
    assert_eq!(p["count"], sent);
    let order: Vec<f64> = ["p50", "p90", "p99", "p999", "max"].iter().map(|k| number(&p[k], k)).collect();
    assert!(order[0] > 0.0 && order.windows(2).all(|w| w[0] <= w[1]), "percentiles out of order: {p}");
    assert!(number(&run["achieved_rate"], "rate") > 0.0);

    let md = std::fs::read_to_string(&markdown).unwrap();
    for needle in ["## Throughput", "## Batch over the same events", "## Ratios", "## Latency", "| 1000/s |"]
    {
        assert!(md.contains(needle), "the Markdown lacks {needle}:\n{md}");
    }
    assert!(!dir.path().join("work").exists(), "the work directory was left behind");
}
