//! Image verification: the boot ROM's decision to run an image, and the office tool's
//! structural inspection.
//!
//! [`verify`] fails closed. It checks, in this order (the first failure is returned):
//! the trust policy; the layout (magic, version, header size, lengths, trailing bytes,
//! signature block); the manifest (fields, canonical encoding); development keys on an
//! official image; the signatures (k-of-n distinct trusted keys); a payload for this
//! machine; every payload digest; the election definition and its agreement with the
//! manifest; the PIN verifier; and, for official images, the validity dates.
//!
//! No heap is used. Each payload is hashed once.

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

use firmware::election::{Date, Event, Mode};
use heapless::Vec;
use ring::{digest, signature};

use crate::image::{Layout, Signatures};
use crate::manifest::{MachineKind, Manifest, ManifestField, DIGEST_BYTES, PUBLIC_KEY_BYTES};
use crate::refusal::{PolicyProblem, Refusal};

/// Label hashed before the decimal key number to derive a development authority seed.
pub const DEV_AUTHORITY_SEEDS_LABEL: &[u8] = b"voting-terminal dev authority key v1/";
/// Number of development authority keys.
pub const DEV_AUTHORITY_KEY_COUNT: usize = 3;

/// Public keys of the development authority keys 1, 2 and 3, whose Ed25519 seeds are
/// public: `seed_i = SHA-256(DEV_AUTHORITY_SEEDS_LABEL || decimal(i))` (see
/// [`dev_authority_seed`]). They may sign training images only.
pub const DEV_AUTHORITY_PUBLIC_KEYS: [[u8; PUBLIC_KEY_BYTES]; DEV_AUTHORITY_KEY_COUNT] = [
    [
        0x36, 0x2b, 0xd6, 0x4b, 0xbf, 0x9a, 0x87, 0xe0, 0x31, 0xbb, 0xb0, 0xd3, 0x21, 0x7a, 0xa4,
        0x50, 0x21, 0x63, 0x0a, 0x92, 0xc1, 0x3c, 0xe6, 0xa5, 0xfb, 0x40, 0xbe, 0xf9, 0x11, 0xc5,
        0x24, 0xbe,
    ],
    [
        0x21, 0x91, 0xa8, 0xb7, 0xe2, 0xc9, 0x51, 0x5b, 0x33, 0x55, 0x76, 0x97, 0x4d, 0x6e, 0x39,
        0x66, 0xcd, 0x5c, 0xe2, 0x57, 0x12, 0xa0, 0x4b, 0x9f, 0xa7, 0x81, 0xea, 0x6d, 0xf0, 0xd8,
        0xdb, 0x0a,
    ],
    [
        0xbf, 0x8d, 0xa4, 0x8a, 0x06, 0xf2, 0x81, 0xb8, 0x95, 0x75, 0xfd, 0x93, 0x24, 0x15, 0x36,
        0x33, 0x96, 0x40, 0x7e, 0xcb, 0x06, 0x0f, 0x8d, 0xaf, 0xa5, 0x46, 0x8a, 0xd2, 0x51, 0xd3,
        0x2e, 0x98,
    ],
];

/// The public Ed25519 seed of development authority key `number` (1, 2 or 3 for the keys in
/// [`DEV_AUTHORITY_PUBLIC_KEYS`]): `SHA-256(DEV_AUTHORITY_SEEDS_LABEL || decimal(number))`,
/// where `decimal` is the ASCII decimal form without leading zeros (`"1"`).
pub fn dev_authority_seed(number: u8) -> [u8; 32] {
    let mut decimal = [0u8; 3];
    let mut start = decimal.len();
    let mut rest = number;
    loop {
        start = start.saturating_sub(1);
        if let Some(slot) = decimal.get_mut(start) {
            *slot = b'0'.saturating_add(rest % 10);
        }
        rest /= 10;
        if rest == 0 || start == 0 {
            break;
        }
    }
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(DEV_AUTHORITY_SEEDS_LABEL);
    context.update(decimal.get(start..).unwrap_or_default());
    let mut seed = [0u8; 32];
    seed.copy_from_slice(context.finish().as_ref());
    seed
}

