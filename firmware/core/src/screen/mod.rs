//! The screens: what the voter and the president see on the 800x480 display.
//!
//! A [`View`] is a snapshot of what to show (built by [`crate::app`] from the terminal's
//! state). One layout function turns it into fills, text lines and named touch targets
//! ([`Element`]); [`draw`] paints them into a [`Framebuffer`], [`for_each_element`] lists the
//! targets (for taps, keyboard focus and scripts) and [`write_text`] writes the visible text.
//! [`measure_text`] reports every text item with its drawn width and ink against its box,
//! so tests can prove that no text overflows in any language.
//!
//! Text: each line is drawn in the largest face that has all its glyphs and fits its box
//! (the faces cover ISO-8859-15: Dutch, French and German letters and `€`; see
//! [`missing_glyph`]), with its baseline placed so that accents and descenders stay inside
//! the box. Paragraphs wrap at spaces. The review wraps each election's marks over as many
//! lines as they need and pages by rows, so no mark is ever cut off.
//!
//! Layout (pixels): a 24-high band at the top (the training watermark, or the event name),
//! a 48-high title bar with the large-text toggle in its right corner, the content from
//! y = 84 to 412, and a bar of buttons from y = 420 to 472. Every touch target is at least
//! [`MIN_TARGET_PX`] in both directions. The large-text mode is also high-contrast
//! (white and yellow on black) and shows fewer, bigger items per page.

mod painter;
mod typeface;

use crate::ballot::Choice;
use crate::election::{CandidateKind, Event, Language, Mode, MAX_ELECTIONS};
use crate::hal::{Area, Framebuffer};
use crate::i18n::{text, Text};
use crate::terminal::{Counters, Draft, HaltReason};
use core::fmt::{self, Write as _};
use embedded_graphics::geometry::Size;
use embedded_graphics::pixelcolor::{Rgb565, RgbColor};
use embedded_graphics::prelude::Point;
use embedded_graphics::primitives::Rectangle;
use heapless::String;
use painter::{frame, Align, Canvas, Elements, Painter, Recording, Scene, Texts};
pub use painter::{SCENE_MAX_ELEMENTS, SCENE_MAX_OPS, SCENE_TEXT_BYTES};
use typeface::Typeface;
use u8g2_fonts::{fonts, types::VerticalPosition, FontRenderer};

/// Smallest width and height of a touch target, in pixels (about 9 mm on a 7" panel).
pub const MIN_TARGET_PX: u32 = 48;

const WIDTH_PX: u32 = crate::hal::DISPLAY_WIDTH_PX as u32;
const BAND_H_PX: u32 = 24;
const TITLE_Y_PX: i32 = 28;
const TITLE_H_PX: u32 = 48;
const CONTENT_Y_PX: i32 = 84;
const CONTENT_BOTTOM_PX: i32 = 412;
const BAR_Y_PX: i32 = 420;
const BAR_H_PX: u32 = 52;
const MARGIN_PX: i32 = 8;
const TOGGLE_X_PX: i32 = 616;
const TOGGLE_W_PX: u32 = 176;
const LINE_H_PX: u32 = 30;
const LARGE_LINE_H_PX: u32 = 38;
/// Longest text line built at run time, in bytes.
const LINE_BYTES: usize = 192;

/// A named touch target on a screen. Its [`fmt::Display`] form is the name scripts use;
/// numbers in names are 1-based positions as the voter sees them (`list-1` is the first
/// list, `candidate-2` the second candidate, `change-1` the first election).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Element {
    /// Choose a language (`lang-nl`).
    Language(Language),
    /// Choose list at 0-based index (`list-N`).
    List(usize),
    /// Vote blank (`blank`).
    Blank,
    /// Tick the list's top box (`top-box`).
    TopBox,
    /// Tick candidate at 0-based index (`candidate-N`).
    Candidate(usize),
    /// Done with this list (`next`).
    Next,
    /// Go back (`back`).
    Back,
    /// Confirm the review (`confirm`).
    Confirm,
    /// Change election at 0-based index from the review (`change-N`).
    Change(usize),
    /// Previous page (`page-prev`).
    PagePrev,
    /// Next page (`page-next`).
    PageNext,
    /// Toggle large text and high contrast (`large-text`).
    LargeText,
    /// A PIN pad digit (`pin-0` .. `pin-9`).
    PinDigit(u8),
    /// Submit the PIN (`pin-ok`).
    PinOk,
    /// Clear the PIN typed so far (`pin-clear`).
    PinClear,
    /// Leave the PIN pad (`pin-cancel`).
    PinCancel,
    /// Leave the opening report for the waiting screen (`continue`).
    Continue,
    /// Print the opening report again (`print-again`).
    PrintAgain,
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |i: usize| i.saturating_add(1);
        match *self {
            Element::Language(l) => write!(f, "lang-{}", l.code()),
            Element::List(i) => write!(f, "list-{}", one(i)),
            Element::Blank => f.write_str("blank"),
            Element::TopBox => f.write_str("top-box"),
            Element::Candidate(i) => write!(f, "candidate-{}", one(i)),
            Element::Next => f.write_str("next"),
            Element::Back => f.write_str("back"),
            Element::Confirm => f.write_str("confirm"),
            Element::Change(i) => write!(f, "change-{}", one(i)),
            Element::PagePrev => f.write_str("page-prev"),
            Element::PageNext => f.write_str("page-next"),
            Element::LargeText => f.write_str("large-text"),
            Element::PinDigit(d) => write!(f, "pin-{d}"),
            Element::PinOk => f.write_str("pin-ok"),
            Element::PinClear => f.write_str("pin-clear"),
            Element::PinCancel => f.write_str("pin-cancel"),
            Element::Continue => f.write_str("continue"),
            Element::PrintAgain => f.write_str("print-again"),
        }
    }
}

impl Element {
    /// Whether `name` is this element's script name.
    pub fn is_named(&self, name: &str) -> bool {
        let mut own: String<24> = String::new();
        write!(own, "{self}").is_ok() && own.as_str() == name
    }
}

/// A text face. Sizes depend on the large-text mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Font {
    /// Small print (counters, tags).
    Small,
    /// Running text and button labels.
    Body,
    /// Emphasised text.
    Bold,
    /// Titles.
    Title,
    /// Large-text mode: running text.
    LargeBody,
    /// Large-text mode: titles.
    LargeTitle,
}

impl Font {
    /// The faces every text can fall back to: they cover ISO-8859-15 (Dutch, French and
    /// German letters and the euro sign). Only [`Font::LargeTitle`] lacks a few glyphs
    /// (`€`, `Œ`, `Š`, ...); [`fit`] skips it for texts that use them.
    const COVERING: [Font; 5] = [
        Font::Small,
        Font::Body,
        Font::Bold,
        Font::Title,
        Font::LargeBody,
    ];

    /// The u8g2 font data of the face: the one source for both the `u8g2-fonts` renderer
    /// and the fast [`Typeface`] the screens are drawn with.
    const fn data(self) -> &'static [u8] {
        use u8g2_fonts::Font as _;
        match self {
            Font::Small => fonts::u8g2_font_helvR14_te::DATA,
            Font::Body => fonts::u8g2_font_helvR18_te::DATA,
            Font::Bold => fonts::u8g2_font_helvB18_te::DATA,
            Font::Title | Font::LargeBody => fonts::u8g2_font_helvB24_te::DATA,
            Font::LargeTitle => fonts::u8g2_font_logisoso32_tf::DATA,
        }
    }

    /// The face, indexed for fast drawing and measuring.
    fn face(self) -> &'static Typeface {
        static SMALL: Typeface = Typeface::new(Font::Small.data());
        static BODY: Typeface = Typeface::new(Font::Body.data());
        static BOLD: Typeface = Typeface::new(Font::Bold.data());
        static TITLE: Typeface = Typeface::new(Font::Title.data());
        static LARGE_TITLE: Typeface = Typeface::new(Font::LargeTitle.data());
        match self {
            Font::Small => &SMALL,
            Font::Body => &BODY,
            Font::Bold => &BOLD,
            Font::Title | Font::LargeBody => &TITLE,
            Font::LargeTitle => &LARGE_TITLE,
        }
    }

    /// The renderer; glyphs the face lacks are reported as errors.
    fn strict(self) -> FontRenderer {
        FontRenderer::new_from_raw_data(self.data())
    }

    /// The renderer used to draw; a glyph the face lacks is skipped.
    fn renderer(self) -> FontRenderer {
        self.strict().with_ignore_unknown_chars(true)
    }

    /// Width of `s` in this font, in pixels (glyphs the face lacks count as nothing).
    fn width(self, s: &str) -> u32 {
        if s.contains('\n') {
            return self
                .renderer()
                .get_rendered_dimensions(s, Point::zero(), VerticalPosition::Top)
                .map_or(0, |d| u32::try_from(d.advance.x).unwrap_or(0));
        }
        u32::try_from(self.face().advance(s).0).unwrap_or(0)
    }

    /// Width of `s` in this font in pixels, or `None` if the face lacks one of its glyphs.
    fn drawn_width(self, s: &str) -> Option<u32> {
        if s.contains('\n') {
            return self
                .strict()
                .get_rendered_dimensions(s, Point::zero(), VerticalPosition::Top)
                .ok()
                .map(|d| u32::try_from(d.advance.x).unwrap_or(0));
        }
        let (advance, complete) = self.face().advance(s);
        complete.ok().map(|()| u32::try_from(advance).unwrap_or(0))
    }

    /// Height of a line in this font (ascent plus descent), in pixels.
    fn height(self) -> u32 {
        let r = self.renderer();
        i32::from(r.get_ascent())
            .saturating_sub(i32::from(r.get_descent()))
            .unsigned_abs()
    }

    /// How far the face's glyphs reach above the baseline (its accented capitals) and
    /// below it (its descenders), in pixels.
    fn ink_extent(self) -> (i32, i32) {
        self.face().ink_rows(INK_PROBE).map_or_else(
            || {
                let r = self.renderer();
                (
                    i32::from(r.get_ascent()),
                    i32::from(r.get_descent()).saturating_neg(),
                )
            },
            |(top, bottom)| (top.saturating_neg(), bottom),
        )
    }

    /// Height of the face's ink, from its accented capitals to its descenders, in pixels.
    fn ink_height(self) -> u32 {
        let (above, below) = self.ink_extent();
        above.saturating_add(below).unsigned_abs()
    }

    /// The first character of `s` this face has no glyph for.
    fn missing_glyph(self, s: &str) -> Option<char> {
        let strict = self.strict();
        let mut one = [0u8; 4];
        s.chars().find(|c| {
            strict
                .get_rendered_dimensions(
                    &*c.encode_utf8(&mut one),
                    Point::zero(),
                    VerticalPosition::Top,
                )
                .is_err()
        })
    }
}

