//! The screen fonts drawn fast: u8g2 font data decoded straight into the framebuffer as
//! horizontal runs of pixels.
//!
//! The fonts are u8g2 bitmap fonts (the `u8g2-fonts` crate holds their data; its renderer
//! stays the reference, and the unit tests below compare every glyph and alignment with
//! it pixel by pixel). Drawing through `u8g2-fonts` costs a linear glyph search per
//! character (up to a few hundred steps for accented letters), a second pass to measure
//! for alignment, and one call per pixel into the drawing target. A [`Typeface`] instead
//! has an index of its 8-bit glyphs built at compile time, and writes each run of set pixels
//! of the run-length-coded glyph bitmap as one slice fill ([`Ink::span`]).
//!
//! The u8g2 font format (as documented with u8g2): a 23-byte header (glyph count, bounding
//! box mode, bit widths of the zero and one run lengths and of the glyph width, height, x
//! and y offset and advance, font bounding box, ascent and descent, and the offsets of `A`,
//! `a` and the table of glyphs above U+00FF from the end of the header), then the 8-bit
//! glyphs, each `encoding, size, bitstream`, ended by a glyph of size 0, then a jump table
//! and the 16-bit glyphs (`encoding hi, lo, size, bitstream`). A glyph's bitstream is read
//! least significant bit first: width, height, x offset, y offset, advance (the last three
//! biased signed values), then pairs of run lengths (zeros, ones) filling the glyph box row
//! by row, each pair after the first preceded by one bit that repeats the previous pair.

use crate::hal::Ink;

/// Bytes of the u8g2 font header.
const HEADER_BYTES: usize = 23;

/// A u8g2 font with an index of its 8-bit glyphs and their metrics.
pub(crate) struct Typeface {
    data: &'static [u8],
    /// Offset in `data` of each 8-bit glyph's record (0: the font has no such glyph).
    index: [u32; 256],
    /// The decoded header of each 8-bit glyph.
    metrics: [Metrics; 256],
    /// Bits of a glyph header (width, height, x, y, advance): where its bitmap starts.
    header_bits: u32,
}

/// A glyph's box, offsets and advance, as its header gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Metrics {
    width: u8,
    height: u8,
    x: i8,
    y: i8,
    advance: i8,
}

/// `count` bits of `data` from bit `bit` of byte `start`, least significant first (at
/// compile time).
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
// const evaluation: a malformed font fails the build, it cannot fail at run time.
const fn const_bits(data: &[u8], start: usize, bit: u32, count: u32) -> u32 {
    let mut value = 0u32;
    let mut i = 0;
    while i < count {
        let pos = bit + i;
        let byte = data[start + (pos / 8) as usize];
        value |= (((byte >> (pos % 8)) & 1) as u32) << i;
        i += 1;
    }
    value
}

/// A biased signed field (value - 2^(count-1)) of `count` bits (at compile time).
#[allow(clippy::arithmetic_side_effects)]
const fn const_signed(data: &[u8], start: usize, bit: u32, count: u32) -> i8 {
    (const_bits(data, start, bit, count) as i32 - (1i32 << (count - 1))) as i8
}

/// Why a glyph could not be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MissingGlyph;

