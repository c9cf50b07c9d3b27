//! Building trustflow's run events: START, one RUNNING per committed epoch, COMPLETE or FAIL.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::columns::{FieldUse, TableKind, transaction_fields};
use super::error::LineageError;
use super::event::{
    DatasetFacets, EventType, InputDataset, Job, JobFacets, OutputDataset, OutputDatasetFacets,
    RUN_EVENT_SCHEMA_URL, Run, RunEvent, RunFacets,
};
use super::facets::{
    CHANGES_FACET_URL, COLUMN_LINEAGE_FACET_URL, ColumnInputs, ColumnLineageDatasetFacet,
    DATA_SOURCE_FACET_URL, DatasetVersionDatasetFacet, DatasourceDatasetFacet, EPOCH_FACET_URL,
    ERROR_MESSAGE_FACET_URL, ErrorMessageRunFacet, FacetBase, InputField, JOB_TYPE_FACET_URL,
    JobTypeJobFacet, OUTPUT_STATISTICS_FACET_URL, OutputStatisticsOutputDatasetFacet,
    PROCESSING_ENGINE_FACET_URL, PartitionOffset, ProcessingEngineRunFacet, SCHEMA_FACET_URL,
    SchemaDatasetFacet, SchemaField, Transformation, TrustflowChangesOutputDatasetFacet,
    TrustflowEpochRunFacet, VERSION_FACET_URL,
};
use super::naming::DatasetId;
use crate::location::{Location, StorageOptions};

/// The default `producer` of trustflow's events and facets: this release. (`.invalid` because
/// trustflow has no public home yet; see [`super::facets::TRUSTFLOW_FACETS`].)
pub const PRODUCER: &str = concat!("https://trustflow.invalid/trustflow/", env!("CARGO_PKG_VERSION"));

/// Whether a run ends by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Processing {
    /// An unbounded run (`trustflow run`): `jobType.processingType = STREAMING`.
    Streaming,
    /// A bounded run (to the end of the partitions, or `batch`): `BATCH`.
    Batch,
}

/// The job every event of a run names, and who produces the events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInfo {
    /// The job namespace (`trustflow` unless configured).
    pub namespace: String,
    /// The job name: the run's app id, so that the runs of one pipeline, restarts included,
    /// are runs of one job.
    pub name: String,
    /// Streaming or batch.
    pub processing: Processing,
    /// The `producer` URI of events and facets ([`PRODUCER`] by default).
    pub producer: String,
}

impl JobInfo {
    /// The job `name` (the app id) in `namespace`, produced by this release of trustflow.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, processing: Processing) -> JobInfo {
        JobInfo { namespace: namespace.into(), name: name.into(), processing, producer: PRODUCER.to_owned() }
    }

    fn base(&self, schema_url: &str) -> FacetBase {
        FacetBase::new(&self.producer, schema_url)
    }
}

/// A Kafka topic the run reads, and how far it has read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputTopic {
    /// Namespace `kafka://host:port`, name the topic.
    pub dataset: DatasetId,
    /// The topic's fields with their Avro types.
    pub fields: Vec<SchemaField>,
    /// Per partition, the offset after the last record read (the position an epoch commits).
    pub offsets: BTreeMap<i32, i64>,
}

impl InputTopic {
    /// The `FinancialTransaction` topic `topic` on the bootstrap servers `bootstrap`, nothing
    /// read yet.
    pub fn transactions(bootstrap: &str, topic: &str) -> Result<InputTopic, LineageError> {
        Ok(InputTopic {
            dataset: DatasetId::kafka(bootstrap, topic)?,
            fields: transaction_fields()?,
            offsets: BTreeMap::new(),
        })
    }

    /// The `UserEvent` topic `topic` (logins the fraud features join) on `bootstrap`, nothing
    /// read yet.
    pub fn user_events(bootstrap: &str, topic: &str) -> Result<InputTopic, LineageError> {
        Ok(InputTopic {
            dataset: DatasetId::kafka(bootstrap, topic)?,
            fields: super::columns::user_event_fields()?,
            offsets: BTreeMap::new(),
        })
    }

    /// This topic read up to `offsets` (partition -> next offset).
    pub fn at(&self, offsets: &BTreeMap<i32, i64>) -> InputTopic {
        InputTopic { offsets: offsets.clone(), ..self.clone() }
    }
}

/// What one epoch's commit wrote to one table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableCommit {
    /// The Delta version the commit created.
    pub version: i64,
    /// Rows written as inserts.
    pub inserted: u64,
    /// Rows written as retractions (deletes).
    pub retracted: u64,
}

impl TableCommit {
    /// The commit of `changes` (differential diffs: `d > 0` writes `d` inserts, `d < 0`
    /// writes `|d|` deletes) as table version `version`.
    pub fn of<R>(version: i64, changes: &[(R, isize)]) -> TableCommit {
        let count = |positive: bool| {
            changes
                .iter()
                .filter(|(_, d)| (*d > 0) == positive && *d != 0)
                .map(|(_, d)| d.unsigned_abs() as u64)
                .sum()
        };
        TableCommit { version, inserted: count(true), retracted: count(false) }
    }
}

