//! The built-in detectors: their names, placeholders, patterns and the checks a pattern's
//! candidate must pass (Luhn for cards, a real address for IPv6, a plausible digit count for
//! phones, the characters around a match).
//!
//! Patterns use ASCII classes and ASCII word boundaries (`(?-u:\b)`) only, so that the
//! regex crate's lazy DFA runs them on any text (a Unicode `\b` makes it give up on
//! non-ASCII text and fall back to a slower engine).

use std::net::Ipv6Addr;

use super::secrets;

/// A built-in detector, as `REDACT` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detector {
    /// `email`: `local@domain.tld`.
    Email,
    /// `phone`: international (`+` and country code) and common national formats with
    /// separators, never a bare digit run.
    Phone,
    /// `credit_card`: 13–19 digits (optionally in card-style groups) with a card network's
    /// prefix and a valid Luhn check digit.
    CreditCard,
    /// `secrets`: API keys, tokens and private key blocks (see [`super::secrets`]).
    Secrets,
    /// `ipv4`: dotted quads whose four parts are 0–255.
    Ipv4,
    /// `ipv6`: colon-hex addresses that parse as IPv6.
    Ipv6,
}

/// Every built-in, in the order their names are listed in messages and docs.
pub const ALL: [Detector; 6] = [
    Detector::Email,
    Detector::Phone,
    Detector::CreditCard,
    Detector::Secrets,
    Detector::Ipv4,
    Detector::Ipv6,
];

/// The order detectors run in on a string: the most specific first, so that a secret's or a
/// card's digits are gone before the phone detector looks, and `::ffff:1.2.3.4` is one
/// IPv6 address rather than an IPv4 one.
pub const APPLY_ORDER: [Detector; 6] = [
    Detector::Secrets,
    Detector::Email,
    Detector::CreditCard,
    Detector::Ipv6,
    Detector::Ipv4,
    Detector::Phone,
];

impl Detector {
    /// The name `REDACT` uses (and the record's `redacted` counts and the metrics' label).
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CreditCard => "credit_card",
            Detector::Secrets => "secrets",
            Detector::Ipv4 => "ipv4",
            Detector::Ipv6 => "ipv6",
        }
    }

    /// The detector called `name`, if any.
    pub fn from_name(name: &str) -> Option<Detector> {
        ALL.into_iter().find(|d| d.name() == name)
    }

    /// What a match is replaced with.
    pub fn placeholder(self) -> &'static str {
        match self {
            Detector::Email => "[EMAIL]",
            Detector::Phone => "[PHONE]",
            Detector::CreditCard => "[CARD]",
            Detector::Secrets => "[SECRET]",
            Detector::Ipv4 | Detector::Ipv6 => "[IP]",
        }
    }

    /// The candidate pattern (one regex; its alternatives are tried leftmost-first).
    pub fn pattern(self) -> String {
        match self {
            Detector::Email => EMAIL.to_owned(),
            Detector::Phone => PHONE.join("|"),
            Detector::CreditCard => CARD.to_owned(),
            Detector::Secrets => secrets::PATTERNS
                .iter()
                .map(|(_, p)| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|"),
            Detector::Ipv4 => IPV4.to_owned(),
            Detector::Ipv6 => IPV6.to_owned(),
        }
    }

    /// A cheap pattern that matches wherever [`pattern`](Self::pattern) can (a necessary
    /// condition), found with the regex crate's literal search; the full pattern runs
    /// only on a string it hits.
    pub fn prefilter(self) -> &'static str {
        match self {
            Detector::Email => r"[A-Za-z0-9._%+\-]@[A-Za-z0-9]",
            Detector::Phone => r"[0-9]",
            Detector::CreditCard => r"[0-9][ \-]?[0-9]",
            Detector::Secrets => concat!(
                r"-----BEGIN|A3T|AKIA|ASIA|ABIA|ACCA|sk-ant-|T3BlbkFJ|ghp_|gho_|ghu_|ghs_|",
                r"ghr_|github_pat_|xox|xapp-|hooks\.slack\.com/|sk_test_|sk_live_|sk_prod_|",
                r"rk_test_|rk_live_|rk_prod_|AIza|eyJ|eyA"
            ),
            Detector::Ipv4 => r"[0-9]\.[0-9]",
            Detector::Ipv6 => r":",
        }
    }

    /// Whether the candidate `text[start..end]` is a real find.
    pub fn accepts(self, text: &str, start: usize, end: usize) -> bool {
        let found = &text[start..end];
        match self {
            Detector::Email => email_ok(found) && !scp_remote(&text[end..]),
            // A space too: `4532 0151 1283 0367` is one number, not a phone inside one.
            Detector::Phone => {
                phone_ok(found) && number_context_ok(text, start, end, PHONE_JOINERS)
            }
            Detector::CreditCard => {
                card_ok(found) && number_context_ok(text, start, end, NUMBER_JOINERS)
            }
            Detector::Secrets => true,
            // `10.0.0.1/24`, `http://10.0.0.1/2024/`, `1.2.3.4:80` are addresses.
            Detector::Ipv4 => number_context_ok(text, start, end, &['.']),
            Detector::Ipv6 => ipv6_ok(text, start, end),
        }
    }
}

