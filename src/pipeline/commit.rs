//! The commit side of a run: buffers each epoch's outputs and commits finished epochs to Delta.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use differential_dataflow::consolidation::consolidate;
use tokio::runtime::Runtime;

use super::PipelineConfig;
use super::error::PipelineError;
use super::held::{HeldPositions, MAX_LISTED};
use super::lineage_report::{Committed, LineageReport, SharedReport};
use super::memory::{Retained, StateStats};
use super::resume::{Position, Resume, RunIdentity, commit_info};
use super::sources::Feed;
use super::summary::{SideTableStats, TableStats};
use super::worker::REPLAY_INTERRUPTED;
use crate::dataflow::anomaly::Alert;
use crate::dataflow::horizon::{LateEvent, Mark};
use crate::dataflow::quality::QualityRow;
use crate::dataflow::windows::WindowMetrics;
use crate::lineage::{TableCommit, TableKind};
use crate::location::{Location, StorageOptions};
use crate::sink::maintain;
use crate::sink::{
    AlertChanges, ChangeTable, DeltaSink, KafkaOutput, LateChanges, QualityChanges, QuarantineChanges,
    WindowChanges,
};
use crate::source::DeadLetter;

/// Changes of one output that reached the committing worker, by epoch, and how far the graph
/// has progressed on that output.
pub struct Pending<R> {
    /// Changes per epoch, not yet committed.
    pub by_epoch: BTreeMap<u64, Vec<(R, isize)>>,
    /// The output's frontier: epochs before every element are complete.
    pub frontier: Vec<u64>,
    /// Changes at earlier epochs are dropped on arrival (a resumed run's replayed state).
    pub keep_from: u64,
}

impl<R> Default for Pending<R> {
    fn default() -> Self {
        Pending { by_epoch: BTreeMap::new(), frontier: vec![0], keep_from: 0 }
    }
}

impl<R: Ord> Pending<R> {
    /// Whether every change of `epoch` has arrived.
    fn complete(&self, epoch: u64) -> bool {
        self.frontier.iter().all(|f| *f > epoch)
    }

    /// The consolidated changes of `epoch`, removed from the buffer.
    fn take(&mut self, epoch: u64) -> Vec<(R, isize)> {
        let mut changes = self.by_epoch.remove(&epoch).unwrap_or_default();
        consolidate(&mut changes);
        changes
    }
}

/// Every output of the graph, buffered on the committing worker.
#[derive(Default)]
pub struct Outputs {
    /// Verdicts for the main table.
    pub quality: Pending<QualityRow>,
    /// Verdicts for the quarantine table, with the expectations they failed.
    pub quarantine: Pending<(QualityRow, Vec<String>)>,
    /// Verdicts kept out by a `drop` expectation (counted only).
    pub dropped: Pending<QualityRow>,
    /// Verdicts failing a `fail` expectation, with its name.
    pub fatal: Pending<(QualityRow, String)>,
    /// Dashboard window metrics.
    pub windows: Pending<WindowMetrics>,
    /// Per expectation and outcome (passed?), the number of verdicts.
    pub outcomes: Pending<((String, bool), isize)>,
    /// Rows the horizon kept out of the graph.
    pub late: Pending<LateEvent>,
    /// The anomaly monitor's alerts.
    pub alerts: Pending<Alert>,
    /// Per topic and partition, the offset after the last record read, at the epoch that
    /// read it.
    pub positions: Pending<(Feed, i32, i64)>,
    /// The event-time marks the workers sent, at their epoch (runs with a horizon).
    pub marks: Pending<Mark>,
    /// Records that could not be decoded, for the dead-letter topic.
    pub dead_letters: Pending<DeadLetter>,
    /// The source positions of the rows the horizon graph holds, from the first epoch on
    /// (replayed ones included: each commit records what the state holds).
    pub held: Pending<(i32, i64)>,
}

impl Outputs {
    /// Buffers that drop every change before `epoch`.
    pub fn discarding_before(epoch: u64) -> Outputs {
        let mut outputs = Outputs::default();
        outputs.quality.keep_from = epoch;
        outputs.quarantine.keep_from = epoch;
        outputs.dropped.keep_from = epoch;
        outputs.fatal.keep_from = epoch;
        outputs.windows.keep_from = epoch;
        outputs.outcomes.keep_from = epoch;
        outputs.late.keep_from = epoch;
        outputs.alerts.keep_from = epoch;
        outputs.positions.keep_from = epoch;
        outputs.marks.keep_from = epoch;
        outputs.dead_letters.keep_from = epoch;
        // `held` keeps every epoch's changes: they are folded, never written.
        outputs
    }