/// Glyphs that reach furthest above the baseline (accented capitals) and below it.
const INK_PROBE: &str = "\u{c9}\u{c5}gjpqy";

/// The first of `fonts` that has every glyph of `s` and in which `s` fits `width` pixels
/// (with padding), else the last.
fn fit(fonts: &[Font], s: &str, width: u32) -> Font {
    fitting(fonts, s, width)
        .or_else(|| fonts.last().copied())
        .unwrap_or(Font::Small)
}

/// The first of `fonts` that has every glyph of `s` and in which `s` fits `width` pixels
/// (with padding).
fn fitting(fonts: &[Font], s: &str, width: u32) -> Option<Font> {
    let room = width.saturating_sub(as_u32(painter::TEXT_PAD_PX).saturating_mul(2));
    fonts
        .iter()
        .copied()
        .find(|f| f.drawn_width(s).is_some_and(|w| w <= room))
}

/// The first character of `s` that a screen face cannot draw: checked against every face
/// texts fall back to, which cover ISO-8859-15 (Dutch, French and German letters and `€`).
/// The office can run names of an election definition through this before building.
pub fn missing_glyph(s: &str) -> Option<char> {
    Font::COVERING.iter().find_map(|f| f.missing_glyph(s))
}

/// One text item of a screen, measured in the face it is drawn in ([`measure_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMeasure<'t> {
    /// The text.
    pub text: &'t str,
    /// Its drawn width, in pixels.
    pub width_px: u32,
    /// The width its box leaves for it (box width less the padding on both sides), in
    /// pixels.
    pub room_px: u32,
    /// Height of the face (ascent plus descent), in pixels.
    pub height_px: u32,
    /// Left edge of its box, in pixels.
    pub left_px: i32,
    /// Top edge of its box, in pixels.
    pub top_px: i32,
    /// Width of its box, in pixels.
    pub box_width_px: u32,
    /// Height of its box, in pixels.
    pub box_height_px: u32,
    /// Top of the drawn glyphs (accents included), in pixels.
    pub ink_top_px: i32,
    /// Bottom of the drawn glyphs (descenders included; exclusive), in pixels.
    pub ink_bottom_px: i32,
    /// The first character the face has no glyph for, if any.
    pub missing_glyph: Option<char>,
}

impl TextMeasure<'_> {
    /// Whether the text is drawn whole: every glyph present, and inside its box (the
    /// text is clipped to it).
    pub fn fits(&self) -> bool {
        let bottom = self
            .top_px
            .saturating_add(i32::try_from(self.box_height_px).unwrap_or(i32::MAX));
        self.missing_glyph.is_none()
            && self.width_px <= self.room_px
            && self.height_px <= self.box_height_px
            && self.ink_top_px >= self.top_px
            && self.ink_bottom_px <= bottom
    }
}

/// Call `visit` for every text item of `view`, measured in the face it is drawn in.
pub fn measure_text(view: &View<'_>, visit: impl FnMut(TextMeasure<'_>)) {
    compose(view, &mut painter::Measures::new(visit));
}

/// What the PIN pad is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinPurpose {
    /// Opening the poll.
    Open,
    /// Closing the poll.
    Close,
}

/// A short message over the title bar after a refused action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// Stable error code shown as `E<code>`.
    pub code: u16,
    /// The explanation.
    pub text: Text,
}

/// Which screen to show, with its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Screen<'v> {
    /// After boot, before the poll opens: the verified image's identity.
    Boot {
        /// SHA-256 of the boot image.
        fingerprint: &'v [u8; 32],
        /// The polling station.
        station: &'v str,
        /// Firmware version.
        version: &'v str,
    },
    /// The operator PIN pad.
    Pin {
        /// Open or close.
        purpose: PinPurpose,
        /// Digits typed so far (shown masked).
        digits: usize,
    },
    /// The typed PIN is being checked (PBKDF2, in steps): progress and a cancel button.
    PinCheck {
        /// Open or close.
        purpose: PinPurpose,
        /// Iterations done.
        done: u32,
        /// Iterations in all.
        total: u32,
    },
    /// The poll is open; the booth is free.
    Waiting {
        /// The counters, for the president.
        counters: Counters,
    },
    /// The voter chooses a language.
    Language,
    /// The voter chooses a list (or blank) in an election.
    Lists {
        /// Election (0-based).
        election: usize,
        /// The list currently drafted, if any (highlighted).
        drafted: Option<usize>,
        /// Whether going back is possible (shows the back button).
        back: bool,
    },
    /// The voter marks the top box and candidates of a list.
    Candidates {
        /// Election (0-based).
        election: usize,
        /// The working marks ([`Draft::Marks`]).
        draft: Draft,
    },
    /// The voter checks every choice.
    Review {
        /// The choices exactly as they will be cast.
        choices: &'v [Choice],
    },
    /// A record is being written to the results media (and its ticket or report printed);
    /// input waits. No touch targets, not even the large-text toggle.
    Busy {
        /// A voter's ballot ("your vote is being recorded"), or the president's action.
        vote: bool,
    },
    /// The vote was recorded.
    Recorded,
    /// The president cancelled the session.
    Cancelled,
    /// The poll is closed: the closing summary.
    Closed {
        /// Final counters.
        counters: Counters,
        /// Ballots stored per election.
        ballots: [usize; MAX_ELECTIONS],
    },
    /// The terminal stopped after a fault.
    Halted {
        /// Why.
        reason: HaltReason,
        /// The stable code shown.
        code: u16,
    },
    /// The poll just opened: the opening report (both fingerprints, the zero counts) for
    /// the president to copy onto the paper report, then on to the waiting screen.
    OpeningReport {
        /// SHA-256 of the boot image.
        image: &'v [u8; 32],
        /// SHA-256 of the session public key.
        session: [u8; 32],
        /// The counters (zero).
        counters: Counters,
        /// Ballots stored per election (zero).
        ballots: [usize; MAX_ELECTIONS],
    },
    /// Wiped and powered off.
    PoweredOff,
}

/// Everything a screen needs to be drawn.
#[derive(Debug, Clone, Copy)]
pub struct View<'v> {
    /// The election event.
    pub event: &'v Event<'v>,
    /// The screen.
    pub screen: Screen<'v>,
    /// The language of the texts.
    pub language: Language,
    /// Large text and high contrast.
    pub large: bool,
    /// Page of a paged screen (0-based; clamped to the last page).
    pub page: usize,
    /// Index of the element with the keyboard focus, in layout order.
    pub focus: Option<usize>,
    /// A message over the title, if any.
    pub notice: Option<Notice>,
}

/// Draw `view` into `frame` (only changed pixels become dirty).
pub fn draw(view: &View<'_>, frame: &mut Framebuffer) {
    let focus_color = theme(view.large).focus;
    let mut canvas = Canvas::new(frame, view.focus, focus_color);
    compose(view, &mut canvas);
}

/// Draws views into a framebuffer, redrawing only the area that changed since the view it
/// drew before, and remembers the drawn frame's touch targets and text.
///
/// Each [`Renderer::render`] lays the view out once into a scene (a list of fills and text
/// lines, [`SCENE_MAX_OPS`] at most), compares it with the scene on display, and redraws
/// only the area where the two differ, replaying the new scene clipped to that area. The
/// pixels are exactly those [`draw`] gives; only the work and the dirty area shrink.
/// Touch targets and text are then answered from the scene on display, without laying
/// the screen out again.
///
/// It holds two scenes (about 40 KB); keep it next to the framebuffer, not on a small
/// stack.
pub struct Renderer {
    shown: Scene,
    spare: Scene,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("shown", &self.shown.is_complete())
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer that knows nothing on display: its first frame is drawn whole.
    pub const fn new() -> Renderer {
        Renderer {
            shown: Scene::new(),
            spare: Scene::new(),
        }
    }

    /// Draw `view` into `frame`, redrawing (and marking dirty) only what changed.
    pub fn render(&mut self, view: &View<'_>, frame: &mut Framebuffer) {
        let focus_color = theme(view.large).focus;
        compose(
            view,
            &mut Recording::new(&mut self.spare, view.focus, focus_color),
        );
        if self.spare.is_complete() {
            let changes = self.shown.changes_to(&self.spare);
            if !changes.is_empty() {
                self.spare.replay(frame, &changes);
            }
        } else {
            // Too much for a scene: draw it whole; the next frame is drawn whole too.
            let mut canvas = Canvas::new(frame, view.focus, focus_color);
            compose(view, &mut canvas);
        }
        core::mem::swap(&mut self.shown, &mut self.spare);
    }

