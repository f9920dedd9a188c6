//! The operator PIN: a PBKDF2-HMAC-SHA256 verifier carried in the signed boot image, and
//! the buffer the operator types the PIN into.
//!
//! The image holds only the [`PinVerifier`] (salt, iteration count, derived hash), never
//! the PIN. The terminal checks a typed PIN with [`PinVerifier::verify`], which derives the
//! hash again and compares it in constant time (`ring::pbkdf2::verify`). Guessing at the
//! terminal is slowed by the lockout in [`crate::terminal`].
//!
//! The salt given to PBKDF2 is [`PIN_SALT_LABEL`] followed by the verifier's 16 random salt
//! bytes, so a verifier can never be confused with another PBKDF2 use of the same PIN.

use core::fmt;
use core::num::NonZeroU32;
use ring::pbkdf2;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Domain-separation label prefixed to the salt before PBKDF2.
pub const PIN_SALT_LABEL: &[u8] = b"voting-terminal operator pin v1/";
/// Bytes of random salt in a verifier.
pub const PIN_SALT_BYTES: usize = 16;
/// Bytes of the derived hash (SHA-256 output).
pub const PIN_HASH_BYTES: usize = 32;
/// Fewest PBKDF2 iterations the terminal accepts; weaker verifiers are refused.
pub const PIN_MIN_ITERATIONS: u32 = 10_000;
/// Most PBKDF2 iterations the terminal accepts, bounding the time of one check
/// (about 10 s in the wasm interpreter).
pub const PIN_MAX_ITERATIONS: u32 = 1_000_000;
/// Iterations the office tooling should use: a check takes a few tens of milliseconds
/// natively and about a second in the wasm interpreter.
pub const PIN_DEFAULT_ITERATIONS: u32 = 100_000;
/// Fewest digits in an operator PIN.
pub const PIN_MIN_DIGITS: usize = 4;
/// Most digits in an operator PIN.
pub const PIN_MAX_DIGITS: usize = 12;

/// Errors about a PIN or a PIN verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinError {
    /// The verifier uses fewer iterations than [`PIN_MIN_ITERATIONS`].
    TooFewIterations {
        /// Iterations in the verifier.
        iterations: u32,
        /// Minimum accepted.
        min: u32,
    },
    /// The verifier uses more iterations than [`PIN_MAX_ITERATIONS`].
    TooManyIterations {
        /// Iterations in the verifier.
        iterations: u32,
        /// Maximum accepted.
        max: u32,
    },
    /// A key other than `0`..`9` was typed into the PIN.
    NotADigit {
        /// The byte typed.
        byte: u8,
    },
    /// The PIN entry already holds [`PIN_MAX_DIGITS`] digits.
    TooLong {
        /// Maximum digits.
        max: usize,
    },
}

impl fmt::Display for PinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PinError::TooFewIterations { iterations, min } => write!(
                f,
                "PIN verifier iterations: {iterations} is below the minimum {min}"
            ),
            PinError::TooManyIterations { iterations, max } => write!(
                f,
                "PIN verifier iterations: {iterations} is above the maximum {max}"
            ),
            PinError::NotADigit { byte } => write!(f, "PIN: byte {byte:#04x} is not a digit"),
            PinError::TooLong { max } => write!(f, "PIN: longer than {max} digits"),
        }
    }
}

/// The stored check value of the operator PIN: PBKDF2-HMAC-SHA256 of the PIN.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct PinVerifier {
    /// Random salt chosen by the office when the image is built.
    pub salt: [u8; PIN_SALT_BYTES],
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// PBKDF2-HMAC-SHA256(PIN, [`PIN_SALT_LABEL`] || salt, iterations).
    pub hash: [u8; PIN_HASH_BYTES],
}

/// Fill `out` with [`PIN_SALT_LABEL`] || `salt` and return the used prefix.
fn labelled_salt<'o>(
    salt: &[u8; PIN_SALT_BYTES],
    out: &'o mut [u8; PIN_SALT_LABEL.len() + PIN_SALT_BYTES],
) -> &'o [u8] {
    let (label, rest) = out.split_at_mut(PIN_SALT_LABEL.len());
    label.copy_from_slice(PIN_SALT_LABEL);
    rest.copy_from_slice(salt);
    out
}

