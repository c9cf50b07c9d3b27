//! E-mail addresses: an RFC 5321-shaped pattern, then the parts checked.

use regex::Regex;

use super::finding::{PiiType, Scored};

/// Local part, `@`, dot-separated domain labels, a letters-only top-level domain.
pub const PATTERN: &str = r"(?i)[a-z0-9_%+\-](?:[a-z0-9._%+\-]{0,62}[a-z0-9_%+\-])?@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}";

/// Base score of a match, thousandths.
const BASE: i16 = 500;
/// Added when the parts pass the checks.
const SHAPE: i16 = 350;

/// The e-mail addresses in `text`.
pub fn find(re: &Regex, text: &str, out: &mut Vec<Scored>) {
    if !text.contains('@') {
        return;
    }
    let bytes = text.as_bytes();
    for m in re.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        // Whole tokens only: nothing address-like glued on either side.
        let glued_before = start > 0 && is_local_char(bytes[start - 1]);
        let glued_after = bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'@');
        if glued_before || glued_after {
            continue;
        }
        let Some((local, domain)) = m.as_str().split_once('@') else { continue };
        if local.contains("..") || local.len() > 64 || domain.len() > 253 {
            continue;
        }
        let mut scored = Scored::new(PiiType::Email, start..end, "email", BASE);
        scored.validated("local part and domain well-formed", SHAPE);
        out.push(scored);
    }
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let re = Regex::new(PATTERN).unwrap();
        let mut out = Vec::new();
        find(&re, text, &mut out);
        out.iter().map(|s| &text[s.span.clone()]).collect()
    }

    #[test]
    fn addresses_are_found_with_their_span() {
        assert_eq!(found("jane.doe+tag@example.co.uk"), ["jane.doe+tag@example.co.uk"]);
        assert_eq!(found("mail me: JOHN_99@Mail.Example.COM, thanks"), ["JOHN_99@Mail.Example.COM"]);
        assert_eq!(found("a@b.de and c@d.org"), ["a@b.de", "c@d.org"]);
    }

    #[test]
    fn non_addresses_are_not() {
        assert!(found("user@localhost").is_empty());
        assert!(found("john..doe@example.com").is_empty());
        assert!(found("@example.com").is_empty());
        assert!(found("price@1.5").is_empty());
        assert!(found("user-00042").is_empty());
        assert!(found("a@b.c1").is_empty());
    }
}
