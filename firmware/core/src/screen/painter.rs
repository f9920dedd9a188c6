//! The three consumers of a screen layout: drawing into a framebuffer, listing the touch
//! targets, and collecting the visible text. One layout function feeds all three, so what
//! is drawn, what can be tapped and what a script reads can never disagree.

use super::typeface::Anchor;
use super::{Element, Font};
use crate::hal::{Area, Framebuffer, Ink};
use core::fmt;
use embedded_graphics::pixelcolor::{IntoStorage, Rgb565};
use embedded_graphics::prelude::{DrawTarget, DrawTargetExt, Point};
use embedded_graphics::primitives::Rectangle;
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};

/// Horizontal placement of a text within its rectangle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// Left edge plus [`TEXT_PAD_PX`].
    Left,
    /// Centred.
    Center,
    /// Right edge minus [`TEXT_PAD_PX`].
    Right,
}

/// Space between a rectangle's edge and left- or right-aligned text, in pixels.
pub(crate) const TEXT_PAD_PX: i32 = 10;
/// Width of the keyboard focus frame, in pixels.
pub(crate) const FOCUS_FRAME_PX: u32 = 5;

/// What a layout emits.
pub(crate) trait Painter {
    /// Fill `rect` with `color`.
    fn fill(&mut self, rect: Rectangle, color: Rgb565);
    /// Draw one line of `text`, vertically centred in `rect` and clipped to it.
    fn text(&mut self, rect: Rectangle, text: &str, font: Font, color: Rgb565, align: Align);
    /// A touch / keyboard target covering `rect` (drawn before this call).
    fn element(&mut self, element: Element, rect: Rectangle);
}

/// Draws into a display target; frames the `focus`-th element.
pub(crate) struct Canvas<'d, D> {
    target: &'d mut D,
    focus: Option<usize>,
    focus_color: Rgb565,
    seen: usize,
}

impl<'d, D: DrawTarget<Color = Rgb565>> Canvas<'d, D> {
    pub(crate) fn new(target: &'d mut D, focus: Option<usize>, focus_color: Rgb565) -> Self {
        Canvas {
            target,
            focus,
            focus_color,
            seen: 0,
        }
    }
}

impl<D: DrawTarget<Color = Rgb565>> Painter for Canvas<'_, D> {
    fn fill(&mut self, rect: Rectangle, color: Rgb565) {
        // The framebuffer cannot fail; a failing panel target only loses this frame.
        let _ = self.target.fill_solid(&rect, color);
    }

    fn text(&mut self, rect: Rectangle, text: &str, font: Font, color: Rgb565, align: Align) {
        draw_text(
            &mut self.target.clipped(&rect),
            rect,
            text,
            font,
            color,
            align,
        );
    }

    fn element(&mut self, _element: Element, rect: Rectangle) {
        if self.focus == Some(self.seen) {
            let color = self.focus_color;
            frame(self, rect, FOCUS_FRAME_PX, color);
        }
        self.seen = self.seen.saturating_add(1);
    }
}

/// The baseline that centres `font`'s whole ink height in `rect`: from the top of its
/// accented capitals (`É`, `Å`) to the bottom of its descenders, so that no accent is clipped.
pub(crate) fn baseline(font: Font, rect: &Rectangle) -> i32 {
    let (above, below) = font.ink_extent();
    let offset = i32::try_from(rect.size.height)
        .unwrap_or(0)
        .saturating_add(above)
        .saturating_sub(below)
        .checked_div(2)
        .unwrap_or(0);
    rect.top_left.y.saturating_add(offset)
}

