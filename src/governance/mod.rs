//! Governance in the stream: PII detection, classification and the policies sinks apply.
//!
//! Issue 7, items 1 to 3, and what the pipeline's sinks apply ([`govern`]).
//!
//! * [`pii`]: recognizers in Presidio's model (pattern, validation, context words -> a
//!   confidence with its evidence) for e-mail, phone, card (Luhn), IBAN (mod-97), US SSN,
//!   IP, date of birth, and names and addresses under keys that say so.
//! * [`classify`]: per record PII / FINANCIAL / SENSITIVITY_<level> from a documented score;
//!   [`compliance`]: GDPR / PCI-DSS / SOX from a rule table.
//! * [`operator`]: [`operator::classified`], the classification as a differential operator.
//! * [`policy`]: the spec's `governance_policies` and `rbac_policies`; masking, keyed
//!   tokenization (HMAC-SHA256) and the RBAC decision as plain functions.
//! * [`govern`]: [`Governor`], the policy a run's sinks apply to every row, and the
//!   [`Label`] (tags and protected fields, no values) written beside it.
//! * [`bench`]: the scan-and-classify loop the `pii` benchmark measures.
//! * [`eval`]: precision and recall on a labelled corpus, scored alike for trustflow and
//!   Presidio (`trustflow pii eval`).
//!
//! Everything here is pure: no I/O. The model, scores and formats: `docs/governance.md`.

pub mod bench;
pub mod classify;
pub mod compliance;
pub mod eval;
pub mod govern;
pub mod operator;
pub mod pii;
pub mod policy;

pub use classify::{Classification, Sensitivity, classify, classify_record};
pub use compliance::Compliance;
pub use govern::{GovernError, Governor, Label, Protected};
pub use operator::{classified, governed, governed_late};
pub use pii::{Finding, PiiType, Recognizers};

#[cfg(test)]
mod generated_tests;
