//! The byte layout of a boot image: header, manifest, payloads, signature block.
//!
//! ```text
//! header (16) | manifest (manifest_bytes) | payloads (payload_bytes) | signature block
//! ```
//!
//! Integers in the header and signature block are little-endian. The signed digest is
//! `SHA-256(MANIFEST_DIGEST_LABEL || header || manifest)`; the manifest holds the SHA-256 of
//! every payload, so the signatures cover the payloads while adding a signature never
//! changes the digest. See `docs/formats/boot-image.md`.

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

use ring::digest;

use crate::manifest::{DIGEST_BYTES, PUBLIC_KEY_BYTES};
use crate::refusal::{Refusal, Section};

/// The first four bytes of every boot image.
pub const MAGIC: [u8; 4] = *b"VTBI";
/// The format version this library reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the version 1 header, in bytes.
pub const HEADER_SIZE_BYTES: usize = 16;
/// Domain-separation label hashed before the header and manifest to form the signed digest.
pub const MANIFEST_DIGEST_LABEL: &[u8] = b"voting-terminal boot image v1/manifest digest";
/// The first four bytes of the signature block.
pub const SIGNATURE_BLOCK_MAGIC: [u8; 4] = *b"VTSG";
/// Size of the signature block's own header (magic and count), in bytes.
pub const SIGNATURE_BLOCK_HEADER_BYTES: usize = 6;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_BYTES: usize = 64;
/// Size of one signature entry (public key, then signature), in bytes.
pub const SIGNATURE_ENTRY_BYTES: usize = PUBLIC_KEY_BYTES + SIGNATURE_BYTES;
/// Most signatures in one image; bounds the verifier's work.
pub const MAX_SIGNATURES: usize = 16;

/// The fixed-size header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the manifest, in bytes.
    pub manifest_bytes: u32,
    /// Length of all payloads together, in bytes.
    pub payload_bytes: u32,
}

impl Header {
    /// Encode the version 1 header.
    pub fn encode(&self) -> [u8; HEADER_SIZE_BYTES] {
        let mut out = [0u8; HEADER_SIZE_BYTES];
        let fields = MAGIC
            .into_iter()
            .chain(FORMAT_VERSION.to_le_bytes())
            .chain(header_size_field().to_le_bytes())
            .chain(self.manifest_bytes.to_le_bytes())
            .chain(self.payload_bytes.to_le_bytes());
        for (slot, byte) in out.iter_mut().zip(fields) {
            *slot = byte;
        }
        out
    }

    /// Decode a header from the start of `image`, refusing bad magic, unknown versions and
    /// a wrong header size.
    pub fn decode(image: &[u8]) -> Result<Header, Refusal> {
        let truncated = || Refusal::Truncated {
            section: Section::Header,
            needed: HEADER_SIZE_BYTES as u64,
            available: length(image),
        };
        let magic = image.get(..MAGIC.len()).ok_or_else(truncated)?;
        if magic != MAGIC {
            return Err(Refusal::BadMagic);
        }
        let header: &[u8; HEADER_SIZE_BYTES] = image
            .get(..HEADER_SIZE_BYTES)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(truncated)?;
        let [_, _, _, _, v0, v1, s0, s1, m0, m1, m2, m3, p0, p1, p2, p3] = *header;
        let version = u16::from_le_bytes([v0, v1]);
        if version != FORMAT_VERSION {
            return Err(Refusal::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let size = u16::from_le_bytes([s0, s1]);
        if size != header_size_field() {
            return Err(Refusal::BadHeaderSize {
                found: size,
                expected: header_size_field(),
            });
        }
        Ok(Header {
            manifest_bytes: u32::from_le_bytes([m0, m1, m2, m3]),
            payload_bytes: u32::from_le_bytes([p0, p1, p2, p3]),
        })
    }
}

/// The header size as stored in the header's size field.
const fn header_size_field() -> u16 {
    // 16 fits in a u16; checked by a unit test.
    HEADER_SIZE_BYTES as u16
}

/// Length of a slice as u64 (lossless on every supported target).
fn length(bytes: &[u8]) -> u64 {
    u64::try_from(bytes.len()).unwrap_or(u64::MAX)
}

/// One signature in the signature block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureEntry<'a> {
    /// The signer's Ed25519 public key.
    pub public_key: &'a [u8; PUBLIC_KEY_BYTES],
    /// The Ed25519 signature over the manifest digest.
    pub signature: &'a [u8; SIGNATURE_BYTES],
}

/// The signature block's entries, in strictly increasing public-key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signatures<'a> {
    entries: &'a [u8],
}

