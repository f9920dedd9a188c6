//! The device traits (the HAL): the only way the firmware talks to hardware.
//!
//! The wasm glue implements them through the payload's imports, boards implement them with
//! drivers, and [`doubles`] implements them in RAM for tests. The surface is deliberately
//! small and versioned by [`HAL_VERSION`]; a change to any trait, constant or code below
//! bumps it.
//!
//! | device | trait | what it does |
//! |---|---|---|
//! | display | [`Display`] | shows a dirty [`Area`] of the 800x480 RGB565 [`Framebuffer`] |
//! | input | [`Input`] | touch taps, navigation keys, operator keys ([`InputEvent`]) |
//! | removable media | [`Media`] | 512-byte sector read / write / flush, size |
//! | printer | [`Printer`] | 384-pixel 1-bit raster lines, cut |
//! | clock | [`Clock`] | RTC date and monotonic milliseconds |
//! | entropy | [`Entropy`] | bytes from the hardware TRNG |
//! | power | [`Power`] | power-off request, power-fail notice |

use crate::election::Date;
use core::convert::Infallible;
use core::fmt;
use core::ops::Range;
use embedded_graphics::geometry::{OriginDimensions, Size};
use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::{IntoStorage, Rgb565};
use embedded_graphics::prelude::{DrawTarget, Point};
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::Pixel;

pub mod doubles;

/// Version of the device interface; bumped on every change to a trait, constant or code here.
pub const HAL_VERSION: u16 = 1;

// ---------------------------------------------------------------------------------------------
// Display

/// Display width in pixels.
pub const DISPLAY_WIDTH_PX: u16 = 800;
/// Display height in pixels.
pub const DISPLAY_HEIGHT_PX: u16 = 480;
/// Pixels in the framebuffer.
pub const FRAMEBUFFER_PIXELS: usize = DISPLAY_WIDTH_PX as usize * DISPLAY_HEIGHT_PX as usize;
/// RAM taken by the framebuffer's pixels (RGB565, 2 bytes each): 768,000 bytes.
pub const FRAMEBUFFER_BYTES: usize = FRAMEBUFFER_PIXELS * 2;

const WIDTH: usize = DISPLAY_WIDTH_PX as usize;

/// A non-empty rectangle of pixels lying wholly on the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Area {
    x: u16,
    y: u16,
    width: u16,
    height: u16,
}

impl Area {
    /// The whole display.
    pub const FULL: Area = Area {
        x: 0,
        y: 0,
        width: DISPLAY_WIDTH_PX,
        height: DISPLAY_HEIGHT_PX,
    };

    /// The area at (`x`, `y`) of `width` x `height` pixels, if non-empty and on the display.
    pub fn new(x: u16, y: u16, width: u16, height: u16) -> Option<Area> {
        let right = x.checked_add(width)?;
        let bottom = y.checked_add(height)?;
        (width > 0 && height > 0 && right <= DISPLAY_WIDTH_PX && bottom <= DISPLAY_HEIGHT_PX)
            .then_some(Area {
                x,
                y,
                width,
                height,
            })
    }

    /// Left column.
    pub const fn x(&self) -> u16 {
        self.x
    }

    /// Top row.
    pub const fn y(&self) -> u16 {
        self.y
    }

    /// Width in pixels (at least 1).
    pub const fn width(&self) -> u16 {
        self.width
    }

    /// Height in pixels (at least 1).
    pub const fn height(&self) -> u16 {
        self.height
    }

    /// The columns covered, `x..x + width`.
    pub fn columns(&self) -> Range<u16> {
        self.x..self.x.saturating_add(self.width)
    }

    /// The rows covered, `y..y + height`.
    pub fn rows(&self) -> Range<u16> {
        self.y..self.y.saturating_add(self.height)
    }

    /// Pixels covered.
    pub fn pixels(&self) -> usize {
        usize::from(self.width).saturating_mul(usize::from(self.height))
    }

