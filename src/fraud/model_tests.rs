//! Tests of the model kinds on small synthetic data.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};

use super::*;

/// Fraud where inputs 0 and 1 are both high, with some noise.
fn data(n: usize, seed: u64) -> (Vec<[f64; INPUTS]>, Vec<bool>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut fraud = Vec::new();
    for _ in 0..n {
        let mut row = [0.0; INPUTS];
        row.iter_mut().for_each(|x| *x = rng.random_range(0.0..1.0));
        let is_fraud = row[0] > 0.7 && row[1] > 0.5 || rng.random_bool(0.02);
        rows.push(row);
        fraud.push(is_fraud);
    }
    (rows, fraud)
}

#[test]
fn forest_votes_agree_with_smartcores_majority() {
    let (rows, fraud) = data(600, 1);
    let parameters = RandomForestClassifierParameters::default()
        .with_n_trees(15)
        .with_max_depth(6)
        .with_min_samples_leaf(2)
        .with_seed(3);
    let x = matrix(&rows).unwrap();
    let forest = RandomForestClassifier::fit(&x, &labels(&fraud), parameters).unwrap();
    let majority = forest.predict(&x).unwrap();
    let model = Model {
        kind: Kind::Forest { trees: forest_trees(&forest).unwrap() },
        calibration: Calibration::NONE,
    };
    let scores = model.score(&rows).unwrap();
    assert_eq!(scores.len(), rows.len());
    for (score, class) in scores.iter().zip(majority) {
        assert_eq!(*score > 0.5, class == 1, "vote share {score} vs majority class {class}");
    }
}

#[test]
fn both_kinds_learn_and_the_same_seed_gives_the_same_model() {
    let (rows, fraud) = data(800, 2);
    let (test_rows, test_fraud) = data(400, 9);
    for fit in [
        |r: &[[f64; INPUTS]], f: &[bool]| Model::fit_logistic(r, f, 0.1),
        |r: &[[f64; INPUTS]], f: &[bool]| Model::fit_forest(r, f, 20, 8, 5),
    ] {
        let model = fit(&rows, &fraud).unwrap();
        let scores = model.score(&test_rows).unwrap();
        let auc = crate::fraud::metrics::roc_auc(&scores, &test_fraud).unwrap();
        assert!(auc > 0.8, "{:?}: ROC AUC {auc}", model.algorithm());
        assert_eq!(scores, fit(&rows, &fraud).unwrap().score(&test_rows).unwrap());
        assert!(model.takes(INPUTS));
    }
}

#[test]
fn the_prior_shift_multiplies_the_odds() {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    assert_eq!(Calibration::NONE.apply(0.0), 0.5);
    let shift = Calibration::prior_shift(0.1);
    for p in [0.2, 0.5, 0.9] {
        let expected = 0.1 * p / (0.1 * p + 1.0 - p);
        assert!((shift.apply(logit(p)) - expected).abs() < 1e-12, "{p}");
    }
}

#[test]
fn platt_scaling_recovers_a_known_sigmoid() {
    // Labels drawn from sigmoid(2 * l - 3): the fit should land near slope 2, intercept -3.
    let mut rng = StdRng::seed_from_u64(8);
    let logits: Vec<f64> = (0..20_000).map(|_| rng.random_range(-4.0..6.0)).collect();
    let truth = Calibration { slope: 2.0, intercept: -3.0 };
    let fraud: Vec<bool> = logits.iter().map(|l| rng.random_bool(truth.apply(*l))).collect();
    let fitted = Calibration::platt(&logits, &fraud).unwrap();
    assert!((fitted.slope - 2.0).abs() < 0.2 && (fitted.intercept + 3.0).abs() < 0.3, "{fitted:?}");
    assert_eq!(Calibration::platt(&logits, &vec![false; logits.len()]), None, "one class");
}

#[test]
fn one_class_is_a_fit_error_not_a_panic() {
    let (rows, _) = data(50, 4);
    let none = vec![false; rows.len()];
    assert!(matches!(Model::fit_logistic(&rows, &none, 0.1), Err(FraudError::Fit { .. })));
    assert!(matches!(Model::fit_forest(&rows, &none, 3, 4, 1), Err(FraudError::Fit { .. })));
}
