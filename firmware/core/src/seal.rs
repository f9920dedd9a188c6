//! The sealed ballot record: a small cleartext header, the record body encrypted to the
//! election office, and a signature by the poll session's key.
//!
//! The format is specified in `docs/formats/sealed-record.md`; test vectors live in
//! `testdata/sealed-record/`. In short:
//!
//! ```text
//! record = header (151 bytes) || ephemeral X25519 public key (32)
//!          || ChaCha20-Poly1305 ciphertext (body_len) || tag (16) || Ed25519 signature (64)
//! ```
//!
//! * The key is agreed with an ephemeral X25519 key (from the caller's [`Entropy`], never
//!   ring's `SystemRandom`, which cannot work inside the wasm sandbox) and the office's
//!   X25519 public key from the boot image, then derived with HKDF-SHA256:
//!   salt = ephemeral public || office public, info = [`SEAL_LABEL`] || header.
//! * The AEAD binds the header as associated data; the nonce is zero because every key is
//!   used once.
//! * The session key (Ed25519, made from entropy at poll opening) signs the 32-byte digest
//!   SHA-256([`SEAL_SIGNATURE_LABEL`] || header || ephemeral public || ciphertext || tag).
//!
//! The terminal side ([`seal`], [`SessionKey`]) and the office side ([`open`]) share this
//! module so both follow one definition. Nothing here allocates: callers hand in buffers.

use crate::hal::{Entropy, EntropyError};
use core::fmt;
use ring::signature::KeyPair as _;
use ring::{aead, digest, hkdf, signature};
use zeroize::Zeroize;

/// Magic at the start of every sealed record ("voting terminal seal").
pub const SEALED_RECORD_MAGIC: [u8; 6] = *b"VTSEAL";
/// The format version written after the magic; the only version this code reads or writes.
pub const SEALED_RECORD_VERSION: u16 = 1;
/// HKDF-SHA256 `info` label for the record key (followed by the header bytes).
pub const SEAL_LABEL: &[u8] = b"voting-terminal/v1/seal";
/// Domain-separation label hashed before the signed part of the record.
pub const SEAL_SIGNATURE_LABEL: &[u8] = b"voting-terminal/v1/seal-signature";

/// Longest identifier (event id, station id) in bytes; identifiers are printable ASCII.
pub const MAX_IDENTIFIER_BYTES: usize = 32;
/// Bytes of an identifier field on the wire: a length byte then the zero-padded text.
pub const IDENTIFIER_FIELD_BYTES: usize = 1 + MAX_IDENTIFIER_BYTES;
/// Bytes of a SHA-256 digest (image digest, fingerprints).
pub const DIGEST_BYTES: usize = 32;
/// Bytes of an Ed25519 or X25519 public key.
pub const PUBLIC_KEY_BYTES: usize = 32;
/// Bytes of the cleartext header.
pub const HEADER_BYTES: usize = SEALED_RECORD_MAGIC.len()
    + 2 // version
    + IDENTIFIER_FIELD_BYTES // event id
    + IDENTIFIER_FIELD_BYTES // station id
    + DIGEST_BYTES // image digest
    + PUBLIC_KEY_BYTES // session public key
    + 8 // generation
    + 1 // poll state
    + 4; // body length
/// Bytes of the ephemeral X25519 public key that follows the header.
pub const EPHEMERAL_KEY_BYTES: usize = 32;
/// Bytes of the ChaCha20-Poly1305 tag.
pub const TAG_BYTES: usize = 16;
/// Bytes of the Ed25519 signature that ends the record.
pub const SIGNATURE_BYTES: usize = 64;
/// Bytes a sealed record adds to its body.
pub const SEAL_OVERHEAD_BYTES: usize =
    HEADER_BYTES + EPHEMERAL_KEY_BYTES + TAG_BYTES + SIGNATURE_BYTES;
/// Largest body a record may carry (16 MiB); a bound for readers, far above any station's
/// ballot store.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const _: () = assert!(HEADER_BYTES == 151);
const _: () = assert!(SEAL_OVERHEAD_BYTES == 263);

/// Offset of the ciphertext in a record.
const CIPHERTEXT_OFFSET: usize = HEADER_BYTES + EPHEMERAL_KEY_BYTES;
/// The AEAD nonce: every record key is fresh, so a fixed nonce is safe (as in age).
const NONCE: [u8; aead::NONCE_LEN] = [0; aead::NONCE_LEN];

/// Bytes of a sealed record with a body of `body_len` bytes, or `None` past [`MAX_BODY_BYTES`].
pub const fn sealed_len(body_len: usize) -> Option<usize> {
    if body_len > MAX_BODY_BYTES {
        return None;
    }
    body_len.checked_add(SEAL_OVERHEAD_BYTES)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why an identifier is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentifierProblem {
    /// The identifier is empty.
    Empty,
    /// The identifier is longer than [`MAX_IDENTIFIER_BYTES`].
    TooLong {
        /// Bytes given.
        len: usize,
    },
    /// A byte is not printable ASCII (`!`..=`~`).
    NotPrintable {
        /// 0-based position of the first bad byte.
        position: usize,
    },
    /// Bytes after the identifier in its field are not zero.
    NonZeroPadding,
}

impl fmt::Display for IdentifierProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IdentifierProblem::Empty => f.write_str("is empty"),
            IdentifierProblem::TooLong { len } => {
                write!(f, "is {len} bytes (max {MAX_IDENTIFIER_BYTES})")
            }
            IdentifierProblem::NotPrintable { position } => {
                write!(f, "has a non-printable byte at position {position}")
            }
            IdentifierProblem::NonZeroPadding => f.write_str("has non-zero padding"),
        }
    }
}

/// Errors sealing a record on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The entropy source gave no bytes for a key.
    Entropy(EntropyError),
    /// ring refused the session key seed.
    SessionKeyRejected,
    /// The office public key from the boot image is a low-order point (no shared secret).
    OfficeKeyRejected,
    /// The record header's generation is 0; generations start at 1.
    ZeroGeneration,
    /// The body is larger than [`MAX_BODY_BYTES`].
    BodyTooLarge {
        /// Body bytes given.
        len: usize,
        /// Largest body allowed.
        max: usize,
    },
    /// The output buffer cannot hold the sealed record.
    BufferTooSmall {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// An identifier (event or station id) is not acceptable.
    InvalidIdentifier {
        /// What is wrong.
        problem: IdentifierProblem,
    },
    /// The AEAD refused to encrypt (ring reported an unspecified error).
    EncryptFailed,
}

