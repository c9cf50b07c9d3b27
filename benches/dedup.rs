//! Duplicate detection alone: the uniqueness part of the quality graph (a `count` per
//! transactionId mapped to "more than once"), one worker, no Kafka, no sink.
//!
//! Isolates `dataflow::quality::graph::duplicated` over generated rows (2% repeat an earlier
//! id), fed as one epoch and as 10 epochs (the streaming case: each epoch's ids are counted
//! against the arrangement of all earlier ones). Run with `cargo bench --bench dedup`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::bench::micro::{Stage, run_stage, transactions};

fn dedup(c: &mut Criterion) {
    let mut group = c.benchmark_group("dedup");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    let rows = transactions(100_000, 2_000);
    group.throughput(Throughput::Elements(rows.len() as u64));
    for epochs in [1, 10] {
        group.bench_with_input(BenchmarkId::new("100k_rows_epochs", epochs), &epochs, |b, epochs| {
            b.iter(|| run_stage(&rows, *epochs, Stage::Uniqueness))
        });
    }
    group.finish();
}

criterion_group!(benches, dedup);
criterion_main!(benches);
