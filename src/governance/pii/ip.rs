//! IP addresses: IPv4 and IPv6 (compressed, IPv4-embedded), validated by `std::net`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use regex::Regex;

use super::finding::{PiiType, Scored};

/// Four dot-separated groups of one to three digits.
pub const V4_PATTERN: &str = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}";
/// Colon-separated hex groups (at least three parts, empty ones for `::`), optionally ending
/// in an embedded IPv4 address.
pub const V6_PATTERN: &str = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}";

/// Base score of a parsed address, thousandths (Presidio's is 0.6).
const BASE: i16 = 600;
/// Taken away for addresses that name no host (unspecified, loopback, broadcast, multicast).
const NO_HOST: i16 = -300;

/// The IP addresses in `text`.
pub fn find(v4: &Regex, v6: &Regex, text: &str, out: &mut Vec<Scored>) {
    let bytes = text.as_bytes();
    if text.contains('.') {
        for m in v4.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            // Not inside a longer dotted number or an IPv6 address; a `:port` may follow.
            let glued = |b: u8| b.is_ascii_alphanumeric() || b"._".contains(&b);
            if (start > 0 && (glued(bytes[start - 1]) || bytes[start - 1] == b':'))
                || bytes.get(end).copied().is_some_and(glued)
            {
                continue;
            }
            if let Ok(addr) = m.as_str().parse::<Ipv4Addr>() {
                out.push(score(IpAddr::V4(addr), start..end, "ipv4"));
            }
        }
    }
    if bytes.iter().filter(|b| **b == b':').count() >= 2 {
        for m in v6.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let glued = |b: u8| b.is_ascii_alphanumeric() || b"._:".contains(&b);
            if (start > 0 && glued(bytes[start - 1])) || bytes.get(end).copied().is_some_and(glued) {
                continue;
            }
            if let Ok(addr) = m.as_str().parse::<Ipv6Addr>() {
                out.push(score(IpAddr::V6(addr), start..end, "ipv6"));
            }
        }
    }
}

fn score(addr: IpAddr, span: std::ops::Range<usize>, pattern: &'static str) -> Scored {
    let mut scored = Scored::new(PiiType::IpAddress, span, pattern, BASE);
    let no_host = addr.is_unspecified()
        || addr.is_loopback()
        || addr.is_multicast()
        || matches!(addr, IpAddr::V4(v4) if v4.is_broadcast());
    if no_host {
        scored.weak("unspecified, loopback, broadcast or multicast", NO_HOST);
    }
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(text: &str) -> Vec<(String, i32)> {
        let (v4, v6) = (Regex::new(V4_PATTERN).unwrap(), Regex::new(V6_PATTERN).unwrap());
        let mut out = Vec::new();
        find(&v4, &v6, text, &mut out);
        out.iter().map(|s| (text[s.span.clone()].to_owned(), s.milli)).collect()
    }

    #[test]
    fn ipv4_is_parsed() {
        assert_eq!(scores("from 203.0.113.7:443"), [("203.0.113.7".to_owned(), 600)]);
        assert_eq!(scores("10.0.0.1"), [("10.0.0.1".to_owned(), 600)]);
        assert_eq!(scores("127.0.0.1"), [("127.0.0.1".to_owned(), 300)]);
        assert_eq!(scores("255.255.255.255"), [("255.255.255.255".to_owned(), 300)]);
        for text in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.02.03.04", "v1.2.3.4", "1234.56"] {
            assert_eq!(scores(text), [], "{text}");
        }
    }

    #[test]
    fn ipv6_in_all_its_forms() {
        for addr in [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8:85a3::8a2e:370:7334",
            "2001:db8::1",
            "fe80::1ff:fe23:4567:890a",
            "::ffff:192.0.2.128",
            "64:ff9b::192.0.2.33",
            "2001:DB8::",
        ] {
            assert_eq!(scores(&format!("client {addr} port")), [(addr.to_owned(), 600)], "{addr}");
        }
        assert_eq!(scores("::1"), [("::1".to_owned(), 300)]);
        assert_eq!(scores("::"), [("::".to_owned(), 300)]);
    }

    #[test]
    fn colon_numbers_that_are_not_addresses() {
        for text in [
            "12:30:45",
            "00:1a:2b:3c:4d:5e",
            "2001:db8::1::2",
            "1:2:3:4:5:6:7:8:9",
            "2026-01-01T12:00:00Z",
            "a:b",
            "gggg::1",
        ] {
            assert_eq!(scores(text), [], "{text}");
        }
    }
}
