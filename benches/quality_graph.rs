//! The quality graph per epoch size: generated transactions through `dataflow::quality` on one
//! worker, no Kafka and no sink.
//!
//! Isolates the differential operators (frame reduce per user, count per id, join) for one
//! epoch of N rows, then a second epoch of late rows that correct earlier verdicts. Run with
//! `cargo bench --bench quality_graph`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle;

use trustflow::dataflow::quality::quality;
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

fn run(rows: &[Transaction]) {
    let rows = rows.to_vec();
    timely::execute_directly(move |worker| {
        let probe = Handle::new();
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            quality(transactions, GeneratorConfig::default().now_ms).probe_with(&probe);
            input
        });
        // Nine tenths in epoch 0, the rest (arriving late, interleaved in event time) in epoch 1.
        let split = rows.len() * 9 / 10;
        for row in &rows[..split] {
            input.insert(row.clone());
        }
        input.advance_to(1);
        for row in &rows[split..] {
            input.insert(row.clone());
        }
        input.advance_to(2);
        input.flush();
        worker.step_while(|| probe.less_than(&2));
    });
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