/// Draw one line of `text` into `target`, vertically centred in `rect` and aligned in it
/// as `align` says. The caller clips `target` to `rect` (or to a part of it).
pub(crate) fn draw_text<D: DrawTarget<Color = Rgb565>>(
    target: &mut D,
    rect: Rectangle,
    text: &str,
    font: Font,
    color: Rgb565,
    align: Align,
) {
    let center = rect.center();
    let y = baseline(font, &rect);
    let (x, h) = match align {
        Align::Left => (
            rect.top_left.x.saturating_add(TEXT_PAD_PX),
            HorizontalAlignment::Left,
        ),
        Align::Center => (center.x, HorizontalAlignment::Center),
        Align::Right => (
            rect.top_left
                .x
                .saturating_add_unsigned(rect.size.width)
                .saturating_sub(TEXT_PAD_PX),
            HorizontalAlignment::Right,
        ),
    };
    // Unknown glyphs are skipped (the renderer ignores them) and the targets used here
    // are infallible, so there is no error worth reporting.
    let _ = font.renderer().render_aligned(
        text,
        Point::new(x, y),
        VerticalPosition::Baseline,
        h,
        FontColor::Transparent(color),
        target,
    );
}

/// Draw one line of `text` into `ink` as [`draw_text`] does (the same pixels), with the
/// face's [`super::typeface::Typeface`]: glyphs found by index and drawn as runs.
pub(crate) fn draw_text_fast(
    ink: &mut Ink<'_>,
    rect: Rectangle,
    text: &str,
    font: Font,
    color: Rgb565,
    align: Align,
) {
    if text.contains(['\n', '\r']) {
        // Several lines: the reference renderer's line handling.
        draw_text(ink, rect, text, font, color, align);
        return;
    }
    let y = baseline(font, &rect);
    let (x, anchor) = match align {
        Align::Left => (rect.top_left.x.saturating_add(TEXT_PAD_PX), Anchor::Left),
        Align::Center => (rect.center().x, Anchor::Center),
        Align::Right => (
            rect.top_left
                .x
                .saturating_add_unsigned(rect.size.width)
                .saturating_sub(TEXT_PAD_PX),
            Anchor::Right,
        ),
    };
    font.face()
        .draw(ink, x, y, anchor, text, color.into_storage());
}

/// Draw a frame of `width` pixels just inside `rect`.
pub(crate) fn frame(p: &mut dyn Painter, rect: Rectangle, width: u32, color: Rgb565) {
    let Rectangle { top_left, size } = rect;
    let w = width.min(size.width).min(size.height);
    let wi = i32::try_from(w).unwrap_or(0);
    let right = top_left
        .x
        .saturating_add_unsigned(size.width)
        .saturating_sub(wi);
    let bottom = top_left
        .y
        .saturating_add_unsigned(size.height)
        .saturating_sub(wi);
    let horizontal = embedded_graphics::geometry::Size::new(size.width, w);
    let vertical = embedded_graphics::geometry::Size::new(w, size.height);
    p.fill(Rectangle::new(top_left, horizontal), color);
    p.fill(
        Rectangle::new(Point::new(top_left.x, bottom), horizontal),
        color,
    );
    p.fill(Rectangle::new(top_left, vertical), color);
    p.fill(
        Rectangle::new(Point::new(right, top_left.y), vertical),
        color,
    );
}

impl<T: Painter + ?Sized> Painter for &mut T {
    fn fill(&mut self, rect: Rectangle, color: Rgb565) {
        (**self).fill(rect, color);
    }
    fn text(&mut self, rect: Rectangle, text: &str, font: Font, color: Rgb565, align: Align) {
        (**self).text(rect, text, font, color, align);
    }
    fn element(&mut self, element: Element, rect: Rectangle) {
        (**self).element(element, rect);
    }
}

/// Calls `visit(index, element, rect)` for every element, in layout (focus) order.
pub(crate) struct Elements<F> {
    visit: F,
    seen: usize,
}

impl<F: FnMut(usize, Element, Rectangle)> Elements<F> {
    pub(crate) fn new(visit: F) -> Self {
        Elements { visit, seen: 0 }
    }
}

