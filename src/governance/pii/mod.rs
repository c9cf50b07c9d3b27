//! PII recognizers in Presidio's model: pattern, validation, context, confidence.
//!
//! A pattern finds a candidate, validation (checksums, numbering rules, calendar dates) sets its
//! score, and context words in the field name or next to the match raise or lower it; findings
//! at or above a threshold are reported with their evidence.
//!
//! * [`finding`]: [`PiiType`], [`Finding`], [`Confidence`], [`Evidence`].
//! * One module per recognizer: [`email`], [`phone`], [`card`] (Luhn), [`iban`] (mod-97),
//!   [`ssn`], [`ip`], [`dob`], and [`keyed`] (names and addresses, only under a key that says so).
//! * [`context`]: field-name words and the context table.
//! * [`scan`]: [`Recognizers`], every string of a transaction scanned.
//!
//! The scores and words are documented in `docs/governance.md`.

pub mod card;
pub mod context;
pub mod dob;
pub mod email;
pub mod error;
pub mod finding;
pub mod iban;
pub mod ip;
pub mod keyed;
pub mod phone;
pub mod scan;
pub mod ssn;

pub use error::PiiError;
pub use finding::{Confidence, Evidence, Finding, PiiType, Signal};
pub use scan::{REPORT_THRESHOLD, Recognizers};

#[cfg(test)]
mod tests;
