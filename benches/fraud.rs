//! Fraud features and scoring: what `run --model` adds to the quality graph.
//!
//! * `fraud_per_user`: the per-user reduce alone, walking the consistency frame only versus
//!   the frame and the fraud features (one epoch of 90% of the rows, then 10% late rows that
//!   re-walk their users), on one worker: the cost of maintaining the features incrementally;
//!   `frames_features_logins` also feeds the generated logins (the same split, late logins
//!   re-walking their users): the cost of the user-events join (`fraud-features/2`).
//! * `fraud_graph`: the whole quality graph without a model versus with features and a
//!   100-tree forest scoring every change.
//! * `fraud_score`: scoring alone, 100-tree forest, 5,000 rows in batches of 1 and of 1024.
//!
//! Logic in `trustflow::fraud::bench`. Run with `cargo bench --bench fraud`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::fraud::bench::{Walk, forest, graph, labelled_stream, per_user, score};
use trustflow::fraud::features::compute;
use trustflow::generate::GeneratorConfig;
use trustflow::record::Transaction;

const ROWS: usize = 50_000;
const SCORED: usize = 5_000;

fn benches(c: &mut Criterion) {
    let (labelled, events) = labelled_stream(ROWS);
    let rows: Vec<Transaction> = labelled.iter().map(|(row, _)| row.clone()).collect();
    let scorer = forest(&labelled, 100).expect("the forest fits");
    let now_ms = GeneratorConfig::default().now_ms;

    let mut group = c.benchmark_group("fraud_per_user");
    group.sample_size(10).throughput(Throughput::Elements(ROWS as u64));
    for (name, walk) in [
        ("frames", Walk::Frames),
        ("frames_and_features", Walk::FramesAndFeatures),
        ("frames_features_logins", Walk::FramesFeaturesLogins),
    ] {
        group.bench_with_input(BenchmarkId::new(name, ROWS), &rows, |b, rows| {
            b.iter(|| per_user(rows, &events, walk))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("fraud_graph");
    group.sample_size(10).throughput(Throughput::Elements(ROWS as u64));
    group.bench_with_input(BenchmarkId::new("quality", ROWS), &rows, |b, rows| {
        b.iter(|| graph(rows, now_ms, None))
    });
    group.bench_with_input(BenchmarkId::new("quality_scored", ROWS), &rows, |b, rows| {
        b.iter(|| graph(rows, now_ms, Some(scorer.clone())))
    });
    group.finish();

    let features = compute(&rows[..SCORED], &[]);
    let mut group = c.benchmark_group("fraud_score");
    group.sample_size(10).throughput(Throughput::Elements(SCORED as u64));
    for batch in [1, 1024] {
        group.bench_with_input(BenchmarkId::new("forest_100", batch), &batch, |b, batch| {
            b.iter(|| score(&scorer, &features, *batch).expect("scores"))
        });
    }
    group.finish();
}

criterion_group!(fraud, benches);
criterion_main!(fraud);