impl<F: FnMut(usize, Element, Rectangle)> Painter for Elements<F> {
    fn fill(&mut self, _rect: Rectangle, _color: Rgb565) {}
    fn text(&mut self, _: Rectangle, _: &str, _: Font, _: Rgb565, _: Align) {}
    fn element(&mut self, element: Element, rect: Rectangle) {
        (self.visit)(self.seen, element, rect);
        self.seen = self.seen.saturating_add(1);
    }
}

/// Reports every text item measured in the face it is drawn in (see
/// [`super::measure_text`]).
pub(crate) struct Measures<F> {
    visit: F,
}

impl<F: FnMut(super::TextMeasure<'_>)> Measures<F> {
    pub(crate) fn new(visit: F) -> Self {
        Measures { visit }
    }
}

impl<F: FnMut(super::TextMeasure<'_>)> Painter for Measures<F> {
    fn fill(&mut self, _rect: Rectangle, _color: Rgb565) {}
    fn text(&mut self, rect: Rectangle, text: &str, font: Font, _: Rgb565, _: Align) {
        let pad = u32::try_from(TEXT_PAD_PX).unwrap_or(0).saturating_mul(2);
        // Placed as `Canvas::text` places it.
        let y = baseline(font, &rect);
        let ink = font
            .renderer()
            .get_rendered_dimensions(text, Point::new(0, y), VerticalPosition::Baseline)
            .ok()
            .and_then(|d| d.bounding_box);
        let (ink_top_px, ink_bottom_px) = ink.map_or((y, y), |b| {
            (
                b.top_left.y,
                b.top_left.y.saturating_add_unsigned(b.size.height),
            )
        });
        (self.visit)(super::TextMeasure {
            text,
            width_px: font.width(text),
            room_px: rect.size.width.saturating_sub(pad),
            height_px: font.height(),
            left_px: rect.top_left.x,
            top_px: rect.top_left.y,
            box_width_px: rect.size.width,
            box_height_px: rect.size.height,
            ink_top_px,
            ink_bottom_px,
            missing_glyph: font.missing_glyph(text),
        });
    }
    fn element(&mut self, _: Element, _: Rectangle) {}
}

/// Writes every text line, one per line, keeping the first write error.
pub(crate) struct Texts<'w> {
    out: &'w mut dyn fmt::Write,
    result: fmt::Result,
}

impl<'w> Texts<'w> {
    pub(crate) fn new(out: &'w mut dyn fmt::Write) -> Self {
        Texts {
            out,
            result: Ok(()),
        }
    }

    pub(crate) fn finish(self) -> fmt::Result {
        self.result
    }
}

impl Painter for Texts<'_> {
    fn fill(&mut self, _rect: Rectangle, _color: Rgb565) {}
    fn text(&mut self, _: Rectangle, text: &str, _: Font, _: Rgb565, _: Align) {
        if self.result.is_ok() {
            self.result = self
                .out
                .write_str(text)
                .and_then(|()| self.out.write_char('\n'));
        }
    }
    fn element(&mut self, _: Element, _: Rectangle) {}
}

// ---------------------------------------------------------------------------------------------
// Scenes: the frame as a list of drawing operations, to redraw only what changed

/// Most fills and texts one frame may hold; a frame with more is drawn whole, directly
/// (correct, only slower). The busiest screens draw about 200.
pub const SCENE_MAX_OPS: usize = 384;
/// Most touch targets one frame may hold (more: the frame is drawn whole and the targets
/// are found by laying the screen out again).
pub const SCENE_MAX_ELEMENTS: usize = 96;
/// Bytes of text one frame may hold (more: as for [`SCENE_MAX_OPS`]).
pub const SCENE_TEXT_BYTES: usize = 8 * 1024;

/// How far (in operations of either frame) the renderer looks for the next equal pair of
/// operations after a difference.
const ALIGN_WINDOW: usize = 4;
/// Differences after which the renderer stops aligning two frames and redraws the whole
/// display (the new frame is another screen).
const MAX_DIFFERENCES: usize = 8;
/// Most separate changed areas the renderer redraws; more are merged.
const MAX_CHANGED_AREAS: usize = 8;

