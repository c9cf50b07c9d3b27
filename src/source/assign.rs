//! Deterministic partition ownership: partition `i` of a topic belongs to worker `i % peers`.

/// The partitions of a topic (all of `partitions`, in any order) that the worker with global
/// index `worker` of `peers` owns: the `k`-th smallest partition goes to worker `k % peers`.
/// Every partition has exactly one owner, owners differ by at most one partition, and every
/// process computes the same answer without coordination.
pub fn partitions_for_worker(partitions: &[i32], worker: usize, peers: usize) -> Vec<i32> {
    let mut sorted = partitions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.into_iter().enumerate().filter(|(k, _)| peers > 0 && k % peers == worker).map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_has_exactly_one_owner() {
        for partitions in 0..12 {
            let all: Vec<i32> = (0..partitions).rev().collect();
            for peers in 1..6 {
                let mut owned: Vec<i32> =
                    (0..peers).flat_map(|w| partitions_for_worker(&all, w, peers)).collect();
                owned.sort_unstable();
                assert_eq!(
                    owned,
                    (0..partitions).collect::<Vec<_>>(),
                    "{partitions} partitions, {peers} peers"
                );
                let sizes: Vec<usize> =
                    (0..peers).map(|w| partitions_for_worker(&all, w, peers).len()).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
            }
        }
    }

    #[test]
    fn assignment_ignores_listing_order() {
        assert_eq!(partitions_for_worker(&[3, 1, 0, 2], 1, 2), vec![1, 3]);
        assert_eq!(partitions_for_worker(&[0, 1, 2, 3], 1, 2), vec![1, 3]);
        assert_eq!(partitions_for_worker(&[0, 1], 3, 4), Vec::<i32>::new());
    }
}