impl Typeface {
    /// Index the 8-bit glyphs of u8g2 font `data` (at compile time).
    #[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
    // const evaluation: a malformed font fails the build, it cannot fail at run time.
    pub(crate) const fn new(data: &'static [u8]) -> Typeface {
        let counts = [
            data[4] as u32,
            data[5] as u32,
            data[6] as u32,
            data[7] as u32,
            data[8] as u32,
        ];
        let header_bits = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];
        let mut index = [0u32; 256];
        let mut metrics = [Metrics {
            width: 0,
            height: 0,
            x: 0,
            y: 0,
            advance: 0,
        }; 256];
        let mut at = HEADER_BYTES;
        while at + 1 < data.len() {
            let encoding = data[at] as usize;
            let size = data[at + 1] as usize;
            if index[encoding] == 0 && size > 0 {
                index[encoding] = at as u32;
                let bits = at + 2;
                let mut pos = 0;
                let width = const_bits(data, bits, pos, counts[0]) as u8;
                pos += counts[0];
                let height = const_bits(data, bits, pos, counts[1]) as u8;
                pos += counts[1];
                let x = const_signed(data, bits, pos, counts[2]);
                pos += counts[2];
                let y = const_signed(data, bits, pos, counts[3]);
                pos += counts[3];
                let advance = const_signed(data, bits, pos, counts[4]);
                metrics[encoding] = Metrics {
                    width,
                    height,
                    x,
                    y,
                    advance,
                };
            }
            if size == 0 {
                break;
            }
            at += size;
        }
        Typeface {
            data,
            index,
            metrics,
            header_bits,
        }
    }

    fn header(&self, at: usize) -> u8 {
        self.data.get(at).copied().unwrap_or(0)
    }

    /// The ascent of the font (of `A`), in pixels above the baseline.
    #[cfg(test)]
    pub(crate) fn ascent(&self) -> i8 {
        i8::from_ne_bytes([self.header(13)])
    }

    /// Offset in `data` of the first byte of the bitstream of `c`'s glyph.
    fn glyph_bits(&self, c: char) -> Option<usize> {
        let code = u32::from(c);
        if let Some(&at) = usize::try_from(code).ok().and_then(|i| self.index.get(i)) {
            if at == 0 {
                return None;
            }
            return usize::try_from(at).ok()?.checked_add(2);
        }
        let code = u16::try_from(code).ok()?;
        // Above U+00FF: the jump table, then a walk over 16-bit glyphs.
        let offset = usize::from(u16::from_be_bytes([self.header(21), self.header(22)]));
        let table = HEADER_BYTES.checked_add(offset)?;
        let mut jump = 0usize;
        let mut entry = table;
        loop {
            let bytes = self.data.get(entry..entry.checked_add(4)?)?;
            let distance = usize::from(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]));
            let limit = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]);
            jump = jump.checked_add(distance)?;
            entry = entry.checked_add(4)?;
            if limit >= code {
                break;
            }
        }
        let mut at = table.checked_add(jump)?;
        loop {
            let record = self.data.get(at..at.checked_add(3)?)?;
            let encoding = u16::from_be_bytes([*record.first()?, *record.get(1)?]);
            if encoding == 0 {
                return None;
            }
            if encoding == code {
                return at.checked_add(3);
            }
            let size = usize::from(*record.get(2)?);
            if size == 0 {
                return None;
            }
            at = at.checked_add(size)?;
        }
    }

    /// The glyph of `c`, its header decoded.
    fn glyph(&self, c: char) -> Option<Glyph<'_>> {
        let at = self.glyph_bits(c)?;
        if let Some(m) = usize::try_from(u32::from(c))
            .ok()
            .and_then(|i| self.metrics.get(i))
        {
            // An 8-bit glyph: the header decoded at compile time; the bitmap follows it.
            let skip = usize::try_from(self.header_bits / 8).ok()?;
            return Some(Glyph {
                width: m.width,
                height: m.height,
                x: i32::from(m.x),
                y: i32::from(m.y),
                advance: i32::from(m.advance),
                bits: Bits {
                    data: self.data.get(at.checked_add(skip)?..)?,
                    byte: 0,
                    bit: self.header_bits % 8,
                },
            });
        }
        let mut bits = Bits {
            data: self.data.get(at..)?,
            byte: 0,
            bit: 0,
        };
        let width = bits.read(self.header(4));
        let height = bits.read(self.header(5));
        let x = bits.read_signed(self.header(6));
        let y = bits.read_signed(self.header(7));
        let advance = bits.read_signed(self.header(8));
        Some(Glyph {
            width,
            height,
            x,
            y,
            advance,
            bits,
        })
    }

    /// The horizontal shift that aligns `text` as u8g2's renderer aligns one line: centred on
    /// the middle of its glyphs' bounding box, or right-aligned to its advance. Glyphs the
    /// font lacks count as nothing.
    fn shift(&self, text: &str, align: Anchor) -> i32 {
        if align == Anchor::Left {
            return 0;
        }
        let mut advance = 0i32;
        // The line's bounding box as u8g2 accumulates it: (left, width); a glyph whose box
        // starts exactly at 0 never widens it.
        let mut left = 0i32;
        let mut width = 0i32;
        for c in text.chars() {
            let Some(g) = self.metrics_of(c) else {
                continue;
            };
            let glyph_left = advance.saturating_add(i32::from(g.x));
            let glyph_width = i32::from(g.width);
            if width == 0 {
                left = glyph_left;
                width = glyph_width;
            } else if glyph_left != 0 {
                let right = left
                    .saturating_add(width)
                    .max(glyph_left.saturating_add(glyph_width));
                left = left.min(glyph_left);
                width = right.saturating_sub(left);
            }
            advance = advance.saturating_add(i32::from(g.advance));
        }
        match align {
            Anchor::Left => 0,
            Anchor::Center if width == 0 => 0,
            Anchor::Center => width
                .checked_div(2)
                .unwrap_or(0)
                .saturating_add(left)
                .saturating_neg(),
            Anchor::Right => 1i32.saturating_sub(advance),
        }
    }

    /// Draw one line of `text` with its anchor at (`x`, `baseline`), as u8g2's renderer does
    /// with transparent background: set pixels get `raw`, the rest is left alone. Glyphs the
    /// font lacks are skipped.
    pub(crate) fn draw(
        &self,
        ink: &mut Ink<'_>,
        x: i32,
        baseline: i32,
        align: Anchor,
        text: &str,
        raw: u16,
    ) {
        let mut pen = x.saturating_add(self.shift(text, align));
        let (zeros, ones) = (self.header(2), self.header(3));
        for c in text.chars() {
            let Some(mut g) = self.glyph(c) else {
                continue;
            };
            if g.width > 0 && g.height > 0 {
                let left = pen.saturating_add(g.x);
                let top = baseline.saturating_sub(i32::from(g.height).saturating_add(g.y));
                g.draw_runs(zeros, ones, |col, row, len| {
                    ink.span(
                        left.saturating_add_unsigned(col),
                        top.saturating_add_unsigned(row),
                        len,
                        raw,
                    );
                });
            }
            pen = pen.saturating_add(g.advance);
        }
    }

    /// The rows the ink of `text` covers, relative to the baseline: (top, bottom), bottom
    /// exclusive; `None` if none of its glyphs has ink.
    pub(crate) fn ink_rows(&self, text: &str) -> Option<(i32, i32)> {
        let mut rows: Option<(i32, i32)> = None;
        for c in text.chars() {
            let Some(g) = self.glyph(c) else {
                continue;
            };
            if g.width == 0 || g.height == 0 {
                continue;
            }
            let bottom = g.y.saturating_neg();
            let top = bottom.saturating_sub(i32::from(g.height));
            rows = Some(match rows {
                Some((t, b)) => (t.min(top), b.max(bottom)),
                None => (top, bottom),
            });
        }
        rows
    }

    /// The sum of the advances of `text`'s glyphs, in pixels, and whether the font has
    /// every one of them.
    pub(crate) fn advance(&self, text: &str) -> (i32, Result<(), MissingGlyph>) {
        let mut advance = 0i32;
        let mut complete = Ok(());
        for c in text.chars() {
            match self.metrics_of(c) {
                Some(m) => advance = advance.saturating_add(i32::from(m.advance)),
                None => complete = Err(MissingGlyph),
            }
        }
        (advance, complete)
    }

    /// The metrics of `c`'s glyph: from the table for 8-bit characters, else decoded.
    fn metrics_of(&self, c: char) -> Option<Metrics> {
        match usize::try_from(u32::from(c)).ok().and_then(|i| {
            self.index
                .get(i)
                .map(|&at| (at, self.metrics.get(i).copied()))
        }) {
            Some((0, _)) => None,
            Some((_, m)) => m,
            None => self.glyph(c).map(|g| Metrics {
                width: g.width,
                height: g.height,
                x: i8::try_from(g.x).unwrap_or(0),
                y: i8::try_from(g.y).unwrap_or(0),
                advance: i8::try_from(g.advance).unwrap_or(0),
            }),
        }
    }
}

