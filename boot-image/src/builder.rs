//! Building and signing images (office side, `std` feature).
//!
//! [`build`] turns an [`ImageSpec`] into canonical, unsigned image bytes; [`sign`] adds one
//! signature. Both are deterministic: no clock, no randomness (Ed25519 signatures are
//! deterministic), so the same inputs always give byte-identical images. Signatures are kept
//! sorted by public key, so the order in which authorities sign does not matter either.

use std::fmt;
use std::vec::Vec;

use firmware::election::{Date, Mode};
use firmware::pin::PinVerifier;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::image::{encode_signature_block, Header, MAX_SIGNATURES};
use crate::manifest::{MachineKind, Manifest, PayloadEntry, Provenance, PUBLIC_KEY_BYTES};
use crate::refusal::Refusal;
use crate::verify::{inspect, is_dev_key};

/// Everything that goes into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSpec<'a> {
    /// Election event id (must equal the election definition's id).
    pub event_id: &'a str,
    /// Training or official (must equal the election definition's mode).
    pub mode: Mode,
    /// Image version.
    pub version: u32,
    /// First valid day.
    pub valid_from: Date,
    /// Last valid day.
    pub valid_until: Date,
    /// Build provenance.
    pub provenance: Provenance<'a>,
    /// The payloads, at most one per machine kind, in any order.
    pub payloads: &'a [(MachineKind, &'a [u8])],
    /// The postcard-encoded `firmware::election::Event`.
    pub election: &'a [u8],
    /// The office's X25519 public key.
    pub office_public_key: [u8; PUBLIC_KEY_BYTES],
    /// The operator PIN verifier.
    pub pin_verifier: PinVerifier,
}

/// Why an image could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two payloads are given for the same machine kind.
    DuplicateMachine {
        /// The repeated kind.
        machine: MachineKind,
    },
    /// A payload is too large for the format (4 GiB - 1 bytes each and in total).
    PayloadTooLarge {
        /// Machine kind of the payload.
        machine: MachineKind,
        /// Its length in bytes.
        bytes: usize,
    },
    /// The manifest is too large for the format (4 GiB - 1 bytes).
    ManifestTooLarge {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The manifest cannot be encoded.
    Encoding,
    /// The built image would be refused by [`inspect`]; names the field and reason.
    Invalid(Refusal),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateMachine { machine } => {
                write!(f, "payloads: two payloads for machine kind {machine}")
            }
            BuildError::PayloadTooLarge { machine, bytes } => write!(
                f,
                "payloads: the {machine} payload ({bytes} bytes) exceeds the format's 4 GiB limit"
            ),
            BuildError::ManifestTooLarge { bytes } => write!(
                f,
                "manifest: {bytes} bytes exceeds the format's 4 GiB limit"
            ),
            BuildError::Encoding => f.write_str("manifest: cannot be encoded"),
            BuildError::Invalid(refusal) => write!(f, "image would be refused: {refusal}"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Why a signature could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The image is refused by [`inspect`]; the signer never signs what it cannot check.
    Refused(Refusal),
    /// This key has already signed the image.
    DuplicateSigner {
        /// The signer's public key.
        public_key: [u8; PUBLIC_KEY_BYTES],
    },
    /// A development authority key may not sign an official image.
    DevKeyOfficial,
    /// The image already holds the most signatures the format allows.
    TooManySignatures {
        /// The maximum.
        max: usize,
    },
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Refused(refusal) => write!(f, "image not signed: {refusal}"),
            SignError::DuplicateSigner { public_key } => {
                write!(f, "image not signed: key ")?;
                for byte in public_key.iter().take(8) {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, "... has already signed it")
            }
            SignError::DevKeyOfficial => f.write_str(
                "image not signed: a development authority key may only sign training images",
            ),
            SignError::TooManySignatures { max } => {
                write!(f, "image not signed: it already has {max} signatures")
            }
        }
    }
}

impl std::error::Error for SignError {}

