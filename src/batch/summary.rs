//! What a batch run did: the printed closing summary and the same numbers as JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::input::ReadStats;
use super::output::{OutputFormat, Written};
use crate::dataflow::quality::QualityRow;
use crate::sink::columns::{CHECKS, COLUMN_NAMES};

/// Seconds a phase took, and its rate.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Phase {
    /// Wall time, seconds.
    pub seconds: f64,
    /// Rows per second through the phase.
    pub rows_per_second: f64,
}

impl Phase {
    /// A phase that moved `rows` rows in `elapsed`.
    pub fn new(rows: u64, elapsed: std::time::Duration) -> Phase {
        let seconds = elapsed.as_secs_f64();
        Phase { seconds, rows_per_second: rows as f64 / seconds.max(1e-9) }
    }
}

/// The outcome of `trustflow batch`.
#[derive(Clone, Debug, Serialize)]
pub struct BatchSummary {
    /// The input path.
    pub input: String,
    /// What reading saw (format, records, blank and rejected lines, rows).
    pub read: ReadStats,
    /// The rejects file.
    pub rejects: String,
    /// Output rows (one per input row).
    pub output_rows: u64,
    /// Output rows failing each check, by output column (every check listed).
    pub failing: BTreeMap<&'static str, u64>,
    /// "Now" of timestamp validity, epoch milliseconds.
    pub now_ms: i64,
    /// Worker threads.
    pub workers: usize,
    /// Parsing the input.
    pub read_phase: Phase,
    /// The quality graph.
    pub graph_phase: Phase,
    /// Encoding and writing the output.
    pub write_phase: Phase,
    /// The whole run.
    pub total: Phase,
    /// What was written.
    pub output: Written,
}

/// Output rows failing each check, every check listed (0 when none fails).
pub fn failing(rows: &[QualityRow]) -> BTreeMap<&'static str, u64> {
    let mut counts: BTreeMap<&'static str, u64> =
        CHECKS.iter().map(|c| (COLUMN_NAMES[c.column], 0)).collect();
    let mut per_check = [0u64; CHECKS.len()];
    for row in rows {
        for (count, check) in per_check.iter_mut().zip(&CHECKS) {
            *count += u64::from(!(check.get)(row));
        }
    }
    for (count, check) in per_check.iter().zip(&CHECKS) {
        counts.insert(COLUMN_NAMES[check.column], *count);
    }
    counts
}

impl fmt::Display for BatchSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = &self.read;
        let format = read.format.map_or("?", |f| match f {
            super::input::InputFormat::Jsonl => "JSON lines",
            super::input::InputFormat::Parquet => "Parquet",
        });
        let unit = if read.format == Some(super::input::InputFormat::Parquet) { "rows" } else { "lines" };
        writeln!(
            f,
            "input          {} ({format}, {} file(s)): {} {unit}, {} blank, {} rejected -> {} rows",
            self.input, read.files, read.records, read.blank, read.rejected, read.rows
        )?;
        writeln!(f, "rejects        {} ({} {unit})", self.rejects, read.rejected)?;
        writeln!(f, "rows out       {} (one per input row; now = {} ms)", self.output_rows, self.now_ms)?;
        writeln!(f, "failing checks")?;
        for check in &CHECKS {
            let column = COLUMN_NAMES[check.column];
            writeln!(f, "  {column:<28} {}", self.failing.get(column).copied().unwrap_or(0))?;
        }
        let phase = |p: &Phase| format!("{:.2} s ({:.0} rows/s)", p.seconds, p.rows_per_second);
        writeln!(f, "read           {}", phase(&self.read_phase))?;
        writeln!(f, "graph          {} on {} worker(s)", phase(&self.graph_phase), self.workers)?;
        writeln!(f, "write          {}", phase(&self.write_phase))?;
        writeln!(f, "total          {}", phase(&self.total))?;
        let out = &self.output;
        let size = out.bytes as f64 / (1 << 20) as f64;
        match (out.format, out.version) {
            (OutputFormat::Delta, version) => writeln!(
                f,
                "output         Delta table {} (version {}, {} file(s), {size:.1} MiB)",
                out.location,
                version.map_or("?".into(), |v| v.to_string()),
                out.files
            ),
            (OutputFormat::Parquet, _) => {
                writeln!(f, "output         Parquet {} ({} file(s), {size:.1} MiB)", out.location, out.files)
            }
        }
    }
}
