//! The policy sections of a spec: the example file, defaults, and what is refused.

use std::path::Path;

use super::*;
use crate::dataflow::expectations::Rule;
use crate::governance::PiiType;
use crate::governance::policy::{Outcome, PiiAction, decide, rbac::AccessRequest, spec::AccessAction};

const EXAMPLE: &str = include_str!("../../dataflows/governance.yaml");

fn parse(text: &str) -> Result<PipelineSpec, String> {
    PipelineSpec::parse(text, "t").map_err(|e| e.to_string())
}

#[test]
fn the_example_spec_parses_with_every_section() {
    let spec =
        PipelineSpec::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/dataflows/governance.yaml")))
            .unwrap();
    let governance = spec.governance_policies.as_ref().unwrap();
    let retention = governance.data_retention.as_ref().unwrap();
    assert_eq!(
        (retention.retention_period.days, retention.encryption_required, retention.audit_trail_required),
        (2555, true, true)
    );
    assert_eq!(governance.access_control.as_ref().unwrap().roles.len(), 4);
    let rules = &governance.data_quality.as_ref().unwrap().validation_rules;
    assert_eq!(rules["amount"], Rule::PositiveNumber);
    assert_eq!(governance.pii_handling.action(PiiType::Email), PiiAction::Tokenize);
    assert_eq!(governance.pii_handling.action(PiiType::Phone), PiiAction::Mask);
    let rbac = spec.rbac_policies.as_ref().unwrap();
    assert!(rbac.roles["data_scientist"].restrictions.no_pii_access);
    // The spec's roles decide: an analyst reads the snapshot masked.
    let request = AccessRequest {
        role: "analyst",
        action: AccessAction::Read,
        resource: "quality_current",
        pii_column: true,
        at_ms: 0,
        approval_id: None,
    };
    assert_eq!(decide(rbac, &request).outcome, Outcome::AllowMasked);
}

#[test]
fn validation_rules_add_to_the_expectations_without_repeating_them() {
    let spec = parse(EXAMPLE).unwrap();
    // The reference policy already checks all three: nothing is added.
    assert_eq!(spec.effective_expectations(), spec.expectations);
    let text = EXAMPLE.replace("      timestamp: within_24_hours", "      userId: not_null");
    let spec = parse(&text).unwrap();
    let added: Vec<String> =
        spec.effective_expectations()[spec.expectations.len()..].iter().map(|e| e.name.clone()).collect();
    assert_eq!(added, ["userId_not_null"]);
}

#[test]
fn policies_are_optional_and_unknown_keys_are_errors() {
    assert_eq!(PipelineSpec::builtin().unwrap().governance_policies, None);
    let typo = EXAMPLE.replace("encryption_required: true", "encrypt_required: true");
    assert!(parse(&typo).unwrap_err().contains("encrypt_required"));
    let typo =
        EXAMPLE.replace("no_pii_access: true\n        time_limits", "no_pii: true\n        time_limits");
    assert!(parse(&typo).unwrap_err().contains("no_pii"));
}

#[test]
fn bad_values_are_refused_with_their_place() {
    for (from, to, expected) in [
        ("retention_period: 7 years", "retention_period: forever", "retention_period"),
        ("retention_period: 7 years", "retention_period: 0d", "at least one day"),
        ("roles: [data_scientist,", "roles: [ghost,", "role `ghost` is not defined"),
        ("currency: iso_4217_code", "currency: positive_number", "applies to `amount`"),
        ("      email: tokenize", "      e_mail: tokenize", "unknown PII type `e_mail`"),
        ("start: \"09:00\"", "start: \"19:00\"", "start before end"),
        ("utc_offset: \"+00:00\"", "utc_offset: \"CET\"", "utc_offset"),
        ("require_approval: [export]", "require_approval: [publish]", "publish"),
        ("time_limits: business_hours", "time_limits: weekends", "weekends"),
        ("token_key_env: TRUSTFLOW_TOKEN_KEY", "token_key_env: \"\"", "token_key_env"),
    ] {
        assert!(EXAMPLE.contains(from), "{from}");
        let err = parse(&EXAMPLE.replace(from, to)).unwrap_err();
        assert!(err.contains(expected), "{to}: {err}");
    }
}
