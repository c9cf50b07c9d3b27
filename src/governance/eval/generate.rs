//! The generated part of the corpus: seeded texts with their true entities.
//!
//! Values come from the generator's PII planter (`generate --pii-rate`, [`PiiPlanter`]), so the
//! corpus holds what trustflow's own streams would carry: 30% of the texts are a planted value
//! alone under one of the planter's keys, 20% a value inside a sentence under a neutral key
//! (`note`, `comment`, ...) with the words people write next to it, 5% an e-mail and a phone
//! number together. The planter's formats are the ones trustflow's recognizers were written
//! for, so 10% are other formats written here (IBANs of other countries, other card brands and
//! groupings, phones of other countries, dates as `1985/03/14`, full IPv6, titles in names,
//! ...), some of which trustflow's rules do not cover. The other 35% are negatives with no personal data that look like some: order and
//! invoice numbers, references, version strings, timestamps and expiry dates, merchant and
//! terminal ids, card-like numbers failing Luhn, IBANs with wrong check digits, SSNs in
//! never-issued areas, UUIDs, hashes, postcodes, MAC addresses.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::corpus::{Entity, Item};
use crate::generate::pii::{PiiPlanter, with_check_digits};
use crate::governance::pii::PiiType;
use crate::governance::pii::card::luhn;
use crate::governance::pii::iban::mod97;

/// Salt separating the corpus's own choices from the planter's stream.
const SALT: u64 = 0x636f_7270_7573_0001;

/// The set name of generated items.
pub const SET: &str = "generated";

/// Neutral keys for free text.
const FREE_TEXT_KEYS: [&str; 5] = ["note", "comment", "memo", "description", "remarks"];

/// `count` generated items, ids `gen-000001`..., set [`SET`]; the same seed gives the same
/// items.
pub fn corpus(seed: u64, count: usize) -> Vec<Item> {
    let mut generator = CorpusGenerator {
        rng: StdRng::seed_from_u64(seed ^ SALT),
        planter: PiiPlanter::new(seed, 1.0).expect("rate 1 plants"),
    };
    (1..=count)
        .map(|n| {
            let (field, text, entities) = generator.next_text();
            Item { id: format!("gen-{n:06}"), set: SET.to_owned(), field, text, entities, note: None }
        })
        .collect()
}

struct CorpusGenerator {
    rng: StdRng,
    planter: PiiPlanter,
}

/// A text being built: pieces appended, entities recorded in characters.
#[derive(Default)]
struct Text {
    text: String,
    entities: Vec<Entity>,
}

impl Text {
    fn plain(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    fn entity(&mut self, kind: PiiType, value: &str) {
        let start = self.text.chars().count();
        self.text.push_str(value);
        self.entities.push(Entity { kind, start, end: start + value.chars().count() });
    }

    /// `template` with `{}` replaced by the entity.
    fn around(mut self, template: &str, kind: PiiType, value: &str) -> Text {
        let (before, after) = template.split_once("{}").unwrap_or((template, ""));
        self.plain(before);
        self.entity(kind, value);
        self.plain(after);
        self
    }
}

impl CorpusGenerator {
    fn next_text(&mut self) -> (String, String, Vec<Entity>) {
        let roll = self.rng.random_range(0..100);
        let (field, text) = if roll < 30 {
            let (planted, value) = self.planted(None);
            (planted.0.to_owned(), Text::default().around("{}", planted.1, &value))
        } else if roll < 50 {
            self.free_text()
        } else if roll < 60 {
            self.varied()
        } else if roll < 65 {
            let email = self.planted(Some(PiiType::Email)).1;
            let phone = self.planted(Some(PiiType::Phone)).1;
            let mut text = Text::default();
            text.entity(PiiType::Email, &email);
            text.plain(self.pick(&[" / ", ", ", " or "]));
            text.entity(PiiType::Phone, &phone);
            ("contact".to_owned(), text)
        } else {
            let (field, value) = self.negative();
            (field, Text { text: value, entities: Vec::new() })
        };
        (field, text.text, text.entities)
    }

