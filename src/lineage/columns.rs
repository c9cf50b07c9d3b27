//! Which input fields each output column derives from: the column lineage of trustflow's tables.
//!
//! The input is a `FinancialTransaction` topic (`schemas/financial_transaction.avsc`); the
//! outputs are the changelog tables (`sink`). The table below is written from the definitions in
//! `docs/quality-semantics.md` (checks, the consistency frame, uniqueness), `docs/fraud-features.md`
//! (the fraud score's features) and the side tables' code; it names the input fields as the
//! Avro schema does (a test checks every name against the schema and every column against the
//! table's definition). The change columns (`_change_type`, `_epoch`) and `model_version` derive
//! from no input field and have no entry.

use std::collections::BTreeSet;

use apache_avro::Schema;

use super::error::LineageError;
use super::facets::{SchemaField, TransformationSubtype};
use crate::sink::{AlertChanges, ChangeTable, LateChanges, QualityChanges, QuarantineChanges, WindowChanges};

use TransformationSubtype::{Aggregation, Filter, GroupBy, Identity, Sort, Transformation, Window};

/// The input fields, as the `FinancialTransaction` Avro schema names them.
const TRANSACTION_ID: &str = "transactionId";
const USER_ID: &str = "userId";
const AMOUNT: &str = "amount";
const CURRENCY: &str = "currency";
const TIMESTAMP: &str = "timestamp";
const METADATA: &str = "metadata";

/// The schema of the transactions topic.
const TRANSACTION_SCHEMA: &str = include_str!("../../schemas/financial_transaction.avsc");
/// The `UserEvent` Avro schema, the user-events topic's fields.
const USER_EVENT_SCHEMA: &str = include_str!("../../schemas/user_event.avsc");

/// One use of one input field by an output column (or by the whole table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldUse {
    /// The input field.
    pub field: &'static str,
    /// How it is used (its type follows from the subtype).
    pub how: TransformationSubtype,
    /// What trustflow does with it, in a few words.
    pub description: &'static str,
    /// Whether the output hides the input's value (a flag, a count, a score).
    pub masking: bool,
}

const fn at(
    field: &'static str,
    how: TransformationSubtype,
    description: &'static str,
    masking: bool,
) -> FieldUse {
    FieldUse { field, how, description, masking }
}

/// The column lineage of one table: per column, the input fields it uses, and the input fields
/// that decide which rows the table holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLineage {
    /// Output column to its uses, in table order.
    pub columns: Vec<(&'static str, Vec<FieldUse>)>,
    /// Uses that affect the whole table (filters, grouping).
    pub dataset: Vec<FieldUse>,
}

/// The changelog tables a run writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableKind {
    /// `quality`: the verdicts (`sink::QualityChanges`).
    Quality,
    /// `quarantine`: verdicts failing a quarantine expectation (`sink::QuarantineChanges`).
    Quarantine,
    /// `quality_windows`: the dashboard's window metrics (`sink::WindowChanges`).
    Windows,
    /// `late_events`: rows outside the event-time horizon (`sink::LateChanges`).
    Late,
    /// `alerts`: the anomaly monitor's alerts (`sink::AlertChanges`).
    Alerts,
}

impl TableKind {
    /// Every kind.
    pub const ALL: [TableKind; 5] =
        [TableKind::Quality, TableKind::Quarantine, TableKind::Windows, TableKind::Late, TableKind::Alerts];

