//! The office side of the results media: open every session's sealed record, verify it,
//! decrypt it with the office key, recount it and check its counters.
//!
//! Formats: `docs/formats/sealed-record.md` (sealed record and media layout) and the record
//! body in `firmware::record`. The terminal and this module share the parsing code of the
//! `firmware` crate.
//!
//! * [`open_volume`] walks the claimed areas of a results media (one per boot session) and
//!   opens each area's newest valid record. It reports **every** area: a bad area is
//!   recorded in the [`MediaReport`] and the walk goes on. [`open_media`] does the same on
//!   a media image in memory and stops at the first bad area.
//! * [`verify_volume`] checks what can be checked without the office key (media layout,
//!   headers, session signatures, event and image binding), for a courier or observer.
//! * [`open_record`] and [`verify_record`] do the same for one sealed record.
//! * [`FileMedia`] reads a media image file sector by sector (read-only), so a large USB
//!   stick image is never loaded whole.
//!
//! Every failure names the area and has a [`RecordError::class`] label.

use firmware::election::Event;
use firmware::hal::{Media, MediaError, SECTOR_SIZE_BYTES};
use firmware::media::{Slot, SlotStatus, Superblock, Volume, VolumeError};
use firmware::record::{RecordBody, RecordError as BodyError};
use firmware::seal::{
    self, FailureClass, Identifier, OpenError, PollState, SealedHeader, DIGEST_BYTES,
    MAX_BODY_BYTES, SEAL_SIGNATURE_LABEL, SIGNATURE_BYTES,
};
use firmware::store::{BallotStore, StoreError};
use firmware::terminal::Counters;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Sectors per block that [`FileMedia`] reads and caches at once (4 KiB).
pub const FILE_BLOCK_SECTORS: u32 = 8;
/// Blocks [`FileMedia`] keeps before it drops its cache (2 MiB).
pub const FILE_CACHE_BLOCKS: usize = 512;

/// What the office expects the records to be bound to.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The election event (from the boot image's manifest); also gives the store's shape.
    pub event: &'a Event<'a>,
    /// The fingerprint of the boot image the office built for the event.
    pub image_digest: [u8; DIGEST_BYTES],
}

/// One session's newest record, verified, decrypted and recounted.
pub struct SessionRecord {
    /// The media area (0-based); `None` for a record opened on its own.
    pub area: Option<u32>,
    /// The slot the record was read from.
    pub slot: Option<Slot>,
    /// The record's generation.
    pub generation: u64,
    /// Open (the session never closed: power loss or a reboot) or closed.
    pub state: PollState,
    /// The polling station.
    pub station: String,
    /// The session's Ed25519 public key.
    pub session_public_key: [u8; 32],
    /// SHA-256 of the session public key, as on the paper opening report.
    pub session_fingerprint: [u8; DIGEST_BYTES],
    /// Counters of the terminal when the record was written.
    pub counters: Counters,
    /// The ballot store, loaded and recounted against its tallies.
    pub store: Box<BallotStore>,
    /// Slots of the area that hold a damaged (torn or corrupted) record, if any.
    pub damaged_slots: Vec<Slot>,
}

/// The session fingerprint as 16 groups of 4 hex digits.
fn fingerprint_text(fingerprint: &[u8; DIGEST_BYTES]) -> String {
    crate::fingerprint_groups(fingerprint).as_str().to_string()
}

impl SessionRecord {
    /// The session fingerprint as 16 groups of 4 hex digits.
    pub fn fingerprint_text(&self) -> String {
        fingerprint_text(&self.session_fingerprint)
    }

    /// Whether the newest record is still open (the session never closed).
    pub fn never_closed(&self) -> bool {
        self.state == PollState::Open
    }
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("area", &self.area)
            .field("generation", &self.generation)
            .field("state", &self.state)
            .field("counters", &self.counters)
            .field("fingerprint", &self.fingerprint_text())
            .finish_non_exhaustive()
    }
}

/// One session's newest record checked without the office key: header, exact length,
/// session signature, event and image binding. The body stays encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    /// The media area (0-based); `None` for a record checked on its own.
    pub area: Option<u32>,
    /// The slot the record was read from.
    pub slot: Option<Slot>,
    /// The record's generation.
    pub generation: u64,
    /// Open (the session never closed: power loss or a reboot) or closed.
    pub state: PollState,
    /// The polling station.
    pub station: String,
    /// The session's Ed25519 public key.
    pub session_public_key: [u8; 32],
    /// SHA-256 of the session public key, as on the paper opening report.
    pub session_fingerprint: [u8; DIGEST_BYTES],
    /// Bytes of the encrypted record body.
    pub body_len: usize,
}

impl VerifiedRecord {
    /// The session fingerprint as 16 groups of 4 hex digits.
    pub fn fingerprint_text(&self) -> String {
        fingerprint_text(&self.session_fingerprint)
    }
}