/// Whether `public_key` is a development authority key.
pub fn is_dev_key(public_key: &[u8; PUBLIC_KEY_BYTES]) -> bool {
    DEV_AUTHORITY_PUBLIC_KEYS.contains(public_key)
}

/// Which authority keys a verifier trusts, and how many of them must sign (k of n).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustPolicy<'a> {
    /// The trusted Ed25519 public keys (n), all distinct.
    pub keys: &'a [[u8; PUBLIC_KEY_BYTES]],
    /// Valid signatures by distinct trusted keys required (k), 1..=n.
    pub threshold: usize,
}

impl TrustPolicy<'_> {
    /// Check that the policy can accept something and cannot accept an unsigned image.
    pub fn check(&self) -> Result<(), Refusal> {
        let fail = |problem| Err(Refusal::InvalidPolicy { problem });
        if self.threshold == 0 {
            return fail(PolicyProblem::ZeroThreshold);
        }
        if self.threshold > self.keys.len() {
            return fail(PolicyProblem::ThresholdAboveKeys {
                threshold: self.threshold,
                keys: self.keys.len(),
            });
        }
        for (index, key) in self.keys.iter().enumerate() {
            if self.keys.iter().take(index).any(|earlier| earlier == key) {
                return fail(PolicyProblem::DuplicateKey { index });
            }
        }
        Ok(())
    }

    /// Whether `public_key` is trusted.
    pub fn trusts(&self, public_key: &[u8; PUBLIC_KEY_BYTES]) -> bool {
        self.keys.contains(public_key)
    }
}

/// One payload of an image with its table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    /// Machine kind.
    pub machine: MachineKind,
    /// The payload bytes.
    pub bytes: &'a [u8],
}

/// An image whose structure, payload digests, election definition and PIN verifier were
/// checked, but not its signatures, machine or dates (see [`inspect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectedImage<'a> {
    /// The decoded manifest.
    pub manifest: Manifest<'a>,
    /// The payloads in table order.
    pub payloads: Vec<Payload<'a>, { crate::manifest::MAX_PAYLOADS }>,
    /// The signatures present (not verified).
    pub signatures: Signatures<'a>,
    /// The image fingerprint: the signed manifest digest (independent of signatures).
    pub fingerprint: [u8; DIGEST_BYTES],
    /// Header, manifest and payloads: the image without its signature block.
    pub unsigned_image: &'a [u8],
}

/// An image a boot ROM may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedImage<'a> {
    /// The decoded, signed manifest.
    pub manifest: Manifest<'a>,
    /// The payload for the verifying machine.
    pub payload: &'a [u8],
    /// The machine kind of [`VerifiedImage::payload`].
    pub machine: MachineKind,
    /// The image fingerprint: the signed manifest digest (independent of signatures);
    /// shown with [`crate::fingerprint_groups`].
    pub fingerprint: [u8; DIGEST_BYTES],
    /// Valid signatures by distinct trusted keys (at least the threshold).
    pub valid_signatures: usize,
    /// All signatures present, including any by keys the policy does not trust.
    pub signatures: Signatures<'a>,
}

/// Layout and manifest, decoded and checked.
struct Parsed<'a> {
    layout: Layout<'a>,
    manifest: Manifest<'a>,
}

fn parse(image: &[u8]) -> Result<Parsed<'_>, Refusal> {
    let layout = Layout::parse(image)?;
    let payload_bytes = u64::try_from(layout.payloads.len()).unwrap_or(u64::MAX);
    let manifest = Manifest::decode(layout.manifest, payload_bytes)?;
    Ok(Parsed { layout, manifest })
}

