//! The emulated hardware behind the device ABI imports: screen, removable media, printer,
//! clock, entropy source and the diagnostic log.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use device_abi::{
    MediaStatus, DISPLAY_HEIGHT_PX, DISPLAY_WIDTH_PX, PRINTER_LINE_BYTES, SECTOR_SIZE_BYTES,
};
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

/// Pixels of the screen.
pub const SCREEN_PIXELS: usize = (DISPLAY_WIDTH_PX * DISPLAY_HEIGHT_PX) as usize;
/// Sectors of a media file the simulator creates when `--media` names a missing file
/// (16 MiB: room for every session of a large station).
pub const DEFAULT_MEDIA_SECTORS: u32 = 32_768;
/// Label of the deterministic training entropy (SHA-256 counter mode over the seed).
pub const SEEDED_ENTROPY_LABEL: &[u8] = b"voting-terminal simulator entropy v1/";

const SECTOR: usize = SECTOR_SIZE_BYTES as usize;
/// One printer raster line.
pub type RasterLine = [u8; PRINTER_LINE_BYTES as usize];

/// What went wrong with the media file on the host side.
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaFileError {
    /// The file could not be opened, created or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The file's size is not a whole number of sectors, or is empty.
    BadSize {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        bytes: u64,
    },
}

impl fmt::Display for MediaFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaFileError::Io { path, source } => {
                write!(f, "media file {}: {source}", path.display())
            }
            MediaFileError::BadSize { path, bytes } => write!(
                f,
                "media file {}: {bytes} bytes is not a positive multiple of {SECTOR} (one sector)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for MediaFileError {}

/// The screen as the display controller holds it (what the user sees).
pub struct Screen {
    /// RGB565 pixels, row-major, 800 per row.
    pub pixels: Vec<u16>,
    /// Number of flushes received.
    pub flushes: u64,
}

impl Default for Screen {
    fn default() -> Self {
        Screen {
            pixels: vec![0; SCREEN_PIXELS],
            flushes: 0,
        }
    }
}

/// Where the media sectors live.
enum Backing {
    /// A file on the host (`--media`), written through on every sector write.
    File { file: File, path: PathBuf },
    /// Host memory (tests).
    Ram(Vec<u8>),
}

/// The removable results media.
pub struct Media {
    backing: Option<Backing>,
    sectors: u32,
    inserted: bool,
    powered: bool,
    /// Sector writes accepted.
    pub writes: u64,
}

impl Media {
    /// No media in the slot.
    pub fn none() -> Media {
        Media {
            backing: None,
            sectors: 0,
            inserted: false,
            powered: true,
            writes: 0,
        }
    }

    /// Media in host memory with `sectors` zeroed sectors.
    pub fn ram(sectors: u32) -> Media {
        Media {
            backing: Some(Backing::Ram(vec![0; sectors as usize * SECTOR])),
            sectors,
            inserted: true,
            powered: true,
            writes: 0,
        }
    }

    /// Open `path`, creating it with [`DEFAULT_MEDIA_SECTORS`] zeroed sectors when missing.
    pub fn file(path: &Path) -> Result<Media, MediaFileError> {
        let io = |source| MediaFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        if !existed {
            file.set_len(u64::from(DEFAULT_MEDIA_SECTORS) * u64::from(SECTOR_SIZE_BYTES))
                .map_err(io)?;
        }
        let bytes = file.metadata().map_err(io)?.len();
        let sectors = u32::try_from(bytes / u64::from(SECTOR_SIZE_BYTES))
            .ok()
            .filter(|&s| s > 0 && bytes % u64::from(SECTOR_SIZE_BYTES) == 0)
            .ok_or(MediaFileError::BadSize {
                path: path.to_path_buf(),
                bytes,
            })?;
        Ok(Media {
            backing: Some(Backing::File {
                file,
                path: path.to_path_buf(),
            }),
            sectors,
            inserted: true,
            powered: true,
            writes: 0,
        })
    }

    /// Pull the media out of the slot.
    pub fn pull(&mut self) {
        self.inserted = false;
    }

    /// The power is gone: every later operation fails with `PowerLost`.
    pub fn cut_power(&mut self) {
        self.powered = false;
    }

    /// The whole media contents (for tests and replay comparisons).
    pub fn contents(&mut self) -> Result<Vec<u8>, MediaFileError> {
        match &mut self.backing {
            None => Ok(Vec::new()),
            Some(Backing::Ram(bytes)) => Ok(bytes.clone()),
            Some(Backing::File { file, path }) => {
                let mut out = Vec::new();
                file.seek(SeekFrom::Start(0))
                    .and_then(|_| file.read_to_end(&mut out))
                    .map_err(|source| MediaFileError::Io {
                        path: path.clone(),
                        source,
                    })?;
                Ok(out)
            }
        }
    }

    fn ready(&self) -> Result<(), MediaStatus> {
        if !self.powered {
            return Err(MediaStatus::PowerLost);
        }
        if !self.inserted || self.backing.is_none() {
            return Err(MediaStatus::Missing);
        }
        Ok(())
    }

    fn offset(&self, sector: u32) -> Result<usize, MediaStatus> {
        if sector >= self.sectors {
            return Err(MediaStatus::OutOfRange);
        }
        Ok(sector as usize * SECTOR)
    }

    /// Size in sectors.
    pub fn sectors(&self) -> Result<u32, MediaStatus> {
        self.ready()?;
        Ok(self.sectors)
    }

    /// Read one sector.
    pub fn read(&mut self, sector: u32, buf: &mut [u8]) -> Result<(), MediaStatus> {
        self.ready()?;
        let at = self.offset(sector)?;
        match &mut self.backing {
            Some(Backing::Ram(bytes)) => {
                let src = bytes.get(at..at + SECTOR).ok_or(MediaStatus::OutOfRange)?;
                buf.copy_from_slice(src);
                Ok(())
            }
            Some(Backing::File { file, .. }) => file
                .seek(SeekFrom::Start(at as u64))
                .and_then(|_| file.read_exact(buf))
                .map_err(|_| MediaStatus::ReadFailed),
            None => Err(MediaStatus::Missing),
        }
    }

    /// Write one sector (through to the file).
    pub fn write(&mut self, sector: u32, data: &[u8]) -> Result<(), MediaStatus> {
        self.ready()?;
        let at = self.offset(sector)?;
        match &mut self.backing {
            Some(Backing::Ram(bytes)) => {
                let dst = bytes
                    .get_mut(at..at + SECTOR)
                    .ok_or(MediaStatus::OutOfRange)?;
                dst.copy_from_slice(data);
            }
            Some(Backing::File { file, .. }) => file
                .seek(SeekFrom::Start(at as u64))
                .and_then(|_| file.write_all(data))
                .map_err(|_| MediaStatus::WriteFailed)?,
            None => return Err(MediaStatus::Missing),
        }
        self.writes += 1;
        Ok(())
    }

    /// Make earlier writes durable.
    pub fn flush(&mut self) -> Result<(), MediaStatus> {
        self.ready()?;
        match &mut self.backing {
            Some(Backing::File { file, .. }) => {
                file.sync_data().map_err(|_| MediaStatus::WriteFailed)
            }
            _ => Ok(()),
        }
    }
}

/// The receipt printer: a list of cut receipts and the one being printed.
#[derive(Default)]
pub struct Printer {
    /// Receipts already cut.
    pub receipts: Vec<Vec<RasterLine>>,
    /// Lines printed since the last cut.
    pub current: Vec<RasterLine>,
}

impl Printer {
    /// Every receipt, including a last one not cut yet.
    pub fn all_receipts(&self) -> Vec<&[RasterLine]> {
        let mut all: Vec<&[RasterLine]> = self.receipts.iter().map(Vec::as_slice).collect();
        if !self.current.is_empty() {
            all.push(&self.current);
        }
        all
    }
}

/// The real-time clock and the monotonic timer, both simulated (deterministic).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Milliseconds since power-on.
    pub now_ms: u64,
    /// Today's date: year, month, day.
    pub today: (u16, u8, u8),
}

