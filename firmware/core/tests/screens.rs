//! Screens rendered headless from the real app: golden PNGs of every screen in every
//! language, in large-text / high-contrast mode and from an official image (no training
//! watermark); touch targets on every screen; the large-text toggle; a keyboard-only vote;
//! refusals and operator actions.
//!
//! Goldens are named `<screen>_<lang>[_large][_official].png` in `tests/goldens/` and come
//! from one table ([`CASES`]): each case drives a freshly booted terminal to its screen,
//! and is run for every language (the terminal's own language first in the image), with
//! and without large text, and from an official image where the table says so.
//!
//! `UPDATE_GOLDENS=1 cargo test -p firmware --test screens` rewrites the goldens. A mismatch
//! writes `<name>.diff.png` next to the golden (differing pixels red, the rest dimmed) and
//! fails, listing every screen that differs.

mod fixtures;

use firmware::app::{App, HALT_DEVICE_CODE, HALT_MEMORY_CODE};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{Language, Mode};
use firmware::hal::{Area, InputEvent, Key, OperatorKey};
use firmware::i18n::Text;
use firmware::screen::{Element, MIN_TARGET_PX};
use firmware::terminal::{HaltReason, Phase};
use fixtures::*;
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// The tour: every screen, every language, every variant

/// How the results media and the platform are prepared before the terminal boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// Blank media (initialised at poll opening) and record buffers.
    Fresh,
    /// No media inserted.
    MediaMissing,
    /// Media whose every area was taken by earlier sessions.
    MediaFull,
    /// Media initialised by another polling station.
    MediaForeign,
    /// The platform gave no record buffers (a firmware integration fault).
    NoRecordBuffers,
}

/// One golden's variant.
#[derive(Debug, Clone, Copy)]
struct Variant {
    language: Language,
    large: bool,
    official: bool,
}

impl Variant {
    /// `<screen>_<lang>[_large][_official]`.
    fn name(&self, screen: &str) -> String {
        let mut name = format!("{screen}_{}", self.language.code());
        if self.large {
            name.push_str("_large");
        }
        if self.official {
            name.push_str("_official");
        }
        name
    }
}

/// One screen of the tour.
struct Case {
    /// The first part of the golden's name.
    screen: &'static str,
    /// How the terminal starts.
    setup: Setup,
    /// The screen has the large-text toggle: goldens in both modes.
    large: bool,
    /// Also a golden from an official image.
    official: bool,
    /// Drive a freshly booted terminal to the screen.
    drive: fn(&mut Tour),
}

/// A terminal on its way to one screen of one variant.
struct Tour {
    terminal: Terminal,
    variant: Variant,
}

impl Deref for Tour {
    type Target = Terminal;
    fn deref(&self) -> &Terminal {
        &self.terminal
    }
}

impl DerefMut for Tour {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.terminal
    }
}

impl Tour {
    /// Switch large text on here if the variant wants it (the voter's or president's tap).
    fn large_here(&mut self) {
        if self.variant.large && !self.app.large_text() {
            self.tap("large-text");
        }
    }

    /// The voter's language button.
    fn choose_language(&mut self) {
        let name = format!("lang-{}", self.variant.language.code());
        self.tap(&name);
    }

    /// Activate a voter and choose the variant's language.
    fn voter(&mut self) {
        self.open_poll_and_wait();
        self.op(OperatorKey::ActivateVoter);
        self.choose_language();
    }

    /// Tap the `n`-th (0-based) element whose name starts with `prefix`.
    fn tap_nth(&mut self, prefix: &str, n: usize) {
        let mut names = Vec::new();
        self.app.elements(|e, _| {
            let name = e.to_string();
            if name.starts_with(prefix) {
                names.push(name);
            }
        });
        let name = names
            .get(n)
            .unwrap_or_else(|| panic!("no {prefix} number {n} on screen:\n{}", self.text()))
            .clone();
        self.tap(&name);
    }

    /// Preferences in the Chamber, a list vote in the regional parliament, blank in the
    /// European Parliament: the review screen.
    fn vote_to_review(&mut self) {
        self.voter();
        self.tap("list-1");
        self.tap("candidate-2");
        self.tap("candidate-5");
        self.tap("next");
        self.tap("list-2");
        self.tap("top-box");
        self.tap("next");
        self.tap("blank");
        assert_eq!(self.app.phase(), Phase::Review, "{}", self.text());
    }