    /// The table's name under the output root.
    pub fn table_name(self) -> &'static str {
        match self {
            TableKind::Quality => "quality",
            TableKind::Quarantine => "quarantine",
            TableKind::Windows => "quality_windows",
            TableKind::Late => "late_events",
            TableKind::Alerts => "alerts",
        }
    }

    /// The table's columns with their Delta types, from the sink's definition of the table.
    pub fn columns(self) -> Result<Vec<SchemaField>, LineageError> {
        let fields = match self {
            TableKind::Quality => QualityChanges::fields(),
            TableKind::Quarantine => QuarantineChanges::fields(),
            TableKind::Windows => WindowChanges::fields(),
            TableKind::Late => LateChanges::fields(),
            TableKind::Alerts => AlertChanges::fields(),
        }
        .map_err(|e| LineageError::Columns { table: self.table_name(), reason: e.to_string() })?;
        Ok(fields
            .iter()
            .map(|f| SchemaField { name: f.name().clone(), data_type: f.data_type().to_string() })
            .collect())
    }

    /// The table's column lineage.
    pub fn lineage(self) -> TableLineage {
        match self {
            TableKind::Quality => TableLineage { columns: quality_columns(), dataset: routed() },
            TableKind::Quarantine => {
                let mut columns = quality_columns();
                columns.push((
                    crate::sink::extra_tables::FAILED_RULES,
                    checks_union("names of the failed quarantine expectations", Transformation, true),
                ));
                TableLineage { columns, dataset: routed() }
            }
            TableKind::Windows => windows(),
            TableKind::Late => late(),
            TableKind::Alerts => alerts(),
        }
    }
}

/// The `FinancialTransaction` fields with their Avro types, from the embedded schema.
pub fn transaction_fields() -> Result<Vec<SchemaField>, LineageError> {
    record_fields(TRANSACTION_SCHEMA, "transactions topic")
}

/// The user-events topic's fields, from the `UserEvent` Avro schema.
pub fn user_event_fields() -> Result<Vec<SchemaField>, LineageError> {
    record_fields(USER_EVENT_SCHEMA, "user-events topic")
}

/// The fields of the Avro record schema `text`, the topic `table`'s.
fn record_fields(text: &str, table: &'static str) -> Result<Vec<SchemaField>, LineageError> {
    let invalid = |reason: String| LineageError::Columns { table, reason };
    let schema = Schema::parse_str(text).map_err(|e| invalid(e.to_string()))?;
    let Schema::Record(record) = schema else {
        return Err(invalid("the schema is not a record".to_owned()));
    };
    Ok(record
        .fields
        .iter()
        .map(|f| SchemaField { name: f.name.clone(), data_type: avro_type(&f.schema) })
        .collect())
}

/// An Avro type in the words of the Avro specification.
fn avro_type(schema: &Schema) -> String {
    match schema {
        Schema::Decimal(d) => format!("decimal({},{})", d.precision, d.scale),
        Schema::TimestampMillis => "timestamp-millis".to_owned(),
        Schema::TimestampMicros => "timestamp-micros".to_owned(),
        Schema::Map(m) => format!("map<{}>", avro_type(&m.types)),
        Schema::Array(a) => format!("array<{}>", avro_type(&a.items)),
        Schema::Union(u) => u.variants().iter().map(avro_type).collect::<Vec<_>>().join("|"),
        other => other.to_string().to_ascii_lowercase(),
    }
}

/// The uses of the six input columns copied as they are.
fn identity_columns() -> Vec<(&'static str, Vec<FieldUse>)> {
    [TRANSACTION_ID, USER_ID, AMOUNT, CURRENCY, TIMESTAMP, METADATA]
        .into_iter()
        .map(|f| (f, vec![at(f, Identity, "copied from the record", false)]))
        .collect()
}

/// The consistency frame: a user's current and 5 preceding rows in event-time order (timestamp,
/// then transactionId, amount, currency, metadata as ties).
fn frame() -> Vec<FieldUse> {
    let tie = "tie order of the user's rows in the frame";
    vec![
        at(USER_ID, GroupBy, "frame of the user's rows", false),
        at(TIMESTAMP, Window, "current and 5 preceding rows in event-time order", false),
        at(TRANSACTION_ID, Sort, tie, false),
        at(AMOUNT, Sort, tie, false),
        at(CURRENCY, Sort, tie, false),
        at(METADATA, Sort, tie, false),
    ]
}