/// Where entropy comes from.
pub enum Entropy {
    /// The operating system's generator (official and training images).
    Os(SystemRandom),
    /// Deterministic bytes from a seed (training images only, `--entropy-seed`).
    Seeded {
        /// The seed.
        seed: [u8; 32],
        /// Blocks produced so far.
        counter: u64,
    },
}

impl Entropy {
    /// Fill `buf`; `false` when the source failed.
    pub fn fill(&mut self, buf: &mut [u8]) -> bool {
        match self {
            Entropy::Os(rng) => rng.fill(buf).is_ok(),
            Entropy::Seeded { seed, counter } => {
                for chunk in buf.chunks_mut(digest::SHA256_OUTPUT_LEN) {
                    let mut ctx = digest::Context::new(&digest::SHA256);
                    ctx.update(SEEDED_ENTROPY_LABEL);
                    ctx.update(seed);
                    ctx.update(&counter.to_le_bytes());
                    let block = ctx.finish();
                    chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
                    *counter += 1;
                }
                true
            }
        }
    }
}

/// All emulated devices.
pub struct Devices {
    /// The screen.
    pub screen: Screen,
    /// The results media.
    pub media: Media,
    /// The printer.
    pub printer: Printer,
    /// Clock and timer.
    pub clock: Clock,
    /// Entropy source.
    pub entropy: Entropy,
    /// Every byte handed out by the entropy source, when recording is on (tests scan memory
    /// for it after power-off).
    pub entropy_record: Option<Vec<u8>>,
    /// Diagnostic lines from the payload.
    pub log: Vec<String>,
    /// Echo log lines to stderr as they arrive.
    pub echo_log: bool,
}