/// Where the pen position of [`Typeface::draw`] lies on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// At the start of the line.
    Left,
    /// At the middle of the line's ink.
    Center,
    /// Just after the end of the line.
    Right,
}

/// A least-significant-bit-first reader of a glyph bitstream.
struct Bits<'d> {
    data: &'d [u8],
    byte: usize,
    bit: u32,
}

impl Bits<'_> {
    /// The next `count` (at most 8) bits as an unsigned number; zeros past the end.
    fn read(&mut self, count: u8) -> u8 {
        let count = u32::from(count.min(8));
        let low = self.data.get(self.byte).copied().unwrap_or(0);
        let high = self
            .data
            .get(self.byte.saturating_add(1))
            .copied()
            .unwrap_or(0);
        let pair = u16::from_le_bytes([low, high]);
        let value = pair.checked_shr(self.bit).unwrap_or(0);
        let mask = 1u16
            .checked_shl(count)
            .map_or(u16::MAX, |m| m.wrapping_sub(1));
        let end = self.bit.saturating_add(count);
        self.byte = self
            .byte
            .saturating_add(usize::try_from(end / 8).unwrap_or(0));
        self.bit = end % 8;
        u8::try_from(value & mask).unwrap_or(0)
    }

    /// The next `count` bits as a biased signed number (value - 2^(count-1)).
    fn read_signed(&mut self, count: u8) -> i32 {
        let bias = 1i32
            .checked_shl(u32::from(count).saturating_sub(1))
            .unwrap_or(0);
        i32::from(self.read(count)).saturating_sub(bias)
    }
}

