//! `trustflow retention`: the spec's retention period enforced on a root's trustflow tables
//! (issue 7, item 3), with an optional vacuum, and its printout.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::governance_args::RetentionArgs;
use super::plan::PlanError;
use crate::config::PipelineSpec;
use crate::governance::policy::RetentionPeriod;
use crate::location::{Location, StorageOptions};
use crate::sink::maintain::open::rfc3339;
use crate::sink::maintain::{
    self, MaintainError, RetentionOptions, RetentionOutcome, VacuumOptions, VacuumOutcome,
};

/// What `trustflow retention` will do.
#[derive(Debug)]
pub struct RetentionPlan {
    /// The roots or tables, with their object store settings.
    pub paths: Vec<(Location, StorageOptions)>,
    /// The period, "now" and whether dry.
    pub options: RetentionOptions,
    /// Whether "now" is the wall clock (no `--now`).
    pub now_defaulted: bool,
    /// Vacuum afterwards, so.
    pub vacuum: Option<VacuumOptions>,
    /// JSON lines rather than sentences.
    pub json: bool,
}

impl RetentionPlan {
    /// Validates `args`: the spec must give a retention period; `now_ms` is the wall clock
    /// taken when `--now` is not given.
    pub fn from_args(args: RetentionArgs, now_ms: i64) -> Result<RetentionPlan, PlanError> {
        let spec = PipelineSpec::load(&args.config).map_err(|e| PlanError::new(format!("--config: {e}")))?;
        let period = retention_period(&spec).ok_or_else(|| {
            PlanError::new(format!(
                "--config {}: the spec has no governance_policies.data_retention.retention_period, \
                 so nothing says how long data is kept; retention refuses to guess",
                args.config.display()
            ))
        })?;
        let paths = args
            .paths
            .iter()
            .map(|text| {
                let location =
                    Location::parse(text).map_err(|e| PlanError::new(format!("ROOT|TABLE: {e}")))?;
                Ok((location.clone(), location.storage_from_env()))
            })
            .collect::<Result<Vec<_>, PlanError>>()?;
        let retention = match args.retain.as_deref() {
            Some(text) => Some(
                humantime::parse_duration(text)
                    .map_err(|e| PlanError::new(format!("--retain `{text}`: {e} (try 7d, 36h or 0s)")))?,
            ),
            None => None,
        };
        Ok(RetentionPlan {
            paths,
            options: RetentionOptions { period, now_ms: args.now.unwrap_or(now_ms), dry_run: args.dry_run },
            now_defaulted: args.now.is_none(),
            vacuum: args.vacuum.then_some(VacuumOptions {
                retention,
                dry_run: args.dry_run,
                allow_short_retention: args.allow_short_retention,
            }),
            json: args.json,
        })
    }
}

/// The spec's `governance_policies.data_retention.retention_period`, if it has one.
pub fn retention_period(spec: &PipelineSpec) -> Option<RetentionPeriod> {
    Some(spec.governance_policies.as_ref()?.data_retention.as_ref()?.retention_period.clone())
}

/// One step's result, as it comes.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RetentionReport {
    /// Retention on one table.
    Retention(RetentionOutcome),
    /// A table under a root that retention leaves alone, and why.
    Skipped {
        /// The table.
        url: String,
        /// Why (not trustflow's, no event time).
        reason: String,
    },
    /// The vacuum after it.
    Vacuum(VacuumOutcome),
    /// What time travel still reaches of the rows retention deleted from one table.
    TimeTravel {
        /// The table.
        url: String,
        /// The version that deleted them: versions before it still show them while their
        /// files are stored.
        before_version: i64,
        /// Files removed by that commit.
        files_removed: usize,
        /// Of those, files still stored (readable through older versions).
        files_still_stored: usize,
    },
    /// The sum over all tables.
    Total {
        /// Tables retention ran on.
        tables: usize,
        /// Tables left alone.
        skipped: usize,
        /// Rows deleted (or, dry, that would be).
        rows_deleted: u64,
        /// Files removed (or that would be).
        files_removed: usize,
        /// Whether it was a dry run.
        dry_run: bool,
    },
}

