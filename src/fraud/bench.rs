//! The fraud hot paths for benchmarks: feature maintenance in the dataflow, and scoring.

use std::sync::Arc;

use differential_dataflow::input::Input;
use timely::dataflow::operators::probe::Handle;

use super::FraudError;
use super::features::{Features, compute};
use super::inputs::{INPUTS, vector};
use super::model::Model;
use super::score::Scorer;
use crate::dataflow::quality::graph::{
    frames, frames_and_features, frames_and_features_with, logins, quality, quality_scored,
};
use crate::generate::{Event, Generator, GeneratorConfig};
use crate::record::{Transaction, UserEvent};

/// `count` transactions of a labelled generated stream (seed 42, fraud rate 0.5%), each with
/// whether it is planted fraud.
pub fn labelled_rows(count: usize) -> Vec<(Transaction, bool)> {
    labelled_stream(count).0
}

/// As [`labelled_rows`], with the user events (logins) generated beside those transactions.
pub fn labelled_stream(count: usize) -> (Vec<(Transaction, bool)>, Vec<UserEvent>) {
    let mut generator = Generator::new(GeneratorConfig {
        garbage_rate: 0.0,
        fraud_rate: 0.005,
        ..GeneratorConfig::default()
    });
    let (mut rows, mut events) = (Vec::with_capacity(count), Vec::new());
    while rows.len() < count {
        match generator.next() {
            Some(Event::Transaction(row, planted)) => rows.push((row, planted.fraud.is_some())),
            Some(Event::Garbage(_)) => {}
            None => break,
        }
        events.extend(std::iter::from_fn(|| generator.next_user_event()));
    }
    (rows, events)
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
    /// The frame and the fraud features with the user's logins (`fraud-features/2`): the
    /// reduce also holds and walks each user's logins.
    FramesFeaturesLogins,
}

/// The per-user reduce alone, on one worker: nine tenths of `rows` in epoch 0, the rest
/// (interleaved in event time, so late) in epoch 1, which re-walks every touched user.
/// With [`Walk::FramesFeaturesLogins`], `events` are fed beside the rows (nine tenths in
/// epoch 0, the rest late); the other walks ignore them.
pub fn per_user(rows: &[Transaction], events: &[UserEvent], walk: Walk) {
    run(rows, events, move |transactions, user_events| match walk {
        Walk::Frames => frames(transactions).map(|_| ()),
        Walk::FramesAndFeatures => frames_and_features(transactions).map(|_| ()),
        Walk::FramesFeaturesLogins => {
            frames_and_features_with(transactions, Some(logins(user_events))).map(|_| ())
        }
    });
}

/// The whole quality graph on one worker, with `scorer` (features + scoring) or without, over
/// the same two epochs as [`per_user`].
pub fn graph(rows: &[Transaction], now_ms: i64, scorer: Option<Arc<Scorer>>) {
    run(rows, &[], move |transactions, _| match scorer.clone() {
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
    run(rows, &[], move |transactions, _| {
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

/// Runs the graph `build` makes over `rows` and `events` in two epochs (nine tenths of each,
/// then the rest), to completion.
fn run<F>(rows: &[Transaction], events: &[UserEvent], build: F)
where
    F: for<'s> FnOnce(
            differential_dataflow::VecCollection<'s, u64, Transaction>,
            differential_dataflow::VecCollection<'s, u64, UserEvent>,
        ) -> differential_dataflow::VecCollection<'s, u64, ()>
        + Send
        + Sync
        + 'static,
{
    let (rows, events) = (rows.to_vec(), events.to_vec());
    timely::execute_directly(move |worker| {
        let probe = Handle::new();
        let (mut input, mut event_input) = worker.dataflow::<u64, _, _>(|scope| {
            let (input, transactions) = scope.new_collection::<Transaction, isize>();
            let (event_input, user_events) = scope.new_collection::<UserEvent, isize>();
            build(transactions, user_events).probe_with(&probe);
            (input, event_input)
        });
        let (split, event_split) = (rows.len() * 9 / 10, events.len() * 9 / 10);
        for row in &rows[..split] {
            input.insert(row.clone());
        }
        for event in &events[..event_split] {
            event_input.insert(event.clone());
        }
        input.advance_to(1);
        event_input.advance_to(1);
        for row in &rows[split..] {
            input.insert(row.clone());
        }
        for event in &events[event_split..] {
            event_input.insert(event.clone());
        }
        input.advance_to(2);
        event_input.advance_to(2);
        input.flush();
        event_input.flush();
        worker.step_while(|| probe.less_than(&2));
    });
}
