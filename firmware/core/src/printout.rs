//! Printed output on the 384-pixel thermal printer: the opening and closing reports
//! ([`crate::report`]) and the voter ticket ([`crate::ticket`]).
//!
//! A printout is a column of items laid out top to bottom: lines of text (wrapped at the
//! right margin), rules, blank space, fingerprints, signature lines and a QR code. A
//! [`Sheet`] renders one item at a time with embedded-graphics into a band of
//! [`BAND_ROWS`] raster lines ([`BAND_BYTES`] of RAM) and streams the band to the
//! [`Printer`]; there is no page buffer. Fonts are u8g2 bitmap fonts covering Latin-1
//! (Dutch, French and German accents).
//!
//! A printout of a training image starts and ends with an inverted band reading
//! `OEFENING / FORMATION / ÜBUNG / TRAINING`, repeated every [`WATERMARK_INTERVAL_ROWS`]
//! so that no piece of a training report can pass for an official one.

use crate::election::Language;
use crate::hal::{Printer, PrinterError, RasterLine, PRINTER_LINE_BYTES, PRINTER_WIDTH_PX};
use crate::i18n::{text, Text};
use crate::ticket::TicketError;
use core::convert::Infallible;
use core::fmt::{self, Write as _};
use core::ops::Range;
use embedded_graphics::geometry::{OriginDimensions, Size};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, Point};
use embedded_graphics::Pixel;
use heapless::String;
use qrcodegen_no_heap::{Mask, QrCode, QrCodeEcc, Version};
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{fonts, FontRenderer};
use zeroize::Zeroize;

/// Raster lines rendered at a time: the tallest item (a title line) fits.
pub const BAND_ROWS: usize = 48;
/// RAM taken by the band buffer, in bytes.
pub const BAND_BYTES: usize = BAND_ROWS * PRINTER_LINE_BYTES;
/// Blank pixels left and right of the text.
pub const MARGIN_PX: u32 = 8;
/// Blank rows fed after the last item so the cut leaves it whole.
pub const FEED_ROWS: usize = 80;
/// A training printout repeats its watermark before the next item once this many rows
/// (15 cm at 8 dots per mm) followed the last one.
pub const WATERMARK_INTERVAL_ROWS: u32 = 1200;
/// Light modules around a QR code (the standard's quiet zone).
pub const QR_QUIET_MODULES: u32 = 4;
/// Smallest QR module printed, in pixels (0.5 mm at 8 dots per mm).
pub const QR_MIN_MODULE_PX: u32 = 4;
/// Largest QR module printed, in pixels.
pub const QR_MAX_MODULE_PX: u32 = 6;
/// Largest QR version whose code and quiet zone fit the paper at [`QR_MIN_MODULE_PX`].
pub const QR_MAX_VERSION: u8 = 17;
/// The QR mask pattern (0..=7) every code uses. The standard's encoder tries all eight and
/// keeps the one with the lowest penalty; that search is 95 % of the cost of a code
/// (0.6 ms against 0.03 ms natively, 20 times that under wasmi). The ticket's content is
/// mostly a signature and a public key in base32, pseudo-random bits, for which the eight
/// masks score alike; any mask is valid for every decoder.
pub const QR_MASK: u8 = 0;
const QR_MASK_PATTERN: Mask = Mask::new(QR_MASK);
/// Bytes of each of the two QR work buffers (for [`QR_MAX_VERSION`]).
pub const QR_BUFFER_BYTES: usize = Version::new(QR_MAX_VERSION).buffer_len();
/// Longest line of text built at run time, in bytes.
pub(crate) const LINE_BYTES: usize = 192;

/// The Latin-1 glyphs that reach highest and lowest: a line is as tall as they are.
const LINE_EXTENT_SAMPLE: &str = "ÅÉÊÜÇÖgjpqy|";
const WIDTH_PX: u32 = PRINTER_WIDTH_PX as u32;
const LINE_GAP_PX: u32 = 4;
const RULE_PX: usize = 2;
const RULE_GAP_PX: usize = 8;
const SIGNATURE_SPACE_PX: usize = 64;

