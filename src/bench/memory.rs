//! Peak resident memory per benchmark run: VmHWM reset before a run, read after it.

use serde::Serialize;

use crate::pipeline::StateStats;

/// Resets the process's peak resident set size (VmHWM) to its current size, so that the
/// next reading is this run's peak (Linux: `5` written to `/proc/self/clear_refs`). Returns
/// whether it could; elsewhere the peak stays the process's since its start.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What a run cost in memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MemoryStats {
    /// Peak resident set size of the process during the run, bytes (VmHWM after a reset).
    pub peak_rss_bytes: u64,
    /// Resident set size when the run started, bytes.
    pub start_rss_bytes: u64,
    /// Whether the peak was reset before the run (else it is the process's peak so far).
    pub peak_is_this_runs: bool,
    /// Rows the graph held at the end (one per retained event without a horizon).
    pub retained_rows: i64,
    /// (peak - start) / rows held at the peak: resident bytes per retained event.
    pub bytes_per_retained_event: Option<u64>,
}

impl MemoryStats {
    /// This run's figures from the pipeline's own sample of its state and the peak now.
    pub fn after_run(start_rss_bytes: u64, reset: bool, state: Option<&StateStats>) -> MemoryStats {
        let peak = crate::pipeline::resident_bytes().map_or(0, |(_, peak)| peak);
        let peak_rows = state.map_or(0, |s| s.peak_retained_rows);
        MemoryStats {
            peak_rss_bytes: peak,
            start_rss_bytes,
            peak_is_this_runs: reset,
            retained_rows: state.map_or(0, |s| s.retained_rows),
            bytes_per_retained_event: (peak_rows > 0)
                .then(|| peak.saturating_sub(start_rss_bytes) / peak_rows as u64),
        }
    }
}

/// The resident set size now, bytes (0 where unknown).
pub fn rss_now() -> u64 {
    crate::pipeline::resident_bytes().map_or(0, |(rss, _)| rss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_resets_to_the_current_size() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let big = vec![1u8; 64 << 20];
        std::hint::black_box(&big);
        drop(big);
        assert!(reset_peak_rss());
        let (rss, peak) = crate::pipeline::resident_bytes().unwrap();
        assert!(peak < rss + (32 << 20), "peak {peak} not reset (rss {rss})");
    }

    #[test]
    fn bytes_per_event_divide_growth_by_peak_rows() {
        let state = StateStats { retained_rows: 90, peak_retained_rows: 100, ..StateStats::default() };
        let stats = MemoryStats::after_run(0, true, Some(&state));
        assert_eq!(stats.retained_rows, 90);
        assert_eq!(stats.bytes_per_retained_event, Some(stats.peak_rss_bytes / 100));
        assert_eq!(MemoryStats::after_run(0, true, None).bytes_per_retained_event, None);
    }
}
