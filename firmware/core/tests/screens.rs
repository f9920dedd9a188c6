//! Screens rendered headless: golden PNGs, touch target sizes, a keyboard-only vote and the
//! cost of a full redraw.
//!
//! `UPDATE_GOLDENS=1 cargo test -p firmware --test screens` rewrites the goldens in
//! `tests/goldens/`. A mismatch writes `<name>.diff.png` next to the golden (differing
//! pixels red, the rest dimmed) and fails.

use firmware::app::{App, BootInfo, Devices, HALT_MEDIA_CODE};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{FakeClock, RamMedia, RamPrinter, RecordingDisplay, SeededEntropy};
use firmware::hal::{Area, Framebuffer, InputEvent, Key, OperatorKey};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::screen::{Element, MIN_TARGET_PX};
use firmware::store::BallotStore;
use firmware::terminal::{HaltReason, Phase};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Instant;

const PIN: &str = "4711";

fn leak_candidates(people: &[Candidate<'static>]) -> Candidates<'static> {
    let buf = vec![0u8; 64 + people.len() * 128].leak();
    Candidates::encode(people, buf).unwrap()
}

fn names(nl: &'static str, fr: &'static str, de: &'static str, en: &'static str) -> Names<'static> {
    Names {
        nl: Some(nl),
        fr: Some(fr),
        de: Some(de),
        en: Some(en),
    }
}

const SURNAMES: [&str; 12] = [
    "PEETERS Anna",
    "DUPONT Émilie",
    "MÜLLER Jürgen",
    "JANSSENS Wouter",
    "LAMBERT François",
    "VAN DEN BOSSCHE Sofie",
    "MAES Noël",
    "SCHMITZ Käthe",
    "DUBOIS Hélène",
    "CLAES Pieter",
    "LEROY Benoît",
    "WILLEMS Inès",
];

/// A representative event: the Chamber with 18 lists (paging), the first with 12 titulars
/// and 8 successors (paging), and the European Parliament with 3 lists.
fn event(languages: &[Language], mode: Mode) -> &'static Event<'static> {
    let mut event = Event {
        id: "BE-2026-TEST",
        names: names(
            "Verkiezingen 2026",
            "Élections 2026",
            "Wahlen 2026",
            "Elections 2026",
        ),
        date: Date::new(2026, 5, 31).unwrap(),
        mode,
        languages: heapless::Vec::from_slice(languages).unwrap(),
        elections: heapless::Vec::new(),
    };
    let parties = [
        "VOORUIT",
        "LES ENGAGÉS",
        "GROEN",
        "ÉCOLO",
        "CD&V",
        "MR",
        "PVDA-PTB",
        "N-VA",
        "OPEN VLD",
        "DÉFI",
        "PIRATEN",
        "VOLT",
        "BLANCO-PARTIJ",
        "LISTE 14",
        "LISTE 15",
        "LIJST 16",
        "LIJST 17",
        "ÜBERLISTE 18",
    ];
    let chamber_names = names("Kamer", "Chambre", "Kammer", "Chamber");
    let europe_names = names(
        "Europees Parlement",
        "Parlement européen",
        "Europäisches Parlament",
        "European Parliament",
    );
    for (id, title, lists) in [
        ("chamber", chamber_names, &parties[..]),
        ("europe", europe_names, &parties[..3]),
    ] {
        let mut election = Election {
            id,
            names: title,
            constituency: names("Kieskring", "Circonscription", "Wahlkreis", "Constituency"),
            seats: 15,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: true,
            lists: heapless::Vec::new(),
        };
        for (l, party) in lists.iter().enumerate() {
            let (titulars, successors) = if l == 0 && id == "chamber" {
                (12, 8)
            } else {
                (3, 1)
            };
            let people: Vec<Candidate<'static>> = (0..titulars + successors)
                .map(|c| Candidate {
                    name: SURNAMES[(c + l) % SURNAMES.len()],
                    kind: if c < titulars {
                        CandidateKind::Titular
                    } else {
                        CandidateKind::Successor
                    },
                })
                .collect();
            election
                .lists
                .push(List {
                    number: u16::try_from(l + 1).unwrap(),
                    name: party,
                    candidates: leak_candidates(&people),
                })
                .unwrap();
        }
        event.elections.push(election).unwrap();
    }
    event.validate().unwrap();
    Box::leak(Box::new(event))
}

struct Rig {
    display: RecordingDisplay,
    media: &'static mut [u8],
    printer: RamPrinter<8>,
    clock: FakeClock,
    entropy: SeededEntropy,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            display: RecordingDisplay::new(),
            media: vec![0u8; 64 * 1024].leak(),
            printer: RamPrinter::new(),
            clock: FakeClock::new(Date::new(2026, 5, 31).unwrap(), 1_000),
            entropy: SeededEntropy::new([7; 32]),
        }
    }
}