/// The ten checks, in column order.
fn checks() -> Vec<(&'static str, Vec<FieldUse>)> {
    let complete =
        |column, field| (column, vec![at(field, Transformation, "null (or empty string) check", true)]);
    let mut consistency = vec![
        at(AMOUNT, Transformation, "compared with the frame's average", true),
        at(AMOUNT, Aggregation, "average of the frame's amounts", true),
    ];
    consistency.extend(frame());
    vec![
        complete("transactionId_completeness", TRANSACTION_ID),
        complete("userId_completeness", USER_ID),
        complete("amount_completeness", AMOUNT),
        complete("currency_completeness", CURRENCY),
        complete("timestamp_completeness", TIMESTAMP),
        ("amount_validity", vec![at(AMOUNT, Transformation, "amount > 0", true)]),
        ("currency_validity", vec![at(CURRENCY, Transformation, "three letters A-Z", true)]),
        ("timestamp_validity", vec![at(TIMESTAMP, Transformation, "within the day before --now", true)]),
        ("consistency_check", consistency),
        ("uniqueness", vec![at(TRANSACTION_ID, Aggregation, "count of rows with the id", true)]),
    ]
}

/// The uses of every check merged, one per field and kind of use: direct uses take `how` and
/// `description`, indirect ones (the frame) keep theirs.
fn checks_union(description: &'static str, how: TransformationSubtype, masking: bool) -> Vec<FieldUse> {
    let uses = checks().into_iter().flat_map(|(_, uses)| uses).map(|u| {
        if u.how.kind() == super::facets::TransformationType::Direct {
            FieldUse { how, description, masking, ..u }
        } else {
            u
        }
    });
    merged(uses)
}

/// `uses` without repeats of a (field, subtype), first description kept.
fn merged(uses: impl IntoIterator<Item = FieldUse>) -> Vec<FieldUse> {
    let mut seen = BTreeSet::new();
    uses.into_iter().filter(|u| seen.insert((u.field, u.how))).collect()
}

/// The fraud score's inputs (`docs/fraud-features.md`): the row's amount, currency and time,
/// and its user's history before it in event-time order.
fn fraud(how: TransformationSubtype, masking: bool) -> Vec<FieldUse> {
    let tie = "tie order of the user's history";
    let row = "the row's own value";
    let mut uses = vec![
        at(AMOUNT, how, row, masking),
        at(AMOUNT, Aggregation, "window sums, z-score and last-6 ratio of the history's amounts", masking),
        at(CURRENCY, how, row, masking),
        at(CURRENCY, Aggregation, "whether the history has the currency", masking),
        at(TIMESTAMP, how, "hour of day, seconds since the previous row", masking),
    ];
    uses.extend([
        at(USER_ID, GroupBy, "history of the user's earlier rows", false),
        at(TIMESTAMP, Window, "1 minute, 1 hour and 24 hour windows of the history", false),
        at(TRANSACTION_ID, Sort, tie, false),
        at(AMOUNT, Sort, tie, false),
        at(CURRENCY, Sort, tie, false),
        at(METADATA, Sort, tie, false),
    ]);
    merged(uses)
}

/// The quality table's data columns (and the quarantine table's first 22).
fn quality_columns() -> Vec<(&'static str, Vec<FieldUse>)> {
    let mut columns = identity_columns();
    let mut checks = checks();
    let frame_columns = checks.split_off(8);
    columns.extend(checks);
    let mut average = vec![at(AMOUNT, Aggregation, "mean of the frame's non-null amounts", false)];
    average.extend(frame());
    columns.push(("avg_transaction_amount", average));
    columns.extend(frame_columns);
    columns.push(("checks_passed", checks_union("counted when its check passes", Transformation, true)));
    columns.push(("quality_score", checks_union("counted when its check passes", Transformation, true)));
    columns.push(("fraud_score", fraud(Transformation, true)));
    columns.push(("risk_category", fraud(Transformation, true)));
    // Governance reads every string (and the amount, for FINANCIAL and the sensitivity score).
    let scanned = || {
        let mut uses: Vec<FieldUse> = [TRANSACTION_ID, USER_ID, CURRENCY, METADATA]
            .into_iter()
            .map(|field| at(field, Transformation, "scanned for personal data", true))
            .collect();
        uses.push(at(AMOUNT, Transformation, "financial, large amount", true));
        uses
    };
    columns.push(("classification", scanned()));
    columns.push(("pii_fields", scanned()));
    columns
}

