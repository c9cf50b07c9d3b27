//! Issue 7, item 6: `query --role` under the spec's rbac_policies: PII masked for a role
//! without PII access, clear for one with it, a denied read refused; every decision audited
//! in a hash-chained log.

use std::path::Path;

use serde_json::Value;
use trustflow::cli::access::{AuditRecord, verify_audit_log};
use trustflow::governance::pii::Recognizers;
use trustflow::governance::policy::Outcome;

use crate::support::{root, run_trustflow, trustflow};

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
    let input = dir.path().join("events.jsonl");
    let input_s = input.to_str().unwrap();
    trustflow(&[
        "generate",
        "--jsonl",
        input_s,
        "--count",
        "2000",
        "--pii-rate",
        "0.2",
        "--seed",
        "7",
        "--now",
        NOW,
    ]);
    let out = dir.path().join("out");
    let table = out.join("quality_current");
    let table_s = table.to_str().unwrap();
    let spec = root().join("dataflows/governance.yaml");
    let spec_s = spec.to_str().unwrap();
    // Written in clear (the default policy would mask it at the sink), so that the read path's
    // own masking is what is tested.
    let clear = dir.path().join("clear.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let (head, tail) = text.split_once("  pii_handling:").unwrap();
    let tail = &tail[tail.find("rbac_policies:").unwrap()..];
    std::fs::write(&clear, format!("{head}  pii_handling: {{default: clear}}\n{tail}")).unwrap();
    trustflow(&[
        "batch",
        "--input",
        input_s,
        "--output",
        table_s,
        "--now",
        NOW,
        "--config",
        clear.to_str().unwrap(),
    ]);
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
    assert_eq!(verify_audit_log(&log).unwrap(), 3);

    // Tamper evidence: turning the denial into an allow breaks the chain.
    let original = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, original.replace("\"decision\":\"deny\"", "\"decision\":\"allow\"")).unwrap();
    assert!(verify_audit_log(&log).unwrap_err().to_string().contains("line 3"));
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
