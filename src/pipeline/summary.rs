//! What a run did, for people (the closing summary) and for tests (the same numbers as JSON).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::memory::StateStats;
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
    /// The late-events table (runs with a horizon).
    pub late: SideTableStats,
    /// The anomaly alerts table (runs with the monitor).
    pub alerts: SideTableStats,
    /// Alerts held at the end, by kind (consolidated).
    pub alerts_by_kind: BTreeMap<&'static str, i64>,
    /// Rows set aside by the horizon, by reason (consolidated).
    pub late_by_reason: BTreeMap<&'static str, i64>,
    /// The output topic, if the run publishes one.
    pub output_topic: Option<String>,
    /// Change records published to it (inserts plus deletes).
    pub published: u64,
    /// Records published to the dead-letter topic by this run (each epoch's in one Kafka
    /// transaction).
    pub dead_letters_published: u64,
    /// Times the quality table was compacted and snapshotted (`--maintain-every`).
    pub maintenance_runs: u64,
    /// Verdicts passing and failing each expectation (all verdicts, whatever their action).
    pub expectations: BTreeMap<String, ExpectationStats>,
    /// Consolidated rows per `risk_category` (HIGH, MEDIUM, LOW, or UNSCORED without a model).
    pub risk: BTreeMap<&'static str, i64>,
    /// Consolidated rows per sensitivity tag (`SENSITIVITY_LOW` ... `SENSITIVITY_CRITICAL`).
    pub sensitivity: BTreeMap<&'static str, i64>,
    /// Consolidated rows' pieces of personal data, by `type:action` (`email:mask`, ...).
    pub pii: BTreeMap<String, i64>,
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
            *self.risk.entry(crate::fraud::score::risk_label(row.fraud.as_ref())).or_default() += diff;
            if let Some(label) = &row.governance {
                *self.sensitivity.entry(label.sensitivity.tag()).or_default() += diff;
                for found in &label.protected {
                    let key = format!("{}:{}", found.kind.name(), found.action.name());
                    *self.pii.entry(key).or_default() += diff;
                }
            }
        }
    }
}

