#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(test)]
extern crate std;

use core::fmt;

/// Version of the device ABI described by this crate.
///
/// Any change to a name, a signature, a code or the boot block layout bumps it. The payload
/// returns it from [`export::ABI_VERSION`]; a host refuses a payload with another version.
pub const ABI_VERSION: u32 = 1;

/// The one wasm import module a payload may import from.
pub const IMPORT_MODULE: &str = "device";

/// Imports: functions the host provides in [`IMPORT_MODULE`].
///
/// Pointers are offsets into the payload's exported `memory`; statuses are
/// [`MediaStatus`], [`PrinterStatus`] or [`STATUS_OK`] codes.
pub mod import {
    /// `(fb: i32, x: i32, y: i32, width: i32, height: i32) -> i32`: copy the dirty rectangle
    /// of the 800x480 RGB565 framebuffer (little-endian `u16` per pixel, row stride
    /// [`crate::DISPLAY_WIDTH_PX`] pixels) starting at address `fb` to the screen.
    pub const DISPLAY_FLUSH: &str = "display_flush";
    /// `() -> i64`: media size in sectors (>= 0), or the negated [`crate::MediaStatus`] code.
    pub const MEDIA_SECTORS: &str = "media_sectors";
    /// `(sector: i32, buf: i32) -> i32`: read one 512-byte sector into memory at `buf`.
    pub const MEDIA_READ: &str = "media_read";
    /// `(sector: i32, buf: i32) -> i32`: write the 512 bytes at `buf` to one sector.
    pub const MEDIA_WRITE: &str = "media_write";
    /// `() -> i32`: make every earlier write durable.
    pub const MEDIA_FLUSH: &str = "media_flush";
    /// `(line: i32) -> i32`: print one raster line of [`crate::PRINTER_LINE_BYTES`] bytes
    /// (1 bit per dot, most significant bit leftmost, 1 = black).
    pub const PRINTER_LINE: &str = "printer_line";
    /// `() -> i32`: cut the paper (ends one receipt).
    pub const PRINTER_CUT: &str = "printer_cut";
    /// `() -> i64`: monotonic milliseconds since power-on.
    pub const CLOCK_NOW_MS: &str = "clock_now_ms";
    /// `() -> i32`: the real-time clock's date, packed by [`crate::pack_date`].
    pub const CLOCK_TODAY: &str = "clock_today";
    /// `(buf: i32, len: i32) -> i32`: fill `len` bytes at `buf` from the entropy source.
    pub const ENTROPY_FILL: &str = "entropy_fill";
    /// `(text: i32, len: i32)`: a UTF-8 diagnostic line (never secret data).
    pub const LOG: &str = "log";

    /// Every import name, in a fixed order; a host refuses a module importing anything else.
    pub const ALL: [&str; 11] = [
        DISPLAY_FLUSH,
        MEDIA_SECTORS,
        MEDIA_READ,
        MEDIA_WRITE,
        MEDIA_FLUSH,
        PRINTER_LINE,
        PRINTER_CUT,
        CLOCK_NOW_MS,
        CLOCK_TODAY,
        ENTROPY_FILL,
        LOG,
    ];
}

/// Exports: what the payload provides to the host.
pub mod export {
    /// The payload's linear memory.
    pub const MEMORY: &str = "memory";
    /// `() -> i32`: the ABI version the payload implements ([`crate::ABI_VERSION`]).
    pub const ABI_VERSION: &str = "firmware_abi_version";
    /// `() -> i32`: address of the boot block buffer the boot ROM writes into.
    pub const BOOT_BLOCK: &str = "firmware_boot_block";
    /// `() -> i32`: capacity of the boot block buffer in bytes.
    pub const BOOT_BLOCK_CAPACITY: &str = "firmware_boot_block_capacity";
    /// `() -> i32`: decode the boot block and start the terminal; returns [`crate::STATUS_OK`]
    /// or a [`crate::BootStatus`] code, or an application error code.
    pub const BOOT: &str = "firmware_boot";
    /// `(kind: i32, a: i32, b: i32) -> i32`: one input event (see [`crate::EventKind`]).
    pub const HANDLE: &str = "firmware_handle";
    /// `() -> i32`: periodic work (timeouts); called every [`crate::TICK_INTERVAL_MS`].
    pub const TICK: &str = "firmware_tick";
    /// `()`: the power is failing; finish or abandon writes now.
    pub const POWER_FAIL: &str = "firmware_power_fail";
    /// `()`: orderly power-off: wipe every secret and the ballot store.
    pub const POWER_OFF: &str = "firmware_power_off";
    /// `() -> i32`: address of the text buffer shared by [`ELEMENT`] and [`SCREEN_TEXT`].
    pub const TEXT_BUFFER: &str = "firmware_text_buffer";
    /// `() -> i32`: capacity of the text buffer in bytes.
    pub const TEXT_CAPACITY: &str = "firmware_text_capacity";
    /// `(len: i32) -> i64`: (test and debug) the area of the touch target whose name the host
    /// wrote into the text buffer, packed by [`crate::pack_area`], or -1 when absent.
    pub const ELEMENT: &str = "firmware_element";
    /// `() -> i32`: (test and debug) write all visible text into the text buffer as UTF-8;
    /// returns its length, or -1 when it does not fit.
    pub const SCREEN_TEXT: &str = "firmware_screen_text";