// Every code and its quiet zone fits the paper at the smallest module size.
const _: () =
    assert!((QR_MAX_VERSION as u32 * 4 + 17 + 2 * QR_QUIET_MODULES) * QR_MIN_MODULE_PX <= WIDTH_PX);

/// Errors of printing. Each has a stable [`PrintError::code`] (9xx), shown on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrintError {
    /// The printer failed (out of paper, offline).
    Printer(PrinterError),
    /// The voter ticket could not be made.
    Ticket(TicketError),
    /// The QR code does not fit on the paper.
    QrTooLarge {
        /// Characters to encode.
        chars: usize,
    },
    /// Nothing to print: the poll session has no recorder (no session key) yet.
    NoSession,
}

impl PrintError {
    /// Stable code: 901 out of paper, 902 printer offline, 904 QR code too large, 905 no
    /// session; 910..=921 are the ticket's own.
    pub const fn code(&self) -> u16 {
        match self {
            PrintError::Printer(PrinterError::OutOfPaper) => 901,
            PrintError::Printer(PrinterError::Offline) => 902,
            PrintError::QrTooLarge { .. } => 904,
            PrintError::NoSession => 905,
            PrintError::Ticket(e) => e.code(),
        }
    }
}

impl fmt::Display for PrintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code();
        match self {
            PrintError::Printer(e) => write!(f, "E{code}: {e}"),
            PrintError::Ticket(e) => write!(f, "{e}"),
            PrintError::QrTooLarge { chars } => write!(
                f,
                "E{code}: QR code of {chars} characters does not fit version {QR_MAX_VERSION}"
            ),
            PrintError::NoSession => write!(f, "E{code}: no poll session to print for"),
        }
    }
}

impl From<PrinterError> for PrintError {
    fn from(e: PrinterError) -> PrintError {
        PrintError::Printer(e)
    }
}

impl From<TicketError> for PrintError {
    fn from(e: TicketError) -> PrintError {
        PrintError::Ticket(e)
    }
}

/// A face on paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrintFont {
    /// Hints and the watermark.
    Small,
    /// Running text.
    Body,
    /// Headings and emphasised lines.
    Bold,
    /// The printout's title.
    Title,
    /// Fingerprints: monospaced, so the groups line up for copying.
    Mono,
}

impl PrintFont {
    fn renderer(self) -> FontRenderer {
        match self {
            PrintFont::Small => FontRenderer::new::<fonts::u8g2_font_helvR14_te>(),
            PrintFont::Body => FontRenderer::new::<fonts::u8g2_font_helvR18_te>(),
            PrintFont::Bold => FontRenderer::new::<fonts::u8g2_font_helvB18_te>(),
            PrintFont::Title => FontRenderer::new::<fonts::u8g2_font_helvB24_te>(),
            PrintFont::Mono => FontRenderer::new::<fonts::u8g2_font_spleen12x24_mf>(),
        }
        .with_ignore_unknown_chars(true)
    }

    /// Width of `s`, in pixels.
    pub(crate) fn width(self, s: &str) -> u32 {
        self.renderer()
            .get_rendered_dimensions(s, Point::zero(), VerticalPosition::Baseline)
            .map_or(0, |d| u32::try_from(d.advance.x).unwrap_or(0))
    }

    /// Rows of one line and the row of its baseline: room for the tallest accented
    /// capital and the deepest descender of Latin-1 ([`LINE_EXTENT_SAMPLE`]) plus a gap.
    /// (The face's own bounding box also covers rarely used extended glyphs and would
    /// double the line spacing.)
    fn metrics(self) -> (usize, i32) {
        let extent = self
            .renderer()
            .get_rendered_dimensions(
                LINE_EXTENT_SAMPLE,
                Point::zero(),
                VerticalPosition::Baseline,
            )
            .ok()
            .and_then(|d| d.bounding_box);
        let (above, height) = extent.map_or((0, 0), |b| {
            (b.top_left.y.saturating_neg().max(0), b.size.height)
        });
        let rows = height.saturating_add(LINE_GAP_PX);
        let rows = usize::try_from(rows).unwrap_or(BAND_ROWS).min(BAND_ROWS);
        let gap = i32::try_from(LINE_GAP_PX >> 1).unwrap_or(0);
        (rows, above.saturating_add(gap))
    }
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// At the left margin.
    Left,
    /// Centred.
    Center,
}