impl PinVerifier {
    /// Derive the verifier of `pin` (run by the office tooling when building an image).
    pub fn derive(pin: &[u8], salt: [u8; PIN_SALT_BYTES], iterations: NonZeroU32) -> PinVerifier {
        let mut buf = [0u8; PIN_SALT_LABEL.len() + PIN_SALT_BYTES];
        let mut hash = [0u8; PIN_HASH_BYTES];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            labelled_salt(&salt, &mut buf),
            pin,
            &mut hash,
        );
        PinVerifier {
            salt,
            iterations: iterations.get(),
            hash,
        }
    }

    /// Whether the verifier is strong enough and bounded in cost.
    pub fn check(&self) -> Result<(), PinError> {
        if self.iterations < PIN_MIN_ITERATIONS {
            return Err(PinError::TooFewIterations {
                iterations: self.iterations,
                min: PIN_MIN_ITERATIONS,
            });
        }
        if self.iterations > PIN_MAX_ITERATIONS {
            return Err(PinError::TooManyIterations {
                iterations: self.iterations,
                max: PIN_MAX_ITERATIONS,
            });
        }
        Ok(())
    }

    /// Whether `pin` is the PIN this verifier was derived from. The hash comparison is
    /// constant-time. A verifier failing [`PinVerifier::check`] never matches.
    pub fn verify(&self, pin: &[u8]) -> bool {
        if self.check().is_err() {
            return false;
        }
        let Some(iterations) = NonZeroU32::new(self.iterations) else {
            return false;
        };
        let mut buf = [0u8; PIN_SALT_LABEL.len() + PIN_SALT_BYTES];
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            labelled_salt(&self.salt, &mut buf),
            pin,
            &self.hash,
        )
        .is_ok()
    }
}

impl Zeroize for PinVerifier {
    fn zeroize(&mut self) {
        self.salt.zeroize();
        self.iterations.zeroize();
        self.hash.zeroize();
    }
}

/// The digits the operator has typed so far; wiped on drop and on [`PinEntry::clear`].
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct PinEntry {
    digits: [u8; PIN_MAX_DIGITS],
    len: u8,
}

impl fmt::Debug for PinEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the digits.
        f.debug_struct("PinEntry").field("len", &self.len).finish()
    }
}

impl PinEntry {
    /// An empty entry.
    pub const fn new() -> PinEntry {
        PinEntry {
            digits: [0; PIN_MAX_DIGITS],
            len: 0,
        }
    }

    /// Append one ASCII digit (`b'0'..=b'9'`).
    pub fn push(&mut self, digit: u8) -> Result<(), PinError> {
        if !digit.is_ascii_digit() {
            return Err(PinError::NotADigit { byte: digit });
        }
        let slot = self
            .digits
            .get_mut(usize::from(self.len))
            .ok_or(PinError::TooLong {
                max: PIN_MAX_DIGITS,
            })?;
        *slot = digit;
        self.len = self.len.saturating_add(1);
        Ok(())
    }

    /// Remove the last digit, if any.
    pub fn pop(&mut self) {
        if let Some(last) = usize::from(self.len).checked_sub(1) {
            if let Some(slot) = self.digits.get_mut(last) {
                slot.zeroize();
            }
            self.len = self.len.saturating_sub(1);
        }
    }

    /// Wipe every digit.
    pub fn clear(&mut self) {
        self.zeroize();
    }

    /// Number of digits typed (shown as dots).
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether nothing has been typed.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether enough digits were typed to try the PIN.
    pub const fn is_complete(&self) -> bool {
        self.len() >= PIN_MIN_DIGITS
    }

