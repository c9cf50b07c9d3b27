//! PII scan + classification per record, in records/s.
//!
//! Generated transactions through `governance::bench::scan_and_classify`: no dataflow, no Kafka,
//! no sink.
//!
//! Isolates the recognizers (every string column and metadata key and value), the context
//! and overlap resolution, and the classification (score, compliance rules), on the default
//! stream (no PII, the common case) and with PII planted in 10% of the rows. Reports
//! records/s. Run with `cargo bench --bench pii`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use trustflow::governance::Recognizers;
use trustflow::governance::bench::{rows, scan_and_classify};

fn pii(c: &mut Criterion) {
    let recognizers = Recognizers::new().expect("the PII patterns compile");
    let mut group = c.benchmark_group("pii_scan_classify");
    group.sample_size(20);
    for (name, pii_rate) in [("plain", 0.0), ("pii_10pct", 0.1)] {
        let data = rows(20_000, pii_rate);
        group.throughput(Throughput::Elements(data.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, data.len()), &data, |b, data| {
            b.iter(|| scan_and_classify(&recognizers, data))
        });
    }
    group.finish();
}

criterion_group!(benches, pii);
criterion_main!(benches);
