//! The layout of the removable results media: a superblock bound to the election event
//! and polling station, then one *area* per boot session, each with two *slots* (A/B)
//! that are written alternately.
//!
//! ```text
//! sector 0                      superblock
//! sector 1 ..                   area 0: slot A (header sector + record sectors),
//!                                       slot B (header sector + record sectors)
//! sector 1 + area_sectors ..    area 1: ...
//! ```
//!
//! **Commit rule.** A record write puts the record sectors of the *inactive* slot first, its
//! header sector last, then flushes. A slot is *valid* when its header names this media,
//! area and slot and the CRC-64 checksum over [`SLOT_LABEL`], the header fields and the
//! record matches (see [`slot_checksum`]). An area's current record is its valid slot with the highest generation.
//! The write is complete when the flush returns `Ok`; until then the other slot still holds
//! the previous generation, untouched. A power cut at any byte therefore leaves either the
//! previous generation or (if every sector landed) the new one.
//!
//! **Sessions never overwrite each other.** A new session takes the area after the last
//! *claimed* area (one with any slot header of this media, valid or not). An area holds a
//! valid record only after a completed write, so nothing acknowledged is ever overwritten.
//!
//! The format is specified in `docs/formats/sealed-record.md` (section "Media layout").
//! Records are opaque bytes here (sealed records in practice, see [`crate::seal`]).

use crate::hal::{Entropy, EntropyError, Media, MediaError, SECTOR_SIZE_BYTES};
use crate::seal::{Identifier, Reader, Writer, IDENTIFIER_FIELD_BYTES};
use core::fmt;
use ring::digest;

/// Magic at the start of the superblock ("voting terminal disk").
pub const MEDIA_MAGIC: [u8; 6] = *b"VTDISK";
/// Superblock format version.
pub const MEDIA_VERSION: u16 = 1;
/// Magic at the start of a slot header sector.
pub const SLOT_MAGIC: [u8; 6] = *b"VTSLOT";
/// Slot header format version (2: the slot checksum is CRC-64/XZ; version 1 used SHA-256).
pub const SLOT_VERSION: u16 = 2;
/// Label hashed before the superblock fields into the superblock checksum.
pub const SUPERBLOCK_LABEL: &[u8] = b"voting-terminal/v1/media-superblock";
/// Label checksummed before the slot header fields and the record into the slot checksum.
pub const SLOT_LABEL: &[u8] = b"voting-terminal/v1/media-slot";
/// The superblock's sector.
pub const SUPERBLOCK_SECTOR: u32 = 0;
/// The first sector of area 0.
pub const FIRST_AREA_SECTOR: u32 = 1;
/// Slots per area (A and B).
pub const SLOTS_PER_AREA: u32 = 2;
/// Most areas (boot sessions) one media holds; bounds the scan at poll opening to
/// `2 * MAX_AREAS` sector reads.
pub const MAX_AREAS: u32 = 64;
/// Bytes of the random media id written at initialisation.
pub const MEDIA_ID_BYTES: usize = 16;
/// Bytes of the superblock checksum (SHA-256).
pub const SUPERBLOCK_CHECKSUM_BYTES: usize = 32;
/// Bytes of the slot checksum (CRC-64/XZ, little-endian).
pub const SLOT_CHECKSUM_BYTES: usize = 8;

/// Superblock bytes covered by its checksum (the fields before the checksum).
const SUPERBLOCK_FIELDS_BYTES: usize = MEDIA_MAGIC.len()
    + 2 // version
    + MEDIA_ID_BYTES
    + IDENTIFIER_FIELD_BYTES // event id
    + IDENTIFIER_FIELD_BYTES // station id
    + 2 // sector size
    + 4 // record sectors per slot
    + 4; // area count
/// Slot header bytes covered by its checksum (the fields before the checksum).
const SLOT_FIELDS_BYTES: usize = SLOT_MAGIC.len()
    + 2 // version
    + MEDIA_ID_BYTES
    + 4 // area
    + 1 // slot
    + 8 // generation
    + 4; // record length

const _: () = assert!(SUPERBLOCK_FIELDS_BYTES == 100);
const _: () = assert!(SLOT_FIELDS_BYTES == 41);
const _: () = assert!(SUPERBLOCK_FIELDS_BYTES + SUPERBLOCK_CHECKSUM_BYTES <= SECTOR_SIZE_BYTES);

/// The sector size as written in the superblock.
const SECTOR_SIZE_FIELD: u16 = 512;
const _: () = assert!(SECTOR_SIZE_FIELD as usize == SECTOR_SIZE_BYTES);

/// One sector.
type Sector = [u8; SECTOR_SIZE_BYTES];

// ---------------------------------------------------------------------------------------------
// Errors

/// Errors of the results media layout. Each maps to a stable code ([`VolumeError::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolumeError {
    /// No media is inserted.
    Missing,
    /// The media is blank (sector 0 all zero or all 0xFF) and was not initialised.
    Blank,
    /// Sector 0 holds something that is not a results media superblock.
    Unrecognised,
    /// The superblock has a version this firmware does not know.
    UnsupportedVersion {
        /// Version found.
        version: u16,
    },
    /// The superblock is damaged.
    CorruptSuperblock {
        /// Field that is wrong (as in the format spec).
        field: &'static str,
    },
    /// The media belongs to another election event.
    ForeignEvent {
        /// Event id of this terminal.
        expected: Identifier,
        /// Event id on the media.
        found: Identifier,
    },
    /// The media belongs to another polling station.
    ForeignStation {
        /// Station id of this terminal.
        expected: Identifier,
        /// Station id on the media.
        found: Identifier,
    },
    /// The media has too few sectors.
    TooSmall {
        /// Sectors on the media.
        sectors: u32,
        /// Sectors needed.
        needed: u32,
    },
    /// The media's slots are smaller than the records this terminal may write.
    SlotTooSmall {
        /// Bytes a slot holds.
        capacity: usize,
        /// Bytes needed.
        needed: usize,
    },
    /// Every area is taken: no room for another session.
    Full {
        /// Areas on the media.
        areas: u32,
    },
    /// The record is larger than a slot.
    RecordTooLarge {
        /// Record bytes.
        len: usize,
        /// Slot capacity in bytes.
        capacity: usize,
    },
    /// The record is empty.
    EmptyRecord,
    /// The generation does not increase over the area's current one.
    GenerationNotIncreasing {
        /// Generation given.
        generation: u64,
        /// Generation of the current record.
        current: u64,
    },
    /// The superblock changed since the session started (media swapped).
    MediaChanged,
    /// An area index beyond the media's areas.
    AreaOutOfRange {
        /// Area asked for.
        area: u32,
        /// Areas on the media.
        areas: u32,
    },
    /// The caller's record buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A sector could not be read.
    ReadFailed {
        /// Sector.
        sector: u32,
    },
    /// A sector could not be written.
    WriteFailed {
        /// Sector.
        sector: u32,
    },
    /// A sector beyond the end of the media was addressed.
    OutOfRange {
        /// Sector.
        sector: u32,
        /// Sectors on the media.
        sectors: u32,
    },
    /// Power was lost during a write.
    PowerLost,
    /// No entropy for the media id.
    Entropy(EntropyError),
    /// A sector read back differs from what was just written.
    VerifyFailed {
        /// Sector.
        sector: u32,
    },
}