impl<'a> Parsed<'a> {
    /// The payloads split by the payload table (whose lengths add up to the area length).
    fn payloads(
        &self,
    ) -> Vec<(Payload<'a>, &[u8; DIGEST_BYTES]), { crate::manifest::MAX_PAYLOADS }> {
        let mut out = Vec::new();
        let mut rest = self.layout.payloads;
        for entry in &self.manifest.payloads {
            let length = usize::try_from(entry.length).unwrap_or(usize::MAX);
            let Some((bytes, next)) = rest.split_at_checked(length) else {
                break;
            };
            rest = next;
            // Capacities are equal: the table holds at most MAX_PAYLOADS entries.
            let _ = out.push((
                Payload {
                    machine: entry.machine,
                    bytes,
                },
                &entry.digest,
            ));
        }
        out
    }

    fn check_payload_digests(&self) -> Result<(), Refusal> {
        for (payload, expected) in self.payloads() {
            let actual = sha256(payload.bytes);
            if &actual != expected {
                return Err(Refusal::DigestMismatch {
                    machine: payload.machine,
                    expected: *expected,
                    actual,
                });
            }
        }
        Ok(())
    }

    /// The election definition decodes, validates and agrees with the manifest.
    fn check_election(&self) -> Result<(), Refusal> {
        let manifest = &self.manifest;
        let event = Event::from_postcard(manifest.election)
            .map_err(|reason| Refusal::BadElection { reason })?;
        let mismatch = |field| Err(Refusal::ElectionMismatch { field });
        if event.id != manifest.event_id {
            return mismatch(ManifestField::EventId);
        }
        if event.mode != manifest.mode {
            return mismatch(ManifestField::Mode);
        }
        if event.date < manifest.valid_from {
            return mismatch(ManifestField::ValidFrom);
        }
        if event.date > manifest.valid_until {
            return mismatch(ManifestField::ValidUntil);
        }
        Ok(())
    }

    fn check_pin_verifier(&self) -> Result<(), Refusal> {
        self.manifest
            .pin_verifier
            .check()
            .map_err(|reason| Refusal::WeakPinVerifier { reason })
    }

    fn check_contents(&self) -> Result<(), Refusal> {
        self.check_payload_digests()?;
        self.check_election()?;
        self.check_pin_verifier()
    }
}

fn sha256(bytes: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut out = [0u8; DIGEST_BYTES];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// Check everything about an image that does not depend on who verifies it: layout,
/// manifest, payload digests, election definition and PIN verifier. Signatures are listed
/// but not verified; dates and machine kinds are not checked.
///
/// The office tool uses this before signing and to show an image.
pub fn inspect(image: &[u8]) -> Result<InspectedImage<'_>, Refusal> {
    let parsed = parse(image)?;
    parsed.check_contents()?;
    let payloads = parsed.payloads().into_iter().map(|(p, _)| p).collect();
    Ok(InspectedImage {
        fingerprint: parsed.layout.manifest_digest(),
        payloads,
        signatures: parsed.layout.signatures,
        unsigned_image: parsed.layout.unsigned_image,
        manifest: parsed.manifest,
    })
}