    /// Call `visit(index, element, area)` for every touch target of the frame on display,
    /// in focus order; `false` (and no call) if the renderer does not hold that frame
    /// whole (then lay the view out with [`for_each_element`]).
    pub fn for_each_element(&self, mut visit: impl FnMut(usize, Element, Area)) -> bool {
        if !self.shown.is_complete() {
            return false;
        }
        self.shown.elements(|i, e, rect| {
            if let Some(area) = Area::clip(&rect) {
                visit(i, e, area);
            }
        });
        true
    }

    /// Write every text line of the frame on display, as [`write_text`] does; `None` if
    /// the renderer does not hold that frame whole.
    pub fn write_text(&self, out: &mut dyn fmt::Write) -> Option<fmt::Result> {
        if !self.shown.is_complete() {
            return None;
        }
        let mut texts = Texts::new(out);
        self.shown.texts(&mut texts);
        Some(texts.finish())
    }

    /// Forget (and zero) both scenes: the next frame is drawn whole.
    pub fn wipe(&mut self) {
        self.shown.wipe();
        self.spare.wipe();
    }
}

/// Call `visit(index, element, area)` for every touch target of `view`, in focus order.
pub fn for_each_element(view: &View<'_>, mut visit: impl FnMut(usize, Element, Area)) {
    let mut elements = Elements::new(|i, e, rect: Rectangle| {
        if let Some(area) = Area::clip(&rect) {
            visit(i, e, area);
        }
    });
    compose(view, &mut elements);
}

/// Write every text line visible on `view`, one per line.
pub fn write_text(view: &View<'_>, out: &mut dyn fmt::Write) -> fmt::Result {
    let mut texts = Texts::new(out);
    compose(view, &mut texts);
    texts.finish()
}

/// The number of pages of a paged screen (at least 1).
pub fn pages(view: &View<'_>) -> usize {
    if let Screen::Review { choices } = view.screen {
        return review_plan(view, choices)
            .last()
            .map_or(1, |row| row.page.saturating_add(1));
    }
    let (items, per_page) = paging(view);
    items.div_ceil(per_page.max(1)).max(1)
}

fn paging(view: &View<'_>) -> (usize, usize) {
    let event = view.event;
    match view.screen {
        Screen::Lists { election, .. } => (
            event.elections.get(election).map_or(0, |e| e.lists.len()),
            list_grid(view.large).capacity(),
        ),
        Screen::Candidates { election, draft } => {
            let count = match draft {
                Draft::Marks { list, .. } => event
                    .elections
                    .get(election)
                    .and_then(|e| e.lists.get(list.get()))
                    .map_or(0, |l| l.candidates.len()),
                _ => 0,
            };
            (count, candidate_grid(view.large).capacity())
        }
        _ => (0, 1),
    }
}

// ---------------------------------------------------------------------------------------------
// Colours

#[derive(Clone, Copy)]
struct Theme {
    background: Rgb565,
    text: Rgb565,
    title_bg: Rgb565,
    title_text: Rgb565,
    button: Rgb565,
    button_alt: Rgb565,
    button_border: Rgb565,
    button_text: Rgb565,
    selected: Rgb565,
    selected_text: Rgb565,
    focus: Rgb565,
    notice_bg: Rgb565,
    notice_text: Rgb565,
    band_training: Rgb565,
    band_official: Rgb565,
    band_text: Rgb565,
}

fn theme(large: bool) -> Theme {
    if large {
        Theme {
            background: Rgb565::BLACK,
            text: Rgb565::WHITE,
            title_bg: Rgb565::BLACK,
            title_text: Rgb565::YELLOW,
            button: Rgb565::BLACK,
            button_alt: Rgb565::new(4, 8, 4),
            button_border: Rgb565::WHITE,
            button_text: Rgb565::WHITE,
            selected: Rgb565::YELLOW,
            selected_text: Rgb565::BLACK,
            focus: Rgb565::CYAN,
            notice_bg: Rgb565::new(24, 0, 0),
            notice_text: Rgb565::WHITE,
            band_training: Rgb565::new(31, 40, 0),
            band_official: Rgb565::new(8, 16, 8),
            band_text: Rgb565::BLACK,
        }
    } else {
        Theme {
            background: Rgb565::WHITE,
            text: Rgb565::BLACK,
            title_bg: Rgb565::new(2, 12, 16),
            title_text: Rgb565::WHITE,
            button: Rgb565::new(26, 54, 31),
            button_alt: Rgb565::new(29, 58, 27),
            button_border: Rgb565::new(2, 12, 16),
            button_text: Rgb565::BLACK,
            selected: Rgb565::new(2, 12, 16),
            selected_text: Rgb565::WHITE,
            focus: Rgb565::new(31, 24, 0),
            notice_bg: Rgb565::new(24, 0, 0),
            notice_text: Rgb565::WHITE,
            band_training: Rgb565::new(31, 40, 0),
            band_official: Rgb565::new(24, 48, 24),
            band_text: Rgb565::BLACK,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry

fn rect(x: i32, y: i32, w: u32, h: u32) -> Rectangle {
    Rectangle::new(Point::new(x, y), Size::new(w, h))
}

fn span(from: i32, to: i32) -> u32 {
    u32::try_from(to.saturating_sub(from)).unwrap_or(0)
}

fn as_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Equal cells in `cols` x `rows` over an area, `gap` pixels apart.
#[derive(Clone, Copy)]
struct Grid {
    area: Rectangle,
    cols: u32,
    rows: u32,
    gap: u32,
}

impl Grid {
    fn capacity(&self) -> usize {
        usize::try_from(self.cols.saturating_mul(self.rows)).unwrap_or(1)
    }

    fn cell(&self, i: usize) -> Rectangle {
        let cols = self.cols.max(1);
        let rows = self.rows.max(1);
        let i = u32::try_from(i).unwrap_or(0);
        let col = i.checked_rem(cols).unwrap_or(0);
        let row = i.checked_div(cols).unwrap_or(0);
        let gaps_w = self.gap.saturating_mul(cols.saturating_sub(1));
        let gaps_h = self.gap.saturating_mul(rows.saturating_sub(1));
        let w = self
            .area
            .size
            .width
            .saturating_sub(gaps_w)
            .checked_div(cols)
            .unwrap_or(0);
        let h = self
            .area
            .size
            .height
            .saturating_sub(gaps_h)
            .checked_div(rows)
            .unwrap_or(0);
        let x = self
            .area
            .top_left
            .x
            .saturating_add(as_i32(col.saturating_mul(w.saturating_add(self.gap))));
        let y = self
            .area
            .top_left
            .y
            .saturating_add(as_i32(row.saturating_mul(h.saturating_add(self.gap))));
        rect(x, y, w, h)
    }
}

const LIST_GRID_Y_PX: i32 = CONTENT_Y_PX + 32;

fn list_grid(large: bool) -> Grid {
    let area = rect(
        MARGIN_PX,
        LIST_GRID_Y_PX,
        WIDTH_PX.saturating_sub(16),
        span(LIST_GRID_Y_PX, CONTENT_BOTTOM_PX),
    );
    if large {
        Grid {
            area,
            cols: 2,
            rows: 4,
            gap: 8,
        }
    } else {
        Grid {
            area,
            cols: 3,
            rows: 5,
            gap: 6,
        }
    }
}

fn top_box_rect(large: bool) -> Rectangle {
    rect(
        MARGIN_PX,
        CONTENT_Y_PX,
        WIDTH_PX.saturating_sub(16),
        if large { 64 } else { 52 },
    )
}

fn candidate_grid(large: bool) -> Grid {
    let top = top_box_rect(large);
    let y = top
        .top_left
        .y
        .saturating_add_unsigned(top.size.height)
        .saturating_add(8);
    let area = rect(
        MARGIN_PX,
        y,
        WIDTH_PX.saturating_sub(16),
        span(y, CONTENT_BOTTOM_PX),
    );
    if large {
        Grid {
            area,
            cols: 2,
            rows: 3,
            gap: 8,
        }
    } else {
        Grid {
            area,
            cols: 2,
            rows: 5,
            gap: 6,
        }
    }
}

/// Width of the change button of a review row, in pixels.
const CHANGE_W_PX: u32 = 184;
/// Space between review rows, in pixels.
const REVIEW_GAP_PX: u32 = 8;
/// Space above and below the text of a review row, in pixels.
const REVIEW_PAD_PX: u32 = 6;
/// Lowest review row in large-text mode, in pixels.
const LARGE_REVIEW_ROW_PX: u32 = 64;

/// Where one choice goes on the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReviewRow {
    /// Page (0-based).
    page: usize,
    /// Top edge, in pixels.
    y: i32,
    /// Height, in pixels.
    height: u32,
    /// Candidates by name; by number only when the names would not fit on a page.
    names: bool,
}

/// The review: per choice a row with its header line and every mark wrapped below it,
/// stacked on pages. A row never splits across pages, and no mark is ever left out.
fn review_plan(view: &View<'_>, choices: &[Choice]) -> heapless::Vec<ReviewRow, MAX_ELECTIONS> {
    let ctx = Ctx {
        view,
        theme: theme(view.large),
    };
    let room = span(CONTENT_Y_PX, CONTENT_BOTTOM_PX);
    let mut plan = heapless::Vec::new();
    let mut page = 0usize;
    let mut y = CONTENT_Y_PX;
    for (election, choice) in choices.iter().enumerate() {
        let mut names = true;
        let mut height = review_row_height(&ctx, election, choice, names);
        if height > room {
            names = false;
            height = review_row_height(&ctx, election, choice, names);
        }
        if y > CONTENT_Y_PX && y.saturating_add(as_i32(height)) > CONTENT_BOTTOM_PX {
            page = page.saturating_add(1);
            y = CONTENT_Y_PX;
        }
        if plan
            .push(ReviewRow {
                page,
                y,
                height,
                names,
            })
            .is_err()
        {
            break;
        }
        y = y
            .saturating_add(as_i32(height))
            .saturating_add(as_i32(REVIEW_GAP_PX));
    }
    plan
}

/// Width of the text part of a review row, in pixels.
fn review_text_w() -> u32 {
    WIDTH_PX
        .saturating_sub(16)
        .saturating_sub(CHANGE_W_PX)
        .saturating_sub(8)
}

/// Height of one line of marks on the review, in pixels.
fn mark_line_h(ctx: &Ctx<'_>) -> u32 {
    ctx.small().ink_height().saturating_add(2)
}

fn review_row_height(ctx: &Ctx<'_>, election: usize, choice: &Choice, names: bool) -> u32 {
    let lines = review_marks(ctx, election, choice, names, &mut |_| {});
    let text = ctx
        .line_h()
        .saturating_add(lines.saturating_mul(mark_line_h(ctx)))
        .saturating_add(REVIEW_PAD_PX.saturating_mul(2));
    let least = if ctx.view.large {
        LARGE_REVIEW_ROW_PX
    } else {
        MIN_TARGET_PX.saturating_add(4)
    };
    text.max(least)
}

/// The five slots of the bottom bar.
#[derive(Clone, Copy)]
enum Slot {
    Left,
    PrevPage,
    Center,
    NextPage,
    Right,
}

fn bar(slot: Slot) -> Rectangle {
    let (x, w) = match slot {
        Slot::Left => (8, 200),
        Slot::PrevPage => (216, 80),
        Slot::Center => (304, 192),
        Slot::NextPage => (504, 80),
        Slot::Right => (592, 200),
    };
    rect(x, BAR_Y_PX, w, BAR_H_PX)
}

// ---------------------------------------------------------------------------------------------
// Layout

struct Ctx<'v> {
    view: &'v View<'v>,
    theme: Theme,
}

impl Ctx<'_> {
    fn t(&self, key: Text) -> &'static str {
        text(self.view.language, key)
    }

    fn body(&self) -> Font {
        if self.view.large {
            Font::LargeBody
        } else {
            Font::Body
        }
    }

    fn bold(&self) -> Font {
        if self.view.large {
            Font::LargeBody
        } else {
            Font::Bold
        }
    }

    fn small(&self) -> Font {
        if self.view.large {
            Font::Bold
        } else {
            Font::Small
        }
    }

    fn line_h(&self) -> u32 {
        if self.view.large {
            LARGE_LINE_H_PX
        } else {
            LINE_H_PX
        }
    }

    fn page(&self) -> usize {
        self.view.page.min(pages(self.view).saturating_sub(1))
    }
}