/// `local@domain.tld`; the TLD letters only.
const EMAIL: &str = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?-u:\b)";

/// Phone formats: `+` and a country code; North American with separators (area code
/// 2–9, exchange any: `555-123-4567` is how examples write it); national
/// numbers with a trunk `0` and separators (UK, DE, FR, IT, ...).
const PHONE: [&str; 4] = [
    r"\+[1-9][0-9]{0,2}(?:[ .\-]?\(?[0-9]{1,5}\)?){1,6}",
    r"(?:(?-u:\b)1[ .\-])?(?:\([2-9][0-9]{2}\) ?|(?-u:\b)[2-9][0-9]{2}[ .\-])[0-9]{3}[ .\-][0-9]{4}(?-u:\b)",
    r"(?-u:\b)0[1-9](?:[ .\-][0-9]{2}){4}(?-u:\b)",
    r"(?:\(0[1-9][0-9]{0,4}\) ?|(?-u:\b)0[1-9][0-9]{0,4}[ \-])[0-9]{2,8}(?:[ \-][0-9]{2,4}){0,2}(?-u:\b)",
];

/// 13–19 digits, optionally separated by single spaces or dashes.
const CARD: &str = r"(?-u:\b)[2-6][0-9](?:[ \-]?[0-9]){11,17}(?-u:\b)";

/// Dotted quad of 0–255 parts.
const IPV4: &str = r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?-u:\b)";

/// Colon-hex candidates (with an optional embedded IPv4 tail and zone); checked by parsing.
const IPV6: &str = r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{0,4})(?:%[0-9A-Za-z]{1,16})?";

/// File extensions that follow an `@` in names such as `icon@2x.png`: not a TLD.
const NOT_TLDS: [&str; 10] = [
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tiff", "avif",
];

fn email_ok(found: &str) -> bool {
    let Some((local, domain)) = found.rsplit_once('@') else {
        return false;
    };
    let tld = domain.rsplit('.').next().unwrap_or("");
    !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && !NOT_TLDS.iter().any(|ext| tld.eq_ignore_ascii_case(ext))
}

fn digits(found: &str) -> usize {
    found.bytes().filter(u8::is_ascii_digit).count()
}

fn phone_ok(found: &str) -> bool {
    let n = digits(found);
    let balanced = found.matches('(').count() == found.matches(')').count();
    let doubled = ["  ", "..", "--", "-.", ".-", " .", ". "]
        .iter()
        .any(|pair| found.contains(pair));
    let range = if found.starts_with('+') {
        8..=15
    } else if found.starts_with('0') || found.starts_with("(0") {
        10..=12
    } else {
        10..=11
    };
    range.contains(&n) && balanced && !doubled
}

/// What joins a phone or card number to more digits (`555-123-4567-89`, dates, times).
const NUMBER_JOINERS: &[char] = &['.', '-', '/', ':', ','];
/// [`NUMBER_JOINERS`] and a space.
const PHONE_JOINERS: &[char] = &['.', '-', '/', ':', ',', ' '];

/// `user@host:path` (an scp / git remote such as `git@github.com:org/repo`), not an address.
fn scp_remote(after: &str) -> bool {
    let mut chars = after.chars();
    chars.next() == Some(':') && chars.next().is_some_and(|c| !c.is_whitespace())
}

