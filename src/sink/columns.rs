//! The changelog table's columns: its Delta schema and the Arrow schema derived from it.

use std::sync::Arc;

use deltalake::arrow::datatypes::{Schema, SchemaRef};
use deltalake::kernel::engine::arrow_conversion::TryIntoArrow;
use deltalake::kernel::{ArrayType, DataType, MapType, StructField, StructType};

use super::error::SinkError;
use crate::dataflow::quality::QualityRow;
use crate::dataflow::quality::row::AVG_SCALE;
use crate::record::AMOUNT_SCALE;

/// Precision of `amount` (Avro and Spark `decimal(18,2)`).
pub const AMOUNT_PRECISION: u8 = 18;
/// Precision of `avg_transaction_amount` (Spark's `avg` over decimal(18,2) is decimal(22,6)).
pub const AVG_PRECISION: u8 = 22;
/// Name of the change column: `insert` or `delete`.
pub const CHANGE_TYPE: &str = "_change_type";
/// Name of the epoch column: the epoch whose commit wrote the row.
pub const EPOCH: &str = "_epoch";

/// The reference design's quality output columns (`docs/quality-semantics.md`).
pub const QUALITY_COLUMNS: usize = 19;

/// The data columns: the reference design's quality output, the fraud verdict
/// (`fraud_score`, `risk_category`, `model_version`), governance's (`classification`,
/// `pii_fields`), then the lineage (`source_topic`, `source_partition`, `source_offset`,
/// `schema_id`, `lineage`); the change columns come after them.
pub const OUTPUT_COLUMNS: usize = 29;

/// Column names, in table order.
pub const COLUMN_NAMES: [&str; 31] = [
    "transactionId",
    "userId",
    "amount",
    "currency",
    "timestamp",
    "metadata",
    "transactionId_completeness",
    "userId_completeness",
    "amount_completeness",
    "currency_completeness",
    "timestamp_completeness",
    "amount_validity",
    "currency_validity",
    "timestamp_validity",
    "avg_transaction_amount",
    "consistency_check",
    "uniqueness",
    "checks_passed",
    "quality_score",
    "fraud_score",
    "risk_category",
    "model_version",
    "classification",
    "pii_fields",
    "source_topic",
    "source_partition",
    "source_offset",
    "schema_id",
    "lineage",
    CHANGE_TYPE,
    EPOCH,
];

/// Whether a changelog row adds a verdict or retracts one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeType {
    /// The row enters the consolidated output (diff +1).
    Insert,
    /// The row leaves the consolidated output (diff -1): a retraction.
    Delete,
}

impl ChangeType {
    /// The value of the `_change_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Insert => "insert",
            ChangeType::Delete => "delete",
        }
    }

    /// The differential diff of one row of this type.
    pub fn diff(self) -> isize {
        match self {
            ChangeType::Insert => 1,
            ChangeType::Delete => -1,
        }
    }
}

/// One quality check as a string column: its column index, its two spellings, and the flag.
pub(crate) struct Check {
    /// Index in [`COLUMN_NAMES`].
    pub(crate) column: usize,
    /// Value when the check passes.
    pub(crate) pass: &'static str,
    /// Value when the check fails.
    pub(crate) fail: &'static str,
    /// The flag in a [`QualityRow`].
    pub(crate) get: fn(&QualityRow) -> bool,
    /// Sets the flag in a [`QualityRow`] (reading back).
    pub(crate) set: fn(&mut QualityRow, bool),
}

const COMPLETE: (&str, &str) = ("COMPLETE", "INCOMPLETE");
const VALID: (&str, &str) = ("VALID", "INVALID");

macro_rules! check {
    ($column:expr, $words:expr, $flag:ident) => {
        Check { column: $column, pass: $words.0, fail: $words.1, get: |r| r.$flag, set: |r, v| r.$flag = v }
    };
}

