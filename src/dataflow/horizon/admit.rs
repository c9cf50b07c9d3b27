//! Admission: rows inside the horizon enter the graph, the others are set aside with a reason.

use differential_dataflow::VecCollection;
use timely::dataflow::StreamVec;

use super::watermark::{Mark, with_cutoff};
use super::{Horizon, LateEvent, LateReason};
use crate::record::Transaction;

/// A row, admitted into the graph or set aside.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum Admission {
    /// Inside the horizon: the graph evaluates it.
    Live(Transaction),
    /// Outside it: counted and quarantined with its reason.
    Late(LateEvent),
}

/// Splits `rows` by the horizon: a row of epoch `t` is late if its timestamp is null, before
/// the cutoff of `t` (event time at the start of `t`, see [`super::watermark::EventTime`],
/// minus the horizon), or more than the horizon after `now_ms`.
pub fn admit<'scope>(
    rows: VecCollection<'scope, u64, Transaction>,
    marks: StreamVec<'scope, u64, Mark>,
    horizon: Horizon,
    now_ms: i64,
) -> (VecCollection<'scope, u64, Transaction>, VecCollection<'scope, u64, LateEvent>) {
    let latest_allowed = now_ms.saturating_add(horizon.width_ms);
    let split = with_cutoff(rows.inner, marks, horizon, "Admit", move |cutoff, row: Transaction| {
        let reason = match row.timestamp {
            None => Some(LateReason::NoEventTime),
            Some(ts) if cutoff.is_some_and(|cutoff| ts < cutoff) => Some(LateReason::BeforeHorizon),
            Some(ts) if ts > latest_allowed => Some(LateReason::AfterHorizon),
            Some(_) => None,
        };
        Some(match reason {
            None => Admission::Live(row),
            Some(reason) => Admission::Late(LateEvent { row, reason, cutoff_ms: cutoff }),
        })
    });
    let live = split.clone().flat_map(|admission| match admission {
        Admission::Live(row) => Some(row),
        Admission::Late(_) => None,
    });
    let late = split.flat_map(|admission| match admission {
        Admission::Late(late) => Some(late),
        Admission::Live(_) => None,
    });
    (live, late)
}
