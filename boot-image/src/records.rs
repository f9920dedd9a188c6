//! The office side of the results media: open every session's sealed record, verify it,
//! decrypt it with the office key, recount it and check its counters.
//!
//! Formats: `docs/formats/sealed-record.md` (sealed record and media layout) and the record
//! body in `firmware::record`. The terminal and this module share the parsing code of the
//! `firmware` crate.
//!
//! [`open_media`] walks the claimed areas of a media image (one per boot session) and opens
//! each area's newest valid record; [`open_record`] opens one sealed record. Every failure
//! names the area and has a [`RecordError::class`] label.

use firmware::election::Event;
use firmware::hal::{Media, MediaError, SECTOR_SIZE_BYTES};
use firmware::media::{Slot, SlotStatus, Volume, VolumeError};
use firmware::record::{RecordBody, RecordError as BodyError};
use firmware::seal::{self, FailureClass, Identifier, OpenError, PollState, DIGEST_BYTES};
use firmware::store::{BallotStore, StoreError};
use firmware::terminal::Counters;
use std::fmt;

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

impl SessionRecord {
    /// The session fingerprint as 16 groups of 4 hex digits.
    pub fn fingerprint_text(&self) -> String {
        let hex: String = self
            .session_fingerprint
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        hex.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
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
}

impl RecordError {
    /// The failure class label: `media`, `bad-header`, `truncated`, `trailing-bytes`,
    /// `bad-signature`, `decrypt-failure`, `wrong-event`, `wrong-image`, `bad-body`,
    /// `recount-mismatch` (tallies or counters disagree with the ballots), `session-key-reused`,
    /// `bad-event` (the expected event id itself is invalid).
    pub fn class(&self) -> &'static str {
        match self {
            RecordError::Media { .. } | RecordError::PartialSector { .. } => "media",
            RecordError::Open { error, .. } => error.class().label(),
            RecordError::GenerationMismatch { .. } | RecordError::StateMismatch { .. } => {
                FailureClass::Header.label()
            }
            RecordError::Body { error, .. } => match error {
                BodyError::CountersUnbalanced { .. }
                | BodyError::CastMismatch { .. }
                | BodyError::Store(StoreError::IntegrityFault { .. }) => "recount-mismatch",
                _ => "bad-body",
            },
            RecordError::SessionKeyReused { .. } => "session-key-reused",
            RecordError::InvalidEventId { .. } => "bad-event",
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = self.class();
        match self {
            RecordError::Media { error } => write!(f, "{class}: results media: {error}"),
            RecordError::PartialSector { len } => write!(
                f,
                "{class}: media image of {len} bytes is not a multiple of {SECTOR_SIZE_BYTES}"
            ),
            RecordError::Open { area, error } => {
                write!(f, "{class}: {}: {error}", area_text(area))
            }
            RecordError::GenerationMismatch { area, slot, record } => write!(
                f,
                "{class}: area {area}: slot generation {slot} but record generation {record}"
            ),
            RecordError::Body { area, error } => {
                write!(f, "{class}: {}: {error}", area_text(area))
            }
            RecordError::StateMismatch { area } => write!(
                f,
                "{class}: {}: body poll state differs from the sealed header",
                area_text(area)
            ),
            RecordError::InvalidEventId { id } => {
                write!(f, "{class}: event id {id:?} is not a valid identifier")
            }
            RecordError::SessionKeyReused { first, area } => write!(
                f,
                "{class}: areas {first} and {area} carry the same session key"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// A read-only view of a media image as [`Media`]; writes are refused.
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

/// Open one sealed record: header, length, signature, decryption, event and image, then
/// the body (counters balanced, `cast` ballots per election, store recounted).
pub fn open_record(
    bytes: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<SessionRecord, RecordError> {
    open_in(None, bytes, office_secret, expected)
}

fn open_in(
    area: Option<u32>,
    bytes: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<SessionRecord, RecordError> {
    let event_id = Identifier::new(expected.event.id).map_err(|_| RecordError::InvalidEventId {
        id: expected.event.id.to_string(),
    })?;
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

/// Open every session on a results media image: for each claimed area, the newest valid
/// record is verified, decrypted and recounted. Areas without a completed record (a first
/// write cut before its header landed) are skipped. The first failure stops the walk.
pub fn open_media(
    media: &[u8],
    office_secret: &[u8; 32],
    expected: &Expected<'_>,
) -> Result<Vec<SessionRecord>, RecordError> {
    if media.len() % SECTOR_SIZE_BYTES != 0 {
        return Err(RecordError::PartialSector { len: media.len() });
    }
    let mut image = ImageMedia { bytes: media };
    let media_err = |error| RecordError::Media { error };
    let volume = Volume::mount(&mut image).map_err(media_err)?;
    let areas = volume.claimed_areas(&mut image).map_err(media_err)?;
    let mut raw = vec![0u8; volume.superblock().slot_capacity_bytes()];
    let mut sessions: Vec<SessionRecord> = Vec::new();
    for area in 0..areas {
        let summary = volume.inspect_area(&mut image, area).map_err(media_err)?;
        let damaged: Vec<Slot> = Slot::BOTH
            .into_iter()
            .zip(summary.slots)
            .filter(|(_, s)| matches!(s, SlotStatus::Damaged { .. }))
            .map(|(slot, _)| slot)
            .collect();
        let Some(found) = volume
            .read_area(&mut image, area, &mut raw)
            .map_err(media_err)?
        else {
            continue;
        };
        let bytes = raw.get(..found.len).unwrap_or(&[]);
        let mut record = open_in(Some(area), bytes, office_secret, expected)?;
        if record.generation != found.generation {
            return Err(RecordError::GenerationMismatch {
                area,
                slot: found.generation,
                record: record.generation,
            });
        }
        if let Some(first) = sessions
            .iter()
            .find(|s| s.session_public_key == record.session_public_key)
        {
            return Err(RecordError::SessionKeyReused {
                first: first.area.unwrap_or(0),
                area,
            });
        }
        record.slot = Some(found.slot);
        record.damaged_slots = damaged;
        sessions.push(record);
    }
    Ok(sessions)
}