/// The band buffer: [`BAND_ROWS`] raster lines, drawn into with embedded-graphics.
struct Band {
    lines: [RasterLine; BAND_ROWS],
    rows: usize,
}

impl Band {
    /// Start a band of `rows` rows, all white (`ink` false) or all black.
    fn start(&mut self, rows: usize, ink: bool) {
        self.rows = rows.min(BAND_ROWS);
        let fill = if ink { 0xFF } else { 0x00 };
        for line in self.lines.iter_mut() {
            line.fill(fill);
        }
    }

    fn set(&mut self, x: i32, y: i32, on: bool) {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return;
        };
        if x >= PRINTER_WIDTH_PX || y >= self.rows {
            return;
        }
        let bit = 0x80u8 >> (x & 7);
        if let Some(byte) = self.lines.get_mut(y).and_then(|l| l.get_mut(x >> 3)) {
            if on {
                *byte |= bit;
            } else {
                *byte &= !bit;
            }
        }
    }
}

impl OriginDimensions for Band {
    fn size(&self) -> Size {
        Size::new(WIDTH_PX, u32::try_from(self.rows).unwrap_or(0))
    }
}

impl DrawTarget for Band {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<BinaryColor>>,
    {
        for Pixel(point, color) in pixels {
            self.set(point.x, point.y, color.is_on());
        }
        Ok(())
    }
}

/// Set pixels `from..to` of `line` black.
fn ink_span(line: &mut RasterLine, from: usize, to: usize) {
    for x in from..to.min(PRINTER_WIDTH_PX) {
        if let Some(byte) = line.get_mut(x >> 3) {
            *byte |= 0x80u8 >> (x & 7);
        }
    }
}

/// The first line of `s` that fits `width` pixels in `font`, and the rest. Lines break
/// after whole words; a word wider than the line is broken between characters.
fn split_line(s: &str, font: PrintFont, width: u32) -> (&str, &str) {
    if font.width(s) <= width {
        return (s, "");
    }
    let mut best = None;
    for (i, _) in s.match_indices(' ') {
        if font.width(s.get(..i).unwrap_or("")) <= width {
            best = Some(i);
        } else {
            break;
        }
    }
    if let Some(i) = best.filter(|&i| i > 0) {
        let rest = s.get(i..).unwrap_or("").trim_start_matches(' ');
        return (s.get(..i).unwrap_or(""), rest);
    }
    // One long word: as many characters as fit (at least one, so the caller's loop ends).
    let mut end = s.chars().next().map_or(s.len(), char::len_utf8);
    for (i, _) in s.char_indices().skip(1) {
        if font.width(s.get(..i).unwrap_or("")) > width {
            break;
        }
        end = i;
    }
    (s.get(..end).unwrap_or(s), s.get(end..).unwrap_or(""))
}

/// The 32-byte fingerprint as 16 groups of 4 hex digits, four groups per line.
pub(crate) fn fingerprint_lines(fp: &[u8; 32]) -> impl Iterator<Item = String<24>> + '_ {
    fp.chunks(8).map(|line| {
        let mut s: String<24> = String::new();
        for (i, pair) in line.chunks(2).enumerate() {
            if i > 0 {
                let _ = s.push(' ');
            }
            for b in pair {
                let _ = write!(s, "{b:02X}");
            }
        }
        s
    })
}

/// The training watermark in every language, two per line: `OEFENING / FORMATION` and
/// `ÜBUNG / TRAINING`.
pub(crate) fn watermark() -> impl Iterator<Item = String<LINE_BYTES>> {
    Language::ALL.chunks(2).map(|pair| {
        let mut line: String<LINE_BYTES> = String::new();
        for (i, &language) in pair.iter().enumerate() {
            if i > 0 {
                let _ = line.push_str(" / ");
            }
            let _ = line.push_str(text(language, Text::Training));
        }
        line
    })
}

