//! Access control and audit on the `query` read path (issue 7, item 6).
//!
//! With `--role`, `trustflow query` decides the read with [`crate::governance::policy::decide`]
//! before touching the table: denied, nothing is read or printed ([`AccessDenied`]); allowed
//! for a role with `no_pii_access`, every PII finding in the printed rows is masked
//! ([`mask_rows`]); allowed, the rows are printed as they are. Each decision may leave one
//! JSON line in an append-only, hash-chained audit log ([`AuditRecord`], [`verify_audit_log`]).

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use deltalake::arrow::array::{Array, ArrayRef, LargeStringArray, MapArray, StringArray, StructArray};
use deltalake::arrow::datatypes::DataType;
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use chrono::{DateTime, SecondsFormat};

use super::plan::PlanError;
use super::tables::{QueryPlan, QueryReport, run_query};
use crate::config::PipelineSpec;
use crate::governance::pii::Recognizers;
use crate::governance::policy::mask::{mask, rewrite};
use crate::governance::policy::{AccessAction, AccessRequest, Decision, Outcome, RbacPolicies, decide};
use crate::location::Location;
use crate::sink::maintain::AsOf;

/// The audit log's file name when `--audit-log` is not given: next to the table, in its
/// parent directory (the pipeline's output root for trustflow's tables).
pub const DEFAULT_AUDIT_LOG: &str = "_audit_log.jsonl";

/// Who asks, as what, with which policies, and where the audit goes.
#[derive(Clone, Debug)]
pub struct AccessPlan {
    /// The spec's `rbac_policies`.
    pub policies: RbacPolicies,
    /// `governance_policies.data_retention.audit_trail_required`: audit every access.
    pub audit_trail_required: bool,
    /// The role.
    pub role: String,
    /// The user (`--user`, else `$USER`, else `unknown`).
    pub user: String,
    /// The approval id presented.
    pub approval_id: Option<String>,
    /// The audit log file.
    pub audit_log: PathBuf,
}

impl AccessPlan {
    /// Validates the access flags of `query`; `None` without `--role`.
    pub fn from_args(
        table: &Location,
        role: Option<&str>,
        config: Option<&Path>,
        user: Option<&str>,
        approval: Option<&str>,
        audit_log: Option<&Path>,
    ) -> Result<Option<AccessPlan>, PlanError> {
        let Some(role) = role else {
            if config.is_some() || user.is_some() || approval.is_some() || audit_log.is_some() {
                return Err(PlanError::new(
                    "--config, --user, --approval and --audit-log apply with --role ROLE only",
                ));
            }
            return Ok(None);
        };
        let Some(config) = config else {
            return Err(PlanError::new("--role needs --config SPEC.yaml (the spec holding rbac_policies)"));
        };
        let spec = PipelineSpec::load(config).map_err(|e| PlanError::new(format!("--config: {e}")))?;
        let Some(policies) = spec.rbac_policies else {
            return Err(PlanError::new(format!(
                "--config {}: the spec has no rbac_policies",
                config.display()
            )));
        };
        let audit_trail_required = spec
            .governance_policies
            .as_ref()
            .and_then(|g| g.data_retention.as_ref())
            .is_some_and(|r| r.audit_trail_required);
        let audit_log = match (audit_log, table.local_path()) {
            (Some(path), _) => path.to_owned(),
            (None, Some(path)) => path.parent().unwrap_or(Path::new(".")).join(DEFAULT_AUDIT_LOG),
            (None, None) => {
                return Err(PlanError::new("--role on a table in object storage needs --audit-log PATH"));
            }
        };
        let user = match user {
            Some(user) => user.to_owned(),
            None => std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "unknown".into()),
        };
        Ok(Some(AccessPlan {
            policies,
            audit_trail_required,
            role: role.to_owned(),
            user,
            approval_id: approval.map(str::to_owned),
            audit_log,
        }))
    }

    /// The decision on reading `resource` (a table name) at `at_ms`: deny, allow, or allow
    /// masked when the role has no PII access (the table is taken to possibly hold PII).
    pub fn decide(&self, resource: &str, at_ms: i64) -> Decision {
        decide(
            &self.policies,
            &AccessRequest {
                role: &self.role,
                action: AccessAction::Read,
                resource,
                pii_column: true,
                at_ms,
                approval_id: self.approval_id.as_deref(),
            },
        )
    }

    /// Whether an access with `outcome` that masked `masked_values` values is audited:
    /// denials always; allowed reads when the role has `audit_all_access`, the governance
    /// policies require an audit trail, or PII was masked (it touched personal data).
    pub fn audited(&self, outcome: Outcome, masked_values: usize) -> bool {
        let all = self.policies.roles.get(&self.role).is_some_and(|r| r.restrictions.audit_all_access);
        outcome == Outcome::Deny || all || self.audit_trail_required || masked_values > 0
    }
}

