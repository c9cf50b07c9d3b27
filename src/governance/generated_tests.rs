//! Governance on the generator's data: no false positives, planted PII found, stream unchanged.

use sha2::{Digest, Sha256};

use super::classify::{Sensitivity, classify_record};
use super::compliance::Compliance;
use super::pii::{PiiType, Recognizers};
use crate::generate::jsonl::write_line;
use crate::generate::{Event, Generator, GeneratorConfig};
use crate::record::Transaction;

/// The tests' "now": 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600_000;

fn transactions(config: GeneratorConfig, events: usize) -> Vec<(Transaction, crate::generate::Planted)> {
    Generator::new(config)
        .take(events)
        .filter_map(|e| match e {
            Event::Transaction(row, planted) => Some((row, planted)),
            Event::Garbage(_) => None,
        })
        .collect()
}

/// The generator's stream without `--pii-rate` is byte for byte what `trustflow generate
/// --seed 5 --count 20000 --now 1767225600000 --jsonl` wrote before PII planting existed (the
/// hash `tests/it/fraud_training.rs` pins as well).
#[test]
fn default_stream_is_unchanged_by_the_pii_option() {
    let mut jsonl = Vec::new();
    for (row, _) in
        transactions(GeneratorConfig { seed: 5, now_ms: NOW, ..GeneratorConfig::default() }, 20_000)
    {
        write_line(&mut jsonl, &row).unwrap();
    }
    let hash: String = Sha256::digest(&jsonl).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hash, "b48f2a2246fed4ebb50a1c03d0f509c5888480d457e08ae50e4f700614692587");
}

/// Issue 7: zero false positives on the generator's normal data (ids, user ids, currency
/// codes, good and bad; channels, merchants), with and without planted fraud.
#[test]
fn no_pii_is_found_in_generated_data() {
    let recognizers = Recognizers::new().unwrap();
    for config in [
        GeneratorConfig { now_ms: NOW, ..GeneratorConfig::default() },
        GeneratorConfig { seed: 9, now_ms: NOW, fraud_rate: 0.01, ..GeneratorConfig::default() },
    ] {
        let rows = transactions(config, 20_000);
        assert!(rows.len() > 19_000);
        for (row, _) in &rows {
            let class = classify_record(&recognizers, row);
            assert!(class.findings.is_empty(), "{row:?}: {:?}", class.findings);
            assert!(!class.pii);
            assert!(class.sensitivity <= Sensitivity::Medium, "{row:?}: {class}");
            assert!(
                !class.compliance.contains(&Compliance::Gdpr)
                    && !class.compliance.contains(&Compliance::PciDss)
            );
        }
    }
}

/// Every planted piece of PII is found, with its type, in its metadata entry, and nothing
/// else is; the compliance tags follow the rule table.
#[test]
fn planted_pii_is_found_where_it_was_planted() {
    let recognizers = Recognizers::new().unwrap();
    let rows =
        transactions(GeneratorConfig { now_ms: NOW, pii_rate: 0.1, ..GeneratorConfig::default() }, 20_000);
    let mut planted_count = std::collections::BTreeMap::new();
    for (row, planted) in &rows {
        let class = classify_record(&recognizers, row);
        let Some(pii) = planted.pii else {
            assert!(class.findings.is_empty(), "{row:?}: {:?}", class.findings);
            continue;
        };
        *planted_count.entry(pii.kind).or_insert(0) += 1;
        let value = &row.metadata.as_ref().unwrap()[pii.key];
        assert_eq!(class.findings.len(), 1, "{} `{value}`: {:?}", pii.key, class.findings);
        let finding = &class.findings[0];
        assert_eq!(
            (finding.kind, finding.field.as_str(), finding.in_key),
            (pii.kind, &*format!("metadata.{}", pii.key), false),
            "`{value}`"
        );
        assert_eq!(&value[finding.span()], value.trim(), "the whole value is the finding");
        assert!(class.pii && class.financial);
        assert!(class.sensitivity >= Sensitivity::Medium);
        assert_eq!(class.compliance.contains(&Compliance::PciDss), pii.kind == PiiType::PaymentCard);
        let gdpr = !matches!(pii.kind, PiiType::PaymentCard | PiiType::UsSsn);
        assert_eq!(class.compliance.contains(&Compliance::Gdpr), gdpr, "{:?}", pii.kind);
        assert!(class.compliance.contains(&Compliance::Sox) || row.transaction_id.as_deref() == Some(""));
    }
    assert_eq!(planted_count.len(), PiiType::ALL.len(), "{planted_count:?}");
    assert!(planted_count.values().all(|n| *n > 100), "{planted_count:?}");
}

/// Planting PII changes only the planted metadata entry: every row is the default stream's
/// row plus at most that one entry.
#[test]
fn planting_pii_leaves_everything_else_as_it_was() {
    let plain = transactions(GeneratorConfig { now_ms: NOW, ..GeneratorConfig::default() }, 5_000);
    let with_pii =
        transactions(GeneratorConfig { now_ms: NOW, pii_rate: 0.2, ..GeneratorConfig::default() }, 5_000);
    assert_eq!(plain.len(), with_pii.len());
    let mut differing = 0;
    for ((a, _), (b, planted)) in plain.iter().zip(&with_pii) {
        let mut b = b.clone();
        if let Some(pii) = planted.pii {
            let mut metadata = (**b.metadata.as_ref().unwrap()).clone();
            metadata.remove(pii.key);
            b.metadata = Some(metadata.into());
            differing += 1;
        }
        assert_eq!(a, &b);
    }
    assert!(differing > 500, "{differing}");
}
