//! Planted PII (`generate --pii-rate`): seeded metadata entries holding personal data.
//!
//! They come from a random stream of their own, so that without them the stream is
//! byte-identical.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::governance::pii::PiiType;
use crate::governance::pii::card::luhn;

/// Salt that separates the PII planter's random stream from the generator's.
const SALT: u64 = 0x7069_695f_7631_0000;

const FIRST: [&str; 8] = ["Jane", "John", "María", "Jürgen", "Aisha", "Wei", "Olivia", "Lukas"];
const LAST: [&str; 8] = ["Doe", "Smith", "García", "Müller", "Khan", "Zhang", "O'Brien", "Schmidt"];
const STREETS: [&str; 6] =
    ["Baker Street", "Main Road", "Elm Avenue", "Hauptstraße", "Rue de Rivoli", "Oak Lane"];
const CITIES: [&str; 5] = ["London", "Springfield", "Berlin", "Paris", "Dublin"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One planted piece of personal data: its type and the metadata key it was written under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlantedPii {
    /// The type.
    pub kind: PiiType,
    /// The metadata key.
    pub key: &'static str,
}

/// The metadata keys personal data of `kind` is planted under.
pub fn planted_keys(kind: PiiType) -> &'static [&'static str] {
    match kind {
        PiiType::Email => &["email", "customer_email", "contact"],
        PiiType::Phone => &["phone", "mobile", "contact_phone"],
        PiiType::PaymentCard => &["card_number", "pan", "cc"],
        PiiType::Iban => &["iban", "beneficiary_iban", "payout_account"],
        PiiType::UsSsn => &["ssn", "social_security_number"],
        PiiType::IpAddress => &["client_ip", "ip_address", "remote_addr"],
        PiiType::DateOfBirth => &["dob", "date_of_birth", "birth_date"],
        PiiType::PersonName => &["customer_name", "cardholder", "full_name"],
        PiiType::Address => &["billing_address", "street", "shipping_address"],
    }
}

/// Whether `key` is a metadata key personal data is planted under.
pub fn is_planted_key(key: &str) -> bool {
    PiiType::ALL.iter().any(|kind| planted_keys(*kind).contains(&key))
}

/// Plants a PII entry into about `rate` of the transactions, on its own seeded stream.
pub struct PiiPlanter {
    rng: StdRng,
    rate: f64,
}

impl PiiPlanter {
    /// A planter for `rate` (share of transactions), or `None` for rate 0.
    pub fn new(seed: u64, rate: f64) -> Option<PiiPlanter> {
        (rate > 0.0).then(|| PiiPlanter { rng: StdRng::seed_from_u64(seed ^ SALT), rate: rate.min(1.0) })
    }

