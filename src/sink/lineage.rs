//! A row's lineage trail: where it was read and the stages it went through, as JSON.
//!
//! The `lineage` column of the quality table and the output topic, in the reference design's
//! shape: the source (topic, partition, offset, schema id), then one entry per stage with its
//! processor, status, the rules applied and the metrics (`docs/lineage.md`).

use serde::Serialize;

use crate::dataflow::quality::QualityRow;
use crate::fraud::score::risk_label;

/// The trail of one row.
#[derive(Serialize)]
pub struct Trail<'a> {
    /// Where the record was read; `null` for rows not read from Kafka (batch input).
    pub source: Option<Source<'a>>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// The Kafka position of the record.
#[derive(Serialize)]
pub struct Source<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The Avro schema's registry id.
    pub schema_id: u32,
}

/// One stage of the trail.
#[derive(Serialize)]
pub struct Stage {
    /// `decode`, `quality`, `governance`, `fraud`.
    pub stage: &'static str,
    /// What ran it.
    pub processor: String,
    /// Its outcome.
    pub status: &'static str,
    /// The rules or checks it applied, with their result where it has one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules_applied: Vec<String>,
    /// Its numbers.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

impl<'a> Trail<'a> {
    /// The trail of `row`.
    pub fn of(row: &'a QualityRow) -> Trail<'a> {
        let source = row.record.origin.as_ref().map(|o| Source {
            topic: &o.topic,
            partition: o.partition,
            offset: o.offset,
            schema_id: o.schema_id,
        });
        let mut stages = Vec::with_capacity(4);
        if let Some(origin) = &row.record.origin {
            stages.push(Stage {
                stage: "decode",
                processor: format!("avro (schema id {})", origin.schema_id),
                status: "DECODED",
                rules_applied: Vec::new(),
                metrics: serde_json::Map::new(),
            });
        }
        let checks = row.checks();
        let failed = checks.iter().filter(|(_, passed)| !passed).count();
        let mut metrics = serde_json::Map::new();
        metrics.insert("checks_passed".into(), row.checks_passed().into());
        metrics.insert("quality_score".into(), row.quality_score().into());
        stages.push(Stage {
            stage: "quality",
            processor: "trustflow quality graph".into(),
            status: if failed == 0 { "PASSED" } else { "FAILED" },
            rules_applied: checks.iter().map(|(name, passed)| format!("{name}:{}", pass(*passed))).collect(),
            metrics,
        });
        if let Some(label) = &row.governance {
            stages.push(Stage {
                stage: "governance",
                processor: "trustflow PII recognizers".into(),
                status: if label.protected.is_empty() { "NO_PII" } else { "PII_PROTECTED" },
                rules_applied: label.protected.iter().map(ToString::to_string).collect(),
                metrics: serde_json::Map::new(),
            });
        }
        let mut metrics = serde_json::Map::new();
        if let Some(fraud) = &row.fraud {
            metrics.insert("fraud_score".into(), fraud.score.0.into());
        }
        stages.push(Stage {
            stage: "fraud",
            processor: row.fraud.map_or("none".to_owned(), |f| format!("model version {}", f.model_version)),
            status: risk_label(row.fraud.as_ref()),
            rules_applied: Vec::new(),
            metrics,
        });
        Trail { source, stages }
    }

    /// The trail as compact JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and maps of them: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn pass(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::Value;

    use super::*;
    use crate::dataflow::quality::rules::verdict;
    use crate::record::{Origin, Transaction};

    #[test]
    fn names_the_exact_offset_and_every_stage() {
        let record = Transaction {
            timestamp: Some(1_000),
            transaction_id: Some("tx-1".into()),
            origin: Some(Origin { topic: Arc::from("tx"), partition: 3, offset: 41, schema_id: 1 }),
            ..Transaction::default()
        };
        let row = verdict(record, None, true, 2_000);
        let trail: Value = serde_json::from_str(&Trail::of(&row).to_json()).unwrap();
        assert_eq!(
            trail["source"],
            serde_json::json!({"topic": "tx", "partition": 3, "offset": 41, "schema_id": 1})
        );
        let stages: Vec<&str> =
            trail["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
        assert_eq!(stages, ["decode", "quality", "fraud"]);
        assert_eq!(trail["stages"][1]["status"], "FAILED");
        assert_eq!(trail["stages"][1]["rules_applied"][0], "transactionId_completeness:PASS");
        assert_eq!(trail["stages"][2]["status"], "UNSCORED");
        let batch_row = verdict(Transaction::default(), None, true, 2_000);
        assert_eq!(
            serde_json::from_str::<Value>(&Trail::of(&batch_row).to_json()).unwrap()["source"],
            Value::Null
        );
    }
}