/// What keeps rows out of the quality table or sends them to quarantine: the expectations on
/// the checks, and the event-time horizon.
fn routed() -> Vec<FieldUse> {
    let fields: BTreeSet<&'static str> =
        checks().into_iter().flat_map(|(_, uses)| uses).map(|u| u.field).collect();
    let by_checks = "routed by the expectations (drop, quarantine) on the checks";
    let by_both =
        "routed by the expectations on the checks; rows outside the event-time horizon are set aside";
    fields
        .into_iter()
        .map(|f| at(f, Filter, if f == TIMESTAMP { by_both } else { by_checks }, false))
        .collect()
}

fn windows() -> TableLineage {
    let group = at(TIMESTAMP, GroupBy, "5-minute event-time window", false);
    let with_group = |uses: Vec<FieldUse>| merged(uses.into_iter().chain([group.clone()]));
    let bounds = || vec![at(TIMESTAMP, Transformation, "window bound", false)];
    let good = || checks_union("rows with at least 9 checks passing", Aggregation, true);
    let scores = || {
        let mut uses = fraud(Aggregation, true);
        uses.iter_mut().filter(|u| u.how == Aggregation).for_each(|u| u.description = "average fraud score");
        merged(uses)
    };
    let columns = vec![
        ("window_start", with_group(bounds())),
        ("window_end", with_group(bounds())),
        ("total_records", with_group(vec![])),
        ("good_records", with_group(good())),
        ("quality_percentage", with_group(good())),
        ("unique_users", with_group(vec![at(USER_ID, Aggregation, "distinct users", true)])),
        ("total_value", with_group(vec![at(AMOUNT, Aggregation, "sum of the amounts", false)])),
        ("avg_fraud_score", with_group(scores())),
    ];
    TableLineage { columns, dataset: vec![group] }
}

fn late() -> TableLineage {
    let mut columns = identity_columns();
    columns
        .push(("reason", vec![at(TIMESTAMP, Transformation, "before or after the horizon, or none", true)]));
    columns.push((
        "cutoff",
        vec![at(TIMESTAMP, Aggregation, "event time of the partitions read, minus the horizon", false)],
    ));
    TableLineage {
        columns,
        dataset: vec![at(TIMESTAMP, Filter, "only rows outside the event-time horizon", false)],
    }
}

