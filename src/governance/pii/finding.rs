//! What a recognizer reports: the PII type, where it is, its confidence and the evidence.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The kinds of personal data the recognizers look for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiType {
    /// An e-mail address.
    Email,
    /// A phone number (E.164, or a US, UK or German national form).
    Phone,
    /// A payment card number (PAN) that passes the Luhn check.
    PaymentCard,
    /// An IBAN with a valid length for its country and a valid mod-97 checksum.
    Iban,
    /// A US social security number outside the never-issued ranges.
    UsSsn,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A date that is plausible as a date of birth.
    DateOfBirth,
    /// A person's name (only where the metadata key says the value is one).
    PersonName,
    /// A postal address (only where the metadata key says the value is one).
    Address,
}

impl PiiType {
    /// Every type, in declaration order.
    pub const ALL: [PiiType; 9] = [
        PiiType::Email,
        PiiType::Phone,
        PiiType::PaymentCard,
        PiiType::Iban,
        PiiType::UsSsn,
        PiiType::IpAddress,
        PiiType::DateOfBirth,
        PiiType::PersonName,
        PiiType::Address,
    ];

    /// The type's name in findings, tokens and docs (`email`, `payment_card`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PiiType::Email => "email",
            PiiType::Phone => "phone",
            PiiType::PaymentCard => "payment_card",
            PiiType::Iban => "iban",
            PiiType::UsSsn => "us_ssn",
            PiiType::IpAddress => "ip_address",
            PiiType::DateOfBirth => "date_of_birth",
            PiiType::PersonName => "person_name",
            PiiType::Address => "address",
        }
    }

    /// The type named `name` (as [`PiiType::name`] spells it).
    pub fn from_name(name: &str) -> Option<PiiType> {
        PiiType::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for PiiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A confidence in [0, 1], kept in thousandths so that findings are exact, ordered and
/// hashable (they travel through differential collections).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Confidence(u16);

impl Confidence {
    /// Zero.
    pub const ZERO: Confidence = Confidence(0);
    /// One.
    pub const ONE: Confidence = Confidence(1000);

    /// The confidence of `milli` thousandths, clamped to [0, 1000].
    pub const fn from_milli(milli: i32) -> Confidence {
        Confidence(if milli < 0 {
            0
        } else if milli > 1000 {
            1000
        } else {
            milli as u16
        })
    }

    /// Thousandths, 0 to 1000.
    pub fn milli(self) -> u16 {
        self.0
    }

    /// As a number in [0, 1].
    pub fn value(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.value())
    }
}

/// What raised or lowered a finding's confidence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The pattern that matched (its effect is the base score).
    Pattern(Cow<'static, str>),
    /// A checksum or structural check passed (`luhn`, `mod-97`, `NANP numbering`, ...).
    Validated(Cow<'static, str>),
    /// A weaker or unusual form (bare digits, a reserved address, an odd length).
    Weak(Cow<'static, str>),
    /// A context word of the type in the field name (`email`, `dob`, ...).
    KeyWord(Cow<'static, str>),
    /// A context word of the type next to the match, in the same value.
    TextWord(Cow<'static, str>),
    /// A word that makes the type unlikely (`id`, `version`, `expiry`, ...), in the field
    /// name or next to the match.
    NegativeWord(Cow<'static, str>),
}

/// One signal and the change it made to the confidence, in thousandths (signed).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    /// What was seen.
    pub signal: Signal,
    /// Its effect, thousandths: the base score for [`Signal::Pattern`], a change otherwise.
    pub milli: i16,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = f64::from(self.milli) / 1000.0;
        match &self.signal {
            Signal::Pattern(p) => write!(f, "pattern `{p}` {effect:.3}"),
            Signal::Validated(v) => write!(f, "{v} {effect:+.3}"),
            Signal::Weak(w) => write!(f, "{w} {effect:+.3}"),
            Signal::KeyWord(w) => write!(f, "field name word `{w}` {effect:+.3}"),
            Signal::TextWord(w) => write!(f, "nearby word `{w}` {effect:+.3}"),
            Signal::NegativeWord(w) => write!(f, "word `{w}` {effect:+.3}"),
        }
    }
}

/// One piece of personal data found in one field of one record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// What it is.
    pub kind: PiiType,
    /// The field: a column (`transactionId`, `userId`, `currency`) or `metadata.<key>`.
    pub field: String,
    /// Whether the match is in the metadata key itself rather than in its value.
    pub in_key: bool,
    /// Start of the match in the field's text, bytes.
    pub start: usize,
    /// End of the match (exclusive), bytes.
    pub end: usize,
    /// base + the sum of the evidence, clamped to [0, 1].
    pub confidence: Confidence,
    /// Every signal that set, raised or lowered the confidence, in the order applied.
    pub evidence: Vec<Evidence>,
}

impl Finding {
    /// The match's byte range in the field's text.
    pub fn span(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// A match being scored: what the recognizers build before it becomes a [`Finding`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    /// What it is.
    pub kind: PiiType,
    /// Where in the text.
    pub span: Range<usize>,
    /// base + sum of evidence so far, thousandths (not yet clamped).
    pub milli: i32,
    /// The evidence so far.
    pub evidence: Vec<Evidence>,
}

impl Scored {
    /// A match of `kind` at `span` by `pattern`, scored `base` thousandths.
    pub fn new(kind: PiiType, span: Range<usize>, pattern: &'static str, base: i16) -> Scored {
        Scored {
            kind,
            span,
            milli: i32::from(base),
            evidence: vec![Evidence { signal: Signal::Pattern(Cow::Borrowed(pattern)), milli: base }],
        }
    }

    /// Records `signal` with its effect of `milli` thousandths.
    pub fn add(&mut self, signal: Signal, milli: i16) {
        self.milli += i32::from(milli);
        self.evidence.push(Evidence { signal, milli });
    }

    /// Records a passed check worth `milli`.
    pub fn validated(&mut self, what: &'static str, milli: i16) {
        self.add(Signal::Validated(Cow::Borrowed(what)), milli);
    }

    /// Records a weakness costing `milli` (pass a negative number to lower, zero to note).
    pub fn weak(&mut self, what: &'static str, milli: i16) {
        self.add(Signal::Weak(Cow::Borrowed(what)), milli);
    }

    /// The clamped confidence.
    pub fn confidence(&self) -> Confidence {
        Confidence::from_milli(self.milli)
    }

    /// The finding in `field`.
    pub fn into_finding(self, field: &str, in_key: bool) -> Finding {
        Finding {
            kind: self.kind,
            field: field.to_owned(),
            in_key,
            start: self.span.start,
            end: self.span.end,
            confidence: self.confidence(),
            evidence: self.evidence,
        }
    }
}
