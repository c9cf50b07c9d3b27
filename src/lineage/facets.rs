//! The OpenLineage facets trustflow emits, as serde structs, with their pinned schema URLs.
//!
//! Standard facets follow the spec's facet schemas at the versions `openlineage-python` 1.54
//! generates (`scripts/lineage/validate.py` checks them against that package); the two custom
//! facets (`trustflow_epoch`, `trustflow_changes`) are defined by the JSON Schemas under
//! `schemas/openlineage/`, whose `$id`s are the URLs below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `_schemaURL` of `SchemaDatasetFacet` 1-2-0.
pub const SCHEMA_FACET_URL: &str =
    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
/// The `_schemaURL` of `ColumnLineageDatasetFacet` 1-2-0.
pub const COLUMN_LINEAGE_FACET_URL: &str = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet";
/// The `_schemaURL` of `DatasetVersionDatasetFacet` 1-0-1.
pub const VERSION_FACET_URL: &str = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";
/// The `_schemaURL` of `DatasourceDatasetFacet` 1-0-1.
pub const DATA_SOURCE_FACET_URL: &str =
    "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet";
/// The `_schemaURL` of `OutputStatisticsOutputDatasetFacet` 1-0-2.
pub const OUTPUT_STATISTICS_FACET_URL: &str = "https://openlineage.io/spec/facets/1-0-2/\
     OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet";
/// The `_schemaURL` of `JobTypeJobFacet` 2-0-4.
pub const JOB_TYPE_FACET_URL: &str =
    "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";
/// The `_schemaURL` of `ProcessingEngineRunFacet` 1-1-1.
pub const PROCESSING_ENGINE_FACET_URL: &str =
    "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet";
/// The `_schemaURL` of `ErrorMessageRunFacet` 1-0-1.
pub const ERROR_MESSAGE_FACET_URL: &str =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";

/// Where trustflow's own facet schemas are identified. trustflow has no public home yet, so the
/// host is in `.invalid` (RFC 2606): an identifier that resolves nowhere. The documents are
/// `schemas/openlineage/*.json`.
pub const TRUSTFLOW_FACETS: &str = "https://trustflow.invalid/spec/facets";
/// The `_schemaURL` of `TrustflowEpochRunFacet` 1-0-0 (`schemas/openlineage/TrustflowEpochRunFacet.json`).
pub const EPOCH_FACET_URL: &str =
    "https://trustflow.invalid/spec/facets/1-0-0/TrustflowEpochRunFacet.json#/$defs/TrustflowEpochRunFacet";
/// The `_schemaURL` of `TrustflowChangesOutputDatasetFacet` 1-0-0
/// (`schemas/openlineage/TrustflowChangesOutputDatasetFacet.json`).
pub const CHANGES_FACET_URL: &str = "https://trustflow.invalid/spec/facets/1-0-0/\
     TrustflowChangesOutputDatasetFacet.json#/$defs/TrustflowChangesOutputDatasetFacet";

/// The two fields every facet carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetBase {
    /// URI of the software that produced the facet.
    #[serde(rename = "_producer")]
    pub producer: String,
    /// URL of the facet's JSON Schema, with a JSON pointer to its definition.
    #[serde(rename = "_schemaURL")]
    pub schema_url: String,
}

impl FacetBase {
    /// A facet of `producer` conforming to the schema at `schema_url`.
    pub fn new(producer: &str, schema_url: &str) -> FacetBase {
        FacetBase { producer: producer.to_owned(), schema_url: schema_url.to_owned() }
    }
}

/// `schema`: a dataset's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The fields, in dataset order.
    pub fields: Vec<SchemaField>,
}

/// One field of a [`SchemaDatasetFacet`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaField {
    /// The field's name.
    pub name: String,
    /// Its type in the store's own words (Delta types for tables, Avro types for topics).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// `columnLineage`: for each output column, the input fields it derives from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLineageDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// Output column name to its inputs.
    pub fields: BTreeMap<String, ColumnInputs>,
    /// Input fields that affect the whole dataset (which rows it holds), not one column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset: Vec<InputField>,
}

/// The inputs of one output column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInputs {
    /// The input fields.
    #[serde(rename = "inputFields")]
    pub input_fields: Vec<InputField>,
}

/// One input field an output column (or dataset) depends on, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputField {
    /// The input dataset's namespace.
    pub namespace: String,
    /// The input dataset's name.
    pub name: String,
    /// The input field.
    pub field: String,
    /// How the output depends on it.
    pub transformations: Vec<Transformation>,
}

/// How an output depends on an input field (the spec's transformation type and subtype).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transformation {
    /// `DIRECT` (the value derives from the input) or `INDIRECT` (the input only affects it).
    #[serde(rename = "type")]
    pub kind: TransformationType,
    /// The spec's subtype.
    pub subtype: TransformationSubtype,
    /// What trustflow does, in a few words.
    pub description: String,
    /// Whether the input's value cannot be recovered from the output (a count, a flag).
    pub masking: bool,
}

/// The spec's transformation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformationType {
    /// The output value is derived from the input value.
    Direct,
    /// The input affects the output without its value being derived from it.
    Indirect,
}

/// The spec's transformation subtypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransformationSubtype {
    /// Taken as is (direct).
    Identity,
    /// Computed from the input row's value (direct).
    Transformation,
    /// Computed from several rows' values (direct).
    Aggregation,
    /// Rows are grouped by the input (indirect).
    GroupBy,
    /// Rows are filtered by the input (indirect).
    Filter,
    /// Rows are ordered by the input (indirect).
    Sort,
    /// Rows are windowed by the input (indirect).
    Window,
}

