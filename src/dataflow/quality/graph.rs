//! The quality graph on differential collections: frames per user, counts per transactionId.

use differential_dataflow::VecCollection;
use differential_dataflow::lattice::Lattice;
use timely::progress::Timestamp;

use super::frame;
use super::row::QualityRow;
use super::rules::verdict;
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
    let duplicated = duplicated.arrange_by_key_named("DuplicateFlags");
    let keyed = framed
        .clone()
        .flat_map(|(row, avg)| row.transaction_id.clone().map(|id| (id, (row, avg))))
        .arrange_by_key_named("FramedById");

    let with_id = keyed.join_core(duplicated, move |_id, (row, avg), duplicate| {
        Some(verdict(row.clone(), *avg, !duplicate, now_ms))
    });

    let without_id = framed
        .filter(|(row, _)| row.transaction_id.is_none())
        .map(move |(row, avg)| verdict(row, avg, true, now_ms));

    with_id.concat(without_id)
}
