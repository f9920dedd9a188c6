//! The signed manifest: what an image is for, when it is valid, how it was built, and the
//! digests of its payloads.
//!
//! On the wire the manifest is a postcard struct (fields in the order of [`Manifest`]).
//! The decoder reads it field by field so that a failure names the field, then encodes the
//! decoded value again and requires the same bytes: every manifest has exactly one encoding.

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

use core::fmt;

use firmware::election::{Date, Mode, MAX_ID_BYTES};
use firmware::pin::PinVerifier;
use heapless::Vec;
use serde::{Deserialize, Serialize, Serializer};

use crate::refusal::{FieldProblem, Refusal, Section};

/// Most payloads one image carries (one per [`MachineKind`]).
pub const MAX_PAYLOADS: usize = 2;
/// Longest source commit identifier, in bytes (a SHA-256 git object id in hex).
pub const MAX_SOURCE_COMMIT_BYTES: usize = 64;
/// Longest builder identification (e.g. `boot-image 0.1.0`), in bytes.
pub const MAX_BUILDER_BYTES: usize = 64;
/// Bytes of an Ed25519 or X25519 public key.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of a SHA-256 digest.
pub const DIGEST_BYTES: usize = 32;

/// The instruction set a payload is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MachineKind {
    /// WebAssembly (`wasm32-unknown-unknown`), run by the simulator in wasmi. Wire value 0.
    Wasm32,
    /// 32-bit RISC-V (`riscv32imac-unknown-none-elf`), run by boards. Wire value 1.
    Riscv32,
}

impl MachineKind {
    /// Every machine kind, in wire order.
    pub const ALL: [MachineKind; MAX_PAYLOADS] = [MachineKind::Wasm32, MachineKind::Riscv32];

    /// The name used in specs, TOML and the CLI (`wasm32`, `riscv32`).
    pub const fn name(self) -> &'static str {
        match self {
            MachineKind::Wasm32 => "wasm32",
            MachineKind::Riscv32 => "riscv32",
        }
    }

    /// Parse a name given by [`MachineKind::name`].
    pub fn from_name(name: &str) -> Option<MachineKind> {
        MachineKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

impl fmt::Display for MachineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an image was built, so anyone can rebuild it byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Provenance<'a> {
    /// Source commit of the firmware and tool (printable ASCII, 1..=64 bytes).
    pub source_commit: &'a str,
    /// `SOURCE_DATE_EPOCH` of the build, seconds since 1970-01-01 UTC.
    pub source_date_epoch: u64,
    /// Name and version of the builder (printable ASCII, 1..=64 bytes).
    pub builder: &'a str,
}

/// One entry of the payload table: a payload's machine kind, length and digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PayloadEntry {
    /// Machine the payload runs on.
    pub machine: MachineKind,
    /// Length of the payload in bytes (at least 1).
    pub length: u32,
    /// SHA-256 of the payload bytes.
    pub digest: [u8; DIGEST_BYTES],
}

/// The manifest: every field is covered by the authority signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest<'a> {
    /// Election event id (equals the election definition's `id`).
    pub event_id: &'a str,
    /// Training or official (equals the election definition's `mode`).
    pub mode: Mode,
    /// Image version chosen by the office (e.g. increases with each rebuild for an event).
    pub version: u32,
    /// First day the image is valid (enforced for official images).
    pub valid_from: Date,
    /// Last day the image is valid (enforced for official images).
    pub valid_until: Date,
    /// How the image was built.
    pub provenance: Provenance<'a>,
    /// Payload table, one entry per machine kind, in increasing machine-kind order; the
    /// payloads follow the manifest in this order.
    pub payloads: Vec<PayloadEntry, MAX_PAYLOADS>,
    /// The postcard-encoded `firmware::election::Event`.
    #[serde(serialize_with = "as_bytes")]
    pub election: &'a [u8],
    /// The election office's X25519 public key; sealed records are encrypted to it.
    pub office_public_key: [u8; PUBLIC_KEY_BYTES],
    /// The operator PIN verifier (PBKDF2-HMAC-SHA256).
    pub pin_verifier: PinVerifier,
}