fn compose(view: &View<'_>, p: &mut dyn Painter) {
    let ctx = Ctx {
        view,
        theme: theme(view.large),
    };
    let th = ctx.theme;
    p.fill(rect(0, 0, WIDTH_PX, 480), th.background);
    band(&ctx, p);
    match view.screen {
        Screen::Boot {
            fingerprint,
            station,
            version,
        } => boot(&ctx, p, fingerprint, station, version),
        Screen::Pin { purpose, digits } => pin_pad(&ctx, p, purpose, digits),
        Screen::PinCheck {
            purpose,
            done,
            total,
        } => pin_check(&ctx, p, purpose, done, total),
        Screen::Waiting { counters } => waiting(&ctx, p, counters),
        Screen::Language => languages(&ctx, p),
        Screen::Lists {
            election,
            drafted,
            back,
        } => lists(&ctx, p, election, drafted, back),
        Screen::Candidates { election, draft } => candidates(&ctx, p, election, draft),
        Screen::Review { choices } => review(&ctx, p, choices),
        Screen::Recorded => message(&ctx, p, Text::VoteRecorded, Text::ThankYou),
        Screen::Busy { vote } => {
            let head = if vote {
                Text::RecordingVote
            } else {
                Text::WritingRecord
            };
            message(&ctx, p, head, Text::PleaseWait);
        }
        Screen::Cancelled => message(&ctx, p, Text::SessionCancelled, Text::SessionCancelledHint),
        Screen::Closed { counters, ballots } => closed(&ctx, p, counters, &ballots),
        Screen::Halted { reason, code } => halted(&ctx, p, reason, code),
        Screen::OpeningReport {
            image,
            session,
            counters,
            ballots,
        } => opening_report(&ctx, p, image, &session, counters, &ballots),
        Screen::PoweredOff => {
            title(&ctx, p, ctx.t(Text::PoweredOff));
        }
    }
    if has_toggle(view) {
        let toggle = rect(TOGGLE_X_PX, TITLE_Y_PX, TOGGLE_W_PX, TITLE_H_PX);
        button(
            &ctx,
            p,
            Element::LargeText,
            toggle,
            ctx.t(Text::LargeText),
            view.large,
        );
    }
}

/// The top band: the training watermark in four languages, or the event's name.
fn band(ctx: &Ctx<'_>, p: &mut dyn Painter) {
    let th = ctx.theme;
    let area = rect(0, 0, WIDTH_PX, BAND_H_PX);
    let mut line: String<LINE_BYTES> = String::new();
    let color = match ctx.view.event.mode {
        Mode::Training => {
            for (i, language) in Language::ALL.into_iter().enumerate() {
                if i > 0 {
                    let _ = line.push_str("  /  ");
                }
                let _ = line.push_str(text(language, Text::Training));
            }
            th.band_training
        }
        _ => {
            let _ = line.push_str(ctx.view.event.names.show(ctx.view.language));
            th.band_official
        }
    };
    p.fill(area, color);
    p.text(area, &line, Font::Small, th.band_text, Align::Center);
}

/// Whether the screen has the large-text toggle at the right of its title bar.
fn has_toggle(view: &View<'_>) -> bool {
    !matches!(view.screen, Screen::PoweredOff | Screen::Busy { .. })
}

/// The title bar, or the notice in its place; the whole width where there is no toggle.
fn title(ctx: &Ctx<'_>, p: &mut dyn Painter, s: &str) {
    let th = ctx.theme;
    let width = if has_toggle(ctx.view) {
        as_u32(TOGGLE_X_PX)
    } else {
        WIDTH_PX
    };
    let area = rect(0, TITLE_Y_PX, width, TITLE_H_PX);
    let font = if ctx.view.large {
        Font::LargeTitle
    } else {
        Font::Title
    };
    if let Some(notice) = ctx.view.notice {
        p.fill(area, th.notice_bg);
        let mut line: String<LINE_BYTES> = String::new();
        let _ = write!(line, "E{}: {}", notice.code, ctx.t(notice.text));
        let font = fit(
            &[ctx.bold(), Font::Bold, Font::Small],
            &line,
            area.size.width,
        );
        p.text(area, &line, font, th.notice_text, Align::Left);
    } else {
        p.fill(area, th.title_bg);
        let font = fit(
            &[font, Font::Title, Font::Bold, Font::Small],
            s,
            area.size.width,
        );
        p.text(area, s, font, th.title_text, Align::Left);
    }
}

fn as_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// A button: filled box, border, label; then the touch target.
fn button(
    ctx: &Ctx<'_>,
    p: &mut dyn Painter,
    element: Element,
    area: Rectangle,
    label: &str,
    selected: bool,
) {
    let th = ctx.theme;
    p.fill(area, if selected { th.selected } else { th.button });
    frame(
        p,
        area,
        if ctx.view.large { 3 } else { 2 },
        th.button_border,
    );
    let color = if selected {
        th.selected_text
    } else {
        th.button_text
    };
    let font = fit(
        &[ctx.bold(), Font::Bold, Font::Body, Font::Small],
        label,
        area.size.width,
    );
    p.text(area, label, font, color, Align::Center);
    p.element(element, area);
}

