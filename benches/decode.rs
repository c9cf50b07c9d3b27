//! Wire format + Avro decode of generated transactions, alone (no Kafka, no dataflow).
//!
//! Isolates `codec::Decoder::decode` on the value mix the generator produces (metadata maps,
//! decimals). Run with `cargo bench --bench decode`.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use trustflow::codec::{Decoder, LocalRegistry, SchemaResolver};
use trustflow::generate::produce::WireEncoder;
use trustflow::generate::{Event, Generator, GeneratorConfig};

fn decode(c: &mut Criterion) {
    let registry: Arc<dyn SchemaResolver> = Arc::new(LocalRegistry::embedded().expect("embedded schemas"));
    let mut encoder = WireEncoder::new(registry.clone(), 1);
    let values: Vec<Vec<u8>> =
        Generator::new(GeneratorConfig { garbage_rate: 0.0, ..GeneratorConfig::default() })
            .take(10_000)
            .filter(|e| matches!(e, Event::Transaction(..)))
            .map(|e| encoder.encode(&e).expect("generated rows encode").to_vec())
            .collect();
    let mut decoder = Decoder::new(registry);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("transactions", |b| {
        b.iter(|| {
            for value in &values {
                std::hint::black_box(decoder.decode(value).expect("valid value"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
