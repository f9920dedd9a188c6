//! The firmware's device traits over the device ABI imports (module `device`).

use device_abi::{unpack_date, MediaStatus, PrinterStatus, MAX_ENTROPY_REQUEST_BYTES, STATUS_OK};
use firmware::app::Devices;
use firmware::election::Date;
use firmware::hal::{
    Area, Clock, Display, DisplayError, Entropy, EntropyError, Framebuffer, Media, MediaError,
    Printer, PrinterError, RasterLine, SECTOR_SIZE_BYTES,
};

/// The imports, as the host provides them.
#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "device")]
    extern "C" {
        pub fn display_flush(fb: *const u16, x: i32, y: i32, width: i32, height: i32) -> i32;
        pub fn media_sectors() -> i64;
        pub fn media_read(sector: i32, buf: *mut u8) -> i32;
        pub fn media_write(sector: i32, buf: *const u8) -> i32;
        pub fn media_flush() -> i32;
        pub fn printer_line(line: *const u8) -> i32;
        pub fn printer_cut() -> i32;
        pub fn clock_now_ms() -> i64;
        pub fn clock_today() -> i32;
        pub fn entropy_fill(buf: *mut u8, len: i32) -> i32;
    }
}

/// Host-side stand-ins for the imports, so the glue's unit tests run natively: a screen
/// that counts flushes, 64 sectors of RAM media, a printer that counts lines, a fixed date
/// and a counter as "entropy" (tests only; the payload always uses the real imports).
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(
    unsafe_code,
    clippy::missing_safety_doc,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]
pub(crate) mod host {
    use std::sync::Mutex;

    pub static FLUSHES: Mutex<u32> = Mutex::new(0);
    pub static MEDIA: Mutex<[u8; 64 * 512]> = Mutex::new([0; 64 * 512]);
    pub static LINES: Mutex<u32> = Mutex::new(0);

    pub unsafe fn display_flush(_: *const u16, _: i32, _: i32, _: i32, _: i32) -> i32 {
        *FLUSHES.lock().unwrap() += 1;
        0
    }
    pub unsafe fn media_sectors() -> i64 {
        64
    }
    pub unsafe fn media_read(sector: i32, buf: *mut u8) -> i32 {
        let media = MEDIA.lock().unwrap();
        let at = usize::try_from(sector).unwrap() * 512;
        // SAFETY: the glue passes a 512-byte sector buffer.
        unsafe { core::ptr::copy_nonoverlapping(media[at..at + 512].as_ptr(), buf, 512) };
        0
    }
    pub unsafe fn media_write(sector: i32, buf: *const u8) -> i32 {
        let mut media = MEDIA.lock().unwrap();
        let at = usize::try_from(sector).unwrap() * 512;
        // SAFETY: the glue passes a 512-byte sector buffer.
        unsafe { core::ptr::copy_nonoverlapping(buf, media[at..at + 512].as_mut_ptr(), 512) };
        0
    }
    pub unsafe fn media_flush() -> i32 {
        0
    }
    pub unsafe fn printer_line(_: *const u8) -> i32 {
        *LINES.lock().unwrap() += 1;
        0
    }
    pub unsafe fn printer_cut() -> i32 {
        0
    }
    pub unsafe fn clock_now_ms() -> i64 {
        0
    }
    pub unsafe fn clock_today() -> i32 {
        device_abi::pack_date(2026, 5, 31)
    }
    pub unsafe fn entropy_fill(buf: *mut u8, len: i32) -> i32 {
        static NEXT: Mutex<u8> = Mutex::new(0);
        let mut next = NEXT.lock().unwrap();
        for i in 0..usize::try_from(len).unwrap() {
            // SAFETY: the glue passes a buffer of `len` bytes.
            unsafe { *buf.add(i) = *next };
            *next = next.wrapping_add(1);
        }
        0
    }
}

/// Sectors as the ABI passes them (the bits of the u32).
fn sector_arg(sector: u32) -> i32 {
    i32::from_ne_bytes(sector.to_ne_bytes())
}

/// The display panel.
pub struct HostDisplay;

impl Display for HostDisplay {
    fn flush(&mut self, frame: &Framebuffer, area: Area) -> Result<(), DisplayError> {
        // SAFETY: the host reads the 800x480 framebuffer at this address within the call
        // and keeps no pointer; the area lies within the display (an `Area` invariant).
        #[allow(unsafe_code)]
        let status = unsafe {
            host::display_flush(
                frame.pixels().as_ptr(),
                i32::from(area.x()),
                i32::from(area.y()),
                i32::from(area.width()),
                i32::from(area.height()),
            )
        };
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(DisplayError::TransferFailed)
        }
    }
}

/// The removable results media.
pub struct HostMedia;

fn media_error(status: i32, sector: u32, read: bool) -> MediaError {
    match MediaStatus::from_code(status) {
        Some(MediaStatus::Missing) => MediaError::Missing,
        Some(MediaStatus::OutOfRange) => MediaError::OutOfRange {
            sector,
            // The size is only known to the host; ask it.
            sectors: HostMedia.sectors().unwrap_or(0),
        },
        Some(MediaStatus::PowerLost) => MediaError::PowerLost,
        Some(MediaStatus::ReadFailed) => MediaError::ReadFailed { sector },
        Some(MediaStatus::WriteFailed) => MediaError::WriteFailed { sector },
        _ if read => MediaError::ReadFailed { sector },
        _ => MediaError::WriteFailed { sector },
    }
}