impl<'a> Signatures<'a> {
    /// Number of signatures.
    pub fn len(&self) -> usize {
        self.entries.len() / SIGNATURE_ENTRY_BYTES
    }

    /// Whether the block holds no signature (an unsigned image).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The signatures in block order.
    pub fn iter(&self) -> impl Iterator<Item = SignatureEntry<'a>> + 'a {
        self.entries
            .chunks_exact(SIGNATURE_ENTRY_BYTES)
            .filter_map(|entry| {
                let (key, signature) = entry.split_at_checked(PUBLIC_KEY_BYTES)?;
                Some(SignatureEntry {
                    public_key: key.try_into().ok()?,
                    signature: signature.try_into().ok()?,
                })
            })
    }

    /// Whether `public_key` has signed (validity not checked).
    pub fn contains(&self, public_key: &[u8; PUBLIC_KEY_BYTES]) -> bool {
        self.iter().any(|entry| entry.public_key == public_key)
    }
}

/// An image split into its sections, with the structural rules checked: magic, version,
/// header size, every length, no trailing bytes, and a well-formed signature block.
/// The manifest is not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout<'a> {
    /// The header bytes.
    pub header: &'a [u8],
    /// The manifest bytes.
    pub manifest: &'a [u8],
    /// All payload bytes (split by the manifest's payload table).
    pub payloads: &'a [u8],
    /// The signature entries.
    pub signatures: Signatures<'a>,
    /// Bytes covered by the signed digest (header and manifest).
    pub signed: &'a [u8],
    /// Bytes before the signature block (header, manifest, payloads).
    pub unsigned_image: &'a [u8],
}