    /// Whether pixel (`x`, `y`) lies in the area.
    pub fn contains(&self, x: u16, y: u16) -> bool {
        self.columns().contains(&x) && self.rows().contains(&y)
    }

    /// The smallest area covering both.
    #[must_use]
    pub fn union(self, other: Area) -> Area {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        let right = self.columns().end.max(other.columns().end);
        let bottom = self.rows().end.max(other.rows().end);
        Area {
            x,
            y,
            width: right.saturating_sub(x),
            height: bottom.saturating_sub(y),
        }
    }

    /// The area as an embedded-graphics rectangle.
    pub fn to_rectangle(self) -> Rectangle {
        Rectangle::new(
            Point::new(i32::from(self.x), i32::from(self.y)),
            Size::new(u32::from(self.width), u32::from(self.height)),
        )
    }

    /// The part of `rect` on the display, if any.
    pub fn clip(rect: &Rectangle) -> Option<Area> {
        let on_screen = rect.intersection(&Area::FULL.to_rectangle());
        Area::new(
            u16::try_from(on_screen.top_left.x).ok()?,
            u16::try_from(on_screen.top_left.y).ok()?,
            u16::try_from(on_screen.size.width).ok()?,
            u16::try_from(on_screen.size.height).ok()?,
        )
    }
}

/// Errors of the display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisplayError {
    /// The panel did not accept the transfer.
    TransferFailed,
}

impl fmt::Display for DisplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisplayError::TransferFailed => f.write_str("display: transfer failed"),
        }
    }
}

/// The display panel: shows part of a framebuffer.
pub trait Display {
    /// Copy `area` of `frame` to the panel. Rows are [`Framebuffer::rows`] of `area`.
    fn flush(&mut self, frame: &Framebuffer, area: Area) -> Result<(), DisplayError>;
}

/// The 800x480 RGB565 framebuffer the screens draw into, with the bounding rectangle of
/// the pixels changed since the last flush.
///
/// Row-major, `pixels[y * 800 + x]`, each pixel the raw RGB565 value. It takes
/// [`FRAMEBUFFER_BYTES`] of RAM; build it once in a `static` (`Framebuffer::new` is `const`).
pub struct Framebuffer {
    pixels: [u16; FRAMEBUFFER_PIXELS],
    dirty: Option<Area>,
}

impl Default for Framebuffer {
    fn default() -> Self {
        Framebuffer::new()
    }
}

impl fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framebuffer")
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

/// Index of pixel (`x`, `y`) in the row-major pixel array, if on the display.
fn index_of(x: i32, y: i32) -> Option<usize> {
    let x = u16::try_from(x).ok().filter(|&x| x < DISPLAY_WIDTH_PX)?;
    let y = u16::try_from(y).ok().filter(|&y| y < DISPLAY_HEIGHT_PX)?;
    usize::from(y)
        .checked_mul(WIDTH)?
        .checked_add(usize::from(x))
}

/// Bounding box of changed pixels, kept while drawing.
#[derive(Clone, Copy)]
struct Bounds {
    left: u16,
    top: u16,
    right: u16,
    bottom: u16,
}

impl Bounds {
    fn add(bounds: &mut Option<Bounds>, x: u16, y: u16) {
        match bounds {
            None => {
                *bounds = Some(Bounds {
                    left: x,
                    top: y,
                    right: x,
                    bottom: y,
                })
            }
            Some(b) => {
                b.left = b.left.min(x);
                b.top = b.top.min(y);
                b.right = b.right.max(x);
                b.bottom = b.bottom.max(y);
            }
        }
    }

    fn area(self) -> Option<Area> {
        Area::new(
            self.left,
            self.top,
            self.right.checked_sub(self.left)?.checked_add(1)?,
            self.bottom.checked_sub(self.top)?.checked_add(1)?,
        )
    }
}

impl Framebuffer {
    /// A black framebuffer, wholly dirty (the panel's content is unknown until flushed).
    pub const fn new() -> Framebuffer {
        Framebuffer {
            pixels: [0; FRAMEBUFFER_PIXELS],
            dirty: Some(Area::FULL),
        }
    }