impl VolumeError {
    /// Stable code shown on screen and in reports (6xx: results media).
    pub const fn code(&self) -> u16 {
        match self {
            VolumeError::Missing => 601,
            VolumeError::Blank => 602,
            VolumeError::Unrecognised => 603,
            VolumeError::UnsupportedVersion { .. } => 604,
            VolumeError::CorruptSuperblock { .. } => 605,
            VolumeError::ForeignEvent { .. } => 606,
            VolumeError::ForeignStation { .. } => 607,
            VolumeError::TooSmall { .. } => 608,
            VolumeError::SlotTooSmall { .. } => 609,
            VolumeError::Full { .. } => 610,
            VolumeError::RecordTooLarge { .. } => 611,
            VolumeError::EmptyRecord => 612,
            VolumeError::GenerationNotIncreasing { .. } => 613,
            VolumeError::MediaChanged => 614,
            VolumeError::AreaOutOfRange { .. } => 615,
            VolumeError::BufferTooSmall { .. } => 616,
            VolumeError::ReadFailed { .. } => 617,
            VolumeError::WriteFailed { .. } => 618,
            VolumeError::OutOfRange { .. } => 619,
            VolumeError::PowerLost => 620,
            VolumeError::Entropy(_) => 621,
            VolumeError::VerifyFailed { .. } => 622,
        }
    }
}

impl From<MediaError> for VolumeError {
    fn from(e: MediaError) -> VolumeError {
        match e {
            MediaError::Missing => VolumeError::Missing,
            MediaError::OutOfRange { sector, sectors } => {
                VolumeError::OutOfRange { sector, sectors }
            }
            MediaError::ReadFailed { sector } => VolumeError::ReadFailed { sector },
            MediaError::WriteFailed { sector } => VolumeError::WriteFailed { sector },
            MediaError::PowerLost => VolumeError::PowerLost,
        }
    }
}

impl From<EntropyError> for VolumeError {
    fn from(e: EntropyError) -> VolumeError {
        VolumeError::Entropy(e)
    }
}

impl fmt::Display for VolumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VolumeError::Missing => f.write_str("results media: not inserted"),
            VolumeError::Blank => f.write_str("results media: blank (not initialised)"),
            VolumeError::Unrecognised => {
                f.write_str("results media: sector 0 is not a results media superblock")
            }
            VolumeError::UnsupportedVersion { version } => write!(
                f,
                "results media: superblock version {version} unsupported (expected {MEDIA_VERSION})"
            ),
            VolumeError::CorruptSuperblock { field } => {
                write!(f, "results media: superblock field {field} is damaged")
            }
            VolumeError::ForeignEvent { expected, found } => write!(
                f,
                "results media: belongs to event `{}`, this terminal runs `{}`",
                found.as_str(),
                expected.as_str()
            ),
            VolumeError::ForeignStation { expected, found } => write!(
                f,
                "results media: belongs to station `{}`, this terminal is `{}`",
                found.as_str(),
                expected.as_str()
            ),
            VolumeError::TooSmall { sectors, needed } => write!(
                f,
                "results media: {sectors} sectors, needs at least {needed}"
            ),
            VolumeError::SlotTooSmall { capacity, needed } => write!(
                f,
                "results media: slots hold {capacity} bytes, records need {needed}"
            ),
            VolumeError::Full { areas } => {
                write!(f, "results media: full, all {areas} session areas are used")
            }
            VolumeError::RecordTooLarge { len, capacity } => write!(
                f,
                "results media: record of {len} bytes exceeds the slot capacity of {capacity}"
            ),
            VolumeError::EmptyRecord => f.write_str("results media: empty record"),
            VolumeError::GenerationNotIncreasing {
                generation,
                current,
            } => write!(
                f,
                "results media: generation {generation} does not follow current {current}"
            ),
            VolumeError::MediaChanged => {
                f.write_str("results media: superblock changed (media swapped?)")
            }
            VolumeError::AreaOutOfRange { area, areas } => {
                write!(f, "results media: area {area} out of range ({areas} areas)")
            }
            VolumeError::BufferTooSmall { needed, available } => write!(
                f,
                "results media: buffer of {available} bytes, record needs {needed}"
            ),
            VolumeError::ReadFailed { sector } => {
                write!(f, "results media: read of sector {sector} failed")
            }
            VolumeError::WriteFailed { sector } => {
                write!(f, "results media: write of sector {sector} failed")
            }
            VolumeError::OutOfRange { sector, sectors } => write!(
                f,
                "results media: sector {sector} beyond the end ({sectors} sectors)"
            ),
            VolumeError::PowerLost => f.write_str("results media: power lost during a write"),
            VolumeError::Entropy(e) => write!(f, "results media: no media id ({e})"),
            VolumeError::VerifyFailed { sector } => write!(
                f,
                "results media: sector {sector} read back differs from what was written"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Superblock

/// What the terminal binds the media to: the event and the polling station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The election event (from the boot image's manifest).
    pub event_id: Identifier,
    /// The polling station.
    pub station_id: Identifier,
}

/// The superblock (sector 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    /// Random id drawn at initialisation; every slot header repeats it.
    pub media_id: [u8; MEDIA_ID_BYTES],
    /// The election event.
    pub event_id: Identifier,
    /// The polling station.
    pub station_id: Identifier,
    /// Record sectors per slot (the slot header sector not included).
    pub record_sectors: u32,
    /// Areas on the media (at most [`MAX_AREAS`]).
    pub area_count: u32,
}

/// What sector 0 holds.
enum SectorZero {
    Blank,
    Ours(Superblock),
}

impl Superblock {
    /// Bytes a slot holds.
    pub fn slot_capacity_bytes(&self) -> usize {
        usize::try_from(self.record_sectors)
            .unwrap_or(usize::MAX)
            .saturating_mul(SECTOR_SIZE_BYTES)
    }

    /// Sectors per slot: the header sector plus the record sectors.
    pub fn slot_sectors(&self) -> Option<u32> {
        self.record_sectors.checked_add(1)
    }

    /// Sectors per area.
    pub fn area_sectors(&self) -> Option<u32> {
        self.slot_sectors()?.checked_mul(SLOTS_PER_AREA)
    }

    /// Sectors the layout covers (superblock and every area).
    pub fn sectors_needed(&self) -> Option<u32> {
        self.area_sectors()?
            .checked_mul(self.area_count)?
            .checked_add(FIRST_AREA_SECTOR)
    }

    /// First sector (the header sector) of `slot` in `area`.
    fn slot_start(&self, area: u32, slot: Slot) -> Option<u32> {
        let area_start = self
            .area_sectors()?
            .checked_mul(area)?
            .checked_add(FIRST_AREA_SECTOR)?;
        self.slot_sectors()?
            .checked_mul(slot.index())?
            .checked_add(area_start)
    }

    /// The sector bytes.
    pub fn encode(&self) -> [u8; SECTOR_SIZE_BYTES] {
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        let mut fields = [0u8; SUPERBLOCK_FIELDS_BYTES];
        let mut w = Writer::new(&mut fields);
        w.put(&MEDIA_MAGIC);
        w.put(&MEDIA_VERSION.to_le_bytes());
        w.put(&self.media_id);
        w.put(&self.event_id.encode_field());
        w.put(&self.station_id.encode_field());
        w.put(&SECTOR_SIZE_FIELD.to_le_bytes());
        w.put(&self.record_sectors.to_le_bytes());
        w.put(&self.area_count.to_le_bytes());
        let mut w = Writer::new(&mut sector);
        w.put(&fields);
        w.put(&superblock_checksum(&fields));
        sector
    }

