//! Freezing: once the cutoff passes a row, its verdict as committed is final.

use differential_dataflow::VecCollection;
use timely::dataflow::StreamVec;

use super::Horizon;
use super::watermark::{Mark, with_cutoff};

/// Passes the changes of epoch `t` to rows at or after the cutoff of `t`, and drops those to
/// rows before it. Rows before the cutoff only change because their history is being retired
/// (or a copy of their transactionId arrived after they froze): their verdicts stay as they
/// were when the cutoff passed them. `timestamp` reads a row's event time (rows without one
/// never reach here: admission sets them aside).
pub fn freeze<'scope, R: differential_dataflow::Data>(
    rows: VecCollection<'scope, u64, R>,
    marks: StreamVec<'scope, u64, Mark>,
    horizon: Horizon,
    timestamp: fn(&R) -> Option<i64>,
) -> VecCollection<'scope, u64, R> {
    with_cutoff(rows.inner, marks, horizon, "Freeze", move |cutoff, row| {
        let frozen = matches!((timestamp(&row), cutoff), (Some(ts), Some(cutoff)) if ts < cutoff);
        (!frozen).then_some(row)
    })
}