impl SealError {
    /// Stable code shown on screen and in reports (7xx: record sealing).
    pub const fn code(&self) -> u16 {
        match self {
            SealError::Entropy(_) => 701,
            SealError::SessionKeyRejected => 702,
            SealError::OfficeKeyRejected => 703,
            SealError::ZeroGeneration => 704,
            SealError::BodyTooLarge { .. } => 705,
            SealError::BufferTooSmall { .. } => 706,
            SealError::InvalidIdentifier { .. } => 707,
            SealError::EncryptFailed => 708,
        }
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SealError::Entropy(e) => write!(f, "seal: no entropy for a key ({e})"),
            SealError::SessionKeyRejected => f.write_str("seal: session key seed rejected"),
            SealError::OfficeKeyRejected => {
                f.write_str("seal: office public key is a low-order point")
            }
            SealError::ZeroGeneration => f.write_str("seal: record generation 0 (must be >= 1)"),
            SealError::BodyTooLarge { len, max } => {
                write!(f, "seal: record body of {len} bytes exceeds {max}")
            }
            SealError::BufferTooSmall { needed, available } => write!(
                f,
                "seal: output buffer of {available} bytes, record needs {needed}"
            ),
            SealError::InvalidIdentifier { problem } => write!(f, "seal: identifier {problem}"),
            SealError::EncryptFailed => f.write_str("seal: encryption failed"),
        }
    }
}

impl From<EntropyError> for SealError {
    fn from(e: EntropyError) -> SealError {
        SealError::Entropy(e)
    }
}

/// A field of the cleartext header, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderField {
    /// The event id.
    EventId,
    /// The polling station id.
    StationId,
}

impl HeaderField {
    /// Field name as in the format spec.
    pub const fn name(self) -> &'static str {
        match self {
            HeaderField::EventId => "event_id",
            HeaderField::StationId => "station_id",
        }
    }
}

/// The class of an [`OpenError`], as named by the `expect:` line of the test vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FailureClass {
    /// The cleartext header is malformed (magic, version, field values).
    Header,
    /// The record is shorter than its header says.
    Truncated,
    /// Bytes follow the signature.
    Trailing,
    /// The session signature does not verify.
    Signature,
    /// The body does not decrypt with the office key.
    Decrypt,
    /// The caller's body buffer is too small.
    Buffer,
    /// The record belongs to another election event.
    WrongEvent,
    /// The record was made by another boot image.
    WrongImage,
}

impl FailureClass {
    /// Every class, in a fixed order.
    pub const ALL: [FailureClass; 8] = [
        FailureClass::Header,
        FailureClass::Truncated,
        FailureClass::Trailing,
        FailureClass::Signature,
        FailureClass::Decrypt,
        FailureClass::Buffer,
        FailureClass::WrongEvent,
        FailureClass::WrongImage,
    ];