/// A tick box at the left of `area` and a label after it, then the target.
fn tick_button(
    ctx: &Ctx<'_>,
    p: &mut dyn Painter,
    element: Element,
    area: Rectangle,
    label: &str,
    tag: Option<&str>,
    ticked: bool,
) {
    // Successors (the only items with a tag) get a slightly different background.
    let alt = tag.is_some();
    let th = ctx.theme;
    let bg = if ticked {
        th.selected
    } else if alt {
        th.button_alt
    } else {
        th.button
    };
    let fg = if ticked {
        th.selected_text
    } else {
        th.button_text
    };
    p.fill(area, bg);
    frame(
        p,
        area,
        if ctx.view.large { 3 } else { 2 },
        th.button_border,
    );
    let boxed: u32 = if ctx.view.large { 32 } else { 26 };
    let bx = area.top_left.x.saturating_add(10);
    let by = area.center().y.saturating_sub(as_i32(boxed >> 1));
    let tick_box = rect(bx, by, boxed, boxed);
    p.fill(tick_box, fg);
    p.fill(
        rect(
            bx.saturating_add(3),
            by.saturating_add(3),
            boxed.saturating_sub(6),
            boxed.saturating_sub(6),
        ),
        bg,
    );
    if ticked {
        p.fill(
            rect(
                bx.saturating_add(7),
                by.saturating_add(7),
                boxed.saturating_sub(14),
                boxed.saturating_sub(14),
            ),
            fg,
        );
    }
    let text_x = bx.saturating_add(as_i32(boxed)).saturating_add(2);
    let label_area = rect(
        text_x,
        area.top_left.y,
        span(
            text_x,
            area.top_left.x.saturating_add_unsigned(area.size.width),
        ),
        area.size.height,
    );
    if let Some(tag) = tag {
        let names = [ctx.body(), Font::Bold, Font::Small];
        let tag_font = ctx.small();
        let tag_w = tag_font.width(tag).saturating_add(24);
        let beside = rect(
            label_area.top_left.x,
            label_area.top_left.y,
            label_area.size.width.saturating_sub(tag_w),
            label_area.size.height,
        );
        if let Some(font) = fitting(&names, label, beside.size.width) {
            // The name, and the tag right of it.
            p.text(beside, label, font, fg, Align::Left);
            p.text(label_area, tag, tag_font, fg, Align::Right);
        } else {
            // A long name: the tag in the upper right corner, the name below it over the
            // whole width, in the largest face that fits there.
            let tag_h = tag_font.ink_height().saturating_add(2);
            let tag_area = rect(
                label_area.top_left.x,
                label_area.top_left.y.saturating_add(1),
                label_area.size.width,
                tag_h,
            );
            let below = tag_h.saturating_add(1);
            let name_area = rect(
                label_area.top_left.x,
                label_area.top_left.y.saturating_add(as_i32(below)),
                label_area.size.width,
                label_area.size.height.saturating_sub(below),
            );
            let font = names
                .iter()
                .copied()
                .filter(|f| f.ink_height() <= name_area.size.height)
                .find(|f| fitting(&[*f], label, name_area.size.width).is_some())
                .unwrap_or(Font::Small);
            p.text(name_area, label, font, fg, Align::Left);
            p.text(tag_area, tag, tag_font, fg, Align::Right);
        }
    } else {
        let font = fit(
            &[ctx.body(), Font::Bold, Font::Small],
            label,
            label_area.size.width,
        );
        p.text(label_area, label, font, fg, Align::Left);
    }
    p.element(element, area);
}

/// Lines of wrapped text from `y`; returns the y below the last line.
fn paragraph(
    ctx: &Ctx<'_>,
    p: &mut dyn Painter,
    y: i32,
    s: &str,
    font: Font,
    color: Rgb565,
) -> i32 {
    let width = WIDTH_PX.saturating_sub(16);
    let max = width.saturating_sub(as_u32(painter::TEXT_PAD_PX).saturating_mul(2));
    // Big faces (the message headings) need more than the mode's line height.
    let line_h = ctx.line_h().max(font.height().saturating_add(6));
    let mut y = y;
    let mut start = 0usize;
    while start < s.len() {
        let rest = s.get(start..).unwrap_or("");
        let mut end = rest.len();
        if font.width(rest) > max {
            // The longest run of whole words that fits; a single long word is clipped.
            let mut best = None;
            for (i, _) in rest.match_indices(' ') {
                if font.width(rest.get(..i).unwrap_or("")) <= max {
                    best = Some(i);
                } else {
                    break;
                }
            }
            end = best.unwrap_or(end);
        }
        let line = rest.get(..end).unwrap_or("");
        p.text(
            rect(MARGIN_PX, y, width, line_h),
            line,
            font,
            color,
            Align::Left,
        );
        y = y.saturating_add(as_i32(line_h));
        start = start.saturating_add(end).saturating_add(1);
    }
    y
}

/// A line of text at `y` in the content area; returns the y below it.
fn line(ctx: &Ctx<'_>, p: &mut dyn Painter, y: i32, s: &str, font: Font) -> i32 {
    let h = ctx.line_h();
    p.text(
        rect(MARGIN_PX, y, WIDTH_PX.saturating_sub(16), h),
        s,
        font,
        ctx.theme.text,
        Align::Left,
    );
    y.saturating_add(as_i32(h))
}

fn boot(ctx: &Ctx<'_>, p: &mut dyn Painter, fp: &[u8; 32], station: &str, version: &str) {
    title(ctx, p, ctx.t(Text::ImageVerified));
    let mut y = CONTENT_Y_PX.saturating_add(4);
    let mut s: String<LINE_BYTES> = String::new();
    let _ = write!(s, "{}:", ctx.t(Text::Fingerprint));
    y = line(ctx, p, y, &s, ctx.body());
    for half in fp.chunks(16) {
        s.clear();
        for (i, pair) in half.chunks(2).enumerate() {
            if i > 0 {
                let _ = s.push_str("  ");
            }
            for b in pair {
                let _ = write!(s, "{b:02X}");
            }
        }
        let font = fit(&[ctx.bold(), Font::Bold], &s, WIDTH_PX.saturating_sub(16));
        y = line(ctx, p, y, &s, font);
    }
    y = y.saturating_add(8);
    s.clear();
    let _ = write!(s, "{}: {}", ctx.t(Text::Version), version);
    y = line(ctx, p, y, &s, ctx.body());
    s.clear();
    let mode = match ctx.view.event.mode {
        Mode::Training => ctx.t(Text::Training),
        _ => ctx.t(Text::Official),
    };
    let _ = write!(s, "{}: {}", ctx.t(Text::ModeLabel), mode);
    y = line(ctx, p, y, &s, ctx.body());
    s.clear();
    let _ = write!(s, "{}: {}", ctx.t(Text::Station), station);
    y = line(ctx, p, y, &s, ctx.body());
    y = y.saturating_add(8);
    y = paragraph(
        ctx,
        p,
        y,
        ctx.t(Text::PollNotOpened),
        ctx.bold(),
        ctx.theme.text,
    );
    paragraph(
        ctx,
        p,
        y,
        ctx.t(Text::PresidentOpens),
        ctx.body(),
        ctx.theme.text,
    );
}

fn pin_pad(ctx: &Ctx<'_>, p: &mut dyn Painter, purpose: PinPurpose, digits: usize) {
    let key = match purpose {
        PinPurpose::Open => Text::PinOpenTitle,
        PinPurpose::Close => Text::PinCloseTitle,
    };
    title(ctx, p, ctx.t(key));
    let left = 380u32;
    let hint = rect(
        MARGIN_PX,
        CONTENT_Y_PX.saturating_add(8),
        left,
        ctx.line_h(),
    );
    let font = fit(&[ctx.small(), Font::Small], ctx.t(Text::PinHint), left);
    p.text(
        hint,
        ctx.t(Text::PinHint),
        font,
        ctx.theme.text,
        Align::Left,
    );
    let mut masked: String<32> = String::new();
    for _ in 0..digits.min(16) {
        let _ = masked.push_str("* ");
    }
    let field = rect(MARGIN_PX, CONTENT_Y_PX.saturating_add(60), left, 64);
    p.fill(field, ctx.theme.button);
    frame(p, field, 2, ctx.theme.button_border);
    let font = fit(&[Font::LargeTitle, Font::Title], &masked, left);
    p.text(field, &masked, font, ctx.theme.button_text, Align::Left);
    let grid = Grid {
        area: rect(400, 96, 388, 308),
        cols: 3,
        rows: 4,
        gap: 8,
    };
    let keys = [
        Element::PinDigit(1),
        Element::PinDigit(2),
        Element::PinDigit(3),
        Element::PinDigit(4),
        Element::PinDigit(5),
        Element::PinDigit(6),
        Element::PinDigit(7),
        Element::PinDigit(8),
        Element::PinDigit(9),
        Element::PinClear,
        Element::PinDigit(0),
        Element::PinOk,
    ];
    for (i, element) in keys.into_iter().enumerate() {
        let mut label: String<8> = String::new();
        let text_label = match element {
            Element::PinDigit(d) => {
                let _ = write!(label, "{d}");
                label.as_str()
            }
            Element::PinClear => ctx.t(Text::PinClear),
            _ => ctx.t(Text::PinOk),
        };
        button(ctx, p, element, grid.cell(i), text_label, false);
    }
    button(
        ctx,
        p,
        Element::PinCancel,
        bar(Slot::Left),
        ctx.t(Text::Cancel),
        false,
    );
}

/// Width of the PIN check's progress bar, in pixels.
const PROGRESS_W_PX: u32 = 600;
/// Height of the PIN check's progress bar, in pixels.
const PROGRESS_H_PX: u32 = 48;

/// The PIN being checked: what happens, a progress bar, and cancel.
fn pin_check(ctx: &Ctx<'_>, p: &mut dyn Painter, purpose: PinPurpose, done: u32, total: u32) {
    let key = match purpose {
        PinPurpose::Open => Text::PinOpenTitle,
        PinPurpose::Close => Text::PinCloseTitle,
    };
    title(ctx, p, ctx.t(key));
    let width = WIDTH_PX.saturating_sub(16);
    let line = rect(MARGIN_PX, CONTENT_Y_PX.saturating_add(40), width, 48);
    let font = fit(
        &[ctx.bold(), Font::Bold, Font::Small],
        ctx.t(Text::PinChecking),
        width,
    );
    p.text(
        line,
        ctx.t(Text::PinChecking),
        font,
        ctx.theme.text,
        Align::Center,
    );
    let x = as_i32(WIDTH_PX.saturating_sub(PROGRESS_W_PX) / 2);
    let bar_area = rect(
        x,
        CONTENT_Y_PX.saturating_add(140),
        PROGRESS_W_PX,
        PROGRESS_H_PX,
    );
    p.fill(bar_area, ctx.theme.button);
    let inner_w = PROGRESS_W_PX.saturating_sub(8);
    let filled = u64::from(inner_w)
        .saturating_mul(u64::from(done.min(total)))
        .checked_div(u64::from(total))
        .and_then(|w| u32::try_from(w).ok())
        .unwrap_or(0);
    if filled > 0 {
        p.fill(
            rect(
                x.saturating_add(4),
                CONTENT_Y_PX.saturating_add(144),
                filled,
                PROGRESS_H_PX.saturating_sub(8),
            ),
            ctx.theme.selected,
        );
    }
    frame(p, bar_area, 2, ctx.theme.button_border);
    button(
        ctx,
        p,
        Element::PinCancel,
        bar(Slot::Left),
        ctx.t(Text::Cancel),
        false,
    );
}

