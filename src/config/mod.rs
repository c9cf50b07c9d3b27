//! Pipeline specs: the YAML files under `dataflows/` that `trustflow run --config` takes.

mod anomaly;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use anomaly::AnomalySpec;

use crate::dataflow::anomaly::AnomalyConfig;
use crate::dataflow::expectations::Expectation;
use crate::governance::policy::{GovernancePolicies, RbacPolicies};

/// The spec compiled into the binary (`dataflows/quality.yaml`), used without `--config`.
pub const DEFAULT_SPEC: &str = include_str!("../../dataflows/quality.yaml");

/// A pipeline spec. Unknown keys are errors, so that a typo never silently does nothing.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// A name for people and logs.
    pub name: String,
    /// The pipeline's identity in the output table's transaction log.
    pub app_id: String,
    /// Where events come from.
    pub source: SourceSpec,
    /// How long each epoch collects input, in milliseconds.
    pub epoch_ms: u64,
    /// The most records one worker reads into an epoch: an epoch closes when it is due or
    /// when it is full, whichever comes first (like Spark's `maxOffsetsPerTrigger`, per
    /// worker). Default: none (epochs close by time, and grow under a backlog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epoch_records: Option<u64>,
    /// Where results go.
    pub sink: SinkSpec,
    /// The expectations: each rule with its action. Default: the reference design's policy
    /// rules (amount positive_number, currency iso_4217_code, timestamp within_24_hours),
    /// all `warn`.
    #[serde(default = "crate::dataflow::expectations::reference_policy")]
    pub expectations: Vec<Expectation>,
    /// Bound the graph's state by this event-time horizon (`7d`, `36h`): history and
    /// transactionId counts older than the largest timestamp read minus the horizon are
    /// retired, and rows arriving that late go to the `late_events` table. Default: none
    /// (keep all history, as the batch reference does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<String>,
    /// The fraud model that scores every row: a registry directory, optionally with
    /// `@VERSION`, `@production`, `@staging` or `@latest` (`trustflow models`). Default: none
    /// (rows are written `UNSCORED`, with null scores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Governance policies in the reference design's shape: `data_retention`
    /// (retention_period, encryption_required, audit_trail_required), `access_control.roles`,
    /// `data_quality.validation_rules`, and trustflow's `pii_handling` (mask, tokenize or
    /// clear, per PII type). Default: none (`docs/governance.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance_policies: Option<GovernancePolicies>,
    /// Role-based access: roles with readable tables and runnable jobs (wildcards), and
    /// restrictions (no_pii_access, time_limits, audit_all_access, require_approval).
    /// Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rbac_policies: Option<RbacPolicies>,
    /// Anomaly monitoring of the input (issue 7.4): per source and event-time window, volume,
    /// null ratios, schema ids and value distributions against the windows before, alerts to
    /// the `alerts` table. Default: on, with [`AnomalySpec`]'s defaults; `enabled: false`
    /// turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_monitoring: Option<AnomalySpec>,
}

/// The Kafka side of a spec.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The transactions topic.
    pub topic: String,
    /// The user-events topic (logins) a fraud model's login features join. Read only when
    /// the pipeline scores with a model. Default: `user-events`.
    #[serde(default = "default_user_events_topic")]
    pub user_events_topic: String,
    /// Where undecodable records go.
    pub dead_letter_topic: String,
    /// Consumer group id.
    pub group: String,
    /// Extra librdkafka properties.
    #[serde(default)]
    pub kafka: BTreeMap<String, String>,
}

fn default_user_events_topic() -> String {
    "user-events".to_owned()
}

/// The output side of a spec.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SinkSpec {
    /// The output root, a path or URL: the tables are created under it.
    pub output: String,
    /// A Kafka topic that also receives each epoch's quality changes, exactly once (one
    /// Kafka transaction per epoch). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Where each committed epoch is reported as an OpenLineage run event: a JSON-lines file
    /// or an `http(s)://` endpoint (`docs/lineage.md`). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
}