impl<'a> Layout<'a> {
    /// Split `image` into its sections.
    pub fn parse(image: &'a [u8]) -> Result<Layout<'a>, Refusal> {
        let header = Header::decode(image)?;
        let available = length(image);
        let manifest_end = (HEADER_SIZE_BYTES as u64).saturating_add(header.manifest_bytes.into());
        let payloads_end = manifest_end.saturating_add(header.payload_bytes.into());
        let block_start_end = payloads_end.saturating_add(SIGNATURE_BLOCK_HEADER_BYTES as u64);
        for (section, needed) in [
            (Section::Manifest, manifest_end),
            (Section::Payloads, payloads_end),
            (Section::SignatureBlock, block_start_end),
        ] {
            if needed > available {
                return Err(Refusal::Truncated {
                    section,
                    needed,
                    available,
                });
            }
        }
        // Every end is now within the image, so it fits in usize.
        let truncated = Refusal::Truncated {
            section: Section::SignatureBlock,
            needed: block_start_end,
            available,
        };
        let manifest_end = usize::try_from(manifest_end).map_err(|_| truncated.clone())?;
        let payloads_end = usize::try_from(payloads_end).map_err(|_| truncated.clone())?;
        let (unsigned_image, block) = image.split_at_checked(payloads_end).ok_or(truncated)?;
        let (signed, payloads) =
            unsigned_image
                .split_at_checked(manifest_end)
                .ok_or(Refusal::Truncated {
                    section: Section::Manifest,
                    needed: manifest_end as u64,
                    available,
                })?;
        let manifest = signed.get(HEADER_SIZE_BYTES..).unwrap_or_default();
        let header_bytes = signed.get(..HEADER_SIZE_BYTES).unwrap_or_default();
        let signatures = parse_signature_block(block, length(unsigned_image))?;
        Ok(Layout {
            header: header_bytes,
            manifest,
            payloads,
            signatures,
            signed,
            unsigned_image,
        })
    }

    /// The signed digest: SHA-256 over [`MANIFEST_DIGEST_LABEL`], the header and the
    /// manifest. It is also the image fingerprint.
    pub fn manifest_digest(&self) -> [u8; DIGEST_BYTES] {
        manifest_digest(self.signed)
    }
}

/// SHA-256 over [`MANIFEST_DIGEST_LABEL`] followed by `signed` (header and manifest).
pub(crate) fn manifest_digest(signed: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(MANIFEST_DIGEST_LABEL);
    context.update(signed);
    let mut out = [0u8; DIGEST_BYTES];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Check the signature block that starts `offset` bytes into the image: magic, count,
/// exact length, and strictly increasing public keys.
fn parse_signature_block(block: &[u8], offset: u64) -> Result<Signatures<'_>, Refusal> {
    let (head, entries) =
        block
            .split_at_checked(SIGNATURE_BLOCK_HEADER_BYTES)
            .ok_or(Refusal::Truncated {
                section: Section::SignatureBlock,
                needed: offset.saturating_add(SIGNATURE_BLOCK_HEADER_BYTES as u64),
                available: offset.saturating_add(length(block)),
            })?;
    let [m0, m1, m2, m3, c0, c1] = <[u8; SIGNATURE_BLOCK_HEADER_BYTES]>::try_from(head)
        .map_err(|_| Refusal::BadSignatureBlock)?;
    if [m0, m1, m2, m3] != SIGNATURE_BLOCK_MAGIC {
        return Err(Refusal::BadSignatureBlock);
    }
    let count = u16::from_le_bytes([c0, c1]);
    if usize::from(count) > MAX_SIGNATURES {
        return Err(Refusal::TooManySignatures {
            count: count.into(),
            max: MAX_SIGNATURES,
        });
    }
    // At most 16 entries of 96 bytes: no overflow.
    let expected = u64::from(count).saturating_mul(SIGNATURE_ENTRY_BYTES as u64);
    let found = length(entries);
    let block_start = offset.saturating_add(SIGNATURE_BLOCK_HEADER_BYTES as u64);
    if found < expected {
        return Err(Refusal::Truncated {
            section: Section::SignatureBlock,
            needed: block_start.saturating_add(expected),
            available: block_start.saturating_add(found),
        });
    }
    if found > expected {
        return Err(Refusal::TrailingBytes {
            section: Section::SignatureBlock,
            count: found.saturating_sub(expected),
        });
    }
    let signatures = Signatures { entries };
    let mut previous: Option<&[u8; PUBLIC_KEY_BYTES]> = None;
    for (index, entry) in signatures.iter().enumerate() {
        match previous.map(|p| p.cmp(entry.public_key)) {
            Some(core::cmp::Ordering::Equal) => return Err(Refusal::DuplicateSigner { index }),
            Some(core::cmp::Ordering::Greater) => {
                let within = SIGNATURE_BLOCK_HEADER_BYTES
                    .saturating_add(index.saturating_mul(SIGNATURE_ENTRY_BYTES));
                return Err(Refusal::NonCanonical {
                    section: Section::SignatureBlock,
                    offset: within as u64,
                });
            }
            _ => {}
        }
        previous = Some(entry.public_key);
    }
    Ok(signatures)
}

/// Encode a signature block holding `entries` (which the caller keeps sorted).
#[cfg(any(feature = "std", test))]
pub(crate) fn encode_signature_block(entries: &[([u8; 32], [u8; 64])]) -> std::vec::Vec<u8> {
    let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
    let mut out = std::vec::Vec::with_capacity(
        SIGNATURE_BLOCK_HEADER_BYTES
            .saturating_add(entries.len().saturating_mul(SIGNATURE_ENTRY_BYTES)),
    );
    out.extend_from_slice(&SIGNATURE_BLOCK_MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    for (key, signature) in entries {
        out.extend_from_slice(key);
        out.extend_from_slice(signature);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_size_fits_its_field() {
        assert_eq!(usize::from(header_size_field()), HEADER_SIZE_BYTES);
    }

    #[test]
    fn header_refusals() {
        let good = Header {
            manifest_bytes: 5,
            payload_bytes: 7,
        }
        .encode();
        assert_eq!(
            Header::decode(&good),
            Ok(Header {
                manifest_bytes: 5,
                payload_bytes: 7
            })
        );
        assert_eq!(Header::decode(b"VTB").unwrap_err().class(), "truncated");
        assert_eq!(Header::decode(b"XTBI").unwrap_err(), Refusal::BadMagic);
        assert_eq!(
            Header::decode(&good[..15]).unwrap_err().class(),
            "truncated"
        );
        let mut v2 = good;
        v2[4] = 2;
        assert_eq!(
            Header::decode(&v2),
            Err(Refusal::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
        let mut size = good;
        size[6] = 17;
        assert_eq!(
            Header::decode(&size),
            Err(Refusal::BadHeaderSize {
                found: 17,
                expected: 16
            })
        );
    }

    fn image(manifest: usize, payloads: usize, block: &[u8]) -> std::vec::Vec<u8> {
        let mut out = Header {
            manifest_bytes: manifest as u32,
            payload_bytes: payloads as u32,
        }
        .encode()
        .to_vec();
        out.resize(HEADER_SIZE_BYTES + manifest + payloads, 0xAA);
        out.extend_from_slice(block);
        out
    }

    #[test]
    fn layout_checks_every_length() {
        let empty_block = encode_signature_block(&[]);
        let ok = image(3, 4, &empty_block);
        let layout = Layout::parse(&ok).unwrap();
        assert_eq!(layout.manifest.len(), 3);
        assert_eq!(layout.payloads.len(), 4);
        assert!(layout.signatures.is_empty());
        assert_eq!(layout.signed.len(), 19);
        assert_eq!(layout.unsigned_image.len(), 23);

        for cut in 0..ok.len() {
            let refusal = Layout::parse(&ok[..cut]).unwrap_err();
            assert!(
                matches!(refusal, Refusal::Truncated { .. } | Refusal::BadMagic),
                "{cut}: {refusal}"
            );
        }
        let mut long = ok.clone();
        long.push(0);
        assert_eq!(
            Layout::parse(&long),
            Err(Refusal::TrailingBytes {
                section: Section::SignatureBlock,
                count: 1
            })
        );
        let mut bad = ok.clone();
        bad[23] = b'X';
        assert_eq!(Layout::parse(&bad), Err(Refusal::BadSignatureBlock));
        // A huge manifest length is refused as truncation, not an overflow.
        let mut huge = ok.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Layout::parse(&huge),
            Err(Refusal::Truncated {
                section: Section::Manifest,
                needed: 16 + u64::from(u32::MAX),
                available: ok.len() as u64
            })
        );
    }

    #[test]
    fn signature_block_rules() {
        let a = ([1u8; 32], [0u8; 64]);
        let b = ([2u8; 32], [0u8; 64]);
        let sorted = image(1, 1, &encode_signature_block(&[a, b]));
        assert_eq!(Layout::parse(&sorted).unwrap().signatures.len(), 2);
        assert_eq!(
            Layout::parse(&image(1, 1, &encode_signature_block(&[b, a]))),
            Err(Refusal::NonCanonical {
                section: Section::SignatureBlock,
                offset: 102
            })
        );
        assert_eq!(
            Layout::parse(&image(1, 1, &encode_signature_block(&[a, a]))),
            Err(Refusal::DuplicateSigner { index: 1 })
        );
        let many: std::vec::Vec<_> = (0..17u8).map(|i| ([i; 32], [0u8; 64])).collect();
        assert_eq!(
            Layout::parse(&image(1, 1, &encode_signature_block(&many))),
            Err(Refusal::TooManySignatures { count: 17, max: 16 })
        );
        let mut short = sorted.clone();
        short.truncate(sorted.len() - 1);
        assert_eq!(
            Layout::parse(&short),
            Err(Refusal::Truncated {
                section: Section::SignatureBlock,
                needed: sorted.len() as u64,
                available: sorted.len() as u64 - 1
            })
        );
    }

    proptest! {
        #[test]
        fn header_round_trips(manifest_bytes in any::<u32>(), payload_bytes in any::<u32>()) {
            let header = Header { manifest_bytes, payload_bytes };
            prop_assert_eq!(Header::decode(&header.encode()), Ok(header));
        }

        #[test]
        fn signature_block_round_trips(
            keys in proptest::collection::btree_set(any::<[u8; 32]>(), 0..=MAX_SIGNATURES),
            fill in any::<u8>(),
        ) {
            // A BTreeSet iterates in increasing order: the canonical order.
            let entries: std::vec::Vec<([u8; 32], [u8; 64])> =
                keys.iter().map(|key| (*key, [fill; 64])).collect();
            let bytes = image(2, 3, &encode_signature_block(&entries));
            let layout = Layout::parse(&bytes).unwrap();
            let parsed: std::vec::Vec<([u8; 32], [u8; 64])> = layout
                .signatures
                .iter()
                .map(|e| (*e.public_key, *e.signature))
                .collect();
            prop_assert_eq!(parsed, entries);
        }

        #[test]
        fn layout_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut image = MAGIC.to_vec();
            image.extend_from_slice(&bytes);
            let _ = Layout::parse(&image);
        }
    }
}