/// The outcome of a pipeline run, as printed at its end. The process that hosts worker 0
/// (the committer) counts every worker of the cluster; another process of a cluster counts
/// its own workers only, and has no table.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunSummary {
    /// This process's index in the cluster (0 hosts the committer).
    pub process: usize,
    /// Processes in the cluster.
    pub processes: usize,
    /// Kafka records read by the workers counted.
    pub events_in: u64,
    /// Of those, decoded transactions fed to the graph.
    pub transactions: u64,
    /// Of those, decoded user events (logins) fed to the graph (runs scoring with logins).
    pub user_events: u64,
    /// Of those, records sent to the dead-letter topic, by reason.
    pub dead_lettered: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Timely workers counted: the cluster's, or this process's if it is not process 0.
    pub workers: usize,
    /// The output table, as committed by this process (empty unless it hosts worker 0).
    pub table: Option<TableStats>,
    /// The event-time horizon, if state is bounded.
    pub horizon: Option<String>,
    /// Rows held in the graph's state and what they cost (sampled by the committing worker).
    pub state: Option<StateStats>,
    /// The committed epoch this run resumed after, if it resumed.
    pub resumed_after: Option<u64>,
    /// Records fed at already committed epochs to rebuild the state (counted in `events_in`).
    pub replayed_events: u64,
    /// Records of committed epochs read again but not fed, the state no longer holding them
    /// (a horizon run's restart; counted in `events_in`).
    pub skipped_events: u64,
    /// The run stopped before it had replayed to the committed position, so it committed
    /// nothing.
    pub replay_interrupted: bool,
    /// The OpenLineage events this process sent (it hosts worker 0 and has a target).
    pub lineage: Option<super::LineageStats>,
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
        let logins =
            if self.user_events > 0 { format!(", {} user events", self.user_events) } else { String::new() };
        let processes = match (self.processes, self.process) {
            (0 | 1, _) => String::new(),
            (n, 0) => format!(" in {n} processes"),
            (n, p) => format!(" of process {p} (of {n}; process 0 prints the whole run's counts and tables)"),
        };
        writeln!(
            f,
            "events in      {} ({} transactions{logins}, {} dead-lettered) in {:.2} s = {:.0} events/s on {} worker(s){processes}",
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
        if let Some(epoch) = self.resumed_after {
            writeln!(
                f,
                "resumed        after committed epoch {epoch}: {} records replayed to rebuild the state ({} read \
                 again but skipped, no longer held); the counts below are what this run added",
                self.replayed_events, self.skipped_events
            )?;
        }
        if self.replay_interrupted {
            writeln!(
                f,
                "stopped        before the replay reached the committed position: nothing was committed"
            )?;
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
            let risk: Vec<String> = table
                .risk
                .iter()
                .filter(|(_, n)| **n != 0)
                .map(|(category, n)| format!("{category} {n}"))
                .collect();
            writeln!(
                f,
                "fraud risk     {} (consolidated rows)",
                if risk.is_empty() { "none".to_owned() } else { risk.join(", ") }
            )?;
            let counts = |map: &mut dyn Iterator<Item = (String, i64)>| {
                let items: Vec<String> =
                    map.filter(|(_, n)| *n != 0).map(|(k, n)| format!("{k} {n}")).collect();
                if items.is_empty() { "none".to_owned() } else { items.join(", ") }
            };
            let mut levels =
                table.sensitivity.iter().map(|(k, n)| (k.trim_start_matches("SENSITIVITY_").to_owned(), *n));
            writeln!(f, "sensitivity    {} (consolidated rows)", counts(&mut levels))?;
            let mut pii = table.pii.iter().map(|(k, n)| (k.clone(), *n));
            writeln!(f, "personal data  {} (type:action, in consolidated rows)", counts(&mut pii))?;
            writeln!(
                f,
                "quarantine     {} rows in {}; {} rows dropped by expectations",
                table.quarantine.rows, table.quarantine.table, table.dropped
            )?;
            writeln!(f, "windows        {} rows in {}", table.windows.rows, table.windows.table)?;
            if !table.alerts.table.is_empty() {
                let mut kinds = table.alerts_by_kind.iter().map(|(k, n)| ((*k).to_owned(), *n));
                writeln!(
                    f,
                    "alerts         {} anomaly alerts in {} ({})",
                    table.alerts.rows,
                    table.alerts.table,
                    counts(&mut kinds)
                )?;
            }
            if let Some(topic) = &table.output_topic {
                writeln!(
                    f,
                    "output topic   {} change records published to {topic} (read_committed)",
                    table.published
                )?;
            }
            if table.dead_letters_published > 0 {
                writeln!(
                    f,
                    "dead letters   {} published, one Kafka transaction per epoch (read_committed: each once)",
                    table.dead_letters_published
                )?;
            }
            if let Some(horizon) = &self.horizon {
                let reasons: Vec<String> =
                    table.late_by_reason.iter().map(|(reason, n)| format!("{reason}: {n}")).collect();
                writeln!(
                    f,
                    "late events    {} rows beyond the {horizon} horizon in {} ({})",
                    table.late.rows,
                    table.late.table,
                    if reasons.is_empty() { "none".to_owned() } else { reasons.join(", ") }
                )?;
            }
            writeln!(f, "expectations (verdicts passing / failing)")?;
            for (name, outcome) in &table.expectations {
                writeln!(f, "  {name:<28} {} / {}", outcome.passed, outcome.failed)?;
            }
        }
        if let Some(lineage) = &self.lineage {
            writeln!(
                f,
                "lineage        {} OpenLineage events to {} (run {}){}",
                lineage.sent,
                lineage.target,
                lineage.run_id,
                if lineage.failed > 0 {
                    format!(", {} not delivered (see the log)", lineage.failed)
                } else {
                    String::new()
                }
            )?;
        }
        if let Some(state) = &self.state {
            let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
            write!(
                f,
                "state          {} rows held at the end, {} at most; peak RSS {:.0} MiB ({:.0} MiB at start)",
                state.retained_rows,
                state.peak_retained_rows,
                mib(state.peak_rss_bytes),
                mib(state.baseline_rss_bytes)
            )?;
            match state.bytes_per_retained_row {
                Some(bytes) => writeln!(f, " = {bytes} bytes per row held")?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}