    /// A planted entry (of `kind`, or of any type): its key, type and value.
    fn planted(&mut self, kind: Option<PiiType>) -> ((&'static str, PiiType), String) {
        loop {
            let Some((planted, value)) = self.planter.next_entry() else { continue };
            if kind.is_none_or(|k| k == planted.kind) {
                return ((planted.key, planted.kind), value);
            }
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.rng.random_range(0..10u8))).collect()
    }

    /// A planted value inside a sentence, under a neutral key. Names and addresses are found
    /// only under keys that say so, so they are planted under their keys here too.
    fn free_text(&mut self) -> (String, Text) {
        let ((key, kind), value) = self.planted(None);
        let templates: &[&str] = match kind {
            PiiType::Email => {
                &["reach me at {}", "{}", "send the receipt to {} please", "cc {} on the dispute"]
            }
            PiiType::Phone => &["call back on {} after 5pm", "tel. {}", "customer phone {}", "{}"],
            PiiType::PaymentCard => &["paid with {}", "card {} declined twice", "{}"],
            PiiType::Iban => &["refund to IBAN {} please", "pay out to {}", "{}"],
            PiiType::UsSsn => &["SSN {} verified", "social security number {} on file", "{}"],
            PiiType::IpAddress => &["login from {} blocked", "client ip {}", "{}"],
            PiiType::DateOfBirth => &["customer born {}", "date of birth: {}", "DOB {}"],
            PiiType::PersonName | PiiType::Address => {
                return (key.to_owned(), Text::default().around("{}", kind, &value));
            }
        };
        let template = self.pick(templates);
        (self.pick(&FREE_TEXT_KEYS).to_owned(), Text::default().around(template, kind, &value))
    }

