//! A detector's findings on a corpus, one JSON object per line, and trustflow's own.
//!
//! ```json
//! {"id": "gen-000042", "type": "email", "start": 12, "end": 32, "score": 0.85}
//! ```
//!
//! `id` names the corpus item, spans are in characters like the corpus's; other keys
//! (`field`, `evidence`, Presidio's `entity` and `recognizer`) are kept by the writer for
//! people and ignored by the scorer.

use serde::{Deserialize, Serialize};

use super::corpus::{Item, char_offset};
use super::error::EvalError;
use crate::governance::pii::{PiiType, Recognizers};

/// One finding of a detector in one corpus text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The corpus item's id.
    pub id: String,
    /// What the detector says it is.
    #[serde(rename = "type")]
    pub kind: PiiType,
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The detector's confidence in [0, 1].
    pub score: f64,
    /// The item's field (written for people; not read).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// The matched text (written for people; not read).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub matched: String,
    /// Why (trustflow: each signal and its effect; written for people, not read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl Detection {
    /// The finding on line `line` (1-based) of `file`; `None` for a blank line.
    pub fn parse(file: &str, line: usize, json: &str) -> Result<Option<Detection>, EvalError> {
        if json.trim().is_empty() {
            return Ok(None);
        }
        let detection: Detection = serde_json::from_str(json).map_err(|source| EvalError::Json {
            file: file.to_owned(),
            line,
            source,
        })?;
        if detection.start >= detection.end || !(0.0..=1.0).contains(&detection.score) {
            return Err(EvalError::invalid(
                file,
                line,
                format!(
                    "finding {}..{} score {} is empty or scored outside [0, 1]",
                    detection.start, detection.end, detection.score
                ),
            ));
        }
        Ok(Some(detection))
    }
}

/// trustflow's findings in `item`: its text scanned as a value of the field `item.field`, the
/// field name being the context (and the key that makes a value a name or address), as
/// `query --role` and the sinks scan a metadata value under its key. Dates of birth are judged
/// without an event date. Spans converted to characters.
pub fn detect(recognizers: &Recognizers, item: &Item) -> Vec<Detection> {
    let key = (!item.field.is_empty()).then_some(item.field.as_str());
    recognizers
        .scan_value(&item.text, &item.field, key, None)
        .into_iter()
        .map(|finding| Detection {
            id: item.id.clone(),
            kind: finding.kind,
            start: char_offset(&item.text, finding.start),
            end: char_offset(&item.text, finding.end),
            score: finding.confidence.value(),
            field: item.field.clone(),
            matched: item.text[finding.span()].to_owned(),
            evidence: finding.evidence.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(field: &str, text: &str) -> Item {
        Item {
            id: "x".into(),
            set: String::new(),
            field: field.into(),
            text: text.into(),
            entities: vec![],
            note: None,
        }
    }

    #[test]
    fn trustflow_findings_in_characters_with_the_field_as_context() {
        let recognizers = Recognizers::new().unwrap();
        let found = detect(&recognizers, &item("note", "Jürgen: j.mueller@example.com"));
        assert_eq!((found[0].kind, found[0].start, found[0].end), (PiiType::Email, 8, 29));
        let found = detect(&recognizers, &item("kontakt", "Müller, tel. (415) 555-2671"));
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].kind, found[0].start, found[0].end), (PiiType::Phone, 13, 27));
        assert_eq!(found[0].matched, "(415) 555-2671");
        assert!(found[0].evidence.iter().any(|e| e.contains("tel")), "{:?}", found[0].evidence);
        // The field is context: ten bare digits are a phone only under a phone key.
        assert!(detect(&recognizers, &item("order_no", "4155552671")).is_empty());
        assert_eq!(detect(&recognizers, &item("phone", "4155552671")).len(), 1);
        assert_eq!(detect(&recognizers, &item("customer_name", "Jane Doe"))[0].kind, PiiType::PersonName);
        assert!(detect(&recognizers, &item("", "Jane Doe")).is_empty());
    }

    #[test]
    fn findings_lines_parse_and_are_checked() {
        let line = r#"{"id":"a","type":"iban","start":0,"end":22,"score":1.0,"entity":"IBAN_CODE"}"#;
        let d = Detection::parse("f", 3, line).unwrap().unwrap();
        assert_eq!((d.kind, d.end), (PiiType::Iban, 22));
        assert!(Detection::parse("f", 1, "  ").unwrap().is_none());
        let bad = r#"{"id":"a","type":"iban","start":5,"end":5,"score":1.0}"#;
        assert!(Detection::parse("f", 4, bad).unwrap_err().to_string().starts_with("f:4:"));
        let unknown = r#"{"id":"a","type":"URL","start":0,"end":5,"score":1.0}"#;
        assert!(Detection::parse("f", 1, unknown).is_err());
    }
}
