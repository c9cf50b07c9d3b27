//! Raw flags of the governance commands (`retention`, `export`, `audit`) and the access
//! flags `query` and `export` share.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Access control flags of the read paths (`query`, `export`).
#[derive(Args, Debug, Clone, Default)]
pub struct AccessArgs {
    /// Act as this role: access control applies only when a role is given. The access is
    /// decided by the --config spec's rbac_policies for the table's name (its last path
    /// segment, e.g. `quality`) at the current time: denied, nothing is printed or written
    /// and trustflow exits with 77; a role with `no_pii_access` sees every PII finding in
    /// the rows masked (string columns and metadata keys/values; counts unchanged).
    #[arg(long, value_name = "ROLE", requires = "config")]
    pub role: Option<String>,
    /// The pipeline spec holding rbac_policies (and governance_policies), e.g.
    /// dataflows/governance.yaml. Needs --role.
    #[arg(long, value_name = "SPEC.yaml")]
    pub config: Option<PathBuf>,
    /// Who is reading, for the audit log (default: $USER). Needs --role.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// An approval id (for roles whose require_approval names the action). Needs --role.
    #[arg(long, value_name = "ID")]
    pub approval: Option<String>,
    /// Append the audit record (one JSON line, hash-chained to the previous line) here.
    /// Default: _audit_log.jsonl next to the table (in its parent directory). Denials and
    /// exports are always audited; reads when the role has audit_all_access,
    /// governance_policies require an audit trail, or PII was masked. Needs --role.
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
}

/// Flags of `trustflow retention`.
#[derive(Args, Debug, Clone)]
pub struct RetentionArgs {
    /// Output roots (every trustflow table in their subdirectories) or single tables: local
    /// paths or az:// / abfss:// URLs (credentials from the AZURE_* environment).
    #[arg(value_name = "ROOT|TABLE", required = true)]
    pub paths: Vec<String>,
    /// The pipeline spec whose governance_policies.data_retention.retention_period applies
    /// (e.g. dataflows/governance.yaml). A spec without one is refused.
    #[arg(long, value_name = "SPEC.yaml")]
    pub config: PathBuf,
    /// "Now" the rows' age is judged at, epoch milliseconds (default: the wall clock).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,
    /// Count per table the rows and files that would go; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Then vacuum each table, so that the removed files (which older versions, and so time
    /// travel, still read) are deleted once older than --retain.
    #[arg(long)]
    pub vacuum: bool,
    /// Vacuum retention, e.g. 7d, 0s (default: the table's delta.deletedFileRetentionDuration,
    /// 7 days unless set). Shorter than that needs --allow-short-retention.
    #[arg(long, value_name = "DURATION", requires = "vacuum")]
    pub retain: Option<String>,
    /// Accept a --retain below the table's minimum: readers of older versions and a writer
    /// whose commit is in flight may still need those files.
    #[arg(long, requires = "vacuum")]
    pub allow_short_retention: bool,
    /// One JSON object per table and action instead of sentences.
    #[arg(long)]
    pub json: bool,
}

/// The file format of `trustflow export`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per row (decimals as strings, maps as objects).
    Jsonl,
    /// One Parquet file (zstd), the table's Arrow types.
    Parquet,
}

/// Flags of `trustflow export`.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The Delta table: a local path or an Azure Blob URL, credentials from the AZURE_*
    /// environment as for query.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// The file to write (local). Written to a temporary name beside it and renamed when
    /// complete, so a failed export leaves nothing.
    #[arg(long, value_name = "PATH")]
    pub to: PathBuf,
    /// File format (default: parquet for a PATH ending in .parquet, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Export the table as it was at this version (0 is its creation).
    #[arg(long, value_name = "N", conflicts_with = "as_of")]
    pub version: Option<u64>,
    /// Export the table as of this time: the newest version committed at or before it. RFC
    /// 3339 (2026-01-31T12:00:00Z), or `2026-01-31 12:00:00` in UTC.
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Export the stored change rows (with _change_type and _epoch) instead of the
    /// consolidated current state.
    #[arg(long)]
    pub changes: bool,
    /// Replace a file already at --to.
    #[arg(long)]
    pub overwrite: bool,
    /// The summary as one JSON object instead of sentences.
    #[arg(long)]
    pub json: bool,
    /// Access control (action `export`).
    #[command(flatten)]
    pub access: AccessArgs,
}

/// Flags of `trustflow audit`.
#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// What to do with the log.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// The `audit` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum AuditCommand {
    /// Verify an audit log's hash chain: every line parses, names the previous line's hash
    /// and hashes to its own. Prints the entries verified and the last hash; a broken chain
    /// names the first bad line and why, and exits with 65.
    Verify {
        /// The audit log (JSON lines), e.g. out/_audit_log.jsonl.
        #[arg(value_name = "LOG")]
        log: PathBuf,
        /// The result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}