    /// Every function export the host needs (besides [`MEMORY`]).
    pub const FUNCTIONS: [&str; 12] = [
        ABI_VERSION,
        BOOT_BLOCK,
        BOOT_BLOCK_CAPACITY,
        BOOT,
        HANDLE,
        TICK,
        POWER_FAIL,
        POWER_OFF,
        TEXT_BUFFER,
        TEXT_CAPACITY,
        ELEMENT,
        SCREEN_TEXT,
    ];
}

/// Display width in pixels.
pub const DISPLAY_WIDTH_PX: u32 = 800;
/// Display height in pixels.
pub const DISPLAY_HEIGHT_PX: u32 = 480;
/// Bytes per framebuffer pixel (RGB565, little-endian).
pub const PIXEL_BYTES: u32 = 2;
/// Bytes of one media sector.
pub const SECTOR_SIZE_BYTES: u32 = 512;
/// Printer dots per raster line.
pub const PRINTER_WIDTH_PX: u32 = 384;
/// Bytes of one printer raster line.
pub const PRINTER_LINE_BYTES: u32 = PRINTER_WIDTH_PX / 8;
/// Interval between two calls of [`export::TICK`], in milliseconds.
pub const TICK_INTERVAL_MS: u64 = 100;
/// Most bytes one [`import::ENTROPY_FILL`] call may ask for.
pub const MAX_ENTROPY_REQUEST_BYTES: u32 = 4096;
/// Most bytes one [`import::LOG`] line may have.
pub const MAX_LOG_BYTES: u32 = 1024;

/// Status code for success, returned by imports and exports alike.
pub const STATUS_OK: i32 = 0;

/// Kinds of input events passed to [`export::HANDLE`] as `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A touch tap: `a` = x, `b` = y in pixels.
    Tap,
    /// A voter key: `a` = key code ([`KEY_UP`] .. [`KEY_BACK`]).
    Key,
    /// An operator panel key: `a` = operator code ([`OPERATOR_ACTIVATE`] ..
    /// [`OPERATOR_POWER_OFF`]).
    Operator,
}

impl EventKind {
    /// The wire code.
    pub const fn code(self) -> i32 {
        match self {
            EventKind::Tap => 1,
            EventKind::Key => 2,
            EventKind::Operator => 3,
        }
    }

    /// The kind with this wire code.
    pub const fn from_code(code: i32) -> Option<EventKind> {
        match code {
            1 => Some(EventKind::Tap),
            2 => Some(EventKind::Key),
            3 => Some(EventKind::Operator),
            _ => None,
        }
    }
}

/// Key code: up.
pub const KEY_UP: i32 = 1;
/// Key code: down.
pub const KEY_DOWN: i32 = 2;
/// Key code: left.
pub const KEY_LEFT: i32 = 3;
/// Key code: right.
pub const KEY_RIGHT: i32 = 4;
/// Key code: enter.
pub const KEY_ENTER: i32 = 5;
/// Key code: back.
pub const KEY_BACK: i32 = 6;
/// Operator code: activate a voter.
pub const OPERATOR_ACTIVATE: i32 = 1;
/// Operator code: cancel the voter's session.
pub const OPERATOR_CANCEL: i32 = 2;
/// Operator code: open the poll.
pub const OPERATOR_OPEN: i32 = 3;
/// Operator code: close the poll.
pub const OPERATOR_CLOSE: i32 = 4;
/// Operator code: power off.
pub const OPERATOR_POWER_OFF: i32 = 5;

