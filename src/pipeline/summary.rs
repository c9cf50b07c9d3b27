//! What a run did, for people (the closing summary) and for tests (the same numbers as JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::dataflow::quality::QualityRow;

/// What has been committed to the output table during a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TableStats {
    /// Where the table is.
    pub table: String,
    /// Epochs committed.
    pub epochs: u64,
    /// The table's version after the last commit.
    pub version: i64,
    /// Change rows written (inserts plus deletes).
    pub change_rows: u64,
    /// Rows of the consolidated table (inserts minus deletes).
    pub rows: i64,
    /// Consolidated rows failing each check, by output column.
    pub failing: BTreeMap<&'static str, i64>,
    /// Verdicts kept out of the table by a `drop` expectation (consolidated).
    pub dropped: i64,
    /// The quarantine table.
    pub quarantine: SideTableStats,
    /// The dashboard window table.
    pub windows: SideTableStats,
    /// Verdicts passing and failing each expectation (all verdicts, whatever their action).
    pub expectations: BTreeMap<String, ExpectationStats>,
}

/// How many verdicts pass and fail one expectation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExpectationStats {
    /// Verdicts that pass.
    pub passed: i64,
    /// Verdicts that fail.
    pub failed: i64,
}

/// What has been committed to a side table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SideTableStats {
    /// Where the table is.
    pub table: String,
    /// The table's version after the last commit.
    pub version: i64,
    /// Change rows written.
    pub change_rows: u64,
    /// Rows of the consolidated table.
    pub rows: i64,
}

impl SideTableStats {
    /// Accounts for one committed epoch.
    pub fn record<R>(&mut self, version: i64, change_rows: usize, changes: &[(R, isize)]) {
        self.version = version;
        self.change_rows += change_rows as u64;
        self.rows += changes.iter().map(|(_, d)| *d as i64).sum::<i64>();
    }
}

impl TableStats {
    /// Accounts for one committed epoch.
    pub fn record(&mut self, version: i64, change_rows: usize, changes: &[(QualityRow, isize)]) {
        self.epochs += 1;
        self.version = version;
        self.change_rows += change_rows as u64;
        for (row, diff) in changes {
            let diff = *diff as i64;
            self.rows += diff;
            for (column, passed) in row.checks() {
                if !passed {
                    *self.failing.entry(column).or_default() += diff;
                }
            }
        }
    }
}

/// The outcome of a pipeline run, as printed at its end.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// Kafka records read by this process's workers.
    pub events_in: u64,
    /// Of those, decoded transactions fed to the graph.
    pub transactions: u64,
    /// Of those, records sent to the dead-letter topic, by reason.
    pub dead_lettered: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Timely workers in this process.
    pub workers: usize,
    /// The output table, as committed by this process (empty unless it hosts worker 0).
    pub table: Option<TableStats>,
}

impl RunSummary {
    /// Events per second over the whole run.
    pub fn events_per_second(&self) -> f64 {
        self.events_in as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Total dead-lettered records.
    pub fn dead_letter_total(&self) -> u64 {
        self.dead_lettered.values().sum()
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "events in      {} ({} transactions, {} dead-lettered) in {:.2} s = {:.0} events/s on {} worker(s)",
            self.events_in,
            self.transactions,
            self.dead_letter_total(),
            self.elapsed.as_secs_f64(),
            self.events_per_second(),
            self.workers,
        )?;
        for (reason, count) in &self.dead_lettered {
            writeln!(f, "  dead letter  {reason}: {count}")?;
        }
        if let Some(table) = &self.table {
            writeln!(
                f,
                "rows out       {} change rows in {} epochs; the consolidated table holds {} rows",
                table.change_rows, table.epochs, table.rows
            )?;
            writeln!(f, "failing checks (consolidated rows)")?;
            for (column, count) in &table.failing {
                writeln!(f, "  {column:<28} {count}")?;
            }
            writeln!(f, "table          {} (version {})", table.table, table.version)?;
            writeln!(
                f,
                "quarantine     {} rows in {}; {} rows dropped by expectations",
                table.quarantine.rows, table.quarantine.table, table.dropped
            )?;
            writeln!(f, "windows        {} rows in {}", table.windows.rows, table.windows.table)?;
            writeln!(f, "expectations (verdicts passing / failing)")?;
            for (name, outcome) in &table.expectations {
                writeln!(f, "  {name:<28} {} / {}", outcome.passed, outcome.failed)?;
            }
        }
        Ok(())
    }
}