/// A spec that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read pipeline spec {path}: {source}")]
    Read {
        /// The spec's path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid spec (YAML syntax, unknown or missing keys, wrong types).
    #[error("invalid pipeline spec {origin}: {source}")]
    Parse {
        /// The spec's path, or `built-in`.
        origin: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A value is out of range.
    #[error("invalid pipeline spec {origin}: {message}")]
    Invalid {
        /// The spec's path, or `built-in`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

impl PipelineSpec {
    /// The built-in spec.
    pub fn builtin() -> Result<PipelineSpec, ConfigError> {
        PipelineSpec::parse(DEFAULT_SPEC, "built-in")
    }

    /// Reads and validates the spec at `path`.
    pub fn load(path: &Path) -> Result<PipelineSpec, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        PipelineSpec::parse(&text, &path.display().to_string())
    }

    /// Parses and validates spec text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<PipelineSpec, ConfigError> {
        let spec: PipelineSpec = serde_yaml_ng::from_str(text)
            .map_err(|source| ConfigError::Parse { origin: origin.to_owned(), source })?;
        spec.validate(origin)?;
        Ok(spec)
    }

    /// Checks the values that the types alone do not; `origin` names the spec in errors.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let spec = self;
        let invalid =
            |message: &str| ConfigError::Invalid { origin: origin.to_owned(), message: message.to_owned() };
        if spec.epoch_ms == 0 {
            return Err(invalid("epoch_ms must be at least 1"));
        }
        if spec.max_epoch_records == Some(0) {
            return Err(invalid("max_epoch_records must be at least 1"));
        }
        if spec.source.topic.is_empty() || spec.source.dead_letter_topic.is_empty() {
            return Err(invalid("source.topic and source.dead_letter_topic must not be empty"));
        }
        if spec.source.topic == spec.source.dead_letter_topic {
            return Err(invalid("the dead-letter topic must differ from the source topic"));
        }
        if let Some(topic) = &spec.sink.topic
            && (topic.is_empty() || *topic == spec.source.topic || *topic == spec.source.dead_letter_topic)
        {
            return Err(invalid("sink.topic (--output-topic) must be a topic of its own, not empty"));
        }
        if spec.app_id.is_empty() {
            return Err(invalid("app_id must not be empty"));
        }
        if let Some(Err(e)) = spec.horizon.as_deref().map(crate::dataflow::horizon::Horizon::parse) {
            return Err(invalid(&format!("horizon: {e}")));
        }
        if let Some(Err(e)) = spec.model.as_deref().map(str::parse::<crate::fraud::ModelRef>) {
            return Err(invalid(&format!("model: {e}")));
        }
        if spec.model.is_some() && spec.horizon.is_some() {
            return Err(invalid(
                "model and horizon together: fraud features need each user's whole history, which the \
                 horizon retires",
            ));
        }
        if let Some(problem) = spec.expectations.iter().find_map(Expectation::problem) {
            return Err(invalid(&problem));
        }
        if let Some(rbac) = &spec.rbac_policies {
            rbac.validate().map_err(|e| invalid(&e.to_string()))?;
        }
        if let Some(governance) = &spec.governance_policies {
            governance.validate(spec.rbac_policies.as_ref()).map_err(|e| invalid(&e.to_string()))?;
        }
        spec.anomaly().map_err(|e| invalid(&e.to_string()))?;
        let mut names: Vec<&str> = spec.expectations.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(invalid(&format!("two expectations are named `{}`", pair[0])));
        }
        Ok(())
    }
}

impl PipelineSpec {
    /// The anomaly monitor's configuration (the defaults without an `anomaly_monitoring`
    /// block), `None` when it is disabled.
    pub fn anomaly(&self) -> Result<Option<AnomalyConfig>, crate::dataflow::anomaly::AnomalyError> {
        self.anomaly_monitoring.clone().unwrap_or_default().config()
    }

    /// The expectations to evaluate: `expectations`, then each of
    /// `governance_policies.data_quality.validation_rules` (as a `warn` expectation named
    /// `<column>_<rule>`) whose column and rule no expectation already has.
    pub fn effective_expectations(&self) -> Vec<Expectation> {
        let mut out = self.expectations.clone();
        let quality = self.governance_policies.as_ref().and_then(|g| g.data_quality.as_ref());
        for extra in quality.map(|q| q.expectations()).unwrap_or_default() {
            if !out.iter().any(|e| e.column == extra.column && e.rule == extra.rule) {
                out.push(extra);
            }
        }
        out
    }
}