/// A read refused by the policies.
#[derive(Debug, thiserror::Error)]
#[error("access denied for role `{role}` on table `{table}`: {reason}")]
pub struct AccessDenied {
    /// The role.
    pub role: String,
    /// The table name.
    pub table: String,
    /// The decision's reason.
    pub reason: String,
}

/// What masking did to the printed rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Masked {
    /// Columns where at least one value was masked.
    pub columns: BTreeSet<String>,
    /// Values (or map keys) masked.
    pub values: usize,
}

/// `batches` with every PII finding in their string columns (and in the keys and values of
/// string maps such as `metadata`) masked by [`mask`]; other columns unchanged.
pub fn mask_rows(
    batches: &[RecordBatch],
    recognizers: &Recognizers,
) -> Result<(Vec<RecordBatch>, Masked), ArrowError> {
    let mut masked = Masked::default();
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let schema = batch.schema();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            let (column, count) = mask_column(field.name(), column, recognizers)?;
            if count > 0 {
                masked.columns.insert(field.name().clone());
                masked.values += count;
            }
            columns.push(column);
        }
        out.push(RecordBatch::try_new(schema, columns)?);
    }
    Ok((out, masked))
}

/// One column masked, and how many of its values changed.
fn mask_column(
    name: &str,
    column: &ArrayRef,
    recognizers: &Recognizers,
) -> Result<(ArrayRef, usize), ArrowError> {
    let mut count = 0;
    let mut text = |value: &str, field: &str, key: Option<&str>| -> String {
        let findings = recognizers.scan_value(value, field, key, None);
        if findings.is_empty() {
            return value.to_owned();
        }
        count += 1;
        let refs: Vec<_> = findings.iter().collect();
        rewrite(value, &refs, |finding, found| mask(finding.kind, found))
    };
    let column: ArrayRef = match column.data_type() {
        DataType::Utf8 => {
            let strings = column.as_any().downcast_ref::<StringArray>().expect("Utf8 is a StringArray");
            Arc::new(strings.iter().map(|v| v.map(|v| text(v, name, None))).collect::<StringArray>())
        }
        DataType::LargeUtf8 => {
            let strings = column.as_any().downcast_ref::<LargeStringArray>().expect("LargeUtf8");
            Arc::new(strings.iter().map(|v| v.map(|v| text(v, name, None))).collect::<LargeStringArray>())
        }
        DataType::Map(entries_field, ordered) => {
            let map = column.as_any().downcast_ref::<MapArray>().expect("Map is a MapArray");
            let entries = map.entries();
            let keys = entries.column(0).as_any().downcast_ref::<StringArray>();
            let values = entries.column(1).as_any().downcast_ref::<StringArray>();
            let (Some(keys), Some(values)) = (keys, values) else {
                return Ok((column.clone(), 0));
            };
            let field = |key: &str| format!("{name}.{key}");
            // A sliced map shares its entries with the whole: only those of its rows count.
            let offsets = map.offsets();
            let shown = offsets.first().map_or(0, |o| *o as usize)..offsets.last().map_or(0, |o| *o as usize);
            let new_values: StringArray = keys
                .iter()
                .zip(values.iter())
                .enumerate()
                .map(|(i, (k, v))| match v {
                    Some(v) if shown.contains(&i) => Some(text(v, &field(k.unwrap_or_default()), k)),
                    v => v.map(str::to_owned),
                })
                .collect();
            let new_keys: StringArray = keys
                .iter()
                .enumerate()
                .map(|(i, k)| match k {
                    Some(k) if shown.contains(&i) => Some(text(k, &field(k), None)),
                    k => k.map(str::to_owned),
                })
                .collect();
            let struct_fields = match entries_field.data_type() {
                DataType::Struct(fields) => fields.clone(),
                _ => return Ok((column.clone(), 0)),
            };
            let new_entries = StructArray::try_new(
                struct_fields,
                vec![Arc::new(new_keys), Arc::new(new_values)],
                entries.nulls().cloned(),
            )?;
            Arc::new(MapArray::try_new(
                entries_field.clone(),
                map.offsets().clone(),
                new_entries,
                map.nulls().cloned(),
                *ordered,
            )?)
        }
        _ => column.clone(),
    };
    Ok((column, count))
}

