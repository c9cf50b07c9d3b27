//! The policy a run's sinks apply: each row classified, and its personal data protected.
//!
//! A [`Governor`] is built once per run from the spec's `pii_handling` (default: mask
//! everything) and shared by the workers. [`Governor::govern`] scans a record, classifies it,
//! and rewrites every finding by its type's action; the [`Label`] it returns says what was
//! found and done without repeating any value. It reads the record alone and is
//! deterministic for a policy and key, so applied as a `map` in the dataflow it retracts
//! exactly the row it once produced (`docs/governance.md`, "In the pipeline").

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::classify::{Sensitivity, classify};
use super::compliance::Compliance;
use super::pii::{PiiError, PiiType, Recognizers};
use super::policy::{PiiAction, PiiHandling, PolicyError, Tokenizer, protect_record};
use crate::record::Transaction;

/// What governance found in one row and what the sink did about it; no values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Personal data was found.
    pub pii: bool,
    /// A financial record (an amount, a card number or an IBAN).
    pub financial: bool,
    /// The sensitivity level.
    pub sensitivity: Sensitivity,
    /// The compliance tags that hold.
    pub compliance: Vec<Compliance>,
    /// Each finding: where, what, and the action applied, in scan order.
    pub protected: Vec<Protected>,
}

/// One piece of personal data and what the sink wrote instead.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Protected {
    /// The field: `userId`, `metadata.email`, ...; a finding in a metadata key ends in `#key`.
    pub field: String,
    /// The type of personal data.
    pub kind: PiiType,
    /// What was written: mask, token, or the clear text.
    pub action: PiiAction,
}

impl Label {
    /// The reference design's tags: `PII`, `FINANCIAL`, `SENSITIVITY_<level>`, `GDPR`,
    /// `PCI-DSS`, `SOX` (those that hold, in that order).
    pub fn tags(&self) -> Vec<&'static str> {
        super::classify::tags(self.pii, self.financial, self.sensitivity, &self.compliance)
    }
}

impl Label {
    /// The label that [`Label::tags`] and the [`Protected`] items' text (`field:type:action`)
    /// describe: how the `classification` and `pii_fields` columns read back.
    pub fn parse<'a>(
        tags: impl IntoIterator<Item = &'a str>,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<Label, String> {
        let mut label = Label {
            pii: false,
            financial: false,
            sensitivity: Sensitivity::Low,
            compliance: Vec::new(),
            protected: Vec::new(),
        };
        let mut level = None;
        for tag in tags {
            match tag {
                "PII" => label.pii = true,
                "FINANCIAL" => label.financial = true,
                "GDPR" => label.compliance.push(Compliance::Gdpr),
                "PCI-DSS" => label.compliance.push(Compliance::PciDss),
                "SOX" => label.compliance.push(Compliance::Sox),
                other => {
                    let found =
                        [Sensitivity::Low, Sensitivity::Medium, Sensitivity::High, Sensitivity::Critical]
                            .into_iter()
                            .find(|s| s.tag() == other)
                            .ok_or_else(|| format!("unknown tag `{other}`"))?;
                    level = Some(found);
                }
            }
        }
        label.sensitivity = level.ok_or("no SENSITIVITY_<level> tag")?;
        for text in fields {
            let mut parts = text.rsplitn(3, ':');
            let (action, kind, field) = (parts.next(), parts.next(), parts.next());
            let (Some(action), Some(kind), Some(field)) = (action, kind, field) else {
                return Err(format!("`{text}` is not field:type:action"));
            };
            let kind = PiiType::ALL
                .into_iter()
                .find(|k| k.name() == kind)
                .ok_or_else(|| format!("unknown PII type in `{text}`"))?;
            let action = [PiiAction::Mask, PiiAction::Tokenize, PiiAction::Clear]
                .into_iter()
                .find(|a| a.name() == action)
                .ok_or_else(|| format!("unknown action in `{text}`"))?;
            label.protected.push(Protected { field: field.to_owned(), kind, action });
        }
        Ok(label)
    }
}

