//! The consistency frame: each row of a user's history with the average of its 6-row window.

use std::collections::VecDeque;

use super::rules::{FRAME_ROWS, cents, frame_average};
use crate::record::Transaction;

/// Walks one user's rows in event-time order (`rows` sorted by [`Transaction`]'s `Ord`, each
/// with its multiplicity) and calls `emit(row, avg_micros)` once per physical row, where the
/// average covers that row and the (up to) 5 physical rows before it. Copies of one row are
/// consecutive physical rows, so their frames, and possibly averages, differ.
pub fn walk<'a>(
    rows: impl IntoIterator<Item = (&'a Transaction, isize)>,
    mut emit: impl FnMut(&'a Transaction, Option<i128>),
) {
    let mut window: VecDeque<Option<i128>> = VecDeque::with_capacity(FRAME_ROWS);
    for (row, copies) in rows {
        let amount = row.amount.map(cents);
        for _ in 0..copies.max(0) {
            if window.len() == FRAME_ROWS {
                window.pop_front();
            }
            window.push_back(amount);
            emit(row, frame_average(window.iter().copied()));
        }
    }
}