    /// The oldest epoch with buffered changes, if every output has passed it.
    fn next_complete(&self) -> Option<u64> {
        let epoch = [
            self.quality.by_epoch.first_key_value().map(|(e, _)| *e),
            self.quarantine.by_epoch.first_key_value().map(|(e, _)| *e),
            self.dropped.by_epoch.first_key_value().map(|(e, _)| *e),
            self.fatal.by_epoch.first_key_value().map(|(e, _)| *e),
            self.windows.by_epoch.first_key_value().map(|(e, _)| *e),
            self.outcomes.by_epoch.first_key_value().map(|(e, _)| *e),
            self.late.by_epoch.first_key_value().map(|(e, _)| *e),
            self.alerts.by_epoch.first_key_value().map(|(e, _)| *e),
            self.positions.by_epoch.first_key_value().map(|(e, _)| *e),
            self.marks.by_epoch.first_key_value().map(|(e, _)| *e),
            self.dead_letters.by_epoch.first_key_value().map(|(e, _)| *e),
        ]
        .into_iter()
        .flatten()
        .min()?;
        let complete = self.quality.complete(epoch)
            && self.quarantine.complete(epoch)
            && self.dropped.complete(epoch)
            && self.fatal.complete(epoch)
            && self.windows.complete(epoch)
            && self.outcomes.complete(epoch)
            && self.late.complete(epoch)
            && self.alerts.complete(epoch)
            && self.positions.complete(epoch)
            && self.marks.complete(epoch)
            && self.dead_letters.complete(epoch)
            && self.held.complete(epoch);
        complete.then_some(epoch)
    }

    /// Whether any output may still receive changes.
    pub fn in_progress(&self, before: u64) -> bool {
        [
            &self.quality.frontier,
            &self.quarantine.frontier,
            &self.dropped.frontier,
            &self.fatal.frontier,
            &self.windows.frontier,
            &self.outcomes.frontier,
            &self.late.frontier,
            &self.alerts.frontier,
            &self.positions.frontier,
            &self.marks.frontier,
            &self.dead_letters.frontier,
            &self.held.frontier,
        ]
        .iter()
        .any(|frontier| frontier.iter().any(|f| *f < before))
    }
}

/// The tables a run writes, under its output root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePaths {
    /// The quality verdicts (the main table).
    pub quality: Location,
    /// Quarantined verdicts.
    pub quarantine: Location,
    /// Dashboard window metrics.
    pub windows: Location,
    /// Rows set aside by the event-time horizon.
    pub late: Location,
    /// The anomaly monitor's alerts.
    pub alerts: Location,
    /// The consolidated current state of the quality table, rewritten by maintenance.
    pub current: Location,
}

impl TablePaths {
    /// The tables under `root` (a local directory or an Azure Blob URL).
    pub fn under(root: &Location) -> TablePaths {
        TablePaths {
            quality: root.join("quality"),
            quarantine: root.join("quarantine"),
            windows: root.join("quality_windows"),
            late: root.join("late_events"),
            alerts: root.join("alerts"),
            current: root.join("quality_current"),
        }
    }

    /// Every table a run may write.
    pub fn all(&self) -> [&Location; 5] {
        [&self.quality, &self.quarantine, &self.windows, &self.late, &self.alerts]
    }
}

/// Logs a committed alert change: a new alert at `warn` with its evidence, a withdrawn one
/// (a late row changed its window or baseline) at `info`.
fn log_alert(epoch: u64, alert: &Alert, diff: isize) {
    let field = alert.field.map(|f| f.name());
    let (start, kind) = (alert.window_start_ms, alert.kind.name());
    if diff > 0 {
        // One line per alert; its evidence (the baseline's counts) is in the alerts table.
        tracing::warn!(epoch, "anomaly: {alert}");
        tracing::debug!(epoch, evidence = %alert.evidence, "anomaly evidence: {alert}");
    } else {
        tracing::info!(epoch, source = %alert.source, window_start = start, kind, field, "anomaly alert withdrawn");
    }
}

