//! Retirement: history older than the horizon leaves the graph's state through a feedback edge.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::iterate::VecVariable;

use super::Horizon;
use crate::dataflow::quality::rules::FRAME_ROWS;
use crate::record::Transaction;

/// One copy of a transactionId in the state: its retirement bucket and its row's position.
type IdCopy = (i64, Option<(i32, i64)>);

/// The state the quality graph keeps within the horizon.
pub struct Live<'scope> {
    /// Admitted rows not retired yet: what the consistency frames are computed over.
    pub rows: VecCollection<'scope, u64, Transaction>,
    /// Per retained transactionId, whether it occurs more than once.
    pub duplicated: VecCollection<'scope, u64, (String, bool)>,
    /// The source position (partition, offset) of every row the state still holds, in its
    /// history or among its transactionId's counts (once for each). Rows without an origin
    /// have no position and are not listed.
    pub held: VecCollection<'scope, u64, (i32, i64)>,
}

/// A row's source position, if it has one.
fn position(row: &Transaction) -> Option<(i32, i64)> {
    row.origin.as_ref().map(|origin| (origin.partition, origin.offset))
}

/// Keeps `admitted` rows until the horizon passes them, then retires them from the state.
///
/// Time is cut into buckets ([`Horizon::bucket`]); `first_bucket` is the first bucket that is
/// not yet wholly before the cutoff. Rows of earlier (expired) buckets are found through an
/// arrangement by bucket, so each advance of the cutoff touches only the rows it expires.
///
/// * History: per user, every expired row but the 5 newest is retired. Those 5 are the frame
///   context of the user's next rows, whose averages therefore never change by retirement.
/// * transactionIds: an id is retired when all its copies are expired, so a live copy keeps
///   seeing every copy that was not yet retired.
///
/// Retirements computed in epoch `t` are subtracted from the state in epoch `t + 1`, through a
/// differential `Variable` (a timely feedback edge). The verdicts they change belong to rows
/// before the cutoff, which [`super::freeze::freeze`] holds as they were.
pub fn retire<'scope>(
    admitted: VecCollection<'scope, u64, Transaction>,
    first_bucket: VecCollection<'scope, u64, ((), i64)>,
    horizon: Horizon,
) -> Live<'scope> {
    let scope = admitted.inner.scope();
    let (rows_variable, retired_rows) = VecVariable::<u64, Transaction, isize>::new(scope, 1);
    // An id's copies carry their bucket and their row's position (which only `held` reads).
    let (ids_variable, retired_ids) = VecVariable::<u64, (String, IdCopy), isize>::new(scope, 1);

    let rows = admitted.clone().concat(retired_rows.clone().negate());
    let ids = admitted
        .flat_map(move |row| {
            let bucket = horizon.bucket(row.timestamp?);
            let at = position(&row);
            row.transaction_id.map(|id| (id, (bucket, at)))
        })
        .concat(retired_ids.clone().negate());

    // The buckets that hold state and lie wholly before the cutoff (a handful of records,
    // gathered on one worker).
    let expired = rows
        .clone()
        .flat_map(move |row| row.timestamp.map(|ts| horizon.bucket(ts)))
        .concat(ids.clone().map(|(_, (bucket, _))| bucket))
        .distinct()
        .map(|bucket| ((), bucket))
        .arrange_by_key_named("LiveBuckets")
        .join_core(first_bucket.arrange_by_key_named("FirstLiveBucket"), |_, bucket, first| {
            (bucket < first).then_some(*bucket)
        });

    let retire_rows = rows
        .clone()
        .flat_map(move |row| row.timestamp.map(|ts| (horizon.bucket(ts), row)))
        .semijoin(expired.clone())
        .map(|(_, row)| (row.user_id.clone(), row))
        .reduce_named("RetireHistory", |_user, expiring, output| {
            // `expiring` is in event-time order: retire from the oldest, keep the newest 5.
            let total: isize = expiring.iter().map(|(_, copies)| *copies).sum();
            let mut surplus = total - (FRAME_ROWS as isize - 1);
            for (row, copies) in expiring {
                if surplus <= 0 {
                    break;
                }
                let retire = (*copies).min(surplus);
                output.push(((*row).clone(), retire));
                surplus -= retire;
            }
        })
        .map(|(_, row)| row);
    // `consolidate` waits for each epoch to complete: the rows retired in `t` then cancel
    // against their retraction from `retire_rows` in `t` instead of racing ahead around the
    // loop. Its arrangement has no readers, so it keeps no history.
    rows_variable.set(retired_rows.concat(retire_rows).consolidate());

    let per_id = ids.clone().reduce_named("TransactionIds", |_id, copies, output| {
        let count: isize = copies.iter().map(|(_, n)| *n).sum();
        // Copies are in (bucket, position) order: the last is in the newest bucket.
        if let Some(((newest, _), _)) = copies.last() {
            output.push(((count > 1, *newest), 1));
        }
    });
    let duplicated = per_id.clone().map(|(id, (duplicate, _))| (id, duplicate));
    let all_expired = per_id.map(|(id, (_, newest))| (newest, id)).semijoin(expired).map(|(_, id)| id);
    let retire_ids = ids.clone().semijoin(all_expired);
    ids_variable.set(retired_ids.concat(retire_ids).consolidate());

    let held = rows.clone().flat_map(|row| position(&row)).concat(ids.flat_map(|(_, (_, at))| at));

    Live { rows, duplicated, held }
}