/// Statuses of the media imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaStatus {
    /// No media inserted.
    Missing,
    /// The sector is beyond the end of the media.
    OutOfRange,
    /// The read failed.
    ReadFailed,
    /// The write failed.
    WriteFailed,
    /// Power was lost during the operation.
    PowerLost,
}

impl MediaStatus {
    /// Every status.
    pub const ALL: [MediaStatus; 5] = [
        MediaStatus::Missing,
        MediaStatus::OutOfRange,
        MediaStatus::ReadFailed,
        MediaStatus::WriteFailed,
        MediaStatus::PowerLost,
    ];

    /// The wire code (never [`STATUS_OK`]).
    pub const fn code(self) -> i32 {
        match self {
            MediaStatus::Missing => 1,
            MediaStatus::OutOfRange => 2,
            MediaStatus::ReadFailed => 3,
            MediaStatus::WriteFailed => 4,
            MediaStatus::PowerLost => 5,
        }
    }

    /// The status with this wire code.
    pub fn from_code(code: i32) -> Option<MediaStatus> {
        MediaStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Statuses of the printer imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrinterStatus {
    /// The paper ran out.
    OutOfPaper,
    /// The printer does not answer.
    Offline,
}

impl PrinterStatus {
    /// The wire code (never [`STATUS_OK`]).
    pub const fn code(self) -> i32 {
        match self {
            PrinterStatus::OutOfPaper => 1,
            PrinterStatus::Offline => 2,
        }
    }

    /// The status with this wire code.
    pub const fn from_code(code: i32) -> Option<PrinterStatus> {
        match code {
            1 => Some(PrinterStatus::OutOfPaper),
            2 => Some(PrinterStatus::Offline),
            _ => None,
        }
    }
}

/// Status of [`import::ENTROPY_FILL`] when no entropy is available.
pub const ENTROPY_UNAVAILABLE: i32 = 1;
/// Status of [`import::DISPLAY_FLUSH`] when the rectangle or address is invalid.
pub const DISPLAY_TRANSFER_FAILED: i32 = 1;

/// Why [`export::BOOT`] refused to start (codes 1..=99; application errors use 100 and up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BootStatus {
    /// The boot block is malformed (see [`BootBlockError`]).
    BadBootBlock,
    /// The election definition does not decode or breaks a rule of the election model.
    BadElection,
    /// The PIN verifier is outside the accepted strength.
    BadPinVerifier,
    /// The firmware was already booted.
    AlreadyBooted,
}

impl BootStatus {
    /// Every status.
    pub const ALL: [BootStatus; 4] = [
        BootStatus::BadBootBlock,
        BootStatus::BadElection,
        BootStatus::BadPinVerifier,
        BootStatus::AlreadyBooted,
    ];

    /// The wire code.
    pub const fn code(self) -> i32 {
        match self {
            BootStatus::BadBootBlock => 1,
            BootStatus::BadElection => 2,
            BootStatus::BadPinVerifier => 3,
            BootStatus::AlreadyBooted => 4,
        }
    }

    /// The status with this wire code.
    pub fn from_code(code: i32) -> Option<BootStatus> {
        BootStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

impl fmt::Display for BootStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BootStatus::BadBootBlock => "the boot block is malformed",
            BootStatus::BadElection => "the election definition is invalid",
            BootStatus::BadPinVerifier => "the PIN verifier is too weak or too costly",
            BootStatus::AlreadyBooted => "the firmware was already booted",
        })
    }
}

/// Offset added to an application error code returned by an export.
pub const APP_ERROR_BASE: i32 = 100;
/// Status of an export called before a successful [`export::BOOT`].
pub const NOT_BOOTED: i32 = 99;
/// Status of [`export::HANDLE`] for an unknown event kind or code.
pub const UNKNOWN_EVENT: i32 = 98;

/// Pack a date for [`import::CLOCK_TODAY`]: `year << 16 | month << 8 | day`.
pub const fn pack_date(year: u16, month: u8, day: u8) -> i32 {
    // A u16 shifted by 16 stays below 2^32; the cast reinterprets the bits.
    (((year as u32) << 16) | ((month as u32) << 8) | (day as u32)) as i32
}