/// The ten checks, in column order.
pub(crate) const CHECKS: [Check; 10] = [
    check!(6, COMPLETE, transaction_id_complete),
    check!(7, COMPLETE, user_id_complete),
    check!(8, COMPLETE, amount_complete),
    check!(9, COMPLETE, currency_complete),
    check!(10, COMPLETE, timestamp_complete),
    check!(11, VALID, amount_valid),
    check!(12, VALID, currency_valid),
    check!(13, VALID, timestamp_valid),
    check!(15, ("CONSISTENT", "INCONSISTENT"), consistent),
    check!(16, ("UNIQUE", "DUPLICATE"), unique),
];

/// The table's Delta schema, as kernel [`StructField`]s in [`COLUMN_NAMES`] order; every
/// data column is nullable (the record's fields are options), the change columns are not.
pub fn delta_fields() -> Result<Vec<StructField>, SinkError> {
    let decimal = |p, s: u32| {
        let scale = u8::try_from(s).map_err(|_| SinkError::internal("decimal scale over 255"))?;
        DataType::decimal(p, scale).map_err(|e| SinkError::internal(e.to_string()))
    };
    let tags: DataType = ArrayType::new(DataType::STRING, false).into();
    let types: [DataType; 31] = [
        DataType::STRING,
        DataType::STRING,
        decimal(AMOUNT_PRECISION, AMOUNT_SCALE)?,
        DataType::STRING,
        DataType::LONG,
        MapType::new(DataType::STRING, DataType::STRING, true).into(),
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        DataType::STRING,
        decimal(AVG_PRECISION, AVG_SCALE)?,
        DataType::STRING,
        DataType::STRING,
        DataType::INTEGER,
        DataType::DOUBLE,
        DataType::DOUBLE,
        DataType::STRING,
        DataType::INTEGER,
        tags.clone(),
        tags,
        DataType::STRING,
        DataType::INTEGER,
        DataType::LONG,
        DataType::INTEGER,
        DataType::STRING,
        DataType::STRING,
        DataType::LONG,
    ];
    Ok(COLUMN_NAMES
        .iter()
        .zip(types)
        .map(|(name, ty)| {
            let field = StructField::new(*name, ty, !name.starts_with('_'));
            match governance_metadata(name) {
                [] => field,
                tags => field.with_metadata(tags.iter().map(|(k, v)| (*k, *v))),
            }
        })
        .collect())
}

/// Key of the column metadata naming a column's classification.
pub const CLASSIFICATION_KEY: &str = "trustflow.classification";
/// Key of the column metadata saying how personal data in a column is handled.
pub const PII_KEY: &str = "trustflow.pii";

/// The Delta column metadata of governance: what a column holds (`FINANCIAL`, `PII`,
/// compliance tags) and whether personal data in it is scanned and protected. Per row, the
/// `classification` and `pii_fields` columns say what was found (`docs/governance.md`).
pub fn governance_metadata(column: &str) -> &'static [(&'static str, &'static str)] {
    const SCANNED: &str = "scanned; findings masked, tokenized or kept per governance_policies.pii_handling";
    match column {
        "transactionId" => &[(CLASSIFICATION_KEY, "FINANCIAL,SOX"), (PII_KEY, SCANNED)],
        "userId" => &[(CLASSIFICATION_KEY, "PII,GDPR"), (PII_KEY, SCANNED)],
        "amount" | "avg_transaction_amount" => &[(CLASSIFICATION_KEY, "FINANCIAL,SOX")],
        "currency" => &[(CLASSIFICATION_KEY, "FINANCIAL"), (PII_KEY, SCANNED)],
        "metadata" => &[(CLASSIFICATION_KEY, "PII_CANDIDATE"), (PII_KEY, SCANNED)],
        "classification" => &[
            (CLASSIFICATION_KEY, "GOVERNANCE"),
            ("comment", "the row's tags: PII, FINANCIAL, SENSITIVITY_<level>, GDPR, PCI-DSS, SOX"),
        ],
        "pii_fields" => {
            &[(CLASSIFICATION_KEY, "GOVERNANCE"), ("comment", "each finding as field:type:action, no values")]
        }
        "lineage" => {
            &[(CLASSIFICATION_KEY, "LINEAGE"), ("comment", "the row's trail: source position and stages")]
        }
        _ => &[],
    }
}

