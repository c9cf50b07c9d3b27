//! The recognizers together: every string of a transaction scanned and resolved.
//!
//! Context applied, findings below the threshold dropped, overlaps resolved.

use regex::Regex;

use super::context::{self, FieldContext};
use super::error::PiiError;
use super::finding::{Confidence, Finding, Scored};
use super::{card, dob, email, iban, ip, keyed, phone, ssn};
use crate::record::Transaction;

/// Findings below this confidence are not reported (Presidio's default for a match raised by
/// context is 0.4 as well).
pub const REPORT_THRESHOLD: Confidence = Confidence::from_milli(400);

/// The column names of [`Transaction`]'s string fields, as findings name them.
pub const STRING_COLUMNS: [&str; 3] = ["transactionId", "userId", "currency"];

/// Every recognizer, with its patterns compiled once. Build one per worker (or share one:
/// it is `Sync`) and call [`Recognizers::scan`] per record.
#[derive(Clone, Debug)]
pub struct Recognizers {
    email: Regex,
    phone: Regex,
    card: Regex,
    iban: Regex,
    ssn: Regex,
    ipv4: Regex,
    ipv6: Regex,
    dob: Regex,
    threshold: Confidence,
    columns: [FieldContext; 3],
}

impl Recognizers {
    /// The recognizers, reporting findings at or above [`REPORT_THRESHOLD`].
    pub fn new() -> Result<Recognizers, PiiError> {
        let compile = |name: &'static str, pattern: &str| {
            Regex::new(pattern).map_err(|source| PiiError::Pattern { name, source })
        };
        let recognizers = Recognizers {
            email: compile("email", email::PATTERN)?,
            phone: compile("phone", phone::PATTERN)?,
            card: compile("payment_card", card::PATTERN)?,
            iban: compile("iban", iban::PATTERN)?,
            ssn: compile("us_ssn", ssn::PATTERN)?,
            ipv4: compile("ipv4", ip::V4_PATTERN)?,
            ipv6: compile("ipv6", ip::V6_PATTERN)?,
            dob: compile("date_of_birth", dob::PATTERN)?,
            threshold: REPORT_THRESHOLD,
            columns: STRING_COLUMNS.map(FieldContext::of),
        };
        tracing::debug!(threshold = %recognizers.threshold, "PII recognizers compiled");
        Ok(recognizers)
    }

    /// The same recognizers reporting findings at or above `threshold` instead.
    pub fn with_threshold(mut self, threshold: Confidence) -> Recognizers {
        self.threshold = threshold;
        self
    }

    /// The reporting threshold.
    pub fn threshold(&self) -> Confidence {
        self.threshold
    }

    /// Every scored match in `text` before the threshold and overlap resolution: the pattern
    /// recognizers, then context, then the keyed ones (names, addresses) when `keyed` is set.
    /// `reference_ms` is the event time that dates of birth are judged against.
    pub fn candidates(
        &self,
        text: &str,
        field: &FieldContext,
        keyed: bool,
        reference_ms: Option<i64>,
    ) -> Vec<Scored> {
        let mut out = self.patterns(text, reference_ms);
        for scored in &mut out {
            context::apply(scored, text, field);
        }
        if keyed {
            keyed::find(field, text, &mut out);
        }
        out
    }

    /// The pattern recognizers' matches in `text`, before context.
    fn patterns(&self, text: &str, reference_ms: Option<i64>) -> Vec<Scored> {
        let mut out = Vec::new();
        email::find(&self.email, text, &mut out);
        phone::find(&self.phone, text, &mut out);
        card::find(&self.card, text, &mut out);
        iban::find(&self.iban, text, &mut out);
        ssn::find(&self.ssn, text, &mut out);
        ip::find(&self.ipv4, &self.ipv6, text, &mut out);
        dob::find(&self.dob, text, reference_ms, &mut out);
        out
    }

    /// The kept matches in one text: candidates at or above the threshold, and of overlapping
    /// ones only the most confident (then the longest, then the first), in text order.
    fn resolve(&self, text: &str, context: Context<'_>, reference_ms: Option<i64>) -> Vec<Scored> {
        let mut out = self.patterns(text, reference_ms);
        let keyed = match context {
            Context::Key(key) => keyed::may_be_keyed(key),
            Context::Known(_) | Context::Nothing => false,
        };
        if out.is_empty() && !keyed {
            return out;
        }
        let built;
        let field = match context {
            Context::Known(field) => field,
            Context::Key(key) => {
                built = FieldContext::of(key);
                &built
            }
            Context::Nothing => {
                built = FieldContext::none();
                &built
            }
        };
        for scored in &mut out {
            context::apply(scored, text, field);
        }
        if keyed {
            keyed::find(field, text, &mut out);
        }
        out.retain(|s| s.confidence() >= self.threshold);
        out.sort_by(|a, b| {
            b.milli
                .cmp(&a.milli)
                .then((b.span.end - b.span.start).cmp(&(a.span.end - a.span.start)))
                .then(a.span.start.cmp(&b.span.start))
                .then(a.kind.cmp(&b.kind))
        });
        let mut kept: Vec<Scored> = Vec::with_capacity(out.len());
        for candidate in out {
            if kept.iter().all(|k| k.span.end <= candidate.span.start || candidate.span.end <= k.span.start) {
                kept.push(candidate);
            }
        }
        kept.sort_by_key(|s| (s.span.start, s.kind));
        kept
    }

    /// The findings in `text`, a value of the field `field` (a metadata key gives its name as
    /// `key`, which is context and may make it a name or address field); see [`Recognizers::scan`].
    pub fn scan_value(
        &self,
        text: &str,
        field: &str,
        key: Option<&str>,
        reference_ms: Option<i64>,
    ) -> Vec<Finding> {
        let context = key.map_or(Context::Nothing, Context::Key);
        self.resolve(text, context, reference_ms).into_iter().map(|s| s.into_finding(field, false)).collect()
    }

    /// The findings in every string of `record`: its string columns (their names are
    /// context), and every metadata key (as text, without context) and value (with its key as
    /// context, and as a name or address where the key says so), ordered by field. Dates of
    /// birth are judged against the record's timestamp.
    pub fn scan(&self, record: &Transaction) -> Vec<Finding> {
        let reference = record.timestamp;
        let mut findings = Vec::new();
        let columns = [&record.transaction_id, &record.user_id, &record.currency];
        for ((name, context), value) in STRING_COLUMNS.iter().zip(&self.columns).zip(columns) {
            if let Some(value) = value {
                let found = self.resolve(value, Context::Known(context), reference);
                findings.extend(found.into_iter().map(|s| s.into_finding(name, false)));
            }
        }
        if let Some(metadata) = &record.metadata {
            for (key, value) in metadata.iter() {
                let in_key = self.resolve(key, Context::Nothing, reference);
                let in_value = self.resolve(value, Context::Key(key), reference);
                if in_key.is_empty() && in_value.is_empty() {
                    continue;
                }
                let field = format!("metadata.{key}");
                findings.extend(in_key.into_iter().map(|s| s.into_finding(&field, true)));
                findings.extend(in_value.into_iter().map(|s| s.into_finding(&field, false)));
            }
        }
        findings
    }
}

/// Where a text's context comes from.
#[derive(Clone, Copy)]
enum Context<'a> {
    /// A column's words, split once.
    Known(&'a FieldContext),
    /// A metadata key, split only if needed.
    Key(&'a str),
    /// No context (a metadata key itself).
    Nothing,
}