/// Decide whether `machine` may run `image` on `today` under `policy`.
///
/// Returns the manifest and this machine's payload, or the first reason to refuse (see
/// the module documentation for the order of checks).
pub fn verify<'a>(
    image: &'a [u8],
    policy: &TrustPolicy<'_>,
    machine: MachineKind,
    today: Date,
) -> Result<VerifiedImage<'a>, Refusal> {
    policy.check()?;
    let parsed = parse(image)?;
    let signatures = parsed.layout.signatures;
    let manifest = &parsed.manifest;
    if manifest.mode == Mode::Official && signatures.iter().any(|s| is_dev_key(s.public_key)) {
        return Err(Refusal::DevKeyOfficial);
    }
    let fingerprint = parsed.layout.manifest_digest();
    let valid_signatures = count_signatures(signatures, policy, &fingerprint)?;

    let payload = {
        let payloads = parsed.payloads();
        let Some((payload, _)) = payloads.iter().find(|(p, _)| p.machine == machine) else {
            return Err(Refusal::WrongMachine {
                machine,
                available: payloads.iter().map(|(p, _)| p.machine).collect(),
            });
        };
        payload.bytes
    };
    parsed.check_contents()?;

    if manifest.mode == Mode::Official {
        if today < manifest.valid_from {
            return Err(Refusal::NotYetValid {
                today,
                valid_from: manifest.valid_from,
            });
        }
        if today > manifest.valid_until {
            return Err(Refusal::Expired {
                today,
                valid_until: manifest.valid_until,
            });
        }
    }
    Ok(VerifiedImage {
        manifest: parsed.manifest,
        payload,
        machine,
        fingerprint,
        valid_signatures,
        signatures,
    })
}

/// Count valid signatures by trusted keys (distinct: the block refuses repeated keys).
/// A trusted key's signature that does not verify refuses the image; signatures by
/// untrusted keys are ignored but reported if the threshold is not met.
fn count_signatures(
    signatures: Signatures<'_>,
    policy: &TrustPolicy<'_>,
    digest: &[u8; DIGEST_BYTES],
) -> Result<usize, Refusal> {
    let mut valid = 0usize;
    let mut unknown = 0usize;
    for (index, entry) in signatures.iter().enumerate() {
        if !policy.trusts(entry.public_key) {
            unknown = unknown.saturating_add(1);
            continue;
        }
        signature::UnparsedPublicKey::new(&signature::ED25519, entry.public_key)
            .verify(digest, entry.signature)
            .map_err(|_| Refusal::BadSignature { index })?;
        valid = valid.saturating_add(1);
    }
    if valid >= policy.threshold {
        return Ok(valid);
    }
    if unknown > 0 {
        return Err(Refusal::UnknownKeys {
            valid,
            threshold: policy.threshold,
            unknown,
        });
    }
    Err(Refusal::BelowThreshold {
        valid,
        threshold: policy.threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    #[test]
    fn dev_keys_match_their_derivation() {
        for (i, key) in DEV_AUTHORITY_PUBLIC_KEYS.iter().enumerate() {
            let number = u8::try_from(i + 1).unwrap();
            let pair = Ed25519KeyPair::from_seed_unchecked(&dev_authority_seed(number)).unwrap();
            assert_eq!(pair.public_key().as_ref(), key, "dev key {number}");
            assert!(is_dev_key(key));
        }
        // The decimal form has no leading zeros and handles several digits.
        let mut expected = DEV_AUTHORITY_SEEDS_LABEL.to_vec();
        expected.extend_from_slice(b"120");
        assert_eq!(dev_authority_seed(120), sha256(&expected));
        assert_eq!(dev_authority_seed(0), {
            let mut zero = DEV_AUTHORITY_SEEDS_LABEL.to_vec();
            zero.push(b'0');
            sha256(&zero)
        });
    }

    #[test]
    fn policy_rules() {
        let keys = [[1u8; 32], [2u8; 32], [1u8; 32]];
        let policy = |n: usize, threshold| TrustPolicy {
            keys: &keys[..n],
            threshold,
        };
        assert_eq!(policy(2, 2).check(), Ok(()));
        assert_eq!(
            policy(2, 0).check(),
            Err(Refusal::InvalidPolicy {
                problem: PolicyProblem::ZeroThreshold
            })
        );
        assert_eq!(
            policy(2, 3).check(),
            Err(Refusal::InvalidPolicy {
                problem: PolicyProblem::ThresholdAboveKeys {
                    threshold: 3,
                    keys: 2
                }
            })
        );
        assert_eq!(
            policy(3, 1).check(),
            Err(Refusal::InvalidPolicy {
                problem: PolicyProblem::DuplicateKey { index: 2 }
            })
        );
    }
}
