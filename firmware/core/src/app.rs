//! The device-independent firmware main loop: input events in, terminal actions, screens out.
//!
//! The wasm payload and the boards call [`App::boot`] once, then [`App::handle`] for every
//! [`InputEvent`] and [`App::tick`] now and then. The app owns the [`Terminal`] (the state
//! machine), the UI state (page, keyboard focus, large-text mode, the PIN pad, short
//! messages) and draws the current [`screen`] into the framebuffer, flushing only the
//! changed area.
//!
//! Every call is short: no event or tick does more than a few million instructions in the
//! wasm interpreter (the simulator's budget is 5 million and 16 ms a call). Rendering lays
//! the screen out once per call and redraws only what changed ([`screen::Renderer`]); the
//! touch targets and text of the screen shown come from the renderer. Long work is spread
//! over the ticks that follow the action, while the screen says what happens and input
//! waits ([`App::busy`]):
//! - the operator PIN is checked in steps of [`PIN_ITERATIONS_PER_STEP`] PBKDF2 iterations
//!   ([`crate::pin::PinCheck`]), with a progress bar and a cancel button; the outcome and
//!   the lockout are those of [`Terminal::open_poll`]; a cancelled check is no attempt;
//! - a record is sealed and written in steps ([`Recorder::step`]): encode, encrypt, hash,
//!   sign, write and flush; then the ticket or report is printed, then the next screen
//!   ("vote recorded", "session cancelled", the opening report);
//! - when idle, the key agreement of the next record is prepared ([`Recorder::prepare`]).
//!
//! Hosts without a time budget (tests, tools) may call [`App::settle`] after an input.
//!
//! Input mapping:
//! - a tap on a named [`Element`] activates it; taps elsewhere do nothing;
//! - voter keys: Up/Left and Down/Right move a visible focus frame over the elements in
//!   layout order, Enter activates the focused element, Back goes back one screen (or
//!   leaves the PIN pad);
//! - operator keys: activate voter, cancel session, open / close poll (each shows a PIN pad
//!   with digits, clear, OK and cancel), power off.
//!
//! A refused action (wrong PIN, nothing marked, a voter in the booth, ...) is shown over the
//! title bar as `E<code>: <explanation>` and is not an error of [`App::handle`]; `handle`
//! fails only when a device fails or the terminal halts. A halted terminal shows an error
//! screen with a stable code and what the president should do.
//!
//! Sealed records ([`crate::record`]): at poll opening the app mounts (or initialises blank)
//! results media, takes a new area and draws the session key, then writes generation 1.
//! After every confirmed ballot, every cancelled session and at close it seals the record
//! to the office key and writes it; "vote recorded" is shown only after the media flushed.
//! Any media or sealing failure halts the terminal (no more votes) and the error screen
//! shows the failure's own code (6xx media, 7xx seal, 8xx record). The ~440 KB of record
//! buffers come from the caller through [`App::attach_records`].
//!
//! Printing ([`crate::report`], [`crate::ticket`]): once generation 1 is on the media the
//! opening report is printed and shown on screen (*Print again*, *Continue*); once the
//! record of a confirmed ballot is flushed, the voter ticket of exactly that review is
//! printed; once the closing record is written, the closing report. The ballot or the
//! record never depends on the printer: a printer failure after the flush leaves the
//! ballot recorded exactly once (a ticket is never printed again) and shows
//! `E9xx: <report or ticket not printed>` over the title; [`App::print_fault`] keeps it.

use crate::ballot::Choice;
use crate::election::{Event, Language, MAX_ELECTIONS};
use crate::hal::{
    Area, Clock, Display, DisplayError, Entropy, Framebuffer, InputEvent, Key, Media,
};
use crate::hal::{OperatorKey, Printer};
use crate::i18n::Text;
use crate::pin::{PinCheck, PinVerifier, PIN_ITERATIONS_PER_STEP};
use crate::printout::{PrintError, PrintPosition, Printed};
use crate::record::{
    RecordContent, RecordError, RecordScratch, RecordWrite, Recorder, RecorderSetup,
};
use crate::report::{Report, ReportKind};
use crate::screen::{self, Element, Notice, PinPurpose, Renderer, Screen, View};
use crate::seal::PollState;
use crate::store::BallotStore;
use crate::terminal::{
    Action, ActionKind, HaltReason, Phase, State, Step, Terminal, TerminalError,
};
use crate::ticket::{Ticket, TicketError};
use core::fmt;
use zeroize::Zeroize;

/// Most PIN digits the pad accepts.
pub const MAX_PIN_DIGITS: usize = 12;
/// How long the "vote recorded" and "session cancelled" screens stay, in milliseconds.
pub const MESSAGE_SCREEN_MS: u64 = 5_000;
/// Code shown when the ballot store failed its integrity check.
pub const HALT_MEMORY_CODE: u16 = 510;
/// Code shown when the results media failed.
pub const HALT_MEDIA_CODE: u16 = 520;
/// Code shown when another device failed.
pub const HALT_DEVICE_CODE: u16 = 530;
/// Code of a display transfer failure.
pub const DISPLAY_FAILED_CODE: u16 = 600;

/// The devices the app drives.
pub struct Devices<'d> {
    /// The panel.
    pub display: &'d mut dyn Display,
    /// The removable results media.
    pub media: &'d mut dyn Media,
    /// The report printer.
    pub printer: &'d mut dyn Printer,
    /// RTC and milliseconds.
    pub clock: &'d dyn Clock,
    /// The TRNG.
    pub entropy: &'d mut dyn Entropy,
}

/// What the boot stage hands over from the verified image.
pub struct BootInfo<'a> {
    /// The election event (decoded from the manifest).
    pub event: &'a Event<'a>,
    /// SHA-256 of the boot image.
    pub image_fingerprint: [u8; 32],
    /// The office's X25519 key the sealed records are encrypted to.
    pub office_public_key: [u8; 32],
    /// The operator PIN verifier.
    pub pin_verifier: PinVerifier,
    /// The polling station's identifier.
    pub station: &'a str,
}