    /// For one transaction: nothing, or the key, value and what was planted.
    pub fn next_entry(&mut self) -> Option<(PlantedPii, String)> {
        if !self.rng.random_bool(self.rate) {
            return None;
        }
        let kind = PiiType::ALL[self.rng.random_range(0..PiiType::ALL.len())];
        let keys = planted_keys(kind);
        let key = keys[self.rng.random_range(0..keys.len())];
        let value = self.value(kind);
        Some((PlantedPii { kind, key }, value))
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.rng.random_range(0..10u8))).collect()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn value(&mut self, kind: PiiType) -> String {
        match kind {
            PiiType::Email => {
                let (first, last) =
                    (self.pick(&["jane", "john", "a.khan", "wei"]), self.pick(&["doe", "smith", "mueller"]));
                let domain = self.pick(&["example.com", "example.org", "mail.example.net"]);
                format!("{first}.{last}{}@{domain}", self.rng.random_range(1..100))
            }
            PiiType::Phone => {
                let line = self.digits(4);
                let exchange = self.rng.random_range(200..1000);
                let exchange = if exchange % 100 == 11 { exchange + 1 } else { exchange };
                match self.rng.random_range(0..6) {
                    0 => format!("(415) {exchange}-{line}"),
                    1 => format!("212-{exchange}-{line}"),
                    2 => format!("+1 646 {exchange} {line}"),
                    3 => format!("+44 20 7946 {}", self.digits(4)),
                    4 => format!("07700 900{}", self.digits(3)),
                    _ => format!("+49 30 {}", self.digits(8)),
                }
            }
            PiiType::PaymentCard => {
                let (prefix, len) = self.pick(&[("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)]);
                let mut number = format!("{prefix}{}", self.digits(len - prefix.len() - 1));
                let check = (0..10).find(|d| luhn(&format!("{number}{d}"))).unwrap_or(0);
                number.push(char::from(b'0' + check));
                if len == 16 && self.rng.random_bool(0.5) {
                    let groups: Vec<&str> = (0..4).map(|i| &number[i * 4..i * 4 + 4]).collect();
                    groups.join(" ")
                } else {
                    number
                }
            }
            PiiType::Iban => {
                let (country, bban) = if self.rng.random_bool(0.5) {
                    ("DE", self.digits(18))
                } else {
                    ("GB", format!("{}{}", self.pick(&["NWBK", "BARC", "MIDL"]), self.digits(14)))
                };
                let iban = with_check_digits(country, &bban);
                if self.rng.random_bool(0.5) {
                    iban.as_bytes()
                        .chunks(4)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    iban
                }
            }
            PiiType::UsSsn => {
                let area = loop {
                    let area = self.rng.random_range(1..900);
                    if area != 666 {
                        break area;
                    }
                };
                format!(
                    "{area:03}-{:02}-{:04}",
                    self.rng.random_range(1..100),
                    self.rng.random_range(1..10_000)
                )
            }
            PiiType::IpAddress => {
                if self.rng.random_bool(0.7) {
                    let first = loop {
                        let first = self.rng.random_range(11..224);
                        if first != 127 {
                            break first;
                        }
                    };
                    format!(
                        "{first}.{}.{}.{}",
                        self.rng.random_range(0..256),
                        self.rng.random_range(0..256),
                        self.rng.random_range(1..255)
                    )
                } else {
                    format!(
                        "2001:db8:{:x}::{:x}",
                        self.rng.random_range(1..0xffff),
                        self.rng.random_range(1..0xffff)
                    )
                }
            }
            PiiType::DateOfBirth => {
                let (y, m, d) = (
                    self.rng.random_range(1940..2006),
                    self.rng.random_range(1..13),
                    self.rng.random_range(1..29),
                );
                match self.rng.random_range(0..3) {
                    0 => format!("{y}-{m:02}-{d:02}"),
                    1 => format!("{d:02}.{m:02}.{y}"),
                    _ => format!("{d} {} {y}", MONTHS[m as usize - 1]),
                }
            }
            PiiType::PersonName => format!("{} {}", self.pick(&FIRST), self.pick(&LAST)),
            PiiType::Address => {
                format!("{} {}, {}", self.rng.random_range(1..300), self.pick(&STREETS), self.pick(&CITIES))
            }
        }
    }
}

/// `country` + check digits + `bban`, the check digits computed by ISO 13616.
pub fn with_check_digits(country: &str, bban: &str) -> String {
    let mut rest = 0u32;
    for c in bban.chars().chain(country.chars()).chain("00".chars()) {
        let value = c.to_digit(36).unwrap_or(0);
        rest = if value < 10 { (rest * 10 + value) % 97 } else { (rest * 100 + value) % 97 };
    }
    format!("{country}{:02}{bban}", 98 - rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::pii::iban::mod97;

    #[test]
    fn planted_ibans_and_cards_are_valid() {
        let iban = with_check_digits("DE", "370400440532013000");
        assert_eq!(iban, "DE89370400440532013000");
        assert!(mod97(&iban));
        let mut planter = PiiPlanter::new(1, 1.0).unwrap();
        for _ in 0..500 {
            let (planted, value) = planter.next_entry().unwrap();
            if planted.kind == PiiType::PaymentCard {
                assert!(luhn(&value.replace(' ', "")), "{value}");
            }
        }
        assert!(PiiPlanter::new(1, 0.0).is_none());
    }
}
