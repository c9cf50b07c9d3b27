//! The run's OpenLineage events: START once the committer's tables are open, RUNNING per committed epoch, COMPLETE or FAIL when the run ends.
//!
//! The committer (worker 0) sends START and the epoch events; [`super::run`] sends the last
//! event once every worker has stopped, so that an error on any worker of the process makes it
//! FAIL. A process without worker 0 sends nothing. An event that cannot be delivered is logged
//! and counted, and the run goes on: the tables are the data, lineage a report about them
//! (`docs/lineage.md`).

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::PipelineConfig;
use super::commit::TablePaths;
use super::resume::Position;
use crate::lineage::{
    InputTopic, JobInfo, LineageEmitter, LineageError, OutputTable, Processing, RunEvent, TableCommit,
    TableKind, Uuid,
};

/// The job namespace of trustflow's runs.
pub const JOB_NAMESPACE: &str = "trustflow";

/// What a run's lineage reporting did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LineageStats {
    /// Where the events went (a file or an endpoint, no credentials).
    pub target: String,
    /// The run id every event carried.
    pub run_id: String,
    /// Events delivered.
    pub sent: u64,
    /// Events that could not be built or delivered (each logged).
    pub failed: u64,
}

/// A run's reporter: its job, run id, datasets and the emitter.
pub struct LineageReport {
    emitter: Arc<LineageEmitter>,
    job: JobInfo,
    run_id: Uuid,
    input: InputTopic,
    /// The user-events topic, when the run reads one.
    user_events: Option<InputTopic>,
    /// Every table the run writes, in the order events list them.
    tables: Vec<(TableKind, OutputTable)>,
    /// The source position of the last epoch reported (COMPLETE and FAIL carry it).
    position: Position,
    /// What was sent so far.
    pub stats: LineageStats,
}

/// The slot the committer fills with its reporter, and [`super::run`] empties at the end.
pub type SharedReport = Arc<Mutex<Option<LineageReport>>>;

/// What one epoch committed to one table: which table, its new version, and the changes.
pub struct Committed {
    /// The table.
    pub kind: TableKind,
    /// The version and row counts of its commit.
    pub commit: TableCommit,
}

impl LineageReport {
    /// The reporter of `config`'s run writing `tables` (the late-events table only `with_late`),
    /// starting from `position` (a resumed run's committed position). Errors only where a
    /// dataset cannot be named, which the plan has ruled out for valid configurations.
    pub fn new(
        emitter: Arc<LineageEmitter>,
        config: &PipelineConfig,
        tables: &TablePaths,
        with_late: bool,
        position: Position,
    ) -> Result<LineageReport, LineageError> {
        let processing = if config.bounded { Processing::Batch } else { Processing::Streaming };
        let job = JobInfo::new(JOB_NAMESPACE, config.app_id.clone(), processing);
        let input = InputTopic::transactions(&config.kafka.brokers, &config.topic)?;
        let user_events = match &config.user_events_topic {
            Some(topic) => Some(InputTopic::user_events(&config.kafka.brokers, topic)?),
            None => None,
        };
        let mut kinds = vec![
            (TableKind::Quality, &tables.quality),
            (TableKind::Quarantine, &tables.quarantine),
            (TableKind::Windows, &tables.windows),
        ];
        if with_late {
            kinds.push((TableKind::Late, &tables.late));
        }
        if config.anomaly.is_some() {
            kinds.push((TableKind::Alerts, &tables.alerts));
        }
        let tables = kinds
            .into_iter()
            .map(|(kind, location)| Ok((kind, OutputTable::new(kind, location, &config.storage)?)))
            .collect::<Result<Vec<_>, LineageError>>()?;
        let run_id = Uuid::new_v4();
        let stats = LineageStats {
            target: emitter.describe(),
            run_id: run_id.to_string(),
            ..LineageStats::default()
        };
        Ok(LineageReport { emitter, job, run_id, input, user_events, tables, position, stats })
    }

    /// The input datasets read up to `position`.
    fn inputs(&self, position: &Position) -> Vec<InputTopic> {
        let user_events = self.user_events.iter().map(|topic| topic.at(&position.user_events));
        std::iter::once(self.input.at(&position.offsets)).chain(user_events).collect()
    }

    fn outputs(&self) -> Vec<OutputTable> {
        self.tables.iter().map(|(_, table)| table.clone()).collect()
    }

    /// START: the tables are open.
    pub fn start(&mut self) {
        let inputs = self.inputs(&self.position);
        let event = RunEvent::start(&self.job, self.run_id, &inputs, &self.outputs(), chrono::Utc::now());
        self.send("START", event);
    }

    /// RUNNING: `epoch` was committed with the source position `position`, writing
    /// `committed`.
    pub fn epoch(&mut self, epoch: u64, position: &Position, committed: &[Committed]) {
        self.position = position.clone();
        let outputs: Vec<OutputTable> = committed
            .iter()
            .filter_map(|c| {
                let (_, table) = self.tables.iter().find(|(kind, _)| *kind == c.kind)?;
                Some(table.committed(c.commit))
            })
            .collect();
        let inputs = self.inputs(position);
        let event =
            RunEvent::epoch_committed(&self.job, self.run_id, epoch, &inputs, &outputs, chrono::Utc::now());
        self.send("RUNNING", event);
    }

    /// COMPLETE (`error` is `None`) or FAIL: the run ended.
    pub fn finish(&mut self, error: Option<&(dyn std::error::Error + 'static)>) {
        let (inputs, outputs, at) = (self.inputs(&self.position), self.outputs(), chrono::Utc::now());
        match error {
            None => {
                let event = RunEvent::complete(&self.job, self.run_id, &inputs, &outputs, at);
                self.send("COMPLETE", event);
            }
            Some(error) => {
                let event = RunEvent::fail(&self.job, self.run_id, error, &inputs, &outputs, at);
                self.send("FAIL", event);
            }
        }
    }

    fn send(&mut self, kind: &str, event: Result<RunEvent, LineageError>) {
        match event.and_then(|event| self.emitter.emit(&event)) {
            Ok(()) => self.stats.sent += 1,
            Err(error) => {
                self.stats.failed += 1;
                tracing::warn!(
                    event = kind,
                    target = %self.stats.target,
                    error = %error,
                    "could not deliver an OpenLineage event (the tables are unaffected; the next epoch's \
                     event carries the position again)"
                );
            }
        }
    }
}
