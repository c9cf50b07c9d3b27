//! The fraud hot paths for benchmarks: feature maintenance in the dataflow, and scoring.

use std::sync::Arc;

use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle;

use super::FraudError;
use super::features::{Features, compute};
use super::inputs::{INPUTS, vector};
use super::model::Model;
use super::score::Scorer;
use crate::dataflow::quality::graph::{frames, frames_and_features, quality, quality_scored};
use crate::generate::{Event, Generator, GeneratorConfig};
use crate::record::Transaction;

/// `count` transactions of a labelled generated stream (seed 42, fraud rate 0.5%), each with
/// whether it is planted fraud.
pub fn labelled_rows(count: usize) -> Vec<(Transaction, bool)> {
    Generator::new(GeneratorConfig { garbage_rate: 0.0, fraud_rate: 0.005, ..GeneratorConfig::default() })
        .filter_map(|e| match e {
            Event::Transaction(row, planted) => Some((row, planted.fraud.is_some())),
            Event::Garbage(_) => None,
        })
        .take(count)
        .collect()
}

/// A random forest of `trees` trees (depth 12) fitted on the reference features of `rows`, as
/// a scorer (version 1): the model kind `train` keeps.
pub fn forest(rows: &[(Transaction, bool)], trees: u16) -> Result<Arc<Scorer>, FraudError> {
    let transactions: Vec<Transaction> = rows.iter().map(|(row, _)| row.clone()).collect();
    let inputs: Vec<[f64; INPUTS]> = compute(&transactions, &[]).iter().map(vector).collect();
    let fraud: Vec<bool> = rows.iter().map(|(_, fraud)| *fraud).collect();
    Scorer::from_model(Model::fit_forest(&inputs, &fraud, trees, 12, 7)?, 1, "bench")
}

/// What [`per_user`] computes per user and row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// The consistency frame only (the quality graph without a model).
    Frames,
    /// The frame and the fraud features, in one walk.
    FramesAndFeatures,
}

/// The per-user reduce alone, on one worker: nine tenths of `rows` in epoch 0, the rest
/// (interleaved in event time, so late) in epoch 1, which re-walks every touched user.
pub fn per_user(rows: &[Transaction], walk: Walk) {
    run(rows, move |transactions| match walk {
        Walk::Frames => frames(transactions).map(|_| ()),
        Walk::FramesAndFeatures => frames_and_features(transactions).map(|_| ()),
    });
}

/// The whole quality graph on one worker, with `scorer` (features + scoring) or without, over
/// the same two epochs as [`per_user`].
pub fn graph(rows: &[Transaction], now_ms: i64, scorer: Option<Arc<Scorer>>) {
    run(rows, move |transactions| match scorer.clone() {
        Some(scorer) => quality_scored(transactions, now_ms, scorer).map(|_| ()),
        None => quality(transactions, now_ms).map(|_| ()),
    });
}

/// The quality graph without a model, as [`graph`], with the anomaly monitor beside it over
/// the same input (as a run wires them): the monitor's cost is the difference.
pub fn graph_with_monitor(
    rows: &[Transaction],
    now_ms: i64,
    anomaly: crate::dataflow::anomaly::AnomalyConfig,
) {
    run(rows, move |transactions| {
        let alerts = crate::dataflow::anomaly::monitor(transactions.clone(), anomaly).map(|_| ());
        quality(transactions, now_ms).map(|_| ()).concat(alerts)
    });
}

/// Scores `features` with `scorer` in batches of `batch` rows (as the dataflow operator scores
/// each batch of changes); returns the number of HIGH scores.
pub fn score(scorer: &Scorer, features: &[Features], batch: usize) -> Result<usize, FraudError> {
    let mut high = 0;
    for chunk in features.chunks(batch.max(1)) {
        let inputs: Vec<[f64; INPUTS]> = chunk.iter().map(vector).collect();
        high += scorer.score(&inputs)?.iter().filter(|s| s.score.0 > super::HIGH).count();
    }
    Ok(high)
}

/// Runs the graph `build` makes over `rows` in two epochs, to completion.
fn run<F>(rows: &[Transaction], build: F)
where
    F: for<'s> FnOnce(
            differential_dataflow::VecCollection<'s, u64, Transaction>,
        ) -> differential_dataflow::VecCollection<'s, u64, ()>
        + Send
        + Sync
        + 'static,
{
    let rows = rows.to_vec();
    timely::execute_directly(move |worker| {
        let probe = Handle::new();
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            build(transactions).probe_with(&probe);
            input
        });
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
