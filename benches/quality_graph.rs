//! The quality graph per epoch size: generated transactions through `dataflow::quality` on one
//! worker, no Kafka and no sink.
//!
//! Isolates the differential operators (frame reduce per user, count per id, join) for one
//! epoch of N rows, then a second epoch of late rows that correct earlier verdicts. Run with
//! `cargo bench --bench quality_graph`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::fraud::bench::graph;
use trustflow::generate::{Event, Generator, GeneratorConfig};
use trustflow::record::Transaction;

fn rows(count: usize) -> Vec<Transaction> {
    Generator::new(GeneratorConfig { garbage_rate: 0.0, ..GeneratorConfig::default() })
        .filter_map(|e| match e {
            Event::Transaction(row, _) => Some(row),
            Event::Garbage(_) => None,
        })
        .take(count)
        .collect()
}

/// The graph over `rows`: nine tenths in epoch 0, the rest (arriving late, interleaved in
/// event time) in epoch 1; the same driver as `fraud::bench` uses without a model.
fn run(rows: &[Transaction]) {
    graph(rows, GeneratorConfig::default().now_ms, None);
}

fn quality_graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("quality_graph");
    group.sample_size(10);
    for size in [10_000, 100_000] {
        let data = rows(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| b.iter(|| run(data)));
    }
    group.finish();
}

criterion_group!(benches, quality_graph);
criterion_main!(benches);
