//! Measurements behind the numbers in BENCHMARKS.md (ignored; run with `--ignored --nocapture`).

use std::time::Instant;

use super::tests::verdict;
use super::*;
use crate::location::StorageOptions;
use crate::sink::QualitySink;

/// Opening a changelog of 1000 epochs with the sink's checkpoints and without them, and
/// compacting its 1000 files.
///
/// `cargo test --release --lib measure_ -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn measure_open_with_and_without_checkpoints_and_compaction() {
    let commits: u64 =
        std::env::var("TRUSTFLOW_MEASURE_COMMITS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quality").to_str().unwrap().to_owned();
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let started = Instant::now();
    let mut block = Instant::now();
    for epoch in 1..=commits {
        let changes: Vec<_> = (0..20).map(|i| (verdict(&format!("t{epoch}-{i}"), "2.00", true), 1)).collect();
        sink.commit_epoch(epoch, &changes).await.unwrap();
        if epoch % 100 == 0 {
            let ms = block.elapsed().as_secs_f64() * 10.0;
            println!("commits {}..={epoch}: {ms:.1} ms per commit", epoch - 99);
            block = Instant::now();
        }
    }
    let per_commit = started.elapsed().as_secs_f64() * 1000.0 / commits as f64;
    println!("{commits} commits of 20 rows: {per_commit:.2} ms per commit (checkpoint every 100 included)");
    let open_ms = |label: &'static str| {
        let path = path.clone();
        async move {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let started = Instant::now();
                let sink = QualitySink::open(&path, "app").await.unwrap();
                assert_eq!(sink.last_committed_epoch(), Some(commits));
                best = best.min(started.elapsed().as_secs_f64() * 1000.0);
            }
            println!("open the sink ({label}): {best:.1} ms (best of 5)");
        }
    };
    open_ms("with checkpoints").await;
    let log = std::path::Path::new(&path).join("_delta_log");
    for entry in std::fs::read_dir(&log).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.contains(".checkpoint.") || name == "_last_checkpoint" {
            std::fs::remove_file(log.join(name)).unwrap();
        }
    }
    open_ms("without checkpoints").await;
    checkpoint(&path, &StorageOptions::default()).await.unwrap();
    let started = Instant::now();
    let outcome = compact(&path, &StorageOptions::default(), None).await.unwrap();
    println!(
        "compaction: {} files ({} bytes) -> {} files ({} bytes), {} rows, in {:.0} ms",
        outcome.files_removed,
        outcome.bytes_removed,
        outcome.files_added,
        outcome.bytes_added,
        outcome.rows,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut sink = QualitySink::open(&path, "app").await.unwrap();
    let started = Instant::now();
    for epoch in commits + 1..=commits + 100 {
        let changes: Vec<_> = (0..20).map(|i| (verdict(&format!("t{epoch}-{i}"), "2.00", true), 1)).collect();
        sink.commit_epoch(epoch, &changes).await.unwrap();
    }
    let ms = started.elapsed().as_secs_f64() * 10.0;
    println!("commits {}..={} after compaction: {ms:.1} ms per commit", commits + 1, commits + 100);
    let started = Instant::now();
    let at = read_at(&path, &StorageOptions::default(), AsOf::Latest).await.unwrap();
    println!(
        "read after compaction: {} rows in {:.0} ms",
        at.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    let at = read_at(&path, &StorageOptions::default(), AsOf::Version(commits as i64)).await.unwrap();
    println!(
        "read before compaction (time travel, {} files): {} rows in {:.0} ms",
        commits,
        at.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        started.elapsed().as_secs_f64() * 1000.0
    );
}
