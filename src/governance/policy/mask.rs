//! Masking: each PII type replaced by a form that keeps a hint and nothing that identifies.

use crate::governance::pii::{Finding, PiiType};

/// The masking character.
pub const MASK: char = '*';

/// `text` (one match of `kind`) masked:
///
/// | type | example | masked |
/// |---|---|---|
/// | email | `jane.doe@example.com` | `j***@example.com` |
/// | payment_card | `4111 1111 1111 1111` | `**** **** **** 1111` |
/// | phone | `+1 (415) 555-2671` | `+* (***) ***-**71` |
/// | iban | `DE89 3704 0044 0532 0130 00` | `DE** **** **** **** **30 00` |
/// | us_ssn | `536-22-8726` | `***-**-8726` |
/// | ip_address | `203.0.113.7` / `2001:db8::1` | `203.0.*.*` / `2001:db8:*` |
/// | date_of_birth | `1985-03-14` | `****-**-**` |
/// | person_name | `Jane Doe` | `J*** D***` |
/// | address | `221B Baker Street` | `***` |
pub fn mask(kind: PiiType, text: &str) -> String {
    match kind {
        PiiType::Email => match text.split_once('@') {
            Some((local, domain)) => {
                let first = local.chars().next().map(String::from).unwrap_or_default();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
        PiiType::PaymentCard | PiiType::UsSsn => keep_last_digits(text, 4),
        PiiType::Phone => keep_last_digits(text, 2),
        PiiType::Iban => {
            let total = text.chars().filter(char::is_ascii_alphanumeric).count();
            let mut seen = 0;
            text.chars()
                .map(|c| {
                    if !c.is_ascii_alphanumeric() {
                        return c;
                    }
                    seen += 1;
                    if seen <= 2 || seen > total.saturating_sub(4) { c } else { MASK }
                })
                .collect()
        }
        PiiType::IpAddress => match text.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(v4)) => {
                let [a, b, _, _] = v4.octets();
                format!("{a}.{b}.*.*")
            }
            Ok(std::net::IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("{:x}:{:x}:*", s[0], s[1])
            }
            Err(_) => "***".to_owned(),
        },
        PiiType::DateOfBirth => text.chars().map(|c| if c.is_alphanumeric() { MASK } else { c }).collect(),
        PiiType::PersonName => text
            .split(' ')
            .map(|word| match word.chars().next() {
                Some(first) => format!("{first}***"),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        PiiType::Address => "***".to_owned(),
    }
}

/// Every digit but the last `keep` replaced, separators kept.
fn keep_last_digits(text: &str, keep: usize) -> String {
    let total = text.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    text.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen > total.saturating_sub(keep) { c } else { MASK }
        })
        .collect()
}

/// `value` with each finding's span replaced by `replace(finding, matched text)`; findings
/// must not overlap (the recognizers' do not) and must lie in `value`. Spans outside `value`
/// or overlapping an earlier one are skipped.
pub fn rewrite(
    value: &str,
    findings: &[&Finding],
    mut replace: impl FnMut(&Finding, &str) -> String,
) -> String {
    let mut sorted: Vec<&&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (f.start, f.end));
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    for finding in sorted {
        let valid = finding.start >= at
            && finding.end <= value.len()
            && value.is_char_boundary(finding.start)
            && value.is_char_boundary(finding.end);
        if !valid {
            continue;
        }
        out.push_str(&value[at..finding.start]);
        out.push_str(&replace(finding, &value[finding.span()]));
        at = finding.end;
    }
    out.push_str(&value[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_keeps_only_its_hint() {
        for (kind, text, masked) in [
            (PiiType::Email, "jane.doe@example.com", "j***@example.com"),
            (PiiType::PaymentCard, "4111 1111 1111 1111", "**** **** **** 1111"),
            (PiiType::PaymentCard, "4111111111111111", "************1111"),
            (PiiType::Phone, "+1 (415) 555-2671", "+* (***) ***-**71"),
            (PiiType::Iban, "DE89 3704 0044 0532 0130 00", "DE** **** **** **** **30 00"),
            (PiiType::Iban, "DE89370400440532013000", "DE****************3000"),
            (PiiType::UsSsn, "536-22-8726", "***-**-8726"),
            (PiiType::IpAddress, "203.0.113.7", "203.0.*.*"),
            (PiiType::IpAddress, "2001:0db8::1", "2001:db8:*"),
            (PiiType::DateOfBirth, "14 March 1985", "** ***** ****"),
            (PiiType::PersonName, "Jane Doe", "J*** D***"),
            (PiiType::Address, "221B Baker Street", "***"),
        ] {
            assert_eq!(mask(kind, text), masked, "{kind} {text}");
        }
    }
}