fn counters_lines(ctx: &Ctx<'_>, p: &mut dyn Painter, y: i32, counters: Counters) -> i32 {
    let mut y = y;
    for (key, value) in [
        (Text::Activations, counters.activations),
        (Text::Cast, counters.cast),
        (Text::Cancelled, counters.cancelled),
    ] {
        let mut s: String<LINE_BYTES> = String::new();
        let _ = write!(s, "{}: {}", ctx.t(key), value);
        y = line(ctx, p, y, &s, ctx.small());
    }
    y
}

fn waiting(ctx: &Ctx<'_>, p: &mut dyn Painter, counters: Counters) {
    title(ctx, p, ctx.t(Text::Waiting));
    paragraph(
        ctx,
        p,
        CONTENT_Y_PX.saturating_add(60),
        ctx.t(Text::WaitingHint),
        ctx.bold(),
        ctx.theme.text,
    );
    let y = CONTENT_BOTTOM_PX.saturating_sub(as_i32(ctx.line_h().saturating_mul(3)));
    counters_lines(ctx, p, y, counters);
}

fn message(ctx: &Ctx<'_>, p: &mut dyn Painter, head: Text, hint: Text) {
    title(ctx, p, ctx.t(head));
    let big = if ctx.view.large {
        Font::LargeTitle
    } else {
        Font::Title
    };
    let y = paragraph(
        ctx,
        p,
        CONTENT_Y_PX.saturating_add(80),
        ctx.t(head),
        big,
        ctx.theme.text,
    );
    paragraph(
        ctx,
        p,
        y.saturating_add(16),
        ctx.t(hint),
        ctx.body(),
        ctx.theme.text,
    );
}

fn languages(ctx: &Ctx<'_>, p: &mut dyn Painter) {
    title(ctx, p, ctx.t(Text::ChooseLanguage));
    let grid = Grid {
        area: rect(
            MARGIN_PX.saturating_add(40),
            CONTENT_Y_PX.saturating_add(24),
            WIDTH_PX.saturating_sub(96),
            280,
        ),
        cols: 2,
        rows: 2,
        gap: 24,
    };
    for (i, &language) in ctx.view.event.languages.iter().enumerate() {
        button(
            ctx,
            p,
            Element::Language(language),
            grid.cell(i),
            text(language, Text::LanguageName),
            language == ctx.view.language,
        );
    }
}

/// "Election name (k/n)" in the title.
fn election_title(ctx: &Ctx<'_>, p: &mut dyn Painter, election: usize, extra: Option<&str>) {
    let event = ctx.view.event;
    let mut s: String<LINE_BYTES> = String::new();
    if let Some(e) = event.elections.get(election) {
        let _ = write!(s, "{}", e.names.show(ctx.view.language));
        if event.elections.len() > 1 {
            let _ = write!(
                s,
                " ({}/{})",
                election.saturating_add(1),
                event.elections.len()
            );
        }
    }
    if let Some(extra) = extra {
        let _ = write!(s, " - {extra}");
    }
    title(ctx, p, &s);
}

fn page_buttons(ctx: &Ctx<'_>, p: &mut dyn Painter) {
    let page = ctx.page();
    let pages = pages(ctx.view);
    if page > 0 {
        button(ctx, p, Element::PagePrev, bar(Slot::PrevPage), "<", false);
    }
    if page.saturating_add(1) < pages {
        button(ctx, p, Element::PageNext, bar(Slot::NextPage), ">", false);
    }
}

fn page_label(ctx: &Ctx<'_>) -> String<16> {
    let mut s = String::new();
    if pages(ctx.view) > 1 {
        let _ = write!(s, "{}/{}", ctx.page().saturating_add(1), pages(ctx.view));
    }
    s
}

fn lists(ctx: &Ctx<'_>, p: &mut dyn Painter, election: usize, drafted: Option<usize>, back: bool) {
    election_title(ctx, p, election, None);
    let Some(e) = ctx.view.event.elections.get(election) else {
        return;
    };
    let instruction = rect(MARGIN_PX, CONTENT_Y_PX, WIDTH_PX.saturating_sub(16), 28);
    p.text(
        instruction,
        ctx.t(Text::ChooseList),
        ctx.small(),
        ctx.theme.text,
        Align::Left,
    );
    p.text(
        instruction,
        &page_label(ctx),
        ctx.small(),
        ctx.theme.text,
        Align::Right,
    );
    let grid = list_grid(ctx.view.large);
    let per_page = grid.capacity();
    let first = ctx.page().saturating_mul(per_page);
    for (slot, (index, list)) in e
        .lists
        .iter()
        .enumerate()
        .skip(first)
        .take(per_page)
        .enumerate()
    {
        let mut s: String<LINE_BYTES> = String::new();
        let _ = write!(s, "{}  {}", list.number, list.name);
        tick_button(
            ctx,
            p,
            Element::List(index),
            grid.cell(slot),
            &s,
            None,
            drafted == Some(index),
        );
    }
    if back {
        button(
            ctx,
            p,
            Element::Back,
            bar(Slot::Left),
            ctx.t(Text::Back),
            false,
        );
    }
    page_buttons(ctx, p);
    let blank = rect(592, BAR_Y_PX, 200, BAR_H_PX);
    button(ctx, p, Element::Blank, blank, ctx.t(Text::Blank), false);
}

fn candidates(ctx: &Ctx<'_>, p: &mut dyn Painter, election: usize, draft: Draft) {
    let event = ctx.view.event;
    let Draft::Marks {
        list,
        top_box,
        candidates,
    } = draft
    else {
        election_title(ctx, p, election, None);
        return;
    };
    let Some(l) = event
        .elections
        .get(election)
        .and_then(|e| e.lists.get(list.get()))
    else {
        election_title(ctx, p, election, None);
        return;
    };
    let mut head: String<LINE_BYTES> = String::new();
    let _ = write!(head, "{} {} {}", ctx.t(Text::List), l.number, l.name);
    election_title(ctx, p, election, Some(&head));
    let mut top: String<LINE_BYTES> = String::new();
    let _ = write!(top, "{}  {}: {}", l.number, l.name, ctx.t(Text::TopBox));
    tick_button(
        ctx,
        p,
        Element::TopBox,
        top_box_rect(ctx.view.large),
        &top,
        None,
        top_box,
    );
    let grid = candidate_grid(ctx.view.large);
    let per_page = grid.capacity();
    let first = ctx.page().saturating_mul(per_page);
    for (slot, (index, candidate)) in l
        .candidates
        .iter()
        .enumerate()
        .skip(first)
        .take(per_page)
        .enumerate()
    {
        let mut s: String<LINE_BYTES> = String::new();
        let _ = write!(s, "{}. {}", index.saturating_add(1), candidate.name);
        let successor = candidate.kind == CandidateKind::Successor;
        tick_button(
            ctx,
            p,
            Element::Candidate(index),
            grid.cell(slot),
            &s,
            successor.then(|| ctx.t(Text::Successor)),
            candidates.contains(index),
        );
    }
    button(
        ctx,
        p,
        Element::Back,
        bar(Slot::Left),
        ctx.t(Text::Back),
        false,
    );
    page_buttons(ctx, p);
    let center = bar(Slot::Center);
    let mut count: String<LINE_BYTES> = String::new();
    let _ = write!(count, "{} {}", candidates.len(), ctx.t(Text::Selected));
    let half = center.size.height >> 1;
    let upper = rect(
        center.top_left.x,
        center.top_left.y,
        center.size.width,
        half,
    );
    let lower = rect(
        center.top_left.x,
        center.top_left.y.saturating_add(as_i32(half)),
        center.size.width,
        half,
    );
    p.text(upper, &count, Font::Small, ctx.theme.text, Align::Center);
    p.text(
        lower,
        &page_label(ctx),
        Font::Small,
        ctx.theme.text,
        Align::Center,
    );
    button(
        ctx,
        p,
        Element::Next,
        bar(Slot::Right),
        ctx.t(Text::Next),
        false,
    );
}

/// "Election: List 3 NAME" or "Election: Blank".
fn review_header(ctx: &Ctx<'_>, election: usize, choice: &Choice) -> String<LINE_BYTES> {
    let mut s: String<LINE_BYTES> = String::new();
    let e = ctx.view.event.elections.get(election);
    if let Some(e) = e {
        let _ = write!(s, "{}: ", e.names.show(ctx.view.language));
    }
    let list = choice
        .list()
        .and_then(|l| e.and_then(|e| e.lists.get(l.get())));
    match list {
        Some(l) if !matches!(choice, Choice::Blank) => {
            let _ = write!(s, "{} {} {}", ctx.t(Text::List), l.number, l.name);
        }
        _ => {
            let _ = s.push_str(ctx.t(Text::Blank));
        }
    }
    s
}

