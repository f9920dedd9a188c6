//! Why an image is refused: the one error type of image verification.
//!
//! Every [`Refusal`] has a one-line `Display` naming the reason and a stable
//! [`Refusal::class`] string. Test vectors, the CLI and boot ROM screens use the class;
//! it never changes once published.

use core::fmt;

use firmware::election::{Date, DecodeError};
use firmware::pin::PinError;
use heapless::Vec;

use crate::manifest::{MachineKind, ManifestField, MAX_PAYLOADS};

/// The part of an image a structural refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Section {
    /// The fixed-size header at the start of the image.
    Header,
    /// The postcard manifest that follows the header.
    Manifest,
    /// The payload sections that follow the manifest.
    Payloads,
    /// The signature block at the end of the image.
    SignatureBlock,
}

impl Section {
    /// The section's name as used in the format specification.
    pub const fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Manifest => "manifest",
            Section::Payloads => "payloads",
            Section::SignatureBlock => "signature block",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a manifest field that decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// The field is empty but must not be.
    Empty,
    /// The text or list is longer than allowed.
    TooLong {
        /// Length found, in bytes or entries.
        len: usize,
        /// Most allowed.
        max: usize,
    },
    /// The text holds a byte outside printable ASCII (0x20..=0x7e).
    NotPrintable {
        /// Offset of the first offending byte within the text.
        offset: usize,
    },
    /// The date is not a real calendar date between 2000 and 9999.
    InvalidDate,
    /// `valid_until` is before `valid_from`.
    EndsBeforeStart,
    /// Payload entries are not in strictly increasing machine-kind order.
    Unsorted {
        /// Index of the first entry out of order (or repeating a kind).
        index: usize,
    },
    /// A payload entry declares zero bytes.
    ZeroLength {
        /// Index of the entry.
        index: usize,
    },
    /// The payload lengths do not add up to the header's payload area length.
    LengthMismatch {
        /// Sum of the lengths in the manifest's payload table (saturating).
        manifest: u64,
        /// Payload area length in the header.
        header: u64,
    },
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FieldProblem::Empty => f.write_str("is empty"),
            FieldProblem::TooLong { len, max } => write!(f, "is {len} long, at most {max} allowed"),
            FieldProblem::NotPrintable { offset } => {
                write!(f, "has a non-printable byte at offset {offset}")
            }
            FieldProblem::InvalidDate => f.write_str("is not a valid date"),
            FieldProblem::EndsBeforeStart => f.write_str("is before valid_from"),
            FieldProblem::Unsorted { index } => write!(
                f,
                "entry {index} is not in strictly increasing machine-kind order"
            ),
            FieldProblem::ZeroLength { index } => write!(f, "entry {index} has zero length"),
            FieldProblem::LengthMismatch { manifest, header } => write!(
                f,
                "lengths add up to {manifest} bytes but the header says {header}"
            ),
        }
    }
}

/// What is wrong with a [`crate::TrustPolicy`] (a configuration error of the verifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyProblem {
    /// The threshold is zero, which would accept unsigned images.
    ZeroThreshold,
    /// The threshold exceeds the number of trusted keys, so nothing can be accepted.
    ThresholdAboveKeys {
        /// Required signatures.
        threshold: usize,
        /// Trusted keys.
        keys: usize,
    },
    /// A trusted key is listed twice.
    DuplicateKey {
        /// Index of the second occurrence.
        index: usize,
    },
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PolicyProblem::ZeroThreshold => f.write_str("threshold is 0"),
            PolicyProblem::ThresholdAboveKeys { threshold, keys } => {
                write!(f, "threshold {threshold} exceeds the {keys} trusted keys")
            }
            PolicyProblem::DuplicateKey { index } => {
                write!(f, "trusted key {index} is listed twice")
            }
        }
    }
}