    /// The label used in `expect:` lines and reports.
    pub const fn label(self) -> &'static str {
        match self {
            FailureClass::Header => "bad-header",
            FailureClass::Truncated => "truncated",
            FailureClass::Trailing => "trailing-bytes",
            FailureClass::Signature => "bad-signature",
            FailureClass::Decrypt => "decrypt-failure",
            FailureClass::Buffer => "buffer-too-small",
            FailureClass::WrongEvent => "wrong-event",
            FailureClass::WrongImage => "wrong-image",
        }
    }

    /// The class with this label.
    pub fn from_label(label: &str) -> Option<FailureClass> {
        FailureClass::ALL.into_iter().find(|c| c.label() == label)
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Errors opening a sealed record at the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The bytes do not start with [`SEALED_RECORD_MAGIC`].
    BadMagic {
        /// The first bytes found (zero-filled if the input is shorter).
        found: [u8; 6],
    },
    /// The version is not [`SEALED_RECORD_VERSION`].
    UnsupportedVersion {
        /// Version found.
        version: u16,
    },
    /// An identifier field is malformed.
    BadIdentifier {
        /// Which field.
        field: HeaderField,
        /// What is wrong.
        problem: IdentifierProblem,
    },
    /// The poll state byte is neither 0 (open) nor 1 (closed).
    BadPollState {
        /// Byte found.
        value: u8,
    },
    /// The generation is 0.
    ZeroGeneration,
    /// The body length exceeds [`MAX_BODY_BYTES`].
    BodyTooLarge {
        /// Body length found.
        len: u32,
    },
    /// The record is shorter than its header says.
    Truncated {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// Bytes follow the signature.
    TrailingBytes {
        /// Bytes the record should have.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The session signature does not verify.
    BadSignature,
    /// The ephemeral key is a low-order point (no shared secret).
    EphemeralKeyRejected,
    /// The body does not decrypt (wrong office key, or altered ciphertext re-signed).
    DecryptFailed,
    /// The body buffer cannot hold the body.
    BodyBufferTooSmall {
        /// Bytes the body needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The record belongs to another election event.
    WrongEvent {
        /// Event id expected.
        expected: Identifier,
        /// Event id in the record.
        found: Identifier,
    },
    /// The record was made by another boot image.
    WrongImage {
        /// Image digest expected.
        expected: [u8; DIGEST_BYTES],
        /// Image digest in the record.
        found: [u8; DIGEST_BYTES],
    },
}

impl OpenError {
    /// The failure class (what the test vectors name in `expect:`).
    pub const fn class(&self) -> FailureClass {
        match self {
            OpenError::BadMagic { .. }
            | OpenError::UnsupportedVersion { .. }
            | OpenError::BadIdentifier { .. }
            | OpenError::BadPollState { .. }
            | OpenError::ZeroGeneration
            | OpenError::BodyTooLarge { .. } => FailureClass::Header,
            OpenError::Truncated { .. } => FailureClass::Truncated,
            OpenError::TrailingBytes { .. } => FailureClass::Trailing,
            OpenError::BadSignature => FailureClass::Signature,
            OpenError::EphemeralKeyRejected | OpenError::DecryptFailed => FailureClass::Decrypt,
            OpenError::BodyBufferTooSmall { .. } => FailureClass::Buffer,
            OpenError::WrongEvent { .. } => FailureClass::WrongEvent,
            OpenError::WrongImage { .. } => FailureClass::WrongImage,
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::BadMagic { found } => {
                write!(
                    f,
                    "sealed record: bad magic {found:02x?} (not a sealed record)"
                )
            }
            OpenError::UnsupportedVersion { version } => write!(
                f,
                "sealed record: version {version} unsupported (expected {SEALED_RECORD_VERSION})"
            ),
            OpenError::BadIdentifier { field, problem } => {
                write!(f, "sealed record: header field {} {problem}", field.name())
            }
            OpenError::BadPollState { value } => write!(
                f,
                "sealed record: header field poll_state is {value} (expected 0 or 1)"
            ),
            OpenError::ZeroGeneration => {
                f.write_str("sealed record: header field generation is 0 (must be >= 1)")
            }
            OpenError::BodyTooLarge { len } => write!(
                f,
                "sealed record: header field body_len is {len} (max {MAX_BODY_BYTES})"
            ),
            OpenError::Truncated { needed, available } => {
                write!(f, "sealed record: truncated, {available} bytes of {needed}")
            }
            OpenError::TrailingBytes { expected, actual } => write!(
                f,
                "sealed record: {actual} bytes, {} trailing after the {expected}-byte record",
                actual.saturating_sub(*expected)
            ),
            OpenError::BadSignature => {
                f.write_str("sealed record: session signature does not verify")
            }
            OpenError::EphemeralKeyRejected => {
                f.write_str("sealed record: ephemeral key is a low-order point")
            }
            OpenError::DecryptFailed => {
                f.write_str("sealed record: body does not decrypt with this office key")
            }
            OpenError::BodyBufferTooSmall { needed, available } => write!(
                f,
                "sealed record: body buffer of {available} bytes, body needs {needed}"
            ),
            OpenError::WrongEvent { expected, found } => write!(
                f,
                "sealed record: event `{}`, expected `{}`",
                found.as_str(),
                expected.as_str()
            ),
            OpenError::WrongImage { .. } => {
                f.write_str("sealed record: made by another boot image (image digest differs)")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Header

/// An event or station identifier: 1 to [`MAX_IDENTIFIER_BYTES`] printable ASCII bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Identifier {
    len: u8,
    bytes: [u8; MAX_IDENTIFIER_BYTES],
}

impl Identifier {
    /// Check and copy `text`.
    pub fn new(text: &str) -> Result<Identifier, SealError> {
        Identifier::from_bytes(text.as_bytes())
            .map_err(|problem| SealError::InvalidIdentifier { problem })
    }

    fn from_bytes(text: &[u8]) -> Result<Identifier, IdentifierProblem> {
        if text.is_empty() {
            return Err(IdentifierProblem::Empty);
        }
        if text.len() > MAX_IDENTIFIER_BYTES {
            return Err(IdentifierProblem::TooLong { len: text.len() });
        }
        if let Some(position) = text.iter().position(|b| !b.is_ascii_graphic()) {
            return Err(IdentifierProblem::NotPrintable { position });
        }
        let mut bytes = [0u8; MAX_IDENTIFIER_BYTES];
        for (dst, src) in bytes.iter_mut().zip(text) {
            *dst = *src;
        }
        let len =
            u8::try_from(text.len()).map_err(|_| IdentifierProblem::TooLong { len: text.len() })?;
        Ok(Identifier { len, bytes })
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or(&[]);
        // Always ASCII by construction; an empty string is the (unreachable) fallback.
        core::str::from_utf8(bytes).unwrap_or("")
    }

    /// Encode as a wire field: length byte, text, zero padding.
    pub fn encode_field(&self) -> [u8; IDENTIFIER_FIELD_BYTES] {
        let mut field = [0u8; IDENTIFIER_FIELD_BYTES];
        let mut w = Writer::new(&mut field);
        w.put(&[self.len]);
        w.put(&self.bytes);
        field
    }

    /// Decode a wire field: length byte, text, zero padding.
    pub fn decode(field: &[u8; IDENTIFIER_FIELD_BYTES]) -> Result<Identifier, IdentifierProblem> {
        let Some((&len, text)) = field.split_first() else {
            return Err(IdentifierProblem::Empty);
        };
        let len = usize::from(len);
        let Some((id, padding)) = text.split_at_checked(len) else {
            return Err(IdentifierProblem::TooLong { len });
        };
        if padding.iter().any(|&b| b != 0) {
            return Err(IdentifierProblem::NonZeroPadding);
        }
        Identifier::from_bytes(id)
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identifier({:?})", self.as_str())
    }
}

/// The poll state a record was sealed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollState {
    /// The poll is open: more ballots may follow.
    Open,
    /// The poll is closed: this is the final record of the session.
    Closed,
}

impl PollState {
    /// The wire byte.
    pub const fn byte(self) -> u8 {
        match self {
            PollState::Open => 0,
            PollState::Closed => 1,
        }
    }

    /// The state for a wire byte.
    pub const fn from_byte(byte: u8) -> Option<PollState> {
        match byte {
            0 => Some(PollState::Open),
            1 => Some(PollState::Closed),
            _ => None,
        }
    }
}

/// What the terminal states about a record; [`seal`] adds the session key and body length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The election event (from the boot image's manifest).
    pub event_id: Identifier,
    /// The polling station.
    pub station_id: Identifier,
    /// SHA-256 of the boot image the terminal runs.
    pub image_digest: [u8; DIGEST_BYTES],
    /// Record generation: 1 for the first record of a session, strictly increasing.
    pub generation: u64,
    /// Open or closed.
    pub state: PollState,
}

/// The cleartext header of a sealed record, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedHeader {
    /// The fields the terminal states.
    pub record: RecordHeader,
    /// The session's Ed25519 public key.
    pub session_public_key: [u8; PUBLIC_KEY_BYTES],
    /// Bytes of the record body (plaintext; the ciphertext has the same length).
    pub body_len: u32,
}

impl SealedHeader {
    /// The header bytes.
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        let mut w = Writer::new(&mut out);
        w.put(&SEALED_RECORD_MAGIC);
        w.put(&SEALED_RECORD_VERSION.to_le_bytes());
        w.put(&self.record.event_id.encode_field());
        w.put(&self.record.station_id.encode_field());
        w.put(&self.record.image_digest);
        w.put(&self.session_public_key);
        w.put(&self.record.generation.to_le_bytes());
        w.put(&[self.record.state.byte()]);
        w.put(&self.body_len.to_le_bytes());
        out
    }

    /// Parse the header at the start of `bytes` (which may continue with the rest of the
    /// record). This checks the header only: nothing is verified or decrypted.
    pub fn parse(bytes: &[u8]) -> Result<SealedHeader, OpenError> {
        let mut found = [0u8; 6];
        for (dst, src) in found.iter_mut().zip(bytes) {
            *dst = *src;
        }
        let prefix = bytes.len().min(SEALED_RECORD_MAGIC.len());
        if found.get(..prefix) != SEALED_RECORD_MAGIC.get(..prefix) {
            return Err(OpenError::BadMagic { found });
        }
        let truncated = OpenError::Truncated {
            needed: HEADER_BYTES,
            available: bytes.len(),
        };
        let mut r = Reader::new(bytes);
        let magic: [u8; 6] = r.take().ok_or(truncated)?;
        if magic != SEALED_RECORD_MAGIC {
            return Err(OpenError::BadMagic { found: magic });
        }
        let version = u16::from_le_bytes(r.take().ok_or(truncated)?);
        if version != SEALED_RECORD_VERSION {
            return Err(OpenError::UnsupportedVersion { version });
        }
        let event_field: [u8; IDENTIFIER_FIELD_BYTES] = r.take().ok_or(truncated)?;
        let station_field: [u8; IDENTIFIER_FIELD_BYTES] = r.take().ok_or(truncated)?;
        let image_digest: [u8; DIGEST_BYTES] = r.take().ok_or(truncated)?;
        let session_public_key: [u8; PUBLIC_KEY_BYTES] = r.take().ok_or(truncated)?;
        let generation = u64::from_le_bytes(r.take().ok_or(truncated)?);
        let [state]: [u8; 1] = r.take().ok_or(truncated)?;
        let body_len = u32::from_le_bytes(r.take().ok_or(truncated)?);

        let event_id =
            Identifier::decode(&event_field).map_err(|problem| OpenError::BadIdentifier {
                field: HeaderField::EventId,
                problem,
            })?;
        let station_id =
            Identifier::decode(&station_field).map_err(|problem| OpenError::BadIdentifier {
                field: HeaderField::StationId,
                problem,
            })?;
        let state = PollState::from_byte(state).ok_or(OpenError::BadPollState { value: state })?;
        if generation == 0 {
            return Err(OpenError::ZeroGeneration);
        }
        if usize::try_from(body_len).map_or(true, |len| len > MAX_BODY_BYTES) {
            return Err(OpenError::BodyTooLarge { len: body_len });
        }
        Ok(SealedHeader {
            record: RecordHeader {
                event_id,
                station_id,
                image_digest,
                generation,
                state,
            },
            session_public_key,
            body_len,
        })
    }

    /// Bytes of the whole sealed record this header announces.
    pub fn record_len(&self) -> Option<usize> {
        usize::try_from(self.body_len).ok().and_then(sealed_len)
    }
}

/// Writes consecutive fields into a fixed buffer. The layouts above are sized by constants
/// checked at compile time and by round-trip tests, so the zip never truncates.
pub(crate) struct Writer<'a> {
    rest: core::slice::IterMut<'a, u8>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Writer<'a> {
        Writer {
            rest: buf.iter_mut(),
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        // `bytes` first: zip stops on it without taking an extra element from `rest`.
        for (src, dst) in bytes.iter().zip(&mut self.rest) {
            *dst = *src;
        }
    }
}

/// Reads consecutive fixed-size fields.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    pub(crate) fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

// ---------------------------------------------------------------------------------------------
// Session key

/// The poll session's Ed25519 signing key, made from entropy at poll opening and kept only
/// in RAM. The seed is zeroized on drop; ring's key pair (which does not zeroize) is
/// derived for each signature and dropped straight after.
pub struct SessionKey {
    seed: [u8; 32],
    public: [u8; PUBLIC_KEY_BYTES],
}

impl SessionKey {
    /// A fresh key from 32 bytes of `entropy`.
    pub fn generate(entropy: &mut impl Entropy) -> Result<SessionKey, SealError> {
        let mut seed = [0u8; 32];
        let filled = entropy.fill(&mut seed);
        let key = filled
            .map_err(SealError::from)
            .and_then(|()| SessionKey::from_seed(&seed));
        seed.zeroize();
        key
    }

    /// The key for a known seed. The terminal uses [`SessionKey::generate`]; this exists for
    /// test vectors and the office's test tooling.
    pub fn from_seed(seed: &[u8; 32]) -> Result<SessionKey, SealError> {
        let pair = signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| SealError::SessionKeyRejected)?;
        let mut public = [0u8; PUBLIC_KEY_BYTES];
        for (dst, src) in public.iter_mut().zip(pair.public_key().as_ref()) {
            *dst = *src;
        }
        Ok(SessionKey {
            seed: *seed,
            public,
        })
    }

    /// The Ed25519 public key (32 bytes), written into every record header.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.public
    }

    /// SHA-256 of the public key: printed on the opening report for the president to copy.
    pub fn fingerprint(&self) -> [u8; DIGEST_BYTES] {
        fingerprint(&self.public)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_BYTES], SealError> {
        let pair = signature::Ed25519KeyPair::from_seed_unchecked(&self.seed)
            .map_err(|_| SealError::SessionKeyRejected)?;
        let sig = pair.sign(message);
        let mut out = [0u8; SIGNATURE_BYTES];
        for (dst, src) in out.iter_mut().zip(sig.as_ref()) {
            *dst = *src;
        }
        Ok(out)
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey(public {:02x?})", self.public)
    }
}

