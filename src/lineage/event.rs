//! The OpenLineage `RunEvent` (spec 2-0-2) and its run, job and datasets, as serde structs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::LineageError;
use super::facets::{
    ColumnLineageDatasetFacet, DatasetVersionDatasetFacet, DatasourceDatasetFacet, ErrorMessageRunFacet,
    JobTypeJobFacet, OutputStatisticsOutputDatasetFacet, ProcessingEngineRunFacet, SchemaDatasetFacet,
    TrustflowChangesOutputDatasetFacet, TrustflowEpochRunFacet,
};

/// The `schemaURL` of a run event: the spec's `RunEvent` definition, version 2-0-2.
pub const RUN_EVENT_SCHEMA_URL: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/// The run state transition an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    /// The run started.
    Start,
    /// The run is going on: trustflow sends one per committed epoch.
    Running,
    /// The run ended normally (terminal).
    Complete,
    /// The run was stopped abnormally (terminal).
    Abort,
    /// The run failed (terminal).
    Fail,
    /// Metadata outside the run cycle.
    Other,
}

/// One OpenLineage run event: a state transition of a run of a job, with its datasets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEvent {
    /// The transition.
    #[serde(rename = "eventType")]
    pub event_type: EventType,
    /// When it happened: RFC 3339 with milliseconds, in UTC (`...Z`).
    #[serde(rename = "eventTime")]
    pub event_time: String,
    /// The run.
    pub run: Run,
    /// The job the run is an execution of.
    pub job: Job,
    /// The datasets read.
    pub inputs: Vec<InputDataset>,
    /// The datasets written.
    pub outputs: Vec<OutputDataset>,
    /// URI of the software that produced the event.
    pub producer: String,
    /// [`RUN_EVENT_SCHEMA_URL`].
    #[serde(rename = "schemaURL")]
    pub schema_url: String,
}

impl RunEvent {
    /// The event as one line of JSON (no newline).
    pub fn to_json_line(&self) -> Result<String, LineageError> {
        Ok(serde_json::to_string(self)?)
    }
}

/// A run: one execution of a job, identified by a UUID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The run's id, the same in every event of the run.
    #[serde(rename = "runId")]
    pub run_id: Uuid,
    /// Facets of the run.
    #[serde(default, skip_serializing_if = "RunFacets::is_empty")]
    pub facets: RunFacets,
}

/// The run facets trustflow emits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFacets {
    /// The engine and its version (START).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_engine: Option<ProcessingEngineRunFacet>,
    /// Why the run failed (FAIL).
    #[serde(rename = "errorMessage", default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<ErrorMessageRunFacet>,
    /// The committed epoch and its source offsets (RUNNING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustflow_epoch: Option<TrustflowEpochRunFacet>,
}

impl RunFacets {
    fn is_empty(&self) -> bool {
        self == &RunFacets::default()
    }
}

/// A job: what runs, named by a namespace and a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job's namespace.
    pub namespace: String,
    /// The job's name, unique in its namespace.
    pub name: String,
    /// Facets of the job.
    #[serde(default, skip_serializing_if = "JobFacets::is_empty")]
    pub facets: JobFacets,
}

/// The job facets trustflow emits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFacets {
    /// Streaming or batch.
    #[serde(rename = "jobType", default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<JobTypeJobFacet>,
}

impl JobFacets {
    fn is_empty(&self) -> bool {
        self == &JobFacets::default()
    }
}

/// A dataset read by the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDataset {
    /// The store.
    pub namespace: String,
    /// The dataset in it.
    pub name: String,
    /// Facets of the dataset.
    #[serde(default, skip_serializing_if = "DatasetFacets::is_empty")]
    pub facets: DatasetFacets,
}

/// A dataset written by the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDataset {
    /// The store.
    pub namespace: String,
    /// The dataset in it.
    pub name: String,
    /// Facets of the dataset.
    #[serde(default, skip_serializing_if = "DatasetFacets::is_empty")]
    pub facets: DatasetFacets,
    /// Facets of this run's writing to it.
    #[serde(rename = "outputFacets", default, skip_serializing_if = "OutputDatasetFacets::is_empty")]
    pub output_facets: OutputDatasetFacets,
}

/// The dataset facets trustflow emits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetFacets {
    /// The fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaDatasetFacet>,
    /// The store.
    #[serde(rename = "dataSource", default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<DatasourceDatasetFacet>,
    /// Which input fields each column derives from (outputs).
    #[serde(rename = "columnLineage", default, skip_serializing_if = "Option::is_none")]
    pub column_lineage: Option<ColumnLineageDatasetFacet>,
    /// The version a commit created (outputs of epoch events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<DatasetVersionDatasetFacet>,
}

impl DatasetFacets {
    fn is_empty(&self) -> bool {
        self == &DatasetFacets::default()
    }
}

/// The output dataset facets trustflow emits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDatasetFacets {
    /// Change rows the epoch's commit wrote.
    #[serde(rename = "outputStatistics", default, skip_serializing_if = "Option::is_none")]
    pub output_statistics: Option<OutputStatisticsOutputDatasetFacet>,
    /// Inserted and retracted rows of the epoch's commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trustflow_changes: Option<TrustflowChangesOutputDatasetFacet>,
}

impl OutputDatasetFacets {
    fn is_empty(&self) -> bool {
        self == &OutputDatasetFacets::default()
    }
}
