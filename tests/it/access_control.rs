//! Issue 7, item 6: `query --role` and `export --role` under the spec's rbac_policies: PII
//! masked for a role without PII access, clear for one with it, a denied read or export
//! refused (an export needing approval without one); every decision audited in a
//! hash-chained log that `trustflow audit verify` checks.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trustflow::cli::audit::{AuditRecord, verify_audit_log};
use trustflow::governance::pii::Recognizers;
use trustflow::governance::policy::Outcome;

use crate::support::{read_delta, read_delta_with, root, run_trustflow, trustflow};

const NOW: &str = "1767225600000";

/// The JSON lines a command printed.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every PII text the recognizers find in a printed row's userId and metadata values.
fn pii_in(row: &Value, recognizers: &Recognizers) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(user) = row["userId"].as_str() {
        found.extend(
            recognizers.scan_value(user, "userId", None, None).iter().map(|f| user[f.span()].to_owned()),
        );
    }
    if let Some(metadata) = row["metadata"].as_object() {
        for (key, value) in metadata {
            let Some(value) = value.as_str() else { continue };
            let field = format!("metadata.{key}");
            let findings = recognizers.scan_value(value, &field, Some(key), None);
            found.extend(findings.iter().map(|f| value[f.span()].to_owned()));
        }
    }
    found
}

/// Generated events with planted PII (20% of rows), checked by `batch` into
/// `DIR/out/quality_current`: (the output root, the table).
fn governed_table(dir: &Path) -> (PathBuf, PathBuf) {
    let input = dir.join("events.jsonl");
    let input_s = input.to_str().unwrap();
    let args =
        ["generate", "--jsonl", input_s, "--count", "2000", "--pii-rate", "0.2", "--seed", "7", "--now", NOW];
    trustflow(&args);
    let out = dir.join("out");
    let table = out.join("quality_current");
    // Written in clear (the default policy would mask it at the sink), so that the read path's
    // own masking is what is tested.
    let clear = dir.join("clear.yaml");
    let text = std::fs::read_to_string(root().join("dataflows/governance.yaml"))
        .unwrap()
        .replace("encryption_required: true", "encryption_required: false");
    let (head, tail) = text.split_once("  pii_handling:").unwrap();
    let tail = &tail[tail.find("rbac_policies:").unwrap()..];
    std::fs::write(&clear, format!("{head}  pii_handling: {{default: clear}}\n{tail}")).unwrap();
    let args = ["batch", "--input", input_s, "--output", table.to_str().unwrap(), "--now", NOW];
    trustflow(&[&args[..], &["--config", clear.to_str().unwrap()]].concat());
    (out, table)
}

