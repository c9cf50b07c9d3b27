//! Per-record classification: PII, FINANCIAL, SENSITIVITY_<level> and compliance tags.
//!
//! The sensitivity level comes from a documented score of content and context, the compliance
//! tags from [`super::compliance`]'s rule table (`docs/governance.md`).

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::compliance::{self, Compliance};
use super::pii::{Finding, PiiType, Recognizers};
use crate::record::Transaction;

/// How sensitive a record is, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sensitivity {
    /// Score below 2: no amount and no personal data.
    Low,
    /// Score 2 to below 5: a financial record, or weak personal data.
    Medium,
    /// Score 5 to below 10: personal data in a financial record.
    High,
    /// Score 10 or more: card or social security numbers, or several kinds of personal data.
    Critical,
}

impl Sensitivity {
    /// The level of a score in thousandths of a point.
    pub fn of(score_milli: u32) -> Sensitivity {
        match score_milli {
            0..2_000 => Sensitivity::Low,
            2_000..5_000 => Sensitivity::Medium,
            5_000..10_000 => Sensitivity::High,
            _ => Sensitivity::Critical,
        }
    }

    /// The tag: `SENSITIVITY_LOW`, ..., `SENSITIVITY_CRITICAL`.
    pub fn tag(self) -> &'static str {
        match self {
            Sensitivity::Low => "SENSITIVITY_LOW",
            Sensitivity::Medium => "SENSITIVITY_MEDIUM",
            Sensitivity::High => "SENSITIVITY_HIGH",
            Sensitivity::Critical => "SENSITIVITY_CRITICAL",
        }
    }
}

/// Points a financial record (one with an amount) scores, thousandths.
pub const FINANCIAL_POINTS: u32 = 2_000;
/// Points an amount of at least [`LARGE_AMOUNT`] adds, thousandths.
pub const LARGE_AMOUNT_POINTS: u32 = 1_000;
/// An amount (absolute, in the record's currency) from which a record scores
/// [`LARGE_AMOUNT_POINTS`].
pub const LARGE_AMOUNT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// Points for two or more kinds of personal data in one record (they link), thousandths.
pub const LINKED_POINTS: u32 = 2_000;

/// Points of one kind of personal data at confidence 1 (scaled by the best confidence of that
/// kind in the record).
pub fn weight(kind: PiiType) -> u32 {
    match kind {
        PiiType::PaymentCard | PiiType::UsSsn => 10,
        PiiType::Iban => 8,
        PiiType::DateOfBirth | PiiType::Address => 5,
        PiiType::PersonName | PiiType::Email | PiiType::Phone => 4,
        PiiType::IpAddress => 3,
    }
}

/// A record's classification.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Classification {
    /// Any finding at or above the reporting threshold.
    pub pii: bool,
    /// The record is financial: it has an amount, or a card number or IBAN was found.
    pub financial: bool,
    /// The sensitivity level of [`Classification::score_milli`].
    pub sensitivity: Sensitivity,
    /// The sensitivity score, thousandths of a point.
    pub score_milli: u32,
    /// The compliance tags whose rules hold, in rule-table order.
    pub compliance: Vec<Compliance>,
    /// The kinds of personal data found, each once, in [`PiiType`] order.
    pub pii_types: Vec<PiiType>,
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Classification {
    /// The tags, as the reference design names them: `PII` (if any), `FINANCIAL` (if so),
    /// `SENSITIVITY_<level>`, then the compliance tags (`GDPR`, `PCI-DSS`, `SOX`).
    pub fn tags(&self) -> Vec<&'static str> {
        tags(self.pii, self.financial, self.sensitivity, &self.compliance)
    }
}

/// The reference design's tags of a classification: `PII` (if any), `FINANCIAL` (if so),
/// `SENSITIVITY_<level>`, then the compliance tags.
pub fn tags(
    pii: bool,
    financial: bool,
    sensitivity: Sensitivity,
    compliance: &[Compliance],
) -> Vec<&'static str> {
    let mut tags = Vec::with_capacity(3 + compliance.len());
    if pii {
        tags.push("PII");
    }
    if financial {
        tags.push("FINANCIAL");
    }
    tags.push(sensitivity.tag());
    tags.extend(compliance.iter().map(|c| c.tag()));
    tags
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (score {:.3})", self.tags().join(" "), f64::from(self.score_milli) / 1000.0)
    }
}

/// What a record's content gives the rules and the score.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The record has an amount.
    pub has_amount: bool,
    /// The record has a transactionId and an amount: a financial transaction record.
    pub transaction_record: bool,
    /// |amount| >= [`LARGE_AMOUNT`].
    pub large_amount: bool,
    /// Per kind of personal data found, the best confidence (thousandths).
    pub best: BTreeMap<PiiType, u16>,
}

impl Facts {
    /// The facts of `record` with `findings`.
    pub fn of(record: &Transaction, findings: &[Finding]) -> Facts {
        let mut best = BTreeMap::new();
        for finding in findings {
            let slot = best.entry(finding.kind).or_insert(0);
            *slot = (*slot).max(finding.confidence.milli());
        }
        Facts {
            has_amount: record.amount.is_some(),
            transaction_record: record.amount.is_some()
                && record.transaction_id.as_deref().is_some_and(|id| !id.is_empty()),
            large_amount: record.amount.is_some_and(|a| a.abs() >= LARGE_AMOUNT),
            best,
        }
    }

    /// The sensitivity score, thousandths: [`FINANCIAL_POINTS`] for an amount,
    /// [`LARGE_AMOUNT_POINTS`] for a large one, per kind of personal data its
    /// [`weight`] times its best confidence, and [`LINKED_POINTS`] for two kinds or more.
    pub fn score_milli(&self) -> u32 {
        let mut score = 0;
        if self.has_amount {
            score += FINANCIAL_POINTS;
        }
        if self.large_amount {
            score += LARGE_AMOUNT_POINTS;
        }
        score += self.best.iter().map(|(kind, milli)| weight(*kind) * u32::from(*milli)).sum::<u32>();
        if self.best.len() >= 2 {
            score += LINKED_POINTS;
        }
        score
    }
}

/// Classifies `record` given its `findings` (as [`Recognizers::scan`] returns them).
pub fn classify(record: &Transaction, findings: Vec<Finding>) -> Classification {
    let facts = Facts::of(record, &findings);
    let score_milli = facts.score_milli();
    Classification {
        pii: !findings.is_empty(),
        financial: facts.has_amount
            || facts.best.contains_key(&PiiType::PaymentCard)
            || facts.best.contains_key(&PiiType::Iban),
        sensitivity: Sensitivity::of(score_milli),
        score_milli,
        compliance: compliance::tags(&facts),
        pii_types: facts.best.keys().copied().collect(),
        findings,
    }
}

/// Scans `record` with `recognizers` and classifies it: the function the dataflow operator
/// applies to each record.
pub fn classify_record(recognizers: &Recognizers, record: &Transaction) -> Classification {
    classify(record, recognizers.scan(record))
}