/// A number is not part of a longer one: no letter, digit or `_` touches it, and none of
/// `joiners` joins it to more digits (`1.2.3.4.5`, `555-123-4567-89`, dates).
fn number_context_ok(text: &str, start: usize, end: usize, joiners: &[char]) -> bool {
    let before = text[..start].chars().rev().take(2).collect::<Vec<_>>();
    let after = text[end..].chars().take(2).collect::<Vec<_>>();
    let word = |c: &char| c.is_alphanumeric() || *c == '_';
    let joiner = |c: &char| joiners.contains(c);
    let digit = |c: Option<&char>| c.is_some_and(char::is_ascii_digit);
    let bad_before = match before.as_slice() {
        [c, ..] if word(c) => true,
        [c, d, ..] => joiner(c) && digit(Some(d)),
        _ => false,
    };
    let bad_after = match after.as_slice() {
        [c, ..] if word(c) => true,
        [c, d, ..] => joiner(c) && digit(Some(d)),
        _ => false,
    };
    !bad_before && !bad_after
}

fn card_ok(found: &str) -> bool {
    let groups: Vec<&str> = found.split([' ', '-']).collect();
    let separators: Vec<char> = found.chars().filter(|c| matches!(c, ' ' | '-')).collect();
    if separators.windows(2).any(|w| w[0] != w[1]) {
        return false;
    }
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let layout_ok = match lengths.as_slice() {
        [_] => true,
        // 4-6-4 / 4-6-5 (Amex, Diners); 4-4-4-4 with a short last group (13–19 digits).
        [4, 6, 4 | 5] => true,
        [4, rest @ ..] if (3..=4).contains(&rest.len()) => {
            let (last, middle) = rest.split_last().expect("3 or 4 groups follow");
            middle.iter().all(|&l| l == 4) && (1..=4).contains(last)
        }
        _ => false,
    };
    let number: Vec<u32> = found.chars().filter_map(|c| c.to_digit(10)).collect();
    layout_ok && (13..=19).contains(&number.len()) && network_prefix(&number) && luhn(&number)
}

/// The first digits belong to a card network (Visa, Mastercard, Amex, Discover, JCB, Diners,
/// UnionPay, Maestro).
fn network_prefix(number: &[u32]) -> bool {
    let prefix = |n: usize| number.iter().take(n).fold(0u32, |acc, d| acc * 10 + d);
    let (p2, p3, p4) = (prefix(2), prefix(3), prefix(4));
    number.first() == Some(&4)
        || (51..=55).contains(&p2)
        || (2221..=2720).contains(&p4)
        || p2 == 34
        || p2 == 37
        || p4 == 6011
        || (644..=649).contains(&p3)
        || p2 == 65
        || p2 == 62
        || (3528..=3589).contains(&p4)
        || (300..=305).contains(&p3)
        || p2 == 36
        || p2 == 38
        || p2 == 39
        || [5018, 5020, 5038, 6304, 6759, 6761, 6762, 6763].contains(&p4)
}

/// The Luhn (mod 10) check of a card number.
pub(crate) fn luhn(number: &[u32]) -> bool {
    let sum: u32 = number
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, twice) if twice > 9 => twice - 9,
            (true, twice) => twice,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

/// A real IPv6 address with at least one digit (not `d::` of `std::vector`), not glued to a
/// word or to more colon-hex.
fn ipv6_ok(text: &str, start: usize, end: usize) -> bool {
    let found = &text[start..end];
    let address = found.split('%').next().unwrap_or(found);
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
    address.bytes().any(|b| b.is_ascii_digit())
        && address.parse::<Ipv6Addr>().is_ok()
        && !glued(text[..start].chars().next_back())
        && !glued(text[end..].chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_numbers_and_refuses_a_changed_digit() {
        let digits = |s: &str| s.chars().filter_map(|c| c.to_digit(10)).collect::<Vec<_>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(luhn(&digits("378282246310005")));
        assert!(!luhn(&digits("4111111111111112")));
    }

    #[test]
    fn card_layouts() {
        assert!(card_ok("4111 1111 1111 1111"));
        assert!(card_ok("3782 822463 10005"));
        assert!(!card_ok("4111-1111 1111-1111"), "mixed separators");
        assert!(!card_ok("411-1111111-111111"), "not a card layout");
        assert!(!card_ok("9780306406157"), "ISBN prefix is no card network");
    }

    #[test]
    fn ipv6_needs_a_real_address_apart_from_words() {
        let ok = |t: &str| ipv6_ok(t, 0, t.len());
        assert!(ok("2001:db8::1"));
        assert!(ok("::1"));
        assert!(!ok("d::"));
        assert!(!ok("12:30:45"));
        assert!(!ipv6_ok("std::vector", 2, 5));
    }

    #[test]
    fn every_name_round_trips() {
        for detector in ALL {
            assert_eq!(Detector::from_name(detector.name()), Some(detector));
        }
        assert_eq!(Detector::from_name("emails"), None);
    }
}