/// The Delta schema as a kernel [`StructType`].
pub fn delta_schema() -> Result<StructType, SinkError> {
    StructType::try_new(delta_fields()?).map_err(|e| SinkError::internal(e.to_string()))
}

/// The data columns of [`delta_fields`] alone (the first [`OUTPUT_COLUMNS`], no change
/// columns): the schema of batch mode's output, one row per input row.
pub fn output_fields() -> Result<Vec<StructField>, SinkError> {
    let mut fields = delta_fields()?;
    fields.truncate(OUTPUT_COLUMNS);
    Ok(fields)
}

/// The Arrow schema of [`output_fields`], derived as [`arrow_schema`] is.
pub fn output_arrow_schema() -> Result<SchemaRef, SinkError> {
    to_arrow(output_fields()?)
}

/// The Arrow schema of the batches, derived from [`delta_schema`] by deltalake's own
/// conversion: what `RecordBatchWriter` expects (map entries `key_value{key, value}`, keys
/// non-null, `Decimal128(p, s)`).
pub fn arrow_schema() -> Result<SchemaRef, SinkError> {
    to_arrow(delta_fields()?)
}

/// The Arrow schema of kernel fields, by deltalake's own conversion.
pub fn arrow_schema_of(fields: Vec<StructField>) -> Result<SchemaRef, SinkError> {
    to_arrow(fields)
}

fn to_arrow(fields: Vec<StructField>) -> Result<SchemaRef, SinkError> {
    let kernel = StructType::try_new(fields).map_err(|e| SinkError::internal(e.to_string()))?;
    let schema: Schema = (&kernel)
        .try_into_arrow()
        .map_err(|source| SinkError::Arrow { context: "deriving the Arrow schema", source })?;
    Ok(Arc::new(schema))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltalake::arrow::datatypes::DataType as ArrowType;

    #[test]
    fn names_types_and_nullability() {
        let fields = delta_fields().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, COLUMN_NAMES);
        assert!(fields[..OUTPUT_COLUMNS].iter().all(|f| f.is_nullable()));
        assert!(!fields[OUTPUT_COLUMNS].is_nullable() && !fields[OUTPUT_COLUMNS + 1].is_nullable());
        let arrow = arrow_schema().unwrap();
        assert_eq!(arrow.field(2).data_type(), &ArrowType::Decimal128(18, 2));
        assert_eq!(arrow.field(14).data_type(), &ArrowType::Decimal128(22, 6));
        assert_eq!(arrow.field(17).data_type(), &ArrowType::Int32);
        assert_eq!(arrow.field(19).data_type(), &ArrowType::Float64);
        assert_eq!(arrow.field(21).data_type(), &ArrowType::Int32);
        let ArrowType::Map(entries, false) = arrow.field(5).data_type() else {
            panic!("metadata is not an unsorted map")
        };
        assert_eq!(entries.name(), "key_value");
        let output = output_arrow_schema().unwrap();
        assert_eq!(output.fields()[..], arrow.fields()[..OUTPUT_COLUMNS]);
        assert_eq!(output_fields().unwrap().last().map(|f| f.name().as_str()), Some("lineage"));
        assert_eq!(COLUMN_NAMES[QUALITY_COLUMNS - 1], "quality_score");
        assert!(
            matches!(arrow.field(22).data_type(), ArrowType::List(item) if item.data_type() == &ArrowType::Utf8)
        );
        let metadata = fields[5].metadata();
        assert!(matches!(
            metadata.get(CLASSIFICATION_KEY),
            Some(deltalake::kernel::MetadataValue::String(s)) if s == "PII_CANDIDATE"
        ));
    }
}