/// Boot an app on `event` and run `f` with it and its devices.
fn with_app(
    event: &'static Event<'static>,
    f: impl FnOnce(&mut App<'static>, &mut Devices<'_>, &FakeClock),
) {
    let mut rig = Rig::new();
    let mut media = RamMedia::new(rig.media);
    let mut dev = Devices {
        display: &mut rig.display,
        media: &mut media,
        printer: &mut rig.printer,
        clock: &rig.clock,
        entropy: &mut rig.entropy,
    };
    let info = BootInfo {
        event,
        image_fingerprint: core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11)),
        office_public_key: [9; 32],
        pin_verifier: PinVerifier::derive(
            PIN.as_bytes(),
            [3; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
        ),
        station: "BXL-0421",
    };
    let store: &'static mut BallotStore = Box::leak(Box::new(BallotStore::new()));
    let frame: &'static mut Framebuffer = Box::leak(Box::new(Framebuffer::new()));
    let mut app = App::boot(info, store, frame, &mut dev).unwrap();
    app.attach_records(Box::leak(Box::new(firmware::record::RecordScratch::new())));
    f(&mut app, &mut dev, &rig.clock);
}

fn tap(app: &mut App<'_>, dev: &mut Devices<'_>, name: &str) {
    let area = app
        .element(name)
        .unwrap_or_else(|| panic!("no element {name:?} on screen:\n{}", text(app)));
    let x = area.x() + area.width() / 2;
    let y = area.y() + area.height() / 2;
    app.handle(InputEvent::Tap { x, y }, dev).unwrap();
}

fn op(app: &mut App<'_>, dev: &mut Devices<'_>, key: OperatorKey) {
    app.handle(InputEvent::Operator(key), dev).unwrap();
}

fn text(app: &App<'_>) -> String {
    let mut s = String::new();
    app.screen_text(&mut s).unwrap();
    s
}

fn pin_by_touch(app: &mut App<'_>, dev: &mut Devices<'_>) {
    for d in PIN.chars() {
        tap(app, dev, &format!("pin-{d}"));
    }
    tap(app, dev, "pin-ok");
}

fn open_poll(app: &mut App<'_>, dev: &mut Devices<'_>) {
    op(app, dev, OperatorKey::OpenPoll);
    pin_by_touch(app, dev);
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
}

// ---------------------------------------------------------------------------------------------
// Goldens

fn goldens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens")
}

fn rgb(frame: &Framebuffer) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.pixels().len() * 3);
    for &p in frame.pixels().iter() {
        let r = ((p >> 11) & 0x1f) as u8;
        let g = ((p >> 5) & 0x3f) as u8;
        let b = (p & 0x1f) as u8;
        out.extend_from_slice(&[
            (r << 3) | (r >> 2),
            (g << 2) | (g >> 4),
            (b << 3) | (b >> 2),
        ]);
    }
    out
}

fn write_png(path: &PathBuf, data: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 800, 480);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(data).unwrap();
}

fn read_png(path: &PathBuf) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    Some(buf)
}

fn golden(name: &str, app: &App<'_>) {
    let dir = goldens_dir();
    let path = dir.join(format!("{name}.png"));
    let diff_path = dir.join(format!("{name}.diff.png"));
    let actual = rgb(app.frame());
    if std::env::var_os("UPDATE_GOLDENS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        write_png(&path, &actual);
        let _ = std::fs::remove_file(&diff_path);
        return;
    }
    let Some(expected) = read_png(&path) else {
        panic!(
            "golden {} is missing; run with UPDATE_GOLDENS=1",
            path.display()
        );
    };
    if expected == actual {
        let _ = std::fs::remove_file(&diff_path);
        return;
    }
    let mut diff = Vec::with_capacity(actual.len());
    let mut differing = 0usize;
    for (e, a) in expected.chunks(3).zip(actual.chunks(3)) {
        if e == a {
            diff.extend(a.iter().map(|&c| c / 4 + 160));
        } else {
            differing += 1;
            diff.extend_from_slice(&[255, 0, 0]);
        }
    }
    diff.resize(actual.len(), 255);
    write_png(&diff_path, &diff);
    panic!(
        "screen {name} differs from its golden in {differing} pixels; see {}",
        diff_path.display()
    );
}