impl Media for HostMedia {
    fn sectors(&mut self) -> Result<u32, MediaError> {
        // SAFETY: an import without pointer arguments.
        #[allow(unsafe_code)]
        let n = unsafe { host::media_sectors() };
        match u32::try_from(n) {
            Ok(n) => Ok(n),
            Err(_) => match i32::try_from(n.saturating_neg())
                .ok()
                .and_then(MediaStatus::from_code)
            {
                Some(MediaStatus::PowerLost) => Err(MediaError::PowerLost),
                _ => Err(MediaError::Missing),
            },
        }
    }

    fn read(&mut self, sector: u32, buf: &mut [u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        // SAFETY: `buf` is a valid, exclusive 512-byte buffer for the duration of the call;
        // the host writes at most 512 bytes into it.
        #[allow(unsafe_code)]
        let status = unsafe { host::media_read(sector_arg(sector), buf.as_mut_ptr()) };
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(media_error(status, sector, true))
        }
    }

    fn write(&mut self, sector: u32, data: &[u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError> {
        // SAFETY: `data` is a valid 512-byte buffer the host only reads during the call.
        #[allow(unsafe_code)]
        let status = unsafe { host::media_write(sector_arg(sector), data.as_ptr()) };
        if status == STATUS_OK {
            Ok(())
        } else {
            Err(media_error(status, sector, false))
        }
    }

    fn flush(&mut self) -> Result<(), MediaError> {
        // SAFETY: an import without pointer arguments.
        #[allow(unsafe_code)]
        let status = unsafe { host::media_flush() };
        match MediaStatus::from_code(status) {
            None if status == STATUS_OK => Ok(()),
            Some(MediaStatus::Missing) => Err(MediaError::Missing),
            Some(MediaStatus::PowerLost) => Err(MediaError::PowerLost),
            _ => Err(MediaError::WriteFailed { sector: 0 }),
        }
    }
}

/// The receipt printer.
pub struct HostPrinter;

fn printer_result(status: i32) -> Result<(), PrinterError> {
    match PrinterStatus::from_code(status) {
        None if status == STATUS_OK => Ok(()),
        Some(PrinterStatus::OutOfPaper) => Err(PrinterError::OutOfPaper),
        _ => Err(PrinterError::Offline),
    }
}

impl Printer for HostPrinter {
    fn print_line(&mut self, line: &RasterLine) -> Result<(), PrinterError> {
        // SAFETY: `line` is a valid 48-byte buffer the host only reads during the call.
        #[allow(unsafe_code)]
        let status = unsafe { host::printer_line(line.as_ptr()) };
        printer_result(status)
    }

    fn cut(&mut self) -> Result<(), PrinterError> {
        // SAFETY: an import without pointer arguments.
        #[allow(unsafe_code)]
        let status = unsafe { host::printer_cut() };
        printer_result(status)
    }
}

/// The RTC and millisecond timer.
pub struct HostClock;

/// The date used when the host's RTC reports an impossible date.
const UNSET_DATE: Date = Date {
    year: 2000,
    month: 1,
    day: 1,
};

impl Clock for HostClock {
    fn now_ms(&self) -> u64 {
        // SAFETY: an import without pointer arguments.
        #[allow(unsafe_code)]
        let ms = unsafe { host::clock_now_ms() };
        u64::try_from(ms).unwrap_or(0)
    }

    fn today(&self) -> Date {
        // SAFETY: an import without pointer arguments.
        #[allow(unsafe_code)]
        let packed = unsafe { host::clock_today() };
        let (y, m, d) = unpack_date(packed);
        Date::new(y, m, d).unwrap_or(UNSET_DATE)
    }
}

/// The hardware random number generator.
pub struct HostEntropy;

impl Entropy for HostEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        let chunk = usize::try_from(MAX_ENTROPY_REQUEST_BYTES).unwrap_or(256);
        for part in buf.chunks_mut(chunk) {
            let len = i32::try_from(part.len()).map_err(|_| EntropyError::Unavailable)?;
            // SAFETY: `part` is a valid, exclusive buffer of `len` bytes for the call.
            #[allow(unsafe_code)]
            let status = unsafe { host::entropy_fill(part.as_mut_ptr(), len) };
            if status != STATUS_OK {
                return Err(EntropyError::Unavailable);
            }
        }
        Ok(())
    }
}

/// One set of device handles, lent to the app for one export call.
pub struct Hardware {
    display: HostDisplay,
    media: HostMedia,
    printer: HostPrinter,
    clock: HostClock,
    entropy: HostEntropy,
}

impl Hardware {
    /// The devices (they hold no state: it is all on the host).
    pub const fn new() -> Hardware {
        Hardware {
            display: HostDisplay,
            media: HostMedia,
            printer: HostPrinter,
            clock: HostClock,
            entropy: HostEntropy,
        }
    }

    /// Borrow them as the app's `Devices`.
    pub fn devices(&mut self) -> Devices<'_> {
        Devices {
            display: &mut self.display,
            media: &mut self.media,
            printer: &mut self.printer,
            clock: &self.clock,
            entropy: &mut self.entropy,
        }
    }
}