/// A table the run writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputTable {
    /// Which table (its columns and column lineage follow).
    pub kind: TableKind,
    /// Its name by the naming conventions.
    pub dataset: DatasetId,
    /// The commit an epoch event reports; `None` in START, COMPLETE and FAIL events.
    pub commit: Option<TableCommit>,
}

impl OutputTable {
    /// The table of `kind` at `location`; for an `az://` location the storage account comes from
    /// `storage`.
    pub fn new(
        kind: TableKind,
        location: &Location,
        storage: &StorageOptions,
    ) -> Result<OutputTable, LineageError> {
        Ok(OutputTable { kind, dataset: DatasetId::table(location, storage)?, commit: None })
    }

    /// This table with the commit `commit` of an epoch.
    pub fn committed(&self, commit: TableCommit) -> OutputTable {
        OutputTable { commit: Some(commit), ..self.clone() }
    }
}

impl RunEvent {
    /// START: the run began reading `inputs` into `outputs` at `at`.
    pub fn start(
        job: &JobInfo,
        run_id: Uuid,
        inputs: &[InputTopic],
        outputs: &[OutputTable],
        at: DateTime<Utc>,
    ) -> Result<RunEvent, LineageError> {
        let mut event = event(EventType::Start, job, run_id, inputs, outputs, at)?;
        event.run.facets.processing_engine = Some(ProcessingEngineRunFacet {
            base: job.base(PROCESSING_ENGINE_FACET_URL),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            name: "trustflow".to_owned(),
        });
        Ok(event)
    }

    /// RUNNING: epoch `epoch` was committed. `inputs` carry the source position the commit
    /// recorded ([`InputTopic::at`]); `outputs` are the tables the epoch committed, each with its
    /// [`TableCommit`] (new Delta version, inserted and retracted rows).
    pub fn epoch_committed(
        job: &JobInfo,
        run_id: Uuid,
        epoch: u64,
        inputs: &[InputTopic],
        outputs: &[OutputTable],
        at: DateTime<Utc>,
    ) -> Result<RunEvent, LineageError> {
        let mut event = event(EventType::Running, job, run_id, inputs, outputs, at)?;
        let offsets = inputs
            .iter()
            .flat_map(|input| {
                input.offsets.iter().map(|(partition, next)| PartitionOffset {
                    topic: input.dataset.name.clone(),
                    partition: *partition,
                    next_offset: *next,
                })
            })
            .collect();
        event.run.facets.trustflow_epoch =
            Some(TrustflowEpochRunFacet { base: job.base(EPOCH_FACET_URL), epoch, offsets });
        for (dataset, table) in event.outputs.iter_mut().zip(outputs) {
            let Some(commit) = table.commit else { continue };
            dataset.output_facets.trustflow_changes = Some(TrustflowChangesOutputDatasetFacet {
                base: job.base(CHANGES_FACET_URL),
                epoch,
                inserted: commit.inserted,
                retracted: commit.retracted,
            });
        }
        Ok(event)
    }

    /// COMPLETE: the run ended normally (a bounded run read its partitions to the end, or the
    /// process was asked to stop).
    pub fn complete(
        job: &JobInfo,
        run_id: Uuid,
        inputs: &[InputTopic],
        outputs: &[OutputTable],
        at: DateTime<Utc>,
    ) -> Result<RunEvent, LineageError> {
        event(EventType::Complete, job, run_id, inputs, outputs, at)
    }

    /// This event without the facets that stay the same during a run (the datasets' `schema`,
    /// `dataSource` and `columnLineage`, the job's `jobType`): an epoch event of 3 KB instead
    /// of 48 KB with three tables. Consumers that accumulate a run's events (the spec's
    /// default) still have them from START; send full events to consumers that read each
    /// event on its own.
    pub fn without_static_facets(mut self) -> RunEvent {
        self.job.facets = JobFacets::default();
        for facets in self
            .inputs
            .iter_mut()
            .map(|i| &mut i.facets)
            .chain(self.outputs.iter_mut().map(|o| &mut o.facets))
        {
            facets.schema = None;
            facets.data_source = None;
            facets.column_lineage = None;
        }
        self
    }