    /// A value in a format the planter does not write, under its key or in a sentence.
    fn varied(&mut self) -> (String, Text) {
        let text = Text::default();
        match self.rng.random_range(0..8) {
            0 => {
                let (country, bban) = match self.rng.random_range(0..5) {
                    0 => ("FR", format!("{}{}M0{}", self.digits(10), self.digits(9), self.digits(2))),
                    1 => ("NL", format!("{}{}", self.pick(&["ABNA", "INGB", "RABO"]), self.digits(10))),
                    2 => ("ES", self.digits(20)),
                    3 => ("IT", format!("X{}{}", self.digits(10), self.digits(12))),
                    _ => ("BE", self.digits(12)),
                };
                let iban = with_check_digits(country, &bban);
                let iban = if self.rng.random_bool(0.5) { group(&iban, 4) } else { iban };
                let (field, template) =
                    self.pick(&[("iban", "{}"), ("account_iban", "{}"), ("note", "IBAN: {}")]);
                (field.to_owned(), text.around(template, PiiType::Iban, &iban))
            }
            1 => {
                let (prefix, len, groups): (&str, usize, &[usize]) = self.pick(&[
                    ("4", 16, &[4, 4, 4, 4]),
                    ("2221", 16, &[4, 4, 4, 4]),
                    ("36", 14, &[4, 6, 4]),
                    ("3530", 16, &[4, 4, 4, 4]),
                    ("65", 16, &[4, 4, 4, 4]),
                    ("4", 13, &[13]),
                ]);
                let mut number = format!("{prefix}{}", self.digits(len - prefix.len() - 1));
                let check = (0..10).find(|d| luhn(&format!("{number}{d}"))).unwrap_or(0);
                number.push(char::from(b'0' + check));
                let separator = self.pick(&["-", " "]);
                let mut parts = Vec::new();
                let mut at = 0;
                for g in groups {
                    parts.push(&number[at..at + g]);
                    at += g;
                }
                let (field, template) = self.pick(&[("card_number", "{}"), ("note", "charged to {} twice")]);
                (field.to_owned(), text.around(template, PiiType::PaymentCard, &parts.join(separator)))
            }
            2 => {
                let phone = match self.rng.random_range(0..5) {
                    0 => format!("+1-212-{}-{}", self.rng.random_range(200..1000), self.digits(4)),
                    1 => format!(
                        "+33 6 {} {} {} {}",
                        self.digits(2),
                        self.digits(2),
                        self.digits(2),
                        self.digits(2)
                    ),
                    2 => format!("+31 20 {} {}", self.digits(3), self.digits(4)),
                    3 => format!("+44 7700 900{}", self.digits(3)),
                    _ => format!("0049 89 {}", self.digits(7)),
                };
                let (field, template) =
                    self.pick(&[("phone", "{}"), ("mobile_number", "{}"), ("note", "reach them at {}")]);
                (field.to_owned(), text.around(template, PiiType::Phone, &phone))
            }
            3 => {
                let email = match self.rng.random_range(0..4) {
                    0 => format!("first_last{}@sub.example.io", self.digits(2)),
                    1 => format!("j.doe+{}@example.co.uk", self.pick(&["billing", "news", "x"])),
                    2 => "ACCOUNTS@EXAMPLE.COM".to_owned(),
                    _ => format!("kunde{}@example-mail.de", self.digits(3)),
                };
                let (field, template) =
                    self.pick(&[("email_address", "{}"), ("reply_to", "{}"), ("note", "forwarded to <{}>")]);
                (field.to_owned(), text.around(template, PiiType::Email, &email))
            }
            4 => {
                const MONTHS: [&str; 4] = ["January", "March", "July", "October"];
                let (y, m, d) = (
                    self.rng.random_range(1940..2006),
                    self.rng.random_range(1..13),
                    self.rng.random_range(1..29),
                );
                let date = match self.rng.random_range(0..3) {
                    0 => format!("{} {d}, {y}", MONTHS[m % 4]),
                    1 => format!("{m:02}/{d:02}/{y}"),
                    _ => format!("{y}/{m:02}/{d:02}"),
                };
                let (field, template) =
                    self.pick(&[("birthday", "{}"), ("dob", "{}"), ("note", "date of birth {}")]);
                (field.to_owned(), text.around(template, PiiType::DateOfBirth, &date))
            }
            5 => {
                let ssn = format!(
                    "{} {:02} {:04}",
                    self.rng.random_range(100..666),
                    self.rng.random_range(1..100),
                    self.rng.random_range(1..10_000)
                );
                let (field, template) = self.pick(&[("ssn", "{}"), ("note", "SSN: {}")]);
                (field.to_owned(), text.around(template, PiiType::UsSsn, &ssn))
            }
            6 => {
                let ip = if self.rng.random_bool(0.5) {
                    format!(
                        "2001:0db8:{:04x}:0000:0000:8a2e:0370:{:04x}",
                        self.rng.random_range(1..0xffff),
                        self.rng.random_range(1..0xffff)
                    )
                } else {
                    format!("198.51.100.{}", self.rng.random_range(1..255))
                };
                let (field, template) = self.pick(&[
                    ("source_ip", "{}"),
                    ("log", "ip={};port=443 denied"),
                    ("x_forwarded_for", "{}, 10.0.0.1"),
                ]);
                let mut text = text.around(template, PiiType::IpAddress, &ip);
                if template.ends_with("10.0.0.1") {
                    // The proxy's address is an address too.
                    let start = text.text.chars().count() - "10.0.0.1".len();
                    text.entities.push(Entity { kind: PiiType::IpAddress, start, end: start + 8 });
                }
                (field.to_owned(), text)
            }
            _ => {
                let (field, kind, value) = self.pick(&[
                    ("last_name", PiiType::PersonName, "O'Brien"),
                    ("payee", PiiType::PersonName, "Dr. Jane Doe"),
                    ("account_holder", PiiType::PersonName, "Wei Zhang"),
                    ("address", PiiType::Address, "Flat 2, 14 Elm Avenue, Dublin D02 X285"),
                    ("residence", PiiType::Address, "Rue de Rivoli 12, 75001 Paris"),
                    ("delivery_address", PiiType::Address, "PO Box 1234, Springfield"),
                ]);
                (field.to_owned(), text.around("{}", kind, value))
            }
        }
    }