    /// All pixels, row-major, raw RGB565.
    pub fn pixels(&self) -> &[u16; FRAMEBUFFER_PIXELS] {
        &self.pixels
    }

    /// The colour of pixel (`x`, `y`), if on the display.
    pub fn pixel(&self, x: u16, y: u16) -> Option<Rgb565> {
        let i = index_of(i32::from(x), i32::from(y))?;
        self.pixels
            .get(i)
            .map(|&raw| Rgb565::from(RawU16::new(raw)))
    }

    /// The rows of `area`, top to bottom, each `area.width()` raw pixels.
    pub fn rows(&self, area: Area) -> impl Iterator<Item = &[u16]> + '_ {
        area.rows().filter_map(move |y| {
            let start = index_of(i32::from(area.x), i32::from(y))?;
            self.pixels
                .get(start..start.checked_add(usize::from(area.width))?)
        })
    }

    /// The pixels changed since the last successful flush, if any.
    pub const fn dirty(&self) -> Option<Area> {
        self.dirty
    }

    /// Add `area` to the dirty rectangle (e.g. after the panel was reset).
    pub fn mark_dirty(&mut self, area: Area) {
        self.dirty = Some(match self.dirty {
            Some(d) => d.union(area),
            None => area,
        });
    }

    /// Send the dirty rectangle to `display`; it stays dirty if the transfer fails.
    pub fn flush<D: Display + ?Sized>(&mut self, display: &mut D) -> Result<(), DisplayError> {
        if let Some(area) = self.dirty {
            display.flush(self, area)?;
            self.dirty = None;
        }
        Ok(())
    }

    fn merge(&mut self, bounds: Option<Bounds>) {
        if let Some(area) = bounds.and_then(Bounds::area) {
            self.mark_dirty(area);
        }
    }

    /// Paint `area` with the raw RGB565 colour `raw` and mark it dirty (without looking
    /// at what was there: the fast path of the screen renderer, which knows what changed).
    ///
    /// The first row is filled by doubling copies and every other row is a copy of it, so
    /// the work is a few block copies per row (`memory.copy` in wasm) whatever the width.
    pub fn fill_area(&mut self, area: Area, raw: u16) {
        let width = usize::from(area.width);
        let Some(first) = index_of(i32::from(area.x), i32::from(area.y)) else {
            return;
        };
        let Some(row) = self.pixels.get_mut(first..first.saturating_add(width)) else {
            return;
        };
        if let Some(pixel) = row.first_mut() {
            *pixel = raw;
        }
        let mut done = 1usize;
        while done < width {
            let more = done.min(width.saturating_sub(done));
            row.copy_within(..more, done);
            done = done.saturating_add(more);
        }
        let mut start = first;
        for _ in 1..area.height {
            start = start.saturating_add(WIDTH);
            if start.saturating_add(width) > FRAMEBUFFER_PIXELS {
                break;
            }
            self.pixels
                .copy_within(first..first.saturating_add(width), start);
        }
        self.mark_dirty(area);
    }

    /// A drawing target that writes only the pixels inside `clip`, straight into the
    /// framebuffer (pixels outside are dropped); `clip` is marked dirty.
    ///
    /// It does not compare old and new pixels: the screen renderer uses it to redraw an
    /// area it knows has changed, glyph by glyph.
    pub fn ink(&mut self, clip: Area) -> Ink<'_> {
        self.mark_dirty(clip);
        Ink {
            pixels: &mut self.pixels,
            clip,
        }
    }
}

/// Draws into part of a [`Framebuffer`] (see [`Framebuffer::ink`]).
pub struct Ink<'f> {
    pixels: &'f mut [u16; FRAMEBUFFER_PIXELS],
    clip: Area,
}

impl fmt::Debug for Ink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ink").field("clip", &self.clip).finish()
    }
}