/// Errors of the app. Each has a stable [`AppError::code`], the one shown on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppError {
    /// The terminal refused to start, or halted (see [`Phase::Halted`]).
    Terminal(TerminalError),
    /// The terminal halted for a reason found outside an action.
    Halted {
        /// Why.
        reason: HaltReason,
    },
    /// The display did not take the frame; the area stays dirty and is sent again.
    Display(DisplayError),
    /// The sealed record could not be written (media missing, full, foreign or failing,
    /// or sealing failed): the terminal halted and takes no more votes.
    Record(RecordError),
}

impl AppError {
    /// Stable code: the terminal's codes (1xx..5xx), 510/520/530 for halts, 600 display.
    pub const fn code(&self) -> u16 {
        match self {
            AppError::Terminal(e) => e.code(),
            AppError::Halted { reason } => halt_code(*reason),
            AppError::Display(_) => DISPLAY_FAILED_CODE,
            AppError::Record(e) => e.code(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Terminal(e) => write!(f, "{e}"),
            AppError::Halted { reason } => write!(f, "E{}: halted ({reason:?})", self.code()),
            AppError::Display(e) => write!(f, "E{}: {e}", self.code()),
            AppError::Record(e) => write!(f, "{e}"),
        }
    }
}

/// The code shown for a halt.
pub const fn halt_code(reason: HaltReason) -> u16 {
    match reason {
        HaltReason::MemoryIntegrity => HALT_MEMORY_CODE,
        HaltReason::MediaFailure => HALT_MEDIA_CODE,
        _ => HALT_DEVICE_CODE,
    }
}

/// A temporary screen over the terminal's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overlay {
    None,
    Pin {
        purpose: PinPurpose,
        digits: [u8; MAX_PIN_DIGITS],
        len: usize,
    },
    /// The typed PIN is being checked ([`App::pin_check`] holds the check).
    Checking {
        purpose: PinPurpose,
    },
    /// A record is being written (and its ticket or report printed): input waits.
    Busy {
        /// A voter's ballot (the voter's language, "recording your vote").
        vote: bool,
    },
    Recorded {
        until_ms: u64,
    },
    Cancelled {
        until_ms: u64,
    },
    /// The poll just opened: the opening report, with the session key's fingerprint.
    OpeningReport {
        session: [u8; 32],
    },
}

/// The choices of a cast ballot, kept from the review for its voter ticket until the
/// ticket is signed (then overwritten, [`scrub`]).
type CastChoices = heapless::Vec<Choice, MAX_ELECTIONS>;

/// Overwrite every choice with a blank vote and empty the list (ballot content does not
/// stay in RAM once its ticket is made).
fn scrub(choices: &mut CastChoices) {
    for choice in choices.iter_mut() {
        *choice = core::hint::black_box(Choice::Blank);
    }
    choices.clear();
}

/// What follows once a record is on the media.
enum After {
    /// The poll opened: print the opening report, then show it.
    Opened {
        /// SHA-256 of the session public key.
        session: [u8; 32],
    },
    /// A ballot was cast: sign and print its ticket, then "vote recorded".
    Cast(CastChoices),
    /// A session was cancelled: "session cancelled".
    Cancelled,
    /// The poll closed: print the closing report.
    Closed,
}

/// One step of a [`Job`].
// The app lives in a `static` (or on a host's heap) and holds one job at most: the size
// of the largest step does not matter, and there is no heap to box it in.
#[allow(clippy::large_enum_variant)]
enum JobStep {
    /// Write the record (one [`Recorder::step`] a tick), then `After`.
    Write(RecordWrite, After),
    /// Sign the cast ballot's voter ticket.
    SignTicket(CastChoices),
    /// Print the signed ticket from the position given, [`PRINT_ROWS_PER_STEP`] rows a
    /// tick, then "vote recorded".
    PrintTicket(Result<Ticket, PrintError>, PrintPosition),
    /// Print a report from the position given, a slice a tick, then show the overlay.
    PrintReport(ReportKind, Overlay, PrintPosition),
    /// Show the screen that follows a printout (a tick of its own: a full-screen change
    /// and a last printed slice would not fit one tick's budget together).
    Show(Overlay),
}

/// Raster rows printed per tick: a slice of a report or ticket stays within the per-event
/// budget (at most 3.2 M fuel a slice under wasmi over the demo day, against 5 M), and at
/// a tick every 100 ms the paper moves 24 mm a tick, the speed of a thermal receipt
/// printer.
pub const PRINT_ROWS_PER_STEP: u32 = 192;

/// Work spread over ticks after an action, one bounded step per tick, while input waits.
struct Job {
    /// The action it completes (for error codes).
    action: ActionKind,
    step: JobStep,
}

/// Identifies a screen, to reset page and focus when it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScreenKey {
    phase: Phase,
    election: Option<usize>,
    overlay: u8,
}

struct Ui {
    overlay: Overlay,
    large: bool,
    page: usize,
    focus: usize,
    keyboard: bool,
    notice: Option<Notice>,
    language: Language,
    /// The language of the last voter, for the message after the session.
    voter_language: Language,
    key: ScreenKey,
}

impl Ui {
    fn clear_pin(&mut self) {
        if let Overlay::Pin { digits, len, .. } = &mut self.overlay {
            digits.zeroize();
            len.zeroize();
        }
    }
}

/// The firmware: terminal, UI state and framebuffer.
pub struct App<'a> {
    terminal: Terminal<'a>,
    frame: &'a mut Framebuffer,
    /// What is on the display, to redraw only what changes and to answer touch targets
    /// and text without laying the screen out again.
    renderer: Renderer,
    fingerprint: [u8; 32],
    office_public_key: [u8; 32],
    station: &'a str,
    ui: Ui,
    /// Buffers for sealing records (see [`App::attach_records`]).
    records: Option<&'a mut RecordScratch>,
    /// The poll session's record writer, from poll opening on.
    recorder: Option<Recorder>,
    /// The record failure that halted the terminal; its code is on the error screen.
    fault: Option<RecordError>,
    /// The last printout's failure, if it failed.
    print_fault: Option<PrintError>,
    /// The operator PIN being checked, in steps (one per tick).
    pin_check: Option<PinCheck>,
    /// Work after an action, in steps (one per tick): a record write, a ticket, a report.
    job: Option<Job>,
}

impl fmt::Debug for App<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("terminal", &self.terminal)
            .field("large", &self.ui.large)
            .finish_non_exhaustive()
    }
}

impl Drop for App<'_> {
    fn drop(&mut self) {
        self.ui.clear_pin();
    }
}