/// The areas where two frames differ: a few rectangles, overlapping ones merged.
pub(crate) struct Changes {
    areas: heapless::Vec<Area, MAX_CHANGED_AREAS>,
}

impl Changes {
    fn new() -> Changes {
        Changes {
            areas: heapless::Vec::new(),
        }
    }

    /// Whether nothing changed.
    pub(crate) fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Whether the changes cover the whole display.
    fn is_full(&self) -> bool {
        self.areas.contains(&Area::FULL)
    }

    fn add_rect(&mut self, rect: &Rectangle) {
        if let Some(area) = Area::clip(rect) {
            self.add(area);
        }
    }

    /// Add `area`, merging it with every area it overlaps (and, when the list is full, with
    /// the last one).
    fn add(&mut self, area: Area) {
        let mut merged = area;
        while let Some(at) = self.areas.iter().position(|a| overlaps(a, &merged)) {
            merged = merged.union(self.areas.swap_remove(at));
        }
        if let Err(area) = self.areas.push(merged) {
            if let Some(last) = self.areas.last_mut() {
                *last = last.union(area);
            }
        }
    }
}

/// Whether two areas share a pixel.
fn overlaps(a: &Area, b: &Area) -> bool {
    a.columns().start < b.columns().end
        && b.columns().start < a.columns().end
        && a.rows().start < b.rows().end
        && b.rows().start < a.rows().end
}

/// What one drawing operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    /// Fill the rectangle.
    Fill,
    /// One line of text, clipped to the rectangle; its bytes are `start..start + len` of
    /// the scene's text.
    Text {
        font: Font,
        align: Align,
        start: u16,
        len: u16,
    },
}

/// One drawing operation: every pixel it sets lies in `rect`.
#[derive(Debug, Clone, Copy)]
struct Op {
    rect: Rectangle,
    color: Rgb565,
    kind: OpKind,
}

/// One frame as drawing operations, in drawing order, with its touch targets and text.
///
/// Its text bytes may be a voter's choices (the review): they are zeroed before the scene
/// is reused and by [`Scene::wipe`].
pub(crate) struct Scene {
    ops: heapless::Vec<Op, SCENE_MAX_OPS>,
    elements: heapless::Vec<(Element, Rectangle), SCENE_MAX_ELEMENTS>,
    text: [u8; SCENE_TEXT_BYTES],
    text_len: usize,
    /// Whether the scene holds the whole frame (nothing overflowed).
    complete: bool,
}

impl Scene {
    pub(crate) const fn new() -> Scene {
        Scene {
            ops: heapless::Vec::new(),
            elements: heapless::Vec::new(),
            text: [0; SCENE_TEXT_BYTES],
            text_len: 0,
            complete: false,
        }
    }

    /// Empty the scene for a new frame, zeroing the text it held.
    fn restart(&mut self) {
        if let Some(used) = self.text.get_mut(..self.text_len) {
            used.fill(0);
        }
        self.text_len = 0;
        self.ops.clear();
        self.elements.clear();
        self.complete = true;
    }

    /// Zero everything; the scene no longer describes any frame.
    pub(crate) fn wipe(&mut self) {
        self.text.fill(0);
        self.text_len = 0;
        self.ops.clear();
        self.elements.clear();
        self.complete = false;
    }

    /// Whether the scene holds a whole frame.
    pub(crate) const fn is_complete(&self) -> bool {
        self.complete
    }

    fn text_of(&self, kind: OpKind) -> &str {
        match kind {
            OpKind::Text { start, len, .. } => {
                let start = usize::from(start);
                self.text
                    .get(start..start.saturating_add(usize::from(len)))
                    .and_then(|bytes| core::str::from_utf8(bytes).ok())
                    .unwrap_or("")
            }
            OpKind::Fill => "",
        }
    }

