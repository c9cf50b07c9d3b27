//! Consistency under user skew: the per-user `reduce` of the quality graph (each user's rows
//! walked in event-time order, 6-row frames), one worker, no Kafka, no sink.
//!
//! Isolates `dataflow::quality::graph::frames` over 20k generated rows (the generator's skew:
//! a few users produce most rows) spread over 2000, 200 or 20 users, fed as one epoch and as
//! 20 epochs. The reduce re-walks a touched user's whole history in every epoch, so its cost
//! grows with rows per user times epochs: the streaming case is where skew hurts. Run with
//! `cargo bench --bench consistency`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::bench::micro::{Stage, run_stage, transactions};

fn consistency(c: &mut Criterion) {
    let mut group = c.benchmark_group("consistency");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    for users in [2_000, 200, 20] {
        let rows = transactions(20_000, users);
        group.throughput(Throughput::Elements(rows.len() as u64));
        for epochs in [1, 20] {
            let id = BenchmarkId::new(format!("20k_rows_{users}_users_epochs"), epochs);
            group.bench_with_input(id, &epochs, |b, epochs| {
                b.iter(|| run_stage(&rows, *epochs, Stage::Consistency))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, consistency);
criterion_main!(benches);