fn overlay_tag(o: &Overlay) -> u8 {
    match o {
        Overlay::None => 0,
        Overlay::Pin { .. } => 1,
        Overlay::Recorded { .. } => 2,
        Overlay::Cancelled { .. } => 3,
        Overlay::OpeningReport { .. } => 4,
        Overlay::Checking { .. } => 5,
        Overlay::Busy { .. } => 6,
    }
}

/// Everything to build a [`View`], borrowed apart from the framebuffer.
struct Parts<'s, 'a> {
    terminal: &'s Terminal<'a>,
    ui: &'s Ui,
    fingerprint: &'s [u8; 32],
    station: &'s str,
    fault_code: Option<u16>,
    /// Iterations done and in all of the PIN being checked.
    pin_progress: (u32, u32),
}

impl<'s> Parts<'s, '_> {
    fn view(&self) -> View<'s> {
        let terminal = self.terminal;
        let ui = self.ui;
        let event = terminal.event();
        let mut language = ui.language;
        let screen = match (terminal.state(), &ui.overlay) {
            (State::PoweredOff, _) => Screen::PoweredOff,
            (State::Halted(reason), _) => Screen::Halted {
                reason: *reason,
                code: self.fault_code.unwrap_or(halt_code(*reason)),
            },
            (_, Overlay::Pin { purpose, len, .. }) => Screen::Pin {
                purpose: *purpose,
                digits: *len,
            },
            (_, Overlay::Busy { vote }) => {
                if *vote {
                    language = ui.voter_language;
                }
                Screen::Busy { vote: *vote }
            }
            (_, Overlay::Checking { purpose }) => Screen::PinCheck {
                purpose: *purpose,
                done: self.pin_progress.0,
                total: self.pin_progress.1,
            },
            (State::PollNotOpened, _) => Screen::Boot {
                fingerprint: self.fingerprint,
                station: self.station,
                version: env!("CARGO_PKG_VERSION"),
            },
            (State::PollOpen, Overlay::Recorded { .. }) => {
                language = ui.voter_language;
                Screen::Recorded
            }
            (State::PollOpen, Overlay::Cancelled { .. }) => {
                language = ui.voter_language;
                Screen::Cancelled
            }
            (State::PollOpen, Overlay::OpeningReport { session }) => {
                let mut ballots = [0usize; MAX_ELECTIONS];
                for (e, slot) in ballots.iter_mut().enumerate() {
                    *slot = terminal.store().ballots(e);
                }
                Screen::OpeningReport {
                    image: self.fingerprint,
                    session: *session,
                    counters: terminal.counters(),
                    ballots,
                }
            }
            (State::PollOpen, _) => Screen::Waiting {
                counters: terminal.counters(),
            },
            (State::Voting(session), _) => {
                language = session.language();
                match session.step() {
                    Step::Language => Screen::Language,
                    Step::Lists { election, change } => Screen::Lists {
                        election,
                        drafted: match session.draft(election) {
                            Some(crate::terminal::Draft::Marks { list, .. }) => Some(list.get()),
                            _ => None,
                        },
                        back: change || election > 0 || event.languages.len() > 1,
                    },
                    Step::Candidates { election, .. } => Screen::Candidates {
                        election,
                        draft: session.draft(election).unwrap_or_default(),
                    },
                    _ => Screen::Review {
                        choices: session.review().unwrap_or(&[]),
                    },
                }
            }
            (State::Closed, _) => {
                let mut ballots = [0usize; MAX_ELECTIONS];
                for (e, slot) in ballots.iter_mut().enumerate() {
                    *slot = terminal.store().ballots(e);
                }
                Screen::Closed {
                    counters: terminal.counters(),
                    ballots,
                }
            }
        };
        View {
            event,
            screen,
            language,
            large: ui.large,
            page: ui.page,
            focus: ui.keyboard.then_some(ui.focus),
            notice: ui.notice,
        }
    }

    fn key(&self) -> ScreenKey {
        let election = match self.terminal.session().map(|s| s.step()) {
            Some(Step::Lists { election, .. } | Step::Candidates { election, .. }) => {
                Some(election)
            }
            _ => None,
        };
        ScreenKey {
            phase: self.terminal.phase(),
            election,
            overlay: overlay_tag(&self.ui.overlay),
        }
    }
}

/// The text shown for a refused action.
fn notice_for(e: &TerminalError) -> Notice {
    let text = match e {
        TerminalError::WrongPin { locked_for_ms, .. } if *locked_for_ms > 0 => Text::PinLocked,
        TerminalError::WrongPin { .. } => Text::PinWrong,
        TerminalError::PinLocked { .. } => Text::PinLocked,
        TerminalError::NothingMarked { .. } => Text::NothingMarked,
        TerminalError::VoterInBooth { .. } => Text::VoterInBooth,
        TerminalError::CountersMismatch { .. } | TerminalError::StoreMismatch { .. } => {
            Text::CannotClose
        }
        TerminalError::StoreFull { .. } => Text::StoreFull,
        _ => Text::NotPossible,
    };
    Notice {
        code: e.code(),
        text,
    }
}