    fn push_text(&mut self, text: &str) -> Option<(u16, u16)> {
        let start = self.text_len;
        let end = start.checked_add(text.len())?;
        self.text
            .get_mut(start..end)?
            .copy_from_slice(text.as_bytes());
        self.text_len = end;
        Some((u16::try_from(start).ok()?, u16::try_from(text.len()).ok()?))
    }

    /// Whether op `a` of this scene draws exactly what op `b` of `other` draws.
    fn same(&self, a: &Op, other: &Scene, b: &Op) -> bool {
        // The cheap fields first: most differing operations differ there.
        if a.rect != b.rect || a.color != b.color {
            return false;
        }
        match (a.kind, b.kind) {
            (OpKind::Fill, OpKind::Fill) => true,
            (
                OpKind::Text {
                    font: fa,
                    align: aa,
                    ..
                },
                OpKind::Text {
                    font: fb,
                    align: ab,
                    ..
                },
            ) => fa == fb && aa == ab && self.text_of(a.kind) == other.text_of(b.kind),
            _ => false,
        }
    }

    /// The areas where `next` draws other pixels than this scene (which is what the
    /// framebuffer shows); empty if they draw the same frame.
    ///
    /// The two operation lists are aligned greedily: equal operations in order are matched,
    /// and after a difference the nearest equal pair within [`ALIGN_WINDOW`] operations of
    /// either list resynchronises them (an operation inserted, removed or changed). Every
    /// unmatched operation's rectangle is a changed area. A pixel outside all of them is
    /// covered by matched operations only, the same ones in the same order in both frames,
    /// so it keeps its colour. After [`MAX_DIFFERENCES`] differences (another screen), the
    /// equal operations at the end of both lists are matched and everything between is one
    /// changed area. If this scene is incomplete, the whole display.
    pub(crate) fn changes_to(&self, next: &Scene) -> Changes {
        let mut changes = Changes::new();
        if !self.complete {
            changes.add(Area::FULL);
            return changes;
        }
        let (old, new) = (self.ops.as_slice(), next.ops.as_slice());
        let (mut i, mut j) = (0usize, 0usize);
        let mut differences = 0usize;
        while let (Some(a), Some(b)) = (old.get(i), new.get(j)) {
            if self.same(a, next, b) {
                i = i.saturating_add(1);
                j = j.saturating_add(1);
                continue;
            }
            differences = differences.saturating_add(1);
            if changes.is_full() || differences > MAX_DIFFERENCES {
                // Another screen: no more aligning. What is equal at the end of both lists
                // is kept; everything from here to there changed.
                let (old_rest, new_rest) = (
                    old.get(i..).unwrap_or_default(),
                    new.get(j..).unwrap_or_default(),
                );
                let suffix = old_rest
                    .iter()
                    .rev()
                    .zip(new_rest.iter().rev())
                    .take_while(|(a, b)| self.same(a, next, b))
                    .count();
                let middle = |ops: &[Op]| {
                    ops.get(..ops.len().saturating_sub(suffix))
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|op| Area::clip(&op.rect))
                        .reduce(Area::union)
                };
                for area in [middle(old_rest), middle(new_rest)].into_iter().flatten() {
                    changes.add(area);
                }
                return changes;
            }
            let (skip_old, skip_new) = self.resync(next, i, j).unwrap_or((1, 1));
            for op in old.iter().skip(i).take(skip_old) {
                changes.add_rect(&op.rect);
            }
            for op in new.iter().skip(j).take(skip_new) {
                changes.add_rect(&op.rect);
            }
            i = i.saturating_add(skip_old);
            j = j.saturating_add(skip_new);
        }
        for op in old.iter().skip(i).chain(new.iter().skip(j)) {
            changes.add_rect(&op.rect);
        }
        changes
    }

    /// The smallest skips `(a, b)`, each at most [`ALIGN_WINDOW`], after which op `i + a`
    /// of this scene equals op `j + b` of `next`.
    fn resync(&self, next: &Scene, i: usize, j: usize) -> Option<(usize, usize)> {
        for distance in 1..=ALIGN_WINDOW.saturating_mul(2) {
            for a in 0..=distance.min(ALIGN_WINDOW) {
                let b = distance.saturating_sub(a);
                if b > ALIGN_WINDOW {
                    continue;
                }
                let (Some(x), Some(y)) = (
                    self.ops.get(i.saturating_add(a)),
                    next.ops.get(j.saturating_add(b)),
                ) else {
                    continue;
                };
                if self.same(x, next, y) {
                    return Some((a, b));
                }
            }
        }
        None
    }

    /// Draw the parts of the frame inside `changes` into `frame` (marking them dirty).
    pub(crate) fn replay(&self, frame: &mut Framebuffer, changes: &Changes) {
        for region in &changes.areas {
            let bounds = region.to_rectangle();
            for op in &self.ops {
                let Some(clip) = Area::clip(&op.rect.intersection(&bounds)) else {
                    continue;
                };
                match op.kind {
                    OpKind::Fill => frame.fill_area(clip, op.color.into_storage()),
                    OpKind::Text { font, align, .. } => {
                        let text = self.text_of(op.kind);
                        draw_text_fast(&mut frame.ink(clip), op.rect, text, font, op.color, align);
                    }
                }
            }
            frame.mark_dirty(*region);
        }
    }

    /// Call `visit(index, element, rect)` for every touch target, in layout order.
    pub(crate) fn elements(&self, mut visit: impl FnMut(usize, Element, Rectangle)) {
        for (i, (element, rect)) in self.elements.iter().enumerate() {
            visit(i, *element, *rect);
        }
    }

    /// Feed every text line, in drawing order, to `painter`.
    pub(crate) fn texts(&self, painter: &mut dyn Painter) {
        for op in &self.ops {
            if let OpKind::Text { font, align, .. } = op.kind {
                painter.text(op.rect, self.text_of(op.kind), font, op.color, align);
            }
        }
    }
}

