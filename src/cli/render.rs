//! Printing `query` and `maintain` results (and the access lines `export` shares): aligned text
//! for people, JSON lines for programs.

use std::io::{self, Write};
use std::time::Duration;

use arrow::json::WriterBuilder;
use arrow::json::writer::LineDelimited;
use deltalake::arrow::compute::{concat_batches, sort_to_indices, take_record_batch};
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::json;

use super::access::AccessNote;
use super::tables::{MaintainReport, QueryReport};
use crate::sink::columns::EPOCH;
use crate::sink::maintain::{MaintainError, TableAt};

/// Cells longer than this are cut (with `…`) in the text table.
const CELL_CHARS: usize = 40;

/// The first `n` stored rows of the table in epoch order (any order without `_epoch`).
pub fn first_by_epoch(table: &TableAt, n: usize) -> Result<Vec<RecordBatch>, MaintainError> {
    if table.batches.is_empty() || n == 0 {
        return Ok(Vec::new());
    }
    let all = concat_batches(&table.schema, &table.batches).map_err(MaintainError::arrow("reading rows"))?;
    let first = match table.schema.index_of(EPOCH) {
        Ok(i) => {
            let indices = sort_to_indices(all.column(i), None, Some(n.min(all.num_rows())))
                .map_err(MaintainError::arrow("ordering rows by epoch"))?;
            take_record_batch(&all, &indices).map_err(MaintainError::arrow("ordering rows by epoch"))?
        }
        Err(_) => all.slice(0, n.min(all.num_rows())),
    };
    Ok(vec![first])
}

/// Writes what `query` found: a summary, then the rows.
pub fn write_query(out: &mut dyn Write, report: &QueryReport, json: bool) -> io::Result<()> {
    let (table, counts) = (&report.table, &report.counts);
    let committed = table.committed_at.map(crate::sink::maintain::open::rfc3339);
    let shown: usize = report.rows.iter().map(RecordBatch::num_rows).sum();
    if json {
        let summary = json!({
            "table": table.url, "version": table.version, "committed_at": committed,
            "rows": counts.rows, "inserts": counts.inserts, "deletes": counts.deletes,
            "consolidated_rows": counts.consolidated, "negative": counts.negative,
            "columns": table.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(),
            "rows_shown": shown,
        });
        let mut summary = summary;
        if let Some(access) = &report.access {
            summary["access"] = access_json(access);
        }
        writeln!(out, "{summary}")?;
        let mut writer = WriterBuilder::new().with_explicit_nulls(true).build::<_, LineDelimited>(&mut *out);
        for batch in &report.rows {
            writer.write(batch).map_err(io_error)?;
        }
        return writer.finish().map_err(io_error);
    }
    writeln!(out, "table         {}", table.url)?;
    let at = committed.map(|t| format!(", committed {t}")).unwrap_or_default();
    writeln!(out, "version       {}{at}", table.version)?;
    writeln!(out, "rows          {} ({} inserts, {} deletes)", counts.rows, counts.inserts, counts.deletes)?;
    writeln!(out, "consolidated  {} rows", counts.consolidated)?;
    if counts.negative > 0 {
        writeln!(
            out,
            "warning       {} distinct rows are deleted more often than inserted",
            counts.negative
        )?;
    }
    if let Some(access) = &report.access {
        write_access(out, access)?;
    }
    if shown > 0 {
        writeln!(out)?;
        write_table(out, &report.rows)?;
    }
    Ok(())
}

/// The access decision and what masking and audit did, as the JSON summaries' `access`.
pub fn access_json(access: &AccessNote) -> serde_json::Value {
    json!({
        "role": access.role, "decision": access.decision.outcome, "reason": access.decision.reason,
        "columns_masked": access.masked.columns, "values_masked": access.masked.values,
        "audit_log": access.audit_log.as_ref().map(|p| p.display().to_string()),
    })
}