    fn classify(sector: &Sector) -> Result<SectorZero, VolumeError> {
        if sector.iter().all(|&b| b == 0) || sector.iter().all(|&b| b == 0xFF) {
            return Ok(SectorZero::Blank);
        }
        let mut r = Reader::new(sector);
        let magic: [u8; 6] = r.take().ok_or(VolumeError::Unrecognised)?;
        if magic != MEDIA_MAGIC {
            return Err(VolumeError::Unrecognised);
        }
        let corrupt = |field| VolumeError::CorruptSuperblock { field };
        let version = u16::from_le_bytes(r.take().ok_or(corrupt("version"))?);
        if version != MEDIA_VERSION {
            return Err(VolumeError::UnsupportedVersion { version });
        }
        let media_id: [u8; MEDIA_ID_BYTES] = r.take().ok_or(corrupt("media_id"))?;
        let event: [u8; IDENTIFIER_FIELD_BYTES] = r.take().ok_or(corrupt("event_id"))?;
        let station: [u8; IDENTIFIER_FIELD_BYTES] = r.take().ok_or(corrupt("station_id"))?;
        let sector_size = u16::from_le_bytes(r.take().ok_or(corrupt("sector_size"))?);
        let record_sectors = u32::from_le_bytes(r.take().ok_or(corrupt("record_sectors"))?);
        let area_count = u32::from_le_bytes(r.take().ok_or(corrupt("area_count"))?);
        let stored: [u8; SUPERBLOCK_CHECKSUM_BYTES] = r.take().ok_or(corrupt("checksum"))?;
        let fields = sector
            .get(..SUPERBLOCK_FIELDS_BYTES)
            .ok_or(corrupt("checksum"))?;
        if stored != superblock_checksum(fields) {
            return Err(corrupt("checksum"));
        }
        if r.rest().iter().any(|&b| b != 0) {
            return Err(corrupt("padding"));
        }
        if sector_size != SECTOR_SIZE_FIELD {
            return Err(corrupt("sector_size"));
        }
        if record_sectors == 0 {
            return Err(corrupt("record_sectors"));
        }
        if area_count == 0 || area_count > MAX_AREAS {
            return Err(corrupt("area_count"));
        }
        let event_id = Identifier::decode(&event).map_err(|_| corrupt("event_id"))?;
        let station_id = Identifier::decode(&station).map_err(|_| corrupt("station_id"))?;
        let superblock = Superblock {
            media_id,
            event_id,
            station_id,
            record_sectors,
            area_count,
        };
        if superblock.sectors_needed().is_none() {
            return Err(corrupt("record_sectors"));
        }
        Ok(SectorZero::Ours(superblock))
    }

    /// Parse a superblock sector; blank media gives [`VolumeError::Blank`].
    pub fn parse(sector: &[u8; SECTOR_SIZE_BYTES]) -> Result<Superblock, VolumeError> {
        match Superblock::classify(sector)? {
            SectorZero::Blank => Err(VolumeError::Blank),
            SectorZero::Ours(superblock) => Ok(superblock),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Slots

/// One of an area's two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// The first slot.
    A,
    /// The second slot.
    B,
}

impl Slot {
    /// Both slots.
    pub const BOTH: [Slot; 2] = [Slot::A, Slot::B];

    /// 0 for A, 1 for B (the wire value).
    pub const fn index(self) -> u32 {
        match self {
            Slot::A => 0,
            Slot::B => 1,
        }
    }

    /// The other slot.
    pub const fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    const fn byte(self) -> u8 {
        match self {
            Slot::A => 0,
            Slot::B => 1,
        }
    }
}

/// Why a slot that belongs to this media is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotProblem {
    /// The slot header has an unknown version.
    UnsupportedVersion,
    /// The header names another area or slot than where it lies.
    Misplaced,
    /// The header's record length is 0 or beyond the slot.
    BadLength,
    /// The header's generation is 0.
    ZeroGeneration,
    /// The header or the last record sector has non-zero padding.
    NonZeroPadding,
    /// The checksum does not match (a torn or damaged write).
    ChecksumMismatch,
}

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotStatus {
    /// No slot header of this media: never written (or left over from other media).
    Empty,
    /// A slot header of this media, but the slot is not valid (torn or damaged).
    Damaged {
        /// The generation the header states (untrusted).
        generation: u64,
        /// What is wrong.
        problem: SlotProblem,
    },
    /// A valid record.
    Valid {
        /// Its generation.
        generation: u64,
        /// Its length in bytes.
        len: usize,
    },
}

impl SlotStatus {
    /// Whether a session wrote (or began writing) this slot.
    pub const fn claimed(&self) -> bool {
        !matches!(self, SlotStatus::Empty)
    }

    /// The generation of a valid slot.
    pub const fn valid_generation(&self) -> Option<u64> {
        match self {
            SlotStatus::Valid { generation, .. } => Some(*generation),
            _ => None,
        }
    }
}

/// Both slots of an area, for the office's anomaly report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaSummary {
    /// The area.
    pub area: u32,
    /// Slot A, then slot B.
    pub slots: [SlotStatus; 2],
}

impl AreaSummary {
    /// Whether a session took this area.
    pub fn claimed(&self) -> bool {
        self.slots.iter().any(SlotStatus::claimed)
    }

    /// The slot holding the newest valid record and its generation.
    pub fn newest(&self) -> Option<(Slot, u64)> {
        Slot::BOTH
            .into_iter()
            .zip(self.slots)
            .filter_map(|(slot, status)| Some((slot, status.valid_generation()?)))
            .max_by_key(|&(_, generation)| generation)
    }
}

/// A record read back from an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaRecord {
    /// The area.
    pub area: u32,
    /// The slot it came from.
    pub slot: Slot,
    /// Its generation.
    pub generation: u64,
    /// Its length; the bytes are the prefix of the caller's buffer.
    pub len: usize,
}

/// A slot header as read, before checking the record.
struct SlotHeader {
    fields: [u8; SLOT_FIELDS_BYTES],
    area: u32,
    slot: u8,
    generation: u64,
    len: u32,
    checksum: [u8; SLOT_CHECKSUM_BYTES],
    padding_clean: bool,
    version: u16,
}

impl SlotHeader {
    fn fields(
        media_id: &[u8; MEDIA_ID_BYTES],
        area: u32,
        slot: Slot,
        generation: u64,
        len: u32,
    ) -> [u8; SLOT_FIELDS_BYTES] {
        let mut fields = [0u8; SLOT_FIELDS_BYTES];
        let mut w = Writer::new(&mut fields);
        w.put(&SLOT_MAGIC);
        w.put(&SLOT_VERSION.to_le_bytes());
        w.put(media_id);
        w.put(&area.to_le_bytes());
        w.put(&[slot.byte()]);
        w.put(&generation.to_le_bytes());
        w.put(&len.to_le_bytes());
        fields
    }

