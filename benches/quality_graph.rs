//! The quality graph per epoch size: generated transactions through `dataflow::quality` on one
//! worker, no Kafka and no sink.
//!
//! Isolates the differential operators (frame reduce per user, count per id, join) for one
//! epoch of N rows, then a second epoch of late rows that correct earlier verdicts; then the
//! same with the anomaly monitor beside the graph (group `quality_graph_with_anomaly_monitor`,
//! default settings, rows from one topic), as a run wires it. Run with
//! `cargo bench --bench quality_graph`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use std::sync::Arc;

use trustflow::dataflow::anomaly::AnomalyConfig;
use trustflow::fraud::bench::{graph, graph_with_monitor};
use trustflow::generate::{Event, Generator, GeneratorConfig};
use trustflow::record::{Origin, Transaction};

/// Generated rows, each with the origin a reader would give it (one topic, 4 partitions).
fn rows(count: usize) -> Vec<Transaction> {
    let topic: Arc<str> = Arc::from("financial-transactions");
    Generator::new(GeneratorConfig { garbage_rate: 0.0, ..GeneratorConfig::default() })
        .filter_map(|e| match e {
            Event::Transaction(row, _) => Some(row),
            Event::Garbage(_) => None,
        })
        .take(count)
        .enumerate()
        .map(|(offset, mut row)| {
            let partition = (offset % 4) as i32;
            row.origin =
                Some(Origin { topic: topic.clone(), partition, offset: offset as i64, schema_id: 1 });
            row
        })
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

fn quality_graph_with_anomaly_monitor(c: &mut Criterion) {
    let mut group = c.benchmark_group("quality_graph_with_anomaly_monitor");
    group.sample_size(10);
    let now_ms = GeneratorConfig::default().now_ms;
    for size in [10_000, 100_000] {
        let data = rows(size);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| graph_with_monitor(data, now_ms, AnomalyConfig::default()))
        });
    }
    group.finish();
}

criterion_group!(benches, quality_graph, quality_graph_with_anomaly_monitor);
criterion_main!(benches);