/// Why the records could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The media image is not readable results media (superblock, size).
    Media {
        /// The problem.
        error: VolumeError,
    },
    /// The media image is not a whole number of sectors.
    PartialSector {
        /// Bytes in the image.
        len: usize,
    },
    /// The sealed record of an area failed to open (header, length, signature, decryption,
    /// event or image).
    Open {
        /// The area, if read from media.
        area: Option<u32>,
        /// The problem.
        error: OpenError,
    },
    /// The slot's generation differs from the sealed record's.
    GenerationMismatch {
        /// The area.
        area: u32,
        /// Generation in the slot header.
        slot: u64,
        /// Generation in the sealed header.
        record: u64,
    },
    /// The record body is malformed, or its counters or recount disagree.
    Body {
        /// The area, if read from media.
        area: Option<u32>,
        /// The problem.
        error: BodyError,
    },
    /// The poll state in the body differs from the sealed header's.
    StateMismatch {
        /// The area, if read from media.
        area: Option<u32>,
    },
    /// The expected event's id is not a valid identifier (1..=32 printable ASCII bytes).
    InvalidEventId {
        /// The id given.
        id: String,
    },
    /// Two areas carry records of the same session key (one key per boot session).
    SessionKeyReused {
        /// The earlier area.
        first: u32,
        /// The later area.
        area: u32,
    },
    /// A record names another polling station than the media's superblock.
    StationMismatch {
        /// The area.
        area: u32,
        /// The station in the superblock.
        media: String,
        /// The station in the record.
        record: String,
    },
    /// A valid slot holds more bytes than any sealed record can have.
    RecordTooLarge {
        /// The area.
        area: u32,
        /// Bytes in the slot.
        len: usize,
    },
    /// The media image file could not be read.
    Unreadable {
        /// The system's reason.
        reason: String,
    },
}

impl RecordError {
    /// Every label [`RecordError::class`] returns.
    pub const CLASSES: [&'static str; 15] = [
        "media",
        "unreadable",
        "bad-header",
        "truncated",
        "trailing-bytes",
        "bad-signature",
        "decrypt-failure",
        "buffer-too-small",
        "wrong-event",
        "wrong-image",
        "wrong-station",
        "bad-body",
        "recount-mismatch",
        "session-key-reused",
        "bad-event",
    ];

    /// The failure class label: `media`, `unreadable`, `bad-header`, `truncated`,
    /// `trailing-bytes`, `bad-signature`, `decrypt-failure`, `wrong-event` (also media of
    /// another event), `wrong-image`, `wrong-station` (a record of another station than
    /// its media), `bad-body`, `recount-mismatch` (tallies or counters disagree with the
    /// ballots), `session-key-reused`, `bad-event` (the expected event id itself is
    /// invalid).
    pub fn class(&self) -> &'static str {
        match self {
            RecordError::Media {
                error: VolumeError::ForeignEvent { .. },
            } => FailureClass::WrongEvent.label(),
            RecordError::Media { .. } | RecordError::PartialSector { .. } => "media",
            RecordError::Unreadable { .. } => "unreadable",
            RecordError::Open { error, .. } => error.class().label(),
            RecordError::GenerationMismatch { .. }
            | RecordError::StateMismatch { .. }
            | RecordError::RecordTooLarge { .. } => FailureClass::Header.label(),
            RecordError::Body { error, .. } => match error {
                BodyError::CountersUnbalanced { .. }
                | BodyError::CastMismatch { .. }
                | BodyError::Store(StoreError::IntegrityFault { .. }) => "recount-mismatch",
                _ => "bad-body",
            },
            RecordError::SessionKeyReused { .. } => "session-key-reused",
            RecordError::StationMismatch { .. } => "wrong-station",
            RecordError::InvalidEventId { .. } => "bad-event",
        }
    }

    /// The area the failure is about, if it is about one.
    pub fn area(&self) -> Option<u32> {
        match self {
            RecordError::Open { area, .. }
            | RecordError::Body { area, .. }
            | RecordError::StateMismatch { area } => *area,
            RecordError::GenerationMismatch { area, .. }
            | RecordError::SessionKeyReused { area, .. }
            | RecordError::StationMismatch { area, .. }
            | RecordError::RecordTooLarge { area, .. } => Some(*area),
            RecordError::Media { .. }
            | RecordError::PartialSector { .. }
            | RecordError::InvalidEventId { .. }
            | RecordError::Unreadable { .. } => None,
        }
    }

    /// The reason without the class and area prefix.
    pub fn reason(&self) -> String {
        match self {
            RecordError::Media { error } => error.to_string(),
            RecordError::PartialSector { len } => {
                format!("media image of {len} bytes is not a multiple of {SECTOR_SIZE_BYTES}")
            }
            RecordError::Open { error, .. } => error.to_string(),
            RecordError::GenerationMismatch { slot, record, .. } => {
                format!("slot generation {slot} but record generation {record}")
            }
            RecordError::Body { error, .. } => error.to_string(),
            RecordError::StateMismatch { .. } => {
                "body poll state differs from the sealed header".to_string()
            }
            RecordError::InvalidEventId { id } => {
                format!("event id {id:?} is not a valid identifier")
            }
            RecordError::SessionKeyReused { first, area } => {
                format!("areas {first} and {area} carry the same session key")
            }
            RecordError::StationMismatch { media, record, .. } => {
                format!("record of station `{record}` on the media of station `{media}`")
            }
            RecordError::RecordTooLarge { len, .. } => format!(
                "slot holds {len} bytes, more than the largest sealed record ({})",
                largest_record_bytes()
            ),
            RecordError::Unreadable { reason } => reason.clone(),
        }
    }
}

fn area_text(area: &Option<u32>) -> String {
    match area {
        Some(a) => format!("area {a}"),
        None => "record".to_string(),
    }
}

impl fmt::Display for RecordError {
    /// `class: area N: reason` (or `class: reason` for a failure of the whole media).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = self.class();
        let reason = self.reason();
        match self {
            RecordError::Open { area, .. }
            | RecordError::Body { area, .. }
            | RecordError::StateMismatch { area } => {
                write!(f, "{class}: {}: {reason}", area_text(area))
            }
            _ => match self.area() {
                Some(area) => write!(f, "{class}: area {area}: {reason}"),
                None => write!(f, "{class}: {reason}"),
            },
        }
    }
}