    /// FAIL: the run stopped on `error`; its chain of causes goes in the stack trace.
    pub fn fail(
        job: &JobInfo,
        run_id: Uuid,
        error: &(dyn std::error::Error + 'static),
        inputs: &[InputTopic],
        outputs: &[OutputTable],
        at: DateTime<Utc>,
    ) -> Result<RunEvent, LineageError> {
        let mut event = event(EventType::Fail, job, run_id, inputs, outputs, at)?;
        let causes: Vec<String> = std::iter::successors(error.source(), |e| e.source())
            .map(|e| format!("caused by: {e}"))
            .collect();
        event.run.facets.error_message = Some(ErrorMessageRunFacet {
            base: job.base(ERROR_MESSAGE_FACET_URL),
            message: error.to_string(),
            programming_language: "RUST".to_owned(),
            stack_trace: (!causes.is_empty()).then(|| causes.join("\n")),
        });
        Ok(event)
    }
}

/// `at` as the spec's `eventTime`: RFC 3339, milliseconds, `Z`.
pub fn event_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The parts every event has: run, job, datasets with schema, data source and column lineage,
/// and for committed outputs their version and row counts.
fn event(
    event_type: EventType,
    job: &JobInfo,
    run_id: Uuid,
    inputs: &[InputTopic],
    outputs: &[OutputTable],
    at: DateTime<Utc>,
) -> Result<RunEvent, LineageError> {
    let processing_type = match job.processing {
        Processing::Streaming => "STREAMING",
        Processing::Batch => "BATCH",
    };
    let job_facets = JobFacets {
        job_type: Some(JobTypeJobFacet {
            base: job.base(JOB_TYPE_FACET_URL),
            processing_type: processing_type.to_owned(),
            integration: "TRUSTFLOW".to_owned(),
            job_type: "JOB".to_owned(),
        }),
    };
    let input_datasets = inputs
        .iter()
        .map(|input| InputDataset {
            namespace: input.dataset.namespace.clone(),
            name: input.dataset.name.clone(),
            facets: DatasetFacets {
                schema: Some(SchemaDatasetFacet {
                    base: job.base(SCHEMA_FACET_URL),
                    fields: input.fields.clone(),
                }),
                data_source: Some(data_source(job, &input.dataset)),
                ..DatasetFacets::default()
            },
        })
        .collect();
    let output_datasets = outputs.iter().map(|table| output(job, table, inputs)).collect::<Result<_, _>>()?;
    Ok(RunEvent {
        event_type,
        event_time: event_time(at),
        run: Run { run_id, facets: RunFacets::default() },
        job: Job { namespace: job.namespace.clone(), name: job.name.clone(), facets: job_facets },
        inputs: input_datasets,
        outputs: output_datasets,
        producer: job.producer.clone(),
        schema_url: RUN_EVENT_SCHEMA_URL.to_owned(),
    })
}

fn data_source(job: &JobInfo, dataset: &DatasetId) -> DatasourceDatasetFacet {
    DatasourceDatasetFacet {
        base: job.base(DATA_SOURCE_FACET_URL),
        name: dataset.namespace.clone(),
        uri: dataset.source_uri(),
    }
}

fn output(job: &JobInfo, table: &OutputTable, inputs: &[InputTopic]) -> Result<OutputDataset, LineageError> {
    let lineage = table.kind.lineage();
    // Each use of a field, for every input topic (trustflow reads one).
    let fields_of = |uses: &[FieldUse]| -> Vec<InputField> {
        inputs
            .iter()
            .flat_map(|input| {
                let mut by_field: BTreeMap<&str, Vec<Transformation>> = BTreeMap::new();
                for u in uses {
                    by_field.entry(u.field).or_default().push(Transformation {
                        kind: u.how.kind(),
                        subtype: u.how,
                        description: u.description.to_owned(),
                        masking: u.masking,
                    });
                }
                by_field.into_iter().map(|(field, transformations)| InputField {
                    namespace: input.dataset.namespace.clone(),
                    name: input.dataset.name.clone(),
                    field: field.to_owned(),
                    transformations,
                })
            })
            .collect()
    };
    let column_lineage = ColumnLineageDatasetFacet {
        base: job.base(COLUMN_LINEAGE_FACET_URL),
        fields: lineage
            .columns
            .iter()
            .map(|(column, uses)| ((*column).to_owned(), ColumnInputs { input_fields: fields_of(uses) }))
            .collect(),
        dataset: fields_of(&lineage.dataset),
    };
    let facets = DatasetFacets {
        schema: Some(SchemaDatasetFacet { base: job.base(SCHEMA_FACET_URL), fields: table.kind.columns()? }),
        data_source: Some(data_source(job, &table.dataset)),
        column_lineage: (!inputs.is_empty()).then_some(column_lineage),
        version: table.commit.map(|c| DatasetVersionDatasetFacet {
            base: job.base(VERSION_FACET_URL),
            dataset_version: c.version.to_string(),
        }),
    };
    let output_facets = OutputDatasetFacets {
        output_statistics: table.commit.map(|c| OutputStatisticsOutputDatasetFacet {
            base: job.base(OUTPUT_STATISTICS_FACET_URL),
            row_count: c.inserted + c.retracted,
        }),
        trustflow_changes: None,
    };
    Ok(OutputDataset {
        namespace: table.dataset.namespace.clone(),
        name: table.dataset.name.clone(),
        facets,
        output_facets,
    })
}
