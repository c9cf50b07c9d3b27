//! Parquet/Delta write: one `DeltaSink` commit of N quality verdicts to a local table (Arrow
//! conversion, one Parquet file, the Delta commit with its `txn`), as each pipeline epoch does.
//!
//! Isolates `sink::DeltaSink::commit_epoch`; each sample writes to a fresh table in a temp
//! directory, so the table holds at most a few files (a commit's cost also grows with the
//! table's live files: `BENCHMARKS.md`, "Delta log and files over time"). Run with
//! `cargo bench --bench delta_write`.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::bench::delta_write::{DeltaWrite, verdict_rows};

fn delta_write(c: &mut Criterion) {
    let mut group = c.benchmark_group("delta_write");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for count in [1_000, 10_000, 100_000] {
        let rows = verdict_rows(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::new("commit_rows", count), &rows, |b, rows| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir().expect("temp dir");
                let mut table = DeltaWrite::create(&dir.path().join("quality")).expect("new table");
                let started = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(table.commit(rows).expect("commit"));
                }
                started.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, delta_write);
criterion_main!(benches);
