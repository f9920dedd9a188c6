//! The three consumers of a screen layout: drawing into a framebuffer, listing the touch
//! targets, and collecting the visible text. One layout function feeds all three, so what
//! is drawn, what can be tapped and what a script reads can never disagree.

use super::{Element, Font};
use core::fmt;
use embedded_graphics::pixelcolor::Rgb565;
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
        let center = rect.center();
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
        let mut clipped = self.target.clipped(&rect);
        // Unknown glyphs are skipped (the renderer ignores them) and the targets used here
        // are infallible, so there is no error worth reporting.
        let _ = font.renderer().render_aligned(
            text,
            Point::new(x, center.y),
            VerticalPosition::Center,
            h,
            FontColor::Transparent(color),
            &mut clipped,
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