impl fmt::Display for Protected {
    /// `field:type:action`, e.g. `metadata.email:email:mask`: the `pii_fields` column's items.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.field, self.kind.name(), self.action.name())
    }
}

/// Why a run's PII policy cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    /// The recognizers did not compile (a bug).
    #[error(transparent)]
    Recognizers(#[from] PiiError),
    /// The policy tokenizes but its key is missing or unusable.
    #[error("pii_handling tokenizes personal data: {0}")]
    Key(#[from] PolicyError),
}

/// The recognizers, the `pii_handling` policy and (if it tokenizes) the key: what every sink
/// of a run applies.
pub struct Governor {
    recognizers: Recognizers,
    handling: PiiHandling,
    tokenizer: Option<Tokenizer>,
    id: String,
}

impl fmt::Debug for Governor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Governor").field("handling", &self.handling).field("id", &self.id).finish()
    }
}

impl Governor {
    /// The default policy: every finding masked.
    pub fn masking() -> Result<Governor, GovernError> {
        Governor::new(PiiHandling::default(), None)
    }

    /// `handling` with `key_hex` (needed, and only used, when some type is tokenized).
    pub fn new(handling: PiiHandling, key_hex: Option<&str>) -> Result<Governor, GovernError> {
        let tokenizer = match (handling.tokenizes(), key_hex) {
            (false, _) => None,
            (true, Some(hex)) => Some(Tokenizer::from_hex(hex)?),
            (true, None) => return Err(PolicyError::MissingKey(handling.token_key_env.clone()).into()),
        };
        let id = policy_id(&handling, tokenizer.as_ref());
        Ok(Governor { recognizers: Recognizers::new()?, handling, tokenizer, id })
    }

    /// `handling`, its key (if it tokenizes) read from the variable it names.
    pub fn from_env(handling: PiiHandling) -> Result<Governor, GovernError> {
        let key = handling.tokenizes().then(|| std::env::var(&handling.token_key_env).ok()).flatten();
        Governor::new(handling, key.as_deref())
    }

    /// The policy's identity: SHA-256 (16 hex digits) over the actions and, when it
    /// tokenizes, a token of a fixed text (which identifies the key without revealing it).
    /// Recorded with each commit: a run that protects differently cannot continue a table.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The policy.
    pub fn handling(&self) -> &PiiHandling {
        &self.handling
    }

    /// `record` as a sink writes it, and its label.
    pub fn govern(&self, record: Transaction) -> (Transaction, Label) {
        let findings = self.recognizers.scan(&record);
        if findings.is_empty() {
            let class = classify(&record, Vec::new());
            let label = Label {
                pii: false,
                financial: class.financial,
                sensitivity: class.sensitivity,
                compliance: class.compliance,
                protected: Vec::new(),
            };
            return (record, label);
        }
        let protected = findings
            .iter()
            .map(|f| Protected {
                field: if f.in_key { format!("{}#key", f.field) } else { f.field.clone() },
                kind: f.kind,
                action: self.handling.action(f.kind),
            })
            .collect();
        // `new` made sure a tokenizing policy has its key, so this cannot fail; were it to,
        // masking everything keeps clear text out of the sinks.
        let written = protect_record(&record, &findings, &self.handling, self.tokenizer.as_ref())
            .or_else(|_| protect_record(&record, &findings, &PiiHandling::default(), None))
            .unwrap_or_else(|_| Transaction { metadata: None, ..record.clone() });
        let class = classify(&record, findings);
        let label = Label {
            pii: class.pii,
            financial: class.financial,
            sensitivity: class.sensitivity,
            compliance: class.compliance,
            protected,
        };
        (written, label)
    }
}