/// Unpack a date packed by [`pack_date`] into `(year, month, day)`.
pub const fn unpack_date(packed: i32) -> (u16, u8, u8) {
    let bits = packed as u32;
    ((bits >> 16) as u16, (bits >> 8) as u8, bits as u8)
}

/// Pack a screen area for [`export::ELEMENT`]: x, y, width, height as 16-bit fields, x highest.
pub const fn pack_area(x: u16, y: u16, width: u16, height: u16) -> i64 {
    (((x as u64) << 48) | ((y as u64) << 32) | ((width as u64) << 16) | (height as u64)) as i64
}

/// Unpack an area packed by [`pack_area`] into `(x, y, width, height)`; `None` for a negative
/// value (no such element).
pub const fn unpack_area(packed: i64) -> Option<(u16, u16, u16, u16)> {
    if packed < 0 {
        return None;
    }
    let bits = packed as u64;
    Some((
        (bits >> 48) as u16,
        (bits >> 32) as u16,
        (bits >> 16) as u16,
        bits as u16,
    ))
}

/// Magic at the start of a boot block.
pub const BOOT_BLOCK_MAGIC: [u8; 8] = *b"VTBOOT\x00\x01";
/// Bytes of a digest or key field in the boot block.
pub const KEY_BYTES: usize = 32;
/// Bytes of the PIN salt.
pub const PIN_SALT_BYTES: usize = 16;
/// Most bytes of the station name.
pub const MAX_STATION_BYTES: usize = 64;

/// Offsets of the boot block fields (all integers little-endian).
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic [`BOOT_BLOCK_MAGIC`] |
/// | 8 | 4 | ABI version (u32) |
/// | 12 | 32 | image fingerprint (SHA-256 of the signed manifest) |
/// | 44 | 32 | office X25519 public key |
/// | 76 | 16 | PIN verifier salt |
/// | 92 | 4 | PIN verifier iterations (u32) |
/// | 96 | 32 | PIN verifier hash |
/// | 128 | 1 | mode: 0 training, 1 official |
/// | 129 | 1 | station name length (0..=64) |
/// | 130 | 64 | station name, UTF-8, zero padded |
/// | 194 | 2 | reserved, zero |
/// | 196 | 4 | election definition length (u32) |
/// | 200 | n | election definition (postcard `firmware::election::Event`) |
pub mod layout {
    /// Magic.
    pub const MAGIC: usize = 0;
    /// ABI version.
    pub const VERSION: usize = 8;
    /// Image fingerprint.
    pub const FINGERPRINT: usize = 12;
    /// Office public key.
    pub const OFFICE_KEY: usize = 44;
    /// PIN salt.
    pub const PIN_SALT: usize = 76;
    /// PIN iterations.
    pub const PIN_ITERATIONS: usize = 92;
    /// PIN hash.
    pub const PIN_HASH: usize = 96;
    /// Mode.
    pub const MODE: usize = 128;
    /// Station name length.
    pub const STATION_LEN: usize = 129;
    /// Station name.
    pub const STATION: usize = 130;
    /// Reserved.
    pub const RESERVED: usize = 194;
    /// Election definition length.
    pub const ELECTION_LEN: usize = 196;
    /// Election definition bytes; also the size of the fixed header.
    pub const ELECTION: usize = 200;
}

/// Bytes of the fixed boot block header (before the election definition).
pub const BOOT_BLOCK_HEADER_BYTES: usize = layout::ELECTION;

/// Mode byte of a training image.
pub const MODE_TRAINING: u8 = 0;
/// Mode byte of an official image.
pub const MODE_OFFICIAL: u8 = 1;

/// The mode of the image the boot ROM verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BootMode {
    /// A training image (may be signed by dev keys; deterministic entropy allowed).
    Training,
    /// An official image.
    Official,
}

/// What the boot ROM hands to the payload after verifying the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootBlock<'a> {
    /// SHA-256 fingerprint of the verified image's manifest.
    pub image_fingerprint: [u8; KEY_BYTES],
    /// The election office's X25519 public key.
    pub office_public_key: [u8; KEY_BYTES],
    /// PIN verifier salt.
    pub pin_salt: [u8; PIN_SALT_BYTES],
    /// PIN verifier PBKDF2 iterations.
    pub pin_iterations: u32,
    /// PIN verifier hash.
    pub pin_hash: [u8; KEY_BYTES],
    /// Training or official.
    pub mode: BootMode,
    /// Polling station name (at most [`MAX_STATION_BYTES`] bytes).
    pub station: &'a str,
    /// The postcard-encoded election definition.
    pub election: &'a [u8],
}

