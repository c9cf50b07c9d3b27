//! Person names and postal addresses, only under a metadata key that says so.
//!
//! Keys such as `customer_name` or `billing_address`; the value must have the shape of a name or
//! an address.

use super::context::FieldContext;
use super::finding::{PiiType, Scored};

/// Field names that are certainly a person's name (compared without separators).
const STRONG_NAME_KEYS: &[&str] = &[
    "fullname",
    "customername",
    "firstname",
    "lastname",
    "surname",
    "givenname",
    "middlename",
    "familyname",
    "cardholder",
    "cardholdername",
    "holdername",
    "accountholder",
    "accountholdername",
    "beneficiary",
    "beneficiaryname",
    "payee",
    "payeename",
    "payer",
    "payername",
    "sendername",
    "recipientname",
    "contactname",
    "clientname",
    "vorname",
    "nachname",
    "maidenname",
];

/// Words that make a `..._name` field something other than a person's (`merchant_name`).
const NOT_A_PERSON: &[&str] = &[
    "merchant",
    "product",
    "file",
    "filename",
    "host",
    "hostname",
    "company",
    "bank",
    "device",
    "app",
    "event",
    "brand",
    "store",
    "shop",
    "item",
    "plan",
    "user",
    "username",
    "login",
    "account",
    "table",
    "topic",
    "job",
    "service",
    "domain",
    "server",
    "queue",
    "channel",
    "category",
    "campaign",
    "business",
    "org",
    "organization",
    "organisation",
    "street",
    "city",
    "country",
    "state",
    "currency",
];

/// Words that make an `..._address` field something other than a postal address.
const NOT_POSTAL: &[&str] = &[
    "ip", "email", "mail", "mac", "wallet", "web", "url", "server", "host", "bitcoin", "btc", "eth",
    "contract", "memory", "ipv4", "ipv6", "remote", "client", "node",
];

/// Street words that make a value look like an address.
const STREET_WORDS: &[&str] = &[
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "lane",
    "ln",
    "drive",
    "dr",
    "boulevard",
    "blvd",
    "way",
    "court",
    "ct",
    "place",
    "pl",
    "square",
    "sq",
    "strasse",
    "straße",
    "str",
    "weg",
    "platz",
    "gasse",
    "allee",
    "ring",
    "damm",
    "rue",
    "via",
    "calle",
    "highway",
    "hwy",
    "terrace",
    "close",
];

/// Whether the field name `key` may make its value a name or an address: a cheap test before
/// the key is split into words (ASCII case is ignored).
pub fn may_be_keyed(key: &str) -> bool {
    const PARTS: [&str; 12] = [
        "name",
        "addr",
        "street",
        "strasse",
        "anschrift",
        "residence",
        "holder",
        "beneficiary",
        "payee",
        "payer",
        "straße",
        "adresse",
    ];
    let bytes = key.as_bytes();
    PARTS.iter().any(|part| bytes.windows(part.len()).any(|w| w.eq_ignore_ascii_case(part.as_bytes())))
}

/// What the field name says the value is, with the base score, thousandths.
pub fn keyed_type(field: &FieldContext) -> Option<(PiiType, &'static str, i16)> {
    let words = &field.words;
    let compact = field.compact();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    if STRONG_NAME_KEYS.contains(&compact.as_str()) {
        return Some((PiiType::PersonName, "person-name field", 700));
    }
    if words.iter().any(|w| w == "name") && !has(NOT_A_PERSON) {
        return Some((PiiType::PersonName, "name field", 450));
    }
    let postal = ["address", "addr", "street", "strasse", "anschrift", "residence", "adresse"];
    // `ipaddress`, `emailaddress` written as one word are not postal either.
    let not_postal = has(NOT_POSTAL)
        || words.iter().any(|w| w.strip_suffix("address").is_some_and(|p| NOT_POSTAL.contains(&p)));
    if words.iter().any(|w| postal.contains(&w.as_str()) || w.ends_with("address")) && !not_postal {
        return Some((PiiType::Address, "address field", 600));
    }
    None
}

