//! Where a horizon run's state begins in each partition: the smallest offset it still holds.

use std::collections::BTreeMap;

use super::resume::Offsets;

/// The source positions of the rows a horizon graph holds (`Bounded::held`), folded epoch by
/// epoch, so that each commit can record, per partition, the smallest offset still held.
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

    /// Per partition with a held row, the smallest held offset.
    pub fn smallest(&self) -> Offsets {
        let mut out = Offsets::new();
        let mut from = (i32::MIN, i64::MIN);
        while let Some((&(partition, offset), _)) = self.counts.range(from..).next() {
            out.insert(partition, offset);
            match partition.checked_add(1) {
                Some(next) => from = (next, i64::MIN),
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_offset_held_per_partition() {
        let mut held = HeldPositions::default();
        held.apply([((0, 7), 1), ((0, 3), 2), ((2, 10), 1), ((i32::MAX, 1), 1)]);
        assert_eq!(held.smallest(), Offsets::from([(0, 3), (2, 10), (i32::MAX, 1)]));
        // A row held twice (history and id counts) leaves when both copies are retired.
        held.apply([((0, 3), -1)]);
        assert_eq!(held.smallest().get(&0), Some(&3));
        held.apply([((0, 3), -1), ((2, 10), -1)]);
        assert_eq!(held.smallest(), Offsets::from([(0, 7), (i32::MAX, 1)]));
    }
}
