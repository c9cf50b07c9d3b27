//! The alerts table: the anomaly monitor's alerts, corrected by retraction like the windows.

use std::sync::Arc;

use deltalake::arrow::array::{ArrayRef, Float64Builder, Int64Builder, StringBuilder};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::kernel::{DataType, StructField};

use super::changelog::ChangeTable;
use super::columns::ChangeType;
use super::error::SinkError;
use super::extra_tables::{arrow_error, change_fields, epoch_i64};
use crate::dataflow::anomaly::Alert;

/// Column names of the alerts table's data columns.
pub const ALERT_COLUMNS: [&str; 12] = [
    "source",
    "window_start",
    "window_end",
    "kind",
    "field",
    "observed",
    "baseline_mean",
    "baseline_stddev",
    "z_score",
    "threshold",
    "baseline_windows",
    "evidence",
];

/// Anomaly alerts (`dataflow::anomaly`): per source and event-time window, what is unusual
/// (`kind`, `field`), the observed value against the baseline (mean, floored stddev,
/// z-score, threshold, windows) and the evidence as JSON, then the change columns. A late
/// row that changes a window deletes the alerts it changes and inserts their new versions.
pub struct AlertChanges;

impl ChangeTable for AlertChanges {
    type Row = Alert;
    const COMMENT: &'static str = "trustflow anomaly alerts changelog: per source and event-time window, \
         volume, null ratio, schema change and distribution alerts with their evidence, corrected by \
         retraction when late events land";

    fn fields() -> Result<Vec<StructField>, SinkError> {
        let (string, long, double) = (DataType::STRING, DataType::LONG, DataType::DOUBLE);
        let types = [
            (&string, false),
            (&long, false),
            (&long, false),
            (&string, false),
            (&string, true),
            (&double, false),
            (&double, true),
            (&double, true),
            (&double, true),
            (&double, false),
            (&long, false),
            (&string, false),
        ];
        let mut fields: Vec<StructField> = ALERT_COLUMNS
            .iter()
            .zip(types)
            .map(|(name, (ty, nullable))| StructField::new(*name, ty.clone(), nullable))
            .collect();
        fields.extend(change_fields());
        Ok(fields)
    }

    fn to_batch(
        schema: &SchemaRef,
        epoch: u64,
        changes: &[(Self::Row, isize)],
    ) -> Result<RecordBatch, SinkError> {
        let epoch = epoch_i64(epoch)?;
        let rows: usize = changes.iter().map(|(_, d)| d.unsigned_abs()).sum();
        let strings = || StringBuilder::with_capacity(rows, rows * 16);
        let (mut source, mut kind, mut field, mut evidence, mut change_types) =
            (strings(), strings(), strings(), strings(), strings());
        let longs = || Int64Builder::with_capacity(rows);
        let (mut start, mut end, mut windows, mut epochs) = (longs(), longs(), longs(), longs());
        let doubles = || Float64Builder::with_capacity(rows);
        let (mut observed, mut mean, mut stddev, mut z, mut threshold) =
            (doubles(), doubles(), doubles(), doubles(), doubles());
        for (alert, diff) in changes {
            let change = if *diff > 0 { ChangeType::Insert } else { ChangeType::Delete };
            for _ in 0..diff.unsigned_abs() {
                source.append_value(&alert.source);
                start.append_value(alert.window_start_ms);
                end.append_value(alert.window_end_ms);
                kind.append_value(alert.kind.name());
                field.append_option(alert.field.map(|f| f.name()));
                observed.append_value(alert.observed.0);
                mean.append_option(alert.baseline_mean.map(|r| r.0));
                stddev.append_option(alert.baseline_stddev.map(|r| r.0));
                z.append_option(alert.z_score.map(|r| r.0));
                threshold.append_value(alert.threshold.0);
                windows.append_value(i64::from(alert.baseline_windows));
                evidence.append_value(&alert.evidence);
                change_types.append_value(change.as_str());
                epochs.append_value(epoch);
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(source.finish()),
            Arc::new(start.finish()),
            Arc::new(end.finish()),
            Arc::new(kind.finish()),
            Arc::new(field.finish()),
            Arc::new(observed.finish()),
            Arc::new(mean.finish()),
            Arc::new(stddev.finish()),
            Arc::new(z.finish()),
            Arc::new(threshold.finish()),
            Arc::new(windows.finish()),
            Arc::new(evidence.finish()),
            Arc::new(change_types.finish()),
            Arc::new(epochs.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error("building the alerts batch"))
    }
}

#[cfg(test)]
mod tests {
    use deltalake::arrow::array::{Array, StringArray};

    use super::*;
    use crate::dataflow::anomaly::{AlertKind, Field, Real};

    #[test]
    fn alerts_become_change_rows() {
        let alert = Alert {
            source: Arc::from("t"),
            window_start_ms: 60_000,
            window_end_ms: 120_000,
            kind: AlertKind::NullRatio,
            field: Some(Field::UserId),
            observed: Real(0.5),
            baseline_mean: Some(Real(0.02)),
            baseline_stddev: Some(Real(0.01)),
            z_score: Some(Real(48.0)),
            threshold: Real(3.0),
            baseline_windows: 8,
            evidence: "{}".to_owned(),
        };
        let schema = AlertChanges::arrow_schema().unwrap();
        let batch = AlertChanges::to_batch(&schema, 7, &[(alert.clone(), 1), (alert, -2)]).unwrap();
        assert_eq!(batch.num_rows(), 3);
        assert_eq!(batch.num_columns(), ALERT_COLUMNS.len() + 2);
        let strings = |name: &str| {
            let column = batch.column_by_name(name).unwrap();
            let column = column.as_any().downcast_ref::<StringArray>().unwrap();
            column.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>()
        };
        assert_eq!(strings("field"), vec![Some("userId".to_owned()); 3]);
        assert_eq!(strings("kind")[0].as_deref(), Some("null_ratio"));
        let changes: Vec<Option<String>> =
            ["insert", "delete", "delete"].iter().map(|c| Some((*c).to_owned())).collect();
        assert_eq!(strings("_change_type"), changes);
    }
}