/// Fills lines greedily with space-separated tokens.
struct Wrap {
    font: Font,
    room: u32,
    space: u32,
    line: String<LINE_BYTES>,
    width: u32,
    lines: u32,
}

impl Wrap {
    fn new(font: Font, width: u32) -> Wrap {
        Wrap {
            font,
            room: width.saturating_sub(as_u32(painter::TEXT_PAD_PX).saturating_mul(2)),
            space: font.width(" "),
            line: String::new(),
            width: 0,
            lines: 0,
        }
    }

    /// Add `token` after a space, or on a new line if it does not fit.
    fn push(&mut self, token: &str, emit: &mut dyn FnMut(&str)) {
        let w = self.font.width(token);
        if !self.line.is_empty() {
            let joined = self.width.saturating_add(self.space).saturating_add(w);
            if joined <= self.room && self.line.push(' ').is_ok() {
                if self.line.push_str(token).is_ok() {
                    self.width = joined;
                    return;
                }
                self.line.pop();
            }
            self.flush(emit);
        }
        // A token is at most a name plus a comma: it fits an empty line's buffer.
        let _ = self.line.push_str(token);
        self.width = w;
    }

    fn flush(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.line.is_empty() {
            emit(&self.line);
            self.lines = self.lines.saturating_add(1);
            self.line.clear();
            self.width = 0;
        }
    }

    fn finish(mut self, emit: &mut dyn FnMut(&str)) -> u32 {
        self.flush(emit);
        self.lines
    }
}

/// The marks of `choice` wrapped to the review's text width, one `emit` per line; returns
/// the number of lines. Preferences name every marked candidate (or give their numbers,
/// when `names` is false).
fn review_marks(
    ctx: &Ctx<'_>,
    election: usize,
    choice: &Choice,
    names: bool,
    emit: &mut dyn FnMut(&str),
) -> u32 {
    let mut wrap = Wrap::new(ctx.small(), review_text_w());
    let list = choice.list().and_then(|l| {
        ctx.view
            .event
            .elections
            .get(election)
            .and_then(|e| e.lists.get(l.get()))
    });
    match (choice, list) {
        (Choice::List(_), Some(_)) => wrap.push(ctx.t(Text::ListVote), emit),
        (Choice::Preferences { candidates, .. }, Some(l)) => {
            let mut token: String<LINE_BYTES> = String::new();
            let _ = write!(token, "{} {}:", candidates.len(), ctx.t(Text::Preferences));
            wrap.push(&token, emit);
            let last = usize::try_from(candidates.len())
                .unwrap_or(usize::MAX)
                .saturating_sub(1);
            for (n, index) in candidates.iter().enumerate() {
                token.clear();
                if names {
                    if let Some(c) = l.candidates.get(index) {
                        let _ = token.push_str(c.name);
                    }
                } else {
                    let _ = write!(token, "{}", index.saturating_add(1));
                }
                if n < last {
                    let _ = token.push(',');
                }
                wrap.push(&token, emit);
            }
        }
        _ => {}
    }
    wrap.finish(emit)
}

fn review(ctx: &Ctx<'_>, p: &mut dyn Painter, choices: &[Choice]) {
    title(ctx, p, ctx.t(Text::Review));
    let plan = review_plan(ctx.view, choices);
    let page = ctx.page();
    let text_w = review_text_w();
    let line_h = ctx.line_h();
    let mark_h = mark_line_h(ctx);
    let fg = ctx.theme.button_text;
    for (election, (choice, row)) in choices.iter().zip(plan.iter()).enumerate() {
        if row.page != page {
            continue;
        }
        let area = rect(MARGIN_PX, row.y, WIDTH_PX.saturating_sub(16), row.height);
        p.fill(area, ctx.theme.button_alt);
        // The header and the marks, centred in the row.
        let lines = review_marks(ctx, election, choice, row.names, &mut |_| {});
        let content = line_h.saturating_add(lines.saturating_mul(mark_h));
        let mut y = row
            .y
            .saturating_add(as_i32(row.height.saturating_sub(content) >> 1));
        let header = review_header(ctx, election, choice);
        let font = fit(&[ctx.bold(), Font::Bold, Font::Small], &header, text_w);
        p.text(
            rect(MARGIN_PX, y, text_w, line_h),
            &header,
            font,
            fg,
            Align::Left,
        );
        y = y.saturating_add(as_i32(line_h));
        review_marks(ctx, election, choice, row.names, &mut |s| {
            p.text(
                rect(MARGIN_PX, y, text_w, mark_h),
                s,
                ctx.small(),
                fg,
                Align::Left,
            );
            y = y.saturating_add(as_i32(mark_h));
        });
        let change = rect(
            area.top_left
                .x
                .saturating_add_unsigned(area.size.width)
                .saturating_sub(as_i32(CHANGE_W_PX)),
            row.y,
            CHANGE_W_PX,
            row.height,
        );
        button(
            ctx,
            p,
            Element::Change(election),
            change,
            ctx.t(Text::Change),
            false,
        );
    }
    button(
        ctx,
        p,
        Element::Back,
        bar(Slot::Left),
        ctx.t(Text::Back),
        false,
    );
    // The confirm button is the widest: it ends the vote. Paging sits left of it.
    let page = ctx.page();
    if page > 0 {
        button(ctx, p, Element::PagePrev, bar(Slot::PrevPage), "<", false);
    }
    if page.saturating_add(1) < pages(ctx.view) {
        let next = rect(408, BAR_Y_PX, 80, BAR_H_PX);
        button(ctx, p, Element::PageNext, next, ">", false);
    }
    p.text(
        rect(304, BAR_Y_PX, 96, BAR_H_PX),
        &page_label(ctx),
        Font::Small,
        ctx.theme.text,
        Align::Center,
    );
    let confirm = rect(496, BAR_Y_PX, 296, BAR_H_PX);
    button(
        ctx,
        p,
        Element::Confirm,
        confirm,
        ctx.t(Text::Confirm),
        true,
    );
}

fn closed(ctx: &Ctx<'_>, p: &mut dyn Painter, counters: Counters, ballots: &[usize]) {
    title(ctx, p, ctx.t(Text::PollClosed));
    let mut y = counters_lines(ctx, p, CONTENT_Y_PX.saturating_add(4), counters);
    let verdict = if counters.balanced() {
        Text::Balanced
    } else {
        Text::Unbalanced
    };
    y = line(ctx, p, y, ctx.t(verdict), ctx.bold());
    for (e, count) in ctx.view.event.elections.iter().zip(ballots) {
        let mut s: String<LINE_BYTES> = String::new();
        let _ = write!(
            s,
            "{}: {} {}",
            e.names.show(ctx.view.language),
            count,
            ctx.t(Text::Ballots)
        );
        y = line(ctx, p, y, &s, ctx.small());
    }
    paragraph(
        ctx,
        p,
        y.saturating_add(12),
        ctx.t(Text::PresidentPowerOff),
        ctx.bold(),
        ctx.theme.text,
    );
}

/// One line of `height` pixels in a column at `x` of `width` pixels. Returns the y below
/// it.
fn column_line(
    ctx: &Ctx<'_>,
    p: &mut dyn Painter,
    (x, y, width, height): (i32, i32, u32, u32),
    s: &str,
    font: Font,
) -> i32 {
    p.text(
        rect(x, y, width, height),
        s,
        font,
        ctx.theme.text,
        Align::Left,
    );
    y.saturating_add(as_i32(height))
}

/// The first of `fonts` in which every text `each` yields fits `width` pixels (with
/// padding), else the last: lines drawn as a block keep one face.
fn fit_all<I: Iterator<Item = String<LINE_BYTES>>>(
    fonts: &[Font],
    width: u32,
    each: impl Fn() -> I,
) -> Font {
    let room = width.saturating_sub(as_u32(painter::TEXT_PAD_PX).saturating_mul(2));
    fonts
        .iter()
        .copied()
        .find(|f| each().all(|s| f.drawn_width(&s).is_some_and(|w| w <= room)))
        .or_else(|| fonts.last().copied())
        .unwrap_or(Font::Small)
}

