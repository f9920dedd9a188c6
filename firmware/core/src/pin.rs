//! The operator PIN: a PBKDF2-HMAC-SHA256 verifier carried in the signed boot image, and
//! the buffer the operator types the PIN into.
//!
//! The image holds only the [`PinVerifier`] (salt, iteration count, derived hash), never
//! the PIN. The terminal checks a typed PIN with [`PinVerifier::verify`], which derives the
//! hash again and compares it in constant time (`ring::pbkdf2::verify`). Guessing at the
//! terminal is slowed by the lockout in [`crate::terminal`].
//!
//! The terminal itself checks a PIN in steps ([`PinCheck`]): PBKDF2 at 100,000 iterations
//! costs about 1.9e9 instructions in the simulator's wasm interpreter, seconds of work that
//! must not block one input event. [`PinCheck::step`] computes a bounded number of
//! iterations ([`PIN_ITERATIONS_PER_STEP`]) with ring's HMAC-SHA256, one step per tick,
//! while the screen shows the progress; the result equals ring's `pbkdf2::derive`, and it
//! is compared with the verifier's hash in constant time.
//!
//! The salt given to PBKDF2 is [`PIN_SALT_LABEL`] followed by the verifier's 16 random salt
//! bytes, so a verifier can never be confused with another PBKDF2 use of the same PIN.

use core::fmt;
use core::num::NonZeroU32;
use ring::{hmac, pbkdf2};
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
/// PBKDF2 iterations one [`PinCheck::step`] of the terminal computes: about 3.7 million
/// instructions in the wasm interpreter (18,400 per iteration), within the budget of one
/// event (5 million) with room for the progress redraw.
pub const PIN_ITERATIONS_PER_STEP: u32 = 200;
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

/// PBKDF2-HMAC-SHA256 with one 32-byte output block (RFC 8018, section 5.2), computed a
/// few iterations at a time: `T = U_1 ^ U_2 ^ ... ^ U_c`, `U_1 = HMAC(P, S || INT(1))`,
/// `U_i = HMAC(P, U_{i-1})`.
struct Pbkdf2Blocks {
    key: hmac::Key,
    /// `U_done`.
    last: [u8; PIN_HASH_BYTES],
    /// `U_1 ^ ... ^ U_done`.
    sum: [u8; PIN_HASH_BYTES],
    done: u32,
    iterations: u32,
}

impl Pbkdf2Blocks {
    /// Start: computes `U_1` (one HMAC).
    fn new(password: &[u8], salt: &[u8], iterations: u32) -> Pbkdf2Blocks {
        let key = hmac::Key::new(hmac::HMAC_SHA256, password);
        let mut first = hmac::Context::with_key(&key);
        first.update(salt);
        first.update(&1u32.to_be_bytes());
        let mut last = [0u8; PIN_HASH_BYTES];
        for (dst, src) in last.iter_mut().zip(first.sign().as_ref()) {
            *dst = *src;
        }
        Pbkdf2Blocks {
            key,
            last,
            sum: last,
            done: 1,
            iterations,
        }
    }

    /// Compute up to `count` more iterations; whether all are done.
    fn step(&mut self, count: u32) -> bool {
        let target = self.done.saturating_add(count).min(self.iterations);
        while self.done < target {
            let next = hmac::sign(&self.key, &self.last);
            for ((last, sum), byte) in self.last.iter_mut().zip(&mut self.sum).zip(next.as_ref()) {
                *last = *byte;
                *sum ^= *byte;
            }
            self.done = self.done.saturating_add(1);
        }
        self.is_finished()
    }

    fn is_finished(&self) -> bool {
        self.done >= self.iterations
    }
}

impl Drop for Pbkdf2Blocks {
    fn drop(&mut self) {
        // ring's HMAC key (the PIN's padded hash states) cannot be wiped; the blocks can.
        self.last.zeroize();
        self.sum.zeroize();
    }
}

/// A check of a typed PIN against a [`PinVerifier`], done in steps so that no single call
/// runs long: [`PinCheck::start`], then [`PinCheck::step`] until it is finished, then
/// [`PinCheck::matches`]. The result is the one [`PinVerifier::verify`] gives.
pub struct PinCheck {
    verifier: PinVerifier,
    /// `None` for a verifier failing [`PinVerifier::check`]: nothing to compute, no match.
    blocks: Option<Pbkdf2Blocks>,
}

impl fmt::Debug for PinCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the blocks: they are PIN-derived.
        let (done, total) = self.progress();
        f.debug_struct("PinCheck")
            .field("done", &done)
            .field("total", &total)
            .finish()
    }
}