impl std::error::Error for RecordError {}

/// The largest sealed record any terminal can write (a body of `MAX_BODY_BYTES`).
fn largest_record_bytes() -> usize {
    seal::sealed_len(MAX_BODY_BYTES).unwrap_or(usize::MAX)
}

/// A read-only view of a media image in memory as [`Media`]; writes are refused.
struct ImageMedia<'m> {
    bytes: &'m [u8],
}

impl Media for ImageMedia<'_> {
    fn sectors(&mut self) -> Result<u32, MediaError> {
        Ok(u32::try_from(self.bytes.len() / SECTOR_SIZE_BYTES).unwrap_or(u32::MAX))
    }

    fn read(&mut self, sector: u32, buf: &mut [u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        let sectors = self.sectors()?;
        let start = usize::try_from(sector)
            .ok()
            .and_then(|s| s.checked_mul(SECTOR_SIZE_BYTES));
        let data = start.and_then(|s| self.bytes.get(s..s.checked_add(SECTOR_SIZE_BYTES)?));
        match data {
            Some(d) => {
                buf.copy_from_slice(d);
                Ok(())
            }
            None => Err(MediaError::OutOfRange { sector, sectors }),
        }
    }

    fn write(&mut self, sector: u32, _data: &[u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        Err(MediaError::WriteFailed { sector })
    }

    fn flush(&mut self) -> Result<(), MediaError> {
        Ok(())
    }
}

/// A media image file, opened read-only and read in blocks of [`FILE_BLOCK_SECTORS`]
/// sectors as the media walk asks for them; writes are refused.
pub struct FileMedia {
    file: std::fs::File,
    sectors: u32,
    cache: HashMap<u32, Vec<u8>>,
    last_error: Option<String>,
}

impl fmt::Debug for FileMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileMedia")
            .field("sectors", &self.sectors)
            .finish_non_exhaustive()
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

impl FileMedia {
    /// Open `path` read-only. A file that is not a whole number of sectors, or a
    /// directory, is refused.
    pub fn open(path: &Path) -> Result<FileMedia, RecordError> {
        let unreadable = |e: &std::io::Error| RecordError::Unreadable {
            reason: io_reason(e),
        };
        let file = std::fs::File::open(path).map_err(|e| unreadable(&e))?;
        let metadata = file.metadata().map_err(|e| unreadable(&e))?;
        if !metadata.is_file() {
            return Err(RecordError::Unreadable {
                reason: "not a regular file".to_string(),
            });
        }
        let len = usize::try_from(metadata.len()).unwrap_or(usize::MAX);
        if len % SECTOR_SIZE_BYTES != 0 {
            return Err(RecordError::PartialSector { len });
        }
        Ok(FileMedia {
            file,
            sectors: u32::try_from(len / SECTOR_SIZE_BYTES).unwrap_or(u32::MAX),
            cache: HashMap::new(),
            last_error: None,
        })
    }

    /// The system's reason for the last failed read, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn load_block(&mut self, block: u32) -> std::io::Result<Vec<u8>> {
        let first = u64::from(block) * u64::from(FILE_BLOCK_SECTORS);
        let count = u64::from(self.sectors)
            .saturating_sub(first)
            .min(u64::from(FILE_BLOCK_SECTORS));
        let mut bytes = vec![0u8; usize::try_from(count).unwrap_or(0) * SECTOR_SIZE_BYTES];
        self.file
            .seek(SeekFrom::Start(first * SECTOR_SIZE_BYTES as u64))?;
        self.file.read_exact(&mut bytes)?;
        Ok(bytes)
    }
}

impl Media for FileMedia {
    fn sectors(&mut self) -> Result<u32, MediaError> {
        Ok(self.sectors)
    }

