//! Context words: what a field's name and the words next to a match say about a PII type.

use std::borrow::Cow;

use super::finding::{PiiType, Scored, Signal};

/// The words of a field name, lower-cased: `customer_email` and `customerEmail` give
/// `[customer, email]`, `transactionId` gives `[transaction, id]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldContext {
    /// The words, in order.
    pub words: Vec<String>,
}

impl FieldContext {
    /// The context of the field named `name` (a column or a metadata key).
    pub fn of(name: &str) -> FieldContext {
        FieldContext { words: words_of(name) }
    }

    /// No context (a metadata key scanned as text, say).
    pub fn none() -> FieldContext {
        FieldContext::default()
    }

    /// The field name without separators, lower-cased (`date_of_birth` -> `dateofbirth`).
    pub fn compact(&self) -> String {
        self.words.concat()
    }
}

/// Splits `text` into lower-case words at non-alphanumeric characters and at lower-to-upper
/// case changes (camelCase).
pub fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Whether the context word `cue` is in `words`: equal to a word, or, for cues of 4 or more
/// letters, inside one (`birthdate` holds `birth`, `emailaddress` holds `email`).
pub fn mentions(words: &[String], cue: &str) -> bool {
    words.iter().any(|w| w == cue || (cue.len() >= 4 && w.contains(cue)))
}

/// A type's context: words that raise its confidence (and by how much) and words that lower it.
pub struct Cues {
    /// Raise: found in the field name or next to the match.
    pub positive: &'static [&'static str],
    /// How much one positive cue adds, thousandths (added once, however many are found).
    pub boost: i16,
    /// Lower: found in the field name or next to the match.
    pub negative: &'static [&'static str],
    /// How much one negative cue takes away, thousandths (once).
    pub penalty: i16,
}

/// Words saying "this is an identifier, not personal data" (lower digit-shaped types).
const ID_WORDS: &[&str] =
    &["id", "ref", "reference", "order", "invoice", "txn", "transaction", "serial", "sku", "tracking"];

/// The context table, one row per type (names and addresses have none: their key is their
/// evidence). These numbers are documented in `docs/governance.md`.
pub fn cues(kind: PiiType) -> Option<Cues> {
    let cues = match kind {
        PiiType::Email => {
            Cues { positive: &["email", "mail", "contact"], boost: 150, negative: &[], penalty: 0 }
        }
        PiiType::Phone => Cues {
            positive: &[
                "phone",
                "tel",
                "telephone",
                "mobile",
                "cell",
                "fax",
                "contact",
                "telefon",
                "handy",
                "msisdn",
                "whatsapp",
                "call",
            ],
            boost: 350,
            negative: ID_WORDS,
            penalty: 300,
        },
        PiiType::PaymentCard => Cues {
            positive: &["card", "cc", "pan", "credit", "debit", "visa", "mastercard", "amex", "karte"],
            boost: 50,
            negative: ID_WORDS,
            penalty: 300,
        },
        PiiType::Iban => Cues {
            positive: &["iban", "account", "bank", "konto", "sepa", "beneficiary"],
            boost: 50,
            negative: &[],
            penalty: 0,
        },
        PiiType::UsSsn => Cues {
            positive: &["ssn", "social", "security", "ssns", "taxpayer", "tin"],
            boost: 350,
            negative: &["id", "ref", "order", "invoice", "zip", "phone", "account", "transaction", "txn"],
            penalty: 300,
        },
        PiiType::IpAddress => Cues {
            positive: &["ip", "ipv4", "ipv6", "client", "remote", "host", "addr", "address", "source"],
            boost: 200,
            negative: &["version", "ver", "build", "release", "firmware", "sdk", "app"],
            penalty: 400,
        },
        PiiType::DateOfBirth => Cues {
            positive: &[
                "dob",
                "birth",
                "born",
                "birthday",
                "bday",
                "geboren",
                "geburtsdatum",
                "geburtstag",
                "naissance",
                "nacimiento",
            ],
            boost: 500,
            negative: &[
                "created",
                "updated",
                "expiry",
                "expires",
                "expiration",
                "settlement",
                "settled",
                "due",
                "valid",
                "timestamp",
                "issued",
                "booking",
                "booked",
                "posted",
                "value",
                "exp",
            ],
            penalty: 200,
        },
        PiiType::PersonName | PiiType::Address => return None,
    };
    Some(cues)
}

/// How many words next to a match count as its context: this many before it and
/// [`WORDS_AFTER`] after it (Presidio looks at 5 before by default).
pub const WORDS_BEFORE: usize = 5;
/// See [`WORDS_BEFORE`].
pub const WORDS_AFTER: usize = 2;

/// Applies the context of `kind` to `scored`: the field name's words and the words around the
/// match in `text`. A positive cue adds the type's boost once; a negative cue takes its
/// penalty once; the first cue found is the evidence.
pub fn apply(scored: &mut Scored, text: &str, field: &FieldContext) {
    let Some(cues) = cues(scored.kind) else { return };
    let before = words_of(&text[..scored.span.start]);
    let after = words_of(&text[scored.span.end..]);
    let near: Vec<String> =
        before.iter().rev().take(WORDS_BEFORE).chain(after.iter().take(WORDS_AFTER)).cloned().collect();
    if let Some(cue) = cues.positive.iter().find(|cue| mentions(&field.words, cue)) {
        scored.add(Signal::KeyWord(Cow::Borrowed(cue)), cues.boost);
    } else if let Some(cue) = cues.positive.iter().find(|cue| mentions(&near, cue)) {
        scored.add(Signal::TextWord(Cow::Borrowed(cue)), cues.boost);
    }
    let negative = cues.negative.iter().find(|cue| field.words.iter().chain(&near).any(|w| w == *cue));
    if let Some(cue) = negative {
        scored.add(Signal::NegativeWord(Cow::Borrowed(cue)), -cues.penalty);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_split_into_words() {
        assert_eq!(words_of("customer_email"), ["customer", "email"]);
        assert_eq!(words_of("customerEmail"), ["customer", "email"]);
        assert_eq!(words_of("transactionId"), ["transaction", "id"]);
        assert_eq!(words_of("date-of-birth"), ["date", "of", "birth"]);
        assert_eq!(words_of("Geburtsdatum"), ["geburtsdatum"]);
        assert_eq!(words_of("ip_v4"), ["ip", "v4"]);
    }

    #[test]
    fn long_cues_match_inside_words_short_ones_only_whole() {
        let words = words_of("birthdate paid");
        assert!(mentions(&words, "birth"));
        assert!(!mentions(&words, "id"));
        assert!(mentions(&words_of("client_id"), "id"));
    }
}