/// Where a printout stands between two slices: the next raster row to print, and the
/// item its layout resumes at. Opaque but for [`PrintPosition::row`]; start with
/// [`PrintPosition::START`] and go on with [`Printed::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintPosition {
    /// The next raster row to print.
    row: u32,
    /// The item (text, rule, QR code, ...) the layout resumes at.
    item: u32,
    /// The row that item starts at.
    item_row: u32,
    /// Rows from the last watermark to that item.
    item_mark: u32,
}

impl PrintPosition {
    /// The start of a printout.
    pub const START: PrintPosition = PrintPosition {
        row: 0,
        item: 0,
        item_row: 0,
        item_mark: 0,
    };

    /// The next raster row to print.
    pub const fn row(&self) -> u32 {
        self.row
    }
}

/// What one slice of a print did ([`crate::ticket::Ticket::print_slice`],
/// [`crate::report::Report::print_slice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printed {
    /// Where the next slice starts.
    pub next: PrintPosition,
    /// Whether the printout is complete: every row printed and the paper cut.
    pub done: bool,
}

/// The faces, for the per-sheet cache of their line metrics.
const FONTS: usize = 5;

fn font_index(font: PrintFont) -> usize {
    match font {
        PrintFont::Small => 0,
        PrintFont::Body => 1,
        PrintFont::Bold => 2,
        PrintFont::Title => 3,
        PrintFont::Mono => 4,
    }
}

/// One printout being laid out: items (a paragraph, a rule, a fingerprint, a QR code, ...)
/// go to the printer as they are added.
///
/// A sheet prints one slice: the raster rows from a [`PrintPosition`] on, at most so many.
/// Items laid out in an earlier slice are passed over without any work (the position
/// names the item to resume at); rows of the resumed item before the slice are laid out
/// but not drawn; everything after the slice is skipped. The layout does not depend on
/// the slices, so printing a printout slice by slice gives exactly the rows of printing it
/// whole: a terminal prints a long report a slice per tick.
pub(crate) struct Sheet<'p> {
    printer: &'p mut dyn Printer,
    band: Band,
    training: bool,
    /// Rows laid out so far (printed, or passed over outside the window).
    row: u32,
    /// The rows to print.
    window: Range<u32>,
    /// Rows laid out since the last watermark.
    since_mark: u32,
    /// Items begun so far.
    item: u32,
    /// Items before this one were laid out in an earlier slice.
    resume_item: u32,
    /// The last item begun inside the window: where the next slice resumes.
    bookmark: PrintPosition,
    /// Line metrics per face, computed once per sheet.
    metrics: [Option<(usize, i32)>; FONTS],
}