    /// The last PIN key or tap of a failing action: the terminal must halt with `code`.
    fn expect_halt(&mut self, input: InputEvent, code: u16) {
        let err = self
            .try_input(input)
            .expect_err("the terminal should have stopped");
        assert_eq!(err.code(), code, "{err}");
        self.expect_error_screen(code);
    }

    /// The error screen shows `code`, why the terminal stopped and what the president does
    /// (for the kind of fault the code belongs to), and asks whoever stands there to call
    /// the president.
    fn expect_error_screen(&self, code: u16) {
        assert_eq!(self.app.phase(), Phase::Halted, "{}", self.text());
        let (why, action) = match code {
            601 => (Text::HaltMediaMissing, Text::ActionInsertMedia),
            607 => (Text::HaltMediaForeign, Text::ActionOwnMedia),
            610 => (Text::HaltMediaFull, Text::ActionNewMedia),
            618 => (Text::HaltMedia, Text::ActionKeepMedia),
            812 => (Text::HaltFirmware, Text::HaltAction),
            HALT_MEMORY_CODE => (Text::HaltMemory, Text::ActionMemory),
            HALT_DEVICE_CODE => (Text::HaltDevice, Text::HaltAction),
            other => panic!("no error screen expectation for {other}"),
        };
        // Paragraphs wrap at spaces: read the lines as one text.
        let t = self.text().replace('\n', " ");
        let language = self.variant.language;
        assert!(t.contains(&format!("E{code}")), "{t}");
        for key in [why, action, Text::HaltCallPresident] {
            let s = firmware::i18n::text(language, key);
            assert!(t.contains(s), "{key:?} {s:?} is not on the screen: {t}");
        }
    }

    /// Open the poll; the PIN's OK must halt with `code`.
    fn open_expecting_halt(&mut self, code: u16) {
        self.large_here();
        self.op(OperatorKey::OpenPoll);
        for d in PIN.chars() {
            self.tap(&format!("pin-{d}"));
        }
        let ok = self.tap_event("pin-ok");
        self.expect_halt(ok, code);
    }

    /// Stop with `reason` as the platform does (RAM check, device fault).
    fn halt(&mut self, reason: HaltReason) {
        let Terminal { app, rig } = &mut self.terminal;
        app.halt(reason, &mut rig.devices()).unwrap();
    }
}

fn boot(t: &mut Tour) {
    t.large_here();
}

fn pin_open(t: &mut Tour) {
    t.large_here();
    t.op(OperatorKey::OpenPoll);
    t.tap("pin-4");
    t.tap("pin-7");
}

fn pin_wrong(t: &mut Tour) {
    t.large_here();
    t.op(OperatorKey::OpenPoll);
    t.pin("1234");
    assert!(t.text().contains("E200"), "{}", t.text());
}

/// Input that starts work the app finishes in ticks (a PIN check, a record write): handled
/// without running the ticks, so the screen shown meanwhile can be checked.
fn start_only(t: &mut Tour, input: InputEvent) {
    let Terminal { app, rig } = &mut t.terminal;
    app.handle(input, &mut rig.devices()).unwrap();
    assert!(app.busy(), "{input:?} started no work");
}

/// The PIN being checked, part way: the progress bar and the cancel button.
fn pin_checking(t: &mut Tour) {
    t.large_here();
    t.op(OperatorKey::OpenPoll);
    for d in PIN.chars() {
        t.tap(&format!("pin-{d}"));
    }
    let ok = t.tap_event("pin-ok");
    start_only(t, ok);
    let Terminal { app, rig } = &mut t.terminal;
    for _ in 0..3 {
        rig.clock.advance_ms(100);
        app.tick(&mut rig.devices()).unwrap();
    }
    assert!(app.pin_checking(), "the check takes more than three ticks");
}

/// The confirmed ballot being sealed and written, before "vote recorded".
fn recording(t: &mut Tour) {
    t.vote_to_review();
    t.large_here();
    let confirm = t.tap_event("confirm");
    start_only(t, confirm);
}

fn opening_report(t: &mut Tour) {
    t.large_here();
    t.open_poll();
    assert!(
        t.app.element(REPORT_CONTINUE).is_some(),
        "the opening report shows after the PIN:\n{}",
        t.text()
    );
}

fn waiting(t: &mut Tour) {
    t.open_poll_and_wait();
    t.large_here();
}