/// How often a long run reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Commits complete epochs, one Delta transaction per table and epoch, and keeps the run's
/// table statistics.
pub struct Committer {
    runtime: Runtime,
    quality: DeltaSink<QualityChanges>,
    quarantine: DeltaSink<QuarantineChanges>,
    windows: DeltaSink<WindowChanges>,
    /// The late-events table, for runs with a horizon.
    late: Option<DeltaSink<LateChanges>>,
    /// The alerts table, for runs with the anomaly monitor.
    alerts: Option<DeltaSink<AlertChanges>>,
    /// The output topic, if the run publishes one.
    kafka: Option<KafkaOutput>,
    /// The dead-letter topic's transactional producer: each epoch's rejected records in one
    /// Kafka transaction, after the epoch's commits.
    dead_letters: KafkaOutput,
    /// The run's settings (topic, now, model, PII policy, horizon), recorded with each commit.
    run: RunIdentity,
    /// The source position of the main table's last commit.
    position: Position,
    /// The positions of the rows the horizon graph holds, as of the epochs folded so far.
    held: HeldPositions,
    /// A worker stopped before its replay ended: nothing more may be committed.
    halted: bool,
    /// Table upkeep: how often, when last, and where.
    maintenance: Option<(Duration, Instant)>,
    tables: TablePaths,
    storage: StorageOptions,
    /// What has been committed so far.
    pub stats: TableStats,
    /// The graph's state, sampled at each commit.
    pub state: StateStats,
    retained: Retained,
    last_progress: Instant,
    /// Where each committed epoch is reported as an OpenLineage event, if anywhere.
    lineage: Option<SharedReport>,
}

fn open<T: ChangeTable>(
    runtime: &Runtime,
    table: &Location,
    config: &PipelineConfig,
) -> Result<DeltaSink<T>, PipelineError> {
    let (url, app_id, storage, key) =
        (table.table_uri(), &config.app_id, &config.storage, config.encryption.as_ref());
    Ok(runtime.block_on(DeltaSink::<T>::open_with_key(&url, app_id, storage, key))?)
}

/// Who publishes to the dead-letter topic (its transactional id and progress key): the app id
/// and the main table. The dead-letter topic is usually shared (a default name), so runs of
/// one app id into different outputs must neither fence each other nor read each other's
/// progress.
fn dead_letter_identity(app_id: &str, tables: &TablePaths) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(tables.quality.to_string().as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{app_id}-{short}")
}

/// Whether `sink` has not committed `epoch` yet (a resumed run redoes the last committed
/// epoch of the main table for the sinks that missed it).
fn missing<T: ChangeTable>(sink: &DeltaSink<T>, epoch: u64) -> bool {
    sink.last_committed_epoch().is_none_or(|last| last < epoch)
}

