//! `query` and `maintain`: their validated plans, and running them on the table functions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::args::{MaintainArgs, QueryArgs};
use super::plan::PlanError;
use crate::location::{Location, StorageOptions};
use crate::sink::maintain::{
    self, AsOf, ChangeCounts, CheckpointOutcome, CompactOutcome, Consolidator, MaintainError,
    SnapshotOutcome, TableAt, VacuumOptions, VacuumOutcome,
};

/// What `trustflow query` will do.
#[derive(Debug)]
pub struct QueryPlan {
    /// The table.
    pub table: Location,
    /// Its object store settings.
    pub storage: StorageOptions,
    /// Which version.
    pub as_of: AsOf,
    /// Rows to print.
    pub rows: usize,
    /// Print consolidated rows rather than stored changes.
    pub consolidated: bool,
    /// JSON lines rather than text.
    pub json: bool,
    /// Access control and audit (`--role`), if asked for.
    pub access: Option<super::access::AccessPlan>,
}

impl QueryPlan {
    /// Validates `args`.
    pub fn from_args(args: QueryArgs) -> Result<QueryPlan, PlanError> {
        let table = Location::parse(&args.table).map_err(|e| PlanError::new(format!("TABLE: {e}")))?;
        let as_of = as_of(args.version, args.as_of.as_deref())?;
        let access = super::access::AccessPlan::from_access_args(&table, &args.access)?;
        Ok(QueryPlan {
            access,
            storage: table.storage_from_env(),
            table,
            as_of,
            rows: args.rows,
            consolidated: args.consolidated,
            json: args.json,
        })
    }
}

/// Which version `--version N` / `--as-of TIME` ask for (the newest without either).
pub(crate) fn as_of(version: Option<u64>, as_of: Option<&str>) -> Result<AsOf, PlanError> {
    Ok(match (version, as_of) {
        (Some(version), _) => {
            AsOf::Version(i64::try_from(version).map_err(|_| PlanError::new("--version: too large"))?)
        }
        (None, Some(time)) => AsOf::Time(parse_time(time)?),
        (None, None) => AsOf::Latest,
    })
}

/// A time in RFC 3339, or `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
fn parse_time(text: &str) -> Result<DateTime<Utc>, PlanError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    humantime::parse_rfc3339_weak(text)
        .map(DateTime::<Utc>::from)
        .map_err(|e| PlanError::new(format!("--as-of `{text}`: {e} (expected e.g. 2026-01-31T12:00:00Z)")))
}

/// What `trustflow query` found: the table at a version, its counts and the rows to show.
#[derive(Debug)]
pub struct QueryReport {
    /// The table read.
    pub table: TableAt,
    /// Its rows by kind and consolidated.
    pub counts: ChangeCounts,
    /// The rows to print (at most the plan's `rows`).
    pub rows: Vec<deltalake::arrow::record_batch::RecordBatch>,
    /// With `--role`: the decision and what was masked.
    pub access: Option<super::access::AccessNote>,
}

/// Reads the table as the plan says, counts it and picks the rows to print.
pub async fn run_query(plan: &QueryPlan) -> Result<QueryReport, MaintainError> {
    let table = maintain::read_at(&plan.table.table_uri(), &plan.storage, plan.as_of).await?;
    let mut consolidator = Consolidator::new(&table.schema)?;
    for batch in &table.batches {
        consolidator.push(batch).map_err(|e| e.at(&table.url))?;
    }
    let counts = consolidator.counts();
    let rows = match (plan.rows, plan.consolidated) {
        (0, _) => Vec::new(),
        (n, true) => consolidator.finish(n)?.into_iter().take(1).collect(),
        (n, false) => super::render::first_by_epoch(&table, n)?,
    };
    Ok(QueryReport { table, counts, rows, access: None })
}

/// What `trustflow maintain` will do.
#[derive(Debug)]
pub struct MaintainPlan {
    /// The tables and their object store settings.
    pub tables: Vec<(Location, StorageOptions)>,
    /// Compact, with this target size (`None`: the table's).
    pub compact: Option<Option<u64>>,
    /// Write the snapshot here (one table only), with the settings for both tables.
    pub snapshot: Option<(Location, StorageOptions)>,
    /// Checkpoint.
    pub checkpoint: bool,
    /// Vacuum, so.
    pub vacuum: Option<VacuumOptions>,
    /// JSON lines rather than sentences.
    pub json: bool,
}

