//! The policy sections of a pipeline spec: `governance_policies` and `rbac_policies`.
//!
//! In the reference design's shape: data_retention, access_control, data_quality (and
//! trustflow's pii_handling); roles, restrictions and business hours. Unknown keys are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::PolicyError;
use super::retention::RetentionPeriod;
use crate::dataflow::expectations::{Action, Expectation, Rule};
use crate::governance::pii::PiiType;

/// `governance_policies`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GovernancePolicies {
    /// How long data is kept and how it is protected at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_retention: Option<DataRetention>,
    /// The roles of the pipeline's users (each defined in `rbac_policies` when that is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<AccessControl>,
    /// Validation rules per column, in the reference design's vocabulary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_quality: Option<DataQuality>,
    /// How sinks write personal data (trustflow's addition). Default: everything masked.
    #[serde(default)]
    pub pii_handling: PiiHandling,
}

/// `governance_policies.data_retention`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataRetention {
    /// How long data is kept, e.g. `7 years` ([`RetentionPeriod::parse`]).
    pub retention_period: RetentionPeriod,
    /// Tables must be written encrypted (Parquet modular encryption, AES-256-GCM) or refused.
    #[serde(default)]
    pub encryption_required: bool,
    /// The environment variable holding the table key (64 hex digits) for
    /// `encryption_required`. Default: `TRUSTFLOW_ENCRYPTION_KEY`.
    #[serde(default = "encryption_key_env")]
    pub encryption_key_env: String,
    /// Every access must leave an audit entry.
    #[serde(default)]
    pub audit_trail_required: bool,
}

/// `governance_policies.access_control`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessControl {
    /// The role names in use.
    pub roles: Vec<String>,
}

/// `governance_policies.data_quality`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DataQuality {
    /// Column -> rule, e.g. `amount: positive_number`, `currency: iso_4217_code`,
    /// `timestamp: within_24_hours`: the same rules as the spec's `expectations`.
    pub validation_rules: BTreeMap<String, Rule>,
}

impl DataQuality {
    /// The rules as `warn` expectations named `<column>_<rule>`.
    pub fn expectations(&self) -> Vec<Expectation> {
        self.validation_rules
            .iter()
            .map(|(column, rule)| {
                let rule_name = serde_json::to_value(rule).ok();
                let rule_name = rule_name.as_ref().and_then(|v| v.as_str()).unwrap_or("rule");
                Expectation {
                    name: format!("{column}_{rule_name}"),
                    column: column.clone(),
                    rule: *rule,
                    action: Action::Warn,
                }
            })
            .collect()
    }
}

/// What a sink does with a piece of personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiAction {
    /// Replace it by a mask that keeps a hint (`j***@example.com`, `**** **** **** 1234`).
    Mask,
    /// Replace it by a keyed, deterministic token (joins on tokens still work).
    Tokenize,
    /// Write it as it is.
    Clear,
}

/// `governance_policies.pii_handling`: the default action and overrides per PII type.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PiiHandling {
    /// The action for every type not in `by_type`. Default: `mask`.
    #[serde(default = "mask")]
    pub default: PiiAction,
    /// Per type (`email`, `payment_card`, ... as in findings), an action of its own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_type: BTreeMap<String, PiiAction>,
    /// The environment variable holding the tokenization key (hex). Default:
    /// `TRUSTFLOW_TOKEN_KEY`.
    #[serde(default = "token_key_env")]
    pub token_key_env: String,
}

impl PiiAction {
    /// The action's name in the spec: `mask`, `tokenize`, `clear`.
    pub fn name(self) -> &'static str {
        match self {
            PiiAction::Mask => "mask",
            PiiAction::Tokenize => "tokenize",
            PiiAction::Clear => "clear",
        }
    }
}

fn encryption_key_env() -> String {
    "TRUSTFLOW_ENCRYPTION_KEY".to_owned()
}

impl GovernancePolicies {
    /// The variable holding the table key, when `data_retention.encryption_required` is set.
    pub fn encryption_key_env(&self) -> Option<&str> {
        let retention = self.data_retention.as_ref().filter(|r| r.encryption_required)?;
        Some(retention.encryption_key_env.as_str())
    }
}

fn mask() -> PiiAction {
    PiiAction::Mask
}

fn token_key_env() -> String {
    "TRUSTFLOW_TOKEN_KEY".to_owned()
}

impl Default for PiiHandling {
    fn default() -> Self {
        PiiHandling { default: PiiAction::Mask, by_type: BTreeMap::new(), token_key_env: token_key_env() }
    }
}

impl PiiHandling {
    /// The action for `kind`.
    pub fn action(&self, kind: PiiType) -> PiiAction {
        self.by_type.get(kind.name()).copied().unwrap_or(self.default)
    }

    /// Whether any type is tokenized (then a key is needed).
    pub fn tokenizes(&self) -> bool {
        self.default == PiiAction::Tokenize || self.by_type.values().any(|a| *a == PiiAction::Tokenize)
    }
}

/// `rbac_policies`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RbacPolicies {
    /// What `time_limits: business_hours` means. Default: Monday to Friday, 09:00 to 18:00 UTC.
    #[serde(default)]
    pub business_hours: BusinessHours,
    /// Role name -> its permissions and restrictions.
    pub roles: BTreeMap<String, RolePolicy>,
}

/// One role of `rbac_policies.roles`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RolePolicy {
    /// Tables the role may read: names or patterns with `*` (any run of characters) and `?`
    /// (one character), e.g. `transactions_*`, `*`.
    #[serde(default)]
    pub read: Vec<String>,
    /// Jobs the role may run, the same kind of patterns.
    #[serde(default)]
    pub execute: Vec<String>,
    /// What limits the role.
    #[serde(default)]
    pub restrictions: Restrictions,
}