impl Committer {
    /// Opens (or creates) the tables for `config`'s app id and object store settings. A
    /// fresh run finds no epoch of the app in the main table; a resumed run (`resume`) finds
    /// exactly the epoch it resumes from, and no other table ahead of it. The late-events
    /// table is opened only when `with_late` (the run has a horizon). `retained` counts the
    /// rows in the graph's state; the committer samples it, with the process's memory, after
    /// every commit.
    pub fn open(
        tables: &TablePaths,
        config: &PipelineConfig,
        partitions: usize,
        with_late: bool,
        retained: Retained,
        resume: Option<&Resume>,
    ) -> Result<Committer, PipelineError> {
        let (app_id, storage) = (config.app_id.as_str(), &config.storage);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PipelineError::Runtime)?;
        let quality = open::<QualityChanges>(&runtime, &tables.quality, config)?;
        let quarantine = open::<QuarantineChanges>(&runtime, &tables.quarantine, config)?;
        let windows = open::<WindowChanges>(&runtime, &tables.windows, config)?;
        let late = if with_late { Some(open::<LateChanges>(&runtime, &tables.late, config)?) } else { None };
        let alerts = match config.anomaly {
            Some(_) => Some(open::<AlertChanges>(&runtime, &tables.alerts, config)?),
            None => None,
        };
        let kafka = match &config.output_topic {
            Some(topic) => {
                let partitions = i32::try_from(partitions).unwrap_or(i32::MAX).max(1);
                Some(KafkaOutput::open(&config.kafka, topic, partitions, app_id)?)
            }
            None => None,
        };
        let dead_letters = KafkaOutput::open(
            &config.kafka,
            &config.dead_letter_topic,
            1,
            &dead_letter_identity(app_id, tables),
        )?;
        let resumed = resume.map(|r| r.last.epoch);
        let others = [
            dead_letters.last_published_epoch(),
            quarantine.last_committed_epoch(),
            windows.last_committed_epoch(),
            late.as_ref().and_then(DeltaSink::last_committed_epoch),
            alerts.as_ref().and_then(DeltaSink::last_committed_epoch),
            kafka.as_ref().and_then(KafkaOutput::last_published_epoch),
        ];
        if quality.last_committed_epoch() != resumed || others.iter().any(|e| *e > resumed) {
            return Err(PipelineError::ConcurrentRun {
                table: quality.table_url().to_string(),
                app_id: app_id.to_owned(),
                expected: resumed,
                found: others.into_iter().chain([quality.last_committed_epoch()]).max().flatten(),
            });
        }
        let stats = TableStats {
            table: quality.table_url().to_string(),
            version: quality.version(),
            output_topic: config.output_topic.clone(),
            quarantine: SideTableStats { table: quarantine.table_url().to_string(), ..Default::default() },
            windows: SideTableStats { table: windows.table_url().to_string(), ..Default::default() },
            late: SideTableStats {
                table: late.as_ref().map(|l| l.table_url().to_string()).unwrap_or_default(),
                ..Default::default()
            },
            alerts: SideTableStats {
                table: alerts.as_ref().map(|a| a.table_url().to_string()).unwrap_or_default(),
                ..Default::default()
            },
            ..TableStats::default()
        };
        Ok(Committer {
            runtime,
            quality,
            quarantine,
            windows,
            late,
            alerts,
            kafka,
            dead_letters,
            run: RunIdentity {
                topic: config.topic.clone(),
                user_events_topic: config.user_events_topic.clone(),
                now_ms: config.now_ms,
                model: config.scorer.as_ref().map(|s| s.id()),
                pii_policy: Some(config.governor.id().to_owned()),
                horizon_ms: config.horizon.map(|h| h.width_ms),
            },
            position: resume.map(|r| r.last.clone()).unwrap_or_default(),
            held: HeldPositions::default(),
            halted: false,
            maintenance: config.maintain_every.map(|every| (every, Instant::now())),
            tables: tables.clone(),
            storage: storage.clone(),
            stats,
            state: StateStats::starting_now(),
            retained,
            last_progress: Instant::now(),
            lineage: None,
        })
    }

    /// Reports this run's commits to `config.lineage`, if it names a target: sends START now,
    /// and leaves the reporter in `slot` for the run to send COMPLETE or FAIL at its end.
    pub fn report_lineage(
        &mut self,
        config: &PipelineConfig,
        tables: &TablePaths,
        with_late: bool,
        slot: &SharedReport,
    ) -> Result<(), PipelineError> {
        let Some(emitter) = &config.lineage else { return Ok(()) };
        let mut report =
            LineageReport::new(emitter.clone(), config, tables, with_late, self.position.clone())?;
        report.start();
        tracing::info!(target = %report.stats.target, run_id = %report.stats.run_id, "sending OpenLineage events");
        *slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(report);
        self.lineage = Some(slot.clone());
        Ok(())
    }

    /// Commits every epoch that all outputs have passed, oldest first. Each epoch that read
    /// records, moved an event-time mark or changed any table is one commit of the main table, carrying the source
    /// offsets, followed by one commit of each side table it changed: the main table is the
    /// run's position. An epoch with a row failing a `fail` expectation is not committed at
    /// all: the run stops with the expectation and the record.
    pub fn commit_ready(&mut self, outputs: &RefCell<Outputs>) -> Result<(), PipelineError> {
        loop {
            let mut outputs = outputs.borrow_mut();
            let Some(epoch) = outputs.next_complete() else { return Ok(()) };
            let positions = outputs.positions.take(epoch);
            // The held positions as of the end of `epoch` (epochs with no other output, such
            // as the replayed ones or those that only retired rows, fold in here too).
            let later = outputs.held.by_epoch.split_off(&epoch.saturating_add(1));
            for (_, changes) in std::mem::replace(&mut outputs.held.by_epoch, later) {
                self.held.apply(changes);
            }
            let marks: Vec<Mark> =
                outputs.marks.take(epoch).into_iter().filter(|(_, d)| *d > 0).map(|(m, _)| m).collect();
            self.halted |= positions.iter().any(|(position, d)| *position == REPLAY_INTERRUPTED && *d > 0);
            if let Some(((row, expectation), _)) = outputs.fatal.take(epoch).into_iter().find(|(_, d)| *d > 0)
                && !self.halted
            {
                return Err(PipelineError::ExpectationFailed { expectation, record: Box::new(row.record) });
            }
            let quality = outputs.quality.take(epoch);
            let quarantine = outputs.quarantine.take(epoch);
            let dropped = outputs.dropped.take(epoch);
            let windows = outputs.windows.take(epoch);
            let outcomes = outputs.outcomes.take(epoch);
            let late = outputs.late.take(epoch);
            let alerts = outputs.alerts.take(epoch);
            let dead_letters = outputs.dead_letters.take(epoch);
            drop(outputs);
            if self.halted {
                continue;
            }
            let mut current = Position { epoch, ..self.position.clone() };
            for ((feed, partition, next), diff) in positions {
                if diff > 0 {
                    let entry = current.offsets_mut(feed).entry(partition).or_default();
                    *entry = (*entry).max(next);
                }
            }
            let side_changes =
                !quarantine.is_empty() || !windows.is_empty() || !late.is_empty() || !alerts.is_empty();
            let mut committed = Vec::new();
            if missing(&self.quality, epoch)
                && (!quality.is_empty()
                    || side_changes
                    || current.offsets != self.position.offsets
                    || current.user_events != self.position.user_events
                    || !marks.is_empty())
            {
                // With a horizon every epoch that moved a mark is committed with its marks: a
                // restart replays each committed epoch as it was (`resume`).
                let previous = Some(&self.position).filter(|p| p.epoch > 0);
                let info = commit_info(&self.run, &current, previous, &marks, &self.held.summary(MAX_LISTED));
                let outcome =
                    self.runtime.block_on(self.quality.commit_epoch_with_info(epoch, &quality, info))?;
                self.stats.record(outcome.version, outcome.rows, &quality);
                committed.push(Committed {
                    kind: TableKind::Quality,
                    commit: TableCommit::of(outcome.version, &quality),
                });
                self.position = current;
            }
            for (((name, passed), verdicts), diff) in outcomes {
                let entry = self.stats.expectations.entry(name).or_default();
                let slot = if passed { &mut entry.passed } else { &mut entry.failed };
                *slot += verdicts as i64 * diff as i64;
            }
            if !quarantine.is_empty() && missing(&self.quarantine, epoch) {
                let outcome = self.runtime.block_on(self.quarantine.commit_epoch(epoch, &quarantine))?;
                self.stats.quarantine.record(outcome.version, outcome.rows, &quarantine);
                let commit = TableCommit::of(outcome.version, &quarantine);
                committed.push(Committed { kind: TableKind::Quarantine, commit });
            }
            if !windows.is_empty() && missing(&self.windows, epoch) {
                let outcome = self.runtime.block_on(self.windows.commit_epoch(epoch, &windows))?;
                self.stats.windows.record(outcome.version, outcome.rows, &windows);
                committed.push(Committed {
                    kind: TableKind::Windows,
                    commit: TableCommit::of(outcome.version, &windows),
                });
            }
            if let Some(sink) = self.late.as_mut().filter(|s| !late.is_empty() && missing(s, epoch)) {
                let outcome = self.runtime.block_on(sink.commit_epoch(epoch, &late))?;
                self.stats.late.record(outcome.version, outcome.rows, &late);
                committed.push(Committed {
                    kind: TableKind::Late,
                    commit: TableCommit::of(outcome.version, &late),
                });
                for (event, diff) in &late {
                    *self.stats.late_by_reason.entry(event.reason.as_str()).or_default() += *diff as i64;
                }
            }
            if let Some(sink) = self.alerts.as_mut().filter(|s| !alerts.is_empty() && missing(s, epoch)) {
                let outcome = self.runtime.block_on(sink.commit_epoch(epoch, &alerts))?;
                self.stats.alerts.record(outcome.version, outcome.rows, &alerts);
                for (alert, diff) in &alerts {
                    *self.stats.alerts_by_kind.entry(alert.kind.name()).or_default() += *diff as i64;
                    log_alert(epoch, alert, *diff);
                }
                committed.push(Committed {
                    kind: TableKind::Alerts,
                    commit: TableCommit::of(outcome.version, &alerts),
                });
            }
            if let Some(kafka) = self
                .kafka
                .as_mut()
                .filter(|k| !quality.is_empty() && k.last_published_epoch().is_none_or(|last| last < epoch))
            {
                let outcome = kafka.publish_epoch(epoch, &quality)?;
                self.stats.published += outcome.records;
            }
            // Last: a restart computes the last committed epoch again and publishes its dead
            // letters if this transaction did not commit.
            if !dead_letters.is_empty()
                && self.dead_letters.last_published_epoch().is_none_or(|last| last < epoch)
            {
                let outcome = self.dead_letters.publish_dead_letters(epoch, &dead_letters)?;
                self.stats.dead_letters_published += outcome.records;
            }
            self.stats.dropped += dropped.iter().map(|(_, d)| *d as i64).sum::<i64>();
            if let Some(slot) = self.lineage.as_ref().filter(|_| !committed.is_empty()) {
                let mut report = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(report) = report.as_mut() {
                    report.epoch(epoch, &self.position, &committed);
                }
            }
            self.state.sample(self.retained.get());
            self.maintain(false)?;
            tracing::debug!(epoch, rows = quality.len(), "committed epoch");
            if self.last_progress.elapsed() >= PROGRESS_EVERY {
                self.last_progress = Instant::now();
                tracing::info!(
                    epoch,
                    rows = self.stats.rows,
                    change_rows = self.stats.change_rows,
                    state_rows = self.state.retained_rows,
                    "progress"
                );
            }
        }
    }

    /// At the end of a run with `--maintain-every`: the snapshot then reflects every epoch.
    pub fn maintain_at_end(&mut self) -> Result<(), PipelineError> {
        if self.halted { Ok(()) } else { self.maintain(true) }
    }

    /// Compacts the quality table and rewrites its snapshot when `--maintain-every` says so
    /// (or `now`). The sink's next commit lands after the compaction (appends do not conflict
    /// with it).
    fn maintain(&mut self, now: bool) -> Result<(), PipelineError> {
        let Some((every, last)) = self.maintenance.as_mut() else { return Ok(()) };
        if !now && last.elapsed() < *every {
            return Ok(());
        }
        *last = Instant::now();
        let (quality, current) = (self.tables.quality.table_uri(), self.tables.current.table_uri());
        let compacted = self.runtime.block_on(maintain::compact(&quality, &self.storage, None))?;
        let snapshot = self.runtime.block_on(maintain::snapshot(&quality, &current, &self.storage))?;
        self.stats.maintenance_runs += 1;
        tracing::info!(
            files_removed = compacted.files_removed,
            files_added = compacted.files_added,
            snapshot_rows = snapshot.rows,
            snapshot_of = snapshot.source_version,
            took = ?last.elapsed(),
            "maintained the quality table"
        );
        Ok(())
    }

    /// Whether a worker stopped before the state was rebuilt, so that nothing after the
    /// resumed epoch was committed.
    pub fn halted(&self) -> bool {
        self.halted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_go_under_the_root_whatever_its_slashes() {
        for root in ["az://trustflow/runs/a", "az://trustflow/runs/a/", "az://trustflow//runs/a//"] {
            let tables = TablePaths::under(&Location::parse(root).unwrap());
            let names = tables.all().map(|t| t.to_string());
            assert_eq!(
                names,
                [
                    "az://trustflow/runs/a/quality",
                    "az://trustflow/runs/a/quarantine",
                    "az://trustflow/runs/a/quality_windows",
                    "az://trustflow/runs/a/late_events",
                    "az://trustflow/runs/a/alerts"
                ],
                "{root}"
            );
        }
        let local = TablePaths::under(&Location::parse("out/").unwrap());
        assert_eq!(local.quality.table_uri(), "out/quality");
    }
}