/// Why an image was refused. Verification fails closed: any doubt is a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The trust policy itself is unusable; no image is accepted under it.
    InvalidPolicy {
        /// What is wrong.
        problem: PolicyProblem,
    },
    /// The image does not start with the boot image magic.
    BadMagic,
    /// The header's format version is not one this verifier knows.
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// The only version supported.
        supported: u16,
    },
    /// The header's own size field is wrong for the format version.
    BadHeaderSize {
        /// Size found, in bytes.
        found: u16,
        /// Size required by the version, in bytes.
        expected: u16,
    },
    /// The image ends before a section is complete.
    Truncated {
        /// Section cut short.
        section: Section,
        /// Bytes the image needs up to the end of that section.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// Bytes follow the end of a section that must be the last of its container.
    TrailingBytes {
        /// Section followed by extra bytes (the signature block for the image as a whole).
        section: Section,
        /// How many extra bytes.
        count: u64,
    },
    /// A manifest field cannot be decoded.
    MalformedManifest {
        /// Field that failed.
        field: ManifestField,
    },
    /// A manifest field decoded but breaks a rule of the format.
    InvalidManifest {
        /// Field at fault.
        field: ManifestField,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// Bytes are not in their single canonical encoding (e.g. an over-long varint).
    NonCanonical {
        /// Section holding the bytes.
        section: Section,
        /// Offset of the first differing byte within the section.
        offset: u64,
    },
    /// The signature block does not start with its magic.
    BadSignatureBlock,
    /// The signature block holds more signatures than a verifier will check.
    TooManySignatures {
        /// Count declared.
        count: u64,
        /// Most allowed.
        max: usize,
    },
    /// The same public key signs twice; a signer is counted once, so the image is refused.
    DuplicateSigner {
        /// Index of the second signature by that key.
        index: usize,
    },
    /// An official image carries a signature by a development authority key.
    DevKeyOfficial,
    /// A signature by a trusted key does not verify over the manifest digest.
    BadSignature {
        /// Index of the failing signature in the signature block.
        index: usize,
    },
    /// Too few valid signatures, and some signatures are by keys the policy does not trust.
    UnknownKeys {
        /// Valid signatures by distinct trusted keys.
        valid: usize,
        /// Signatures required.
        threshold: usize,
        /// Signatures by untrusted keys (ignored).
        unknown: usize,
    },
    /// Too few valid signatures by distinct trusted keys.
    BelowThreshold {
        /// Valid signatures by distinct trusted keys.
        valid: usize,
        /// Signatures required.
        threshold: usize,
    },
    /// The image has no payload for this machine.
    WrongMachine {
        /// The machine asking.
        machine: MachineKind,
        /// The machine kinds the image has payloads for.
        available: Vec<MachineKind, MAX_PAYLOADS>,
    },
    /// A payload's SHA-256 differs from the digest in the signed manifest.
    DigestMismatch {
        /// Machine kind of the payload.
        machine: MachineKind,
        /// Digest in the manifest.
        expected: [u8; 32],
        /// Digest of the payload bytes.
        actual: [u8; 32],
    },
    /// The election definition fails `firmware::election::Event::from_postcard`.
    BadElection {
        /// Why it failed.
        reason: DecodeError,
    },
    /// The election definition disagrees with the manifest.
    ElectionMismatch {
        /// Manifest field it disagrees with (`event_id`, `mode`, or `valid_from` /
        /// `valid_until` when the polling day lies outside the validity window).
        field: ManifestField,
    },
    /// An official image used before its first valid day.
    NotYetValid {
        /// The verifier's date.
        today: Date,
        /// First valid day.
        valid_from: Date,
    },
    /// An official image used after its last valid day.
    Expired {
        /// The verifier's date.
        today: Date,
        /// Last valid day.
        valid_until: Date,
    },
    /// The operator PIN verifier is weaker (or costlier) than the terminal accepts.
    WeakPinVerifier {
        /// Why.
        reason: PinError,
    },
}

impl Refusal {
    /// A stable, kebab-case name for the kind of refusal (used by test vectors and reports).
    pub const fn class(&self) -> &'static str {
        match self {
            Refusal::InvalidPolicy { .. } => "invalid-policy",
            Refusal::BadMagic => "bad-magic",
            Refusal::UnsupportedVersion { .. } => "unsupported-version",
            Refusal::BadHeaderSize { .. } => "bad-header-size",
            Refusal::Truncated { .. } => "truncated",
            Refusal::TrailingBytes { .. } => "trailing-bytes",
            Refusal::MalformedManifest { .. } => "malformed-manifest",
            Refusal::InvalidManifest { .. } => "invalid-manifest",
            Refusal::NonCanonical { .. } => "non-canonical",
            Refusal::BadSignatureBlock => "bad-signature-block",
            Refusal::TooManySignatures { .. } => "too-many-signatures",
            Refusal::DuplicateSigner { .. } => "duplicate-signer",
            Refusal::DevKeyOfficial => "dev-key-official",
            Refusal::BadSignature { .. } => "bad-signature",
            Refusal::UnknownKeys { .. } => "unknown-key",
            Refusal::BelowThreshold { .. } => "below-threshold",
            Refusal::WrongMachine { .. } => "wrong-machine",
            Refusal::DigestMismatch { .. } => "digest-mismatch",
            Refusal::BadElection { .. } => "bad-election",
            Refusal::ElectionMismatch { .. } => "election-mismatch",
            Refusal::NotYetValid { .. } => "not-yet-valid",
            Refusal::Expired { .. } => "expired",
            Refusal::WeakPinVerifier { .. } => "weak-pin-verifier",
        }
    }

    /// Every class string, each once, roughly in the order the verifier first checks for it.
    pub const CLASSES: [&'static str; 23] = [
        "invalid-policy",
        "bad-magic",
        "unsupported-version",
        "bad-header-size",
        "truncated",
        "trailing-bytes",
        "bad-signature-block",
        "too-many-signatures",
        "duplicate-signer",
        "non-canonical",
        "malformed-manifest",
        "invalid-manifest",
        "dev-key-official",
        "bad-signature",
        "unknown-key",
        "below-threshold",
        "wrong-machine",
        "digest-mismatch",
        "bad-election",
        "election-mismatch",
        "weak-pin-verifier",
        "not-yet-valid",
        "expired",
    ];
}