impl Devices {
    /// Devices with the given media, date and entropy; blank screen, empty printer.
    pub fn new(media: Media, today: (u16, u8, u8), entropy: Entropy) -> Devices {
        Devices {
            screen: Screen::default(),
            media,
            printer: Printer::default(),
            clock: Clock { now_ms: 0, today },
            entropy,
            entropy_record: None,
            log: Vec::new(),
            echo_log: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_entropy_is_deterministic_and_seed_dependent() {
        let mut a = Entropy::Seeded {
            seed: [7; 32],
            counter: 0,
        };
        let mut b = Entropy::Seeded {
            seed: [7; 32],
            counter: 0,
        };
        let mut c = Entropy::Seeded {
            seed: [8; 32],
            counter: 0,
        };
        let (mut x, mut y, mut z) = ([0u8; 70], [0u8; 70], [0u8; 70]);
        assert!(a.fill(&mut x) && b.fill(&mut y) && c.fill(&mut z));
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut next = [0u8; 70];
        a.fill(&mut next);
        assert_ne!(x, next, "the stream never repeats a block");
    }

    #[test]
    fn media_statuses() {
        let mut m = Media::ram(4);
        let mut buf = [0u8; SECTOR];
        assert_eq!(m.sectors(), Ok(4));
        assert_eq!(m.read(4, &mut buf), Err(MediaStatus::OutOfRange));
        m.write(1, &[9; SECTOR]).unwrap();
        m.read(1, &mut buf).unwrap();
        assert_eq!(buf, [9; SECTOR]);
        m.pull();
        assert_eq!(m.read(1, &mut buf), Err(MediaStatus::Missing));
        m.cut_power();
        assert_eq!(m.flush(), Err(MediaStatus::PowerLost));
        assert_eq!(Media::none().sectors(), Err(MediaStatus::Missing));
    }
}
