//! The spec's `anomaly_monitoring` block: windows, baseline and thresholds of the monitor.

use serde::{Deserialize, Serialize};

use crate::dataflow::anomaly::{
    AnomalyConfig, AnomalyError, DEFAULT_BASELINE_WINDOWS, DEFAULT_MIN_BASELINE_WINDOWS,
    DEFAULT_MIN_WINDOW_ROWS, DEFAULT_TVD_THRESHOLD, DEFAULT_Z_THRESHOLD,
};

/// Anomaly monitoring of the input (issue 7.4, `docs/governance.md`). Every key is optional;
/// without the block the monitor runs with these defaults.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalySpec {
    /// Whether the monitor runs (and the `alerts` table is written). Default true.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// The event-time tumbling window, a duration. Default `1m`.
    #[serde(default = "window")]
    pub window: String,
    /// Earlier windows each window is compared with. Default 10.
    #[serde(default = "baseline_windows")]
    pub baseline_windows: u32,
    /// Baseline windows with data needed before a window may raise an alert. Default 3.
    #[serde(default = "min_baseline_windows")]
    pub min_baseline_windows: u32,
    /// The z-score threshold of volume, null ratio and amount mean alerts. Default 3.0.
    #[serde(default = "z_threshold")]
    pub z_threshold: f64,
    /// The total variation distance threshold of currency share alerts. Default 0.2.
    #[serde(default = "tvd_threshold")]
    pub tvd_threshold: f64,
    /// Rows a window needs before its null ratios and distributions are judged. Default 100.
    #[serde(default = "min_window_rows")]
    pub min_window_rows: u64,
}

fn enabled() -> bool {
    true
}
fn window() -> String {
    "1m".to_owned()
}
fn baseline_windows() -> u32 {
    DEFAULT_BASELINE_WINDOWS
}
fn min_baseline_windows() -> u32 {
    DEFAULT_MIN_BASELINE_WINDOWS
}
fn z_threshold() -> f64 {
    DEFAULT_Z_THRESHOLD
}
fn tvd_threshold() -> f64 {
    DEFAULT_TVD_THRESHOLD
}
fn min_window_rows() -> u64 {
    DEFAULT_MIN_WINDOW_ROWS
}

impl Default for AnomalySpec {
    fn default() -> Self {
        AnomalySpec {
            enabled: enabled(),
            window: window(),
            baseline_windows: baseline_windows(),
            min_baseline_windows: min_baseline_windows(),
            z_threshold: z_threshold(),
            tvd_threshold: tvd_threshold(),
            min_window_rows: min_window_rows(),
        }
    }
}

/// Specs compare thresholds bit for bit (a spec is compared with itself re-read).
impl PartialEq for AnomalySpec {
    fn eq(&self, other: &AnomalySpec) -> bool {
        (self.enabled, &self.window, self.baseline_windows, self.min_baseline_windows, self.min_window_rows)
            == (
                other.enabled,
                &other.window,
                other.baseline_windows,
                other.min_baseline_windows,
                other.min_window_rows,
            )
            && self.z_threshold.to_bits() == other.z_threshold.to_bits()
            && self.tvd_threshold.to_bits() == other.tvd_threshold.to_bits()
    }
}

impl Eq for AnomalySpec {}

impl AnomalySpec {
    /// The monitor's checked configuration, `None` when disabled.
    pub fn config(&self) -> Result<Option<AnomalyConfig>, AnomalyError> {
        let config = AnomalyConfig::new(
            &self.window,
            self.baseline_windows,
            self.min_baseline_windows,
            self.z_threshold,
            self.tvd_threshold,
        )?;
        Ok(self.enabled.then_some(AnomalyConfig { min_window_rows: self.min_window_rows, ..config }))
    }
}