impl<'p> Sheet<'p> {
    /// Start a printout slice: the rows from `at` on, at most `max_rows`. A training
    /// printout starts with the watermark.
    pub(crate) fn start(
        printer: &'p mut dyn Printer,
        training: bool,
        at: PrintPosition,
        max_rows: u32,
    ) -> Result<Sheet<'p>, PrintError> {
        let mut sheet = Sheet {
            printer,
            band: Band {
                lines: [[0; PRINTER_LINE_BYTES]; BAND_ROWS],
                rows: 0,
            },
            training,
            row: at.item_row,
            window: at.row..at.row.saturating_add(max_rows),
            since_mark: at.item_mark,
            item: 0,
            resume_item: at.item,
            bookmark: at,
            metrics: [None; FONTS],
        };
        if sheet.begin_item() && training {
            sheet.mark()?;
        }
        Ok(sheet)
    }

    /// End the printout: the closing watermark, a feed and, once every row is printed,
    /// the cut.
    pub(crate) fn finish(mut self) -> Result<Printed, PrintError> {
        if self.begin_item() {
            if self.training {
                self.blank(RULE_GAP_PX)?;
                self.mark()?;
            }
            self.blank(FEED_ROWS)?;
            if self.row <= self.window.end {
                self.printer.cut()?;
                return Ok(Printed {
                    next: PrintPosition {
                        row: self.row,
                        ..self.bookmark
                    },
                    done: true,
                });
            }
        }
        Ok(Printed {
            next: PrintPosition {
                row: self.window.end,
                ..self.bookmark
            },
            done: false,
        })
    }

    /// Begin the next item: whether to lay it out (not laid out in an earlier slice, not
    /// past the window). Each public item method calls this once.
    fn begin_item(&mut self) -> bool {
        let index = self.item;
        self.item = self.item.saturating_add(1);
        if index < self.resume_item || self.row >= self.window.end {
            return false;
        }
        self.bookmark = PrintPosition {
            row: self.window.start,
            item: index,
            item_row: self.row,
            item_mark: self.since_mark,
        };
        true
    }

    /// Rows of one line in `font` and the row of its baseline.
    fn metrics(&mut self, font: PrintFont) -> (usize, i32) {
        let slot = self.metrics.get_mut(font_index(font));
        match slot {
            Some(Some(m)) => *m,
            Some(slot) => {
                let m = font.metrics();
                *slot = Some(m);
                m
            }
            None => font.metrics(),
        }
    }

    /// Whether an item of `rows` rows at the current row has a row in the window.
    fn visible(&self, rows: usize) -> bool {
        let rows = u32::try_from(rows).unwrap_or(u32::MAX);
        self.row < self.window.end && self.row.saturating_add(rows) > self.window.start
    }

    fn advance(&mut self, rows: usize) {
        let rows = u32::try_from(rows).unwrap_or(u32::MAX);
        self.row = self.row.saturating_add(rows);
        self.since_mark = self.since_mark.saturating_add(rows);
    }

    fn line_out(&mut self, line: &RasterLine) -> Result<(), PrintError> {
        if self.window.contains(&self.row) {
            self.printer.print_line(line)?;
        }
        self.advance(1);
        Ok(())
    }

    /// Send the band's rows to the printer.
    fn emit(&mut self) -> Result<(), PrintError> {
        for y in 0..self.band.rows {
            let line = self
                .band
                .lines
                .get(y)
                .copied()
                .unwrap_or([0; PRINTER_LINE_BYTES]);
            self.line_out(&line)?;
        }
        Ok(())
    }

    /// Within an item: repeat the watermark when the last one is far enough up.
    fn keep_marked(&mut self) -> Result<(), PrintError> {
        if self.training && self.since_mark >= WATERMARK_INTERVAL_ROWS {
            self.mark()?;
        }
        Ok(())
    }

    /// The inverted training watermark band.
    fn mark(&mut self) -> Result<(), PrintError> {
        for line in watermark() {
            self.render(&line, PrintFont::Bold, Align::Center, 0, true)?;
        }
        self.since_mark = 0;
        Ok(())
    }

    /// Render one line of `s` into the band and print it, `indent_px` right of the margin
    /// (left-aligned lines); `inverted` prints white on black.
    fn render(
        &mut self,
        s: &str,
        font: PrintFont,
        align: Align,
        indent_px: u32,
        inverted: bool,
    ) -> Result<(), PrintError> {
        let (rows, baseline) = self.metrics(font);
        if !self.visible(rows) {
            self.advance(rows);
            return Ok(());
        }
        self.band.start(rows, inverted);
        let (x, h) = match align {
            Align::Left => (
                MARGIN_PX.saturating_add(indent_px),
                HorizontalAlignment::Left,
            ),
            Align::Center => (WIDTH_PX >> 1, HorizontalAlignment::Center),
        };
        let color = BinaryColor::from(!inverted);
        // The band cannot fail to draw; glyphs missing from the font are skipped.
        let _ = font.renderer().render_aligned(
            s,
            Point::new(i32::try_from(x).unwrap_or(0), baseline),
            VerticalPosition::Baseline,
            h,
            FontColor::Transparent(color),
            &mut self.band,
        );
        self.emit()
    }

    /// Text, wrapped at the right margin onto as many lines as it needs.
    pub(crate) fn text(
        &mut self,
        s: &str,
        font: PrintFont,
        align: Align,
    ) -> Result<(), PrintError> {
        self.indented(s, font, align, 0)
    }

    /// Text indented by `indent_px` (continuation lines too).
    pub(crate) fn indented(
        &mut self,
        s: &str,
        font: PrintFont,
        align: Align,
        indent_px: u32,
    ) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        self.keep_marked()?;
        self.paragraph(s, font, align, indent_px)
    }

    /// The lines of a paragraph (within an item).
    fn paragraph(
        &mut self,
        s: &str,
        font: PrintFont,
        align: Align,
        indent_px: u32,
    ) -> Result<(), PrintError> {
        let width = WIDTH_PX
            .saturating_sub(MARGIN_PX.saturating_mul(2))
            .saturating_sub(indent_px);
        let mut rest = s;
        loop {
            let (line, next) = split_line(rest, font, width);
            self.render(line, font, align, indent_px, false)?;
            rest = next;
            if rest.is_empty() || self.row >= self.window.end {
                return Ok(());
            }
        }
    }

    /// `rows` blank rows (within an item).
    fn blank(&mut self, rows: usize) -> Result<(), PrintError> {
        if !self.visible(rows) {
            self.advance(rows);
            return Ok(());
        }
        let blank = [0u8; PRINTER_LINE_BYTES];
        for _ in 0..rows {
            self.line_out(&blank)?;
        }
        Ok(())
    }

    /// `rows` blank rows.
    pub(crate) fn space(&mut self, rows: usize) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        self.blank(rows)
    }

    /// A line across, between the margins.
    fn full_line(&mut self, rows: usize) -> Result<(), PrintError> {
        let mut line = [0u8; PRINTER_LINE_BYTES];
        let margin = usize::try_from(MARGIN_PX).unwrap_or(0);
        ink_span(&mut line, margin, PRINTER_WIDTH_PX.saturating_sub(margin));
        for _ in 0..rows {
            self.line_out(&line)?;
        }
        Ok(())
    }

    /// A horizontal rule between margins, with space above and below.
    pub(crate) fn rule(&mut self) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        self.keep_marked()?;
        self.blank(RULE_GAP_PX)?;
        self.full_line(RULE_PX)?;
        self.blank(RULE_GAP_PX)
    }

    /// A labelled fingerprint: the label, then 4 lines of 4 groups of 4 hex digits.
    pub(crate) fn fingerprint(&mut self, label: &str, fp: &[u8; 32]) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        self.keep_marked()?;
        self.paragraph(label, PrintFont::Body, Align::Left, 0)?;
        for line in fingerprint_lines(fp) {
            self.render(&line, PrintFont::Mono, Align::Center, 0, false)?;
        }
        Ok(())
    }

    /// A labelled blank line to write on: the label, room to write, then a line.
    pub(crate) fn signature(&mut self, label: &str) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        self.keep_marked()?;
        self.paragraph(label, PrintFont::Body, Align::Left, 0)?;
        self.blank(SIGNATURE_SPACE_PX)?;
        self.full_line(1)?;
        self.blank(RULE_GAP_PX)
    }

    /// The QR code's rows, printed (within an item).
    fn qr_rows(&mut self, code: &QrCode<'_>, module: u32, left: u32) -> Result<(), PrintError> {
        let module_rows = usize::try_from(module).unwrap_or(0);
        for y in 0..code.size() {
            if !self.visible(module_rows) {
                self.advance(module_rows);
                continue;
            }
            let mut line = [0u8; PRINTER_LINE_BYTES];
            for x in 0..code.size() {
                if code.get_module(x, y) {
                    let from = u32::try_from(x)
                        .unwrap_or(0)
                        .saturating_mul(module)
                        .saturating_add(left);
                    let from = usize::try_from(from).unwrap_or(PRINTER_WIDTH_PX);
                    ink_span(&mut line, from, from.saturating_add(module_rows));
                }
            }
            for _ in 0..module_rows {
                self.line_out(&line)?;
            }
        }
        Ok(())
    }

    /// A QR code of `content` (error correction level M or better, mask [`QR_MASK`]),
    /// centred, with its quiet zone, modules of [`QR_MIN_MODULE_PX`]..=[`QR_MAX_MODULE_PX`]
    /// pixels.
    pub(crate) fn qr(&mut self, content: &str) -> Result<(), PrintError> {
        if !self.begin_item() {
            return Ok(());
        }
        let mut temp = [0u8; QR_BUFFER_BYTES];
        let mut out = [0u8; QR_BUFFER_BYTES];
        let result = self.qr_in(content, &mut temp, &mut out);
        // The buffers held the content: a ticket's ballots.
        temp.zeroize();
        out.zeroize();
        result
    }

    fn qr_in(
        &mut self,
        content: &str,
        temp: &mut [u8; QR_BUFFER_BYTES],
        out: &mut [u8; QR_BUFFER_BYTES],
    ) -> Result<(), PrintError> {
        let too_large = PrintError::QrTooLarge {
            chars: content.len(),
        };
        let code = QrCode::encode_text(
            content,
            temp,
            out,
            QrCodeEcc::Medium,
            Version::MIN,
            Version::new(QR_MAX_VERSION),
            Some(QR_MASK_PATTERN),
            true,
        )
        .map_err(|_| too_large)?;
        let size = u32::try_from(code.size()).map_err(|_| too_large)?;
        let total = size.saturating_add(QR_QUIET_MODULES.saturating_mul(2));
        let module = WIDTH_PX
            .checked_div(total)
            .unwrap_or(0)
            .min(QR_MAX_MODULE_PX);
        if module < QR_MIN_MODULE_PX {
            return Err(too_large);
        }
        let left = WIDTH_PX.saturating_sub(size.saturating_mul(module)) >> 1;
        let quiet_rows = usize::try_from(QR_QUIET_MODULES.saturating_mul(module)).unwrap_or(0);
        self.keep_marked()?;
        self.blank(quiet_rows)?;
        self.qr_rows(&code, module, left)?;
        // The code is printed whole before a watermark may follow.
        self.blank(quiet_rows)
    }
}

