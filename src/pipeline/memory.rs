//! What the run's state costs: rows held by the graph and the process's resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::Serialize;

/// The process's resident set size and its peak, in bytes (Linux `/proc/self/status`;
/// `None` elsewhere).
pub fn resident_bytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Rows the graph holds, counted by every worker of the process as they enter and leave.
#[derive(Clone, Debug, Default)]
pub struct Retained(Arc<AtomicI64>);

impl Retained {
    /// Accounts for `diff` rows entering (positive) or leaving (negative) the state.
    pub fn add(&self, diff: isize) {
        self.0.fetch_add(diff as i64, Ordering::Relaxed);
    }

    /// Rows held now.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The state's size over a run, sampled as epochs commit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StateStats {
    /// Rows held by the graph at the end.
    pub retained_rows: i64,
    /// The most rows held at once (at a commit).
    pub peak_retained_rows: i64,
    /// Resident memory before the graph held anything, bytes.
    pub baseline_rss_bytes: u64,
    /// Peak resident memory of the process, bytes.
    pub peak_rss_bytes: u64,
    /// Peak resident memory above the baseline per row held at the peak: what one retained
    /// row costs, arrangements, buffers and allocator slack included.
    pub bytes_per_retained_row: Option<u64>,
}

impl StateStats {
    /// Starts accounting from the current resident memory.
    pub fn starting_now() -> StateStats {
        let baseline = resident_bytes().map_or(0, |(rss, _)| rss);
        StateStats { baseline_rss_bytes: baseline, ..StateStats::default() }
    }

    /// Takes a sample: `retained` rows held now.
    pub fn sample(&mut self, retained: i64) {
        self.retained_rows = retained;
        self.peak_retained_rows = self.peak_retained_rows.max(retained);
        if let Some((_, peak)) = resident_bytes() {
            self.peak_rss_bytes = self.peak_rss_bytes.max(peak);
        }
        let growth = self.peak_rss_bytes.saturating_sub(self.baseline_rss_bytes);
        self.bytes_per_retained_row =
            (self.peak_retained_rows > 0).then(|| growth / self.peak_retained_rows as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resident_memory_on_linux() {
        if cfg!(target_os = "linux") {
            let (rss, peak) = resident_bytes().expect("/proc/self/status has VmRSS and VmHWM");
            assert!(rss > 0 && peak >= rss);
        }
    }

    #[test]
    fn bytes_per_row_divide_growth_by_the_peak_rows() {
        let mut stats = StateStats { baseline_rss_bytes: 0, ..StateStats::default() };
        let retained = Retained::default();
        retained.add(1000);
        retained.add(-400);
        stats.sample(retained.get());
        assert_eq!(stats.retained_rows, 600);
        assert_eq!(stats.peak_retained_rows, 600);
        assert_eq!(stats.bytes_per_retained_row, Some(stats.peak_rss_bytes / 600));
    }
}