/// The anomaly monitor's alerts: per source and event-time window, statistics of the monitored
/// fields against the windows before (`docs/governance.md`, "Anomaly monitoring").
fn alerts() -> TableLineage {
    let group = at(TIMESTAMP, GroupBy, "event-time window of the monitor", false);
    let with_group = |uses: Vec<FieldUse>| merged(uses.into_iter().chain([group.clone()]));
    let bounds = || vec![at(TIMESTAMP, Transformation, "window bound", false)];
    let statistics = |description: &'static str| {
        let fields = [TRANSACTION_ID, AMOUNT, CURRENCY, METADATA, USER_ID];
        fields.into_iter().map(|field| at(field, Aggregation, description, true)).collect::<Vec<_>>()
    };
    let judged = || with_group(statistics("rows, missing values, amount moments and currency shares"));
    let baseline = || {
        let mut uses = statistics("the same statistics over the baseline windows");
        uses.push(at(TIMESTAMP, Window, "the windows before, of the same source", false));
        with_group(uses)
    };
    let columns = vec![
        ("window_start", with_group(bounds())),
        ("window_end", with_group(bounds())),
        ("kind", judged()),
        ("field", judged()),
        ("observed", judged()),
        ("baseline_mean", baseline()),
        ("baseline_stddev", baseline()),
        ("z_score", merged(judged().into_iter().chain(baseline()))),
        ("threshold", judged()),
        ("baseline_windows", baseline()),
        ("evidence", merged(judged().into_iter().chain(baseline()))),
    ];
    TableLineage { columns, dataset: vec![group, at(TIMESTAMP, Filter, "rows with an event time", false)] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_fields_come_from_the_avro_schema() {
        let fields = transaction_fields().unwrap();
        let pairs: Vec<(&str, &str)> =
            fields.iter().map(|f| (f.name.as_str(), f.data_type.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("transactionId", "string"),
                ("userId", "string"),
                ("amount", "decimal(18,2)"),
                ("currency", "string"),
                ("timestamp", "timestamp-millis"),
                ("metadata", "map<string>"),
            ]
        );
    }

    #[test]
    fn user_event_fields_come_from_the_avro_schema() {
        let fields = user_event_fields().unwrap();
        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["userId", "eventType", "device", "country", "ip", "timestamp"]);
        assert_eq!(fields[5].data_type, "timestamp-millis");
    }

    /// Every column with lineage is a column of its table, every input a field of the topic,
    /// and every data column of a table has lineage except `model_version`.
    #[test]
    fn lineage_names_real_columns_and_fields() {
        let inputs: BTreeSet<String> = transaction_fields().unwrap().into_iter().map(|f| f.name).collect();
        for kind in TableKind::ALL {
            let columns: Vec<String> = kind.columns().unwrap().into_iter().map(|f| f.name).collect();
            let lineage = kind.lineage();
            let mut with_lineage = BTreeSet::new();
            for (column, uses) in &lineage.columns {
                assert!(columns.iter().any(|c| c == column), "{kind:?}: {column} is not a column");
                assert!(with_lineage.insert(*column), "{kind:?}: {column} twice");
                let mut seen = BTreeSet::new();
                for u in uses.iter().chain(&lineage.dataset) {
                    assert!(inputs.contains(u.field), "{kind:?}.{column}: {} is no input field", u.field);
                }
                for u in uses {
                    assert!(
                        seen.insert((u.field, u.how)),
                        "{kind:?}.{column}: {} {:?} twice",
                        u.field,
                        u.how
                    );
                }
            }
            for column in &columns {
                // The model's version and the source position come from no input field.
                let exempt = column.starts_with('_')
                    || [
                        "model_version",
                        "source",
                        "source_topic",
                        "source_partition",
                        "source_offset",
                        "schema_id",
                        "lineage",
                    ]
                    .contains(&column.as_str());
                assert_eq!(with_lineage.contains(column.as_str()), !exempt, "{kind:?}: {column}");
            }
        }
    }

    #[test]
    fn the_lineage_states_the_documented_dependencies() {
        let quality = TableKind::Quality.lineage();
        let uses = |column: &str| -> Vec<(&str, TransformationSubtype)> {
            let (_, uses) = quality.columns.iter().find(|(c, _)| *c == column).unwrap();
            uses.iter().map(|u| (u.field, u.how)).collect()
        };
        assert_eq!(uses("amount"), [(AMOUNT, Identity)]);
        assert_eq!(uses("currency_validity"), [(CURRENCY, Transformation)]);
        assert_eq!(uses("uniqueness"), [(TRANSACTION_ID, Aggregation)]);
        let average = uses("avg_transaction_amount");
        for want in [(AMOUNT, Aggregation), (USER_ID, GroupBy), (TIMESTAMP, Window), (TRANSACTION_ID, Sort)] {
            assert!(average.contains(&want), "{want:?} in {average:?}");
        }
        let fraud = uses("fraud_score");
        for field in [AMOUNT, CURRENCY, TIMESTAMP, USER_ID] {
            assert!(fraud.iter().any(|(f, _)| *f == field), "{field} in {fraud:?}");
        }
        assert!(!fraud.iter().any(|(f, how)| *f == METADATA && *how != Sort), "{fraud:?}");
        let passed = uses("checks_passed");
        for field in [TRANSACTION_ID, USER_ID, AMOUNT, CURRENCY, TIMESTAMP] {
            assert!(passed.contains(&(field, Transformation)), "{field} in {passed:?}");
        }
        let quarantine = TableKind::Quarantine.lineage();
        assert_eq!(quarantine.columns.len(), quality.columns.len() + 1);
        assert!(quarantine.dataset.iter().all(|u| u.how == Filter));
        let routed: Vec<&str> = quality.dataset.iter().map(|u| u.field).collect();
        assert_eq!(routed, [AMOUNT, CURRENCY, METADATA, TIMESTAMP, TRANSACTION_ID, USER_ID]);
        let windows = TableKind::Windows.lineage();
        assert!(windows.columns.iter().all(|(_, uses)| uses.iter().any(|u| u.how == GroupBy)));
    }
}
