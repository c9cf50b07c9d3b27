//! Access control and audit on the read paths, `query` and `export` (issue 7, item 6).
//!
//! With `--role`, `trustflow query` and `trustflow export` decide the access with
//! [`crate::governance::policy::decide`] (action `read` or `export`) before touching the
//! table ([`AccessPlan::begin`]): denied, nothing is read, printed or written
//! ([`AccessDenied`]); allowed for a role with `no_pii_access`, every PII finding in the rows
//! handed out is masked ([`Access::mask`], [`mask_rows`]); allowed, the rows go out as they
//! are. Each decision may leave one JSON line in the append-only, hash-chained audit log
//! ([`Access::conclude`], [`super::audit`]).

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat};
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::record_batch::RecordBatch;

use super::audit::{AuditError, AuditRecord, append_audit};
use super::governance_args::AccessArgs;
use super::masking::{Masked, mask_rows};
use super::plan::PlanError;
use super::tables::{QueryPlan, QueryReport, run_query};
use crate::config::PipelineSpec;
use crate::governance::pii::{PiiError, Recognizers};
use crate::governance::policy::{AccessAction, AccessRequest, Decision, Outcome, RbacPolicies, decide};
use crate::location::Location;
use crate::sink::maintain::{AsOf, MaintainError};

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
    /// [`AccessPlan::from_args`] of the flags as clap parsed them.
    pub fn from_access_args(table: &Location, args: &AccessArgs) -> Result<Option<AccessPlan>, PlanError> {
        AccessPlan::from_args(
            table,
            args.role.as_deref(),
            args.config.as_deref(),
            args.user.as_deref(),
            args.approval.as_deref(),
            args.audit_log.as_deref(),
        )
    }

    /// Validates the access flags of `query` or `export`; `None` without `--role`.
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

    /// The decision on `action` (read or export) of `resource` (a table name) at `at_ms`:
    /// deny, allow, or allow masked when the role has no PII access (the table is taken to
    /// possibly hold PII).
    pub fn decide(&self, action: AccessAction, resource: &str, at_ms: i64) -> Decision {
        decide(
            &self.policies,
            &AccessRequest {
                role: &self.role,
                action,
                resource,
                pii_column: true,
                at_ms,
                approval_id: self.approval_id.as_deref(),
            },
        )
    }

    /// Whether an access with `decision` that masked `masked_values` values is audited:
    /// denials and exports always (the decision's [`Decision::audit`] says so for both);
    /// allowed reads when the role has `audit_all_access`, the governance policies require an
    /// audit trail, or PII was masked (it touched personal data).
    pub fn audited(&self, action: AccessAction, outcome: Outcome, masked_values: usize) -> bool {
        let all = self.policies.roles.get(&self.role).is_some_and(|r| r.restrictions.audit_all_access);
        outcome == Outcome::Deny
            || action == AccessAction::Export
            || all
            || self.audit_trail_required
            || masked_values > 0
    }

    /// Starts `action` on `table` at `at_ms`, `filter` saying what is asked (for the audit):
    /// decides it, and when denied appends the audit record and fails with
    /// [`AccessError::Denied`] before anything is read.
    pub fn begin(
        &self,
        action: AccessAction,
        table: &Location,
        filter: serde_json::Value,
        at_ms: i64,
    ) -> Result<Access<'_>, AccessError> {
        let resource = table.name().unwrap_or_default();
        let decision = self.decide(action, &resource, at_ms);
        let access =
            Access { plan: self, action, resource, table: table.table_uri(), filter, at_ms, decision };
        if access.decision.outcome == Outcome::Deny {
            append_audit(&self.audit_log, access.record(None, 0, &Masked::default()))?;
            return Err(AccessError::Denied(AccessDenied {
                role: self.role.clone(),
                action: action.name(),
                table: access.resource,
                reason: access.decision.reason,
            }));
        }
        Ok(access)
    }
}

/// An access refused by the policies.
#[derive(Debug, thiserror::Error)]
#[error("access denied for role `{role}` to {action} table `{table}`: {reason}")]
pub struct AccessDenied {
    /// The role.
    pub role: String,
    /// The action refused (`read`, `export`).
    pub action: &'static str,
    /// The table name.
    pub table: String,
    /// The decision's reason.
    pub reason: String,
}

