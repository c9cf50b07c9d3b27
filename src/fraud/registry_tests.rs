//! The registry: bit-identical round trips, stages, and refusing corrupt or mismatched artifacts.

use std::fs;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::INPUTS;
use super::dataset::{DataIdentity, FileIdentity};
use super::evaluation::{AmountRule, evaluate_scores};
use super::examples::Coverage;
use super::model::{Calibration, Model};
use super::registry::{META_FILE, MODEL_FILE, ModelRef, Registry, RegistryError, Selector, Stage, encode};
use super::train::{Split, TrainConfig, TrainingRecord};

fn data(seed: u64) -> (Vec<[f64; INPUTS]>, Vec<bool>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let rows: Vec<[f64; INPUTS]> =
        (0..300).map(|_| std::array::from_fn(|_| rng.random_range(0.0..1.0))).collect();
    let fraud = rows.iter().map(|r| r[0] + r[3] > 1.4).collect();
    (rows, fraud)
}

fn record() -> TrainingRecord {
    let rule = AmountRule { high_amount: 100.0, medium_amount: 50.0 };
    TrainingRecord {
        data: DataIdentity {
            path: "/data/events.jsonl".into(),
            format: "jsonl".into(),
            sha256: "00".repeat(32),
            delta_version: None,
            rows: 300,
            rejected: 0,
        },
        labels: FileIdentity { path: "/data/labels.jsonl".into(), sha256: "11".repeat(32) },
        user_events: None,
        coverage: Coverage::default(),
        split: Split {
            fit_rows: 210,
            fit_fraud: 18,
            calibration_rows: 30,
            calibration_fraud: 2,
            holdout_rows: 60,
            holdout_fraud: 5,
            calibration_from_ms: 0,
            holdout_from_ms: 0,
            sampled_negatives: 220,
            negative_share: 1.0,
        },
        config: TrainConfig::default(),
        imbalance: "none".into(),
        candidates: Vec::new(),
        holdout: evaluate_scores(&[], &rule, &[]),
        rule,
    }
}

fn models() -> Vec<Model> {
    let (rows, fraud) = data(1);
    let shift = Calibration::prior_shift(0.25);
    vec![
        Model::fit_logistic(&rows, &fraud, 0.5).unwrap().calibrated(shift),
        Model::fit_forest(&rows, &fraud, 7, 6, 3).unwrap().calibrated(shift),
    ]
}

#[test]
fn artifacts_reload_bit_identically_and_score_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(dir.path().join("models"));
    let (probe, _) = data(2);
    for model in models() {
        let first = registry.save(&model, record(), 1_700_000_000_000).unwrap();
        let loaded = registry.load_version(first.version).unwrap();
        assert_eq!(loaded.meta, first);
        assert_eq!(encode(&loaded.model).unwrap(), encode(&model).unwrap());
        let again = registry.save(&loaded.model, loaded.meta.training.clone(), first.created_ms).unwrap();
        assert_eq!(again.version, first.version + 1);
        let bytes = |v: u32| fs::read(registry.dir().join(v.to_string()).join(MODEL_FILE)).unwrap();
        assert_eq!(bytes(first.version), bytes(again.version), "save, load, save: the same bytes");
        assert_eq!(again.model_sha256, first.model_sha256);
        let reloaded = registry.load_version(again.version).unwrap();
        assert_eq!(reloaded.model.score(&probe).unwrap(), model.score(&probe).unwrap());
    }
    assert_eq!(registry.versions().unwrap(), [1, 2, 3, 4]);
    assert_eq!(registry.resolve(Selector::Default).unwrap(), 4, "latest without a production stage");
}

fn saved() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(dir.path());
    for model in models() {
        registry.save(&model, record(), 0).unwrap();
    }
    (dir, registry)
}

fn edit(path: &Path, change: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    change(&mut bytes);
    fs::write(path, bytes).unwrap();
}