    fn read(&mut self, sector: u32, buf: &mut [u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        if sector >= self.sectors {
            return Err(MediaError::OutOfRange {
                sector,
                sectors: self.sectors,
            });
        }
        let block = sector / FILE_BLOCK_SECTORS;
        if !self.cache.contains_key(&block) {
            let bytes = self.load_block(block).map_err(|e| {
                self.last_error = Some(io_reason(&e));
                MediaError::ReadFailed { sector }
            })?;
            if self.cache.len() >= FILE_CACHE_BLOCKS {
                self.cache.clear();
            }
            self.cache.insert(block, bytes);
        }
        let offset = usize::try_from(sector % FILE_BLOCK_SECTORS).unwrap_or(0) * SECTOR_SIZE_BYTES;
        let data = self
            .cache
            .get(&block)
            .and_then(|b| b.get(offset..offset + SECTOR_SIZE_BYTES))
            .ok_or(MediaError::ReadFailed { sector })?;
        buf.copy_from_slice(data);
        Ok(())
    }

    fn write(&mut self, sector: u32, _data: &[u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        Err(MediaError::WriteFailed { sector })
    }

    fn flush(&mut self) -> Result<(), MediaError> {
        Ok(())
    }
}

/// Open one sealed record: header, length, signature, decryption, event and image, then
/// the body (counters balanced, `cast` ballots per election, store recounted).
pub fn open_record(
    bytes: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<SessionRecord, RecordError> {
    open_in(None, bytes, office_secret, expected)
}

fn event_identifier(expected: &Expected<'_>) -> Result<Identifier, RecordError> {
    Identifier::new(expected.event.id).map_err(|_| RecordError::InvalidEventId {
        id: expected.event.id.to_string(),
    })
}

fn open_in(
    area: Option<u32>,
    bytes: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<SessionRecord, RecordError> {
    let event_id = event_identifier(expected)?;
    let mut body = vec![0u8; bytes.len()];
    let result = open_into(area, bytes, office_secret, expected, &event_id, &mut body);
    // The body held the plaintext ballots.
    zeroize::Zeroize::zeroize(&mut body);
    result
}

fn open_into(
    area: Option<u32>,
    bytes: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
    event_id: &Identifier,
    body: &mut [u8],
) -> Result<SessionRecord, RecordError> {
    let open_err = |error| RecordError::Open { area, error };
    let body_err = |error| RecordError::Body { area, error };
    let opened = seal::open(bytes, office_secret, body).map_err(open_err)?;
    opened.expect_event(event_id).map_err(open_err)?;
    opened
        .expect_image(&expected.image_digest)
        .map_err(open_err)?;
    let header = opened.header;
    let decoded = RecordBody::decode(opened.body).map_err(body_err)?;
    if decoded.state != header.record.state {
        return Err(RecordError::StateMismatch { area });
    }
    let mut store = Box::new(BallotStore::new());
    decoded.load(expected.event, &mut store).map_err(body_err)?;
    Ok(SessionRecord {
        area,
        slot: None,
        generation: header.record.generation,
        state: header.record.state,
        station: header.record.station_id.as_str().to_string(),
        session_public_key: header.session_public_key,
        session_fingerprint: seal::fingerprint(&header.session_public_key),
        counters: decoded.counters,
        store,
        damaged_slots: Vec::new(),
    })
}

/// Check one sealed record without the office key: header, exact length (before any
/// cryptography), the session signature, then the event and image binding. This is the
/// order and the rules of `seal::open` up to decryption.
pub fn verify_record(bytes: &[u8], expected: &Expected<'_>) -> Result<VerifiedRecord, RecordError> {
    verify_in(None, bytes, expected)
}

fn verify_in(
    area: Option<u32>,
    bytes: &[u8],
    expected: &Expected<'_>,
) -> Result<VerifiedRecord, RecordError> {
    let event_id = event_identifier(expected)?;
    let open_err = |error| RecordError::Open { area, error };
    let header = SealedHeader::parse(bytes).map_err(open_err)?;
    let expected_len = header
        .record_len()
        .ok_or(open_err(OpenError::BodyTooLarge {
            len: header.body_len,
        }))?;
    if bytes.len() < expected_len {
        return Err(open_err(OpenError::Truncated {
            needed: expected_len,
            available: bytes.len(),
        }));
    }
    if bytes.len() > expected_len {
        return Err(open_err(OpenError::TrailingBytes {
            expected: expected_len,
            actual: bytes.len(),
        }));
    }
    let (signed, signature) = bytes
        .split_at_checked(expected_len.saturating_sub(SIGNATURE_BYTES))
        .ok_or(open_err(OpenError::Truncated {
            needed: expected_len,
            available: bytes.len(),
        }))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(SEAL_SIGNATURE_LABEL);
    digest.update(signed);
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, header.session_public_key)
        .verify(digest.finish().as_ref(), signature)
        .map_err(|_| open_err(OpenError::BadSignature))?;
    if header.record.event_id != event_id {
        return Err(open_err(OpenError::WrongEvent {
            expected: event_id,
            found: header.record.event_id,
        }));
    }
    if header.record.image_digest != expected.image_digest {
        return Err(open_err(OpenError::WrongImage {
            expected: expected.image_digest,
            found: header.record.image_digest,
        }));
    }
    Ok(VerifiedRecord {
        area,
        slot: None,
        generation: header.record.generation,
        state: header.record.state,
        station: header.record.station_id.as_str().to_string(),
        session_public_key: header.session_public_key,
        session_fingerprint: seal::fingerprint(&header.session_public_key),
        body_len: usize::try_from(header.body_len).unwrap_or(usize::MAX),
    })
}

/// What the walk found in one area.
#[derive(Debug)]
#[non_exhaustive]
pub enum AreaOutcome<T> {
    /// The area holds no completed record: a first write cut before its header landed
    /// (both slots empty or damaged), or an unused area between claimed ones.
    NoRecord,
    /// The newest valid record was accepted.
    Accepted(T),
    /// The newest valid record was refused (or the area could not be read).
    Failed(RecordError),
}

/// One claimed area of a media: both slots and the outcome of its newest record.
#[derive(Debug)]
pub struct AreaReport<T> {
    /// The area (0-based).
    pub area: u32,
    /// Slot A, then slot B, as the media walk found them (`None` if unreadable).
    pub slots: Option<[SlotStatus; 2]>,
    /// The outcome.
    pub outcome: AreaOutcome<T>,
}

impl<T> AreaReport<T> {
    /// The damaged slots: each with the generation its header states (untrusted).
    pub fn damaged_slots(&self) -> Vec<(Slot, u64)> {
        self.slots
            .map(|slots| {
                Slot::BOTH
                    .into_iter()
                    .zip(slots)
                    .filter_map(|(slot, status)| match status {
                        SlotStatus::Damaged { generation, .. } => Some((slot, generation)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether neither slot was ever written (an unused area between claimed ones).
    pub fn unused(&self) -> bool {
        self.slots
            .is_some_and(|slots| slots.iter().all(|s| !s.claimed()))
    }
}

/// Everything the walk found on one results media.
#[derive(Debug)]
pub struct MediaReport<T> {
    /// The media's superblock (its event and station binding).
    pub superblock: Superblock,
    /// Every area up to the last claimed one, in order.
    pub areas: Vec<AreaReport<T>>,
}

impl<T> MediaReport<T> {
    /// The same report with every accepted record turned into `f(record)` (for example a
    /// summary, so that the ballot stores are dropped early).
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> MediaReport<U> {
        MediaReport {
            superblock: self.superblock,
            areas: self
                .areas
                .into_iter()
                .map(|a| AreaReport {
                    area: a.area,
                    slots: a.slots,
                    outcome: match a.outcome {
                        AreaOutcome::NoRecord => AreaOutcome::NoRecord,
                        AreaOutcome::Accepted(record) => AreaOutcome::Accepted(f(record)),
                        AreaOutcome::Failed(error) => AreaOutcome::Failed(error),
                    },
                })
                .collect(),
        }
    }

    /// The polling station the media is bound to.
    pub fn station(&self) -> &str {
        self.superblock.station_id.as_str()
    }

    /// The accepted records, in area order.
    pub fn accepted(&self) -> impl Iterator<Item = &T> {
        self.areas.iter().filter_map(|a| match &a.outcome {
            AreaOutcome::Accepted(record) => Some(record),
            _ => None,
        })
    }

    /// The failures, in area order.
    pub fn failures(&self) -> impl Iterator<Item = &RecordError> {
        self.areas.iter().filter_map(|a| match &a.outcome {
            AreaOutcome::Failed(error) => Some(error),
            _ => None,
        })
    }
}

/// What the walk needs to know of an accepted record.
trait AreaRecordView {
    fn generation(&self) -> u64;
    fn session_public_key(&self) -> &[u8; 32];
    fn station(&self) -> &str;
    fn place(&mut self, slot: Slot, damaged: Vec<Slot>);
}

impl AreaRecordView for SessionRecord {
    fn generation(&self) -> u64 {
        self.generation
    }
    fn session_public_key(&self) -> &[u8; 32] {
        &self.session_public_key
    }
    fn station(&self) -> &str {
        &self.station
    }
    fn place(&mut self, slot: Slot, damaged: Vec<Slot>) {
        self.slot = Some(slot);
        self.damaged_slots = damaged;
    }
}

impl AreaRecordView for VerifiedRecord {
    fn generation(&self) -> u64 {
        self.generation
    }
    fn session_public_key(&self) -> &[u8; 32] {
        &self.session_public_key
    }
    fn station(&self) -> &str {
        &self.station
    }
    fn place(&mut self, slot: Slot, _damaged: Vec<Slot>) {
        self.slot = Some(slot);
    }
}

/// Mount the media, check its event, then check every claimed area with `accept`.
fn walk<M, T, F>(
    media: &mut M,
    expected: &Expected<'_>,
    mut accept: F,
) -> Result<MediaReport<T>, RecordError>
where
    M: Media + ?Sized,
    T: AreaRecordView,
    F: FnMut(u32, &[u8]) -> Result<T, RecordError>,
{
    let event_id = event_identifier(expected)?;
    let media_err = |error| RecordError::Media { error };
    let volume = Volume::mount(media).map_err(media_err)?;
    let superblock = *volume.superblock();
    if superblock.event_id != event_id {
        return Err(media_err(VolumeError::ForeignEvent {
            expected: event_id,
            found: superblock.event_id,
        }));
    }
    let claimed = volume.claimed_areas(media).map_err(media_err)?;
    let mut areas: Vec<AreaReport<T>> = Vec::new();
    let mut raw: Vec<u8> = Vec::new();
    for area in 0..claimed {
        let (slots, outcome) = match volume.inspect_area(media, area) {
            Err(error) => (None, AreaOutcome::Failed(media_err(error))),
            Ok(summary) => {
                let outcome = accept_area(
                    media,
                    &volume,
                    area,
                    &summary.slots,
                    &mut raw,
                    &areas,
                    &mut accept,
                );
                (Some(summary.slots), outcome)
            }
        };
        areas.push(AreaReport {
            area,
            slots,
            outcome,
        });
    }
    Ok(MediaReport { superblock, areas })
}

fn accept_area<M, T, F>(
    media: &mut M,
    volume: &Volume,
    area: u32,
    slots: &[SlotStatus; 2],
    raw: &mut Vec<u8>,
    earlier: &[AreaReport<T>],
    accept: &mut F,
) -> AreaOutcome<T>
where
    M: Media + ?Sized,
    T: AreaRecordView,
    F: FnMut(u32, &[u8]) -> Result<T, RecordError>,
{
    let largest = slots
        .iter()
        .filter_map(|s| match s {
            SlotStatus::Valid { len, .. } => Some(*len),
            _ => None,
        })
        .max();
    let Some(largest) = largest else {
        return AreaOutcome::NoRecord;
    };
    if largest > largest_record_bytes() {
        return AreaOutcome::Failed(RecordError::RecordTooLarge { area, len: largest });
    }
    if raw.len() < largest {
        raw.resize(largest, 0);
    }
    let found = match volume.read_area(media, area, raw) {
        Err(error) => return AreaOutcome::Failed(RecordError::Media { error }),
        Ok(None) => return AreaOutcome::NoRecord,
        Ok(Some(found)) => found,
    };
    let bytes = raw.get(..found.len).unwrap_or(&[]);
    let mut record = match accept(area, bytes) {
        Ok(record) => record,
        Err(error) => return AreaOutcome::Failed(error),
    };
    if record.generation() != found.generation {
        return AreaOutcome::Failed(RecordError::GenerationMismatch {
            area,
            slot: found.generation,
            record: record.generation(),
        });
    }
    let media_station = volume.superblock().station_id;
    if record.station() != media_station.as_str() {
        return AreaOutcome::Failed(RecordError::StationMismatch {
            area,
            media: media_station.as_str().to_string(),
            record: record.station().to_string(),
        });
    }
    let reused = earlier.iter().find(|a| match &a.outcome {
        AreaOutcome::Accepted(other) => other.session_public_key() == record.session_public_key(),
        _ => false,
    });
    if let Some(first) = reused {
        return AreaOutcome::Failed(RecordError::SessionKeyReused {
            first: first.area,
            area,
        });
    }
    let damaged = Slot::BOTH
        .into_iter()
        .zip(slots)
        .filter(|(_, s)| matches!(s, SlotStatus::Damaged { .. }))
        .map(|(slot, _)| slot)
        .collect();
    record.place(found.slot, damaged);
    AreaOutcome::Accepted(record)
}

/// Open every session on a results media: for each claimed area, the newest valid record
/// is verified, decrypted and recounted. Every area is reported, good or bad; only a media
/// that cannot be mounted (unreadable, foreign, damaged superblock) is an `Err`.
pub fn open_volume<M: Media + ?Sized>(
    media: &mut M,
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<MediaReport<SessionRecord>, RecordError> {
    walk(media, expected, |area, bytes| {
        open_in(Some(area), bytes, office_secret, expected)
    })
}

/// Check every session on a results media without the office key: layout, headers,
/// session signatures, event and image binding. Every area is reported, as by
/// [`open_volume`].
pub fn verify_volume<M: Media + ?Sized>(
    media: &mut M,
    expected: &Expected<'_>,
) -> Result<MediaReport<VerifiedRecord>, RecordError> {
    walk(media, expected, |area, bytes| {
        verify_in(Some(area), bytes, expected)
    })
}

/// [`open_volume`] on a media image in memory.
pub fn open_media_report(
    media: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<MediaReport<SessionRecord>, RecordError> {
    if media.len() % SECTOR_SIZE_BYTES != 0 {
        return Err(RecordError::PartialSector { len: media.len() });
    }
    open_volume(&mut ImageMedia { bytes: media }, office_secret, expected)
}

/// [`verify_volume`] on a media image in memory.
pub fn verify_media_report(
    media: &[u8],
    expected: &Expected<'_>,
) -> Result<MediaReport<VerifiedRecord>, RecordError> {
    if media.len() % SECTOR_SIZE_BYTES != 0 {
        return Err(RecordError::PartialSector { len: media.len() });
    }
    verify_volume(&mut ImageMedia { bytes: media }, expected)
}

/// Open every session on a results media image: for each claimed area, the newest valid
/// record is verified, decrypted and recounted. Areas without a completed record (a first
/// write cut before its header landed) are skipped. The first bad area is the error; use
/// [`open_media_report`] to see every area.
pub fn open_media(
    media: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<Vec<SessionRecord>, RecordError> {
    let report = open_media_report(media, office_secret, expected)?;
    let mut sessions = Vec::new();
    for area in report.areas {
        match area.outcome {
            AreaOutcome::Accepted(record) => sessions.push(record),
            AreaOutcome::Failed(error) => return Err(error),
            AreaOutcome::NoRecord => {}
        }
    }
    Ok(sessions)
}

/// Run `work` on every file of `files` on up to `jobs` threads (each thread takes the next
/// file when it is done with one), calling `done` after each file, for a progress display.
/// The results come back in the order of `files`.
pub fn each_file<T: Send>(
    files: &[PathBuf],
    jobs: NonZeroUsize,
    work: impl Fn(&Path) -> T + Sync,
    done: impl Fn() + Sync,
) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let threads = jobs.get().min(files.len()).max(1);
    let mut slots: Vec<Option<T>> = files.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(index) else {
                            break;
                        };
                        mine.push((index, work(file)));
                        done();
                    }
                    mine
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(mine) => {
                    for (index, result) in mine {
                        if let Some(slot) = slots.get_mut(index) {
                            *slot = Some(result);
                        }
                    }
                }
                // A panic in `work` is a bug: let it surface unchanged.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    slots.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmware::ballot::{CandidateSet, Choice, ListIndex};
    use firmware::hal::doubles::{RamMedia, SeededEntropy};
    use firmware::record::{max_body_len, RecordContent, RecordScratch, Recorder, RecorderSetup};

    include!("../fuzz/fuzz_targets/record_event.rs");

    /// Where the sealed record fuzz target's seeds live.
    fn seeds_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/sealed_record")
    }

    fn choice(event: &Event<'_>, election: usize, voter: usize) -> Choice {
        let e = &event.elections[election];
        match voter % 3 {
            0 => Choice::Blank,
            1 => Choice::List(ListIndex::new(voter % e.lists.len(), e).unwrap()),
            _ => {
                let count = e.lists[0].candidates.len();
                Choice::Preferences {
                    list: ListIndex::new(0, e).unwrap(),
                    candidates: CandidateSet::from_mask(0b101, count).unwrap(),
                }
            }
        }
    }

    /// A media image of two sessions (3 voters, power lost; 2 voters, closed) of the fuzz
    /// event, and the record body of the last record.
    fn generated() -> (Vec<u8>, Vec<u8>) {
        let event = fuzz_event();
        let mut empty = Box::new(BallotStore::new());
        empty.reset(event).unwrap();
        let capacity = seal::sealed_len(max_body_len(event, &empty).unwrap()).unwrap();
        let area_sectors = 2 * (1 + capacity.div_ceil(SECTOR_SIZE_BYTES));
        let mut data = vec![0u8; (1 + 2 * area_sectors) * SECTOR_SIZE_BYTES];
        let mut body = Vec::new();
        let setup = RecorderSetup {
            event,
            station: FUZZ_STATION,
            image_digest: FUZZ_IMAGE_DIGEST,
            office_public: seal::office_public_key(&FUZZ_OFFICE_SECRET),
        };
        let mut media = RamMedia::new(&mut data);
        for (session, voters, close) in [(0u8, 0..3, false), (1, 3..5, true)] {
            let mut entropy = SeededEntropy::new([0x40 + session; 32]);
            let mut store = Box::new(BallotStore::new());
            let mut scratch = Box::new(RecordScratch::new());
            store.reset(event).unwrap();
            let mut recorder = Recorder::open(&setup, &empty, &mut media, &mut entropy).unwrap();
            let mut counters = Counters::default();
            let mut states = vec![(PollState::Open, counters, 0)];
            for voter in voters {
                counters.activations += 1;
                counters.cast += 1;
                states.push((PollState::Open, counters, voter + 1));
            }
            if close {
                states.push((PollState::Closed, counters, states.len()));
            }
            let mut cast = 0;
            for (state, counters, _) in states {
                while usize::try_from(counters.cast).unwrap() > cast {
                    let choices: Vec<Choice> = (0..event.elections.len())
                        .map(|e| choice(event, e, cast))
                        .collect();
                    store.cast(event, &choices).unwrap();
                    cast += 1;
                }
                let content = RecordContent {
                    state,
                    counters,
                    store: &store,
                    event,
                };
                recorder
                    .write(&content, &mut scratch, &mut media, &mut entropy)
                    .unwrap();
                let mut out = vec![0u8; firmware::record::MAX_RECORD_BODY_BYTES];
                body = RecordBody::encode(state, counters, &store, event, &mut out)
                    .unwrap()
                    .to_vec();
            }
        }
        (data, body)
    }

    #[test]
    fn fuzz_seeds_match_the_generator() {
        let (media, body) = generated();
        let expected = Expected {
            event: fuzz_event(),
            image_digest: FUZZ_IMAGE_DIGEST,
        };
        let sessions = open_media(&media, &FUZZ_OFFICE_SECRET, &expected).unwrap();
        assert_eq!(sessions.len(), 2);
        assert!(sessions[0].never_closed());
        assert_eq!(sessions[1].counters.cast, 2);
        let dir = seeds_dir();
        let files = [("media.img", &media), ("body.bin", &body)];
        if std::env::var_os("UPDATE_FUZZ_SEEDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        for (name, bytes) in files {
            let committed = std::fs::read(dir.join(name)).unwrap_or_default();
            assert!(
                committed == *bytes,
                "{name} differs from the generator: UPDATE_FUZZ_SEEDS=1 cargo test -p \
                 boot-image --lib fuzz_seeds"
            );
        }
    }

    #[test]
    fn every_area_is_reported_and_bad_ones_do_not_stop_the_walk() {
        let (mut media, _) = generated();
        let expected = Expected {
            event: fuzz_event(),
            image_digest: FUZZ_IMAGE_DIGEST,
        };
        // Break area 0's newest record and re-checksum its slot: a bad seal, valid layout.
        let superblock = Volume::mount(&mut ImageMedia { bytes: &media })
            .unwrap()
            .superblock()
            .to_owned();
        let slot_sectors = superblock.record_sectors as usize + 1;
        let generation = |media: &[u8], slot: usize| {
            let at = (1 + slot * slot_sectors) * SECTOR_SIZE_BYTES + 29;
            u64::from_le_bytes(media[at..at + 8].try_into().unwrap())
        };
        let slot = usize::from(generation(&media, 1) > generation(&media, 0));
        let header = (1 + slot * slot_sectors) * SECTOR_SIZE_BYTES;
        let len = u32::from_le_bytes(media[header + 37..header + 41].try_into().unwrap()) as usize;
        let record = header + SECTOR_SIZE_BYTES;
        media[record + len - 1] ^= 0x80;
        let sum = firmware::media::slot_checksum(
            &media[header..header + 41],
            &media[record..record + len],
        );
        media[header + 41..header + 49].copy_from_slice(&sum);

        let report = open_media_report(&media, &FUZZ_OFFICE_SECRET, &expected).unwrap();
        assert_eq!(report.areas.len(), 2);
        assert_eq!(report.station(), FUZZ_STATION);
        let classes: Vec<&str> = report.failures().map(RecordError::class).collect();
        assert_eq!(classes, ["bad-signature"]);
        assert_eq!(report.accepted().count(), 1);
        assert_eq!(report.accepted().next().unwrap().area, Some(1));
        // The first-failure view still stops at it.
        let err = open_media(&media, &FUZZ_OFFICE_SECRET, &expected).unwrap_err();
        assert_eq!((err.class(), err.area()), ("bad-signature", Some(0)));
        assert_eq!(
            err.to_string(),
            "bad-signature: area 0: sealed record: session signature does not verify"
        );
        // Without the office key the same area fails, the other verifies.
        let report = verify_media_report(&media, &expected).unwrap();
        assert_eq!(report.failures().count(), 1);
        assert_eq!(report.accepted().next().unwrap().generation, 4);
        // Mapping keeps the areas and outcomes.
        let report = open_media_report(&media, &FUZZ_OFFICE_SECRET, &expected)
            .unwrap()
            .map(|s| s.counters.cast);
        assert!(matches!(report.areas[1].outcome, AreaOutcome::Accepted(2)));
        assert!(matches!(report.areas[0].outcome, AreaOutcome::Failed(_)));
    }

    #[test]
    fn verify_record_agrees_with_open_on_every_bit_flip() {
        let (media, _) = generated();
        let expected = Expected {
            event: fuzz_event(),
            image_digest: FUZZ_IMAGE_DIGEST,
        };
        let volume = Volume::mount(&mut ImageMedia { bytes: &media }).unwrap();
        let mut raw = vec![0u8; volume.superblock().slot_capacity_bytes()];
        let found = volume
            .read_area(&mut ImageMedia { bytes: &media }, 1, &mut raw)
            .unwrap()
            .unwrap();
        let record = &raw[..found.len];
        let ok = verify_record(record, &expected).unwrap();
        assert_eq!(ok.station, FUZZ_STATION);
        assert_eq!(ok.state, PollState::Closed);
        let mut flipped = record.to_vec();
        let mut body = vec![0u8; record.len()];
        for bit in 0..record.len() * 8 {
            flipped[bit / 8] ^= 1 << (bit % 8);
            let verified = verify_record(&flipped, &expected).map(|_| ());
            let opened = seal::open(&flipped, &FUZZ_OFFICE_SECRET, &mut body).map(|_| ());
            // Without the key, a flip is caught as the same class, before decryption.
            let class = verified.unwrap_err().class();
            let open_class = opened.map_err(|e| e.class().label()).unwrap_err();
            assert_eq!(class, open_class, "bit {bit}");
            flipped[bit / 8] ^= 1 << (bit % 8);
        }
        let wrong_event = Expected {
            event: fuzz_event(),
            image_digest: [0; 32],
        };
        assert_eq!(
            verify_record(record, &wrong_event).unwrap_err().class(),
            "wrong-image"
        );
    }

    #[test]
    fn file_media_reads_what_memory_holds() {
        let (media, _) = generated();
        let dir = std::env::temp_dir().join(format!("records-file-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("media.img");
        std::fs::write(&path, &media).unwrap();
        let mut file = FileMedia::open(&path).unwrap();
        let sectors = u32::try_from(media.len() / SECTOR_SIZE_BYTES).unwrap();
        assert_eq!(file.sectors(), Ok(sectors));
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        // Backwards, so every block is read on a miss and the last, short block too.
        for s in (0..sectors).rev() {
            file.read(s, &mut sector).unwrap();
            let at = s as usize * SECTOR_SIZE_BYTES;
            assert_eq!(
                &sector[..],
                &media[at..at + SECTOR_SIZE_BYTES],
                "sector {s}"
            );
        }
        assert_eq!(
            file.read(sectors, &mut sector),
            Err(MediaError::OutOfRange {
                sector: sectors,
                sectors
            })
        );
        assert!(file.write(0, &sector).is_err(), "read-only");
        let expected = Expected {
            event: fuzz_event(),
            image_digest: FUZZ_IMAGE_DIGEST,
        };
        let report = open_volume(&mut file, &FUZZ_OFFICE_SECRET, &expected).unwrap();
        assert_eq!(report.accepted().count(), 2);

        std::fs::write(dir.join("odd.img"), &media[..1000]).unwrap();
        let err = FileMedia::open(&dir.join("odd.img")).unwrap_err();
        assert_eq!(err, RecordError::PartialSector { len: 1000 });
        let err = FileMedia::open(&dir.join("none.img")).unwrap_err();
        assert_eq!(err.class(), "unreadable");
        assert_eq!(err.reason(), "no such file");
        assert_eq!(FileMedia::open(&dir).unwrap_err().class(), "unreadable");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_file_keeps_the_order_on_any_number_of_threads() {
        let files: Vec<PathBuf> = (0..37).map(|i| PathBuf::from(format!("f{i}"))).collect();
        let done = AtomicUsize::new(0);
        for jobs in [1, 2, 3, 64] {
            done.store(0, Ordering::Relaxed);
            let names = each_file(
                &files,
                NonZeroUsize::new(jobs).unwrap(),
                |p| p.display().to_string(),
                || {
                    done.fetch_add(1, Ordering::Relaxed);
                },
            );
            let want: Vec<String> = (0..37).map(|i| format!("f{i}")).collect();
            assert_eq!(names, want, "{jobs} jobs");
            assert_eq!(done.load(Ordering::Relaxed), 37);
        }
        assert!(each_file(&[], NonZeroUsize::MIN, |_| (), || {}).is_empty());
    }

    #[test]
    fn every_class_is_listed() {
        let area = Some(0);
        let errors = [
            RecordError::Media {
                error: VolumeError::Blank,
            },
            RecordError::PartialSector { len: 3 },
            RecordError::Unreadable { reason: "x".into() },
            RecordError::Open {
                area,
                error: OpenError::BadSignature,
            },
            RecordError::Open {
                area,
                error: OpenError::BodyBufferTooSmall {
                    needed: 2,
                    available: 1,
                },
            },
            RecordError::GenerationMismatch {
                area: 0,
                slot: 1,
                record: 2,
            },
            RecordError::Body {
                area,
                error: BodyError::BadMagic,
            },
            RecordError::Body {
                area,
                error: BodyError::CastMismatch {
                    election: 0,
                    stored: 1,
                    cast: 2,
                },
            },
            RecordError::StateMismatch { area },
            RecordError::InvalidEventId { id: String::new() },
            RecordError::SessionKeyReused { first: 0, area: 1 },
            RecordError::StationMismatch {
                area: 1,
                media: "a".into(),
                record: "b".into(),
            },
            RecordError::RecordTooLarge { area: 0, len: 1 },
        ];
        for error in &errors {
            assert!(RecordError::CLASSES.contains(&error.class()), "{error}");
            assert!(error.to_string().starts_with(error.class()), "{error}");
            assert!(error.to_string().ends_with(&error.reason()), "{error}");
        }
    }
}