/// Serialize a byte string as postcard bytes (varint length, then the raw bytes).
fn as_bytes<S: Serializer>(bytes: &&[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// A manifest field, named as in the format specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestField {
    /// `event_id`
    EventId,
    /// `mode`
    Mode,
    /// `version`
    Version,
    /// `valid_from`
    ValidFrom,
    /// `valid_until`
    ValidUntil,
    /// `provenance.source_commit`
    SourceCommit,
    /// `provenance.source_date_epoch`
    SourceDateEpoch,
    /// `provenance.builder`
    Builder,
    /// `payloads`
    Payloads,
    /// `election`
    Election,
    /// `office_public_key`
    OfficePublicKey,
    /// `pin_verifier`
    PinVerifier,
}

impl ManifestField {
    /// The field's name in the format specification.
    pub const fn name(self) -> &'static str {
        match self {
            ManifestField::EventId => "event_id",
            ManifestField::Mode => "mode",
            ManifestField::Version => "version",
            ManifestField::ValidFrom => "valid_from",
            ManifestField::ValidUntil => "valid_until",
            ManifestField::SourceCommit => "provenance.source_commit",
            ManifestField::SourceDateEpoch => "provenance.source_date_epoch",
            ManifestField::Builder => "provenance.builder",
            ManifestField::Payloads => "payloads",
            ManifestField::Election => "election",
            ManifestField::OfficePublicKey => "office_public_key",
            ManifestField::PinVerifier => "pin_verifier",
        }
    }
}

impl fmt::Display for ManifestField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads manifest fields one after the other, naming the field that fails.
struct FieldReader<'a> {
    rest: &'a [u8],
}

impl<'a> FieldReader<'a> {
    fn take<T: Deserialize<'a>>(&mut self, field: ManifestField) -> Result<T, Refusal> {
        let (value, rest) = postcard::take_from_bytes::<T>(self.rest)
            .map_err(|_| Refusal::MalformedManifest { field })?;
        self.rest = rest;
        Ok(value)
    }
}

fn invalid(field: ManifestField, problem: FieldProblem) -> Refusal {
    Refusal::InvalidManifest { field, problem }
}

/// Check a printable-ASCII text field of 1..=`max` bytes.
fn check_text(text: &str, max: usize, field: ManifestField) -> Result<(), Refusal> {
    if text.is_empty() {
        return Err(invalid(field, FieldProblem::Empty));
    }
    if text.len() > max {
        return Err(invalid(
            field,
            FieldProblem::TooLong {
                len: text.len(),
                max,
            },
        ));
    }
    if let Some(offset) = text.bytes().position(|b| !(0x20..=0x7e).contains(&b)) {
        return Err(invalid(field, FieldProblem::NotPrintable { offset }));
    }
    Ok(())
}

/// A postcard output that compares what is written against expected bytes.
struct Matching<'e> {
    expected: &'e [u8],
    written: usize,
    first_difference: Option<usize>,
}

impl postcard::ser_flavors::Flavor for Matching<'_> {
    type Output = Option<usize>;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.first_difference.is_none() && self.expected.get(self.written) != Some(&byte) {
            self.first_difference = Some(self.written);
        }
        self.written = self.written.saturating_add(1);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Option<usize>> {
        if self.first_difference.is_some() {
            return Ok(self.first_difference);
        }
        // Shorter or longer than expected: the difference is where one of them ends.
        Ok((self.written != self.expected.len()).then_some(self.written.min(self.expected.len())))
    }
}