fn pin_close(t: &mut Tour) {
    t.open_poll_and_wait();
    t.large_here();
    t.op(OperatorKey::ClosePoll);
    t.tap("pin-1");
    t.tap("pin-2");
}

fn language(t: &mut Tour) {
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    assert_eq!(t.app.phase(), Phase::Language);
    t.large_here();
}

fn lists(t: &mut Tour) {
    t.voter();
    t.large_here();
}

fn lists_page2(t: &mut Tour) {
    t.voter();
    t.large_here();
    t.tap("page-next");
}

fn candidates(t: &mut Tour) {
    t.voter();
    t.tap("list-1");
    t.large_here();
    t.tap("candidate-2");
    t.tap("candidate-5");
}

fn candidates_page2(t: &mut Tour) {
    t.voter();
    t.tap("list-1");
    t.large_here();
    t.tap("candidate-2");
    t.tap("page-next");
    // The second candidate of page 2: a successor in standard mode.
    t.tap_nth("candidate-", 1);
}

fn candidates_notice(t: &mut Tour) {
    t.voter();
    t.tap("list-2");
    t.large_here();
    t.tap("next");
    assert!(t.text().contains("E304"), "{}", t.text());
}

fn review(t: &mut Tour) {
    t.vote_to_review();
    t.large_here();
}

/// Every candidate of the Chamber's first list marked: the review wraps 20 names (or, in
/// large text, where they would not fit on a page, gives their numbers).
fn review_long(t: &mut Tour) {
    t.voter();
    t.tap("list-1");
    t.large_here();
    loop {
        let mut names = Vec::new();
        t.app.elements(|e, _| {
            let name = e.to_string();
            if name.starts_with("candidate-") {
                names.push(name);
            }
        });
        for name in names {
            t.tap(&name);
        }
        if t.app.element("page-next").is_none() {
            break;
        }
        t.tap("page-next");
    }
    assert!(t.text().contains("20 "), "{}", t.text());
    t.tap("next");
    t.tap("blank");
    t.tap("blank");
    assert_eq!(t.app.phase(), Phase::Review, "{}", t.text());
}

fn change(t: &mut Tour) {
    t.vote_to_review();
    t.tap("change-2");
    assert_eq!(t.app.phase(), Phase::Lists);
    t.large_here();
}

fn recorded(t: &mut Tour) {
    t.vote_to_review();
    t.tap("confirm");
    assert_eq!(t.app.terminal().counters().cast, 1);
    t.large_here();
}

fn cancelled(t: &mut Tour) {
    t.voter();
    t.tap("list-1");
    t.op(OperatorKey::CancelSession);
    t.large_here();
}

fn closed(t: &mut Tour) {
    t.vote_to_review();
    t.tap("confirm");
    t.wait(firmware::app::MESSAGE_SCREEN_MS);
    t.op(OperatorKey::ActivateVoter);
    t.op(OperatorKey::CancelSession);
    t.wait(firmware::app::MESSAGE_SCREEN_MS);
    t.op(OperatorKey::ClosePoll);
    t.pin(PIN);
    assert_eq!(t.app.phase(), Phase::Closed, "{}", t.text());
    t.large_here();
}

fn powered_off(t: &mut Tour) {
    t.open_poll_and_wait();
    t.op(OperatorKey::ClosePoll);
    t.pin(PIN);
    t.op(OperatorKey::PowerOff);
    assert_eq!(t.app.phase(), Phase::PoweredOff);
}

fn error_media_missing(t: &mut Tour) {
    t.open_expecting_halt(601);
}

fn error_media_full(t: &mut Tour) {
    t.open_expecting_halt(610);
}

fn error_media_foreign(t: &mut Tour) {
    t.open_expecting_halt(607);
}

fn error_media_write(t: &mut Tour) {
    t.vote_to_review();
    t.large_here();
    t.rig.media.fail_nth_write(1);
    let confirm = t.tap_event("confirm");
    t.expect_halt(confirm, 618);
}

fn error_memory(t: &mut Tour) {
    t.voter();
    t.large_here();
    t.halt(HaltReason::MemoryIntegrity);
    t.expect_error_screen(HALT_MEMORY_CODE);
}

fn error_firmware(t: &mut Tour) {
    t.open_expecting_halt(812);
}