impl TransformationSubtype {
    /// The type a subtype belongs to.
    pub fn kind(self) -> TransformationType {
        match self {
            Self::Identity | Self::Transformation | Self::Aggregation => TransformationType::Direct,
            Self::GroupBy | Self::Filter | Self::Sort | Self::Window => TransformationType::Indirect,
        }
    }
}

/// `version`: the dataset's version, here the Delta table version a commit created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetVersionDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The version, as a string.
    #[serde(rename = "datasetVersion")]
    pub dataset_version: String,
}

/// `dataSource`: the store a dataset lives in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasourceDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The store's name (the dataset namespace).
    pub name: String,
    /// The store's URI.
    pub uri: String,
}

/// `outputStatistics`: what one commit wrote to an output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputStatisticsOutputDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// Change rows written (inserts plus retractions).
    #[serde(rename = "rowCount")]
    pub row_count: u64,
}

/// `jobType`: what kind of job trustflow's run is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTypeJobFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// `STREAMING` for an unbounded run, `BATCH` for a bounded one.
    #[serde(rename = "processingType")]
    pub processing_type: String,
    /// `TRUSTFLOW`.
    pub integration: String,
    /// `JOB`.
    #[serde(rename = "jobType")]
    pub job_type: String,
}

/// `processing_engine`: the engine and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessingEngineRunFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// trustflow's version.
    pub version: String,
    /// `trustflow`.
    pub name: String,
}

/// `errorMessage`: why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessageRunFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The error.
    pub message: String,
    /// `RUST`.
    #[serde(rename = "programmingLanguage")]
    pub programming_language: String,
    /// The error's chain of causes, one per line, when it has any.
    #[serde(rename = "stackTrace", default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
}

/// `trustflow_epoch` (custom): the epoch an event reports and the source position it commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustflowEpochRunFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The epoch (the Delta `txn` version of the run's app id).
    pub epoch: u64,
    /// Per input topic and partition, the offset after the last record read up to this epoch.
    pub offsets: Vec<PartitionOffset>,
}

/// A source position: the next offset to read in one partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionOffset {
    /// The topic (an input dataset's name).
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset after the last record read.
    #[serde(rename = "nextOffset")]
    pub next_offset: i64,
}

/// `trustflow_changes` (custom output facet): the rows one epoch's commit wrote to a changelog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustflowChangesOutputDatasetFacet {
    /// `_producer`, `_schemaURL`.
    #[serde(flatten)]
    pub base: FacetBase,
    /// The epoch.
    pub epoch: u64,
    /// Rows written with `_change_type = insert`.
    pub inserted: u64,
    /// Rows written with `_change_type = delete` (retractions).
    pub retracted: u64,
}

/// The spec's URL of facet `name` at `version`, with its definition (for tests).
#[cfg(test)]
pub(crate) fn spec_facet_url(version: &str, name: &str) -> String {
    format!("https://openlineage.io/spec/facets/{version}/{name}.json#/$defs/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_urls_are_the_spec_layout() {
        for (url, version, name) in [
            (SCHEMA_FACET_URL, "1-2-0", "SchemaDatasetFacet"),
            (COLUMN_LINEAGE_FACET_URL, "1-2-0", "ColumnLineageDatasetFacet"),
            (VERSION_FACET_URL, "1-0-1", "DatasetVersionDatasetFacet"),
            (DATA_SOURCE_FACET_URL, "1-0-1", "DatasourceDatasetFacet"),
            (OUTPUT_STATISTICS_FACET_URL, "1-0-2", "OutputStatisticsOutputDatasetFacet"),
            (JOB_TYPE_FACET_URL, "2-0-4", "JobTypeJobFacet"),
            (PROCESSING_ENGINE_FACET_URL, "1-1-1", "ProcessingEngineRunFacet"),
            (ERROR_MESSAGE_FACET_URL, "1-0-1", "ErrorMessageRunFacet"),
        ] {
            assert_eq!(url, spec_facet_url(version, name));
        }
    }

    /// The custom facets' URLs are the `$id`s of the schema files, plus the definition.
    #[test]
    fn custom_facet_urls_match_their_schema_files() {
        for (url, text) in [
            (EPOCH_FACET_URL, include_str!("../../schemas/openlineage/TrustflowEpochRunFacet.json")),
            (
                CHANGES_FACET_URL,
                include_str!("../../schemas/openlineage/TrustflowChangesOutputDatasetFacet.json"),
            ),
        ] {
            let schema: serde_json::Value = serde_json::from_str(text).unwrap();
            let (id, pointer) = url.split_once('#').unwrap();
            assert!(id.starts_with(TRUSTFLOW_FACETS), "{id}");
            assert_eq!(schema["$id"], id);
            assert!(schema.pointer(pointer).is_some(), "{pointer}");
        }
    }

    #[test]
    fn facets_serialize_with_underscore_fields() {
        let facet = DatasetVersionDatasetFacet {
            base: FacetBase::new("urn:p", VERSION_FACET_URL),
            dataset_version: "7".into(),
        };
        let json = serde_json::to_value(&facet).unwrap();
        assert_eq!(json["_producer"], "urn:p");
        assert_eq!(json["_schemaURL"], VERSION_FACET_URL);
        assert_eq!(json["datasetVersion"], "7");
        let back: DatasetVersionDatasetFacet = serde_json::from_value(json).unwrap();
        assert_eq!(back, facet);
        let t = Transformation {
            kind: TransformationSubtype::GroupBy.kind(),
            subtype: TransformationSubtype::GroupBy,
            description: String::new(),
            masking: false,
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!((json["type"].as_str(), json["subtype"].as_str()), (Some("INDIRECT"), Some("GROUP_BY")));
    }
}
