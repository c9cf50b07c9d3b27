//! What a sink writes: each finding masked, tokenized or left clear per `pii_handling`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::PolicyError;
use super::mask::{mask, rewrite};
use super::spec::{PiiAction, PiiHandling};
use super::token::Tokenizer;
use crate::governance::pii::Finding;
use crate::record::Transaction;

/// `value` with each of `findings` (all in this value) rewritten by its type's action.
/// `tokenizer` is needed only if some action is `tokenize`.
pub fn protect_value(
    value: &str,
    findings: &[&Finding],
    handling: &PiiHandling,
    tokenizer: Option<&Tokenizer>,
) -> Result<String, PolicyError> {
    let needs_key = findings.iter().any(|f| handling.action(f.kind) == PiiAction::Tokenize);
    if needs_key && tokenizer.is_none() {
        return Err(PolicyError::MissingKey(handling.token_key_env.clone()));
    }
    Ok(rewrite(value, findings, |finding, text| match (handling.action(finding.kind), tokenizer) {
        (PiiAction::Mask, _) => mask(finding.kind, text),
        (PiiAction::Tokenize, Some(tokenizer)) => tokenizer.token(finding.kind, text),
        // Checked above: tokenize always has a tokenizer here.
        (PiiAction::Tokenize, None) | (PiiAction::Clear, _) => text.to_owned(),
    }))
}

/// A copy of `record` with every finding (as [`crate::governance::pii::Recognizers::scan`]
/// returned them for it) protected: the string columns, metadata values, and metadata keys
/// that themselves hold PII. Two keys that become equal once protected keep both values: the
/// later one gets ` #2`, ` #3`, ... appended.
pub fn protect_record(
    record: &Transaction,
    findings: &[Finding],
    handling: &PiiHandling,
    tokenizer: Option<&Tokenizer>,
) -> Result<Transaction, PolicyError> {
    let mut out = record.clone();
    let in_field = |field: &str, in_key: bool| -> Vec<&Finding> {
        findings.iter().filter(|f| f.field == field && f.in_key == in_key).collect()
    };
    for (name, slot) in [
        ("transactionId", &mut out.transaction_id),
        ("userId", &mut out.user_id),
        ("currency", &mut out.currency),
    ] {
        let found = in_field(name, false);
        if let (Some(value), false) = (slot.as_mut(), found.is_empty()) {
            *value = protect_value(value, &found, handling, tokenizer)?;
        }
    }
    let touches_metadata = findings.iter().any(|f| f.field.starts_with("metadata."));
    if let (Some(metadata), true) = (&record.metadata, touches_metadata) {
        let mut protected = BTreeMap::new();
        for (key, value) in metadata.iter() {
            let field = format!("metadata.{key}");
            let (in_key, in_value) = (in_field(&field, true), in_field(&field, false));
            let value = protect_value(value, &in_value, handling, tokenizer)?;
            let mut new_key = protect_value(key, &in_key, handling, tokenizer)?;
            let mut copy = 1;
            while protected.contains_key(&new_key) {
                copy += 1;
                new_key = format!("{} #{copy}", protect_value(key, &in_key, handling, tokenizer)?);
            }
            protected.insert(new_key, value);
        }
        out.metadata = Some(Arc::new(protected));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::pii::{PiiType, Recognizers};

    fn record() -> Transaction {
        let metadata = BTreeMap::from([
            ("email".to_owned(), "jane.doe@example.com".to_owned()),
            ("note".to_owned(), "card 4111 1111 1111 1111, call (415) 555-2671".to_owned()),
            ("channel".to_owned(), "web".to_owned()),
            ("john@example.com".to_owned(), "x".to_owned()),
        ]);
        Transaction {
            origin: None,
            timestamp: Some(1_767_225_600_000),
            transaction_id: Some("tx-1".into()),
            amount: Some("12.50".parse().unwrap()),
            currency: Some("USD".into()),
            metadata: Some(Arc::new(metadata)),
            user_id: Some("user-00001".into()),
        }
    }

    #[test]
    fn masking_replaces_every_finding_and_nothing_else() {
        let record = record();
        let findings = Recognizers::new().unwrap().scan(&record);
        let out = protect_record(&record, &findings, &PiiHandling::default(), None).unwrap();
        let metadata = out.metadata.as_ref().unwrap();
        assert_eq!(metadata["email"], "j***@example.com");
        assert_eq!(metadata["note"], "card **** **** **** 1111, call (***) ***-**71");
        assert_eq!(metadata["channel"], "web");
        assert_eq!(metadata["j***@example.com"], "x");
        assert_eq!(
            (out.transaction_id, out.user_id, out.amount),
            (record.transaction_id, record.user_id, record.amount)
        );
    }

    #[test]
    fn tokens_need_a_key_and_clear_leaves_values() {
        let record = record();
        let findings = Recognizers::new().unwrap().scan(&record);
        let mut handling = PiiHandling::default();
        handling.by_type.insert(PiiType::Email.name().to_owned(), PiiAction::Tokenize);
        handling.by_type.insert(PiiType::Phone.name().to_owned(), PiiAction::Clear);
        assert!(matches!(
            protect_record(&record, &findings, &handling, None),
            Err(PolicyError::MissingKey(_))
        ));
        let tokenizer = Tokenizer::new(&[9u8; 32]).unwrap();
        let out = protect_record(&record, &findings, &handling, Some(&tokenizer)).unwrap();
        let metadata = out.metadata.as_ref().unwrap();
        assert_eq!(metadata["email"], tokenizer.token(PiiType::Email, "jane.doe@example.com"));
        assert_eq!(metadata["note"], "card **** **** **** 1111, call (415) 555-2671");
    }
}
