//! What a horizon run's state holds of each partition: a few scattered offsets, then a range.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Offsets listed one by one per partition at most: beyond them the held rows are a range.
pub const MAX_LISTED: usize = 256;
/// A listed offset this close to the next held one joins the range instead (a run of held
/// rows is cheaper to read than to list).
const DENSE_GAP: i64 = 16;

/// The rows of one partition a horizon graph's state holds: every held offset is in `listed`
/// or at or after `from`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldRange {
    /// Held offsets before `from` (or all of them, without `from`), ascending.
    pub listed: Vec<i64>,
    /// Every held offset not listed is at or after this one (`None`: every one is listed).
    pub from: Option<i64>,
}

impl HeldRange {
    /// As a commit records it: `{"from": 81233, "listed": [95, 1200]}`.
    pub fn to_json(&self) -> Value {
        json!({ "from": self.from, "listed": self.listed })
    }

    /// As [`HeldRange::to_json`] writes it (`None` for anything else).
    pub fn from_json(value: &Value) -> Option<HeldRange> {
        let from = match value.get("from")? {
            Value::Null => None,
            from => Some(from.as_i64().filter(|o| *o >= 0)?),
        };
        let listed: Option<Vec<i64>> =
            value.get("listed")?.as_array()?.iter().map(|o| o.as_i64().filter(|o| *o >= 0)).collect();
        let listed = listed?;
        let ascending = listed.windows(2).all(|w| w[0] < w[1]);
        let before = from.is_none_or(|from| listed.last().is_none_or(|last| *last < from));
        (ascending && before).then_some(HeldRange { listed, from })
    }
}

/// The source positions of the rows a horizon graph holds (`Bounded::held`), folded epoch by
/// epoch, so that each commit can record what the state holds of each partition.
///
/// [`Bounded::held`]: crate::dataflow::horizon::Bounded::held
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldPositions {
    /// Per (partition, offset), how many times the state holds that record.
    counts: BTreeMap<(i32, i64), isize>,
}

impl HeldPositions {
    /// Applies changes of the held positions.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = ((i32, i64), isize)>) {
        for (position, diff) in changes {
            let count = self.counts.entry(position).or_default();
            *count += diff;
            if *count == 0 {
                self.counts.remove(&position);
            }
        }
    }

    /// Per partition with a held row, what it holds: up to `limit` scattered offsets (rows
    /// from the future, a quiet user's last rows, the first copy of a transactionId) listed,
    /// then the range where the held rows lie close together.
    pub fn summary(&self, limit: usize) -> BTreeMap<i32, HeldRange> {
        let mut out = BTreeMap::new();
        let mut start = (i32::MIN, i64::MIN);
        while let Some((&(partition, _), _)) = self.counts.range(start..).next() {
            let end = partition.checked_add(1).map(|next| (next, i64::MIN));
            let offsets = match end {
                Some(end) => self.counts.range((partition, i64::MIN)..end),
                None => self.counts.range((partition, i64::MIN)..),
            };
            let mut offsets = offsets.map(|((_, offset), _)| *offset);
            let mut held = HeldRange { listed: offsets.by_ref().take(limit).collect(), from: offsets.next() };
            if let Some(mut from) = held.from {
                while let Some(last) = held.listed.pop_if(|last| from - *last <= DENSE_GAP) {
                    from = last;
                }
                held.from = Some(from);
            }
            out.insert(partition, held);
            match end {
                Some(end) => start = end,
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(listed: &[i64], from: Option<i64>) -> HeldRange {
        HeldRange { listed: listed.to_vec(), from }
    }

    #[test]
    fn scattered_offsets_are_listed_then_a_range() {
        let mut held = HeldPositions::default();
        held.apply([((0, 7), 1), ((0, 3), 2), ((2, 10), 1), ((i32::MAX, 1), 1)]);
        held.apply((500..600).map(|offset| ((0, offset), 1)));
        let summary = held.summary(4);
        assert_eq!(summary[&0], range(&[3, 7], Some(500)), "500..503 are close together: a range");
        assert_eq!(summary[&2], range(&[10], None));
        assert_eq!(summary[&i32::MAX], range(&[1], None));
        // A row held twice (history and id counts) leaves when both copies are retired.
        held.apply([((0, 3), -1)]);
        assert_eq!(held.summary(4)[&0].listed, [3, 7]);
        held.apply([((0, 3), -1), ((2, 10), -1)]);
        assert_eq!(held.summary(4).keys().copied().collect::<Vec<_>>(), [0, i32::MAX]);
        assert_eq!(held.summary(1)[&0], range(&[7], Some(500)));
        assert_eq!(held.summary(0)[&0], range(&[], Some(7)), "nothing listed: a range only");
    }

    #[test]
    fn held_ranges_round_trip_and_bad_ones_are_refused() {
        for held in [range(&[3, 7], Some(500)), range(&[10], None), range(&[], Some(0))] {
            assert_eq!(HeldRange::from_json(&held.to_json()), Some(held));
        }
        for bad in [
            json!({"from": 5, "listed": [7]}),
            json!({"from": null, "listed": [7, 3]}),
            json!({"from": -1, "listed": []}),
            json!({"listed": []}),
            json!(12),
        ] {
            assert_eq!(HeldRange::from_json(&bad), None, "{bad}");
        }
    }
}