/// SHA-256 of a session public key, as [`SessionKey::fingerprint`] computes it; the office
/// uses it to compare a record's key with the fingerprint on the paper report.
pub fn fingerprint(public_key: &[u8; PUBLIC_KEY_BYTES]) -> [u8; DIGEST_BYTES] {
    digest32(digest::digest(&digest::SHA256, public_key))
}

fn digest32(d: digest::Digest) -> [u8; DIGEST_BYTES] {
    let mut out = [0u8; DIGEST_BYTES];
    for (dst, src) in out.iter_mut().zip(d.as_ref()) {
        *dst = *src;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Sealing and opening

/// The X25519 public key for an office secret key (the office tool's `keygen`).
pub fn office_public_key(office_secret: &[u8; 32]) -> [u8; PUBLIC_KEY_BYTES] {
    let secret = x25519_dalek::StaticSecret::from(*office_secret);
    x25519_dalek::PublicKey::from(&secret).to_bytes()
}

/// The record key: HKDF-SHA256(salt = ephemeral || office, ikm = shared, info = label || header).
fn record_key(
    shared: &x25519_dalek::SharedSecret,
    ephemeral_public: &[u8; PUBLIC_KEY_BYTES],
    office_public: &[u8; PUBLIC_KEY_BYTES],
    header: &[u8; HEADER_BYTES],
) -> Result<aead::LessSafeKey, ring::error::Unspecified> {
    let mut salt = [0u8; 2 * PUBLIC_KEY_BYTES];
    let mut w = Writer::new(&mut salt);
    w.put(ephemeral_public);
    w.put(office_public);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(shared.as_bytes());
    let info: [&[u8]; 2] = [SEAL_LABEL, header];
    let okm = prk.expand(&info, &aead::CHACHA20_POLY1305)?;
    Ok(aead::LessSafeKey::new(aead::UnboundKey::from(okm)))
}

/// The message the session key signs: the domain-separated digest
/// SHA-256([`SEAL_SIGNATURE_LABEL`] || header || ephemeral public || ciphertext || tag),
/// as the boot image signs its manifest digest. [`Sealer::hash`] computes the same in steps.
fn signed_message(signed_part: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut hash = digest::Context::new(&digest::SHA256);
    hash.update(SEAL_SIGNATURE_LABEL);
    hash.update(signed_part);
    digest32(hash.finish())
}

/// The X25519 key agreement of one record with the office key: a fresh ephemeral key pair
/// and the shared secret. Used for exactly one record, then dropped (the shared secret is
/// zeroized). The two scalar multiplications are the costliest part of sealing, so the
/// terminal prepares the next record's agreement ahead, in idle time ([`EphemeralSetup`]).
pub struct Ephemeral {
    public: [u8; PUBLIC_KEY_BYTES],
    shared: x25519_dalek::SharedSecret,
}

impl fmt::Debug for Ephemeral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ephemeral(public {:02x?})", self.public)
    }
}

