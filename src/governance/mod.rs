//! Governance in the stream: PII detection, classification and the policies sinks apply.
//!
//! Issue 7, items 1 to 3; the pipeline wiring comes later.
//!
//! * [`pii`]: recognizers in Presidio's model (pattern, validation, context words -> a
//!   confidence with its evidence) for e-mail, phone, card (Luhn), IBAN (mod-97), US SSN,
//!   IP, date of birth, and names and addresses under keys that say so.
//!
//! Everything here is pure: no I/O. The model, scores and formats: `docs/governance.md`.

pub mod pii;

pub use pii::{Finding, PiiType, Recognizers};