impl Drop for Sheet<'_> {
    fn drop(&mut self) {
        // The band held the last rendered line (a ticket's choices).
        self.band.lines.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hal::doubles::RamPrinter;

    fn black(line: &RasterLine) -> u32 {
        line.iter().map(|b| b.count_ones()).sum()
    }

    #[test]
    fn text_lines_wrap_at_words_and_fit() {
        let width = WIDTH_PX - 2 * MARGIN_PX;
        let s = "Europees Parlement en nog een heel lange naam die niet op een regel past";
        let mut rest = s;
        let mut lines = 0;
        while !rest.is_empty() {
            let (line, next) = split_line(rest, PrintFont::Body, width);
            assert!(PrintFont::Body.width(line) <= width, "{line:?}");
            assert!(!line.is_empty());
            rest = next;
            lines += 1;
        }
        assert!(lines >= 2);
        // A single word longer than the line is broken, not lost.
        let long = "X".repeat(80);
        let (first, rest) = split_line(&long, PrintFont::Title, width);
        assert_eq!(first.len() + rest.len(), 80);
        assert!(PrintFont::Title.width(first) <= width);
    }

    #[test]
    fn every_font_line_fits_the_band() {
        for font in [
            PrintFont::Small,
            PrintFont::Body,
            PrintFont::Bold,
            PrintFont::Title,
            PrintFont::Mono,
        ] {
            let (rows, baseline) = font.metrics();
            assert!(rows < BAND_ROWS, "{font:?}: {rows}");
            assert!(baseline > 0 && (baseline as usize) < rows, "{font:?}");
            // Every Latin-1 letter of the names and string tables lies inside the line.
            let latin1: std::string::String = (0xC0u32..=0xFF)
                .chain(0x41..=0x7A)
                .filter_map(char::from_u32)
                .collect();
            let b = font
                .renderer()
                .get_rendered_dimensions(latin1.as_str(), Point::zero(), VerticalPosition::Baseline)
                .unwrap()
                .bounding_box
                .unwrap();
            assert!(baseline + b.top_left.y >= 0, "{font:?}: {b:?}");
            assert!(
                baseline + b.top_left.y + b.size.height as i32 <= rows as i32,
                "{font:?}: {b:?}"
            );
        }
    }

    #[test]
    fn fingerprints_print_as_sixteen_groups_of_four() {
        let fp: [u8; 32] = core::array::from_fn(|i| i as u8);
        let lines: std::vec::Vec<_> = fingerprint_lines(&fp).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].as_str(), "0001 0203 0405 0607");
        assert_eq!(lines[3].as_str(), "1819 1A1B 1C1D 1E1F");
    }

    #[test]
    fn training_printouts_carry_the_watermark_at_both_ends() {
        let mut printer = RamPrinter::<4096>::new();
        let mut sheet = Sheet::start(&mut printer, true, PrintPosition::START, u32::MAX).unwrap();
        sheet.text("Hallo", PrintFont::Body, Align::Left).unwrap();
        sheet.finish().unwrap();
        let lines = printer.lines();
        // The first row is the inverted band: mostly black.
        assert!(black(&lines[0]) > 300);
        let last_ink = lines.iter().rposition(|l| black(l) > 300).unwrap();
        assert!(last_ink > 40);
        assert_eq!(printer.cuts(), 1);
        // The official printout has no black band.
        let mut printer = RamPrinter::<4096>::new();
        let mut sheet = Sheet::start(&mut printer, false, PrintPosition::START, u32::MAX).unwrap();
        sheet.text("Hallo", PrintFont::Body, Align::Left).unwrap();
        sheet.finish().unwrap();
        assert!(printer.lines().iter().all(|l| black(l) < 200));
    }

    #[test]
    fn long_training_printouts_repeat_the_watermark() {
        let mut printer = RamPrinter::<8192>::new();
        let mut sheet = Sheet::start(&mut printer, true, PrintPosition::START, u32::MAX).unwrap();
        for _ in 0..100 {
            sheet.text("regel", PrintFont::Body, Align::Left).unwrap();
        }
        sheet.finish().unwrap();
        let lines = printer.lines();
        let mut gap = 0u32;
        let mut longest = 0u32;
        for line in lines {
            if black(line) > 300 {
                gap = 0;
            } else {
                gap += 1;
                longest = longest.max(gap);
            }
        }
        assert!(longest <= WATERMARK_INTERVAL_ROWS + BAND_ROWS as u32 + FEED_ROWS as u32);
    }

    #[test]
    fn printer_failures_are_reported_with_codes() {
        let mut printer = RamPrinter::<10>::new();
        let mut sheet = Sheet::start(&mut printer, false, PrintPosition::START, u32::MAX).unwrap();
        let err = sheet
            .text("Hallo", PrintFont::Title, Align::Left)
            .unwrap_err();
        assert_eq!(err, PrintError::Printer(PrinterError::OutOfPaper));
        assert_eq!(err.code(), 901);
        let mut printer = RamPrinter::<10>::new();
        printer.set_offline(true);
        let err = Sheet::start(&mut printer, true, PrintPosition::START, u32::MAX)
            .err()
            .unwrap();
        assert_eq!(err.code(), 902);
    }

    #[test]
    fn qr_codes_fit_the_paper_or_are_refused() {
        let mut printer = RamPrinter::<4096>::new();
        let mut sheet = Sheet::start(&mut printer, false, PrintPosition::START, u32::MAX).unwrap();
        sheet.qr("VTT1:ABCDEFGH").unwrap();
        let too_long = "A".repeat(2000);
        assert_eq!(
            sheet.qr(&too_long).unwrap_err(),
            PrintError::QrTooLarge { chars: 2000 }
        );
    }
}