/// Build the canonical unsigned image for `spec` (header, manifest, payloads, and an empty
/// signature block). Payloads are placed in increasing machine-kind order.
///
/// The result is checked with [`inspect`], so the builder never emits an image a verifier
/// would refuse for its structure or contents.
pub fn build(spec: &ImageSpec<'_>) -> Result<Vec<u8>, BuildError> {
    let mut payloads: Vec<(MachineKind, &[u8])> = spec.payloads.to_vec();
    payloads.sort_by_key(|(machine, _)| *machine);
    for pair in payloads.windows(2) {
        if let [(a, _), (b, _)] = pair {
            if a == b {
                return Err(BuildError::DuplicateMachine { machine: *a });
            }
        }
    }
    let mut table = heapless::Vec::new();
    let mut total: u32 = 0;
    for (machine, bytes) in &payloads {
        let too_large = || BuildError::PayloadTooLarge {
            machine: *machine,
            bytes: bytes.len(),
        };
        let length = u32::try_from(bytes.len()).map_err(|_| too_large())?;
        total = total.checked_add(length).ok_or_else(too_large)?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
        table
            .push(PayloadEntry {
                machine: *machine,
                length,
                digest,
            })
            .map_err(|_| BuildError::DuplicateMachine { machine: *machine })?;
    }
    let manifest = Manifest {
        event_id: spec.event_id,
        mode: spec.mode,
        version: spec.version,
        valid_from: spec.valid_from,
        valid_until: spec.valid_until,
        provenance: spec.provenance,
        payloads: table,
        election: spec.election,
        office_public_key: spec.office_public_key,
        pin_verifier: spec.pin_verifier,
    };
    let manifest_bytes =
        postcard::to_extend(&manifest, Vec::new()).map_err(|_| BuildError::Encoding)?;
    let header = Header {
        manifest_bytes: u32::try_from(manifest_bytes.len()).map_err(|_| {
            BuildError::ManifestTooLarge {
                bytes: manifest_bytes.len(),
            }
        })?,
        payload_bytes: total,
    };
    let mut image = Vec::with_capacity(
        header
            .encode()
            .len()
            .saturating_add(manifest_bytes.len())
            .saturating_add(usize::try_from(total).unwrap_or(usize::MAX)),
    );
    image.extend_from_slice(&header.encode());
    image.extend_from_slice(&manifest_bytes);
    for (_, bytes) in &payloads {
        image.extend_from_slice(bytes);
    }
    image.extend_from_slice(&encode_signature_block(&[]));
    inspect(&image).map_err(BuildError::Invalid)?;
    Ok(image)
}

/// Add one signature by `key_pair` to `image`, keeping signatures sorted by public key.
///
/// Refuses an image that [`inspect`] refuses, a key that has already signed, a development
/// key on an official image, and a full signature block. The signed digest does not change,
/// so authorities can sign in any order, on separate copies, and the results agree.
pub fn sign(image: &[u8], key_pair: &Ed25519KeyPair) -> Result<Vec<u8>, SignError> {
    let inspected = inspect(image).map_err(SignError::Refused)?;
    let mut public_key = [0u8; PUBLIC_KEY_BYTES];
    public_key.copy_from_slice(key_pair.public_key().as_ref());
    if inspected.manifest.mode == Mode::Official && is_dev_key(&public_key) {
        return Err(SignError::DevKeyOfficial);
    }
    if inspected.signatures.contains(&public_key) {
        return Err(SignError::DuplicateSigner { public_key });
    }
    if inspected.signatures.len() >= MAX_SIGNATURES {
        return Err(SignError::TooManySignatures {
            max: MAX_SIGNATURES,
        });
    }
    let mut entries: Vec<([u8; 32], [u8; 64])> = inspected
        .signatures
        .iter()
        .map(|entry| (*entry.public_key, *entry.signature))
        .collect();
    let mut signature = [0u8; 64];
    signature.copy_from_slice(key_pair.sign(&inspected.fingerprint).as_ref());
    entries.push((public_key, signature));
    entries.sort_by_key(|entry| entry.0);
    let mut signed = inspected.unsigned_image.to_vec();
    signed.extend_from_slice(&encode_signature_block(&entries));
    Ok(signed)
}