/// `trustflow audit verify LOG`: its exit code, stdout and stderr.
fn audit_verify(log: &Path) -> (Option<i32>, String, String) {
    let output = run_trustflow(&["audit", "verify", log.to_str().unwrap()], &[]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

fn audit_records(log: &Path) -> Vec<AuditRecord> {
    std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Issue 7: generated events with planted PII, checked by `batch` into `out/quality_current`;
/// an analyst (no_pii_access) sees every planted value masked and the same counts, a
/// compliance officer sees them in clear, an analyst reading `quality` (not in its read list)
/// is refused with exit code 77 and nothing printed; three audit lines, chained and verified;
/// a query without --role audits nothing; altering a line breaks verification.
#[test]
fn issue_7_query_role_masks_denies_and_audits() {
    let dir = tempfile::tempdir().unwrap();
    let (out, table) = governed_table(dir.path());
    let table_s = table.to_str().unwrap();
    let spec = root().join("dataflows/governance.yaml");
    let spec_s = spec.to_str().unwrap();
    let log = out.join("_audit_log.jsonl");
    let recognizers = Recognizers::new().unwrap();

    let query = |role: &str, table: &str| {
        let args = [
            "query", table, "--rows", "5000", "--json", "--role", role, "--config", spec_s, "--user", "jane",
        ];
        run_trustflow(&args, &[])
    };

    // Clear, as a compliance officer (read: ["*"], audit_all_access).
    let officer = query("compliance_officer", table_s);
    assert!(officer.status.success(), "{}", String::from_utf8_lossy(&officer.stderr));
    let officer = json_lines(&officer.stdout);
    let clear: Vec<String> = officer[1..].iter().flat_map(|row| pii_in(row, &recognizers)).collect();
    assert!(clear.len() > 100, "too little planted PII found in clear: {}", clear.len());
    assert_eq!(officer[0]["access"]["decision"], "allow");

    // Masked, as an analyst (no_pii_access): same rows and counts, no clear PII left.
    let analyst = query("analyst", table_s);
    assert!(analyst.status.success(), "{}", String::from_utf8_lossy(&analyst.stderr));
    let text = String::from_utf8_lossy(&analyst.stdout).into_owned();
    let analyst = json_lines(&analyst.stdout);
    assert_eq!(analyst.len(), officer.len());
    for key in ["rows", "inserts", "deletes", "consolidated_rows", "version"] {
        assert_eq!(analyst[0][key], officer[0][key], "{key}");
    }
    assert_eq!(analyst[0]["access"]["decision"], "allow_masked");
    let leaked: Vec<&String> = clear.iter().filter(|pii| text.contains(pii.as_str())).collect();
    assert!(leaked.is_empty(), "clear PII in the analyst's output: {leaked:?}");
    for (a, o) in analyst[1..].iter().zip(&officer[1..]) {
        assert_eq!(a["transactionId"], o["transactionId"]);
        assert_eq!(a["amount"], o["amount"]);
    }

    // Denied: `quality` is not among the analyst's tables.
    let denied = query("analyst", out.join("quality").to_str().unwrap());
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(77), "{stderr}");
    assert!(denied.stdout.is_empty());
    assert!(
        stderr.contains("access denied") && stderr.contains("`analyst`") && stderr.contains("`quality`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Without --role: today's query, nothing audited.
    trustflow(&["query", table_s]);

    let records = audit_records(&log);
    assert_eq!(records.len(), 3, "{records:?}");
    let (o, a, d) = (&records[0], &records[1], &records[2]);
    assert_eq!(
        (o.role.as_str(), o.decision, o.user.as_str()),
        ("compliance_officer", Outcome::Allow, "jane")
    );
    assert_eq!(o.records_accessed, officer.len() - 1);
    assert!(o.columns_masked.is_empty());
    assert_eq!((a.decision, a.resource.as_str()), (Outcome::AllowMasked, "quality_current"));
    assert!(a.columns_masked.contains(&"metadata".to_owned()) && a.values_masked > 100, "{a:?}");
    assert_eq!(a.version, Some(0));
    assert_eq!((d.decision, d.resource.as_str(), d.version), (Outcome::Deny, "quality", None));
    assert!(d.reason.contains("may not read table `quality`"), "{}", d.reason);
    assert_eq!(d.action, "read");
    let chain = verify_audit_log(&log).unwrap();
    assert_eq!((chain.entries, &chain.head), (3, &d.hash));
    let (code, stdout, stderr) = audit_verify(&log);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("3 entries") && stdout.contains(&d.hash), "{stdout}");

    // Tamper evidence: turning the denial into an allow breaks the chain at line 3, and
    // `audit verify` says so with exit code 65.
    let original = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, original.replace("\"decision\":\"deny\"", "\"decision\":\"allow\"")).unwrap();
    assert!(verify_audit_log(&log).unwrap_err().to_string().contains("line 3"));
    let (code, stdout, stderr) = audit_verify(&log);
    assert_eq!(code, Some(65), "{stdout}{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("altered") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // Removing the first line breaks the chain at the line after it.
    let lines: Vec<&str> = original.lines().collect();
    std::fs::write(&log, format!("{}\n{}\n", lines[1], lines[2])).unwrap();
    let (code, _, stderr) = audit_verify(&log);
    assert_eq!(code, Some(65), "{stderr}");
    assert!(stderr.contains("line 1") && stderr.contains("removed or reordered"), "{stderr}");
    let (code, _, stderr) = audit_verify(&out.join("missing.jsonl"));
    assert_eq!(code, Some(1), "{stderr}");
}

/// Issue 7: `export --role`: an analyst (no_pii_access) exports the consolidated table with
/// every planted PII value masked, a compliance officer exports it in clear (Parquet, equal
/// to the table's consolidation as Python reads it), a data engineer (require_approval:
/// [export]) is refused without an approval id (exit 77, nothing written) and allowed with
/// one; every export is audited, the chain verifies with `audit verify`.
#[test]
fn issue_7_export_role_masks_requires_approval_and_audits() {
    let dir = tempfile::tempdir().unwrap();
    let (out, table) = governed_table(dir.path());
    let table_s = table.to_str().unwrap();
    let spec = root().join("dataflows/governance.yaml");
    let spec_s = spec.to_str().unwrap();
    let log = out.join("_audit_log.jsonl");
    let recognizers = Recognizers::new().unwrap();
    let export = |role: &str, table: &str, to: &Path, extra: &[&str]| {
        let mut args =
            vec!["export", table, "--to", to.to_str().unwrap(), "--json", "--role", role, "--config", spec_s];
        args.extend_from_slice(&["--user", "jane"]);
        args.extend_from_slice(extra);
        run_trustflow(&args, &[])
    };
    let table_report = read_delta(&table, true);

    // Clear, as a compliance officer, to Parquet: the table's consolidation, row for row.
    let clear_file = dir.path().join("exports/officer.parquet");
    let officer = export("compliance_officer", table_s, &clear_file, &[]);
    assert!(officer.status.success(), "{}", String::from_utf8_lossy(&officer.stderr));
    let summary: Value = serde_json::from_slice(&officer.stdout).unwrap();
    assert_eq!((&summary["format"], &summary["access"]["decision"]), (&json!("parquet"), &json!("allow")));
    assert_eq!(summary["rows"], table_report["consolidated_rows"]);
    let exported = read_delta_with(&clear_file, &["--parquet", "--rows"], &[]);
    assert!(exported["consolidated"] == table_report["consolidated"], "the export is not the table's rows");

    // Masked, as an analyst, to JSON lines: the same rows, no clear PII left.
    let masked_file = dir.path().join("analyst.jsonl");
    let analyst = export("analyst", table_s, &masked_file, &[]);
    assert!(analyst.status.success(), "{}", String::from_utf8_lossy(&analyst.stderr));
    let summary: Value = serde_json::from_slice(&analyst.stdout).unwrap();
    assert_eq!(summary["access"]["decision"], json!("allow_masked"));
    assert!(summary["access"]["values_masked"].as_u64().unwrap() > 100, "{summary}");
    let text = std::fs::read_to_string(&masked_file).unwrap();
    let masked_rows = json_lines(text.as_bytes());
    assert_eq!(json!(masked_rows.len()), table_report["consolidated_rows"]);
    let clear_copy = dir.path().join("officer.jsonl");
    assert!(export("compliance_officer", table_s, &clear_copy, &[]).status.success());
    let clear_rows = json_lines(std::fs::read(&clear_copy).unwrap().as_slice());
    let clear: Vec<String> = clear_rows.iter().flat_map(|row| pii_in(row, &recognizers)).collect();
    assert!(clear.len() > 100, "too little planted PII found in clear: {}", clear.len());
    let leaked: Vec<&String> = clear.iter().filter(|pii| text.contains(pii.as_str())).collect();
    assert!(leaked.is_empty(), "clear PII in the analyst's export: {leaked:?}");
    for (a, o) in masked_rows.iter().zip(&clear_rows) {
        assert_eq!((&a["transactionId"], &a["amount"]), (&o["transactionId"], &o["amount"]));
    }

    // An engineer's export needs an approval id: refused without, nothing written.
    let quality = out.join("quality_current");
    let denied_file = dir.path().join("engineer.jsonl");
    let denied = export("data_engineer", quality.to_str().unwrap(), &denied_file, &[]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(77), "{stderr}");
    assert!(
        stderr.contains("access denied") && stderr.contains("needs an approval id to export"),
        "{stderr}"
    );
    assert!(!denied_file.exists() && denied.stdout.is_empty());
    let approved =
        export("data_engineer", quality.to_str().unwrap(), &denied_file, &["--approval", "CHG-42"]);
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    // An existing file is not replaced without --overwrite (and nothing is audited).
    let again = export("data_engineer", quality.to_str().unwrap(), &denied_file, &["--approval", "CHG-42"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    // Without --role: no access control, no audit; --changes exports the stored rows.
    let changes = dir.path().join("changes.jsonl");
    trustflow(&["export", table_s, "--to", changes.to_str().unwrap(), "--changes"]);
    assert_eq!(json!(json_lines(std::fs::read(&changes).unwrap().as_slice()).len()), table_report["rows"]);

    let records = audit_records(&log);
    let summary: Vec<(&str, Outcome, Option<&str>)> =
        records.iter().map(|r| (r.role.as_str(), r.decision, r.approval_id.as_deref())).collect();
    assert_eq!(
        summary,
        [
            ("compliance_officer", Outcome::Allow, None),
            ("analyst", Outcome::AllowMasked, None),
            ("compliance_officer", Outcome::Allow, None),
            ("data_engineer", Outcome::Deny, None),
            ("data_engineer", Outcome::Allow, Some("CHG-42")),
        ]
    );
    assert!(records.iter().all(|r| r.action == "export" && r.resource == "quality_current"));
    assert_eq!(records[1].records_accessed, masked_rows.len());
    assert!(records[1].columns_masked.contains(&"metadata".to_owned()), "{:?}", records[1]);
    assert_eq!(records[0].filter["format"], json!("parquet"));
    assert_eq!(records[3].version, None);
    let (code, stdout, stderr) = audit_verify(&log);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("5 entries"), "{stdout}");
}

/// Issue 7: --role without --config is a usage error (2); a spec without rbac_policies is
/// refused with a clear message.
#[test]
fn issue_7_query_role_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("quality");
    let table = table.to_str().unwrap();
    let output = run_trustflow(&["query", table, "--role", "analyst"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let spec = root().join("dataflows/quality.yaml");
    let output =
        run_trustflow(&["query", table, "--role", "analyst", "--config", spec.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no rbac_policies"), "{stderr}");
}