impl<'a> Manifest<'a> {
    /// Decode and check a manifest, given the header's payload area length in bytes.
    ///
    /// Checks every field rule of the format (texts, dates, the payload table and its
    /// lengths), that no byte follows the last field, and that the bytes are the canonical
    /// encoding of the result. It does not look inside the election definition or at
    /// signatures; see [`crate::inspect`] and [`crate::verify`].
    pub fn decode(bytes: &'a [u8], payload_area_bytes: u64) -> Result<Manifest<'a>, Refusal> {
        use ManifestField as F;
        let mut reader = FieldReader { rest: bytes };
        let event_id: &'a str = reader.take(F::EventId)?;
        check_text(event_id, MAX_ID_BYTES, F::EventId)?;
        let mode: Mode = reader.take(F::Mode)?;
        let version: u32 = reader.take(F::Version)?;
        let valid_from: Date = reader.take(F::ValidFrom)?;
        if !valid_from.is_valid() {
            return Err(invalid(F::ValidFrom, FieldProblem::InvalidDate));
        }
        let valid_until: Date = reader.take(F::ValidUntil)?;
        if !valid_until.is_valid() {
            return Err(invalid(F::ValidUntil, FieldProblem::InvalidDate));
        }
        if valid_until < valid_from {
            return Err(invalid(F::ValidUntil, FieldProblem::EndsBeforeStart));
        }
        let source_commit: &'a str = reader.take(F::SourceCommit)?;
        check_text(source_commit, MAX_SOURCE_COMMIT_BYTES, F::SourceCommit)?;
        let source_date_epoch: u64 = reader.take(F::SourceDateEpoch)?;
        let builder: &'a str = reader.take(F::Builder)?;
        check_text(builder, MAX_BUILDER_BYTES, F::Builder)?;
        let payloads: Vec<PayloadEntry, MAX_PAYLOADS> = reader.take(F::Payloads)?;
        check_payload_table(&payloads, payload_area_bytes)?;
        let election: &'a [u8] = reader.take(F::Election)?;
        if election.is_empty() {
            return Err(invalid(F::Election, FieldProblem::Empty));
        }
        let office_public_key: [u8; PUBLIC_KEY_BYTES] = reader.take(F::OfficePublicKey)?;
        let pin_verifier: PinVerifier = reader.take(F::PinVerifier)?;
        if !reader.rest.is_empty() {
            return Err(Refusal::TrailingBytes {
                section: Section::Manifest,
                count: u64::try_from(reader.rest.len()).unwrap_or(u64::MAX),
            });
        }
        let manifest = Manifest {
            event_id,
            mode,
            version,
            valid_from,
            valid_until,
            provenance: Provenance {
                source_commit,
                source_date_epoch,
                builder,
            },
            payloads,
            election,
            office_public_key,
            pin_verifier,
        };
        manifest.check_canonical(bytes)?;
        Ok(manifest)
    }

    /// Require `bytes` to be exactly the encoding of `self`.
    fn check_canonical(&self, bytes: &[u8]) -> Result<(), Refusal> {
        let matching = Matching {
            expected: bytes,
            written: 0,
            first_difference: None,
        };
        match postcard::serialize_with_flavor(self, matching) {
            Ok(None) => Ok(()),
            Ok(Some(offset)) => Err(Refusal::NonCanonical {
                section: Section::Manifest,
                offset: u64::try_from(offset).unwrap_or(u64::MAX),
            }),
            // Encoding a decoded manifest cannot fail; if it did, the bytes are not trusted.
            Err(_) => Err(Refusal::NonCanonical {
                section: Section::Manifest,
                offset: 0,
            }),
        }
    }

    /// The payload table entry for `machine`, if any.
    pub fn payload(&self, machine: MachineKind) -> Option<&PayloadEntry> {
        self.payloads.iter().find(|entry| entry.machine == machine)
    }

    /// Total payload bytes declared by the payload table (saturating).
    pub fn payload_bytes(&self) -> u64 {
        total_length(&self.payloads)
    }
}

fn total_length(entries: &[PayloadEntry]) -> u64 {
    entries.iter().fold(0u64, |sum, entry| {
        sum.saturating_add(u64::from(entry.length))
    })
}

/// Payload table rules: at least one entry, strictly increasing machine kinds, no empty
/// payload, and lengths adding up to the header's payload area length.
fn check_payload_table(entries: &[PayloadEntry], payload_area_bytes: u64) -> Result<(), Refusal> {
    use ManifestField as F;
    if entries.is_empty() {
        return Err(invalid(F::Payloads, FieldProblem::Empty));
    }
    for (index, entry) in entries.iter().enumerate() {
        if entry.length == 0 {
            return Err(invalid(F::Payloads, FieldProblem::ZeroLength { index }));
        }
        let previous = index.checked_sub(1).and_then(|p| entries.get(p));
        if previous.is_some_and(|previous| previous.machine >= entry.machine) {
            return Err(invalid(F::Payloads, FieldProblem::Unsorted { index }));
        }
    }
    let manifest = total_length(entries);
    if manifest != payload_area_bytes {
        return Err(invalid(
            F::Payloads,
            FieldProblem::LengthMismatch {
                manifest,
                header: payload_area_bytes,
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec as StdVec;

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date::new(year, month, day).unwrap()
    }

    fn sample<'a>(election: &'a [u8]) -> Manifest<'a> {
        Manifest {
            event_id: "TEST-2026",
            mode: Mode::Training,
            version: 3,
            valid_from: date(2026, 5, 1),
            valid_until: date(2026, 6, 30),
            provenance: Provenance {
                source_commit: "0123456789abcdef0123456789abcdef01234567",
                source_date_epoch: 1_780_000_000,
                builder: "boot-image 0.1.0",
            },
            payloads: Vec::from_slice(&[PayloadEntry {
                machine: MachineKind::Wasm32,
                length: 100,
                digest: [7; 32],
            }])
            .unwrap(),
            election,
            office_public_key: [9; 32],
            pin_verifier: PinVerifier {
                salt: [1; 16],
                iterations: 100_000,
                hash: [2; 32],
            },
        }
    }

    fn encode(manifest: &Manifest<'_>) -> StdVec<u8> {
        postcard::to_extend(manifest, StdVec::new()).unwrap()
    }

    #[test]
    fn round_trips_and_names_failing_fields() {
        let manifest = sample(b"election bytes");
        let bytes = encode(&manifest);
        assert_eq!(Manifest::decode(&bytes, 100), Ok(manifest.clone()));

        // Cut inside the PIN verifier, the last field.
        assert_eq!(
            Manifest::decode(&bytes[..bytes.len() - 1], 100),
            Err(Refusal::MalformedManifest {
                field: ManifestField::PinVerifier
            })
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Manifest::decode(&longer, 100),
            Err(Refusal::TrailingBytes {
                section: Section::Manifest,
                count: 1
            })
        );
        assert_eq!(
            Manifest::decode(&bytes, 101),
            Err(Refusal::InvalidManifest {
                field: ManifestField::Payloads,
                problem: FieldProblem::LengthMismatch {
                    manifest: 100,
                    header: 101
                }
            })
        );
    }

    #[test]
    fn over_long_varint_is_not_canonical() {
        let manifest = sample(b"e");
        let bytes = encode(&manifest);
        // The version (3) follows event_id (1 + 9 bytes) and mode (1 byte): re-encode
        // it as the over-long varint 0x83 0x00, which postcard alone would accept.
        let at = 1 + manifest.event_id.len() + 1;
        assert_eq!(bytes[at], 3);
        let mut long = bytes[..at].to_vec();
        long.extend_from_slice(&[0x83, 0x00]);
        long.extend_from_slice(&bytes[at + 1..]);
        assert_eq!(
            Manifest::decode(&long, 100),
            Err(Refusal::NonCanonical {
                section: Section::Manifest,
                offset: u64::try_from(at).unwrap()
            })
        );
    }

    #[test]
    fn field_rules() {
        let check = |edit: fn(&mut Manifest<'static>), field, problem| {
            let mut manifest = sample(b"e");
            edit(&mut manifest);
            let bytes = encode(&manifest);
            let payload_bytes = manifest.payload_bytes();
            assert_eq!(
                Manifest::decode(&bytes, payload_bytes),
                Err(Refusal::InvalidManifest { field, problem })
            );
        };
        check(
            |m| m.event_id = "",
            ManifestField::EventId,
            FieldProblem::Empty,
        );
        check(
            |m| m.event_id = "A-very-long-event-identifier-of-40-bytes",
            ManifestField::EventId,
            FieldProblem::TooLong { len: 40, max: 32 },
        );
        check(
            |m| m.provenance.builder = "tool\n",
            ManifestField::Builder,
            FieldProblem::NotPrintable { offset: 4 },
        );
        check(
            |m| {
                m.valid_from = Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                }
            },
            ManifestField::ValidFrom,
            FieldProblem::InvalidDate,
        );
        check(
            |m| m.valid_until = date(2026, 4, 30),
            ManifestField::ValidUntil,
            FieldProblem::EndsBeforeStart,
        );
        check(
            |m| m.election = b"",
            ManifestField::Election,
            FieldProblem::Empty,
        );
        check(
            |m| m.payloads.clear(),
            ManifestField::Payloads,
            FieldProblem::Empty,
        );
        check(
            |m| m.payloads[0].length = 0,
            ManifestField::Payloads,
            FieldProblem::ZeroLength { index: 0 },
        );
        check(
            |m| {
                let first = m.payloads[0];
                m.payloads.push(first).unwrap();
            },
            ManifestField::Payloads,
            FieldProblem::Unsorted { index: 1 },
        );
    }

    #[test]
    fn machine_names_round_trip() {
        for kind in MachineKind::ALL {
            assert_eq!(MachineKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(MachineKind::from_name("x86_64"), None);
        // The wire values are part of the format.
        assert_eq!(
            postcard::to_extend(&MachineKind::Wasm32, StdVec::new()).unwrap(),
            [0]
        );
        assert_eq!(
            postcard::to_extend(&MachineKind::Riscv32, StdVec::new()).unwrap(),
            [1]
        );
    }

    proptest! {
        #[test]
        fn any_valid_manifest_round_trips(
            version in any::<u32>(),
            epoch in any::<u64>(),
            official in any::<bool>(),
            both in any::<bool>(),
            lengths in (1u32..=u32::MAX, 1u32..=u32::MAX),
            election in proptest::collection::vec(any::<u8>(), 1..300),
            key in any::<[u8; 32]>(),
            iterations in any::<u32>(),
            from_days in 0u16..3000,
            span in 0u16..3000,
        ) {
            let from = date(2020 + from_days / 365, 1 + (from_days % 12) as u8, 1 + (from_days % 28) as u8);
            let until = date(from.year + span / 365, from.month, from.day);
            let mut manifest = sample(&election);
            manifest.mode = if official { Mode::Official } else { Mode::Training };
            manifest.version = version;
            manifest.provenance.source_date_epoch = epoch;
            manifest.valid_from = from;
            manifest.valid_until = until;
            manifest.office_public_key = key;
            manifest.pin_verifier.iterations = iterations;
            manifest.payloads[0].length = lengths.0;
            if both {
                manifest.payloads.push(PayloadEntry {
                    machine: MachineKind::Riscv32,
                    length: lengths.1,
                    digest: key,
                }).unwrap();
            }
            let bytes = encode(&manifest);
            prop_assert_eq!(Manifest::decode(&bytes, manifest.payload_bytes()), Ok(manifest));
        }
    }
}
