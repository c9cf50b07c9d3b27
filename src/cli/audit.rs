//! The audit log of read paths: append-only JSON lines, each hash-chained to the previous
//! one, so that altering, removing or reordering a line is detected by [`verify_audit_log`]
//! (`trustflow audit verify LOG`).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::governance::policy::Outcome;

/// One line of the audit log, in the reference design's shape (timestamp, user, action,
/// resource, filter, records accessed, purpose = the decision's reason, approval id) plus the
/// decision, what was masked, and the hash chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, RFC 3339 UTC.
    pub timestamp: String,
    /// Who.
    pub user: String,
    /// As which role.
    pub role: String,
    /// `read` (`query`) or `export`.
    pub action: String,
    /// The table name the policies were matched against.
    pub resource: String,
    /// The table's location.
    pub table: String,
    /// The version read (none when denied).
    pub version: Option<i64>,
    /// What was asked: version / as-of, rows, consolidated (and for an export its format and
    /// destination).
    pub filter: serde_json::Value,
    /// `allow`, `allow_masked` or `deny`.
    pub decision: Outcome,
    /// Why.
    pub reason: String,
    /// Rows printed or exported.
    pub records_accessed: usize,
    /// Columns where values were masked.
    pub columns_masked: Vec<String>,
    /// Values masked.
    pub values_masked: usize,
    /// The approval id presented.
    pub approval_id: Option<String>,
    /// The previous line's `hash` (64 zeros for the first line).
    pub prev_hash: String,
    /// SHA-256 (hex) of `prev_hash` and this record without `hash`, as compact JSON.
    pub hash: String,
}

/// The hash of a log's first predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditRecord {
    /// The chain hash of this record: SHA-256 over its JSON with `hash` empty.
    fn chain_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let json = serde_json::to_string(&unhashed).expect("an audit record serializes");
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Audit log errors.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading or writing the log.
    #[error("audit log {path}: {source}")]
    Io {
        /// The log.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that does not parse or whose hash does not match (`trustflow audit verify`
    /// exits with 65 for it).
    #[error("audit log {path}, line {line}: {problem}")]
    Broken {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Appends `record` to the log at `path` (created with its directory if missing), chained to
/// the last line: its `prev_hash` and `hash` are set here.
pub fn append_audit(path: &Path, mut record: AuditRecord) -> Result<AuditRecord, AuditError> {
    let io = |source| AuditError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(e)),
    };
    record.prev_hash = match existing.lines().rev().find(|l| !l.trim().is_empty()) {
        None => GENESIS.to_owned(),
        Some(last) => {
            let line = existing.lines().filter(|l| !l.trim().is_empty()).count();
            let last: AuditRecord = serde_json::from_str(last).map_err(|e| AuditError::Broken {
                path: path.to_owned(),
                line,
                problem: e.to_string(),
            })?;
            last.hash
        }
    };
    record.hash = record.chain_hash();
    let mut line = serde_json::to_string(&record).expect("an audit record serializes");
    line.push('\n');
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_data().map_err(io)?;
    Ok(record)
}

/// A verified audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditChain {
    /// Records verified.
    pub entries: usize,
    /// The last record's hash ([`GENESIS`] for an empty log): kept elsewhere, it lets a later
    /// verification tell that nothing was cut off the end, which the chain alone cannot.
    pub head: String,
}

/// Checks the chain of the log at `path`: every line parses, links to the previous line's
/// hash, and hashes to its own `hash`. Blank lines are passed over. The first bad line is
/// [`AuditError::Broken`], naming it (1-based) and what is wrong.
pub fn verify_audit_log(path: &Path) -> Result<AuditChain, AuditError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| AuditError::Io { path: path.to_owned(), source })?;
    let mut prev = GENESIS.to_owned();
    let mut count = 0;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let broken = |problem: String| AuditError::Broken { path: path.to_owned(), line: n + 1, problem };
        let record: AuditRecord = serde_json::from_str(line).map_err(|e| broken(e.to_string()))?;
        if record.prev_hash != prev {
            return Err(broken("prev_hash does not match the previous record (removed or reordered)".into()));
        }
        if record.chain_hash() != record.hash {
            return Err(broken("hash does not match the record (altered)".into()));
        }
        prev = record.hash;
        count += 1;
    }
    Ok(AuditChain { entries: count, head: prev })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(decision: Outcome) -> AuditRecord {
        AuditRecord {
            timestamp: "2026-01-01T10:00:00.000Z".into(),
            user: "jane".into(),
            role: "analyst".into(),
            action: "read".into(),
            resource: "quality".into(),
            table: "/tmp/out/quality".into(),
            version: None,
            filter: serde_json::json!({}),
            decision,
            reason: "because".into(),
            records_accessed: 0,
            columns_masked: Vec::new(),
            values_masked: 0,
            approval_id: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn audit_log_is_chained_and_tamper_evident() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit/log.jsonl");
        let first = append_audit(&log, record(Outcome::Deny)).unwrap();
        assert_eq!(first.prev_hash, GENESIS);
        let second = append_audit(&log, record(Outcome::AllowMasked)).unwrap();
        assert_eq!(second.prev_hash, first.hash);
        let chain = verify_audit_log(&log).unwrap();
        assert_eq!((chain.entries, chain.head.as_str()), (2, second.hash.as_str()));
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 2);
        std::fs::write(&log, text.replacen("\"deny\"", "\"allow\"", 1)).unwrap();
        let error = verify_audit_log(&log).unwrap_err();
        assert!(error.to_string().contains("line 1") && error.to_string().contains("altered"), "{error}");
        let second_only = text.lines().nth(1).unwrap();
        std::fs::write(&log, format!("{second_only}\n")).unwrap();
        assert!(verify_audit_log(&log).unwrap_err().to_string().contains("removed"));
    }
}
