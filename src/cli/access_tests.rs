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
    assert_eq!(
        analyst.decide(AccessAction::Read, "quality_current", THURSDAY_10).outcome,
        Outcome::AllowMasked
    );
    let denied = analyst.decide(AccessAction::Read, "quality", THURSDAY_10);
    assert_eq!(denied.outcome, Outcome::Deny);
    assert!(denied.reason.contains("may not read table `quality`"), "{}", denied.reason);
    let officer = plan(dir.path(), "compliance_officer");
    assert_eq!(officer.decide(AccessAction::Read, "quality", THURSDAY_10).outcome, Outcome::Allow);
    assert_eq!(
        plan(dir.path(), "nobody").decide(AccessAction::Read, "quality", THURSDAY_10).outcome,
        Outcome::Deny
    );
    // The data scientist is limited to business hours: Thursday 08:00 UTC is outside.
    let scientist = plan(dir.path(), "data_scientist");
    assert_eq!(
        scientist.decide(AccessAction::Read, "quality_current", THURSDAY_10 - 2 * 3_600_000).outcome,
        Outcome::Deny
    );
    assert!(analyst.audited(AccessAction::Read, Outcome::Deny, 0));
}

#[test]
fn audited_without_a_trail_requirement() {
    let dir = tempfile::tempdir().unwrap();
    let mut analyst = plan(dir.path(), "analyst");
    analyst.audit_trail_required = false;
    assert!(analyst.audited(AccessAction::Read, Outcome::Deny, 0));
    assert!(!analyst.audited(AccessAction::Read, Outcome::AllowMasked, 0));
    assert!(analyst.audited(AccessAction::Read, Outcome::AllowMasked, 3));
    let mut officer = plan(dir.path(), "compliance_officer");
    officer.audit_trail_required = false;
    assert!(officer.audited(AccessAction::Read, Outcome::Allow, 0));
}

#[test]
fn decisions_for_export() {
    let dir = tempfile::tempdir().unwrap();
    let engineer = plan(dir.path(), "data_engineer");
    assert_eq!(engineer.decide(AccessAction::Read, "quality", THURSDAY_10).outcome, Outcome::Allow);
    let denied = engineer.decide(AccessAction::Export, "quality", THURSDAY_10);
    assert_eq!(denied.outcome, Outcome::Deny);
    assert!(denied.reason.contains("needs an approval id to export"), "{}", denied.reason);
    let mut approved = engineer.clone();
    approved.approval_id = Some("CHG-1".into());
    assert_eq!(approved.decide(AccessAction::Export, "quality", THURSDAY_10).outcome, Outcome::Allow);
    let analyst = plan(dir.path(), "analyst");
    let export = analyst.decide(AccessAction::Export, "quality_current", THURSDAY_10);
    assert_eq!(export.outcome, Outcome::AllowMasked);
    // Exports are always audited, even without a trail requirement or masking.
    let mut quiet = approved;
    quiet.audit_trail_required = false;
    assert!(!quiet.audited(AccessAction::Read, Outcome::Allow, 0));
    assert!(quiet.audited(AccessAction::Export, Outcome::Allow, 0));
}