/// Runs retention on every table of the plan's roots (a root's tables that are not
/// trustflow's, or have no event time, are reported as skipped; named directly, they are an
/// error), then vacuums each if asked, and for each table that lost rows says whether older
/// versions still show them (their files still stored); hands each result to `report` as it
/// comes, the total last. Stops at the first error.
pub async fn run_retention(
    plan: &RetentionPlan,
    mut report: impl FnMut(&RetentionReport),
) -> Result<(), MaintainError> {
    let (mut tables, mut skipped, mut rows, mut files) = (0, 0, 0, 0);
    for (location, storage) in &plan.paths {
        let found = maintain::tables_at(location, storage).await?;
        let direct = found.len() == 1 && found[0] == *location;
        for table in found {
            let url = table.table_uri();
            let outcome = match maintain::expire(&url, storage, &plan.options).await {
                Ok(outcome) => outcome,
                Err(error @ (MaintainError::NotTrustflow { .. } | MaintainError::NoEventTime { .. }))
                    if !direct =>
                {
                    skipped += 1;
                    report(&RetentionReport::Skipped { url: table.to_string(), reason: error.to_string() });
                    continue;
                }
                Err(error) => return Err(error),
            };
            tables += 1;
            rows += outcome.rows_deleted;
            files += outcome.files_removed;
            report(&RetentionReport::Retention(outcome.clone()));
            if let Some(options) = &plan.vacuum {
                report(&RetentionReport::Vacuum(maintain::vacuum(&url, storage, options).await?));
            }
            if let Some(version) = outcome.committed_version {
                let stored = maintain::still_stored(&url, storage, &outcome.removed).await?;
                report(&RetentionReport::TimeTravel {
                    url: outcome.url.clone(),
                    before_version: version,
                    files_removed: outcome.removed.len(),
                    files_still_stored: stored.len(),
                });
            }
        }
    }
    report(&RetentionReport::Total {
        tables,
        skipped,
        rows_deleted: rows,
        files_removed: files,
        dry_run: plan.options.dry_run,
    });
    Ok(())
}

/// Writes one result: a sentence (or a few), or a JSON object.
pub fn write_retention(out: &mut dyn Write, report: &RetentionReport, json: bool) -> io::Result<()> {
    if json {
        return writeln!(out, "{}", serde_json::to_string(report).map_err(io::Error::other)?);
    }
    match report {
        RetentionReport::Retention(r) => {
            let rule = format!(
                "retention {} ({} days) by `{}`, expired before {}",
                r.retention, r.retention_days, r.column, r.cutoff
            );
            let judged = format!(
                "{} file(s), {} judged by their statistics, {} read",
                r.files, r.files_skipped, r.files_read
            );
            if r.files_removed == 0 {
                writeln!(out, "{}: {rule}: nothing expired ({judged}); version {}", r.url, r.version)
            } else if r.dry_run {
                writeln!(
                    out,
                    "{}: {rule}: would delete {} row(s): {} file(s) to remove, {} of them to rewrite \
                     ({judged}); version {} unchanged (dry run)",
                    r.url, r.rows_deleted, r.files_removed, r.files_rewritten, r.version
                )
            } else {
                writeln!(
                    out,
                    "{}: {rule}: deleted {} row(s): removed {} file(s), {} rewritten into {} new \
                     ({} row(s) copied; {judged}); version {}",
                    r.url,
                    r.rows_deleted,
                    r.files_removed,
                    r.files_rewritten,
                    r.files_added,
                    r.rows_copied,
                    r.version
                )
            }
        }
        RetentionReport::Skipped { url, reason } => writeln!(out, "{url}: skipped: {reason}"),
        RetentionReport::Vacuum(v) => {
            let verb = if v.dry_run { "would delete" } else { "deleted" };
            let retention = humantime::format_duration(Duration::from_secs(v.retention_secs));
            writeln!(out, "{}: vacuum (retention {retention}) {verb} {} file(s)", v.url, v.files.len())
        }
        RetentionReport::TimeTravel { url, before_version, files_removed, files_still_stored: 0 } => {
            writeln!(
                out,
                "{url}: time travel: the {files_removed} file(s) holding the deleted rows are gone; versions \
             before {before_version} can no longer be read"
            )
        }
        RetentionReport::TimeTravel { url, before_version, files_removed, files_still_stored } => writeln!(
            out,
            "{url}: time travel: versions before {before_version} still show the deleted rows \
             ({files_still_stored} of {files_removed} removed file(s) still stored); a vacuum deletes \
             them once removed longer ago than its retention (the table's \
             delta.deletedFileRetentionDuration, 7 days unless set, or --retain)"
        ),
        RetentionReport::Total { tables, skipped, rows_deleted, files_removed, dry_run } => {
            let verb = if *dry_run { "would delete" } else { "deleted" };
            writeln!(
                out,
                "retention: {verb} {rows_deleted} row(s) in {files_removed} file(s) across {tables} table(s); \
                 {skipped} skipped"
            )
        }
    }
}

/// The line saying which "now" a run used, when it was the wall clock.
pub fn now_note(plan: &RetentionPlan) -> Option<String> {
    plan.now_defaulted.then(|| {
        let now =
            chrono::DateTime::from_timestamp_millis(plan.options.now_ms).map(rfc3339).unwrap_or_default();
        format!("no --now: judging ages at the wall clock, {now} ({} ms)", plan.options.now_ms)
    })
}