fn error_device(t: &mut Tour) {
    t.open_poll_and_wait();
    t.large_here();
    t.halt(HaltReason::DeviceFailure);
    t.expect_error_screen(HALT_DEVICE_CODE);
}

const fn case(screen: &'static str, drive: fn(&mut Tour)) -> Case {
    Case {
        screen,
        setup: Setup::Fresh,
        large: true,
        official: false,
        drive,
    }
}

const fn official(c: Case) -> Case {
    Case {
        official: true,
        ..c
    }
}

const fn on(setup: Setup, c: Case) -> Case {
    Case { setup, ..c }
}

/// Every screen, in the order the president and the voter meet them.
const CASES: &[Case] = &[
    official(case("boot", boot)),
    case("pin_open", pin_open),
    case("pin_wrong", pin_wrong),
    case("pin_checking", pin_checking),
    official(case("opening_report", opening_report)),
    official(case("waiting", waiting)),
    case("language", language),
    official(case("lists", lists)),
    case("lists_page2", lists_page2),
    case("candidates", candidates),
    case("candidates_page2", candidates_page2),
    case("candidates_notice", candidates_notice),
    official(case("review", review)),
    case("review_long", review_long),
    case("change", change),
    // A screen of a few hundred milliseconds, without the toggle (the voter's mode stays).
    Case {
        large: false,
        ..case("recording", recording)
    },
    official(case("recorded", recorded)),
    case("cancelled", cancelled),
    case("pin_close", pin_close),
    case("closed", closed),
    Case {
        large: false,
        ..case("powered_off", powered_off)
    },
    on(
        Setup::MediaMissing,
        case("error_media_missing", error_media_missing),
    ),
    on(Setup::MediaFull, case("error_media_full", error_media_full)),
    on(
        Setup::MediaForeign,
        case("error_media_foreign", error_media_foreign),
    ),
    case("error_media_write", error_media_write),
    case("error_memory", error_memory),
    on(
        Setup::NoRecordBuffers,
        case("error_firmware", error_firmware),
    ),
    case("error_device", error_device),
];

/// Media on which every area is taken: sessions are opened on it until it is full.
fn full_media(event: &'static firmware::election::Event<'static>) -> &'static mut [u8] {
    let mut data = blank_media().to_vec();
    for _ in 0..64 {
        let mut t = Terminal::on(event, data.leak(), STATION, true);
        t.op(OperatorKey::OpenPoll);
        for d in PIN.chars() {
            t.tap(&format!("pin-{d}"));
        }
        let ok = t.tap_event("pin-ok");
        let result = t.try_input(ok);
        data = t.rig.media.data().to_vec();
        match result {
            Ok(()) => {}
            Err(e) if e.code() == 610 => return data.leak(),
            Err(e) => panic!("preparing full media: {e}"),
        }
    }
    panic!("the media never filled up");
}

/// Media initialised by another polling station of the same event.
fn foreign_media(event: &'static firmware::election::Event<'static>) -> &'static mut [u8] {
    let mut t = Terminal::on(event, blank_media(), "ANT-0007", true);
    t.open_poll();
    t.rig.media.data().to_vec().leak()
}

fn start(setup: Setup, event: &'static firmware::election::Event<'static>) -> Terminal {
    match setup {
        Setup::Fresh => Terminal::new(event),
        Setup::MediaMissing => {
            let mut t = Terminal::new(event);
            t.rig.media.remove();
            t
        }
        Setup::MediaFull => Terminal::on(event, full_media(event), STATION, true),
        Setup::MediaForeign => Terminal::on(event, foreign_media(event), STATION, true),
        Setup::NoRecordBuffers => Terminal::on(event, blank_media(), STATION, false),
    }
}

fn variants(case: &Case) -> Vec<Variant> {
    let mut out = Vec::new();
    for language in ALL {
        for large in [false, true] {
            if large && !case.large {
                continue;
            }
            out.push(Variant {
                language,
                large,
                official: false,
            });
        }
        if case.official {
            out.push(Variant {
                language,
                large: false,
                official: true,
            });
        }
    }
    out
}