    /// The typed digits.
    pub fn as_bytes(&self) -> &[u8] {
        self.digits.get(..self.len()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iterations() -> NonZeroU32 {
        NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap()
    }

    #[test]
    fn right_pin_verifies_and_wrong_ones_do_not() {
        let v = PinVerifier::derive(b"482915", [7; 16], iterations());
        assert!(v.verify(b"482915"));
        for wrong in [&b"482916"[..], b"48291", b"4829150", b"", b"000000"] {
            assert!(!v.verify(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn salt_and_iterations_change_the_hash() {
        let a = PinVerifier::derive(b"1234", [1; 16], iterations());
        let b = PinVerifier::derive(b"1234", [2; 16], iterations());
        let c = PinVerifier::derive(
            b"1234",
            [1; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS + 1).unwrap(),
        );
        assert_ne!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
        // Tampering with any field breaks verification.
        let mut t = a;
        t.salt = [2; 16];
        assert!(!t.verify(b"1234"));
        let mut t = a;
        t.iterations += 1;
        assert!(!t.verify(b"1234"));
        let mut t = a;
        t.hash[31] ^= 1;
        assert!(!t.verify(b"1234"));
    }

    #[test]
    fn known_answer_matches_an_independent_hmac_pbkdf2() {
        // PBKDF2 with one block of output is U1 ^ U2 ^ ... with U1 = HMAC(P, S || INT(1)).
        // Recompute it with ring's HMAC to pin the salt layout (label || salt).
        use ring::hmac;
        let pin = b"2718";
        let salt = [0xA5u8; 16];
        let n = PIN_MIN_ITERATIONS;
        let key = hmac::Key::new(hmac::HMAC_SHA256, pin);
        let mut msg = std::vec::Vec::new();
        msg.extend_from_slice(PIN_SALT_LABEL);
        msg.extend_from_slice(&salt);
        msg.extend_from_slice(&1u32.to_be_bytes());
        let mut u: [u8; 32] = hmac::sign(&key, &msg).as_ref().try_into().unwrap();
        let mut t = u;
        for _ in 1..n {
            u = hmac::sign(&key, &u).as_ref().try_into().unwrap();
            for (a, b) in t.iter_mut().zip(u) {
                *a ^= b;
            }
        }
        let v = PinVerifier::derive(pin, salt, NonZeroU32::new(n).unwrap());
        assert_eq!(v.hash, t);
    }

    #[test]
    fn weak_and_unbounded_verifiers_are_refused() {
        let weak = PinVerifier::derive(b"1234", [3; 16], NonZeroU32::new(1000).unwrap());
        assert_eq!(
            weak.check(),
            Err(PinError::TooFewIterations {
                iterations: 1000,
                min: PIN_MIN_ITERATIONS
            })
        );
        assert!(!weak.verify(b"1234"), "a weak verifier never matches");
        let huge = PinVerifier {
            salt: [0; 16],
            iterations: PIN_MAX_ITERATIONS + 1,
            hash: [0; 32],
        };
        assert_eq!(
            huge.check(),
            Err(PinError::TooManyIterations {
                iterations: PIN_MAX_ITERATIONS + 1,
                max: PIN_MAX_ITERATIONS
            })
        );
        assert!(!huge.verify(b"1234"));
    }

    #[test]
    fn verifier_round_trips_through_postcard() {
        let v = PinVerifier::derive(b"99999", [9; 16], iterations());
        let bytes = postcard::to_allocvec(&v).unwrap();
        let back: PinVerifier = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, v);
        assert!(back.verify(b"99999"));
    }

    #[test]
    fn entry_takes_digits_only_and_wipes() {
        let mut e = PinEntry::new();
        assert!(e.is_empty());
        assert_eq!(e.push(b'x'), Err(PinError::NotADigit { byte: b'x' }));
        for d in b"123" {
            e.push(*d).unwrap();
        }
        assert!(!e.is_complete());
        e.push(b'4').unwrap();
        assert!(e.is_complete());
        assert_eq!(e.as_bytes(), b"1234");
        e.pop();
        assert_eq!(e.as_bytes(), b"123");
        assert_eq!(e.digits[3], 0, "a removed digit is wiped");
        for _ in 0..PIN_MAX_DIGITS - 3 {
            e.push(b'9').unwrap();
        }
        assert_eq!(
            e.push(b'9'),
            Err(PinError::TooLong {
                max: PIN_MAX_DIGITS
            })
        );
        e.clear();
        assert!(e.is_empty());
        assert_eq!(e.digits, [0; PIN_MAX_DIGITS]);
        assert_eq!(std::format!("{e:?}"), "PinEntry { len: 0 }");
    }
}