impl PinCheck {
    /// Start checking `pin` against `verifier` (one HMAC, the first PBKDF2 iteration). The
    /// caller wipes its copy of the PIN; the check keeps only PIN-derived values.
    pub fn start(verifier: &PinVerifier, pin: &[u8]) -> PinCheck {
        let blocks = verifier.check().ok().map(|()| {
            let mut buf = [0u8; PIN_SALT_LABEL.len() + PIN_SALT_BYTES];
            let blocks = Pbkdf2Blocks::new(
                pin,
                labelled_salt(&verifier.salt, &mut buf),
                verifier.iterations,
            );
            buf.zeroize();
            blocks
        });
        PinCheck {
            verifier: *verifier,
            blocks,
        }
    }

    /// Compute up to `iterations` more PBKDF2 iterations; whether the check is finished.
    pub fn step(&mut self, iterations: u32) -> bool {
        match &mut self.blocks {
            Some(blocks) => blocks.step(iterations),
            None => true,
        }
    }

    /// Whether every iteration is done.
    pub fn is_finished(&self) -> bool {
        self.blocks.as_ref().is_none_or(Pbkdf2Blocks::is_finished)
    }

    /// Iterations done and iterations in all.
    pub fn progress(&self) -> (u32, u32) {
        match &self.blocks {
            Some(b) => (b.done.min(b.iterations), b.iterations),
            None => (0, 0),
        }
    }

    /// Whether the check is finished, was made against `verifier` (the same salt,
    /// iterations and hash) and the PIN matches it. The hash comparison is constant-time.
    pub fn matches(&self, verifier: &PinVerifier) -> bool {
        let Some(blocks) = self.blocks.as_ref().filter(|b| b.is_finished()) else {
            return false;
        };
        if self.verifier != *verifier || verifier.check().is_err() {
            return false;
        }
        // Constant time: every byte is looked at, whatever differs.
        let diff = blocks
            .sum
            .iter()
            .zip(&verifier.hash)
            .fold(0u8, |acc, (a, b)| acc | core::hint::black_box(a ^ b));
        diff == 0
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
    fn stepped_pbkdf2_equals_rings_for_any_count_and_step() {
        let salt = b"voting-terminal operator pin v1/0123456789abcdef";
        for iterations in [1u32, 2, 3, 7, 199, 200, 201, 1_000, 10_001] {
            let mut want = [0u8; 32];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                NonZeroU32::new(iterations).unwrap(),
                salt,
                b"482915",
                &mut want,
            );
            for step in [1u32, 7, PIN_ITERATIONS_PER_STEP, u32::MAX] {
                if iterations > 1_000 && step < PIN_ITERATIONS_PER_STEP {
                    continue;
                }
                let mut blocks = Pbkdf2Blocks::new(b"482915", salt, iterations);
                let mut calls = 0u32;
                while !blocks.step(step) {
                    calls += 1;
                }
                assert_eq!(
                    blocks.sum, want,
                    "{iterations} iterations in steps of {step}"
                );
                assert_eq!(blocks.done, iterations);
                assert!(calls <= iterations / step.max(1) + 1);
            }
        }
    }

    #[test]
    fn a_check_in_steps_matches_exactly_when_verify_does() {
        let v = PinVerifier::derive(b"482915", [7; 16], iterations());
        for (pin, right) in [(&b"482915"[..], true), (b"482916", false), (b"", false)] {
            let mut check = PinCheck::start(&v, pin);
            assert!(!check.is_finished());
            assert!(!check.matches(&v), "not before it is finished");
            let mut steps = 0;
            while !check.step(PIN_ITERATIONS_PER_STEP) {
                steps += 1;
                let (done, total) = check.progress();
                assert!(done < total && total == PIN_MIN_ITERATIONS);
            }
            assert_eq!(steps, PIN_MIN_ITERATIONS / PIN_ITERATIONS_PER_STEP - 1);
            assert_eq!(check.progress(), (PIN_MIN_ITERATIONS, PIN_MIN_ITERATIONS));
            assert_eq!(check.matches(&v), right, "{pin:?}");
            assert_eq!(v.verify(pin), right);
            // Against another verifier (salt, iterations or hash changed): never.
            let mut other = v;
            other.salt[0] ^= 1;
            assert!(!check.matches(&other));
            let mut other = v;
            other.hash[31] ^= 1;
            assert!(!check.matches(&other));
        }
        let weak = PinVerifier {
            iterations: 1000,
            ..v
        };
        let check = PinCheck::start(&weak, b"482915");
        assert!(check.is_finished());
        assert!(!check.matches(&weak), "a weak verifier never matches");
        assert_eq!(std::format!("{check:?}"), "PinCheck { done: 0, total: 0 }");
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