#[cfg(test)]
mod policy_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_spec_parses_and_matches_the_file() {
        let spec = PipelineSpec::builtin().unwrap();
        assert_eq!(spec.source.topic, "financial-transactions");
        let file =
            PipelineSpec::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/dataflows/quality.yaml")))
                .unwrap();
        assert_eq!(spec, file);
    }

    #[test]
    fn horizons_are_durations() {
        assert_eq!(PipelineSpec::builtin().unwrap().horizon, None);
        let spec = PipelineSpec::parse(&DEFAULT_SPEC.replace("# horizon: 7d", "horizon: 7d"), "t").unwrap();
        assert_eq!(spec.horizon.as_deref(), Some("7d"));
        let err = PipelineSpec::parse(&DEFAULT_SPEC.replace("# horizon: 7d", "horizon: a week"), "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("horizon") && err.contains("a week"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = DEFAULT_SPEC.replace("epoch_ms: 1000", "epoch_ms: 1000\nepoch_msec: 5");
        let err = PipelineSpec::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("epoch_msec"), "{err}");
    }

    #[test]
    fn expectations_default_to_the_reference_policy_and_are_checked() {
        let spec = PipelineSpec::builtin().unwrap();
        assert_eq!(spec.expectations, crate::dataflow::expectations::reference_policy());
        let without = DEFAULT_SPEC.split("expectations:").next().unwrap().to_owned();
        assert_eq!(PipelineSpec::parse(&without, "t").unwrap().expectations, spec.expectations);
        let wrong_column = DEFAULT_SPEC.replace("column: amount", "column: currency");
        assert!(
            PipelineSpec::parse(&wrong_column, "t").unwrap_err().to_string().contains("applies to `amount`")
        );
        let twice = DEFAULT_SPEC.replace("name: currency_iso_4217", "name: amount_positive");
        assert!(PipelineSpec::parse(&twice, "t").unwrap_err().to_string().contains("two expectations"));
        let bad_action = DEFAULT_SPEC.replacen("action: warn", "action: shout", 1);
        assert!(PipelineSpec::parse(&bad_action, "t").unwrap_err().to_string().contains("shout"));
    }

    #[test]
    fn anomaly_monitoring_defaults_on_and_is_checked() {
        let spec = PipelineSpec::builtin().unwrap();
        assert_eq!(spec.anomaly(), Ok(Some(AnomalyConfig::default())));
        let block = |body: &str| format!("{DEFAULT_SPEC}\nanomaly_monitoring:\n{body}");
        let custom = PipelineSpec::parse(&block("  window: 5m\n  z_threshold: 4.5"), "t").unwrap();
        let config = custom.anomaly().unwrap().unwrap();
        assert_eq!((config.window_ms, config.z_threshold, config.baseline_windows), (300_000, 4.5, 10));
        let off = PipelineSpec::parse(&block("  enabled: false"), "t").unwrap();
        assert_eq!(off.anomaly(), Ok(None));
        let typo = PipelineSpec::parse(&block("  z_treshold: 4"), "t").unwrap_err().to_string();
        assert!(typo.contains("z_treshold"), "{typo}");
        let short = PipelineSpec::parse(&block("  baseline_windows: 2"), "t").unwrap_err().to_string();
        assert!(short.contains("min_baseline_windows"), "{short}");
        let window = PipelineSpec::parse(&block("  window: soon"), "t").unwrap_err().to_string();
        assert!(window.contains("soon"), "{window}");
    }

    #[test]
    fn zero_epoch_and_same_topics_are_refused() {
        let zero = DEFAULT_SPEC.replace("epoch_ms: 1000", "epoch_ms: 0");
        assert!(PipelineSpec::parse(&zero, "t").unwrap_err().to_string().contains("epoch_ms"));
        let empty = DEFAULT_SPEC.replace("epoch_ms: 1000", "epoch_ms: 1000\nmax_epoch_records: 0");
        let err = PipelineSpec::parse(&empty, "t").unwrap_err().to_string();
        assert!(err.contains("max_epoch_records must be at least 1"), "{err}");
        let full = DEFAULT_SPEC.replace("epoch_ms: 1000", "epoch_ms: 1000\nmax_epoch_records: 500");
        assert_eq!(PipelineSpec::parse(&full, "t").unwrap().max_epoch_records, Some(500));
        let same = DEFAULT_SPEC.replace(
            "dead_letter_topic: financial-transactions-dlq",
            "dead_letter_topic: financial-transactions",
        );
        assert!(PipelineSpec::parse(&same, "t").unwrap_err().to_string().contains("dead-letter"));
    }
}