/// Lower-case hex of the first 8 bytes of a digest, for short messages.
struct Short<'a>(&'a [u8; 32]);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0.iter().take(8) {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("...")
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::InvalidPolicy { problem } => write!(f, "trust policy is unusable: {problem}"),
            Refusal::BadMagic => f.write_str("not a boot image: bad magic"),
            Refusal::UnsupportedVersion { found, supported } => write!(
                f,
                "boot image format version {found} is not supported (only {supported})"
            ),
            Refusal::BadHeaderSize { found, expected } => write!(
                f,
                "header size field says {found} bytes, format requires {expected}"
            ),
            Refusal::Truncated {
                section,
                needed,
                available,
            } => write!(
                f,
                "image truncated in the {section}: needs {needed} bytes, has {available}"
            ),
            Refusal::TrailingBytes { section, count } => {
                write!(f, "{count} trailing bytes after the {section}")
            }
            Refusal::MalformedManifest { field } => {
                write!(f, "manifest field {field} cannot be decoded")
            }
            Refusal::InvalidManifest { field, problem } => {
                write!(f, "manifest field {field} {problem}")
            }
            Refusal::NonCanonical { section, offset } => write!(
                f,
                "{section} is not canonically encoded (first difference at offset {offset})"
            ),
            Refusal::BadSignatureBlock => f.write_str("signature block has a bad magic"),
            Refusal::TooManySignatures { count, max } => {
                write!(
                    f,
                    "signature block declares {count} signatures, at most {max}"
                )
            }
            Refusal::DuplicateSigner { index } => {
                write!(f, "signature {index} repeats an earlier signer's key")
            }
            Refusal::DevKeyOfficial => {
                f.write_str("official image signed with a development authority key")
            }
            Refusal::BadSignature { index } => {
                write!(f, "signature {index} by a trusted key does not verify")
            }
            Refusal::UnknownKeys {
                valid,
                threshold,
                unknown,
            } => write!(
                f,
                "only {valid} of {threshold} required signatures by trusted keys \
                 ({unknown} by unknown keys ignored)"
            ),
            Refusal::BelowThreshold { valid, threshold } => write!(
                f,
                "only {valid} of {threshold} required signatures by trusted keys"
            ),
            Refusal::WrongMachine { machine, available } => {
                write!(f, "no payload for machine kind {machine} (image has:")?;
                for kind in available {
                    write!(f, " {kind}")?;
                }
                f.write_str(")")
            }
            Refusal::DigestMismatch {
                machine,
                expected,
                actual,
            } => write!(
                f,
                "{machine} payload digest {} does not match the manifest's {}",
                Short(actual),
                Short(expected)
            ),
            Refusal::BadElection { reason } => write!(f, "{reason}"),
            Refusal::ElectionMismatch { field } => write!(
                f,
                "election definition disagrees with manifest field {field}"
            ),
            Refusal::NotYetValid { today, valid_from } => write!(
                f,
                "official image is not valid before {valid_from} (today is {today})"
            ),
            Refusal::Expired { today, valid_until } => write!(
                f,
                "official image expired after {valid_until} (today is {today})"
            ),
            Refusal::WeakPinVerifier { reason } => write!(f, "{reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_unique_kebab_case() {
        for (i, class) in Refusal::CLASSES.iter().enumerate() {
            assert!(!Refusal::CLASSES[..i].contains(class), "{class} twice");
            assert!(
                class.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{class}"
            );
        }
    }

    #[test]
    fn messages_name_the_reason_on_one_line() {
        let wrong = Refusal::WrongMachine {
            machine: MachineKind::Riscv32,
            available: Vec::from_slice(&[MachineKind::Wasm32]).unwrap(),
        };
        assert_eq!(
            std::format!("{wrong}"),
            "no payload for machine kind riscv32 (image has: wasm32)"
        );
        assert_eq!(wrong.class(), "wrong-machine");
        let mismatch = Refusal::DigestMismatch {
            machine: MachineKind::Wasm32,
            expected: [0xab; 32],
            actual: [0x01; 32],
        };
        assert_eq!(
            std::format!("{mismatch}"),
            "wasm32 payload digest 0101010101010101... does not match the manifest's \
             abababababababab..."
        );
        let below = Refusal::UnknownKeys {
            valid: 1,
            threshold: 2,
            unknown: 1,
        };
        assert_eq!(
            std::format!("{below}"),
            "only 1 of 2 required signatures by trusted keys (1 by unknown keys ignored)"
        );
    }
}