const ALL: [Language; 4] = [Language::Nl, Language::Fr, Language::De, Language::En];

#[test]
fn golden_boot_pin_waiting_and_closing() {
    with_app(event(&ALL, Mode::Training), |app, dev, _| {
        golden("boot_training_nl", app);
        op(app, dev, OperatorKey::OpenPoll);
        tap(app, dev, "pin-4");
        tap(app, dev, "pin-7");
        golden("pin_open_nl", app);
        tap(app, dev, "pin-ok");
        assert_eq!(app.phase(), Phase::PollNotOpened);
        assert!(
            text(app).contains("E200: Verkeerde pincode"),
            "{}",
            text(app)
        );
        golden("pin_wrong_nl", app);
        pin_by_touch(app, dev);
        assert_eq!(app.phase(), Phase::PollOpen);
        golden("waiting_nl", app);
        op(app, dev, OperatorKey::ClosePoll);
        pin_by_touch(app, dev);
        assert_eq!(app.phase(), Phase::Closed);
        golden("closed_nl", app);
        op(app, dev, OperatorKey::PowerOff);
        assert_eq!(app.phase(), Phase::PoweredOff);
        golden("powered_off_nl", app);
    });
}

#[test]
fn golden_official_boot_has_no_watermark() {
    with_app(event(&[Language::Fr], Mode::Official), |app, _, _| {
        let t = text(app);
        assert!(
            !t.contains("FORMATION") && t.contains("Élections 2026"),
            "{t}"
        );
        golden("boot_official_fr", app);
    });
}

#[test]
fn golden_voter_screens_per_language() {
    for language in ALL {
        with_app(event(&ALL, Mode::Training), |app, dev, _| {
            open_poll(app, dev);
            op(app, dev, OperatorKey::ActivateVoter);
            assert_eq!(app.phase(), Phase::Language);
            if language == Language::Nl {
                golden("language", app);
            }
            tap(app, dev, &format!("lang-{}", language.code()));
            assert_eq!(app.phase(), Phase::Lists);
            golden(&format!("lists_{}", language.code()), app);
            if language == Language::Fr {
                tap(app, dev, "large-text");
                golden("lists_large_fr", app);
                tap(app, dev, "large-text");
            }
            tap(app, dev, "list-1");
            tap(app, dev, "candidate-2");
            tap(app, dev, "candidate-5");
            if language == Language::De {
                golden("candidates_de", app);
                tap(app, dev, "page-next");
                tap(app, dev, "candidate-13");
                golden("candidates_page2_de", app);
                tap(app, dev, "large-text");
                golden("candidates_large_de", app);
                tap(app, dev, "large-text");
            }
            tap(app, dev, "next");
            tap(app, dev, "blank");
            assert_eq!(app.phase(), Phase::Review);
            if language == Language::En || language == Language::Fr {
                golden(&format!("review_{}", language.code()), app);
            }
            tap(app, dev, "confirm");
            assert_eq!(app.phase(), Phase::PollOpen);
            if language == Language::En {
                golden("recorded_en", app);
            }
        });
    }
}

#[test]
fn golden_error_screen_names_code_and_action() {
    with_app(event(&ALL, Mode::Training), |app, dev, _| {
        open_poll(app, dev);
        op(app, dev, OperatorKey::ActivateVoter);
        app.halt(HaltReason::MediaFailure, dev).unwrap();
        assert_eq!(app.phase(), Phase::Halted);
        let t = text(app);
        assert!(t.contains(&format!("E{HALT_MEDIA_CODE}")), "{t}");
        assert!(t.contains("verkiezingsdienst"), "{t}");
        golden("halted_media_nl", app);
        // Voters cannot do anything; the voter's session is gone.
        assert!(app.element("next").is_none() && app.element("confirm").is_none());
        op(app, dev, OperatorKey::ActivateVoter);
        assert_eq!(app.phase(), Phase::Halted);
        assert!(text(app).contains(&format!("E{HALT_MEDIA_CODE}")));
    });
}

// ---------------------------------------------------------------------------------------------
// Touch targets