    /// Parse a header sector; `None` when it is not a slot header of this media.
    fn parse(sector: &Sector, media_id: &[u8; MEDIA_ID_BYTES]) -> Option<SlotHeader> {
        let mut r = Reader::new(sector);
        let fields: [u8; SLOT_FIELDS_BYTES] = r.take()?;
        let checksum: [u8; SLOT_CHECKSUM_BYTES] = r.take()?;
        let padding_clean = r.rest().iter().all(|&b| b == 0);
        let mut f = Reader::new(&fields);
        let magic: [u8; 6] = f.take()?;
        let version = u16::from_le_bytes(f.take()?);
        let id: [u8; MEDIA_ID_BYTES] = f.take()?;
        if magic != SLOT_MAGIC || id != *media_id {
            return None;
        }
        let area = u32::from_le_bytes(f.take()?);
        let [slot]: [u8; 1] = f.take()?;
        let generation = u64::from_le_bytes(f.take()?);
        let len = u32::from_le_bytes(f.take()?);
        Some(SlotHeader {
            fields,
            area,
            slot,
            generation,
            len,
            checksum,
            padding_clean,
            version,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Volume

/// A mounted results media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    superblock: Superblock,
    initialised: bool,
}

impl Volume {
    /// At poll opening: mount the media for `binding`, initialising it if blank.
    ///
    /// `record_capacity` is the largest record this terminal may write (a sealed record of
    /// the largest body); blank media get slots of that size. Media of another event or
    /// station, unknown or damaged media, and media whose slots are too small are refused.
    pub fn open_for_poll<M: Media + ?Sized, E: Entropy + ?Sized>(
        media: &mut M,
        binding: &Binding,
        record_capacity: usize,
        entropy: &mut E,
    ) -> Result<Volume, VolumeError> {
        let sectors = media.sectors()?;
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        media.read(SUPERBLOCK_SECTOR, &mut sector)?;
        match Superblock::classify(&sector)? {
            SectorZero::Blank => {
                Volume::initialise(media, sectors, binding, record_capacity, entropy)
            }
            SectorZero::Ours(superblock) => {
                if superblock.event_id != binding.event_id {
                    return Err(VolumeError::ForeignEvent {
                        expected: binding.event_id,
                        found: superblock.event_id,
                    });
                }
                if superblock.station_id != binding.station_id {
                    return Err(VolumeError::ForeignStation {
                        expected: binding.station_id,
                        found: superblock.station_id,
                    });
                }
                check_fits(&superblock, sectors)?;
                if superblock.slot_capacity_bytes() < record_capacity {
                    return Err(VolumeError::SlotTooSmall {
                        capacity: superblock.slot_capacity_bytes(),
                        needed: record_capacity,
                    });
                }
                Ok(Volume {
                    superblock,
                    initialised: false,
                })
            }
        }
    }

    /// At the office: mount any results media (no event binding; the records carry it).
    pub fn mount<M: Media + ?Sized>(media: &mut M) -> Result<Volume, VolumeError> {
        let sectors = media.sectors()?;
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        media.read(SUPERBLOCK_SECTOR, &mut sector)?;
        let superblock = Superblock::parse(&sector)?;
        check_fits(&superblock, sectors)?;
        Ok(Volume {
            superblock,
            initialised: false,
        })
    }

    fn initialise<M: Media + ?Sized, E: Entropy + ?Sized>(
        media: &mut M,
        sectors: u32,
        binding: &Binding,
        record_capacity: usize,
        entropy: &mut E,
    ) -> Result<Volume, VolumeError> {
        if record_capacity == 0 {
            return Err(VolumeError::EmptyRecord);
        }
        let record_sectors =
            u32::try_from(record_capacity.div_ceil(SECTOR_SIZE_BYTES)).map_err(|_| {
                VolumeError::TooSmall {
                    sectors,
                    needed: u32::MAX,
                }
            })?;
        let mut superblock = Superblock {
            media_id: [0; MEDIA_ID_BYTES],
            event_id: binding.event_id,
            station_id: binding.station_id,
            record_sectors,
            area_count: 1,
        };
        let area_sectors = superblock.area_sectors().ok_or(VolumeError::TooSmall {
            sectors,
            needed: u32::MAX,
        })?;
        let one_area = superblock.sectors_needed().ok_or(VolumeError::TooSmall {
            sectors,
            needed: u32::MAX,
        })?;
        let fitting = sectors
            .checked_sub(FIRST_AREA_SECTOR)
            .and_then(|s| s.checked_div(area_sectors))
            .unwrap_or(0);
        if fitting == 0 {
            return Err(VolumeError::TooSmall {
                sectors,
                needed: one_area,
            });
        }
        superblock.area_count = fitting.min(MAX_AREAS);
        entropy.fill(&mut superblock.media_id)?;
        let sector = superblock.encode();
        media.write(SUPERBLOCK_SECTOR, &sector)?;
        media.flush()?;
        let mut back = [0u8; SECTOR_SIZE_BYTES];
        media.read(SUPERBLOCK_SECTOR, &mut back)?;
        if back != sector {
            return Err(VolumeError::VerifyFailed {
                sector: SUPERBLOCK_SECTOR,
            });
        }
        Ok(Volume {
            superblock,
            initialised: true,
        })
    }

    /// The superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.superblock
    }

    /// Whether [`Volume::open_for_poll`] initialised blank media.
    pub fn was_initialised(&self) -> bool {
        self.initialised
    }

    /// Areas on the media.
    pub fn area_count(&self) -> u32 {
        self.superblock.area_count
    }

    /// Take the area for a new boot session: the one after the last claimed area.
    pub fn start_session<M: Media + ?Sized>(
        &self,
        media: &mut M,
    ) -> Result<SessionArea, VolumeError> {
        let area = self.claimed_areas(media)?;
        if area >= self.superblock.area_count {
            return Err(VolumeError::Full {
                areas: self.superblock.area_count,
            });
        }
        Ok(SessionArea {
            superblock: self.superblock,
            area,
            current: None,
        })
    }

    /// Areas up to and including the last claimed one (a slot header of this media in either
    /// slot). Reads two sectors per area.
    pub fn claimed_areas<M: Media + ?Sized>(&self, media: &mut M) -> Result<u32, VolumeError> {
        let mut claimed = 0;
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        for area in 0..self.superblock.area_count {
            for slot in Slot::BOTH {
                let start = self.slot_start(area, slot)?;
                media.read(start, &mut sector)?;
                if SlotHeader::parse(&sector, &self.superblock.media_id).is_some() {
                    claimed = area.saturating_add(1);
                }
            }
        }
        Ok(claimed)
    }

    fn slot_start(&self, area: u32, slot: Slot) -> Result<u32, VolumeError> {
        if area >= self.superblock.area_count {
            return Err(VolumeError::AreaOutOfRange {
                area,
                areas: self.superblock.area_count,
            });
        }
        self.superblock
            .slot_start(area, slot)
            .ok_or(VolumeError::AreaOutOfRange {
                area,
                areas: self.superblock.area_count,
            })
    }

    /// Check one slot. With `out`, the record is also copied into it.
    fn check_slot<M: Media + ?Sized>(
        &self,
        media: &mut M,
        area: u32,
        slot: Slot,
        mut out: Option<&mut [u8]>,
    ) -> Result<SlotStatus, VolumeError> {
        let start = self.slot_start(area, slot)?;
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        media.read(start, &mut sector)?;
        let Some(header) = SlotHeader::parse(&sector, &self.superblock.media_id) else {
            return Ok(SlotStatus::Empty);
        };
        let generation = header.generation;
        let damaged = |problem| {
            Ok(SlotStatus::Damaged {
                generation,
                problem,
            })
        };
        if header.version != SLOT_VERSION {
            return damaged(SlotProblem::UnsupportedVersion);
        }
        if header.area != area || header.slot != slot.byte() {
            return damaged(SlotProblem::Misplaced);
        }
        if !header.padding_clean {
            return damaged(SlotProblem::NonZeroPadding);
        }
        if generation == 0 {
            return damaged(SlotProblem::ZeroGeneration);
        }
        let Ok(len) = usize::try_from(header.len) else {
            return damaged(SlotProblem::BadLength);
        };
        if len == 0 || len > self.superblock.slot_capacity_bytes() {
            return damaged(SlotProblem::BadLength);
        }
        if let Some(buf) = out.as_deref() {
            if buf.len() < len {
                return Err(VolumeError::BufferTooSmall {
                    needed: len,
                    available: buf.len(),
                });
            }
        }
        let mut crc = Crc64::new();
        crc.update(SLOT_LABEL);
        crc.update(&header.fields);
        let mut remaining = len;
        let mut next = start;
        let mut copied = 0usize;
        while remaining > 0 {
            next = next.checked_add(1).ok_or(VolumeError::AreaOutOfRange {
                area,
                areas: self.superblock.area_count,
            })?;
            media.read(next, &mut sector)?;
            let take = remaining.min(SECTOR_SIZE_BYTES);
            let (data, padding) = sector.split_at(take);
            if padding.iter().any(|&b| b != 0) {
                return damaged(SlotProblem::NonZeroPadding);
            }
            crc.update(data);
            if let Some(buf) = out.as_deref_mut() {
                let end = copied.saturating_add(take);
                if let Some(dst) = buf.get_mut(copied..end) {
                    dst.copy_from_slice(data);
                }
                copied = end;
            }
            remaining = remaining.saturating_sub(take);
        }
        if crc.finish() != header.checksum {
            return damaged(SlotProblem::ChecksumMismatch);
        }
        Ok(SlotStatus::Valid { generation, len })
    }

    /// Both slots of `area` (office side: reports torn or damaged slots).
    pub fn inspect_area<M: Media + ?Sized>(
        &self,
        media: &mut M,
        area: u32,
    ) -> Result<AreaSummary, VolumeError> {
        Ok(AreaSummary {
            area,
            slots: [
                self.check_slot(media, area, Slot::A, None)?,
                self.check_slot(media, area, Slot::B, None)?,
            ],
        })
    }

    /// The newest valid record of `area`, copied into `out` (size it to
    /// [`Superblock::slot_capacity_bytes`]); `None` if the area holds no valid record.
    pub fn read_area<M: Media + ?Sized>(
        &self,
        media: &mut M,
        area: u32,
        out: &mut [u8],
    ) -> Result<Option<AreaRecord>, VolumeError> {
        let summary = self.inspect_area(media, area)?;
        let mut candidates: [Option<(Slot, u64)>; 2] = [None, None];
        for (candidate, (slot, status)) in candidates
            .iter_mut()
            .zip(Slot::BOTH.into_iter().zip(summary.slots))
        {
            *candidate = status.valid_generation().map(|g| (slot, g));
        }
        // Newest first; the re-read verifies again, so a slot that changed is skipped.
        candidates.sort_unstable_by_key(|c| core::cmp::Reverse(c.map(|(_, g)| g)));
        for (slot, generation) in candidates.into_iter().flatten() {
            if let SlotStatus::Valid {
                generation: read,
                len,
            } = self.check_slot(media, area, slot, Some(&mut *out))?
            {
                if read == generation {
                    return Ok(Some(AreaRecord {
                        area,
                        slot,
                        generation,
                        len,
                    }));
                }
            }
        }
        Ok(None)
    }
}

fn check_fits(superblock: &Superblock, sectors: u32) -> Result<(), VolumeError> {
    let needed = superblock
        .sectors_needed()
        .ok_or(VolumeError::CorruptSuperblock {
            field: "record_sectors",
        })?;
    if needed > sectors {
        return Err(VolumeError::TooSmall { sectors, needed });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Session area

/// The area of the running boot session, where its records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionArea {
    superblock: Superblock,
    area: u32,
    current: Option<(Slot, u64)>,
}

impl SessionArea {
    /// The area index.
    pub fn area(&self) -> u32 {
        self.area
    }

    /// The generation of the last completed write, if any.
    pub fn generation(&self) -> Option<u64> {
        self.current.map(|(_, generation)| generation)
    }

    /// The slot holding the last completed write, if any.
    pub fn current_slot(&self) -> Option<Slot> {
        self.current.map(|(slot, _)| slot)
    }

    /// Write `record` as generation `generation` (the sealed header's generation).
    ///
    /// Checks the superblock is still this media's, writes the record sectors of the
    /// inactive slot, then its header sector, then flushes. Only when this returns `Ok` may
    /// the terminal say the vote is recorded.
    pub fn write<M: Media + ?Sized>(
        &mut self,
        media: &mut M,
        generation: u64,
        record: &[u8],
    ) -> Result<(), VolumeError> {
        if record.is_empty() {
            return Err(VolumeError::EmptyRecord);
        }
        let capacity = self.superblock.slot_capacity_bytes();
        if record.len() > capacity {
            return Err(VolumeError::RecordTooLarge {
                len: record.len(),
                capacity,
            });
        }
        let len = u32::try_from(record.len()).map_err(|_| VolumeError::RecordTooLarge {
            len: record.len(),
            capacity,
        })?;
        let current = self.generation().unwrap_or(0);
        if generation <= current {
            return Err(VolumeError::GenerationNotIncreasing {
                generation,
                current,
            });
        }
        let mut sector = [0u8; SECTOR_SIZE_BYTES];
        media.read(SUPERBLOCK_SECTOR, &mut sector)?;
        if sector != self.superblock.encode() {
            return Err(VolumeError::MediaChanged);
        }
        let slot = self.current_slot().map_or(Slot::A, Slot::other);
        let start =
            self.superblock
                .slot_start(self.area, slot)
                .ok_or(VolumeError::AreaOutOfRange {
                    area: self.area,
                    areas: self.superblock.area_count,
                })?;
        let mut next = start;
        for chunk in record.chunks(SECTOR_SIZE_BYTES) {
            next = next.checked_add(1).ok_or(VolumeError::AreaOutOfRange {
                area: self.area,
                areas: self.superblock.area_count,
            })?;
            let mut data = [0u8; SECTOR_SIZE_BYTES];
            let mut w = Writer::new(&mut data);
            w.put(chunk);
            media.write(next, &data)?;
        }
        let fields =
            SlotHeader::fields(&self.superblock.media_id, self.area, slot, generation, len);
        let mut header = [0u8; SECTOR_SIZE_BYTES];
        let mut w = Writer::new(&mut header);
        w.put(&fields);
        w.put(&slot_checksum(&fields, record));
        media.write(start, &header)?;
        media.flush()?;
        self.current = Some((slot, generation));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The superblock checksum: SHA-256 over [`SUPERBLOCK_LABEL`] and the superblock fields.
fn superblock_checksum(fields: &[u8]) -> [u8; SUPERBLOCK_CHECKSUM_BYTES] {
    let mut hash = digest::Context::new(&digest::SHA256);
    hash.update(SUPERBLOCK_LABEL);
    hash.update(fields);
    let mut out = [0u8; SUPERBLOCK_CHECKSUM_BYTES];
    for (dst, src) in out.iter_mut().zip(hash.finish().as_ref()) {
        *dst = *src;
    }
    out
}

/// The slot checksum of a slot header's fields (bytes 0..41) and its record:
/// CRC-64/XZ over [`SLOT_LABEL`] || `fields` || `record`, little-endian.
///
/// It detects torn and damaged writes (every burst of up to 64 bits, other damage with
/// probability 1 - 2^-64), which is all a slot checksum is for: an unkeyed checksum, even
/// SHA-256, can be recomputed by whoever edits the media, so authenticity comes from the
/// sealed record's signature. Version 1 slots used SHA-256 here; at 125 fuel a byte under
/// wasmi it was an eighth of the cost of every cast (`docs/benchmarks.md`).
pub fn slot_checksum(fields: &[u8], record: &[u8]) -> [u8; SLOT_CHECKSUM_BYTES] {
    let mut crc = Crc64::new();
    crc.update(SLOT_LABEL);
    crc.update(fields);
    crc.update(record);
    crc.finish()
}

/// CRC-64/XZ (the ECMA-182 polynomial, reflected; initial value and final XOR all ones),
/// eight bytes at a time ("slicing by 8") from 16 KiB of tables built at compile time.
struct Crc64(u64);

/// The ECMA-182 polynomial 0x42f0e1eba9ea3693, bit-reflected.
const CRC64_POLY_REFLECTED: u64 = 0xc96c_5795_d787_0f42;
/// `CRC64_TABLES[0][b]`: the remainder of byte value `b`; `CRC64_TABLES[k][b]`: the same
/// byte followed by `k` zero bytes.
const CRC64_TABLES: [[u64; 256]; 8] = crc64_tables();

// Evaluated at compile time only: an out-of-range index or an overflow fails the build.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
const fn crc64_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut byte = 0usize;
    while byte < 256 {
        let mut crc = byte as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ CRC64_POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][byte] = crc;
        byte += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut byte = 0usize;
        while byte < 256 {
            let previous = tables[k - 1][byte];
            tables[k][byte] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            byte += 1;
        }
        k += 1;
    }
    tables
}

/// `CRC64_TABLES[k][b]` (every index is in range: `k < 8`, `b` a byte).
fn crc64_entry(k: usize, b: u8) -> u64 {
    CRC64_TABLES
        .get(k)
        .and_then(|t| t.get(usize::from(b)))
        .copied()
        .unwrap_or(0)
}

impl Crc64 {
    const fn new() -> Crc64 {
        Crc64(u64::MAX)
    }

    fn update(&mut self, bytes: &[u8]) {
        let mut crc = self.0;
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut block = [0u8; 8];
            block.copy_from_slice(word);
            let [b0, b1, b2, b3, b4, b5, b6, b7] = (crc ^ u64::from_le_bytes(block)).to_le_bytes();
            crc = crc64_entry(7, b0)
                ^ crc64_entry(6, b1)
                ^ crc64_entry(5, b2)
                ^ crc64_entry(4, b3)
                ^ crc64_entry(3, b4)
                ^ crc64_entry(2, b5)
                ^ crc64_entry(1, b6)
                ^ crc64_entry(0, b7);
        }
        for &b in words.remainder() {
            let [low, ..] = crc.to_le_bytes();
            crc = crc64_entry(0, low ^ b) ^ crc.wrapping_shr(8);
        }
        self.0 = crc;
    }

    fn finish(&self) -> [u8; SLOT_CHECKSUM_BYTES] {
        (self.0 ^ u64::MAX).to_le_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::doubles::{FixedEntropy, RamMedia, SeededEntropy};
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const CAPACITY: usize = 1500; // 3 record sectors, 4 sectors per slot, 8 per area

    fn binding() -> Binding {
        Binding {
            event_id: Identifier::new("be-2024-06-09").unwrap(),
            station_id: Identifier::new("bxl-0042").unwrap(),
        }
    }

    fn disk(areas: usize) -> Vec<u8> {
        vec![0u8; (1 + 8 * areas) * SECTOR_SIZE_BYTES]
    }

    fn entropy() -> SeededEntropy {
        SeededEntropy::new([9; 32])
    }

    fn record(generation: u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u64).wrapping_mul(31).wrapping_add(generation) as u8)
            .collect()
    }

    fn open(media: &mut RamMedia<'_>) -> Result<Volume, VolumeError> {
        Volume::open_for_poll(media, &binding(), CAPACITY, &mut entropy())
    }

    #[test]
    fn blank_media_is_initialised_then_mounted() {
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        assert!(volume.was_initialised());
        let sb = *volume.superblock();
        assert_eq!(sb.record_sectors, 3);
        assert_eq!(sb.area_count, 4);
        assert_eq!(sb.slot_capacity_bytes(), 1536);
        let again = open(&mut media).unwrap();
        assert!(!again.was_initialised());
        assert_eq!(again.superblock(), &sb);
        assert_eq!(Volume::mount(&mut media).unwrap().superblock(), &sb);
    }

    #[test]
    fn erased_flash_counts_as_blank() {
        let mut data = vec![0xFFu8; 33 * SECTOR_SIZE_BYTES];
        let mut media = RamMedia::new(&mut data);
        assert!(open(&mut media).unwrap().was_initialised());
    }

    #[test]
    fn refusals_carry_stable_codes() {
        // Another event.
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        open(&mut media).unwrap();
        let other = Binding {
            event_id: Identifier::new("be-2019-05-26").unwrap(),
            ..binding()
        };
        let err = Volume::open_for_poll(&mut media, &other, CAPACITY, &mut entropy()).unwrap_err();
        assert!(matches!(err, VolumeError::ForeignEvent { .. }));
        assert_eq!(err.code(), 606);
        // Another station.
        let other = Binding {
            station_id: Identifier::new("bxl-0043").unwrap(),
            ..binding()
        };
        let err = Volume::open_for_poll(&mut media, &other, CAPACITY, &mut entropy()).unwrap_err();
        assert_eq!(err.code(), 607);
        // Slots too small for this terminal's records.
        let err = Volume::open_for_poll(&mut media, &binding(), 2000, &mut entropy()).unwrap_err();
        assert_eq!(
            err,
            VolumeError::SlotTooSmall {
                capacity: 1536,
                needed: 2000
            }
        );
        // Missing media.
        media.remove();
        assert_eq!(open(&mut media).unwrap_err(), VolumeError::Missing);
        assert_eq!(VolumeError::Missing.code(), 601);
        media.insert();
        // A damaged superblock.
        assert!(media.flip_bit(40, 0));
        assert_eq!(
            open(&mut media).unwrap_err(),
            VolumeError::CorruptSuperblock { field: "checksum" }
        );
        // Something else entirely (a FAT boot sector, say).
        let mut data = disk(4);
        data[..4].copy_from_slice(&[0xEB, 0x3C, 0x90, b'M']);
        let mut media = RamMedia::new(&mut data);
        assert_eq!(open(&mut media).unwrap_err(), VolumeError::Unrecognised);
        assert_eq!(Volume::mount(&mut media).unwrap_err().code(), 603);
        // Blank media at the office.
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        assert_eq!(Volume::mount(&mut media).unwrap_err(), VolumeError::Blank);
        // Too small for one area.
        let mut data = vec![0u8; 8 * SECTOR_SIZE_BYTES];
        let mut media = RamMedia::new(&mut data);
        assert_eq!(
            open(&mut media).unwrap_err(),
            VolumeError::TooSmall {
                sectors: 8,
                needed: 9
            }
        );
        // No entropy for the media id.
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let err = Volume::open_for_poll(
            &mut media,
            &binding(),
            CAPACITY,
            &mut FixedEntropy::new(&[]),
        )
        .unwrap_err();
        assert_eq!(err.code(), 621);
    }

    #[test]
    fn unknown_superblock_version_is_refused() {
        let mut data = disk(4);
        let sb = *open(&mut RamMedia::new(&mut data)).unwrap().superblock();
        let mut sector = sb.encode();
        sector[6] = 2;
        data[..SECTOR_SIZE_BYTES].copy_from_slice(&sector);
        let mut media = RamMedia::new(&mut data);
        assert_eq!(
            open(&mut media).unwrap_err(),
            VolumeError::UnsupportedVersion { version: 2 }
        );
    }

    #[test]
    fn slots_alternate_and_the_newest_generation_wins() {
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        let mut session = volume.start_session(&mut media).unwrap();
        assert_eq!(session.area(), 0);
        let mut out = vec![0u8; 1536];
        for generation in 1..=5u64 {
            let r = record(generation, 100 + generation as usize * 200);
            session.write(&mut media, generation, &r).unwrap();
            let expected = if generation % 2 == 1 {
                Slot::A
            } else {
                Slot::B
            };
            assert_eq!(session.current_slot(), Some(expected));
            let got = volume.read_area(&mut media, 0, &mut out).unwrap().unwrap();
            assert_eq!((got.slot, got.generation), (expected, generation));
            assert_eq!(&out[..got.len], &r[..]);
        }
        let summary = volume.inspect_area(&mut media, 0).unwrap();
        assert_eq!(
            summary.slots,
            [
                SlotStatus::Valid {
                    generation: 5,
                    len: 1100
                },
                SlotStatus::Valid {
                    generation: 4,
                    len: 900
                }
            ]
        );
        assert_eq!(summary.newest(), Some((Slot::A, 5)));
        assert_eq!(
            session.write(&mut media, 5, b"again"),
            Err(VolumeError::GenerationNotIncreasing {
                generation: 5,
                current: 5
            })
        );
        assert_eq!(
            session.write(&mut media, 6, &[0; 1537]),
            Err(VolumeError::RecordTooLarge {
                len: 1537,
                capacity: 1536
            })
        );
        assert_eq!(
            session.write(&mut media, 6, &[]),
            Err(VolumeError::EmptyRecord)
        );
    }

    #[test]
    fn a_damaged_slot_falls_back_to_the_other() {
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        let mut session = volume.start_session(&mut media).unwrap();
        session.write(&mut media, 1, &record(1, 700)).unwrap();
        session.write(&mut media, 2, &record(2, 700)).unwrap();
        // Slot B (generation 2) starts at sector 5; corrupt its second record sector.
        assert!(media.flip_bit(7 * SECTOR_SIZE_BYTES + 3, 2));
        let summary = volume.inspect_area(&mut media, 0).unwrap();
        assert_eq!(
            summary.slots[1],
            SlotStatus::Damaged {
                generation: 2,
                problem: SlotProblem::ChecksumMismatch
            }
        );
        let mut out = vec![0u8; 1536];
        let got = volume.read_area(&mut media, 0, &mut out).unwrap().unwrap();
        assert_eq!((got.slot, got.generation), (Slot::A, 1));
        assert_eq!(&out[..got.len], &record(1, 700)[..]);
        let mut small = [0u8; 10];
        assert_eq!(
            volume.read_area(&mut media, 0, &mut small),
            Err(VolumeError::BufferTooSmall {
                needed: 700,
                available: 10
            })
        );
    }

    #[test]
    fn sessions_take_new_areas_until_the_media_is_full() {
        let mut data = disk(3);
        let mut out = vec![0u8; 1536];
        for area in 0..3u32 {
            let mut media = RamMedia::new(&mut data);
            let volume = open(&mut media).unwrap();
            let mut session = volume.start_session(&mut media).unwrap();
            assert_eq!(session.area(), area);
            session
                .write(&mut media, 1, &record(u64::from(area), 300))
                .unwrap();
        }
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        let err = volume.start_session(&mut media).unwrap_err();
        assert_eq!(err, VolumeError::Full { areas: 3 });
        assert_eq!(err.code(), 610);
        // Every session's record is still there.
        let office = Volume::mount(&mut media).unwrap();
        assert_eq!(office.claimed_areas(&mut media).unwrap(), 3);
        for area in 0..3u32 {
            let got = office
                .read_area(&mut media, area, &mut out)
                .unwrap()
                .unwrap();
            assert_eq!(&out[..got.len], &record(u64::from(area), 300)[..]);
        }
        assert_eq!(
            office.read_area(&mut media, 3, &mut out),
            Err(VolumeError::AreaOutOfRange { area: 3, areas: 3 })
        );
    }

    #[test]
    fn a_failed_write_keeps_the_current_record_and_the_next_write_retries_the_slot() {
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        let mut session = volume.start_session(&mut media).unwrap();
        session.write(&mut media, 1, &record(1, 900)).unwrap();
        media.fail_nth_write(2);
        let err = session.write(&mut media, 2, &record(2, 900)).unwrap_err();
        assert_eq!(err, VolumeError::WriteFailed { sector: 7 });
        assert_eq!(err.code(), 618);
        assert_eq!(session.generation(), Some(1));
        let mut out = vec![0u8; 1536];
        let got = volume.read_area(&mut media, 0, &mut out).unwrap().unwrap();
        assert_eq!(got.generation, 1);
        session.write(&mut media, 3, &record(3, 900)).unwrap();
        assert_eq!(session.current_slot(), Some(Slot::B));
        let got = volume.read_area(&mut media, 0, &mut out).unwrap().unwrap();
        assert_eq!((got.generation, got.slot), (3, Slot::B));
        // Removed media.
        media.remove();
        assert_eq!(
            session.write(&mut media, 4, &record(4, 10)),
            Err(VolumeError::Missing)
        );
    }

    #[test]
    fn swapped_media_is_never_written() {
        let mut first = disk(4);
        let mut second = disk(4);
        let mut session = {
            let mut media = RamMedia::new(&mut first);
            let volume = open(&mut media).unwrap();
            volume.start_session(&mut media).unwrap()
        };
        // Another blank stick, initialised by another terminal session of the same station.
        let mut media = RamMedia::new(&mut second);
        Volume::open_for_poll(
            &mut media,
            &binding(),
            CAPACITY,
            &mut SeededEntropy::new([1; 32]),
        )
        .unwrap();
        let before = media.data().to_vec();
        assert_eq!(
            session.write(&mut media, 1, &record(1, 100)),
            Err(VolumeError::MediaChanged)
        );
        assert_eq!(media.data(), &before[..]);
    }

    #[test]
    fn a_torn_first_write_leaves_the_area_free_and_a_claimed_area_is_skipped() {
        let mut data = disk(4);
        {
            let mut media = RamMedia::new(&mut data);
            let volume = open(&mut media).unwrap();
            let mut session = volume.start_session(&mut media).unwrap();
            // Cut inside the record sectors: the header sector is never written.
            media.cut_power_at_byte(700);
            assert_eq!(
                session.write(&mut media, 1, &record(1, 1200)),
                Err(VolumeError::PowerLost)
            );
        }
        {
            let mut media = RamMedia::new(&mut data);
            let volume = open(&mut media).unwrap();
            assert_eq!(volume.claimed_areas(&mut media).unwrap(), 0);
            let mut session = volume.start_session(&mut media).unwrap();
            assert_eq!(session.area(), 0);
            session.write(&mut media, 1, &record(1, 1200)).unwrap();
            // Now a cut inside the checksum of generation 2's header sector.
            media.cut_power_at_byte(3 * 512 + 45);
            assert_eq!(
                session.write(&mut media, 2, &record(2, 1200)),
                Err(VolumeError::PowerLost)
            );
        }
        let mut media = RamMedia::new(&mut data);
        let volume = open(&mut media).unwrap();
        assert_eq!(volume.claimed_areas(&mut media).unwrap(), 1);
        assert_eq!(volume.start_session(&mut media).unwrap().area(), 1);
        let summary = volume.inspect_area(&mut media, 0).unwrap();
        assert!(matches!(summary.slots[1], SlotStatus::Damaged { .. }));
        assert_eq!(summary.newest(), Some((Slot::A, 1)));
    }

    #[test]
    fn stale_slots_of_earlier_media_are_ignored() {
        let mut data = disk(4);
        {
            let mut media = RamMedia::new(&mut data);
            let volume = open(&mut media).unwrap();
            let mut session = volume.start_session(&mut media).unwrap();
            session.write(&mut media, 1, &record(1, 300)).unwrap();
        }
        // The office blanks only sector 0 and hands the stick out again.
        data[..SECTOR_SIZE_BYTES].fill(0);
        let mut media = RamMedia::new(&mut data);
        let volume = Volume::open_for_poll(
            &mut media,
            &binding(),
            CAPACITY,
            &mut SeededEntropy::new([5; 32]),
        )
        .unwrap();
        assert!(volume.was_initialised());
        assert_eq!(volume.claimed_areas(&mut media).unwrap(), 0);
        let mut out = vec![0u8; 1536];
        assert_eq!(volume.read_area(&mut media, 0, &mut out), Ok(None));
    }

    /// The CRC-64/XZ check value (the CRC of ASCII "123456789" in the catalogue of
    /// parametrised CRC algorithms), and the table against the bitwise definition.
    #[test]
    fn crc64_is_crc64_xz() {
        let mut crc = Crc64::new();
        crc.update(b"123456789");
        assert_eq!(crc.finish(), 0x995d_c9bb_df19_39fa_u64.to_le_bytes());
        // In pieces, the same.
        let mut pieces = Crc64::new();
        pieces.update(b"1234");
        pieces.update(b"");
        pieces.update(b"56789");
        assert_eq!(pieces.finish(), crc.finish());
        let bitwise = |bytes: &[u8]| {
            let mut crc = u64::MAX;
            for &b in bytes {
                crc ^= u64::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xc96c_5795_d787_0f42
                    } else {
                        crc >> 1
                    };
                }
            }
            (crc ^ u64::MAX).to_le_bytes()
        };
        let data: Vec<u8> = (0..=255u8).cycle().take(3 * 256 + 17).collect();
        // Every length up to a few words, and updates split at every point.
        for len in 0..=40 {
            let mut table = Crc64::new();
            table.update(&data[..len]);
            assert_eq!(table.finish(), bitwise(&data[..len]), "length {len}");
        }
        for split in 0..=data.len() {
            let mut table = Crc64::new();
            table.update(&data[..split]);
            table.update(&data[split..]);
            assert_eq!(table.finish(), bitwise(&data), "split at {split}");
        }
        assert_eq!(
            slot_checksum(b"fields", b"record"),
            bitwise(b"voting-terminal/v1/media-slotfieldsrecord")
        );
    }

    /// The worked example of docs/formats/sealed-record.md ("Media layout").
    #[test]
    fn worked_example() {
        let mut data = disk(4);
        let mut media = RamMedia::new(&mut data);
        let id: Vec<u8> = (0..16).collect();
        let volume = Volume::open_for_poll(
            &mut media,
            &binding(),
            CAPACITY,
            &mut FixedEntropy::new(&id),
        )
        .unwrap();
        let mut session = volume.start_session(&mut media).unwrap();
        session.write(&mut media, 1, b"a sealed record").unwrap();
        let hex = |bytes: &[u8]| -> std::string::String {
            bytes.iter().map(|b| std::format!("{b:02x}")).collect()
        };
        let superblock = hex(&data[..SUPERBLOCK_FIELDS_BYTES + SUPERBLOCK_CHECKSUM_BYTES]);
        let slot = hex(&data[512..512 + SLOT_FIELDS_BYTES + SLOT_CHECKSUM_BYTES]);
        let record = hex(&data[1024..1024 + 16]);
        std::println!("superblock {superblock}\nslot A     {slot}\nrecord     {record}");
        assert_eq!(superblock, SUPERBLOCK_EXAMPLE);
        assert_eq!(slot, SLOT_EXAMPLE);
        assert_eq!(record, "61207365616c6564207265636f726400");
        assert!(data[..512][132..].iter().all(|&b| b == 0));
    }

    const SUPERBLOCK_EXAMPLE: &str = "56544449534b0100000102030405060708090a0b0c0d0e0f0d62652d32\
        3032342d30362d3039000000000000000000000000000000000000000862786c2d303034320000000000\
        000000000000000000000000000000000000000002030000000400000058a8056dc2450584f0f9159c33\
        26c8270890a326b5d13e924a9c072b5c1c849e";
    const SLOT_EXAMPLE: &str = "5654534c4f540200000102030405060708090a0b0c0d0e0f00000000000100\
        0000000000000f0000004f9c046e7c2caa82";

    fn arb_superblock() -> impl Strategy<Value = Superblock> {
        (
            any::<[u8; MEDIA_ID_BYTES]>(),
            "[!-~]{1,32}",
            "[!-~]{1,32}",
            1..100_000u32,
            1..=MAX_AREAS,
        )
            .prop_map(|(media_id, event, station, record_sectors, area_count)| {
                Superblock {
                    media_id,
                    event_id: Identifier::new(&event).unwrap(),
                    station_id: Identifier::new(&station).unwrap(),
                    record_sectors,
                    area_count,
                }
            })
    }

    proptest! {
        #[test]
        fn superblock_round_trips(sb in arb_superblock()) {
            prop_assert_eq!(Superblock::parse(&sb.encode()), Ok(sb));
        }

        #[test]
        fn records_round_trip(
            lens in proptest::collection::vec(1..=1536usize, 1..6),
            seed in any::<u8>(),
        ) {
            let mut data = disk(2);
            let mut media = RamMedia::new(&mut data);
            let volume = open(&mut media).unwrap();
            let mut session = volume.start_session(&mut media).unwrap();
            let mut out = vec![0u8; 1536];
            for (i, len) in lens.iter().enumerate() {
                let generation = 1 + 2 * i as u64;
                let r = record(generation.wrapping_add(u64::from(seed)), *len);
                session.write(&mut media, generation, &r).unwrap();
                let got = volume.read_area(&mut media, 0, &mut out).unwrap().unwrap();
                prop_assert_eq!(got.generation, generation);
                prop_assert_eq!(&out[..got.len], &r[..]);
            }
        }
    }
}