impl MaintainPlan {
    /// Validates `args`: at least one action, --snapshot with one table, sizes and durations.
    pub fn from_args(args: MaintainArgs) -> Result<MaintainPlan, PlanError> {
        if !(args.compact || args.snapshot.is_some() || args.checkpoint || args.vacuum) {
            return Err(PlanError::new(
                "nothing to do: pass --compact, --snapshot DEST, --checkpoint and/or --vacuum",
            ));
        }
        let tables = args
            .tables
            .iter()
            .map(|text| {
                let location = Location::parse(text).map_err(|e| PlanError::new(format!("TABLE: {e}")))?;
                Ok((location.clone(), location.storage_from_env()))
            })
            .collect::<Result<Vec<_>, PlanError>>()?;
        let snapshot = match &args.snapshot {
            None => None,
            Some(_) if tables.len() > 1 => {
                return Err(PlanError::new("--snapshot DEST takes exactly one TABLE (the changelog)"));
            }
            Some(text) => {
                let dest = Location::parse(text).map_err(|e| PlanError::new(format!("--snapshot: {e}")))?;
                let any_azure =
                    tables.iter().any(|(l, _)| l.local_path().is_none()) || dest.local_path().is_none();
                let storage = if any_azure { StorageOptions::from_env() } else { StorageOptions::default() };
                Some((dest, storage))
            }
        };
        let target = args.target_size.as_deref().map(parse_size).transpose()?;
        let retention = match args.retain.as_deref() {
            Some(text) => Some(
                humantime::parse_duration(text)
                    .map_err(|e| PlanError::new(format!("--retain `{text}`: {e} (try 7d, 36h or 90min)")))?,
            ),
            None => None,
        };
        Ok(MaintainPlan {
            tables,
            compact: args.compact.then_some(target),
            snapshot,
            checkpoint: args.checkpoint,
            vacuum: args.vacuum.then_some(VacuumOptions {
                retention,
                dry_run: args.dry_run,
                allow_short_retention: args.allow_short_retention,
            }),
            json: args.json,
        })
    }
}

/// A byte size: a number with an optional unit B, K, M, G (powers of 1024; `KiB`, `MB` etc.
/// are read the same way).
pub fn parse_size(text: &str) -> Result<u64, PlanError> {
    let invalid = || PlanError::new(format!("--target-size `{text}`: expected e.g. 128MiB, 64M or 1048576"));
    let digits = text.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(text.trim().len());
    let (number, unit) = text.trim().split_at(digits);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(invalid()),
    };
    match number.checked_mul(1 << shift) {
        Some(size) if size > 0 => Ok(size),
        _ => Err(invalid()),
    }
}

/// One action's result on one table.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MaintainReport {
    /// `--compact`.
    Compact(CompactOutcome),
    /// `--snapshot`.
    Snapshot(SnapshotOutcome),
    /// `--checkpoint`.
    Checkpoint(CheckpointOutcome),
    /// `--vacuum`.
    Vacuum(VacuumOutcome),
}

/// Runs the plan's actions on each table in order (compact, snapshot, checkpoint, vacuum),
/// handing each result to `report` as it comes; stops at the first error.
pub async fn run_maintain(
    plan: &MaintainPlan,
    mut report: impl FnMut(&MaintainReport),
) -> Result<(), MaintainError> {
    for (table, storage) in &plan.tables {
        let url = table.table_uri();
        if let Some(target) = plan.compact {
            report(&MaintainReport::Compact(maintain::compact(&url, storage, target).await?));
        }
        if let Some((dest, both)) = &plan.snapshot {
            report(&MaintainReport::Snapshot(maintain::snapshot(&url, &dest.table_uri(), both).await?));
        }
        if plan.checkpoint {
            report(&MaintainReport::Checkpoint(maintain::checkpoint(&url, storage).await?));
        }
        if let Some(options) = &plan.vacuum {
            report(&MaintainReport::Vacuum(maintain::vacuum(&url, storage, options).await?));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tables_tests.rs"]
mod tests;