/// The name or address that `value` is, if the field says it holds one and the value has the
/// shape (names: 1 to 6 words of letters, no digits; addresses: 5 to 200 characters with
/// letters). The span is the value without surrounding spaces.
pub fn find(field: &FieldContext, value: &str, out: &mut Vec<Scored>) {
    let Some((kind, pattern, base)) = keyed_type(field) else { return };
    let trimmed = value.trim();
    let start = value.len() - value.trim_start().len();
    let span = start..start + trimmed.len();
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    match kind {
        PiiType::PersonName => {
            let shaped = (2..=80).contains(&trimmed.chars().count())
                && (1..=6).contains(&words.len())
                && trimmed.chars().all(|c| c.is_alphabetic() || " '-.,".contains(c))
                && trimmed.chars().any(char::is_alphabetic);
            if !shaped {
                return;
            }
            let mut scored = Scored::new(kind, span, pattern, base);
            if words.iter().all(|w| w.chars().next().is_some_and(char::is_uppercase)) {
                scored.validated("capitalised words", 150);
            }
            if words.len() >= 2 {
                scored.validated("two or more words", 100);
            }
            out.push(scored);
        }
        _ => {
            let shaped =
                (5..=200).contains(&trimmed.chars().count()) && trimmed.chars().any(char::is_alphabetic);
            if !shaped {
                return;
            }
            let mut scored = Scored::new(kind, span, pattern, base);
            if trimmed.chars().any(|c| c.is_ascii_digit()) {
                scored.validated("a house or postal number", 100);
            }
            let lower = trimmed.to_lowercase();
            let street = lower
                .split(|c: char| !c.is_alphanumeric() && c != 'ß')
                .any(|w| STREET_WORDS.contains(&w) || w.ends_with("straße") || w.ends_with("strasse"));
            if street {
                scored.validated("a street word", 150);
            }
            out.push(scored);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(key: &str, value: &str) -> Option<(PiiType, i32)> {
        let mut out = Vec::new();
        find(&FieldContext::of(key), value, &mut out);
        out.first().map(|s| (s.kind, s.milli))
    }

    #[test]
    fn names_need_a_name_key_and_a_name_shape() {
        assert_eq!(score("customer_name", "Jane Doe"), Some((PiiType::PersonName, 950)));
        assert_eq!(score("fullName", "José María López-García"), Some((PiiType::PersonName, 950)));
        assert_eq!(score("name", "Jane Doe"), Some((PiiType::PersonName, 700)));
        assert_eq!(score("name", "jane"), Some((PiiType::PersonName, 450)));
        assert_eq!(score("cardholder", "J. DOE"), Some((PiiType::PersonName, 950)));
        assert_eq!(score("merchant_name", "Jane Doe"), None);
        assert_eq!(score("user_name", "jdoe"), None);
        assert_eq!(score("name", "order 12345"), None);
        assert_eq!(score("customer_name", ""), None);
        assert_eq!(score("note", "Jane Doe"), None);
    }

    #[test]
    fn addresses_need_an_address_key() {
        assert_eq!(score("billing_address", "221B Baker Street, London"), Some((PiiType::Address, 850)));
        assert_eq!(score("street", "Hauptstraße 5"), Some((PiiType::Address, 850)));
        assert_eq!(score("address", "Springfield"), Some((PiiType::Address, 600)));
        assert_eq!(score("ip_address", "10.0.0.1"), None);
        assert_eq!(score("email_address", "a@b.de"), None);
        assert_eq!(score("emailAddress", "a@b.de"), None);
        assert_eq!(score("ipaddress", "10.0.0.1"), None);
        assert_eq!(score("shippingaddress", "1 Main St"), Some((PiiType::Address, 850)));
        assert_eq!(score("address", "n/a"), None);
        assert_eq!(score("merchant", "221B Baker Street"), None);
    }
}