impl<'a> App<'a> {
    /// Start the firmware: build the terminal for the verified image, draw and flush the
    /// first screen (the image fingerprint, version, mode and station).
    pub fn boot(
        mut info: BootInfo<'a>,
        store: &'a mut BallotStore,
        frame: &'a mut Framebuffer,
        dev: &mut Devices<'_>,
    ) -> Result<App<'a>, AppError> {
        let terminal = Terminal::new(info.event, info.pin_verifier, store);
        info.pin_verifier.zeroize();
        let terminal = terminal.map_err(AppError::Terminal)?;
        let language = info
            .event
            .languages
            .first()
            .copied()
            .unwrap_or(Language::Nl);
        let mut app = App {
            terminal,
            frame,
            renderer: Renderer::new(),
            fingerprint: info.image_fingerprint,
            office_public_key: info.office_public_key,
            station: info.station,
            records: None,
            recorder: None,
            fault: None,
            print_fault: None,
            pin_check: None,
            job: None,
            ui: Ui {
                overlay: Overlay::None,
                large: false,
                page: 0,
                focus: 0,
                keyboard: false,
                notice: None,
                language,
                voter_language: language,
                key: ScreenKey {
                    phase: Phase::PollNotOpened,
                    election: None,
                    overlay: 0,
                },
            },
        };
        app.render(dev)?;
        Ok(app)
    }

    /// Handle one input event, then redraw and flush the changed area.
    pub fn handle(&mut self, input: InputEvent, dev: &mut Devices<'_>) -> Result<(), AppError> {
        if self.job.is_some() {
            // A record is being written: input waits (the screen says so).
            return Ok(());
        }
        let was_halted = self.terminal.phase() == Phase::Halted;
        if let Some(session) = self.terminal.session() {
            self.ui.voter_language = session.language();
        }
        self.ui.notice = None;
        let outcome = match input {
            InputEvent::Tap { x, y } => {
                self.ui.keyboard = false;
                match self.element_at(x, y) {
                    Some(element) => self.activate(element, dev),
                    None => Ok(()),
                }
            }
            InputEvent::Key(key) => {
                let first_key = !self.ui.keyboard;
                self.ui.keyboard = true;
                self.key(key, first_key, dev)
            }
            InputEvent::Operator(key) => self.operator(key, dev),
        };
        self.conclude(was_halted, outcome, dev)
    }

    /// After an action: show a refusal as a notice, halt on a terminal or record fault,
    /// and redraw.
    fn conclude(
        &mut self,
        was_halted: bool,
        outcome: Result<(), TerminalError>,
        dev: &mut Devices<'_>,
    ) -> Result<(), AppError> {
        let halted = match outcome {
            Err(_) if !was_halted && self.fault.is_some() => {
                self.render(dev)?;
                return match self.fault {
                    Some(fault) => Err(AppError::Record(fault)),
                    None => Ok(()),
                };
            }
            Err(e) if !was_halted && self.terminal.phase() == Phase::Halted => Some(e),
            Err(e) => {
                self.ui.notice = Some(notice_for(&e));
                None
            }
            Ok(()) => None,
        };
        self.render(dev)?;
        match halted {
            Some(e) => Err(AppError::Terminal(e)),
            None => Ok(()),
        }
    }

    /// Let time pass: a PIN being checked gets [`PIN_ITERATIONS_PER_STEP`] more PBKDF2
    /// iterations (and the poll opens or closes once the check is done); the "vote
    /// recorded" and "cancelled" screens go away after [`MESSAGE_SCREEN_MS`]. Redraws only
    /// when the screen changes.
    pub fn tick(&mut self, dev: &mut Devices<'_>) -> Result<(), AppError> {
        if let Some(check) = self.pin_check.as_mut() {
            // The last iterations and the opening or closing go in separate ticks.
            if check.is_finished() {
                return self.finish_pin_check(dev);
            }
            check.step(PIN_ITERATIONS_PER_STEP);
            return self.render(dev);
        }
        if self.job.is_some() {
            return self.job_step(dev);
        }
        let now = dev.clock.now_ms();
        if let Overlay::Recorded { until_ms } | Overlay::Cancelled { until_ms } = self.ui.overlay {
            if now >= until_ms {
                self.ui.overlay = Overlay::None;
                return self.render(dev);
            }
        }
        // Idle: prepare the next record's key agreement, so that a cast waits less. A
        // failure here shows at the next write, which prepares it again.
        if let Some(recorder) = self.recorder.as_mut() {
            if !recorder.is_prepared()
                && matches!(
                    self.terminal.phase(),
                    Phase::PollOpen
                        | Phase::Language
                        | Phase::Lists
                        | Phase::Candidates
                        | Phase::Review
                )
            {
                let _ = recorder.prepare(&mut *dev.entropy);
            }
        }
        // Nothing changed: only resend an area a failed flush left dirty.
        self.frame.flush(dev.display).map_err(AppError::Display)
    }

    /// The supply is failing: wipe the store, the session and the PIN pad now, and show
    /// the powered-off screen.
    pub fn power_fail(&mut self, dev: &mut Devices<'_>) {
        self.terminal.power_fail();
        self.wiped(dev);
    }

    /// Power off: wipe the ballot store, session secrets and framebuffer, and show the
    /// powered-off screen. (The operator key asks the terminal first and is refused while
    /// the poll is open; this is the platform's unconditional power-off.)
    pub fn power_off(&mut self, dev: &mut Devices<'_>) {
        if self.terminal.power_off().is_err() {
            self.terminal.power_fail();
        }
        self.wiped(dev);
    }

    /// Stop after a fault found outside the terminal (e.g. the results media failed):
    /// the voter's session is wiped and the error screen shows the reason's stable code
    /// and what the president should do. Only power-off remains possible.
    pub fn halt(&mut self, reason: HaltReason, dev: &mut Devices<'_>) -> Result<(), AppError> {
        self.ui.clear_pin();
        self.pin_check = None;
        self.drop_job();
        self.ui.overlay = Overlay::None;
        self.terminal.halt(reason);
        self.render(dev)
    }

    /// Give the app the buffers it seals records in (about 440 KB: keep them in a
    /// `static` or on a host's heap). Without them the poll does not open (code 812).
    pub fn attach_records(&mut self, scratch: &'a mut RecordScratch) {
        self.records = Some(scratch);
    }

    /// SHA-256 of the poll session's public key, once the poll is open (for the opening
    /// report).
    pub fn session_fingerprint(&self) -> Option<[u8; 32]> {
        self.recorder.as_ref().map(Recorder::fingerprint)
    }

    /// The poll session's Ed25519 public key, once the poll is open (voter tickets name
    /// it; its SHA-256 is [`App::session_fingerprint`]).
    pub fn session_public_key(&self) -> Option<[u8; 32]> {
        self.recorder.as_ref().map(Recorder::public_key)
    }

    /// Why the last printout (report or ticket) failed; `None` after a good one.
    pub fn print_fault(&self) -> Option<PrintError> {
        self.print_fault
    }

    /// The media area of this session and the generation of its last completed record.
    pub fn record_position(&self) -> Option<(u32, Option<u64>)> {
        self.recorder.as_ref().map(|r| (r.area(), r.generation()))
    }

    /// The record failure that halted the terminal, if any.
    pub fn record_fault(&self) -> Option<RecordError> {
        self.fault
    }

    /// Call `visit(element, area)` for every touch target on the current screen, in
    /// keyboard focus order.
    pub fn elements(&self, mut visit: impl FnMut(Element, Area)) {
        self.each_element(|_, e, area| visit(e, area));
    }

    /// The area of the touch target `name` on the current screen (names as in
    /// [`Element`]'s `Display`: `list-3`, `candidate-2`, `blank`, `next`, `pin-7`, ...).
    pub fn element(&self, name: &str) -> Option<Area> {
        let mut found = None;
        self.each_element(|_, e, area| {
            if found.is_none() && e.is_named(name) {
                found = Some(area);
            }
        });
        found
    }

    /// The element with the keyboard focus, if the keyboard is in use.
    pub fn focused(&self) -> Option<Element> {
        if !self.ui.keyboard {
            return None;
        }
        self.nth_element(self.ui.focus)
    }

    /// Write all text visible now, one line per text item.
    pub fn screen_text(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        match self.renderer.write_text(out) {
            Some(result) => result,
            None => screen::write_text(&self.parts().view(), out),
        }
    }

    /// Whether a typed PIN is being checked: the check advances with every
    /// [`App::tick`] ([`PIN_ITERATIONS_PER_STEP`] PBKDF2 iterations each) and then opens or
    /// closes the poll, or brings the PIN pad back after a wrong PIN.
    pub fn pin_checking(&self) -> bool {
        self.pin_check.is_some()
    }

    /// Whether work is spread over the coming ticks: a PIN check, or a record being
    /// written (then a ticket or report printed). Input waits meanwhile (but for the PIN
    /// check's cancel); tick until this is `false`.
    pub fn busy(&self) -> bool {
        self.pin_check.is_some() || self.job.is_some()
    }

    /// Tick until [`App::busy`] is `false`: the pending work (a PIN check, a record
    /// write and its printout) done now, at once. For hosts that need not keep every call
    /// short (tests, tools); a terminal ticks instead, keeping each call within budget.
    pub fn settle(&mut self, dev: &mut Devices<'_>) -> Result<(), AppError> {
        while self.busy() {
            self.tick(dev)?;
        }
        Ok(())
    }

    /// Where the terminal is.
    pub fn phase(&self) -> Phase {
        self.terminal.phase()
    }

    /// The terminal (read-only), e.g. for counters and the review.
    pub fn terminal(&self) -> &Terminal<'a> {
        &self.terminal
    }

    /// Whether large text / high contrast is on.
    pub fn large_text(&self) -> bool {
        self.ui.large
    }

    /// SHA-256 of the boot image this firmware came from.
    pub fn image_fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The office key sealed records are encrypted to.
    pub fn office_public_key(&self) -> &[u8; 32] {
        &self.office_public_key
    }

    /// The framebuffer as last drawn.
    pub fn frame(&self) -> &Framebuffer {
        self.frame
    }

    // -- internals ---------------------------------------------------------------------------

    fn parts(&self) -> Parts<'_, 'a> {
        Parts {
            terminal: &self.terminal,
            ui: &self.ui,
            fingerprint: &self.fingerprint,
            station: self.station,
            fault_code: self.fault.map(|f| f.code()),
            pin_progress: self.pin_check.as_ref().map_or((0, 0), PinCheck::progress),
        }
    }

    fn render(&mut self, dev: &mut Devices<'_>) -> Result<(), AppError> {
        let key = self.parts().key();
        if key != self.ui.key {
            self.ui.key = key;
            self.ui.page = 0;
            self.ui.focus = 0;
        }
        let pages = screen::pages(&self.parts().view());
        self.ui.page = self.ui.page.min(pages.saturating_sub(1));
        // Borrow the parts apart from the framebuffer.
        let parts = Parts {
            terminal: &self.terminal,
            ui: &self.ui,
            fingerprint: &self.fingerprint,
            station: self.station,
            fault_code: self.fault.map(|f| f.code()),
            pin_progress: self.pin_check.as_ref().map_or((0, 0), PinCheck::progress),
        };
        self.renderer.render(&parts.view(), self.frame);
        self.frame.flush(dev.display).map_err(AppError::Display)
    }

    /// Call `visit(index, element, area)` for every touch target on the screen shown, in
    /// focus order: from the renderer's scene, or by laying the screen out again.
    fn each_element(&self, mut visit: impl FnMut(usize, Element, Area)) {
        if !self.renderer.for_each_element(&mut visit) {
            screen::for_each_element(&self.parts().view(), visit);
        }
    }

    fn wiped(&mut self, dev: &mut Devices<'_>) {
        // Dropping the recorder zeroizes the session key seed.
        self.recorder = None;
        if let Some(scratch) = self.records.as_mut() {
            scratch.wipe();
        }
        self.ui.clear_pin();
        self.pin_check = None;
        self.drop_job();
        self.ui.overlay = Overlay::None;
        self.ui.notice = None;
        self.ui.keyboard = false;
        // The scenes may hold the last screen's text (a review): zero them, and draw the
        // powered-off screen whole over every pixel; a failing panel cannot be helped.
        self.renderer.wipe();
        let _ = self.render(dev);
    }

    fn element_count(&self) -> usize {
        let mut count = 0usize;
        self.each_element(|_, _, _| {
            count = count.saturating_add(1);
        });
        count
    }

    fn nth_element(&self, n: usize) -> Option<Element> {
        let mut found = None;
        self.each_element(|i, e, _| {
            if i == n {
                found = Some(e);
            }
        });
        found
    }

    fn element_at(&self, x: u16, y: u16) -> Option<Element> {
        let mut found = None;
        self.each_element(|_, e, area| {
            if found.is_none() && area.contains(x, y) {
                found = Some(e);
            }
        });
        found
    }

    fn key(
        &mut self,
        key: Key,
        first_key: bool,
        dev: &mut Devices<'_>,
    ) -> Result<(), TerminalError> {
        let count = self.element_count().max(1);
        match key {
            // The first key press only shows where the focus is.
            Key::Up | Key::Left | Key::Down | Key::Right if first_key => Ok(()),
            Key::Up | Key::Left => {
                self.ui.focus = self
                    .ui
                    .focus
                    .checked_sub(1)
                    .unwrap_or(count.saturating_sub(1));
                Ok(())
            }
            Key::Down | Key::Right => {
                let next = self.ui.focus.saturating_add(1);
                self.ui.focus = if next >= count { 0 } else { next };
                Ok(())
            }
            Key::Enter => match self.nth_element(self.ui.focus) {
                Some(element) => self.activate(element, dev),
                None => Ok(()),
            },
            Key::Back => {
                if matches!(
                    self.ui.overlay,
                    Overlay::Pin { .. } | Overlay::Checking { .. }
                ) {
                    self.leave_pin();
                    Ok(())
                } else if self.terminal.session().is_some() {
                    self.terminal.back()
                } else {
                    Ok(())
                }
            }
        }
    }

    fn leave_pin(&mut self) {
        self.ui.clear_pin();
        // A check being computed is dropped unfinished: it counts as no attempt.
        self.pin_check = None;
        self.ui.overlay = Overlay::None;
    }

    fn activate(&mut self, element: Element, dev: &mut Devices<'_>) -> Result<(), TerminalError> {
        let t = &mut self.terminal;
        match element {
            Element::Language(l) => t.handle(Action::ChooseLanguage(l)),
            Element::List(i) => t.handle(Action::ChooseList(i)),
            Element::Blank => t.handle(Action::ChooseBlank),
            Element::TopBox => t.handle(Action::ToggleTopBox),
            Element::Candidate(i) => t.handle(Action::ToggleCandidate(i)),
            Element::Next => t.handle(Action::Next),
            Element::Back => t.handle(Action::Back),
            Element::Change(i) => t.handle(Action::ChangeElection(i)),
            Element::Confirm => {
                // The review the terminal is about to cast, for the voter ticket; the
                // ticket is signed and printed only once the record holding the ballot is
                // on the media.
                let mut choices = CastChoices::new();
                for choice in self.terminal.review().unwrap_or(&[]) {
                    let _ = choices.push(*choice);
                }
                if let Err(e) = self.terminal.handle(Action::Confirm) {
                    scrub(&mut choices);
                    return Err(e);
                }
                // The terminal has cast exactly the review into the store. Say so only
                // once the sealed record is on the media (written and flushed, in the
                // ticks that follow, while "recording your vote" shows).
                self.begin_write(PollState::Open, ActionKind::Confirm, After::Cast(choices))
            }
            Element::Continue => {
                if matches!(self.ui.overlay, Overlay::OpeningReport { .. }) {
                    self.ui.overlay = Overlay::None;
                }
                Ok(())
            }
            Element::PrintAgain => {
                // Printed a slice a tick, like the first time; the report stays on screen.
                if let Overlay::OpeningReport { .. } = self.ui.overlay {
                    self.job = Some(Job {
                        action: ActionKind::OpenPoll,
                        step: JobStep::PrintReport(
                            ReportKind::Opening,
                            self.ui.overlay,
                            PrintPosition::START,
                        ),
                    });
                }
                Ok(())
            }
            Element::PagePrev => {
                self.ui.page = self.ui.page.saturating_sub(1);
                Ok(())
            }
            Element::PageNext => {
                self.ui.page = self.ui.page.saturating_add(1);
                Ok(())
            }
            Element::LargeText => {
                self.ui.large = !self.ui.large;
                self.ui.page = 0;
                // Keep the focus on the toggle, wherever the new layout puts it.
                let mut at = 0;
                screen::for_each_element(&self.parts().view(), |i, e, _| {
                    if e == Element::LargeText {
                        at = i;
                    }
                });
                self.ui.focus = at;
                Ok(())
            }
            Element::PinDigit(d) => {
                if let Overlay::Pin { digits, len, .. } = &mut self.ui.overlay {
                    if let Some(slot) = digits.get_mut(*len) {
                        *slot = b'0'.saturating_add(d.min(9));
                        *len = len.saturating_add(1);
                    }
                }
                Ok(())
            }
            Element::PinClear => {
                if let Overlay::Pin { digits, len, .. } = &mut self.ui.overlay {
                    digits.zeroize();
                    *len = 0;
                }
                Ok(())
            }
            Element::PinCancel => {
                self.leave_pin();
                Ok(())
            }
            Element::PinOk => self.submit_pin(dev),
        }
    }

    fn submit_pin(&mut self, dev: &mut Devices<'_>) -> Result<(), TerminalError> {
        let Overlay::Pin {
            purpose,
            digits,
            len,
        } = &mut self.ui.overlay
        else {
            return Ok(());
        };
        let now_ms = dev.clock.now_ms();
        let pin = digits.get(..*len).unwrap_or(&[]);
        let action = match purpose {
            PinPurpose::Open => ActionKind::OpenPoll,
            _ => ActionKind::ClosePoll,
        };
        // Refused now (locked, wrong phase): the pad stays with the notice. Else the check
        // runs in the ticks that follow, and the typed digits are wiped at once.
        let check = self.terminal.start_pin_check(action, pin, now_ms);
        let purpose = *purpose;
        digits.zeroize();
        *len = 0;
        let check = check?;
        self.pin_check = Some(check);
        self.ui.overlay = Overlay::Checking { purpose };
        Ok(())
    }

    /// The stepped PIN check is done: count it as the PIN attempt, and open or close the
    /// poll if it matched (as [`Terminal::open_poll`] with the typed PIN would); after a
    /// wrong PIN the pad comes back with the notice.
    fn finish_pin_check(&mut self, dev: &mut Devices<'_>) -> Result<(), AppError> {
        let was_halted = self.terminal.phase() == Phase::Halted;
        let (Some(check), Overlay::Checking { purpose }) =
            (self.pin_check.as_ref(), self.ui.overlay)
        else {
            self.pin_check = None;
            return self.render(dev);
        };
        self.ui.notice = None;
        let now_ms = dev.clock.now_ms();
        let result = match purpose {
            PinPurpose::Open => self.terminal.open_poll_checked(check, now_ms),
            _ => self.terminal.close_poll_checked(check, now_ms),
        };
        // Dropped (its PBKDF2 blocks zeroized) where it lies.
        self.pin_check = None;
        let outcome = match result {
            Ok(()) => {
                self.ui.overlay = Overlay::None;
                match purpose {
                    PinPurpose::Open => self.start_recording(dev),
                    _ => self.close_recording(dev),
                }
            }
            Err(e) => {
                self.ui.overlay = Overlay::Pin {
                    purpose,
                    digits: [0; MAX_PIN_DIGITS],
                    len: 0,
                };
                Err(e)
            }
        };
        self.conclude(was_halted, outcome, dev)
    }

    /// At poll opening: mount the media, take a new area, draw the session key and write
    /// generation 1 (zero counts). On failure the terminal halts with the error's code.
    fn start_recording(&mut self, dev: &mut Devices<'_>) -> Result<(), TerminalError> {
        let setup = RecorderSetup {
            event: self.terminal.event(),
            station: self.station,
            image_digest: self.fingerprint,
            office_public: self.office_public_key,
        };
        let opened = if self.records.is_none() {
            Err(RecordError::NoBuffers)
        } else {
            Recorder::open(
                &setup,
                self.terminal.store(),
                &mut *dev.media,
                &mut *dev.entropy,
            )
        };
        match opened {
            Ok(recorder) => {
                let session = recorder.fingerprint();
                self.recorder = Some(recorder);
                // Generation 1 is written in the ticks that follow; once it is on the
                // media the opening report is printed and shown.
                self.begin_write(
                    PollState::Open,
                    ActionKind::OpenPoll,
                    After::Opened { session },
                )
            }
            Err(e) => Err(self.record_failed(e, ActionKind::OpenPoll)),
        }
    }

    /// At close: write the closing record (in the ticks that follow), then print the
    /// closing report.
    fn close_recording(&mut self, _dev: &mut Devices<'_>) -> Result<(), TerminalError> {
        self.begin_write(PollState::Closed, ActionKind::ClosePoll, After::Closed)
    }

    /// Print the next slice (from `at`) of the opening or closing report in the event's
    /// first language; where to go on from, until it is done or failed.
    fn print_report(
        &mut self,
        kind: ReportKind,
        at: PrintPosition,
        dev: &mut Devices<'_>,
    ) -> Option<PrintPosition> {
        let event = self.terminal.event();
        let result = match &self.recorder {
            Some(recorder) => Report {
                kind,
                event,
                language: event.languages.first().copied().unwrap_or(Language::Nl),
                station: self.station,
                version: env!("CARGO_PKG_VERSION"),
                image_fingerprint: &self.fingerprint,
                session_fingerprint: &recorder.fingerprint(),
                counters: self.terminal.counters(),
                store: self.terminal.store(),
                generation: recorder.generation(),
            }
            .print_slice(&mut *dev.printer, at, PRINT_ROWS_PER_STEP),
            None => Err(PrintError::NoSession),
        };
        self.printed(result, Text::ReportNotPrinted)
    }

    /// Print the next slice (from `at`) of a cast ballot's ticket in the voter's language;
    /// where to go on from, until it is done or failed. Called only after the record
    /// holding the ballot is on the media; a failure leaves the ballot recorded, and the
    /// ticket is not printed again.
    fn print_ticket(
        &mut self,
        ticket: &Result<Ticket, PrintError>,
        at: PrintPosition,
        dev: &mut Devices<'_>,
    ) -> Option<PrintPosition> {
        let language = self.ui.voter_language;
        let event = self.terminal.event();
        let result = match ticket {
            Ok(t) => t.print_slice(event, language, &mut *dev.printer, at, PRINT_ROWS_PER_STEP),
            Err(e) => Err(*e),
        };
        self.printed(result, Text::TicketNotPrinted)
    }

    /// Keep a printout's outcome: where to go on from while it is not done; a failure
    /// shows `E<code>` and `text` over the title (and ends the printout).
    fn printed(
        &mut self,
        result: Result<Printed, PrintError>,
        text: Text,
    ) -> Option<PrintPosition> {
        match result {
            Ok(Printed { next, done: false }) => Some(next),
            Ok(_) => {
                self.print_fault = None;
                None
            }
            Err(e) => {
                self.ui.notice = Some(Notice {
                    code: e.code(),
                    text,
                });
                self.print_fault = Some(e);
                None
            }
        }
    }

    /// Start writing the current record (sealed, then on the media) in steps, one per tick,
    /// while a "recording" screen shows and input waits; `after` says what follows once it
    /// is on the media. On failure halt (no more votes) and show the code.
    fn begin_write(
        &mut self,
        state: PollState,
        action: ActionKind,
        after: After,
    ) -> Result<(), TerminalError> {
        let write = match (self.recorder.as_mut(), self.records.is_some()) {
            (Some(recorder), true) => recorder.begin(state),
            _ => Err(RecordError::NoBuffers),
        };
        match write {
            Ok(write) => {
                let vote = matches!(after, After::Cast(_));
                self.job = Some(Job {
                    action,
                    step: JobStep::Write(write, after),
                });
                self.ui.overlay = Overlay::Busy { vote };
                Ok(())
            }
            Err(e) => {
                if let After::Cast(mut choices) = after {
                    scrub(&mut choices);
                }
                Err(self.record_failed(e, action))
            }
        }
    }

    /// One step of the job in progress (a tick's work): a step of the record write, then
    /// the ticket's signature, then the printout; then the screen that follows.
    fn job_step(&mut self, dev: &mut Devices<'_>) -> Result<(), AppError> {
        let was_halted = self.terminal.phase() == Phase::Halted;
        let Some(Job { action, step }) = self.job.take() else {
            return Ok(());
        };
        match step {
            JobStep::Write(mut write, after) => {
                let content = RecordContent {
                    state: PollState::Open,
                    counters: self.terminal.counters(),
                    store: self.terminal.store(),
                    event: self.terminal.event(),
                };
                let result = match (self.recorder.as_mut(), self.records.as_deref_mut()) {
                    (Some(recorder), Some(scratch)) => recorder.step(
                        &mut write,
                        &content,
                        scratch,
                        &mut *dev.media,
                        &mut *dev.entropy,
                    ),
                    _ => Err(RecordError::NoBuffers),
                };
                match result {
                    Ok(false) => {
                        self.job = Some(Job {
                            action,
                            step: JobStep::Write(write, after),
                        });
                        // The screen is unchanged: only resend an area a failed flush left.
                        return self.frame.flush(dev.display).map_err(AppError::Display);
                    }
                    Ok(true) => self.written(action, after, dev),
                    Err(e) => {
                        if let After::Cast(mut choices) = after {
                            scrub(&mut choices);
                        }
                        let e = self.record_failed(e, action);
                        return self.conclude(was_halted, Err(e), dev);
                    }
                }
            }
            JobStep::SignTicket(mut choices) => {
                let ticket = self.cast_ticket(&choices);
                scrub(&mut choices);
                self.job = Some(Job {
                    action,
                    step: JobStep::PrintTicket(ticket, PrintPosition::START),
                });
                return self.frame.flush(dev.display).map_err(AppError::Display);
            }
            JobStep::PrintTicket(ticket, at) => {
                if at == PrintPosition::START {
                    self.ui.notice = None;
                }
                if let Some(next) = self.print_ticket(&ticket, at, dev) {
                    self.job = Some(Job {
                        action,
                        step: JobStep::PrintTicket(ticket, next),
                    });
                    return self.frame.flush(dev.display).map_err(AppError::Display);
                }
                self.job = Some(Job {
                    action,
                    step: JobStep::Show(Overlay::Recorded {
                        until_ms: dev.clock.now_ms().saturating_add(MESSAGE_SCREEN_MS),
                    }),
                });
                return self.frame.flush(dev.display).map_err(AppError::Display);
            }
            JobStep::PrintReport(kind, overlay, at) => {
                if at == PrintPosition::START {
                    self.ui.notice = None;
                }
                if let Some(next) = self.print_report(kind, at, dev) {
                    self.job = Some(Job {
                        action,
                        step: JobStep::PrintReport(kind, overlay, next),
                    });
                    return self.frame.flush(dev.display).map_err(AppError::Display);
                }
                self.job = Some(Job {
                    action,
                    step: JobStep::Show(overlay),
                });
                return self.frame.flush(dev.display).map_err(AppError::Display);
            }
            JobStep::Show(overlay) => self.ui.overlay = overlay,
        }
        self.conclude(was_halted, Ok(()), dev)
    }

    /// The record is on the media: what follows it.
    fn written(&mut self, action: ActionKind, after: After, dev: &mut Devices<'_>) {
        let step = match after {
            // Generation 1 is on the media: print the opening report, then show it.
            After::Opened { session } => JobStep::PrintReport(
                ReportKind::Opening,
                Overlay::OpeningReport { session },
                PrintPosition::START,
            ),
            After::Cast(choices) => JobStep::SignTicket(choices),
            After::Cancelled => {
                self.ui.overlay = Overlay::Cancelled {
                    until_ms: dev.clock.now_ms().saturating_add(MESSAGE_SCREEN_MS),
                };
                return;
            }
            After::Closed => {
                JobStep::PrintReport(ReportKind::Closing, Overlay::None, PrintPosition::START)
            }
        };
        self.job = Some(Job { action, step });
    }

    /// The voter ticket of a cast ballot, signed by the session key.
    fn cast_ticket(&self, choices: &[Choice]) -> Result<Ticket, PrintError> {
        match &self.recorder {
            Some(recorder) => Ticket::assemble(
                self.terminal.event(),
                choices,
                &recorder.public_key(),
                |unsigned| {
                    recorder
                        .sign_ticket(unsigned)
                        .map_err(|e| TicketError::Signing { code: e.code() })
                },
            )
            .map_err(PrintError::Ticket),
            None => Err(PrintError::NoSession),
        }
    }

    /// Abandon the job in progress (a write not finished leaves the previous record on
    /// the media); a kept ballot for a ticket is overwritten.
    fn drop_job(&mut self) {
        if let Some(job) = self.job.take() {
            if let JobStep::Write(_, After::Cast(mut choices)) | JobStep::SignTicket(mut choices) =
                job.step
            {
                scrub(&mut choices);
            }
        }
    }

    fn record_failed(&mut self, error: RecordError, action: ActionKind) -> TerminalError {
        self.fault = Some(error);
        self.ui.clear_pin();
        self.ui.overlay = Overlay::None;
        self.terminal.halt(HaltReason::MediaFailure);
        TerminalError::Halted {
            action,
            reason: HaltReason::MediaFailure,
        }
    }

    fn refusal(&self, action: ActionKind) -> TerminalError {
        match self.terminal.state() {
            State::Halted(reason) => TerminalError::Halted {
                action,
                reason: *reason,
            },
            State::PoweredOff => TerminalError::PoweredOff { action },
            State::Voting(_) => TerminalError::VoterInBooth { action },
            state => TerminalError::NotAllowed {
                action,
                phase: state.phase(),
            },
        }
    }

    fn operator(&mut self, key: OperatorKey, dev: &mut Devices<'_>) -> Result<(), TerminalError> {
        // An operator key ends a message screen and any PIN being typed.
        self.leave_pin();
        match key {
            OperatorKey::ActivateVoter => {
                if let Some(recorder) = &self.recorder {
                    let limit = recorder.voter_limit();
                    let cast = usize::try_from(self.terminal.counters().cast).unwrap_or(limit);
                    if self.terminal.phase() == Phase::PollOpen && cast >= limit {
                        return Err(TerminalError::StoreFull { capacity: limit });
                    }
                }
                self.terminal.activate_voter()?;
                self.ui.overlay = Overlay::None;
                // Each voter starts with the standard display and no keyboard focus.
                self.ui.large = false;
                self.ui.keyboard = false;
                Ok(())
            }
            OperatorKey::CancelSession => {
                self.terminal.cancel_session()?;
                // The cancelled counter is part of the record: keep the media current
                // (in the ticks that follow; then the "cancelled" message shows).
                self.begin_write(PollState::Open, ActionKind::CancelSession, After::Cancelled)
            }
            OperatorKey::OpenPoll | OperatorKey::ClosePoll => {
                let (purpose, phase, action) = if key == OperatorKey::OpenPoll {
                    (PinPurpose::Open, Phase::PollNotOpened, ActionKind::OpenPoll)
                } else {
                    (PinPurpose::Close, Phase::PollOpen, ActionKind::ClosePoll)
                };
                if self.terminal.phase() != phase {
                    return Err(self.refusal(action));
                }
                self.ui.overlay = Overlay::Pin {
                    purpose,
                    digits: [0; MAX_PIN_DIGITS],
                    len: 0,
                };
                Ok(())
            }
            OperatorKey::PowerOff => {
                self.terminal.power_off()?;
                // The president's power-off leaves nothing either: session key, record
                // buffers and PIN pad go with the store.
                self.wiped(dev);
                Ok(())
            }
        }
    }
}