/// Records a frame into a [`Scene`]; frames the `focus`-th element as [`Canvas`] does.
pub(crate) struct Recording<'s> {
    scene: &'s mut Scene,
    focus: Option<usize>,
    focus_color: Rgb565,
    seen: usize,
}

impl<'s> Recording<'s> {
    /// Start recording a new frame into `scene` (its old content is zeroed).
    pub(crate) fn new(scene: &'s mut Scene, focus: Option<usize>, focus_color: Rgb565) -> Self {
        scene.restart();
        Recording {
            scene,
            focus,
            focus_color,
            seen: 0,
        }
    }

    fn push(&mut self, op: Op) {
        if self.scene.ops.push(op).is_err() {
            self.scene.complete = false;
        }
    }
}

impl Painter for Recording<'_> {
    fn fill(&mut self, rect: Rectangle, color: Rgb565) {
        self.push(Op {
            rect,
            color,
            kind: OpKind::Fill,
        });
    }

    fn text(&mut self, rect: Rectangle, text: &str, font: Font, color: Rgb565, align: Align) {
        match self.scene.push_text(text) {
            Some((start, len)) => self.push(Op {
                rect,
                color,
                kind: OpKind::Text {
                    font,
                    align,
                    start,
                    len,
                },
            }),
            None => self.scene.complete = false,
        }
    }

    fn element(&mut self, element: Element, rect: Rectangle) {
        if self.focus == Some(self.seen) {
            let color = self.focus_color;
            frame(self, rect, FOCUS_FRAME_PX, color);
        }
        self.seen = self.seen.saturating_add(1);
        if self.scene.elements.push((element, rect)).is_err() {
            self.scene.complete = false;
        }
    }
}