/// Why a boot block could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BootBlockError {
    /// The buffer is shorter than the block.
    Truncated {
        /// Bytes the block needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The magic is wrong.
    BadMagic,
    /// The block is of another ABI version.
    UnsupportedVersion {
        /// Version found.
        found: u32,
    },
    /// The mode byte is neither training nor official.
    BadMode {
        /// Byte found.
        found: u8,
    },
    /// The station name is too long or not UTF-8.
    BadStation,
    /// The reserved bytes are not zero.
    NonZeroReserved,
}

impl fmt::Display for BootBlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootBlockError::Truncated { needed, available } => write!(
                f,
                "boot block: needs {needed} bytes, the buffer holds {available}"
            ),
            BootBlockError::BadMagic => f.write_str("boot block: bad magic"),
            BootBlockError::UnsupportedVersion { found } => {
                write!(f, "boot block: ABI version {found}, expected {ABI_VERSION}")
            }
            BootBlockError::BadMode { found } => write!(f, "boot block: mode byte {found}"),
            BootBlockError::BadStation => {
                f.write_str("boot block: station name longer than 64 bytes or not UTF-8")
            }
            BootBlockError::NonZeroReserved => f.write_str("boot block: reserved bytes not zero"),
        }
    }
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], BootBlockError> {
    let end = at.checked_add(N).ok_or(BootBlockError::BadMagic)?;
    let slice = bytes.get(at..end).ok_or(BootBlockError::Truncated {
        needed: end,
        available: bytes.len(),
    })?;
    let mut out = [0u8; N];
    out.copy_from_slice(slice);
    Ok(out)
}

fn put(buf: &mut [u8], at: usize, data: &[u8]) -> Result<(), BootBlockError> {
    let available = buf.len();
    let end = at
        .checked_add(data.len())
        .ok_or(BootBlockError::Truncated {
            needed: usize::MAX,
            available,
        })?;
    buf.get_mut(at..end)
        .ok_or(BootBlockError::Truncated {
            needed: end,
            available,
        })?
        .copy_from_slice(data);
    Ok(())
}