/// `restrictions` of a role.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Restrictions {
    /// PII columns are shown masked to this role.
    #[serde(default)]
    pub no_pii_access: bool,
    /// Access only within these times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limits: Option<TimeLimit>,
    /// Every access of this role is audited (not only denied and PII ones).
    #[serde(default)]
    pub audit_all_access: bool,
    /// Actions that need an approval id (e.g. `[export]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_approval: Vec<AccessAction>,
}

/// A time window a role is limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimit {
    /// `rbac_policies.business_hours`.
    BusinessHours,
}

/// What a request wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessAction {
    /// Read a table (`trustflow query`).
    Read,
    /// Export a table's data out of the platform.
    Export,
    /// Run a job.
    Execute,
}

impl AccessAction {
    /// The action's name in specs and audit entries.
    pub fn name(self) -> &'static str {
        match self {
            AccessAction::Read => "read",
            AccessAction::Export => "export",
            AccessAction::Execute => "execute",
        }
    }
}

/// Weekdays of business hours, as specs write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

/// `rbac_policies.business_hours`: days, and a start and end time of day (`HH:MM`, end
/// exclusive) at a fixed UTC offset (`+01:00`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The weekdays.
    pub days: Vec<Day>,
    /// First minute, `HH:MM`.
    pub start: String,
    /// First minute after, `HH:MM`.
    pub end: String,
    /// The offset from UTC the times are in, `+HH:MM` or `-HH:MM`. Default `+00:00`.
    #[serde(default = "utc")]
    pub utc_offset: String,
}

fn utc() -> String {
    "+00:00".to_owned()
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
            start: "09:00".to_owned(),
            end: "18:00".to_owned(),
            utc_offset: utc(),
        }
    }
}

/// Minutes after midnight of `HH:MM` (00:00 to 24:00).
pub fn minutes_of(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let digits = h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit());
    if !digits || !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

/// Minutes east of UTC of `+HH:MM` / `-HH:MM`.
pub fn offset_minutes(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let minutes = minutes_of(rest).filter(|m| *m <= 14 * 60)?;
    Some(sign * i32::try_from(minutes).ok()?)
}

impl GovernancePolicies {
    /// Checks what the types alone do not; `rbac` is the spec's `rbac_policies`, if any.
    pub fn validate(&self, rbac: Option<&RbacPolicies>) -> Result<(), PolicyError> {
        if let Some(access) = &self.access_control {
            let what = "governance_policies.access_control.roles";
            let mut seen = std::collections::BTreeSet::new();
            for role in &access.roles {
                if role.is_empty() || !seen.insert(role) {
                    return Err(PolicyError::invalid(what, format!("empty or repeated role `{role}`")));
                }
                if let Some(rbac) = rbac.filter(|rbac| !rbac.roles.contains_key(role)) {
                    let known: Vec<&String> = rbac.roles.keys().collect();
                    return Err(PolicyError::invalid(
                        what,
                        format!("role `{role}` is not defined in rbac_policies.roles (defined: {known:?})"),
                    ));
                }
            }
        }
        if let Some(quality) = &self.data_quality
            && let Some(problem) = quality.expectations().iter().find_map(Expectation::problem)
        {
            return Err(PolicyError::invalid("governance_policies.data_quality.validation_rules", problem));
        }
        if self.encryption_key_env().is_some_and(|var| var.trim().is_empty()) {
            return Err(PolicyError::invalid(
                "governance_policies.data_retention.encryption_key_env",
                "encryption_required needs the name of the variable that holds the key",
            ));
        }
        let handling = &self.pii_handling;
        if let Some(unknown) = handling.by_type.keys().find(|name| PiiType::from_name(name).is_none()) {
            let known: Vec<&str> = PiiType::ALL.iter().map(|t| t.name()).collect();
            return Err(PolicyError::invalid(
                "governance_policies.pii_handling.by_type",
                format!("unknown PII type `{unknown}` (one of {known:?})"),
            ));
        }
        if handling.tokenizes() && handling.token_key_env.trim().is_empty() {
            return Err(PolicyError::invalid(
                "governance_policies.pii_handling.token_key_env",
                "tokenize needs the name of the variable that holds the key",
            ));
        }
        Ok(())
    }
}

impl RbacPolicies {
    /// Checks what the types alone do not.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let hours = &self.business_hours;
        let what = "rbac_policies.business_hours";
        let (start, end) = (minutes_of(&hours.start), minutes_of(&hours.end));
        match (start, end) {
            (Some(start), Some(end)) if start < end => {}
            _ => {
                return Err(PolicyError::invalid(
                    what,
                    format!(
                        "start `{}` and end `{}` must be HH:MM with start before end",
                        hours.start, hours.end
                    ),
                ));
            }
        }
        if hours.days.is_empty() {
            return Err(PolicyError::invalid(what, "days must name at least one day"));
        }
        if offset_minutes(&hours.utc_offset).is_none() {
            return Err(PolicyError::invalid(
                what,
                format!("utc_offset `{}` must be +HH:MM or -HH:MM (at most 14 hours)", hours.utc_offset),
            ));
        }
        if self.roles.is_empty() {
            return Err(PolicyError::invalid("rbac_policies.roles", "define at least one role"));
        }
        for (name, role) in &self.roles {
            let what = format!("rbac_policies.roles.{name}");
            if name.is_empty() {
                return Err(PolicyError::invalid("rbac_policies.roles", "a role name is empty"));
            }
            if let Some(pattern) = role.read.iter().chain(&role.execute).find(|p| p.trim().is_empty()) {
                return Err(PolicyError::invalid(what, format!("empty table or job pattern `{pattern}`")));
            }
        }
        Ok(())
    }
}