    /// A field and a value without personal data that looks like some.
    fn negative(&mut self) -> (String, String) {
        let key = |k: &str| k.to_owned();
        match self.rng.random_range(0..24) {
            0 => (
                key(self.pick(&["order_id", "order_number"])),
                format!("{}{}", self.rng.random_range(1..10), self.digits(9)),
            ),
            1 => (key("order_id"), format!("ORD-{}-{}", self.rng.random_range(2019..2027), self.digits(6))),
            2 => {
                // Phone-shaped (valid NANP area and exchange) but an invoice or order number.
                let field = self.pick(&["invoice_no", "order_ref", "reference"]);
                let (a, e) = (self.rng.random_range(200..1000), self.rng.random_range(200..1000));
                (key(field), format!("{a}-{e}-{}", self.digits(4)))
            }
            3 => (
                key(self.pick(&["tracking_number", "shipment"])),
                format!("1Z{}{}", self.alnum(6), self.digits(10)),
            ),
            4 => {
                let v = [
                    self.rng.random_range(1..20),
                    self.rng.random_range(0..30),
                    self.rng.random_range(0..10),
                    self.rng.random_range(0..250),
                ];
                (
                    key(self.pick(&["app_version", "sdk_version", "firmware_version"])),
                    format!("{}.{}.{}.{}", v[0], v[1], v[2], v[3]),
                )
            }
            5 => (
                key(self.pick(&["build", "release"])),
                format!(
                    "{}.{}.{}",
                    self.rng.random_range(1..12),
                    self.rng.random_range(0..40),
                    self.rng.random_range(0..100)
                ),
            ),
            6 => {
                let (m, d, h) = (
                    self.rng.random_range(1..13),
                    self.rng.random_range(1..29),
                    self.rng.random_range(0..24),
                );
                (
                    key(self.pick(&["created_at", "updated_at", "timestamp"])),
                    format!("2026-{m:02}-{d:02}T{h:02}:{}:00Z", self.rng.random_range(10..60)),
                )
            }
            7 => {
                let (m, d) = (self.rng.random_range(1..13), self.rng.random_range(1..29));
                (
                    key(self.pick(&["settlement_date", "booking_date", "value_date"])),
                    format!("2026-{m:02}-{d:02}"),
                )
            }
            8 => (
                key(self.pick(&["card_expiry", "exp"])),
                format!("{:02}/{}", self.rng.random_range(1..13), self.rng.random_range(26..33)),
            ),
            9 => {
                let (m, d) = (self.rng.random_range(1..13), self.rng.random_range(1..29));
                (
                    key(self.pick(&["valid_until", "expires"])),
                    format!("{d:02}.{m:02}.{}", self.rng.random_range(2026..2031)),
                )
            }
            10 => (key("timestamp"), format!("17{}", self.digits(11))),
            11 => (
                key(self.pick(&["merchant_id", "merchant"])),
                format!("m-{}", self.rng.random_range(1..10_000)),
            ),
            12 => (
                key(self.pick(&["terminal_id", "mid"])),
                format!("{}{}", self.pick(&["T-", "TID ", "000"]), self.digits(8)),
            ),
            13 => {
                // Card-shaped with a brand prefix, failing Luhn.
                let (prefix, len) = self.pick(&[("4", 16), ("5", 16), ("37", 15), ("6011", 16)]);
                let number = loop {
                    let n = format!("{prefix}{}", self.digits(len - prefix.len()));
                    if !luhn(&n) {
                        break n;
                    }
                };
                (key(self.pick(&["reference", "card_number", "pan"])), number)
            }
            14 => {
                // IBAN-shaped with wrong check digits.
                let iban = loop {
                    let candidate = format!("DE{}{}", self.digits(2), self.digits(18));
                    if !mod97(&candidate) {
                        break candidate;
                    }
                };
                (key(self.pick(&["iban", "payout_account"])), iban)
            }
            15 => {
                // An SSN's shape in an area never issued.
                let area = self.pick(&["000", "666", "900", "987", "999"]);
                (key(self.pick(&["ssn", "tax_ref"])), format!("{area}-{}-{}", self.digits(2), self.digits(4)))
            }
            16 => (
                key(self.pick(&["session_id", "batch_no"])),
                format!("{}{}", self.rng.random_range(1..10), self.digits(8)),
            ),
            17 => (key(self.pick(&["request_id", "uuid"])), self.uuid()),
            18 => (key("checksum"), (0..40).map(|_| self.hex()).collect()),
            19 => (
                key(self.pick(&["postcode", "zip"])),
                self.pick(&["SW1A 1AA", "10115", "75001", "D02 X285", "94103"]).to_owned(),
            ),
            20 => {
                let bytes: Vec<String> = (0..6).map(|_| format!("{}{}", self.hex(), self.hex())).collect();
                (key("device_mac"), bytes.join(":"))
            }
            21 => (
                key(self.pick(&["merchant_name", "product_name", "bank_name"])),
                self.pick(&["Corner Café Ltd", "Acme Widgets", "Deutsche Bank", "Blue Bottle Coffee"])
                    .to_owned(),
            ),
            22 => (
                key(self.pick(&["amount_text", "fee"])),
                format!(
                    "{},{}.{:02} EUR",
                    self.rng.random_range(1..100),
                    self.digits(3),
                    self.rng.random_range(0..100)
                ),
            ),
            _ => {
                let note = [
                    "refund approved by ops",
                    "see ticket #48213",
                    "called at 10:30, no answer",
                    "version 2.3.1 deployed",
                    "retry 3 of 5 failed with code 502",
                    "chargeback window 120 days",
                ];
                (key(self.pick(&FREE_TEXT_KEYS)), self.pick(&note).to_owned())
            }
        }
    }