impl Ink<'_> {
    /// The area this target writes to.
    pub const fn clip(&self) -> Area {
        self.clip
    }

    /// Index of pixel (`x`, `y`) if it lies in the clip area.
    fn index(&self, x: i32, y: i32) -> Option<usize> {
        let dx = u32::try_from(x.wrapping_sub(i32::from(self.clip.x))).ok()?;
        let dy = u32::try_from(y.wrapping_sub(i32::from(self.clip.y))).ok()?;
        if dx >= u32::from(self.clip.width) || dy >= u32::from(self.clip.height) {
            return None;
        }
        // Inside the clip area, which lies on the display: no overflow.
        let x = usize::from(self.clip.x).wrapping_add(usize::try_from(dx).ok()?);
        let y = usize::from(self.clip.y).wrapping_add(usize::try_from(dy).ok()?);
        Some(y.wrapping_mul(WIDTH).wrapping_add(x))
    }

    /// Set `len` pixels of row `y` from column `x` on to `raw`, as far as they lie in the
    /// clip area.
    pub fn span(&mut self, x: i32, y: i32, len: u32, raw: u16) {
        let top = i32::from(self.clip.y);
        let rows = i32::from(self.clip.height);
        if y < top || y >= top.saturating_add(rows) {
            return;
        }
        let left = i32::from(self.clip.x);
        let right = left.saturating_add(i32::from(self.clip.width));
        let from = x.max(left);
        let to = x.saturating_add_unsigned(len).min(right);
        if from >= to {
            return;
        }
        let (Some(start), Ok(count)) =
            (self.index(from, y), usize::try_from(to.wrapping_sub(from)))
        else {
            return;
        };
        if let Some(run) = self.pixels.get_mut(start..start.saturating_add(count)) {
            run.fill(raw);
        }
    }
}

impl OriginDimensions for Ink<'_> {
    fn size(&self) -> Size {
        Size::new(u32::from(DISPLAY_WIDTH_PX), u32::from(DISPLAY_HEIGHT_PX))
    }
}

impl DrawTarget for Ink<'_> {
    type Color = Rgb565;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<Rgb565>>,
    {
        for Pixel(point, color) in pixels {
            if let Some(i) = self.index(point.x, point.y) {
                if let Some(slot) = self.pixels.get_mut(i) {
                    *slot = color.into_storage();
                }
            }
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Rgb565) -> Result<(), Infallible> {
        let raw = color.into_storage();
        for dy in 0..area.size.height {
            let y = area.top_left.y.saturating_add_unsigned(dy);
            self.span(area.top_left.x, y, area.size.width, raw);
        }
        Ok(())
    }
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        Size::new(u32::from(DISPLAY_WIDTH_PX), u32::from(DISPLAY_HEIGHT_PX))
    }
}

impl DrawTarget for Framebuffer {
    type Color = Rgb565;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<Rgb565>>,
    {
        let mut changed = None;
        for Pixel(point, color) in pixels {
            let (Some(i), Ok(x), Ok(y)) = (
                index_of(point.x, point.y),
                u16::try_from(point.x),
                u16::try_from(point.y),
            ) else {
                continue;
            };
            let raw = color.into_storage();
            if let Some(slot) = self.pixels.get_mut(i) {
                if *slot != raw {
                    *slot = raw;
                    Bounds::add(&mut changed, x, y);
                }
            }
        }
        self.merge(changed);
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Rgb565) -> Result<(), Infallible> {
        let Some(area) = Area::clip(area) else {
            return Ok(());
        };
        let raw = color.into_storage();
        let mut changed = None;
        for y in area.rows() {
            let Some(start) = index_of(i32::from(area.x), i32::from(y)) else {
                continue;
            };
            let end = start.saturating_add(usize::from(area.width));
            let Some(row) = self.pixels.get_mut(start..end) else {
                continue;
            };
            // One scan from each end finds the changed span; the fill itself is a memset.
            let (Some(first), Some(last)) = (
                row.iter().position(|&p| p != raw),
                row.iter().rposition(|&p| p != raw),
            ) else {
                continue;
            };
            row.fill(raw);
            for offset in [first, last] {
                if let Ok(offset) = u16::try_from(offset) {
                    Bounds::add(&mut changed, area.x.saturating_add(offset), y);
                }
            }
        }
        self.merge(changed);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Input

/// A navigation key on the voter keypad (for voters who do not use the touch screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Key {
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// Move left.
    Left,
    /// Move right.
    Right,
    /// Select / confirm.
    Enter,
    /// Go back.
    Back,
}

/// A key on the operator (polling station president) panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperatorKey {
    /// Let the next voter vote.
    ActivateVoter,
    /// Cancel an abandoned voter session.
    CancelSession,
    /// Open the poll (asks for the PIN).
    OpenPoll,
    /// Close the poll (asks for the PIN).
    ClosePoll,
    /// Wipe and power off.
    PowerOff,
}