#[test]
fn a_changed_model_file_is_refused_as_corrupt() {
    let (_dir, registry) = saved();
    edit(&registry.dir().join("2").join(MODEL_FILE), |b| {
        let middle = b.len() / 2;
        b[middle] ^= 0x40;
    });
    let error = registry.load_version(2).unwrap_err();
    assert!(matches!(error, RegistryError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("corrupt") && error.to_string().contains("refusing"), "{error}");
    assert!(registry.promote(2, Stage::Production).is_err(), "a corrupt version is never promoted");
    let listed = registry.list().unwrap();
    assert!(listed[0].check.is_ok() && listed[1].check.is_err());
}

#[test]
fn a_bad_model_with_a_matching_hash_is_refused_without_panicking() {
    let (_dir, registry) = saved();
    let version = registry.dir().join("1");
    fs::write(version.join(MODEL_FILE), [0xFFu8; 40]).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_slice(&fs::read(version.join(META_FILE)).unwrap()).unwrap();
    meta["model_sha256"] = super::registry::sha256(&[0xFFu8; 40]).into();
    meta["model_bytes"] = 40.into();
    fs::write(version.join(META_FILE), serde_json::to_vec(&meta).unwrap()).unwrap();
    let error = registry.load_version(1).unwrap_err();
    assert!(matches!(error, RegistryError::Undecodable { .. }), "{error}");
}

#[test]
fn other_features_and_unreadable_meta_are_refused() {
    let (_dir, registry) = saved();
    let meta_path = registry.dir().join("1").join(META_FILE);
    let mut meta: serde_json::Value = serde_json::from_slice(&fs::read(&meta_path).unwrap()).unwrap();
    meta["features"][3] = "count_5m_log".into();
    fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let error = registry.load_version(1).unwrap_err();
    assert!(matches!(error, RegistryError::FeatureMismatch { .. }), "{error}");
    assert!(error.to_string().contains("retrain"), "{error}");
    // An artifact of the previous feature set (no login features): the versions lead the message.
    meta["features"] = serde_json::json!(
        std::iter::once("fraud-features/1")
            .chain(super::FEATURE_NAMES.iter().copied().take(14))
            .collect::<Vec<_>>()
    );
    fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    let message = registry.load_version(1).unwrap_err().to_string();
    assert!(
        message.contains("trained on fraud-features/1 (14 inputs), this build computes fraud-features/2 (18 inputs); retrain"),
        "{message}"
    );
    edit(&registry.dir().join("2").join(META_FILE), |b| b.truncate(b.len() / 2));
    assert!(matches!(registry.load_version(2).unwrap_err(), RegistryError::Meta { .. }));
    assert!(matches!(registry.load_version(9).unwrap_err(), RegistryError::NoSuchVersion { version: 9, .. }));
}

#[test]
fn stages_point_at_versions() {
    let (_dir, registry) = saved();
    assert!(matches!(registry.resolve(Selector::Stage(Stage::Staging)), Err(RegistryError::NoStage { .. })));
    registry.promote(1, Stage::Production).unwrap();
    registry.promote(2, Stage::Staging).unwrap();
    assert_eq!(registry.resolve(Selector::Default).unwrap(), 1, "production before latest");
    assert_eq!(registry.resolve(Selector::Latest).unwrap(), 2);
    assert_eq!(registry.load(Selector::Stage(Stage::Staging)).unwrap().meta.version, 2);
    let listed = registry.list().unwrap();
    assert_eq!(
        (listed[0].stages.clone(), listed[1].stages.clone()),
        (vec![Stage::Production], vec![Stage::Staging])
    );
    let empty = Registry::new(registry.dir().join("nothing"));
    assert!(matches!(empty.load(Selector::Default), Err(RegistryError::NoModels { .. })));
}

#[test]
fn model_references_parse() {
    let parse = |text: &str| text.parse::<ModelRef>();
    assert_eq!(parse("models").unwrap().selector, Selector::Default);
    assert_eq!(parse("models@3").unwrap().selector, Selector::Version(3));
    assert_eq!(parse("a@b/models@production").unwrap().dir, Path::new("a@b/models"));
    assert_eq!(parse("models@staging").unwrap().selector, Selector::Stage(Stage::Staging));
    assert_eq!(parse("models@latest").unwrap().selector, Selector::Latest);
    assert!(parse("models@0").is_err() && parse("models@best").is_err() && parse("@3").is_err());
}