/// A glyph: its box, offsets, advance and bitmap.
struct Glyph<'d> {
    width: u8,
    height: u8,
    x: i32,
    y: i32,
    advance: i32,
    bits: Bits<'d>,
}

impl Glyph<'_> {
    /// Call `span(column, row, length)` for every horizontal run of set pixels of the
    /// bitmap (`zeros` and `ones` are the font's run-length bit widths).
    fn draw_runs(&mut self, zeros: u8, ones: u8, mut span: impl FnMut(u32, u32, u32)) {
        let width = u32::from(self.width);
        let height = u32::from(self.height);
        if width == 0 {
            return;
        }
        let (mut col, mut row) = (0u32, 0u32);
        let mut run_zeros = u32::from(self.bits.read(zeros));
        let mut run_ones = u32::from(self.bits.read(ones));
        // Each run pair advances at least one pixel unless the font is malformed; bound the
        // work by the bitmap's size either way.
        let mut budget = width.saturating_mul(height).saturating_add(1);
        loop {
            col = col.saturating_add(run_zeros);
            row = row.saturating_add(col.checked_div(width).unwrap_or(0));
            col = col.checked_rem(width).unwrap_or(0);
            let mut left = run_ones;
            while left > 0 && row < height {
                let take = left.min(width.saturating_sub(col));
                span(col, row, take);
                left = left.saturating_sub(take);
                col = col.saturating_add(take);
                if col >= width {
                    col = 0;
                    row = row.saturating_add(1);
                }
            }
            budget = budget.saturating_sub(1);
            if row >= height || budget == 0 {
                return;
            }
            if self.bits.read(1) == 0 {
                run_zeros = u32::from(self.bits.read(zeros));
                run_ones = u32::from(self.bits.read(ones));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::hal::{Area, Framebuffer};
    use embedded_graphics::pixelcolor::{IntoStorage, Rgb565, RgbColor};
    use embedded_graphics::prelude::Point;
    use std::boxed::Box;
    use std::string::String;
    use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
    use u8g2_fonts::{fonts, Font, FontRenderer};

    fn faces() -> [(&'static str, &'static [u8]); 6] {
        [
            ("helvR14_te", fonts::u8g2_font_helvR14_te::DATA),
            ("helvR18_te", fonts::u8g2_font_helvR18_te::DATA),
            ("helvB18_te", fonts::u8g2_font_helvB18_te::DATA),
            ("helvB24_te", fonts::u8g2_font_helvB24_te::DATA),
            ("logisoso32_tf", fonts::u8g2_font_logisoso32_tf::DATA),
            ("helvR14_tf", fonts::u8g2_font_helvR14_tf::DATA),
        ]
    }

    /// Every character 1..=255 but the line feed (lines are drawn one by one), plus some
    /// above U+00FF.
    fn all_chars() -> String {
        let mut s: String = (1u8..=255)
            .filter(|&b| b != b'\n')
            .map(char::from)
            .collect();
        s.push_str("€ŒœŠšŽžŸ\u{2026}\u{2013}\u{263a}");
        s
    }

    /// Two framebuffers, reused: the reference renderer's and the typeface's.
    struct Pair {
        want: Box<Framebuffer>,
        got: Box<Framebuffer>,
    }

    impl Pair {
        fn new() -> Pair {
            Pair {
                want: Box::new(Framebuffer::new()),
                got: Box::new(Framebuffer::new()),
            }
        }

        /// Draw `text` both ways and compare.
        fn check(
            &mut self,
            data: &'static [u8],
            text: &str,
            at: Point,
            (anchor, align): (Anchor, HorizontalAlignment),
            clip: Area,
            what: &str,
        ) {
            self.want.fill_area(Area::FULL, 0);
            self.got.fill_area(Area::FULL, 0);
            reference(&mut self.want, data, text, at, align, clip);
            fast(&mut self.got, data, text, at, anchor, clip);
            assert_same(&self.want, &self.got, what);
        }
    }

    fn reference(
        fb: &mut Framebuffer,
        data: &'static [u8],
        text: &str,
        at: Point,
        align: HorizontalAlignment,
        clip: Area,
    ) {
        let renderer = FontRenderer::new_from_raw_data(data).with_ignore_unknown_chars(true);
        let mut target = fb.ink(clip);
        let _ = renderer.render_aligned(
            text,
            at,
            VerticalPosition::Baseline,
            align,
            FontColor::Transparent(Rgb565::WHITE),
            &mut target,
        );
    }

    fn fast(
        fb: &mut Framebuffer,
        data: &'static [u8],
        text: &str,
        at: Point,
        align: Anchor,
        clip: Area,
    ) {
        let face = Typeface::new(data);
        face.draw(
            &mut fb.ink(clip),
            at.x,
            at.y,
            align,
            text,
            Rgb565::WHITE.into_storage(),
        );
    }

    fn assert_same(a: &Framebuffer, b: &Framebuffer, what: &str) {
        let diff = a
            .pixels()
            .iter()
            .zip(b.pixels().iter())
            .filter(|(x, y)| x != y)
            .count();
        let lit = a.pixels().iter().filter(|&&p| p != 0).count();
        assert_eq!(diff, 0, "{what}: {diff} pixels differ ({lit} lit)");
    }

    const ALIGNS: [(Anchor, HorizontalAlignment); 3] = [
        (Anchor::Left, HorizontalAlignment::Left),
        (Anchor::Center, HorizontalAlignment::Center),
        (Anchor::Right, HorizontalAlignment::Right),
    ];

    #[test]
    fn every_glyph_draws_as_the_reference_renderer_draws_it() {
        let mut pair = Pair::new();
        for (name, data) in faces() {
            for c in all_chars().chars() {
                let text: String = [c, 'x', c].iter().collect();
                for align in ALIGNS {
                    let what = std::format!("{name} {c:?} {:?}", align.0);
                    pair.check(data, &text, Point::new(400, 240), align, Area::FULL, &what);
                }
            }
        }
    }

    #[test]
    fn lines_align_and_clip_as_the_reference_renderer() {
        let lines = [
            "Kies een lijst of stem blanco",
            " Élections du 7 juin 2026 (exercice) ",
            "Übung  /  ÉÅgjpqy  € 12,50",
            "",
            " ",
            "  a",
            "j",
            "E510: Geheugenfout \u{263a} ongekend",
        ];
        let clips = [
            Area::FULL,
            Area::new(100, 200, 300, 30).unwrap(),
            Area::new(0, 0, 120, 480).unwrap(),
            Area::new(390, 230, 5, 5).unwrap(),
        ];
        let mut pair = Pair::new();
        for (name, data) in faces() {
            for text in lines {
                for clip in clips {
                    for align in ALIGNS {
                        for at in [
                            Point::new(400, 240),
                            Point::new(5, 20),
                            Point::new(790, 470),
                        ] {
                            let what =
                                std::format!("{name} {text:?} {:?} {clip:?} {at:?}", align.0);
                            pair.check(data, text, at, align, clip, &what);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn advances_and_missing_glyphs_match_the_reference() {
        for (name, data) in faces() {
            let face = Typeface::new(data);
            let strict = FontRenderer::new_from_raw_data(data);
            let lenient = strict.clone().with_ignore_unknown_chars(true);
            for text in ["Kies", "ÉÅgjpqy", "12 € ŒŠ", "\u{263a}a", ""] {
                let (advance, complete) = face.advance(text);
                let want = lenient
                    .get_rendered_dimensions(text, Point::zero(), VerticalPosition::Top)
                    .unwrap()
                    .advance
                    .x;
                assert_eq!(advance, want, "{name} {text:?}");
                assert_eq!(
                    complete.is_ok(),
                    strict
                        .get_rendered_dimensions(text, Point::zero(), VerticalPosition::Top)
                        .is_ok(),
                    "{name} {text:?}"
                );
            }
            assert_eq!(face.ascent(), lenient.get_ascent(), "{name}");
            for text in ["\u{c9}\u{c5}gjpqy", "a", " ", "", "_", "\u{263a}"] {
                let want = lenient
                    .get_rendered_dimensions(text, Point::zero(), VerticalPosition::Baseline)
                    .unwrap()
                    .bounding_box
                    .map(|b| (b.top_left.y, b.top_left.y + b.size.height as i32));
                assert_eq!(face.ink_rows(text), want, "{name} {text:?}");
            }
        }
    }
}
