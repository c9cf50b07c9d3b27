use super::*;

fn write_spec(dir: &Path) -> PathBuf {
    let path = dir.join("spec.yaml");
    let base = std::fs::read_to_string(repo().join("dataflows/governance.yaml")).unwrap();
    std::fs::write(&path, base).unwrap();
    path
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plan(dir: &Path, role: &str) -> AccessPlan {
    let table = Location::parse(dir.join("out/quality_current").to_str().unwrap()).unwrap();
    AccessPlan::from_args(&table, Some(role), Some(&write_spec(dir)), Some("jane"), None, None)
        .unwrap()
        .unwrap()
}

/// Thursday 2026-01-01 10:00 UTC.
const THURSDAY_10: i64 = 1_767_261_600_000;

#[test]
fn flags_and_default_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let table = Location::parse(dir.path().join("out/quality").to_str().unwrap()).unwrap();
    assert!(AccessPlan::from_args(&table, None, None, None, None, None).unwrap().is_none());
    assert!(AccessPlan::from_args(&table, None, None, Some("jane"), None, None).is_err());
    assert!(AccessPlan::from_args(&table, Some("analyst"), None, None, None, None).is_err());
    let access = plan(dir.path(), "analyst");
    assert_eq!(access.audit_log, dir.path().join("out").join(DEFAULT_AUDIT_LOG));
    assert_eq!(access.user, "jane");
    assert!(access.audit_trail_required);
    let azure = Location::parse("az://container/out/quality").unwrap();
    let spec = write_spec(dir.path());
    let error = AccessPlan::from_args(&azure, Some("analyst"), Some(&spec), None, None, None).unwrap_err();
    assert!(error.to_string().contains("--audit-log"), "{error}");
}

#[test]
fn decisions_for_query() {
    let dir = tempfile::tempdir().unwrap();
    let analyst = plan(dir.path(), "analyst");
    assert_eq!(analyst.decide("quality_current", THURSDAY_10).outcome, Outcome::AllowMasked);
    let denied = analyst.decide("quality", THURSDAY_10);
    assert_eq!(denied.outcome, Outcome::Deny);
    assert!(denied.reason.contains("may not read table `quality`"), "{}", denied.reason);
    let officer = plan(dir.path(), "compliance_officer");
    assert_eq!(officer.decide("quality", THURSDAY_10).outcome, Outcome::Allow);
    assert_eq!(plan(dir.path(), "nobody").decide("quality", THURSDAY_10).outcome, Outcome::Deny);
    // The data scientist is limited to business hours: Thursday 08:00 UTC is outside.
    let scientist = plan(dir.path(), "data_scientist");
    assert_eq!(scientist.decide("quality_current", THURSDAY_10 - 2 * 3_600_000).outcome, Outcome::Deny);
    assert!(analyst.audited(Outcome::Deny, 0));
}

#[test]
fn audited_without_a_trail_requirement() {
    let dir = tempfile::tempdir().unwrap();
    let mut analyst = plan(dir.path(), "analyst");
    analyst.audit_trail_required = false;
    assert!(analyst.audited(Outcome::Deny, 0));
    assert!(!analyst.audited(Outcome::AllowMasked, 0));
    assert!(analyst.audited(Outcome::AllowMasked, 3));
    let mut officer = plan(dir.path(), "compliance_officer");
    officer.audit_trail_required = false;
    assert!(officer.audited(Outcome::Allow, 0));
}

fn rows() -> RecordBatch {
    use deltalake::arrow::array::{Int64Array, MapBuilder, StringBuilder};
    let mut metadata = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    metadata.keys().append_value("contact_email");
    metadata.values().append_value("write to jane.doe@example.com today");
    metadata.keys().append_value("channel");
    metadata.values().append_value("web");
    metadata.append(true).unwrap();
    metadata.keys().append_value("iban");
    metadata.values().append_value("DE89 3704 0044 0532 0130 00");
    metadata.append(true).unwrap();
    metadata.append(false).unwrap();
    let user: StringArray = vec![Some("user_1"), Some("bob@example.org"), None].into_iter().collect();
    let amount = Int64Array::from(vec![1, 2, 3]);
    RecordBatch::try_from_iter([
        ("userId", Arc::new(user) as ArrayRef),
        ("amount", Arc::new(amount) as ArrayRef),
        ("metadata", Arc::new(metadata.finish()) as ArrayRef),
    ])
    .unwrap()
}

#[test]
fn masking_rows_keeps_shape_and_hides_pii() {
    let recognizers = Recognizers::new().unwrap();
    let batch = rows();
    let (masked, what) = mask_rows(std::slice::from_ref(&batch), &recognizers).unwrap();
    let out = &masked[0];
    assert_eq!(out.num_rows(), 3);
    assert_eq!(out.schema(), batch.schema());
    assert_eq!(out.column(1), batch.column(1));
    let users = out.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(users.value(0), "user_1");
    assert_eq!(users.value(1), "b***@example.org");
    assert!(users.is_null(2));
    let map = out.column(2).as_any().downcast_ref::<MapArray>().unwrap();
    let values = map.entries().column(1).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(values.value(0), "write to j***@example.com today");
    assert_eq!(values.value(1), "web");
    assert_eq!(values.value(2), "DE** **** **** **** **30 00");
    assert!(map.is_null(2));
    assert_eq!(what.columns.iter().map(String::as_str).collect::<Vec<_>>(), ["metadata", "userId"]);
    assert_eq!(what.values, 3);
}

#[test]
fn masking_a_slice_counts_only_its_rows() {
    let recognizers = Recognizers::new().unwrap();
    let batch = rows().slice(1, 2);
    let (masked, what) = mask_rows(&[batch], &recognizers).unwrap();
    assert_eq!(masked[0].num_rows(), 2);
    // userId bob@example.org and the IBAN; the first row's e-mail is not shown.
    assert_eq!(what.values, 2);
    let map = masked[0].column(2).as_any().downcast_ref::<MapArray>().unwrap();
    let values = map.value(0);
    let values = values.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(values.value(0), "DE** **** **** **** **30 00");
}

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
    assert_eq!(verify_audit_log(&log).unwrap(), 2);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2);
    std::fs::write(&log, text.replacen("\"deny\"", "\"allow\"", 1)).unwrap();
    let error = verify_audit_log(&log).unwrap_err();
    assert!(error.to_string().contains("line 1") && error.to_string().contains("altered"), "{error}");
    let second_only = text.lines().nth(1).unwrap();
    std::fs::write(&log, format!("{second_only}\n")).unwrap();
    assert!(verify_audit_log(&log).unwrap_err().to_string().contains("removed"));
}