/// One input event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputEvent {
    /// A tap on the touch screen at pixel (`x`, `y`).
    Tap {
        /// Column, 0..800.
        x: u16,
        /// Row, 0..480.
        y: u16,
    },
    /// A voter keypad key.
    Key(Key),
    /// An operator panel key.
    Operator(OperatorKey),
}

impl Key {
    /// Every key, in code order.
    pub const ALL: [Key; 6] = [
        Key::Up,
        Key::Down,
        Key::Left,
        Key::Right,
        Key::Enter,
        Key::Back,
    ];

    /// Stable code on the device ABI (1..=6).
    pub const fn code(self) -> u8 {
        match self {
            Key::Up => 1,
            Key::Down => 2,
            Key::Left => 3,
            Key::Right => 4,
            Key::Enter => 5,
            Key::Back => 6,
        }
    }

    /// The key with ABI code `code`.
    pub fn from_code(code: u8) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl OperatorKey {
    /// Every operator key, in code order.
    pub const ALL: [OperatorKey; 5] = [
        OperatorKey::ActivateVoter,
        OperatorKey::CancelSession,
        OperatorKey::OpenPoll,
        OperatorKey::ClosePoll,
        OperatorKey::PowerOff,
    ];

    /// Stable code on the device ABI (1..=5).
    pub const fn code(self) -> u8 {
        match self {
            OperatorKey::ActivateVoter => 1,
            OperatorKey::CancelSession => 2,
            OperatorKey::OpenPoll => 3,
            OperatorKey::ClosePoll => 4,
            OperatorKey::PowerOff => 5,
        }
    }

    /// The operator key with ABI code `code`.
    pub fn from_code(code: u8) -> Option<OperatorKey> {
        OperatorKey::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// The input devices: touch screen, voter keypad, operator panel.
pub trait Input {
    /// The next pending event, if any (never blocks).
    fn next_event(&mut self) -> Option<InputEvent>;
}

// ---------------------------------------------------------------------------------------------
// Removable media

/// Bytes per media sector.
pub const SECTOR_SIZE_BYTES: usize = 512;

/// Errors of the removable media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaError {
    /// No media is inserted.
    Missing,
    /// The sector lies beyond the end of the media.
    OutOfRange {
        /// Sector asked for.
        sector: u32,
        /// Sectors on the media.
        sectors: u32,
    },
    /// The media reported a read error.
    ReadFailed {
        /// Sector being read.
        sector: u32,
    },
    /// The media reported a write error.
    WriteFailed {
        /// Sector being written.
        sector: u32,
    },
    /// Power was lost; the write in progress may be partial.
    PowerLost,
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MediaError::Missing => f.write_str("media: not inserted"),
            MediaError::OutOfRange { sector, sectors } => {
                write!(
                    f,
                    "media: sector {sector} beyond the end ({sectors} sectors)"
                )
            }
            MediaError::ReadFailed { sector } => write!(f, "media: read of sector {sector} failed"),
            MediaError::WriteFailed { sector } => {
                write!(f, "media: write of sector {sector} failed")
            }
            MediaError::PowerLost => f.write_str("media: power lost"),
        }
    }
}

