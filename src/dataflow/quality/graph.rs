//! The quality graph on differential collections: frames per user, counts per transactionId.
//! With a fraud model, the same per-user walk also gives each row its fraud features.

use std::hash::Hash;
use std::sync::Arc;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, VecCollection};
use timely::progress::Timestamp;

use super::frame;
use super::row::QualityRow;
use super::rules::verdict;
use crate::fraud::features::{self, Features};
use crate::fraud::score::{Scorer, scored};
use crate::record::Transaction;

/// The quality verdicts of a collection of transactions, as a collection: one [`QualityRow`]
/// per input row (copies included), kept current as rows arrive or are retracted.
///
/// * consistency: one `reduce` per userId walks the user's rows in event-time order
///   ([`frame::walk`]); a late row changes the frames, and so the verdicts, of the (up to) 5
///   rows after it, which the reduce retracts and re-emits;
/// * uniqueness: a `count` per transactionId, reduced to "more than once", joined back; a
///   second copy flips every copy to DUPLICATE, a retraction flips them back. Rows with a null
///   transactionId are always UNIQUE and skip the join.
///
/// `now_ms` is the "now" of timestamp validity: a parameter, never the wall clock.
pub fn quality<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    now_ms: i64,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    let duplicated = duplicated(transactions.clone());
    verdicts(frames(transactions), duplicated, now_ms)
}

/// Per transactionId, whether it occurs more than once: a `count` per id mapped to
/// "more than once", so that a third copy changes nothing downstream.
pub fn duplicated<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
) -> VecCollection<'scope, T, (String, bool)>
where
    T: Timestamp + Lattice + Ord,
{
    transactions.flat_map(|row| row.transaction_id).count().map(|(id, copies)| (id, copies > 1))
}

/// Each row with the average amount of its 6-row frame (in micro-units, rounded), by a
/// `reduce` per userId over the user's rows in event-time order.
pub fn frames<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
) -> VecCollection<'scope, T, (Transaction, Option<i128>)>
where
    T: Timestamp + Lattice + Ord,
{
    transactions
        .map(|row| (row.user_id.clone(), row))
        .reduce_named("ConsistencyFrame", |_user, rows, output| {
            frame::walk(rows.iter().map(|(row, copies)| (*row, *copies)), |row, avg| {
                match output.last_mut() {
                    Some(((last, last_avg), copies)) if last == row && *last_avg == avg => *copies += 1,
                    _ => output.push(((row.clone(), avg), 1)),
                }
            });
        })
        .map(|(_user, framed)| framed)
}

/// The verdicts of framed rows, given per transactionId whether it occurs more than once.
/// Rows with a null transactionId are UNIQUE and skip the join.
pub fn verdicts<'scope, T>(
    framed: VecCollection<'scope, T, (Transaction, Option<i128>)>,
    duplicated: VecCollection<'scope, T, (String, bool)>,
    now_ms: i64,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    verdicts_with(framed.map(|(row, avg)| (row, avg, ())), duplicated, now_ms).map(|(verdict, ())| verdict)
}

/// As [`verdicts`], each framed row carrying a payload `P` (its fraud features) to its verdict.
pub fn verdicts_with<'scope, T, P>(
    framed: VecCollection<'scope, T, (Transaction, Option<i128>, P)>,
    duplicated: VecCollection<'scope, T, (String, bool)>,
    now_ms: i64,
) -> VecCollection<'scope, T, (QualityRow, P)>
where
    T: Timestamp + Lattice + Ord,
    P: ExchangeData + Hash,
{
    let duplicated = duplicated.arrange_by_key_named("DuplicateFlags");
    let keyed = framed
        .clone()
        .flat_map(|(row, avg, payload)| row.transaction_id.clone().map(|id| (id, (row, avg, payload))))
        .arrange_by_key_named("FramedById");

    let with_id = keyed.join_core(duplicated, move |_id, (row, avg, payload), duplicate| {
        Some((verdict(row.clone(), *avg, !duplicate, now_ms), payload.clone()))
    });

    let without_id = framed
        .filter(|(row, _, _)| row.transaction_id.is_none())
        .map(move |(row, avg, payload)| (verdict(row, avg, true, now_ms), payload));

    with_id.concat(without_id)
}

/// Each row with its frame average (as [`frames`]) and its fraud features
/// (`docs/fraud-features.md`), by one `reduce` per userId that walks the user's rows in
/// event-time order once for both. A late row changes the features of every later row of its
/// user (their history changed): the reduce retracts and re-emits them.
pub fn frames_and_features<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
) -> VecCollection<'scope, T, (Transaction, Option<i128>, Features)>
where
    T: Timestamp + Lattice + Ord,
{
    transactions
        .map(|row| (row.user_id.clone(), row))
        .reduce_named("UserHistory", |_user, rows, output| {
            let mut averages = Vec::with_capacity(rows.len());
            frame::walk(rows.iter().map(|(row, copies)| (*row, *copies)), |_, avg| averages.push(avg));
            let mut averages = averages.into_iter();
            features::walk(rows.iter().map(|(row, copies)| (*row, *copies)), |row, features| {
                let avg = averages.next().flatten();
                output.push(((row.clone(), avg, features), 1));
            });
        })
        .map(|(_user, framed)| framed)
}

/// The quality verdicts of [`quality`], each scored by `scorer`'s model over the row's
/// fraud features: one reduce per user computes frames and features together
/// ([`frames_and_features`]), the features ride along to the verdict, and
/// [`scored`](crate::fraud::score::scored) scores each change.
pub fn quality_scored<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    now_ms: i64,
    scorer: Arc<Scorer>,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    let duplicated = duplicated(transactions.clone());
    scored(verdicts_with(frames_and_features(transactions), duplicated, now_ms), scorer)
}