impl Ephemeral {
    /// A fresh agreement with `office_public`, from 32 bytes of `entropy` (both steps of
    /// [`EphemeralSetup`] at once).
    pub fn generate(
        office_public: &[u8; PUBLIC_KEY_BYTES],
        entropy: &mut impl Entropy,
    ) -> Result<Ephemeral, SealError> {
        EphemeralSetup::new(entropy)?.agree(office_public)
    }

    /// The ephemeral X25519 public key, written after the record header.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_BYTES] {
        self.public
    }
}

/// An [`Ephemeral`] agreement made in two steps of about equal cost: the ephemeral key pair
/// ([`EphemeralSetup::new`], a fixed-base multiplication), then the shared secret with the
/// office key ([`EphemeralSetup::agree`]). The secret scalar is zeroized when dropped.
pub struct EphemeralSetup {
    secret: x25519_dalek::StaticSecret,
    public: [u8; PUBLIC_KEY_BYTES],
}

impl fmt::Debug for EphemeralSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EphemeralSetup(public {:02x?})", self.public)
    }
}

impl EphemeralSetup {
    /// A fresh ephemeral key pair from 32 bytes of `entropy`.
    pub fn new(entropy: &mut impl Entropy) -> Result<EphemeralSetup, SealError> {
        let mut seed = [0u8; 32];
        if let Err(e) = entropy.fill(&mut seed) {
            seed.zeroize();
            return Err(e.into());
        }
        let secret = x25519_dalek::StaticSecret::from(seed);
        seed.zeroize();
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        Ok(EphemeralSetup { secret, public })
    }

    /// The shared secret with `office_public`; refused if the office key gives a
    /// non-contributory (all-zero) secret. Drop the setup where it lies afterwards (its
    /// secret is zeroized there; moving it would leave a copy behind).
    pub fn agree(&self, office_public: &[u8; PUBLIC_KEY_BYTES]) -> Result<Ephemeral, SealError> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(*office_public));
        if !shared.was_contributory() {
            return Err(SealError::OfficeKeyRejected);
        }
        Ok(Ephemeral {
            public: self.public,
            shared,
        })
    }
}

/// Sealing one record in steps, each bounded in cost: [`Sealer::encrypt`] (the header,
/// the ephemeral key and the encrypted body), [`Sealer::hash`] (the signed digest, a
/// bounded number of bytes per call) and [`Sealer::sign`]. The record is built in place
/// in the caller's buffer, which must not change between the steps. The bytes are exactly
/// those of [`seal`] with the same ephemeral key.
pub struct Sealer {
    /// Bytes of the record.
    total: usize,
    /// Bytes of the signed part (header, ephemeral key, ciphertext and tag).
    signed: usize,
    /// Bytes of the signed part hashed so far.
    hashed: usize,
    digest: digest::Context,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("total", &self.total)
            .field("hashed", &self.hashed)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Write the cleartext header (with `session_public`) and the ephemeral public key into
    /// `out`, then `body` encrypted to the office key (HKDF-SHA256, ChaCha20-Poly1305) and
    /// its tag. One agreement seals one record: drop `ephemeral` where it lies afterwards
    /// (its shared secret is zeroized there; moving it would leave a copy behind).
    pub fn encrypt(
        header: &RecordHeader,
        body: &[u8],
        office_public: &[u8; PUBLIC_KEY_BYTES],
        session_public: &[u8; PUBLIC_KEY_BYTES],
        ephemeral: &Ephemeral,
        out: &mut [u8],
    ) -> Result<Sealer, SealError> {
        if header.generation == 0 {
            return Err(SealError::ZeroGeneration);
        }
        let too_large = SealError::BodyTooLarge {
            len: body.len(),
            max: MAX_BODY_BYTES,
        };
        let total = sealed_len(body.len()).ok_or(too_large)?;
        let body_len = u32::try_from(body.len()).map_err(|_| too_large)?;
        let available = out.len();
        let record = out.get_mut(..total).ok_or(SealError::BufferTooSmall {
            needed: total,
            available,
        })?;
        let wire = SealedHeader {
            record: *header,
            session_public_key: *session_public,
            body_len,
        }
        .encode();
        let key = record_key(&ephemeral.shared, &ephemeral.public, office_public, &wire)
            .map_err(|_| SealError::EncryptFailed)?;
        let ephemeral_public = ephemeral.public;

        let signed = CIPHERTEXT_OFFSET
            .saturating_add(body.len())
            .saturating_add(TAG_BYTES);
        let (signed_part, _) = record
            .split_at_mut_checked(signed)
            .ok_or(SealError::EncryptFailed)?;
        let (prefix, sealed_body) = signed_part
            .split_at_mut_checked(CIPHERTEXT_OFFSET)
            .ok_or(SealError::EncryptFailed)?;
        let mut w = Writer::new(prefix);
        w.put(&wire);
        w.put(&ephemeral_public);
        let (ciphertext, tag_field) = sealed_body
            .split_at_mut_checked(body.len())
            .ok_or(SealError::EncryptFailed)?;
        ciphertext.copy_from_slice(body);
        let Ok(tag) = key.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(NONCE),
            aead::Aad::from(&wire),
            ciphertext,
        ) else {
            ciphertext.zeroize();
            return Err(SealError::EncryptFailed);
        };
        tag_field.copy_from_slice(tag.as_ref());
        let mut digest = digest::Context::new(&digest::SHA256);
        digest.update(SEAL_SIGNATURE_LABEL);
        Ok(Sealer {
            total,
            signed,
            hashed: 0,
            digest,
        })
    }

    /// Hash up to `max_bytes` more of the signed part in `out` (the buffer given to
    /// [`Sealer::encrypt`]); whether all of it is hashed.
    pub fn hash(&mut self, out: &[u8], max_bytes: usize) -> bool {
        let end = self.hashed.saturating_add(max_bytes).min(self.signed);
        if let Some(part) = out.get(self.hashed..end) {
            self.digest.update(part);
            self.hashed = end;
        }
        self.hashed >= self.signed
    }

    /// Sign the signed digest with the session key (hashing whatever [`Sealer::hash`] has
    /// not yet) and write the signature into `out`; returns the record length.
    pub fn sign(mut self, session: &SessionKey, out: &mut [u8]) -> Result<usize, SealError> {
        self.hash(out, usize::MAX);
        let digest = digest32(self.digest.finish());
        let sig = session.sign(&digest)?;
        out.get_mut(self.signed..self.total)
            .ok_or(SealError::EncryptFailed)?
            .copy_from_slice(&sig);
        Ok(self.total)
    }

    /// Bytes of the finished record.
    pub fn record_len(&self) -> usize {
        self.total
    }
}