/// Run one case in every variant: golden, touch targets, the large-text toggle.
fn run_case(case: &Case, seen: &mut BTreeSet<String>) -> Vec<String> {
    let mut failures = Vec::new();
    for variant in variants(case) {
        let mode = if variant.official {
            Mode::Official
        } else {
            Mode::Training
        };
        let event = event(&languages_from(variant.language), mode);
        let mut tour = Tour {
            terminal: start(case.setup, event),
            variant,
        };
        (case.drive)(&mut tour);
        let name = variant.name(case.screen);
        let app = &tour.app;
        if case.large {
            assert!(
                app.element("large-text").is_some(),
                "{name}: no large-text toggle"
            );
            assert_eq!(app.large_text(), variant.large, "{name}: large text");
        }
        let watermark = firmware::i18n::text(Language::Nl, Text::Training);
        assert_eq!(
            tour.text().contains(watermark),
            !variant.official,
            "{name}: the training watermark is shown exactly on training images"
        );
        assert_eq!(app.print_fault(), None, "{name}: printing failed");
        check_targets(app, seen);
        if let Err(e) = golden(&name, app.frame()) {
            failures.push(e);
        }
    }
    failures
}

#[test]
fn every_screen_in_every_language_matches_its_golden() {
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    let mut count = 0usize;
    for case in CASES {
        count += variants(case).len();
        failures.extend(run_case(case, &mut seen));
    }
    // Every kind of touch target was met (and checked) on the way.
    for kind in [
        "lang",
        "list",
        "blank",
        "top",
        "candidate",
        "next",
        "back",
        "confirm",
        "change",
        "page",
        "large",
        "pin",
    ] {
        assert!(
            seen.contains(kind),
            "no {kind} element was checked: {seen:?}"
        );
    }
    let total_bytes: u64 = std::fs::read_dir(goldens_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".png") && !name.starts_with("print_") && !name.contains(".diff.")
        })
        .map(|e| e.metadata().unwrap().len())
        .sum();
    eprintln!(
        "{count} screen goldens, {total_bytes} bytes of PNG in tests/goldens (without print_*)"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_names_are_unique_and_systematic() {
    let mut names = BTreeSet::new();
    for case in CASES {
        assert!(
            case.screen
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            case.screen
        );
        for v in variants(case) {
            assert!(
                names.insert(v.name(case.screen)),
                "{} twice",
                v.name(case.screen)
            );
        }
    }
    assert!(names.contains("boot_fr_official"));
    assert!(names.contains("candidates_page2_de_large"));
    assert!(!names.contains("powered_off_nl_large"));
}

// ---------------------------------------------------------------------------------------------
// Touch targets

fn check_targets(app: &App<'_>, seen: &mut BTreeSet<String>) {
    let mut areas: Vec<(Element, Area)> = Vec::new();
    app.elements(|e, a| areas.push((e, a)));
    for (i, (e, a)) in areas.iter().enumerate() {
        assert!(
            u32::from(a.width()) >= MIN_TARGET_PX && u32::from(a.height()) >= MIN_TARGET_PX,
            "{e} is {}x{} px in phase {:?}",
            a.width(),
            a.height(),
            app.phase()
        );
        for (f, b) in areas.iter().skip(i + 1) {
            let overlap = a.columns().start < b.columns().end
                && b.columns().start < a.columns().end
                && a.rows().start < b.rows().end
                && b.rows().start < a.rows().end;
            assert!(!overlap, "{e} overlaps {f} in phase {:?}", app.phase());
        }
        let name = e.to_string();
        assert_eq!(app.element(&name), Some(*a), "{name} is not found by name");
        seen.insert(name.split('-').next().unwrap_or("").to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Large text

/// Move the focus with the arrow keys to `name`, then press Enter.
fn key_to(t: &mut Terminal, name: &str) {
    for _ in 0..80 {
        if t.app.focused().is_some_and(|e| e.is_named(name)) {
            t.input(InputEvent::Key(Key::Enter));
            return;
        }
        t.input(InputEvent::Key(Key::Down));
    }
    panic!("focus never reached {name:?} on screen:\n{}", t.text());
}

/// A voter screen: its name, how to get there, its phase.
type VoterScreen = (&'static str, fn(&mut Tour), Phase);

#[test]
fn large_text_switches_on_and_off_from_every_voter_screen_by_touch_and_by_keys() {
    // (drive to the voter screen, its phase)
    let screens: [VoterScreen; 6] = [
        ("language", language, Phase::Language),
        ("lists", lists, Phase::Lists),
        ("candidates", candidates, Phase::Candidates),
        ("review", review, Phase::Review),
        ("change", change, Phase::Lists),
        ("recorded", recorded, Phase::PollOpen),
    ];
    for (screen, drive, phase) in screens {
        for by_keys in [false, true] {
            let mut tour = Tour {
                terminal: Terminal::new(event(&ALL, Mode::Training)),
                variant: Variant {
                    language: Language::Fr,
                    large: false,
                    official: false,
                },
            };
            drive(&mut tour);
            let before = tour.text();
            for on in [true, false] {
                if by_keys {
                    key_to(&mut tour, "large-text");
                } else {
                    tour.tap("large-text");
                }
                assert_eq!(tour.app.large_text(), on, "{screen} (keys: {by_keys})");
                assert_eq!(tour.app.phase(), phase, "{screen}: same screen");
            }
            // Nothing but the display mode changed: same text (the selections included).
            assert_eq!(tour.text(), before, "{screen}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keyboard

#[test]
fn a_full_vote_with_the_keyboard_only() {
    let event = event(&ALL, Mode::Training);
    let mut t = Terminal::new(event);
    t.op(OperatorKey::OpenPoll);
    for d in PIN.chars() {
        key_to(&mut t, &format!("pin-{d}"));
    }
    key_to(&mut t, "pin-ok");
    assert_eq!(t.app.phase(), Phase::PollOpen, "{}", t.text());
    if t.app.element(REPORT_CONTINUE).is_some() {
        key_to(&mut t, REPORT_CONTINUE);
    }
    t.op(OperatorKey::ActivateVoter);

    // The focus is visible: the frame changes pixels when it moves.
    t.input(InputEvent::Key(Key::Down));
    let before = t.app.frame().pixels().to_vec();
    t.input(InputEvent::Key(Key::Down));
    assert_ne!(
        before,
        t.app.frame().pixels().to_vec(),
        "focus is not drawn"
    );

    key_to(&mut t, "lang-fr");
    key_to(&mut t, "list-3");
    key_to(&mut t, "candidate-1");
    key_to(&mut t, "candidate-3");
    // Back to the lists and forward again keeps the marks of the same list.
    t.input(InputEvent::Key(Key::Back));
    assert_eq!(t.app.phase(), Phase::Lists);
    key_to(&mut t, "list-3");
    assert!(t.text().contains("2 sélectionné(s)"), "{}", t.text());
    key_to(&mut t, "next");
    key_to(&mut t, "list-2");
    key_to(&mut t, "top-box");
    key_to(&mut t, "next");
    key_to(&mut t, "list-1");
    key_to(&mut t, "top-box");
    key_to(&mut t, "next");
    assert_eq!(t.app.phase(), Phase::Review);
    // Change the third election to blank from the review.
    key_to(&mut t, "change-3");
    key_to(&mut t, "blank");
    assert_eq!(t.app.phase(), Phase::Review);
    let text = t.text();
    assert!(text.contains("Chambre: Liste 3 GROEN"), "{text}");
    assert!(text.contains("2 votes de préférence: "), "{text}");
    assert!(text.contains("Parlement européen: Vote blanc"), "{text}");
    key_to(&mut t, "confirm");
    assert_eq!(t.app.phase(), Phase::PollOpen);
    assert!(
        t.text().contains("Votre vote est enregistré"),
        "{}",
        t.text()
    );

    let terminal = t.app.terminal();
    assert_eq!(terminal.counters().cast, 1);
    let chamber = &event.elections[0];
    let list = ListIndex::new(2, chamber).unwrap();
    let candidates = CandidateSet::from_mask(0b101, chamber.lists[2].candidates.len()).unwrap();
    let expected = Choice::Preferences { list, candidates };
    assert_eq!(terminal.store().count(event, 0, &expected), Ok(1));
    let region = &event.elections[1];
    let list_vote = Choice::List(ListIndex::new(1, region).unwrap());
    assert_eq!(terminal.store().count(event, 1, &list_vote), Ok(1));
    assert_eq!(terminal.store().count(event, 2, &Choice::Blank), Ok(1));

    // The message goes away after its time.
    t.wait(firmware::app::MESSAGE_SCREEN_MS);
    assert!(
        t.text().contains("Wachten op de volgende kiezer"),
        "{}",
        t.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Cost (printed, never asserted)

#[test]
fn full_redraw_cost_is_reported() {
    let mut t = Terminal::new(event(&ALL, Mode::Training));
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    t.tap("lang-nl");
    t.tap("list-1");
    const ROUNDS: u32 = 40;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        t.tap("large-text");
    }
    let toggle = start.elapsed() / ROUNDS;
    let start = Instant::now();
    for _ in 0..ROUNDS {
        t.tap("candidate-1");
    }
    let mark = start.elapsed() / ROUNDS;
    eprintln!(
        "full-screen redraw on the host (test profile, opt-level 2): \
         large-text toggle on the candidates screen {toggle:?} per frame; \
         ticking a candidate {mark:?} per frame"
    );
}

// ---------------------------------------------------------------------------------------------
// Refusals and operator actions

#[test]
fn refusals_show_their_code_and_change_nothing() {
    let mut t = Terminal::new(event(&[Language::En], Mode::Training));
    // Voting before the poll is open is refused with the terminal's code.
    t.op(OperatorKey::ActivateVoter);
    assert!(t.text().contains("E100: Not possible now"), "{}", t.text());
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    // One language: straight to the lists, and no back button on the first election.
    assert_eq!(t.app.phase(), Phase::Lists);
    assert!(t.app.element("back").is_none());
    t.tap("list-2");
    t.tap("next");
    assert!(
        t.text()
            .contains("E304: Mark the list or a candidate, or go back"),
        "{}",
        t.text()
    );
    assert_eq!(t.app.phase(), Phase::Candidates);
    t.op(OperatorKey::ClosePoll);
    assert!(t.text().contains("E101: A voter is in the booth"));
    t.op(OperatorKey::PowerOff);
    assert!(t.text().contains("E101"));
    // The president cancels: counted as cancelled, the booth is free.
    t.op(OperatorKey::CancelSession);
    assert!(t.text().contains("Session cancelled by the president"));
    assert_eq!(t.app.terminal().counters().cancelled, 1);
    assert_eq!(t.app.terminal().counters().cast, 0);
    t.wait(firmware::app::MESSAGE_SCREEN_MS);
    assert!(t.text().contains("Waiting for the next voter"));
    assert!(t.text().contains("Sessions cancelled: 1"));
    // A tap outside every element does nothing.
    t.input(InputEvent::Tap { x: 400, y: 250 });
    assert_eq!(t.app.phase(), Phase::PollOpen);
}

#[test]
fn the_pin_pad_can_be_left_and_wrong_pins_lock_it() {
    let mut t = Terminal::new(event(&[Language::De], Mode::Training));
    t.op(OperatorKey::OpenPoll);
    t.tap("pin-1");
    t.input(InputEvent::Key(Key::Back));
    assert!(t.app.element("pin-ok").is_none());
    for _ in 0..firmware::terminal::PIN_FAILURES_BEFORE_LOCK {
        t.op(OperatorKey::OpenPoll);
        t.tap("pin-9");
        t.tap("pin-ok");
    }
    assert!(
        t.text().contains("E200: PIN vorübergehend gesperrt"),
        "{}",
        t.text()
    );
    t.pin(PIN);
    assert!(t.text().contains("E201"), "{}", t.text());
    assert_eq!(t.app.phase(), Phase::PollNotOpened);
}

#[test]
fn power_fail_wipes_even_with_the_poll_open() {
    let mut t = Terminal::new(event(&ALL, Mode::Training));
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    t.tap("lang-nl");
    t.tap("blank");
    t.tap("blank");
    t.tap("blank");
    t.tap("confirm");
    assert_eq!(t.app.terminal().store().ballots(0), 1);
    let Terminal { app, rig } = &mut t;
    app.power_fail(&mut rig.devices());
    assert_eq!(t.app.phase(), Phase::PoweredOff);
    assert_eq!(t.app.terminal().store().ballots(0), 0);
    assert!(t.text().contains("Uitgeschakeld"), "{}", t.text());
    assert!(t.app.element("large-text").is_none());
}

#[test]
fn voters_cannot_act_on_an_error_screen() {
    let mut t = Terminal::new(event(&ALL, Mode::Training));
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    let Terminal { app, rig } = &mut t;
    app.halt(HaltReason::MediaFailure, &mut rig.devices())
        .unwrap();
    assert_eq!(t.app.phase(), Phase::Halted);
    // Only the display toggle remains; the voter's session is gone.
    let mut names = Vec::new();
    t.app.elements(|e, _| names.push(e.to_string()));
    assert_eq!(names, ["large-text"]);
    t.op(OperatorKey::ActivateVoter);
    assert_eq!(t.app.phase(), Phase::Halted);
}
