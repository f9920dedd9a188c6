//! Fingerprints for humans: a SHA-256 digest shown as 16 groups of 4 lower-case hex digits,
//! e.g. `3f2a 9c01 ...`, the form printed on reports and re-typed by operators.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

use heapless::String;

/// Number of groups in a shown fingerprint.
pub const FINGERPRINT_GROUPS: usize = 16;
/// Hex digits per group.
pub const FINGERPRINT_GROUP_DIGITS: usize = 4;
/// Length of a shown fingerprint in bytes: 64 hex digits and 15 separating spaces.
pub const FINGERPRINT_TEXT_BYTES: usize = 79;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Show a SHA-256 digest as 16 space-separated groups of 4 lower-case hex digits.
pub fn fingerprint_groups(digest: &[u8; 32]) -> String<FINGERPRINT_TEXT_BYTES> {
    let mut text = String::new();
    for (index, byte) in digest.iter().enumerate() {
        if index > 0 && index % 2 == 0 {
            // Capacity is exactly 64 digits + 15 spaces; a unit test checks the length.
            let _ = text.push(' ');
        }
        for nibble in [byte >> 4, byte & 0x0f] {
            let digit = HEX_DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'?');
            let _ = text.push(char::from(digit));
        }
    }
    text
}

/// Parse a fingerprint typed by a person: 64 hex digits in either case, with any spaces.
/// Returns `None` for anything else.
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut digits = text.bytes().filter(|b| *b != b' ');
    for slot in out.iter_mut() {
        let high = hex_value(digits.next()?)?;
        let low = hex_value(digits.next()?)?;
        *slot = (high << 4) | low;
    }
    digits.next().is_none().then_some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => digit.checked_sub(b'0'),
        b'a'..=b'f' => digit.checked_sub(b'a' - 10),
        b'A'..=b'F' => digit.checked_sub(b'A' - 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sixteen_groups_of_four() {
        let mut digest = [0u8; 32];
        for (i, b) in digest.iter_mut().enumerate() {
            *b = (i as u8 % 16) * 0x11;
        }
        let text = fingerprint_groups(&digest);
        assert_eq!(text.len(), FINGERPRINT_TEXT_BYTES);
        assert_eq!(
            text.as_str(),
            "0011 2233 4455 6677 8899 aabb ccdd eeff 0011 2233 4455 6677 8899 aabb ccdd eeff"
        );
        let groups: std::vec::Vec<&str> = text.split(' ').collect();
        assert_eq!(groups.len(), FINGERPRINT_GROUPS);
        assert!(groups.iter().all(|g| g.len() == FINGERPRINT_GROUP_DIGITS));
    }

    #[test]
    fn typed_fingerprints_parse() {
        let digest = [0xABu8; 32];
        let upper = fingerprint_groups(&digest).as_str().to_uppercase();
        assert_eq!(parse_fingerprint(&upper), Some(digest));
        assert_eq!(parse_fingerprint(&upper[..upper.len() - 1]), None);
        assert_eq!(parse_fingerprint(&(upper.clone() + "0")), None);
        assert_eq!(parse_fingerprint(&upper.replace('A', "G")), None);
    }

    proptest! {
        #[test]
        fn shown_fingerprints_round_trip(digest in any::<[u8; 32]>()) {
            let text = fingerprint_groups(&digest);
            prop_assert_eq!(text.len(), FINGERPRINT_TEXT_BYTES);
            prop_assert_eq!(parse_fingerprint(&text), Some(digest));
        }
    }
}