/// Seal `body` into `out`, returning the record length.
///
/// `office_public` is the office X25519 key from the verified boot image; `entropy` gives
/// the 32 bytes of the ephemeral key. On error nothing in `out` is a valid record. This is
/// [`Ephemeral::generate`] and the three steps of [`Sealer`] at once.
pub fn seal(
    header: &RecordHeader,
    body: &[u8],
    office_public: &[u8; PUBLIC_KEY_BYTES],
    session: &SessionKey,
    entropy: &mut impl Entropy,
    out: &mut [u8],
) -> Result<usize, SealError> {
    if header.generation == 0 {
        return Err(SealError::ZeroGeneration);
    }
    if sealed_len(body.len()).is_none_or(|total| total > out.len()) {
        // Refuse before drawing entropy, as the one-step sealing always did.
        let len = body.len();
        return Err(match sealed_len(len) {
            None => SealError::BodyTooLarge {
                len,
                max: MAX_BODY_BYTES,
            },
            Some(needed) => SealError::BufferTooSmall {
                needed,
                available: out.len(),
            },
        });
    }
    let ephemeral = Ephemeral::generate(office_public, entropy)?;
    let sealer = Sealer::encrypt(
        header,
        body,
        office_public,
        &session.public_key(),
        &ephemeral,
        out,
    )?;
    sealer.sign(session, out)
}

/// A record opened at the office: its verified header and decrypted body.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened<'b> {
    /// The verified cleartext header.
    pub header: SealedHeader,
    /// The decrypted record body (a prefix of the caller's buffer).
    pub body: &'b [u8],
}

impl Opened<'_> {
    /// Refuse a record of another election event.
    pub fn expect_event(&self, event_id: &Identifier) -> Result<(), OpenError> {
        if self.header.record.event_id == *event_id {
            Ok(())
        } else {
            Err(OpenError::WrongEvent {
                expected: *event_id,
                found: self.header.record.event_id,
            })
        }
    }

    /// Refuse a record made by another boot image.
    pub fn expect_image(&self, image_digest: &[u8; DIGEST_BYTES]) -> Result<(), OpenError> {
        if self.header.record.image_digest == *image_digest {
            Ok(())
        } else {
            Err(OpenError::WrongImage {
                expected: *image_digest,
                found: self.header.record.image_digest,
            })
        }
    }
}