impl<'a> BootBlock<'a> {
    /// Total encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        BOOT_BLOCK_HEADER_BYTES.saturating_add(self.election.len())
    }

    /// Write the block at the start of `buf`; returns the bytes written.
    pub fn encode_into(&self, buf: &mut [u8]) -> Result<usize, BootBlockError> {
        let needed = self.encoded_len();
        if buf.len() < needed {
            return Err(BootBlockError::Truncated {
                needed,
                available: buf.len(),
            });
        }
        let station = self.station.as_bytes();
        let station_len = u8::try_from(station.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_STATION_BYTES)
            .ok_or(BootBlockError::BadStation)?;
        let election_len =
            u32::try_from(self.election.len()).map_err(|_| BootBlockError::Truncated {
                needed,
                available: buf.len(),
            })?;
        let mode = match self.mode {
            BootMode::Training => MODE_TRAINING,
            BootMode::Official => MODE_OFFICIAL,
        };
        put(buf, layout::MAGIC, &BOOT_BLOCK_MAGIC)?;
        put(buf, layout::VERSION, &ABI_VERSION.to_le_bytes())?;
        put(buf, layout::FINGERPRINT, &self.image_fingerprint)?;
        put(buf, layout::OFFICE_KEY, &self.office_public_key)?;
        put(buf, layout::PIN_SALT, &self.pin_salt)?;
        put(
            buf,
            layout::PIN_ITERATIONS,
            &self.pin_iterations.to_le_bytes(),
        )?;
        put(buf, layout::PIN_HASH, &self.pin_hash)?;
        put(buf, layout::MODE, &[mode, station_len])?;
        let mut padded = [0u8; MAX_STATION_BYTES];
        if let Some(head) = padded.get_mut(..station.len()) {
            head.copy_from_slice(station);
        }
        put(buf, layout::STATION, &padded)?;
        put(buf, layout::RESERVED, &[0, 0])?;
        put(buf, layout::ELECTION_LEN, &election_len.to_le_bytes())?;
        put(buf, layout::ELECTION, self.election)?;
        Ok(needed)
    }

    /// Read a block from the start of `bytes` (bytes after the block are ignored: the
    /// buffer is larger than the block).
    pub fn decode(bytes: &'a [u8]) -> Result<BootBlock<'a>, BootBlockError> {
        if field::<8>(bytes, layout::MAGIC)? != BOOT_BLOCK_MAGIC {
            return Err(BootBlockError::BadMagic);
        }
        let version = u32::from_le_bytes(field(bytes, layout::VERSION)?);
        if version != ABI_VERSION {
            return Err(BootBlockError::UnsupportedVersion { found: version });
        }
        let [mode, station_len] = field::<2>(bytes, layout::MODE)?;
        let mode = match mode {
            MODE_TRAINING => BootMode::Training,
            MODE_OFFICIAL => BootMode::Official,
            found => return Err(BootBlockError::BadMode { found }),
        };
        let station_len = usize::from(station_len);
        if station_len > MAX_STATION_BYTES {
            return Err(BootBlockError::BadStation);
        }
        let station_end = layout::STATION.saturating_add(station_len);
        let station = bytes
            .get(layout::STATION..station_end)
            .ok_or(BootBlockError::Truncated {
                needed: station_end,
                available: bytes.len(),
            })?;
        let station = core::str::from_utf8(station).map_err(|_| BootBlockError::BadStation)?;
        let padding = field::<MAX_STATION_BYTES>(bytes, layout::STATION)?;
        if padding.iter().skip(station_len).any(|&b| b != 0) {
            return Err(BootBlockError::BadStation);
        }
        if field::<2>(bytes, layout::RESERVED)? != [0, 0] {
            return Err(BootBlockError::NonZeroReserved);
        }
        let election_len = u32::from_le_bytes(field(bytes, layout::ELECTION_LEN)?);
        let needed = usize::try_from(election_len)
            .ok()
            .and_then(|n| n.checked_add(layout::ELECTION))
            .unwrap_or(usize::MAX);
        let election = bytes
            .get(layout::ELECTION..needed)
            .ok_or(BootBlockError::Truncated {
                needed,
                available: bytes.len(),
            })?;
        Ok(BootBlock {
            image_fingerprint: field(bytes, layout::FINGERPRINT)?,
            office_public_key: field(bytes, layout::OFFICE_KEY)?,
            pin_salt: field(bytes, layout::PIN_SALT)?,
            pin_iterations: u32::from_le_bytes(field(bytes, layout::PIN_ITERATIONS)?),
            pin_hash: field(bytes, layout::PIN_HASH)?,
            mode,
            station,
            election,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    fn sample(election: &[u8]) -> BootBlock<'_> {
        BootBlock {
            image_fingerprint: [1; 32],
            office_public_key: [2; 32],
            pin_salt: [3; 16],
            pin_iterations: 100_000,
            pin_hash: [4; 32],
            mode: BootMode::Training,
            station: "Bureau 12 Brussel",
            election,
        }
    }

    #[test]
    fn layout_is_contiguous() {
        assert_eq!(layout::VERSION, layout::MAGIC + 8);
        assert_eq!(layout::FINGERPRINT, layout::VERSION + 4);
        assert_eq!(layout::OFFICE_KEY, layout::FINGERPRINT + KEY_BYTES);
        assert_eq!(layout::PIN_SALT, layout::OFFICE_KEY + KEY_BYTES);
        assert_eq!(layout::PIN_ITERATIONS, layout::PIN_SALT + PIN_SALT_BYTES);
        assert_eq!(layout::PIN_HASH, layout::PIN_ITERATIONS + 4);
        assert_eq!(layout::MODE, layout::PIN_HASH + KEY_BYTES);
        assert_eq!(layout::STATION, layout::STATION_LEN + 1);
        assert_eq!(layout::RESERVED, layout::STATION + MAX_STATION_BYTES);
        assert_eq!(layout::ELECTION_LEN, layout::RESERVED + 2);
        assert_eq!(layout::ELECTION, layout::ELECTION_LEN + 4);
    }

    #[test]
    fn worked_example_bytes() {
        let block = sample(b"\x01\x02");
        let mut buf = [0xAAu8; 300];
        let n = block.encode_into(&mut buf).unwrap();
        assert_eq!(n, 202);
        assert_eq!(&buf[..8], b"VTBOOT\x00\x01");
        assert_eq!(&buf[8..12], &[1, 0, 0, 0]);
        assert_eq!(&buf[92..96], &100_000u32.to_le_bytes());
        assert_eq!(buf[128], MODE_TRAINING);
        assert_eq!(buf[129], 17);
        assert_eq!(&buf[196..202], &[2, 0, 0, 0, 1, 2]);
        assert_eq!(buf[202], 0xAA, "nothing written past the block");
    }

    #[test]
    fn refuses_bad_blocks() {
        let mut buf = [0u8; 256];
        sample(b"xy").encode_into(&mut buf).unwrap();
        let mut bad = buf;
        bad[0] ^= 1;
        assert_eq!(BootBlock::decode(&bad), Err(BootBlockError::BadMagic));
        let mut bad = buf;
        bad[8] = 2;
        assert_eq!(
            BootBlock::decode(&bad),
            Err(BootBlockError::UnsupportedVersion { found: 2 })
        );
        let mut bad = buf;
        bad[128] = 7;
        assert_eq!(
            BootBlock::decode(&bad),
            Err(BootBlockError::BadMode { found: 7 })
        );
        let mut bad = buf;
        bad[129] = 65;
        assert_eq!(BootBlock::decode(&bad), Err(BootBlockError::BadStation));
        let mut bad = buf;
        bad[190] = 1;
        assert_eq!(BootBlock::decode(&bad), Err(BootBlockError::BadStation));
        let mut bad = buf;
        bad[195] = 1;
        assert_eq!(
            BootBlock::decode(&bad),
            Err(BootBlockError::NonZeroReserved)
        );
        assert_eq!(
            BootBlock::decode(&buf[..201]),
            Err(BootBlockError::Truncated {
                needed: 202,
                available: 201
            })
        );
        let mut small = [0u8; 201];
        assert!(matches!(
            sample(b"xy").encode_into(&mut small),
            Err(BootBlockError::Truncated { needed: 202, .. })
        ));
        let long = "x".repeat(65);
        let mut block = sample(b"");
        block.station = &long;
        assert_eq!(block.encode_into(&mut buf), Err(BootBlockError::BadStation));
    }

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for s in MediaStatus::ALL {
            assert_ne!(s.code(), STATUS_OK);
            assert_eq!(MediaStatus::from_code(s.code()), Some(s));
        }
        for s in BootStatus::ALL {
            assert!(s.code() > 0 && s.code() < NOT_BOOTED);
            assert_eq!(BootStatus::from_code(s.code()), Some(s));
        }
        for k in [EventKind::Tap, EventKind::Key, EventKind::Operator] {
            assert_eq!(EventKind::from_code(k.code()), Some(k));
        }
        for p in [PrinterStatus::OutOfPaper, PrinterStatus::Offline] {
            assert_eq!(PrinterStatus::from_code(p.code()), Some(p));
        }
        assert_eq!(unpack_area(-1), None);
    }

    proptest! {
        #[test]
        fn boot_block_round_trips(
            fp in any::<[u8; 32]>(), key in any::<[u8; 32]>(), salt in any::<[u8; 16]>(),
            iterations in any::<u32>(), hash in any::<[u8; 32]>(), official in any::<bool>(),
            station in "[a-zA-Z0-9 éè]{0,20}",
            election in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let block = BootBlock {
                image_fingerprint: fp, office_public_key: key, pin_salt: salt,
                pin_iterations: iterations, pin_hash: hash,
                mode: if official { BootMode::Official } else { BootMode::Training },
                station: &station, election: &election,
            };
            let mut buf = vec![0u8; block.encoded_len() + 17];
            let n = block.encode_into(&mut buf).unwrap();
            prop_assert_eq!(n, block.encoded_len());
            prop_assert_eq!(BootBlock::decode(&buf).unwrap(), block);
        }

        #[test]
        fn dates_and_areas_round_trip(y in any::<u16>(), m in any::<u8>(), d in any::<u8>(),
                                      x in 0u16..0x8000, yy in any::<u16>(), w in any::<u16>(), h in any::<u16>()) {
            prop_assert_eq!(unpack_date(pack_date(y, m, d)), (y, m, d));
            prop_assert_eq!(unpack_area(pack_area(x, yy, w, h)), Some((x, yy, w, h)));
        }
    }
}
