//! Governance policies from the spec, and the pure functions sinks and read paths call.
//!
//! * [`spec`]: the YAML shape, validated; [`retention`]: retention periods.
//! * [`mask`], [`token`], [`protect`]: what a sink writes for each finding.
//! * [`rbac`]: the access decision.

pub mod error;
pub mod mask;
pub mod protect;
pub mod rbac;
pub mod retention;
pub mod spec;
pub mod token;

pub use error::PolicyError;
pub use mask::mask;
pub use protect::{protect_record, protect_value};
pub use rbac::{AccessRequest, Decision, Outcome, decide, wildcard_match};
pub use retention::RetentionPeriod;
pub use spec::{
    AccessAction, GovernancePolicies, PiiAction, PiiHandling, RbacPolicies, Restrictions, RolePolicy,
};
pub use token::Tokenizer;