    fn hex(&mut self) -> char {
        char::from(b"0123456789abcdef"[self.rng.random_range(0..16)])
    }

    fn alnum(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"[self.rng.random_range(0..34)]))
            .collect()
    }

    fn uuid(&mut self) -> String {
        let groups: Vec<String> =
            [8, 4, 4, 4, 12].iter().map(|&n| (0..n).map(|_| self.hex()).collect()).collect();
        groups.join("-")
    }
}

/// `text` in groups of `n` characters separated by spaces.
fn group(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_spans_hold_the_planted_values() {
        let items = corpus(7, 2000);
        assert_eq!(items, corpus(7, 2000));
        assert_ne!(items, corpus(8, 2000));
        let with = items.iter().filter(|i| !i.entities.is_empty()).count();
        assert!((1100..1500).contains(&with), "{with} of 2000 with entities");
        for item in &items {
            for entity in &item.entities {
                let text = item.slice(entity.start, entity.end);
                assert_eq!(text.trim(), text, "{item:?}");
                assert!(!text.is_empty());
            }
            let json = serde_json::to_string(item).unwrap();
            assert_eq!(Item::parse("g", 1, &json).unwrap().unwrap(), *item);
        }
        // The labels are right: every card passes Luhn, every IBAN has its country's length
        // and passes mod-97, checked apart from the recognizers.
        for item in &items {
            for entity in &item.entities {
                let compact: String = item
                    .slice(entity.start, entity.end)
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect();
                match entity.kind {
                    PiiType::PaymentCard => assert!(luhn(&compact), "{item:?}"),
                    PiiType::Iban => {
                        assert_eq!(
                            crate::governance::pii::iban::length(&compact[..2]),
                            Some(compact.len()),
                            "{item:?}"
                        );
                        assert!(mod97(&compact), "{item:?}");
                    }
                    _ => {}
                }
            }
        }
        for kind in PiiType::ALL {
            let n = items.iter().flat_map(|i| &i.entities).filter(|e| e.kind == kind).count();
            assert!(n > 100, "{n} of {kind}");
        }
    }
}
