//! The quality graph on differential collections: frames per user, counts per transactionId.
//! With a fraud model, the same per-user walk also gives each row its fraud features, the
//! user's logins (from the user-events collection) walked beside the rows.

use std::hash::Hash;
use std::sync::Arc;

use differential_dataflow::lattice::Lattice;
use differential_dataflow::{ExchangeData, VecCollection};
use serde::{Deserialize, Serialize};
use timely::progress::Timestamp;

use super::frame;
use super::row::QualityRow;
use super::rules::verdict;
use crate::fraud::features::{self, Features};
use crate::fraud::logins::{Login, LoginTimeline};
use crate::fraud::score::{Scorer, scored};
use crate::record::{Transaction, UserEvent};

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

/// One item of a user's history in the per-user reduce: a transaction, or a login of the
/// user (`fraud-features/2`). The derived order puts every transaction (in event-time order)
/// before every login.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UserItem {
    /// A transaction of the user.
    Transaction(Transaction),
    /// A login of the user.
    Login(Login),
}

/// The logins among `user_events`, keyed by user (other event types dropped).
pub fn logins<'scope, T>(
    user_events: VecCollection<'scope, T, UserEvent>,
) -> VecCollection<'scope, T, (String, Login)>
where
    T: Timestamp + Lattice + Ord,
{
    user_events.flat_map(|event| Login::of(&event))
}

/// Each row with its frame average (as [`frames`]) and its fraud features
/// (`docs/fraud-features.md`) without logins: every row's login features say "no login"
/// ([`frames_and_features_with`] with no user events).
pub fn frames_and_features<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
) -> VecCollection<'scope, T, (Transaction, Option<i128>, Features)>
where
    T: Timestamp + Lattice + Ord,
{
    frames_and_features_with(transactions, None)
}

/// Each row with its frame average (as [`frames`]) and its fraud features
/// (`docs/fraud-features.md`), by one `reduce` per userId over the user's transactions and
/// logins that walks the rows in event-time order once for both, the logins as a
/// [`LoginTimeline`] beside them. A late row changes the features of every later row of its
/// user (their history changed), and a late (or retracted) login those of the user's rows in
/// the 30 minutes after it, and after any login whose device or country it makes known: the
/// reduce retracts and re-emits them. A login's user is `Some(userId)`: rows with a null
/// userId never see a login.
pub fn frames_and_features_with<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    logins: Option<VecCollection<'scope, T, (String, Login)>>,
) -> VecCollection<'scope, T, (Transaction, Option<i128>, Features)>
where
    T: Timestamp + Lattice + Ord,
{
    let items = transactions.map(|row| (row.user_id.clone(), UserItem::Transaction(row)));
    let items = match logins {
        Some(logins) => items.concat(logins.map(|(user, login)| (Some(user), UserItem::Login(login)))),
        None => items,
    };
    items
        .reduce_named("UserHistory", |_user, items, output| {
            let rows: Vec<(&Transaction, isize)> = items
                .iter()
                .filter_map(|(item, copies)| match item {
                    UserItem::Transaction(row) => Some((row, *copies)),
                    UserItem::Login(_) => None,
                })
                .collect();
            if rows.is_empty() {
                return;
            }
            let timeline = LoginTimeline::new(items.iter().filter_map(|(item, copies)| match item {
                UserItem::Login(login) => Some((login, *copies)),
                UserItem::Transaction(_) => None,
            }));
            let mut averages = Vec::with_capacity(rows.len());
            frame::walk(rows.iter().copied(), |_, avg| averages.push(avg));
            let mut averages = averages.into_iter();
            features::walk(rows.iter().copied(), &timeline, |row, features| {
                let avg = averages.next().flatten();
                output.push(((row.clone(), avg, features), 1));
            });
        })
        .map(|(_user, framed)| framed)
}

/// The quality verdicts of [`quality`], each scored by `scorer`'s model over the row's
/// fraud features, without user events (every row's login features say "no login"; see
/// [`quality_scored_with`]).
pub fn quality_scored<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    now_ms: i64,
    scorer: Arc<Scorer>,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    scored_over(transactions, None, now_ms, scorer)
}

/// The quality verdicts of [`quality`], each scored by `scorer`'s model over the row's
/// fraud features with the logins of `user_events`: one reduce per user computes frames and
/// features together ([`frames_and_features_with`]), the features ride along to the verdict,
/// and [`scored`](crate::fraud::score::scored) scores each change. A late login re-scores
/// the rows whose login features it changes (a retraction and a new row each).
pub fn quality_scored_with<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    user_events: VecCollection<'scope, T, UserEvent>,
    now_ms: i64,
    scorer: Arc<Scorer>,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    scored_over(transactions, Some(logins(user_events)), now_ms, scorer)
}

/// The scored verdicts of `transactions`, with the user's `logins` if any.
fn scored_over<'scope, T>(
    transactions: VecCollection<'scope, T, Transaction>,
    logins: Option<VecCollection<'scope, T, (String, Login)>>,
    now_ms: i64,
    scorer: Arc<Scorer>,
) -> VecCollection<'scope, T, QualityRow>
where
    T: Timestamp + Lattice + Ord,
{
    let duplicated = duplicated(transactions.clone());
    scored(verdicts_with(frames_and_features_with(transactions, logins), duplicated, now_ms), scorer)
}
