//! The labels file: JSON lines `{"transactionId", "fraud", "pattern"}`, kept apart from the data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::error::FraudError;

/// The ground truth of one transactionId.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Whether the transaction is fraud.
    pub fraud: bool,
    /// The fraud pattern, if the labeller named one.
    pub pattern: Option<String>,
}

/// Labels by transactionId.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    by_id: HashMap<String, Label>,
    /// Lines without a transactionId (null): they label nothing.
    pub without_id: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Line {
    transaction_id: Option<String>,
    fraud: bool,
    #[serde(default)]
    pattern: Option<String>,
}

impl Labels {
    /// Reads the labels file at `path`. Blank lines are skipped; a malformed line, or a
    /// transactionId labelled both ways, is an error naming the line. Repeated identical
    /// labels (copies of a transaction) are fine.
    pub fn read(path: &Path) -> Result<Labels, FraudError> {
        let io = |source| FraudError::Io { path: path.to_path_buf(), source };
        let reader = BufReader::new(File::open(path).map_err(io)?);
        let mut labels = Labels::default();
        for (number, line) in reader.lines().enumerate() {
            let line = line.map_err(io)?;
            let number = number as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: Line = serde_json::from_str(&line).map_err(|e| FraudError::Label {
                path: path.to_path_buf(),
                line: number,
                reason: e.to_string(),
            })?;
            labels.insert(parsed, path, number)?;
        }
        Ok(labels)
    }

    fn insert(&mut self, line: Line, path: &Path, number: u64) -> Result<(), FraudError> {
        let Some(id) = line.transaction_id else {
            self.without_id += 1;
            return Ok(());
        };
        let label = Label { fraud: line.fraud, pattern: line.pattern.filter(|_| line.fraud) };
        match self.by_id.get(&id) {
            Some(known) if known.fraud != label.fraud => {
                Err(FraudError::ConflictingLabel { path: path.to_path_buf(), line: number, id })
            }
            Some(_) => Ok(()),
            None => {
                self.by_id.insert(id, label);
                Ok(())
            }
        }
    }

    /// The label of `id`.
    pub fn get(&self, id: &str) -> Option<&Label> {
        self.by_id.get(id)
    }

    /// Distinct labelled transactionIds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no transactionId is labelled.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn labels(text: &str) -> Result<Labels, FraudError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        Labels::read(file.path())
    }

    #[test]
    fn reads_labels_and_tolerates_copies() {
        let read = labels(concat!(
            r#"{"transactionId":"a","fraud":true,"pattern":"card_testing"}"#,
            "\n\n",
            r#"{"transactionId":"b","fraud":false,"pattern":null}"#,
            "\n",
            r#"{"transactionId":"b","fraud":false}"#,
            "\n",
            r#"{"transactionId":null,"fraud":false}"#,
            "\n"
        ))
        .unwrap();
        assert_eq!((read.len(), read.without_id), (2, 1));
        assert_eq!(read.get("a").unwrap().pattern.as_deref(), Some("card_testing"));
        assert!(!read.get("b").unwrap().fraud);
    }

    #[test]
    fn refuses_bad_lines_and_conflicts_by_line_number() {
        let bad = labels("{\"transactionId\":\"a\",\"fraud\":\"yes\"}\n").unwrap_err().to_string();
        assert!(bad.contains(":1: not a label"), "{bad}");
        let both =
            concat!(r#"{"transactionId":"a","fraud":true}"#, "\n", r#"{"transactionId":"a","fraud":false}"#);
        let error = labels(both).unwrap_err().to_string();
        assert!(error.contains(":2:") && error.contains("both fraud and not fraud"), "{error}");
    }
}