/// The removable results media (USB stick / SD card) as 512-byte sectors.
pub trait Media {
    /// Number of sectors.
    fn sectors(&mut self) -> Result<u32, MediaError>;
    /// Read sector `sector` into `buf`.
    fn read(&mut self, sector: u32, buf: &mut [u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError>;
    /// Write `data` to sector `sector` (it may sit in a cache until [`Media::flush`]).
    fn write(&mut self, sector: u32, data: &[u8; SECTOR_SIZE_BYTES]) -> Result<(), MediaError>;
    /// Make every earlier write durable.
    fn flush(&mut self) -> Result<(), MediaError>;
}

// ---------------------------------------------------------------------------------------------
// Printer

/// Printer line width in pixels.
pub const PRINTER_WIDTH_PX: usize = 384;
/// Bytes per printer raster line (1 bit per pixel).
pub const PRINTER_LINE_BYTES: usize = PRINTER_WIDTH_PX / 8;

/// One printed raster line: bit 7 of byte 0 is the leftmost pixel, a set bit is black.
pub type RasterLine = [u8; PRINTER_LINE_BYTES];

/// Errors of the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrinterError {
    /// The paper ran out.
    OutOfPaper,
    /// The printer does not answer.
    Offline,
}

impl fmt::Display for PrinterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterError::OutOfPaper => f.write_str("printer: out of paper"),
            PrinterError::Offline => f.write_str("printer: offline"),
        }
    }
}

/// The report printer (thermal, 384 pixels wide).
pub trait Printer {
    /// Print one raster line and advance the paper by one pixel row.
    fn print_line(&mut self, line: &RasterLine) -> Result<(), PrinterError>;
    /// Feed and cut the paper at the end of a report.
    fn cut(&mut self) -> Result<(), PrinterError>;
}

// ---------------------------------------------------------------------------------------------
// Clock

/// The real-time clock and the monotonic millisecond counter.
pub trait Clock {
    /// Milliseconds since boot; never goes backwards.
    fn now_ms(&self) -> u64;
    /// Today's date from the RTC.
    fn today(&self) -> Date;
}

// ---------------------------------------------------------------------------------------------
// Entropy

/// Errors of the entropy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntropyError {
    /// The TRNG gave no bytes (failed its health test or is absent).
    Unavailable,
}

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntropyError::Unavailable => f.write_str("entropy: source unavailable"),
        }
    }
}

