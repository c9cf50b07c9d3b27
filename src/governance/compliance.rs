//! Compliance tags (GDPR, PCI-DSS, SOX) from a declarative rule table over a record's facts.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::classify::Facts;
use super::pii::PiiType;

/// A compliance regime a record falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Compliance {
    /// EU General Data Protection Regulation: personal data of a natural person.
    #[serde(rename = "GDPR")]
    Gdpr,
    /// Payment Card Industry Data Security Standard: cardholder data.
    #[serde(rename = "PCI-DSS")]
    PciDss,
    /// Sarbanes-Oxley: records of financial transactions.
    #[serde(rename = "SOX")]
    Sox,
}

impl Compliance {
    /// The tag: `GDPR`, `PCI-DSS`, `SOX`.
    pub fn tag(self) -> &'static str {
        match self {
            Compliance::Gdpr => "GDPR",
            Compliance::PciDss => "PCI-DSS",
            Compliance::Sox => "SOX",
        }
    }
}

impl fmt::Display for Compliance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// When a rule holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// A finding of any of these types (at or above the reporting threshold).
    AnyFound(&'static [PiiType]),
    /// The record is a financial transaction: a transactionId and an amount.
    TransactionRecord,
}

impl Condition {
    /// Whether the condition holds for `facts`.
    pub fn holds(self, facts: &Facts) -> bool {
        match self {
            Condition::AnyFound(kinds) => kinds.iter().any(|kind| facts.best.contains_key(kind)),
            Condition::TransactionRecord => facts.transaction_record,
        }
    }
}

/// One row of the rule table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The tag it sets.
    pub tag: Compliance,
    /// When.
    pub when: Condition,
    /// Why, for docs and audits.
    pub why: &'static str,
}

/// The rule table (`docs/governance.md` shows it). A tag is set when its rule holds.
pub const RULES: [Rule; 3] = [
    Rule {
        tag: Compliance::Gdpr,
        when: Condition::AnyFound(&[
            PiiType::Email,
            PiiType::Phone,
            PiiType::PersonName,
            PiiType::Address,
            PiiType::DateOfBirth,
            PiiType::IpAddress,
            PiiType::Iban,
        ]),
        why: "data identifying or locating a natural person (GDPR art. 4(1)); a US SSN alone is not",
    },
    Rule {
        tag: Compliance::PciDss,
        when: Condition::AnyFound(&[PiiType::PaymentCard]),
        why: "a primary account number is cardholder data (PCI DSS 4.0, req. 3)",
    },
    Rule {
        tag: Compliance::Sox,
        when: Condition::TransactionRecord,
        why: "a record of a financial transaction with its amount feeds financial reporting (SOX s. 404)",
    },
];

/// The tags whose rules hold for `facts`, in table order.
pub fn tags(facts: &Facts) -> Vec<Compliance> {
    RULES.iter().filter(|rule| rule.when.holds(facts)).map(|rule| rule.tag).collect()
}