/// The opening report: the two fingerprints side by side (16 groups of 4 hex digits, four
/// per line, as on the paper report), the counters and the zero ballots per election, and
/// the hint to copy the fingerprints. *Print again* and *Continue* in the bar.
fn opening_report(
    ctx: &Ctx<'_>,
    p: &mut dyn Painter,
    image: &[u8; 32],
    session: &[u8; 32],
    counters: Counters,
    ballots: &[usize],
) {
    title(ctx, p, ctx.t(Text::OpeningReport));
    let column_w = WIDTH_PX.saturating_sub(32) >> 1;
    let right_x = MARGIN_PX
        .saturating_add(as_i32(column_w))
        .saturating_add(16);
    let full_w = WIDTH_PX.saturating_sub(16);
    let as_line = |s: &str| {
        let mut line: String<LINE_BYTES> = String::new();
        let _ = line.push_str(s);
        line
    };
    let fingerprints = [image, session];
    let groups = fit_all(&[ctx.bold(), Font::Bold, Font::Small], column_w, || {
        fingerprints
            .into_iter()
            .flat_map(|fp| crate::printout::fingerprint_lines(fp).map(|l| as_line(&l)))
    });
    let labels = fit_all(&[ctx.small(), Font::Small], column_w, || {
        [Text::ImageFingerprint, Text::SessionFingerprint]
            .into_iter()
            .map(|key| as_line(ctx.t(key)))
    });
    let line_h = ctx.line_h();
    let mut bottom = CONTENT_Y_PX;
    for (x, label, fp) in [
        (MARGIN_PX, Text::ImageFingerprint, image),
        (right_x, Text::SessionFingerprint, session),
    ] {
        let mut y = column_line(
            ctx,
            p,
            (x, CONTENT_Y_PX, column_w, line_h),
            ctx.t(label),
            labels,
        );
        for group in crate::printout::fingerprint_lines(fp) {
            y = column_line(ctx, p, (x, y, column_w, line_h), &group, groups);
        }
        bottom = bottom.max(y);
    }
    // Below, across the width: the counters on one line, then one line per election
    // with its ballots (zero); rows shrink, down to the small face's height, when the
    // event has many elections, and the hint is left out when there is no room for it.
    let mut counts: String<LINE_BYTES> = String::new();
    for (i, (key, value)) in [
        (Text::Activations, counters.activations),
        (Text::Cast, counters.cast),
        (Text::Cancelled, counters.cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        let sep = if i > 0 { "   " } else { "" };
        let _ = write!(counts, "{sep}{}: {}", ctx.t(key), value);
    }
    let elections = || ctx.view.event.elections.iter().zip(ballots);
    let ballots_line = |(e, count): (&crate::election::Election<'_>, &usize)| {
        let mut s: String<LINE_BYTES> = String::new();
        let _ = write!(
            s,
            "{}: {} {}",
            e.names.show(ctx.view.language),
            count,
            ctx.t(Text::Ballots)
        );
        s
    };
    let small = fit_all(&[ctx.small(), Font::Small], full_w, || {
        core::iter::once(counts.clone()).chain(elections().map(ballots_line))
    });
    let top = bottom.saturating_add(8);
    let rows = u32::try_from(elections().count().saturating_add(1)).unwrap_or(1);
    let row_h = span(top, CONTENT_BOTTOM_PX)
        .checked_div(rows.max(1))
        .unwrap_or(line_h)
        .min(line_h)
        .max(small.height());
    let mut y = column_line(ctx, p, (MARGIN_PX, top, full_w, row_h), &counts, small);
    for election in elections() {
        y = column_line(
            ctx,
            p,
            (MARGIN_PX, y, full_w, row_h),
            &ballots_line(election),
            small,
        );
    }
    let hint_y = y.saturating_add(4);
    if hint_y.saturating_add(as_i32(line_h)) <= CONTENT_BOTTOM_PX {
        let font = fit(
            &[ctx.small(), Font::Small],
            ctx.t(Text::CopyFingerprints),
            full_w,
        );
        line(ctx, p, hint_y, ctx.t(Text::CopyFingerprints), font);
    }
    button(
        ctx,
        p,
        Element::PrintAgain,
        bar(Slot::Left),
        ctx.t(Text::PrintAgain),
        false,
    );
    button(
        ctx,
        p,
        Element::Continue,
        bar(Slot::Right),
        ctx.t(Text::Continue),
        true,
    );
}

fn halted(ctx: &Ctx<'_>, p: &mut dyn Painter, reason: HaltReason, code: u16) {
    let mut head: String<LINE_BYTES> = String::new();
    let _ = write!(head, "{} E{}", ctx.t(Text::Error), code);
    let area = rect(0, TITLE_Y_PX, as_u32(TOGGLE_X_PX), TITLE_H_PX);
    p.fill(area, ctx.theme.notice_bg);
    let font = if ctx.view.large {
        Font::LargeTitle
    } else {
        Font::Title
    };
    p.text(area, &head, font, ctx.theme.notice_text, Align::Left);
    let (explanation, action) = halt_texts(reason, code);
    let mut y = paragraph(
        ctx,
        p,
        CONTENT_Y_PX.saturating_add(12),
        ctx.t(explanation),
        ctx.bold(),
        ctx.theme.text,
    );
    y = paragraph(
        ctx,
        p,
        y.saturating_add(12),
        ctx.t(action),
        ctx.body(),
        ctx.theme.text,
    );
    paragraph(
        ctx,
        p,
        y.saturating_add(12),
        ctx.t(Text::HaltCallPresident),
        ctx.body(),
        ctx.theme.text,
    );
}

/// Results media codes ([`crate::media::VolumeError::code`]): no media inserted.
const MEDIA_MISSING_CODE: u16 = 601;
/// Results media codes of media that is not this station's: blank and not initialised,
/// unrecognised, unknown version, damaged superblock, another event or station, too small,
/// slots too small, swapped during the session.
const MEDIA_FOREIGN_CODES: [u16; 9] = [602, 603, 604, 605, 606, 607, 608, 609, 614];
/// Results media code: every area is taken.
const MEDIA_FULL_CODE: u16 = 610;
/// Codes of sealing (7xx) and of the record body (8xx): faults of the software itself.
const FIRMWARE_FAULT_CODES: core::ops::Range<u16> = 700..900;

/// What an error screen says: why the terminal stopped, and what the president does.
fn halt_texts(reason: HaltReason, code: u16) -> (Text, Text) {
    match reason {
        HaltReason::MemoryIntegrity => (Text::HaltMemory, Text::ActionMemory),
        HaltReason::MediaFailure => match code {
            MEDIA_MISSING_CODE => (Text::HaltMediaMissing, Text::ActionInsertMedia),
            MEDIA_FULL_CODE => (Text::HaltMediaFull, Text::ActionNewMedia),
            c if MEDIA_FOREIGN_CODES.contains(&c) => (Text::HaltMediaForeign, Text::ActionOwnMedia),
            c if FIRMWARE_FAULT_CODES.contains(&c) => (Text::HaltFirmware, Text::HaltAction),
            _ => (Text::HaltMedia, Text::ActionKeepMedia),
        },
        _ => (Text::HaltDevice, Text::HaltAction),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn element_names_are_one_based_and_match() {
        let cases = [
            (Element::List(0), "list-1"),
            (Element::Candidate(11), "candidate-12"),
            (Element::Change(0), "change-1"),
            (Element::Language(Language::Fr), "lang-fr"),
            (Element::PinDigit(7), "pin-7"),
            (Element::PinOk, "pin-ok"),
            (Element::TopBox, "top-box"),
            (Element::LargeText, "large-text"),
        ];
        for (element, name) in cases {
            assert_eq!(element.to_string(), name);
            assert!(element.is_named(name));
            assert!(!element.is_named("list-0"));
        }
    }

    #[test]
    fn fit_falls_back_to_smaller_fonts() {
        let long = "Confirmer mon vote, vraiment et définitivement";
        assert_eq!(fit(&[Font::Title, Font::Small], "OK", 200), Font::Title);
        assert_eq!(fit(&[Font::Title, Font::Small], long, 10), Font::Small);
        assert!(Font::Small.width(long) < Font::Title.width(long));
    }

    #[test]
    fn error_screens_tell_media_problems_apart() {
        use crate::media::VolumeError;
        use crate::record::RecordError;
        use crate::seal::{Identifier, SealError};
        let id = |s| Identifier::new(s).unwrap();
        let media = |e: VolumeError| halt_texts(HaltReason::MediaFailure, e.code());
        assert_eq!(media(VolumeError::Missing).0, Text::HaltMediaMissing);
        assert_eq!(media(VolumeError::Full { areas: 4 }).0, Text::HaltMediaFull);
        for foreign in [
            VolumeError::Blank,
            VolumeError::Unrecognised,
            VolumeError::UnsupportedVersion { version: 9 },
            VolumeError::CorruptSuperblock { field: "crc" },
            VolumeError::ForeignEvent {
                expected: id("A"),
                found: id("B"),
            },
            VolumeError::ForeignStation {
                expected: id("A"),
                found: id("B"),
            },
            VolumeError::TooSmall {
                sectors: 2,
                needed: 9,
            },
            VolumeError::SlotTooSmall {
                capacity: 1,
                needed: 2,
            },
            VolumeError::MediaChanged,
        ] {
            assert_eq!(
                media(foreign),
                (Text::HaltMediaForeign, Text::ActionOwnMedia)
            );
        }
        for failing in [
            VolumeError::WriteFailed { sector: 3 },
            VolumeError::ReadFailed { sector: 3 },
            VolumeError::VerifyFailed { sector: 3 },
            VolumeError::PowerLost,
        ] {
            assert_eq!(media(failing), (Text::HaltMedia, Text::ActionKeepMedia));
        }
        for firmware in [
            RecordError::NoBuffers.code(),
            RecordError::Seal(SealError::ZeroGeneration).code(),
        ] {
            let texts = halt_texts(HaltReason::MediaFailure, firmware);
            assert_eq!(texts.0, Text::HaltFirmware);
        }
        assert_eq!(
            halt_texts(HaltReason::MemoryIntegrity, 510),
            (Text::HaltMemory, Text::ActionMemory)
        );
        assert_eq!(
            halt_texts(HaltReason::DeviceFailure, 530).0,
            Text::HaltDevice
        );
    }

    #[test]
    fn grids_keep_targets_large_enough() {
        for large in [false, true] {
            for grid in [list_grid(large), candidate_grid(large)] {
                for i in 0..grid.capacity() {
                    let cell = grid.cell(i);
                    assert!(cell.size.height >= MIN_TARGET_PX, "{cell:?}");
                    assert!(cell.size.width >= MIN_TARGET_PX, "{cell:?}");
                    let bottom = cell.top_left.y + cell.size.height as i32;
                    assert!(bottom <= CONTENT_BOTTOM_PX, "{cell:?}");
                }
            }
        }
    }
}