/// The hardware random number generator.
pub trait Entropy {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

// ---------------------------------------------------------------------------------------------
// Power

/// The power supply.
pub trait Power {
    /// Ask the supply to cut power. The firmware wipes its RAM first; on hardware this does
    /// not return, a test double records the request.
    fn power_off(&mut self);
    /// Whether the supply warned that power is about to fail (mains lost, battery empty).
    fn power_failing(&mut self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::doubles::RecordingDisplay;
    use super::*;
    use embedded_graphics::mono_font::{ascii::FONT_6X10, MonoTextStyle};
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::PrimitiveStyle;
    use embedded_graphics::text::Text;
    use std::boxed::Box;

    #[test]
    fn areas_are_checked_and_unite() {
        assert_eq!(Area::new(0, 0, 0, 1), None);
        assert_eq!(Area::new(799, 0, 2, 1), None);
        assert_eq!(Area::new(0, 479, 1, 2), None);
        assert_eq!(Area::new(u16::MAX, 0, 2, 1), None);
        let a = Area::new(10, 20, 5, 5).unwrap();
        let b = Area::new(100, 2, 1, 1).unwrap();
        let u = a.union(b);
        assert_eq!(u, Area::new(10, 2, 91, 23).unwrap());
        assert!(u.contains(10, 2) && u.contains(100, 24) && !u.contains(101, 24));
        assert_eq!(
            Area::clip(&Rectangle::new(Point::new(-5, 470), Size::new(10, 100))),
            Area::new(0, 470, 5, 10)
        );
        assert_eq!(
            Area::clip(&Rectangle::new(Point::new(900, 0), Size::new(10, 10))),
            None
        );
        assert_eq!(Area::FULL.pixels(), FRAMEBUFFER_PIXELS);
    }

    #[test]
    fn drawing_tracks_only_changed_pixels() {
        let mut fb = Box::new(Framebuffer::new());
        let mut panel = RecordingDisplay::new();
        assert_eq!(
            fb.dirty(),
            Some(Area::FULL),
            "a new framebuffer is wholly dirty"
        );
        fb.flush(&mut panel).unwrap();
        assert_eq!(fb.dirty(), None);
        assert_eq!(panel.last(), Some(Area::FULL));

        // Drawing black on black changes nothing.
        Rectangle::new(Point::new(5, 5), Size::new(50, 50))
            .into_styled(PrimitiveStyle::with_fill(Rgb565::BLACK))
            .draw(fb.as_mut())
            .unwrap();
        assert_eq!(fb.dirty(), None);

        Rectangle::new(Point::new(-10, 470), Size::new(30, 30))
            .into_styled(PrimitiveStyle::with_fill(Rgb565::RED))
            .draw(fb.as_mut())
            .unwrap();
        assert_eq!(fb.dirty(), Area::new(0, 470, 20, 10));
        assert_eq!(fb.pixel(0, 479), Some(Rgb565::RED));
        assert_eq!(fb.pixel(20, 479), Some(Rgb565::BLACK));

        Pixel(Point::new(700, 3), Rgb565::GREEN)
            .draw(fb.as_mut())
            .unwrap();
        Pixel(Point::new(900, 3), Rgb565::GREEN)
            .draw(fb.as_mut())
            .unwrap();
        assert_eq!(fb.dirty(), Area::new(0, 3, 701, 477));
        fb.flush(&mut panel).unwrap();
        assert_eq!(panel.flushes(), 2);
        assert_eq!(panel.last(), Area::new(0, 3, 701, 477));
        // Nothing dirty: flushing sends nothing.
        fb.flush(&mut panel).unwrap();
        assert_eq!(panel.flushes(), 2);
    }

    #[test]
    fn text_dirties_its_bounding_box_and_rows_read_it_back() {
        let mut fb = Box::new(Framebuffer::new());
        fb.flush(&mut RecordingDisplay::new()).unwrap();
        let style = MonoTextStyle::new(&FONT_6X10, Rgb565::WHITE);
        Text::new("Kies", Point::new(100, 200), style)
            .draw(fb.as_mut())
            .unwrap();
        let dirty = fb.dirty().unwrap();
        assert!(dirty.x() >= 100 && dirty.columns().end <= 124, "{dirty:?}");
        assert!(dirty.rows().end <= 203, "{dirty:?}");
        let white = Rgb565::WHITE.into_storage();
        let lit: usize = fb
            .rows(dirty)
            .map(|row| {
                assert_eq!(row.len(), usize::from(dirty.width()));
                row.iter().filter(|&&p| p == white).count()
            })
            .sum();
        assert!(lit > 20);
        assert_eq!(fb.rows(dirty).count(), usize::from(dirty.height()));
    }

    #[test]
    fn a_failed_flush_keeps_the_area_dirty() {
        let mut fb = Box::new(Framebuffer::new());
        let mut panel = RecordingDisplay::new();
        panel.fail_next();
        assert_eq!(fb.flush(&mut panel), Err(DisplayError::TransferFailed));
        assert_eq!(fb.dirty(), Some(Area::FULL));
        fb.flush(&mut panel).unwrap();
        assert_eq!(fb.dirty(), None);
    }

    #[test]
    fn key_codes_are_stable_and_round_trip() {
        let codes: std::vec::Vec<u8> = Key::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes, [1, 2, 3, 4, 5, 6]);
        for k in Key::ALL {
            assert_eq!(Key::from_code(k.code()), Some(k));
        }
        for k in OperatorKey::ALL {
            assert_eq!(OperatorKey::from_code(k.code()), Some(k));
        }
        assert_eq!(Key::from_code(0), None);
        assert_eq!(OperatorKey::from_code(6), None);
        assert_eq!(PRINTER_LINE_BYTES, 48);
    }
}
