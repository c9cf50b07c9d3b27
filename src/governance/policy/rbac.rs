//! The access decision: role, action, resource, PII column and time -> allow, masked or deny.

use chrono::{DateTime, Datelike, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use super::spec::{AccessAction, BusinessHours, Day, RbacPolicies, TimeLimit, minutes_of, offset_minutes};

/// What the decision allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Clear values.
    Allow,
    /// Values of PII columns masked.
    AllowMasked,
    /// Nothing.
    Deny,
}

/// One access to decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// The requesting role.
    pub role: &'a str,
    /// What it wants to do.
    pub action: AccessAction,
    /// The table (read, export) or job (execute).
    pub resource: &'a str,
    /// Whether the column read holds PII (ask once per column, or once for a table with any).
    pub pii_column: bool,
    /// When, epoch milliseconds.
    pub at_ms: i64,
    /// The approval id presented, if any.
    pub approval_id: Option<&'a str>,
}

/// The decision on one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Allow, allow masked, or deny.
    pub outcome: Outcome,
    /// Why, in words for the user and the audit log.
    pub reason: String,
    /// Whether this access must be audited even where only sensitive access is: the role
    /// has `audit_all_access`, or the request is denied, touches PII, or exports.
    pub audit: bool,
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (also none) and
/// `?` exactly one; everything else matches itself, case-sensitively.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((star_p, star_n)) = star {
            pi = star_p + 1;
            ni = star_n + 1;
            star = Some((star_p, star_n + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `at_ms` falls within `hours` (on one of its days, start inclusive, end exclusive, in
/// its UTC offset). Invalid hours (which validation refuses) contain no time.
pub fn within(hours: &BusinessHours, at_ms: i64) -> bool {
    let (Some(start), Some(end), Some(offset)) =
        (minutes_of(&hours.start), minutes_of(&hours.end), offset_minutes(&hours.utc_offset))
    else {
        return false;
    };
    let Some(local) = DateTime::from_timestamp_millis(at_ms.saturating_add(i64::from(offset) * 60_000))
    else {
        return false;
    };
    let day = match local.weekday() {
        Weekday::Mon => Day::Mon,
        Weekday::Tue => Day::Tue,
        Weekday::Wed => Day::Wed,
        Weekday::Thu => Day::Thu,
        Weekday::Fri => Day::Fri,
        Weekday::Sat => Day::Sat,
        Weekday::Sun => Day::Sun,
    };
    let minute = local.hour() * 60 + local.minute();
    hours.days.contains(&day) && (start..end).contains(&minute)
}

/// Decides `request` under `policies`, in this order: an unknown role is denied; a resource
/// the role's `read` (tables) or `execute` (jobs) patterns do not match is denied; outside the
/// role's time limit, denied; an action in `require_approval` without an approval id, denied;
/// a PII column for a role with `no_pii_access`, allowed masked; otherwise allowed.
pub fn decide(policies: &RbacPolicies, request: &AccessRequest<'_>) -> Decision {
    let Some(role) = policies.roles.get(request.role) else {
        return Decision {
            outcome: Outcome::Deny,
            reason: format!("role `{}` is not defined", request.role),
            audit: true,
        };
    };
    let restrictions = &role.restrictions;
    let audit = restrictions.audit_all_access || request.pii_column || request.action == AccessAction::Export;
    let deny = |reason: String| Decision { outcome: Outcome::Deny, reason, audit: true };
    let (patterns, kind) = match request.action {
        AccessAction::Execute => (&role.execute, "job"),
        AccessAction::Read | AccessAction::Export => (&role.read, "table"),
    };
    let Some(pattern) = patterns.iter().find(|p| wildcard_match(p, request.resource)) else {
        return deny(format!(
            "role `{}` may not {} {kind} `{}`",
            request.role,
            request.action.name(),
            request.resource
        ));
    };
    if restrictions.time_limits == Some(TimeLimit::BusinessHours)
        && !within(&policies.business_hours, request.at_ms)
    {
        let hours = &policies.business_hours;
        return deny(format!(
            "role `{}` is limited to business hours ({:?} {}-{} UTC{})",
            request.role, hours.days, hours.start, hours.end, hours.utc_offset
        ));
    }
    if restrictions.require_approval.contains(&request.action)
        && request.approval_id.is_none_or(str::is_empty)
    {
        return deny(format!("role `{}` needs an approval id to {}", request.role, request.action.name()));
    }
    if request.pii_column && restrictions.no_pii_access {
        return Decision {
            outcome: Outcome::AllowMasked,
            reason: format!(
                "`{}` matches `{pattern}`; role `{}` has no PII access",
                request.resource, request.role
            ),
            audit,
        };
    }
    Decision { outcome: Outcome::Allow, reason: format!("`{}` matches `{pattern}`", request.resource), audit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::policy::spec::RbacPolicies;

    /// Thursday 2026-01-01 10:00 UTC.
    const THURSDAY_10: i64 = 1_767_261_600_000;
    const HOUR: i64 = 3_600_000;

    fn policies() -> RbacPolicies {
        serde_yaml_ng::from_str(
            r#"
roles:
  data_scientist:
    read: ["transactions_clean", "features_*"]
    execute: ["ml_training_*"]
    restrictions:
      no_pii_access: true
      time_limits: business_hours
  compliance_officer:
    read: ["*"]
    restrictions:
      audit_all_access: true
  data_engineer:
    read: ["*"]
    execute: ["etl_*"]
    restrictions:
      require_approval: [export]
"#,
        )
        .unwrap()
    }

    fn request(
        role: &str,
        action: AccessAction,
        resource: &str,
        pii: bool,
        at_ms: i64,
    ) -> AccessRequest<'static> {
        AccessRequest {
            role: Box::leak(role.to_owned().into_boxed_str()),
            action,
            resource: Box::leak(resource.to_owned().into_boxed_str()),
            pii_column: pii,
            at_ms,
            approval_id: None,
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("features_*", "features_v2"));
        assert!(wildcard_match("features_*", "features_"));
        assert!(!wildcard_match("features_*", "feature_v2"));
        assert!(wildcard_match("q?ality", "quality"));
        assert!(wildcard_match("*_current", "quality_current"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(!wildcard_match("quality", "Quality"));
    }

    #[test]
    fn the_decision_table() {
        let p = policies();
        use AccessAction::*;
        let outcome = |r: AccessRequest<'_>| decide(&p, &r).outcome;
        assert_eq!(
            outcome(request("data_scientist", Read, "features_v2", false, THURSDAY_10)),
            Outcome::Allow
        );
        assert_eq!(
            outcome(request("data_scientist", Read, "features_v2", true, THURSDAY_10)),
            Outcome::AllowMasked
        );
        assert_eq!(outcome(request("data_scientist", Read, "quality", false, THURSDAY_10)), Outcome::Deny);
        assert_eq!(
            outcome(request("data_scientist", Execute, "ml_training_daily", false, THURSDAY_10)),
            Outcome::Allow
        );
        assert_eq!(
            outcome(request("data_scientist", Execute, "etl_nightly", false, THURSDAY_10)),
            Outcome::Deny
        );
        // Business hours: 09:00 to 18:00 UTC, Monday to Friday.
        assert_eq!(
            outcome(request("data_scientist", Read, "features_v2", false, THURSDAY_10 - 2 * HOUR)),
            Outcome::Deny
        );
        assert_eq!(
            outcome(request("data_scientist", Read, "features_v2", false, THURSDAY_10 + 8 * HOUR)),
            Outcome::Deny
        );
        assert_eq!(
            outcome(request("data_scientist", Read, "features_v2", false, THURSDAY_10 + 2 * 24 * HOUR)),
            Outcome::Deny
        );
        assert_eq!(
            outcome(request("compliance_officer", Read, "quality", true, THURSDAY_10 - 8 * HOUR)),
            Outcome::Allow
        );
        assert_eq!(outcome(request("nobody", Read, "quality", false, THURSDAY_10)), Outcome::Deny);
        // Exports need an approval id where required.
        let mut export = request("data_engineer", Export, "quality", true, THURSDAY_10);
        let denied = decide(&p, &export);
        assert_eq!(denied.outcome, Outcome::Deny);
        assert!(denied.reason.contains("approval"), "{}", denied.reason);
        export.approval_id = Some("CHG-42");
        assert_eq!(decide(&p, &export).outcome, Outcome::Allow);
        assert_eq!(outcome(request("data_engineer", Read, "quality", true, THURSDAY_10)), Outcome::Allow);
    }

    #[test]
    fn reasons_and_audit_flags() {
        let p = policies();
        let masked =
            decide(&p, &request("data_scientist", AccessAction::Read, "features_v2", true, THURSDAY_10));
        assert!(masked.reason.contains("no PII access") && masked.audit, "{masked:?}");
        let plain =
            decide(&p, &request("data_scientist", AccessAction::Read, "features_v2", false, THURSDAY_10));
        assert!(!plain.audit);
        let officer =
            decide(&p, &request("compliance_officer", AccessAction::Read, "quality", false, THURSDAY_10));
        assert!(officer.audit);
        let denied =
            decide(&p, &request("data_scientist", AccessAction::Read, "quality", false, THURSDAY_10));
        assert!(denied.audit && denied.reason.contains("may not read table `quality`"), "{denied:?}");
    }

    #[test]
    fn business_hours_in_another_offset() {
        let hours = BusinessHours { utc_offset: "+09:00".into(), ..BusinessHours::default() };
        // Thursday 10:00 UTC is 19:00 in UTC+9: closed; 01:00 UTC is 10:00 there: open.
        assert!(!within(&hours, THURSDAY_10));
        assert!(within(&hours, THURSDAY_10 - 9 * HOUR));
        assert!(within(&BusinessHours::default(), THURSDAY_10));
    }
}