fn policy_id(handling: &PiiHandling, tokenizer: Option<&Tokenizer>) -> String {
    let mut hash = Sha256::new();
    for kind in PiiType::ALL {
        hash.update(format!("{}={};", kind.name(), handling.action(kind).name()));
    }
    if let Some(tokenizer) = tokenizer {
        hash.update(tokenizer.token(PiiType::Email, "trustflow-key-id"));
    }
    hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use rust_decimal::Decimal;

    use super::*;

    fn with_metadata(pairs: &[(&str, &str)]) -> Transaction {
        Transaction {
            origin: None,
            timestamp: Some(1_700_000_000_000),
            transaction_id: Some("tx-1".into()),
            amount: Some(Decimal::new(1250, 2)),
            currency: Some("EUR".into()),
            metadata: Some(Arc::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())),
            user_id: Some("user-1".into()),
        }
    }

    #[test]
    fn masks_by_default_and_labels_without_values() {
        let governor = Governor::masking().unwrap();
        let record = with_metadata(&[("email", "jane.doe@example.com"), ("channel", "web")]);
        let (written, label) = governor.govern(record.clone());
        let metadata = written.metadata.unwrap();
        assert_eq!(metadata["email"], "j***@example.com");
        assert_eq!(metadata["channel"], "web");
        assert_eq!(label.tags(), ["PII", "FINANCIAL", "SENSITIVITY_HIGH", "GDPR", "SOX"]);
        assert_eq!(
            label.protected.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["metadata.email:email:mask"]
        );
        assert_eq!((written.transaction_id, written.amount), (record.transaction_id, record.amount));
    }

    #[test]
    fn a_record_without_pii_is_written_unchanged() {
        let governor = Governor::masking().unwrap();
        let record = with_metadata(&[("channel", "web"), ("merchant", "m-4711")]);
        let (written, label) = governor.govern(record.clone());
        assert_eq!(written, record);
        assert_eq!(label.tags(), ["FINANCIAL", "SENSITIVITY_MEDIUM", "SOX"]);
        assert!(label.protected.is_empty());
    }

    #[test]
    fn tokenizing_needs_the_key_and_the_id_tells_keys_apart() {
        let handling = PiiHandling { default: PiiAction::Tokenize, ..PiiHandling::default() };
        assert!(matches!(Governor::new(handling.clone(), None), Err(GovernError::Key(_))));
        let (a, b) = ("11".repeat(32), "22".repeat(32));
        let (one, two) =
            (Governor::new(handling.clone(), Some(&a)).unwrap(), Governor::new(handling, Some(&b)).unwrap());
        assert_ne!(one.id(), two.id());
        assert_ne!(one.id(), Governor::masking().unwrap().id());
        let record = with_metadata(&[("email", "jane.doe@example.com")]);
        let token = one.govern(record.clone()).0.metadata.unwrap()["email"].clone();
        assert!(token.starts_with("tok:email:"), "{token}");
        assert_eq!(one.govern(record.clone()).0.metadata.unwrap()["email"], token, "deterministic");
        assert!(!format!("{one:?}").contains(&a));
    }

    #[test]
    fn clear_keeps_the_value_but_still_labels_it() {
        let handling = PiiHandling {
            by_type: BTreeMap::from([("email".to_owned(), PiiAction::Clear)]),
            ..PiiHandling::default()
        };
        let governor = Governor::new(handling, None).unwrap();
        let record = with_metadata(&[("email", "jane.doe@example.com"), ("phone", "+1 415 555 2671")]);
        let (written, label) = governor.govern(record.clone());
        let metadata = written.metadata.unwrap();
        assert_eq!(metadata["email"], "jane.doe@example.com");
        assert_ne!(metadata["phone"], "+1 415 555 2671");
        let fields: Vec<String> = label.protected.iter().map(ToString::to_string).collect();
        assert!(fields.contains(&"metadata.email:email:clear".to_owned()), "{fields:?}");
        let parsed = Label::parse(label.tags(), fields.iter().map(String::as_str)).unwrap();
        assert_eq!(parsed, label, "the columns read back");
        assert!(Label::parse(["PII"], []).is_err(), "a level is required");
        assert!(Label::parse(["SENSITIVITY_LOW"], ["email:mask"]).is_err());
    }
}