/// What can go wrong under access control (besides reading the table).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The policies refused the access (exit code 77).
    #[error(transparent)]
    Denied(AccessDenied),
    /// The audit record could not be written (the access is then refused: nothing unaudited
    /// goes out).
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The PII recognizers could not be built.
    #[error(transparent)]
    Recognizers(#[from] PiiError),
    /// Masking could not rebuild the rows.
    #[error("masking PII: {0}")]
    Mask(#[from] ArrowError),
}

impl AccessError {
    /// Whether the policies refused the access.
    pub fn is_denied(&self) -> bool {
        matches!(self, AccessError::Denied(_))
    }
}

/// An access the policies allowed, not yet concluded: its rows still to mask (if the
/// decision says so) and its audit record still to write.
#[derive(Debug)]
pub struct Access<'a> {
    plan: &'a AccessPlan,
    action: AccessAction,
    resource: String,
    table: String,
    filter: serde_json::Value,
    at_ms: i64,
    /// The decision.
    pub decision: Decision,
}

impl Access<'_> {
    /// `rows` as they may go out: every PII finding masked for an `allow_masked` decision
    /// ([`mask_rows`]), unchanged otherwise.
    pub fn mask(&self, rows: Vec<RecordBatch>) -> Result<(Vec<RecordBatch>, Masked), AccessError> {
        if self.decision.outcome != Outcome::AllowMasked || rows.iter().all(|b| b.num_rows() == 0) {
            return Ok((rows, Masked::default()));
        }
        let recognizers = Recognizers::new()?;
        Ok(mask_rows(&rows, &recognizers)?)
    }

    /// Ends the access: `records` rows of `version` went out, `masked` as [`Access::mask`]
    /// said; appends the audit record when [`AccessPlan::audited`] says so.
    pub fn conclude(self, version: i64, records: usize, masked: Masked) -> Result<AccessNote, AccessError> {
        let audited = self.plan.audited(self.action, self.decision.outcome, masked.values);
        if audited {
            append_audit(&self.plan.audit_log, self.record(Some(version), records, &masked))?;
        }
        Ok(AccessNote {
            role: self.plan.role.clone(),
            decision: self.decision,
            masked,
            audit_log: audited.then(|| self.plan.audit_log.clone()),
        })
    }

    /// The audit record of this access.
    fn record(&self, version: Option<i64>, records: usize, masked: &Masked) -> AuditRecord {
        AuditRecord {
            timestamp: DateTime::from_timestamp_millis(self.at_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            user: self.plan.user.clone(),
            role: self.plan.role.clone(),
            action: self.action.name().to_owned(),
            resource: self.resource.clone(),
            table: self.table.clone(),
            version,
            filter: self.filter.clone(),
            decision: self.decision.outcome,
            reason: self.decision.reason.clone(),
            records_accessed: records,
            columns_masked: masked.columns.iter().cloned().collect(),
            values_masked: masked.values,
            approval_id: self.plan.approval_id.clone(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }
}

/// What a read path reports about the access: the decision and what masking did.
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

/// `query` failing under access control.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Refused, or the audit or masking failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// Reading the table failed.
    #[error(transparent)]
    Read(#[from] MaintainError),
}

impl QueryError {
    /// Whether the policies refused the read.
    pub fn is_denied(&self) -> bool {
        matches!(self, QueryError::Access(e) if e.is_denied())
    }

    /// Whether trying again later may succeed (the store was unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueryError::Read(e) if e.is_retryable())
    }
}

/// `query` under access control: decides the read of the plan's table for `access.role` at
/// `at_ms`; denied, appends the audit record and fails without reading; allowed, reads as
/// [`run_query`], masks the printed rows for an `allow_masked` decision, and appends the
/// audit record when [`AccessPlan::audited`] says so.
pub async fn run_query_as(
    plan: &QueryPlan,
    access: &AccessPlan,
    at_ms: i64,
) -> Result<QueryReport, QueryError> {
    let guard = access.begin(AccessAction::Read, &plan.table, filter(plan), at_ms)?;
    let mut report = run_query(plan).await?;
    let (rows, masked) = guard.mask(std::mem::take(&mut report.rows))?;
    report.rows = rows;
    let shown = report.rows.iter().map(RecordBatch::num_rows).sum();
    report.access = Some(guard.conclude(report.table.version, shown, masked)?);
    Ok(report)
}

/// `as_of` as the audit's `filter` spells it.
pub fn as_of_filter(as_of: AsOf) -> serde_json::Value {
    match as_of {
        AsOf::Latest => serde_json::json!("latest"),
        AsOf::Version(v) => serde_json::json!({ "version": v }),
        AsOf::Time(t) => serde_json::json!({ "as_of": t.to_rfc3339_opts(SecondsFormat::Millis, true) }),
    }
}

/// The plan's read as the audit's `filter`.
fn filter(plan: &QueryPlan) -> serde_json::Value {
    serde_json::json!({ "as_of": as_of_filter(plan.as_of), "rows": plan.rows, "consolidated": plan.consolidated })
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