/// Open a sealed record with the office's X25519 secret key.
///
/// Order of checks: header, exact length (truncated / trailing), session signature, then
/// decryption into `body_out`. On error `body_out` holds no plaintext.
pub fn open<'b>(
    bytes: &[u8],
    office_secret: &[u8; 32],
    body_out: &'b mut [u8],
) -> Result<Opened<'b>, OpenError> {
    let header = SealedHeader::parse(bytes)?;
    let body_len = usize::try_from(header.body_len).map_err(|_| OpenError::BodyTooLarge {
        len: header.body_len,
    })?;
    let expected = header.record_len().ok_or(OpenError::BodyTooLarge {
        len: header.body_len,
    })?;
    if bytes.len() < expected {
        return Err(OpenError::Truncated {
            needed: expected,
            available: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(OpenError::TrailingBytes {
            expected,
            actual: bytes.len(),
        });
    }
    let truncated = OpenError::Truncated {
        needed: expected,
        available: bytes.len(),
    };
    let signed_len = CIPHERTEXT_OFFSET
        .checked_add(body_len)
        .and_then(|n| n.checked_add(TAG_BYTES))
        .ok_or(truncated)?;
    let (signed, sig) = bytes.split_at_checked(signed_len).ok_or(truncated)?;
    signature::UnparsedPublicKey::new(&signature::ED25519, &header.session_public_key)
        .verify(&signed_message(signed), sig)
        .map_err(|_| OpenError::BadSignature)?;

    let (wire, rest) = signed
        .split_first_chunk::<HEADER_BYTES>()
        .ok_or(truncated)?;
    let (ephemeral_public, rest) = rest
        .split_first_chunk::<EPHEMERAL_KEY_BYTES>()
        .ok_or(truncated)?;
    let (ciphertext, tag) = rest.split_at_checked(body_len).ok_or(truncated)?;
    let tag = aead::Tag::try_from(tag).map_err(|_| truncated)?;

    let available = body_out.len();
    let plaintext = body_out
        .get_mut(..body_len)
        .ok_or(OpenError::BodyBufferTooSmall {
            needed: body_len,
            available,
        })?;

    let office = x25519_dalek::StaticSecret::from(*office_secret);
    let office_public = x25519_dalek::PublicKey::from(&office).to_bytes();
    let shared = office.diffie_hellman(&x25519_dalek::PublicKey::from(*ephemeral_public));
    drop(office);
    if !shared.was_contributory() {
        return Err(OpenError::EphemeralKeyRejected);
    }
    let key = record_key(&shared, ephemeral_public, &office_public, wire)
        .map_err(|_| OpenError::DecryptFailed)?;
    drop(shared);
    plaintext.copy_from_slice(ciphertext);
    let opened = key
        .open_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(NONCE),
            aead::Aad::from(wire),
            tag,
            plaintext,
            0..,
        )
        .map(|body| body.len());
    if opened != Ok(body_len) {
        plaintext.zeroize();
        return Err(OpenError::DecryptFailed);
    }
    let body: &'b [u8] = plaintext;
    Ok(Opened { header, body })
}

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::doubles::{FixedEntropy, SeededEntropy};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    const OFFICE_SECRET: [u8; 32] = [0x42; 32];

    fn header(generation: u64) -> RecordHeader {
        RecordHeader {
            event_id: Identifier::new("be-2024-06-09").unwrap(),
            station_id: Identifier::new("bxl-0042").unwrap(),
            image_digest: [0xAB; 32],
            generation,
            state: PollState::Open,
        }
    }

    fn sealed(body: &[u8], generation: u64) -> (SessionKey, Vec<u8>) {
        let key = SessionKey::from_seed(&[7; 32]).unwrap();
        let mut out = vec![0u8; sealed_len(body.len()).unwrap()];
        let n = seal(
            &header(generation),
            body,
            &office_public_key(&OFFICE_SECRET),
            &key,
            &mut SeededEntropy::new([generation as u8; 32]),
            &mut out,
        )
        .unwrap();
        assert_eq!(n, out.len());
        (key, out)
    }

    #[test]
    fn seal_then_open_gives_body_and_header() {
        let body: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let (key, record) = sealed(&body, 3);
        let mut out = vec![0u8; body.len()];
        let opened = open(&record, &OFFICE_SECRET, &mut out).unwrap();
        assert_eq!(opened.body, &body[..]);
        assert_eq!(opened.header.record, header(3));
        assert_eq!(opened.header.session_public_key, key.public_key());
        assert_eq!(opened.header.body_len, 1000);
        opened
            .expect_event(&Identifier::new("be-2024-06-09").unwrap())
            .unwrap();
        opened.expect_image(&[0xAB; 32]).unwrap();
        // The ciphertext is not the body.
        assert_ne!(
            &record[CIPHERTEXT_OFFSET..CIPHERTEXT_OFFSET + 1000],
            &body[..]
        );
    }

    #[test]
    fn sealing_in_steps_gives_the_same_bytes_as_sealing_at_once() {
        let key = SessionKey::from_seed(&[9; 32]).unwrap();
        let office = office_public_key(&OFFICE_SECRET);
        for len in [0usize, 1, 63, 64, 1000, 5000] {
            let body: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
            let total = sealed_len(len).unwrap();
            let mut once = vec![0u8; total];
            let n = seal(
                &header(5),
                &body,
                &office,
                &key,
                &mut SeededEntropy::new([4; 32]),
                &mut once,
            )
            .unwrap();
            assert_eq!(n, total);
            for step in [1usize, 100, 4096, usize::MAX] {
                let mut entropy = SeededEntropy::new([4; 32]);
                let setup = EphemeralSetup::new(&mut entropy).unwrap();
                let ephemeral = setup.agree(&office).unwrap();
                let mut out = vec![0u8; total];
                let mut sealer = Sealer::encrypt(
                    &header(5),
                    &body,
                    &office,
                    &key.public_key(),
                    &ephemeral,
                    &mut out,
                )
                .unwrap();
                assert_eq!(sealer.record_len(), total);
                let mut calls = 0;
                while !sealer.hash(&out, step) {
                    calls += 1;
                    if step == usize::MAX {
                        panic!("one call hashes everything");
                    }
                }
                assert!(calls <= total / step + 1);
                assert_eq!(sealer.sign(&key, &mut out).unwrap(), total);
                assert_eq!(out, once, "body of {len} bytes, hashed {step} bytes a step");
            }
            // Signing without hashing first hashes the rest.
            let ephemeral = Ephemeral::generate(&office, &mut SeededEntropy::new([4; 32])).unwrap();
            let mut out = vec![0u8; total];
            let sealer = Sealer::encrypt(
                &header(5),
                &body,
                &office,
                &key.public_key(),
                &ephemeral,
                &mut out,
            )
            .unwrap();
            sealer.sign(&key, &mut out).unwrap();
            assert_eq!(out, once);
        }
    }

    #[test]
    fn empty_body_round_trips() {
        let (_, record) = sealed(&[], 1);
        assert_eq!(record.len(), SEAL_OVERHEAD_BYTES);
        let opened = open(&record, &OFFICE_SECRET, &mut []).unwrap();
        assert!(opened.body.is_empty());
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let body: Vec<u8> = (0..48u8).collect();
        let (_, record) = sealed(&body, 1);
        let mut counts: BTreeMap<FailureClass, usize> = BTreeMap::new();
        let mut out = vec![0u8; 4096];
        let mut flipped = record.clone();
        for byte in 0..record.len() {
            for bit in 0..8 {
                flipped[byte] ^= 1 << bit;
                let err = open(&flipped, &OFFICE_SECRET, &mut out)
                    .expect_err("a flipped record must not open");
                *counts.entry(err.class()).or_default() += 1;
                flipped[byte] ^= 1 << bit;
            }
        }
        std::println!(
            "single-bit flips of a {}-byte record: {} rejected, by class: {:?}",
            record.len(),
            record.len() * 8,
            counts
                .iter()
                .map(|(c, n)| (c.label(), *n))
                .collect::<Vec<_>>()
        );
        assert_eq!(counts.values().sum::<usize>(), record.len() * 8);
        // Everything after the header is covered by the signature alone.
        let tail_bits = (record.len() - HEADER_BYTES) * 8;
        assert!(counts[&FailureClass::Signature] >= tail_bits);
        assert!(counts[&FailureClass::Header] > 0);
        assert!(counts[&FailureClass::Truncated] > 0);
        assert!(counts[&FailureClass::Trailing] > 0);
        // The signature is checked before decryption, so no flip reaches the AEAD.
        assert!(!counts.contains_key(&FailureClass::Decrypt));
    }

    #[test]
    fn wrong_office_key_fails_to_decrypt() {
        let (_, record) = sealed(b"ballots", 1);
        let mut out = [0u8; 16];
        let err = open(&record, &[0x43; 32], &mut out).unwrap_err();
        assert_eq!(err, OpenError::DecryptFailed);
        assert_eq!(err.class(), FailureClass::Decrypt);
        assert_eq!(out, [0u8; 16], "no plaintext is left behind");
    }

    #[test]
    fn length_checks_come_before_anything_else() {
        let (_, record) = sealed(b"ballots", 1);
        let mut out = [0u8; 16];
        let short = open(&record[..record.len() - 1], &OFFICE_SECRET, &mut out).unwrap_err();
        assert_eq!(
            short,
            OpenError::Truncated {
                needed: record.len(),
                available: record.len() - 1
            }
        );
        let header_only = open(&record[..100], &OFFICE_SECRET, &mut out).unwrap_err();
        assert_eq!(header_only.class(), FailureClass::Truncated);
        let mut long = record.clone();
        long.push(0);
        let err = open(&long, &OFFICE_SECRET, &mut out).unwrap_err();
        assert_eq!(
            err,
            OpenError::TrailingBytes {
                expected: record.len(),
                actual: record.len() + 1
            }
        );
        assert_eq!(
            open(b"PK\x03\x04", &OFFICE_SECRET, &mut out)
                .unwrap_err()
                .class(),
            FailureClass::Header
        );
        assert_eq!(
            open(b"VTS", &OFFICE_SECRET, &mut out).unwrap_err().class(),
            FailureClass::Truncated
        );
        assert_eq!(
            open(&record, &OFFICE_SECRET, &mut out[..3]).unwrap_err(),
            OpenError::BodyBufferTooSmall {
                needed: 7,
                available: 3
            }
        );
    }

    #[test]
    fn sealing_refuses_bad_inputs() {
        let key = SessionKey::from_seed(&[7; 32]).unwrap();
        let office = office_public_key(&OFFICE_SECRET);
        let mut entropy = SeededEntropy::new([1; 32]);
        let mut out = [0u8; 512];
        assert_eq!(
            seal(&header(0), b"x", &office, &key, &mut entropy, &mut out),
            Err(SealError::ZeroGeneration)
        );
        assert_eq!(
            seal(&header(1), &[0; 300], &office, &key, &mut entropy, &mut out),
            Err(SealError::BufferTooSmall {
                needed: 563,
                available: 512
            })
        );
        // A low-order office key gives no shared secret.
        assert_eq!(
            seal(&header(1), b"x", &[0; 32], &key, &mut entropy, &mut out),
            Err(SealError::OfficeKeyRejected)
        );
        // A dead TRNG.
        assert_eq!(
            seal(
                &header(1),
                b"x",
                &office,
                &key,
                &mut FixedEntropy::new(&[]),
                &mut out
            ),
            Err(SealError::Entropy(EntropyError::Unavailable))
        );
        assert!(matches!(
            SessionKey::generate(&mut FixedEntropy::new(&[])),
            Err(SealError::Entropy(_))
        ));
        assert_eq!(SealError::OfficeKeyRejected.code(), 703);
    }

    #[test]
    fn sealing_is_deterministic_in_its_entropy_and_fresh_otherwise() {
        let key = SessionKey::from_seed(&[7; 32]).unwrap();
        let office = office_public_key(&OFFICE_SECRET);
        let run = |seed: u8| {
            let mut out = vec![0u8; sealed_len(5).unwrap()];
            seal(
                &header(1),
                b"hello",
                &office,
                &key,
                &mut SeededEntropy::new([seed; 32]),
                &mut out,
            )
            .unwrap();
            out
        };
        assert_eq!(run(1), run(1));
        let (a, b) = (run(1), run(2));
        assert_ne!(a[HEADER_BYTES..], b[HEADER_BYTES..]);
        assert_eq!(a[..HEADER_BYTES], b[..HEADER_BYTES]);
    }

    #[test]
    fn session_keys_differ_and_fingerprint_is_sha256_of_the_public_key() {
        let a = SessionKey::generate(&mut SeededEntropy::new([1; 32])).unwrap();
        let b = SessionKey::generate(&mut SeededEntropy::new([2; 32])).unwrap();
        assert_ne!(a.public_key(), b.public_key());
        let expected = digest::digest(&digest::SHA256, &a.public_key());
        assert_eq!(&a.fingerprint()[..], expected.as_ref());
        assert!(!std::format!("{a:?}").contains("seed"));
    }

    #[test]
    fn identifiers_are_checked() {
        assert_eq!(Identifier::new("bxl-0042").unwrap().as_str(), "bxl-0042");
        let bad = |s: &str| match Identifier::new(s) {
            Err(SealError::InvalidIdentifier { problem }) => problem,
            other => panic!("{s:?} gave {other:?}"),
        };
        assert_eq!(bad(""), IdentifierProblem::Empty);
        assert_eq!(bad(&"x".repeat(33)), IdentifierProblem::TooLong { len: 33 });
        assert_eq!(bad("a b"), IdentifierProblem::NotPrintable { position: 1 });
        let mut field = Identifier::new("abc").unwrap().encode_field();
        assert!(Identifier::decode(&field).is_ok());
        field[10] = 1;
        assert_eq!(
            Identifier::decode(&field),
            Err(IdentifierProblem::NonZeroPadding)
        );
        field[0] = 33;
        assert_eq!(
            Identifier::decode(&field),
            Err(IdentifierProblem::TooLong { len: 33 })
        );
    }

    #[test]
    fn header_rejects_unknown_values() {
        let wire = SealedHeader {
            record: header(9),
            session_public_key: [1; 32],
            body_len: 5,
        }
        .encode();
        let parse_with = |offset: usize, value: u8| {
            let mut w = wire;
            w[offset] = value;
            SealedHeader::parse(&w)
        };
        assert!(matches!(
            parse_with(0, b'X'),
            Err(OpenError::BadMagic { .. })
        ));
        assert_eq!(
            parse_with(6, 2),
            Err(OpenError::UnsupportedVersion { version: 2 })
        );
        assert_eq!(
            parse_with(146, 2),
            Err(OpenError::BadPollState { value: 2 })
        );
        assert_eq!(
            parse_with(150, 0x01),
            Err(OpenError::BodyTooLarge { len: 0x0100_0005 })
        );
        assert!(matches!(
            parse_with(42, b' '),
            Err(OpenError::BadIdentifier {
                field: HeaderField::StationId,
                ..
            })
        ));
        let mut zero = wire;
        zero[138..146].fill(0);
        assert_eq!(SealedHeader::parse(&zero), Err(OpenError::ZeroGeneration));
    }

    #[test]
    fn failure_class_labels_round_trip() {
        for class in FailureClass::ALL {
            assert_eq!(FailureClass::from_label(class.label()), Some(class));
        }
        assert_eq!(FailureClass::from_label("ok"), None);
    }

    fn arb_identifier() -> impl Strategy<Value = Identifier> {
        "[!-~]{1,32}".prop_map(|s| Identifier::new(&s).unwrap())
    }

    fn arb_header() -> impl Strategy<Value = SealedHeader> {
        (
            arb_identifier(),
            arb_identifier(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            1..=u64::MAX,
            any::<bool>(),
            0..=MAX_BODY_BYTES as u32,
        )
            .prop_map(
                |(
                    event_id,
                    station_id,
                    image_digest,
                    session_public_key,
                    generation,
                    closed,
                    body_len,
                )| {
                    SealedHeader {
                        record: RecordHeader {
                            event_id,
                            station_id,
                            image_digest,
                            generation,
                            state: if closed {
                                PollState::Closed
                            } else {
                                PollState::Open
                            },
                        },
                        session_public_key,
                        body_len,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn header_round_trips(h in arb_header()) {
            let wire = h.encode();
            prop_assert_eq!(SealedHeader::parse(&wire), Ok(h));
        }

        #[test]
        fn record_round_trips(
            body in proptest::collection::vec(any::<u8>(), 0..2048),
            seed in any::<[u8; 32]>(),
            office_secret in any::<[u8; 32]>(),
            h in arb_header(),
        ) {
            let key = SessionKey::from_seed(&seed).unwrap();
            let mut out = vec![0u8; sealed_len(body.len()).unwrap() + 7];
            let n = seal(
                &h.record,
                &body,
                &office_public_key(&office_secret),
                &key,
                &mut SeededEntropy::new(seed),
                &mut out,
            ).unwrap();
            let mut plain = vec![0u8; body.len()];
            let opened = open(&out[..n], &office_secret, &mut plain).unwrap();
            prop_assert_eq!(opened.body, &body[..]);
            prop_assert_eq!(opened.header.record, h.record);
            prop_assert_eq!(opened.header.session_public_key, key.public_key());
        }
    }
}