/// What `query` reports about the access: the decision and what masking did.
#[derive(Clone, Debug)]
pub struct AccessNote {
    /// The role.
    pub role: String,
    /// The decision.
    pub decision: Decision,
    /// What was masked.
    pub masked: Masked,
    /// The audit log written, if the access was audited.
    pub audit_log: Option<PathBuf>,
}

/// `query` under access control: decides the read of the plan's table for `access.role` at
/// `at_ms`; denied, appends the audit record and fails with [`AccessDenied`] without reading;
/// allowed, reads as [`run_query`], masks the rows for an `allow_masked` decision, and
/// appends the audit record when [`AccessPlan::audited`] says so.
pub async fn run_query_as(plan: &QueryPlan, access: &AccessPlan, at_ms: i64) -> anyhow::Result<QueryReport> {
    let resource = plan.table.name().unwrap_or_default();
    let decision = access.decide(&resource, at_ms);
    let record = |version: Option<i64>, shown: usize, masked: &Masked| AuditRecord {
        timestamp: DateTime::from_timestamp_millis(at_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        user: access.user.clone(),
        role: access.role.clone(),
        action: AccessAction::Read.name().to_owned(),
        resource: resource.clone(),
        table: plan.table.table_uri(),
        version,
        filter: filter(plan),
        decision: decision.outcome,
        reason: decision.reason.clone(),
        records_accessed: shown,
        columns_masked: masked.columns.iter().cloned().collect(),
        values_masked: masked.values,
        approval_id: access.approval_id.clone(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    if decision.outcome == Outcome::Deny {
        append_audit(&access.audit_log, record(None, 0, &Masked::default()))?;
        return Err(
            AccessDenied { role: access.role.clone(), table: resource, reason: decision.reason }.into()
        );
    }
    let mut report = run_query(plan).await?;
    let mut masked = Masked::default();
    if decision.outcome == Outcome::AllowMasked && !report.rows.is_empty() {
        let recognizers = Recognizers::new()?;
        let (rows, what) = mask_rows(&report.rows, &recognizers)?;
        report.rows = rows;
        masked = what;
    }
    let shown = report.rows.iter().map(RecordBatch::num_rows).sum();
    let audited = access.audited(decision.outcome, masked.values);
    if audited {
        append_audit(&access.audit_log, record(Some(report.table.version), shown, &masked))?;
    }
    report.access = Some(AccessNote {
        role: access.role.clone(),
        decision,
        masked,
        audit_log: audited.then(|| access.audit_log.clone()),
    });
    Ok(report)
}

/// The plan's read as the audit's `filter`.
fn filter(plan: &QueryPlan) -> serde_json::Value {
    let as_of = match plan.as_of {
        AsOf::Latest => serde_json::json!("latest"),
        AsOf::Version(v) => serde_json::json!({ "version": v }),
        AsOf::Time(t) => serde_json::json!({ "as_of": t.to_rfc3339_opts(SecondsFormat::Millis, true) }),
    };
    serde_json::json!({ "as_of": as_of, "rows": plan.rows, "consolidated": plan.consolidated })
}

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
    /// `read`.
    pub action: String,
    /// The table name the policies were matched against.
    pub resource: String,
    /// The table's location.
    pub table: String,
    /// The version read (none when denied).
    pub version: Option<i64>,
    /// What was asked: version / as-of, rows, consolidated.
    pub filter: serde_json::Value,
    /// `allow`, `allow_masked` or `deny`.
    pub decision: Outcome,
    /// Why.
    pub reason: String,
    /// Rows printed.
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
    /// A line that does not parse or whose hash does not match.
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

/// Checks the chain of the log at `path`: every line parses, links to the previous line's
/// hash, and hashes to its own `hash`. Returns the number of records.
pub fn verify_audit_log(path: &Path) -> Result<usize, AuditError> {
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
    Ok(count)
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