/// The access decision and what masking and audit did, as aligned text lines.
pub fn write_access(out: &mut dyn Write, access: &AccessNote) -> io::Result<()> {
    let outcome = serde_json::to_value(access.decision.outcome).unwrap_or_default();
    let outcome = outcome.as_str().unwrap_or("?");
    writeln!(out, "access        {outcome} as role {}: {}", access.role, access.decision.reason)?;
    if !access.masked.columns.is_empty() {
        let columns: Vec<&str> = access.masked.columns.iter().map(String::as_str).collect();
        writeln!(out, "masked        {} values in {}", access.masked.values, columns.join(", "))?;
    }
    if let Some(log) = &access.audit_log {
        writeln!(out, "audited       {}", log.display())?;
    }
    Ok(())
}

/// The I/O error inside an Arrow error (so that a closed pipe stays recognisable).
fn io_error(error: ArrowError) -> io::Error {
    match error {
        ArrowError::IoError(_, error) => error,
        other => io::Error::other(other),
    }
}

/// The rows as an aligned text table with a header.
fn write_table(out: &mut dyn Write, batches: &[RecordBatch]) -> io::Result<()> {
    let Some(first) = batches.first() else { return Ok(()) };
    let mut lines: Vec<Vec<String>> =
        vec![first.schema().fields().iter().map(|f| f.name().clone()).collect()];
    let options = FormatOptions::default().with_null("null");
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io::Error::other)?;
        for i in 0..batch.num_rows() {
            lines.push(formatters.iter().map(|f| cut(f.value(i).to_string())).collect());
        }
    }
    let widths: Vec<usize> =
        (0..lines[0].len()).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
    for (n, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            writeln!(out, "{}", rule.join("  "))?;
        }
    }
    Ok(())
}

/// `cell`, cut to [`CELL_CHARS`] characters.
fn cut(cell: String) -> String {
    if cell.chars().count() <= CELL_CHARS {
        return cell;
    }
    let mut cut: String = cell.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Writes one `maintain` result: a sentence, or a JSON object.
pub fn write_maintain(out: &mut dyn Write, report: &MaintainReport, json: bool) -> io::Result<()> {
    if json {
        return writeln!(out, "{}", serde_json::to_string(report).map_err(io::Error::other)?);
    }
    match report {
        MaintainReport::Compact(c) if c.files_removed == 0 => writeln!(
            out,
            "{}: compact: nothing to do (no two neighbouring files under {}), version {}",
            c.url,
            bytes(c.target_file_size),
            c.version
        ),
        MaintainReport::Compact(c) => writeln!(
            out,
            "{}: compacted {} files ({}) into {} ({}), {} rows unchanged; version {}",
            c.url,
            c.files_removed,
            bytes(c.bytes_removed),
            c.files_added,
            bytes(c.bytes_added),
            c.rows,
            c.version
        ),
        MaintainReport::Snapshot(s) if s.up_to_date => writeln!(
            out,
            "{}: snapshot {} is up to date with changelog version {} (snapshot version {})",
            s.changelog, s.snapshot, s.source_version, s.version
        ),
        MaintainReport::Snapshot(s) => writeln!(
            out,
            "{}: snapshot {} now holds changelog version {}: {} rows in {} file(s), replacing {}; snapshot version {}",
            s.changelog, s.snapshot, s.source_version, s.rows, s.files_added, s.files_removed, s.version
        ),
        MaintainReport::Checkpoint(c) => writeln!(
            out,
            "{}: checkpoint at version {} {}; {} expired log file(s) removed",
            c.url,
            c.version,
            if c.created { "written" } else { "already there" },
            c.expired_logs_removed
        ),
        MaintainReport::Vacuum(v) => {
            let verb = if v.dry_run { "would delete" } else { "deleted" };
            let retention = humantime::format_duration(Duration::from_secs(v.retention_secs));
            writeln!(out, "{}: vacuum (retention {retention}) {verb} {} file(s)", v.url, v.files.len())?;
            if v.dry_run {
                for file in &v.files {
                    writeln!(out, "  {file}")?;
                }
            }
            Ok(())
        }
    }
}

/// A byte count for people: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