fn check_targets(app: &App<'_>, seen: &mut std::collections::BTreeSet<String>) {
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

#[test]
fn every_touch_target_is_big_enough_and_apart_on_every_screen() {
    let mut seen = std::collections::BTreeSet::new();
    for large in [false, true] {
        with_app(event(&ALL, Mode::Training), |app, dev, _| {
            if large {
                tap(app, dev, "large-text");
            }
            let mut check = |app: &mut App<'static>| check_targets(app, &mut seen);
            check(app);
            op(app, dev, OperatorKey::OpenPoll);
            check(app);
            pin_by_touch(app, dev);
            check(app);
            op(app, dev, OperatorKey::ActivateVoter);
            check(app);
            tap(app, dev, "lang-de");
            check(app);
            tap(app, dev, "page-next");
            check(app);
            tap(app, dev, "page-prev");
            tap(app, dev, "list-1");
            check(app);
            tap(app, dev, "top-box");
            tap(app, dev, "page-next");
            check(app);
            tap(app, dev, "next");
            tap(app, dev, "list-2");
            tap(app, dev, "candidate-1");
            tap(app, dev, "next");
            check(app);
            tap(app, dev, "change-2");
            check(app);
            tap(app, dev, "back");
            tap(app, dev, "confirm");
            check(app);
            op(app, dev, OperatorKey::ActivateVoter);
            op(app, dev, OperatorKey::CancelSession);
            check(app);
            op(app, dev, OperatorKey::ClosePoll);
            pin_by_touch(app, dev);
            check(app);
            op(app, dev, OperatorKey::PowerOff);
            check(app);
        });
    }
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
}

// ---------------------------------------------------------------------------------------------
// Keyboard

/// Move the focus with the arrow keys to `name`, then press Enter.
fn key_to(app: &mut App<'_>, dev: &mut Devices<'_>, name: &str) {
    for _ in 0..80 {
        if app.focused().is_some_and(|e| e.is_named(name)) {
            app.handle(InputEvent::Key(Key::Enter), dev).unwrap();
            return;
        }
        app.handle(InputEvent::Key(Key::Down), dev).unwrap();
    }
    panic!("focus never reached {name:?} on screen:\n{}", text(app));
}

#[test]
fn a_full_vote_with_the_keyboard_only() {
    let event = event(&ALL, Mode::Training);
    with_app(event, |app, dev, clock| {
        op(app, dev, OperatorKey::OpenPoll);
        for d in PIN.chars() {
            key_to(app, dev, &format!("pin-{d}"));
        }
        key_to(app, dev, "pin-ok");
        assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
        op(app, dev, OperatorKey::ActivateVoter);

        // The focus is visible: the frame changes pixels when it moves.
        app.handle(InputEvent::Key(Key::Down), dev).unwrap();
        let before = app.frame().pixels().to_vec();
        app.handle(InputEvent::Key(Key::Down), dev).unwrap();
        assert_ne!(before, app.frame().pixels().to_vec(), "focus is not drawn");

        key_to(app, dev, "lang-fr");
        key_to(app, dev, "list-3");
        key_to(app, dev, "candidate-1");
        key_to(app, dev, "candidate-3");
        // Back to the lists and forward again keeps the marks of the same list.
        app.handle(InputEvent::Key(Key::Back), dev).unwrap();
        assert_eq!(app.phase(), Phase::Lists);
        key_to(app, dev, "list-3");
        assert!(text(app).contains("2 sélectionné(s)"), "{}", text(app));
        key_to(app, dev, "next");
        key_to(app, dev, "list-2");
        key_to(app, dev, "top-box");
        key_to(app, dev, "next");
        assert_eq!(app.phase(), Phase::Review);
        // Change the second election to blank from the review.
        key_to(app, dev, "change-2");
        key_to(app, dev, "blank");
        assert_eq!(app.phase(), Phase::Review);
        let t = text(app);
        assert!(t.contains("Chambre: Liste 3 GROEN"), "{t}");
        assert!(t.contains("2 votes de préférence: "), "{t}");
        assert!(t.contains("Parlement européen: Vote blanc"), "{t}");
        key_to(app, dev, "confirm");
        assert_eq!(app.phase(), Phase::PollOpen);
        assert!(
            text(app).contains("Votre vote est enregistré"),
            "{}",
            text(app)
        );

        let terminal = app.terminal();
        assert_eq!(terminal.counters().cast, 1);
        let chamber = &event.elections[0];
        let list = ListIndex::new(2, chamber).unwrap();
        let candidates = CandidateSet::from_mask(0b101, chamber.lists[2].candidates.len()).unwrap();
        let expected = Choice::Preferences { list, candidates };
        assert_eq!(terminal.store().count(event, 0, &expected), Ok(1));
        assert_eq!(terminal.store().count(event, 1, &Choice::Blank), Ok(1));

        // The message goes away after its time.
        clock.advance_ms(firmware::app::MESSAGE_SCREEN_MS);
        app.tick(dev).unwrap();
        assert!(
            text(app).contains("Wachten op de volgende kiezer"),
            "{}",
            text(app)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Cost (printed, never asserted)

#[test]
fn full_redraw_cost_is_reported() {
    with_app(event(&ALL, Mode::Training), |app, dev, _| {
        open_poll(app, dev);
        op(app, dev, OperatorKey::ActivateVoter);
        tap(app, dev, "lang-nl");
        tap(app, dev, "list-1");
        const ROUNDS: u32 = 40;
        let start = Instant::now();
        for _ in 0..ROUNDS {
            tap(app, dev, "large-text");
        }
        let toggle = start.elapsed() / ROUNDS;
        let start = Instant::now();
        for _ in 0..ROUNDS {
            tap(app, dev, "candidate-1");
        }
        let mark = start.elapsed() / ROUNDS;
        eprintln!(
            "full-screen redraw on the host (test profile, opt-level 2): \
             large-text toggle on the candidates screen {toggle:?} per frame; \
             ticking a candidate {mark:?} per frame"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Refusals and operator actions

#[test]
fn refusals_show_their_code_and_change_nothing() {
    with_app(event(&[Language::En], Mode::Training), |app, dev, clock| {
        // Voting before the poll is open is refused with the terminal's code.
        op(app, dev, OperatorKey::ActivateVoter);
        assert!(
            text(app).contains("E100: Not possible now"),
            "{}",
            text(app)
        );
        open_poll(app, dev);
        op(app, dev, OperatorKey::ActivateVoter);
        // One language: straight to the lists, and no back button on the first election.
        assert_eq!(app.phase(), Phase::Lists);
        assert!(app.element("back").is_none());
        tap(app, dev, "list-2");
        tap(app, dev, "next");
        assert!(
            text(app).contains("E304: Mark the list or a candidate, or go back"),
            "{}",
            text(app)
        );
        assert_eq!(app.phase(), Phase::Candidates);
        op(app, dev, OperatorKey::ClosePoll);
        assert!(text(app).contains("E101: A voter is in the booth"));
        op(app, dev, OperatorKey::PowerOff);
        assert!(text(app).contains("E101"));
        // The president cancels: counted as cancelled, the booth is free.
        op(app, dev, OperatorKey::CancelSession);
        assert!(text(app).contains("Session cancelled by the president"));
        assert_eq!(app.terminal().counters().cancelled, 1);
        assert_eq!(app.terminal().counters().cast, 0);
        clock.advance_ms(firmware::app::MESSAGE_SCREEN_MS);
        app.tick(dev).unwrap();
        assert!(text(app).contains("Waiting for the next voter"));
        assert!(text(app).contains("Sessions cancelled: 1"));
        // A tap outside every element does nothing.
        app.handle(InputEvent::Tap { x: 400, y: 250 }, dev).unwrap();
        assert_eq!(app.phase(), Phase::PollOpen);
    });
}

#[test]
fn the_pin_pad_can_be_left_and_wrong_pins_lock_it() {
    with_app(event(&[Language::De], Mode::Training), |app, dev, _| {
        op(app, dev, OperatorKey::OpenPoll);
        tap(app, dev, "pin-1");
        app.handle(InputEvent::Key(Key::Back), dev).unwrap();
        assert!(app.element("pin-ok").is_none());
        for _ in 0..firmware::terminal::PIN_FAILURES_BEFORE_LOCK {
            op(app, dev, OperatorKey::OpenPoll);
            tap(app, dev, "pin-9");
            tap(app, dev, "pin-ok");
        }
        assert!(
            text(app).contains("E200: PIN vorübergehend gesperrt"),
            "{}",
            text(app)
        );
        pin_by_touch(app, dev);
        assert!(text(app).contains("E201"), "{}", text(app));
        assert_eq!(app.phase(), Phase::PollNotOpened);
    });
}

#[test]
fn power_fail_wipes_even_with_the_poll_open() {
    with_app(event(&ALL, Mode::Training), |app, dev, _| {
        open_poll(app, dev);
        op(app, dev, OperatorKey::ActivateVoter);
        tap(app, dev, "lang-nl");
        tap(app, dev, "blank");
        tap(app, dev, "blank");
        tap(app, dev, "confirm");
        assert_eq!(app.terminal().store().ballots(0), 1);
        app.power_fail(dev);
        assert_eq!(app.phase(), Phase::PoweredOff);
        assert_eq!(app.terminal().store().ballots(0), 0);
        assert!(text(app).contains("Uitgeschakeld"), "{}", text(app));
        assert!(app.element("large-text").is_none());
    });
}
