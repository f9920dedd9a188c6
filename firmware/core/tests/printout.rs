//! Printed output through the real app: the opening report after generation 1, a voter
//! ticket after every recorded ballot, the closing report after the closing record.
//!
//! Each printout is compared with a golden PNG in `tests/goldens/print_*.png` (1 bit per
//! pixel, black = ink). `UPDATE_GOLDENS=1 cargo test -p firmware --test printout` rewrites
//! them; a mismatch writes `<name>.diff.png` (differing pixels red, the rest dimmed) and
//! fails. Every ticket's QR code is decoded from the printed raster with `rqrr` and must
//! hold exactly the cast ballot, signed by the session key.

use firmware::app::{App, BootInfo, Devices};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{FakeClock, RamMedia, RamPrinter, RecordingDisplay, SeededEntropy};
use firmware::hal::{
    Framebuffer, InputEvent, OperatorKey, PrinterError, RasterLine, PRINTER_WIDTH_PX,
};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::printout::{PrintError, PrintPosition, Printed};
use firmware::record::RecordScratch;
use firmware::seal;
use firmware::store::BallotStore;
use firmware::terminal::Phase;
use firmware::ticket::{Ticket, TICKET_PREFIX};
use std::num::NonZeroU32;
use std::path::PathBuf;

const PIN: &str = "4711";
const STATION: &str = "BXL-0421";
const MEDIA_BYTES: usize = 1024 * 1024;
/// Paper on the test roll, in raster lines (plenty for the longest report).
const ROLL_LINES: usize = 8192;

fn leak_candidates(people: &[Candidate<'static>]) -> Candidates<'static> {
    let buf = vec![0u8; 64 + people.len() * 128].leak();
    Candidates::encode(people, buf).unwrap()
}

fn names(nl: &'static str, fr: &'static str) -> Names<'static> {
    Names {
        nl: Some(nl),
        fr: Some(fr),
        de: None,
        en: None,
    }
}

/// Two languages; the Chamber with 3 lists of 4 candidates (accented names), the European
/// Parliament with 2 lists of 2.
fn event(mode: Mode, languages: &[Language]) -> &'static Event<'static> {
    let mut event = Event {
        id: "BE-2026-PRINT",
        names: names("Verkiezingen 2026", "Élections 2026"),
        date: Date::new(2026, 5, 31).unwrap(),
        mode,
        languages: heapless::Vec::from_slice(languages).unwrap(),
        elections: heapless::Vec::new(),
    };
    let people = [
        "PEETERS Anna",
        "DUPONT Émilie",
        "MÜLLER Jürgen",
        "MAES Noël",
    ];
    for (id, title, parties, count) in [
        (
            "chamber",
            names("Kamer", "Chambre"),
            &["VOORUIT", "LES ENGAGÉS", "GROEN"][..],
            4usize,
        ),
        (
            "europe",
            names("Europees Parlement", "Parlement européen"),
            &["ÉCOLO", "N-VA"][..],
            2,
        ),
    ] {
        let mut election = Election {
            id,
            names: title,
            constituency: names("Kieskring", "Circonscription"),
            seats: 5,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: true,
            lists: heapless::Vec::new(),
        };
        for (l, party) in parties.iter().enumerate() {
            let list: Vec<Candidate<'static>> = (0..count)
                .map(|c| Candidate {
                    name: people[(c + l) % people.len()],
                    kind: if c + 1 < count {
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
                    candidates: leak_candidates(&list),
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
    media: RamMedia<'static>,
    printer: Box<RamPrinter<ROLL_LINES>>,
    clock: FakeClock,
    entropy: SeededEntropy,
}

impl Rig {
    fn new() -> Rig {
        Rig {
            display: RecordingDisplay::new(),
            media: RamMedia::new(vec![0u8; MEDIA_BYTES].leak()),
            printer: Box::new(RamPrinter::new()),
            clock: FakeClock::new(Date::new(2026, 5, 31).unwrap(), 1_000),
            entropy: SeededEntropy::new([7; 32]),
        }
    }

    fn dev(&mut self) -> Devices<'_> {
        Devices {
            display: &mut self.display,
            media: &mut self.media,
            printer: &mut *self.printer,
            clock: &self.clock,
            entropy: &mut self.entropy,
        }
    }

    /// The lines printed since the last call (a fresh roll after it).
    fn take(&mut self) -> Vec<RasterLine> {
        let lines = self.printer.lines().to_vec();
        self.printer.new_roll();
        lines
    }
}

fn boot(event: &'static Event<'static>, rig: &mut Rig) -> App<'static> {
    let info = BootInfo {
        event,
        image_fingerprint: core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11)),
        office_public_key: seal::office_public_key(&[0x42; 32]),
        pin_verifier: PinVerifier::derive(
            PIN.as_bytes(),
            [3; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
        ),
        station: STATION,
    };
    let store: &'static mut BallotStore = Box::leak(Box::new(BallotStore::new()));
    let frame: &'static mut Framebuffer = Box::leak(Box::new(Framebuffer::new()));
    let mut app = App::boot(info, store, frame, &mut rig.dev()).unwrap();
    app.attach_records(Box::leak(Box::new(RecordScratch::new())));
    app
}

fn text(app: &App<'_>) -> String {
    let mut s = String::new();
    app.screen_text(&mut s).unwrap();
    s
}

fn tap(app: &mut App<'_>, rig: &mut Rig, name: &str) {
    let area = app
        .element(name)
        .unwrap_or_else(|| panic!("no element {name:?} on screen:\n{}", text(app)));
    let x = area.x() + area.width() / 2;
    let y = area.y() + area.height() / 2;
    app.handle(InputEvent::Tap { x, y }, &mut rig.dev())
        .unwrap();
    // Work the tap starts (a PIN check, a record write) runs in the ticks that follow.
    app.settle(&mut rig.dev()).unwrap();
}

fn op(app: &mut App<'_>, rig: &mut Rig, key: OperatorKey) {
    app.handle(InputEvent::Operator(key), &mut rig.dev())
        .unwrap();
    app.settle(&mut rig.dev()).unwrap();
}

fn open_poll(app: &mut App<'_>, rig: &mut Rig) {
    op(app, rig, OperatorKey::OpenPoll);
    for d in PIN.chars() {
        tap(app, rig, &format!("pin-{d}"));
    }
    tap(app, rig, "pin-ok");
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
}

fn close_poll(app: &mut App<'_>, rig: &mut Rig) {
    op(app, rig, OperatorKey::ClosePoll);
    for d in PIN.chars() {
        tap(app, rig, &format!("pin-{d}"));
    }
    tap(app, rig, "pin-ok");
    assert_eq!(app.phase(), Phase::Closed, "{}", text(app));
}

/// One voter: activate, choose `language` if offered, tap `taps`, and return the review
/// exactly as the terminal will cast it, after confirming.
fn vote(app: &mut App<'_>, rig: &mut Rig, language: &str, taps: &[&str]) -> Vec<Choice> {
    op(app, rig, OperatorKey::ActivateVoter);
    if app.phase() == Phase::Language {
        tap(app, rig, &format!("lang-{language}"));
    }
    for name in taps {
        tap(app, rig, name);
    }
    assert_eq!(app.phase(), Phase::Review, "{}", text(app));
    let review = app.terminal().review().unwrap().to_vec();
    tap(app, rig, "confirm");
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
    review
}

// ---------------------------------------------------------------------------------------------
// Goldens

fn goldens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/goldens")
}

fn is_ink(lines: &[RasterLine], x: usize, y: usize) -> bool {
    lines
        .get(y)
        .and_then(|l| l.get(x / 8))
        .is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
}

/// The raster as a 1-bit grayscale PNG (PNG's 1 is white, the printer's 1 is ink).
fn write_bitmap(path: &PathBuf, lines: &[RasterLine]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        PRINTER_WIDTH_PX as u32,
        lines.len().max(1) as u32,
    );
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().unwrap();
    let mut data: Vec<u8> = lines.iter().flatten().map(|b| !b).collect();
    if lines.is_empty() {
        data.resize(PRINTER_WIDTH_PX / 8, 0xFF);
    }
    writer.write_image_data(&data).unwrap();
}

fn read_bitmap(path: &PathBuf) -> Option<Vec<RasterLine>> {
    let bytes = std::fs::read(path).ok()?;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width as usize, PRINTER_WIDTH_PX, "{}", path.display());
    assert_eq!(info.bit_depth, png::BitDepth::One);
    buf.truncate(info.buffer_size());
    Some(
        buf.chunks(PRINTER_WIDTH_PX / 8)
            .map(|row| core::array::from_fn(|i| !row[i]))
            .collect(),
    )
}

fn write_diff(path: &PathBuf, expected: &[RasterLine], actual: &[RasterLine]) -> usize {
    let height = expected.len().max(actual.len());
    let mut data = Vec::with_capacity(height * PRINTER_WIDTH_PX * 3);
    let mut differing = 0;
    for y in 0..height {
        for x in 0..PRINTER_WIDTH_PX {
            let (e, a) = (is_ink(expected, x, y), is_ink(actual, x, y));
            if e != a || y >= expected.len() || y >= actual.len() {
                differing += usize::from(e != a);
                data.extend_from_slice(&[255, 0, 0]);
            } else if a {
                data.extend_from_slice(&[96, 96, 96]);
            } else {
                data.extend_from_slice(&[232, 232, 232]);
            }
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        PRINTER_WIDTH_PX as u32,
        height.max(1) as u32,
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    data.resize(height.max(1) * PRINTER_WIDTH_PX * 3, 255);
    writer.write_image_data(&data).unwrap();
    differing
}

fn golden(name: &str, lines: &[RasterLine]) {
    assert!(!lines.is_empty(), "{name}: nothing was printed");
    let dir = goldens_dir();
    let path = dir.join(format!("{name}.png"));
    let diff_path = dir.join(format!("{name}.diff.png"));
    if std::env::var_os("UPDATE_GOLDENS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        write_bitmap(&path, lines);
        let _ = std::fs::remove_file(&diff_path);
        return;
    }
    let Some(expected) = read_bitmap(&path) else {
        panic!(
            "golden {} is missing; run with UPDATE_GOLDENS=1",
            path.display()
        );
    };
    if expected == lines {
        let _ = std::fs::remove_file(&diff_path);
        return;
    }
    let differing = write_diff(&diff_path, &expected, lines);
    panic!(
        "printout {name} differs from its golden ({} vs {} lines, {differing} pixels); see {}",
        lines.len(),
        expected.len(),
        diff_path.display()
    );
}

// ---------------------------------------------------------------------------------------------
// Reading printouts back

/// Rows that are solid ink from edge to edge: the inverted training watermark band.
fn watermark_rows(lines: &[RasterLine]) -> usize {
    lines
        .iter()
        .filter(|l| l.iter().all(|&b| b == 0xFF))
        .count()
}

/// The ticket's QR code, read from the printed raster like a scanner would.
fn scan(lines: &[RasterLine]) -> String {
    let mut image =
        rqrr::PreparedImage::prepare_from_bitmap(PRINTER_WIDTH_PX, lines.len(), |x, y| {
            is_ink(lines, x, y)
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "exactly one QR code on the ticket");
    let (_, content) = grids[0].decode().unwrap();
    content
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .try_into()
        .unwrap()
}

/// Decode a printed ticket and check it against the app's session and the cast review.
fn check_ticket(app: &App<'_>, event: &Event<'_>, lines: &[RasterLine], cast: &[Choice]) -> Ticket {
    let content = scan(lines);
    assert!(content.starts_with(TICKET_PREFIX), "{content}");
    assert!(content.is_ascii());
    let ticket = Ticket::parse(&content).unwrap();
    ticket.verify().unwrap();
    let key = app.session_public_key().unwrap();
    assert_eq!(ticket.public_key(), key, "signed by this session's key");
    assert_eq!(Some(sha256(&key)), app.session_fingerprint());
    // The signature also verifies with the session key taken from the app directly.
    let signed: Vec<u8> = [
        firmware::ticket::TICKET_SIGNATURE_LABEL,
        &ticket.as_bytes()[..ticket.as_bytes().len() - 64],
    ]
    .concat();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
        .verify(&signed, ticket.signature().unwrap())
        .unwrap();
    // Exactly the cast ballot, decoded with each election's codec.
    let decoded: Vec<Choice> = (0..event.elections.len())
        .map(|e| ticket.choice(event, e).unwrap())
        .collect();
    assert_eq!(decoded, cast);
    for (e, (election, choice)) in event.elections.iter().zip(cast).enumerate() {
        let codec = firmware::ballot::BallotCodec::new(election);
        assert_eq!(
            ticket.ballot(e).unwrap(),
            codec.encode(choice).unwrap().as_bytes()
        );
    }
    ticket
}

fn list(event: &Event<'_>, election: usize, index: usize) -> ListIndex {
    ListIndex::new(index, &event.elections[election]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn opening_report_is_printed_after_generation_1_and_shown() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    assert!(
        rig.take().is_empty(),
        "nothing printed before the poll opens"
    );
    open_poll(&mut app, &mut rig);
    assert_eq!(app.record_position().unwrap().1, Some(1));
    assert_eq!(rig.printer.cuts(), 1);
    let report = rig.take();
    golden("print_opening_report_nl", &report);
    assert!(
        watermark_rows(&report[..40]) > 10,
        "training watermark on top"
    );
    assert!(
        watermark_rows(&report[report.len() - 200..]) > 10,
        "and at the end"
    );
    assert_eq!(app.print_fault(), None);
    // The same report on screen: both fingerprints and the zero counts.
    let shown = text(&app);
    assert!(shown.contains("Openingsrapport"), "{shown}");
    let session = app.session_fingerprint().unwrap();
    let first_group = format!("{:02X}{:02X}", session[0], session[1]);
    let image_group = format!("{:02X}{:02X}", 11u8, 48u8);
    assert!(shown.contains(&first_group), "{shown}");
    assert!(shown.contains(&image_group), "{shown}");
    assert!(shown.contains("Kiezers geactiveerd: 0"), "{shown}");
    assert!(shown.contains("Kamer: 0"), "{shown}");
    // Print again gives the same report; continue leads to the waiting screen.
    tap(&mut app, &mut rig, "print-again");
    assert_eq!(rig.take(), report);
    tap(&mut app, &mut rig, "continue");
    assert!(app.element("continue").is_none());
    assert!(text(&app).contains("Wachten op de volgende kiezer"));
}

#[test]
fn official_reports_carry_no_watermark_and_use_the_first_language() {
    let event = event(Mode::Official, &[Language::Fr, Language::Nl]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    open_poll(&mut app, &mut rig);
    let report = rig.take();
    golden("print_opening_report_official_fr", &report);
    assert_eq!(watermark_rows(&report), 0);
    assert!(text(&app).contains("Rapport d'ouverture"));
    let choices = vote(
        &mut app,
        &mut rig,
        "nl",
        &["list-3", "top-box", "next", "blank"],
    );
    let ticket = rig.take();
    golden("print_ticket_official_nl", &ticket);
    assert_eq!(watermark_rows(&ticket), 0);
    check_ticket(&app, event, &ticket, &choices);
}

#[test]
fn tickets_hold_exactly_the_cast_ballot() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    open_poll(&mut app, &mut rig);
    rig.take();
    tap(&mut app, &mut rig, "continue");
    let cases: [(&str, &str, &[&str], [Choice; 2]); 3] = [
        (
            "print_ticket_blank_nl",
            "nl",
            &["blank", "blank"],
            [Choice::Blank, Choice::Blank],
        ),
        (
            "print_ticket_list_fr",
            "fr",
            &["list-2", "top-box", "next", "list-1", "top-box", "next"],
            [
                Choice::List(list(event, 0, 1)),
                Choice::List(list(event, 1, 0)),
            ],
        ),
        (
            "print_ticket_preferences_nl",
            "nl",
            &[
                "list-1",
                "candidate-2",
                "candidate-3",
                "candidate-4",
                "next",
                "list-2",
                "top-box",
                "candidate-1",
                "next",
            ],
            [
                Choice::Preferences {
                    list: list(event, 0, 0),
                    candidates: CandidateSet::from_mask(0b1110, 4).unwrap(),
                },
                Choice::Preferences {
                    list: list(event, 1, 1),
                    candidates: CandidateSet::from_mask(0b01, 2).unwrap(),
                },
            ],
        ),
    ];
    for (cast, (name, language, taps, expected)) in cases.into_iter().enumerate() {
        let review = vote(&mut app, &mut rig, language, taps);
        assert_eq!(review, expected, "{name}: the review is what was tapped");
        assert_eq!(app.terminal().counters().cast, cast as u32 + 1);
        assert_eq!(app.print_fault(), None, "{name}");
        assert_eq!(rig.printer.cuts(), cast as u32 + 2, "one cut per ticket");
        let lines = rig.take();
        golden(name, &lines);
        assert!(watermark_rows(&lines) > 10, "{name}: training watermark");
        check_ticket(&app, event, &lines, &expected);
    }
}

#[test]
fn identical_choices_give_identical_tickets() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    open_poll(&mut app, &mut rig);
    rig.take();
    let taps = ["list-3", "candidate-1", "next", "blank"];
    let first_choices = vote(&mut app, &mut rig, "nl", &taps);
    let first = rig.take();
    // Time passes, another voter casts something else, a session is cancelled: nothing
    // of it may show on the next ticket with the same choices.
    rig.clock.advance_ms(3_600_000);
    vote(
        &mut app,
        &mut rig,
        "fr",
        &["blank", "list-1", "top-box", "next"],
    );
    rig.take();
    op(&mut app, &mut rig, OperatorKey::ActivateVoter);
    op(&mut app, &mut rig, OperatorKey::CancelSession);
    rig.clock.advance_ms(60_000);
    let second_choices = vote(&mut app, &mut rig, "nl", &taps);
    let second = rig.take();
    assert_eq!(first_choices, second_choices);
    assert_eq!(app.terminal().counters().cast, 3);
    assert_eq!(app.terminal().counters().cancelled, 1);
    assert!(
        first == second,
        "two voters with the same choices get identical tickets"
    );
    let a = check_ticket(&app, event, &first, &first_choices);
    let b = check_ticket(&app, event, &second, &second_choices);
    assert_eq!(a.encode_text(), b.encode_text());
    // The ticket in another language differs only in its words, not in its QR content.
    let third_choices = vote(&mut app, &mut rig, "fr", &taps);
    let third = rig.take();
    assert_ne!(third, first);
    assert_eq!(
        check_ticket(&app, event, &third, &third_choices).encode_text(),
        a.encode_text()
    );
}

#[test]
fn closing_report_is_printed_after_the_closing_record() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    open_poll(&mut app, &mut rig);
    let opening = rig.take();
    vote(
        &mut app,
        &mut rig,
        "nl",
        &["list-1", "top-box", "next", "blank"],
    );
    vote(
        &mut app,
        &mut rig,
        "fr",
        &["list-1", "candidate-2", "next", "list-2", "top-box", "next"],
    );
    vote(&mut app, &mut rig, "nl", &["blank", "blank"]);
    op(&mut app, &mut rig, OperatorKey::ActivateVoter);
    op(&mut app, &mut rig, OperatorKey::CancelSession);
    rig.take();
    let before = app.record_position().unwrap().1.unwrap();
    close_poll(&mut app, &mut rig);
    let written = app.record_position().unwrap().1.unwrap();
    assert_eq!(written, before + 1, "the closing record was written first");
    let report = rig.take();
    assert!(
        report.len() > opening.len(),
        "the closing report adds the tallies"
    );
    golden("print_closing_report_nl", &report);
    assert_eq!(app.print_fault(), None);
}

#[test]
fn a_printer_failure_never_loses_or_doubles_a_ballot() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let mut rig = Rig::new();
    let mut app = boot(event, &mut rig);
    // No paper at opening: the poll opens and generation 1 is on the media anyway.
    rig.printer.set_offline(true);
    open_poll(&mut app, &mut rig);
    assert_eq!(app.record_position().unwrap().1, Some(1));
    assert_eq!(
        app.print_fault(),
        Some(PrintError::Printer(PrinterError::Offline))
    );
    assert!(
        text(&app).contains("E902: Rapport niet afgedrukt"),
        "{}",
        text(&app)
    );
    // Fixed: print again from the opening report screen.
    rig.printer.set_offline(false);
    tap(&mut app, &mut rig, "print-again");
    assert_eq!(app.print_fault(), None);
    assert_eq!(rig.printer.cuts(), 1);
    rig.take();
    tap(&mut app, &mut rig, "continue");
    // The printer fails during a cast: the ballot is recorded once, the voter is told.
    rig.printer.set_offline(true);
    let generation = app.record_position().unwrap().1.unwrap();
    vote(&mut app, &mut rig, "nl", &["blank", "blank"]);
    assert_eq!(app.terminal().counters().cast, 1);
    assert_eq!(app.terminal().store().ballots(0), 1);
    assert_eq!(app.record_position().unwrap().1, Some(generation + 1));
    let shown = text(&app);
    assert!(shown.contains("E902: Stem opgeslagen"), "{shown}");
    assert!(shown.contains("Uw stem is geregistreerd"), "{shown}");
    assert!(rig.take().is_empty());
    // The next voter gets a ticket; the first ticket is never printed late.
    rig.printer.set_offline(false);
    let choices = vote(
        &mut app,
        &mut rig,
        "nl",
        &["list-2", "top-box", "next", "blank"],
    );
    assert_eq!(app.terminal().counters().cast, 2);
    assert_eq!(app.terminal().store().ballots(0), 2);
    assert_eq!(app.print_fault(), None);
    let lines = rig.take();
    check_ticket(&app, event, &lines, &choices);
    // Out of paper in the middle of a ticket: still recorded exactly once.
    let mut short = RamPrinter::<100>::new();
    let mut dev = Devices {
        display: &mut rig.display,
        media: &mut rig.media,
        printer: &mut short,
        clock: &rig.clock,
        entropy: &mut rig.entropy,
    };
    app.handle(InputEvent::Operator(OperatorKey::ActivateVoter), &mut dev)
        .unwrap();
    for name in ["lang-nl", "blank", "blank", "confirm"] {
        let area = app.element(name).unwrap();
        let (x, y) = (area.x() + 1, area.y() + 1);
        app.handle(InputEvent::Tap { x, y }, &mut dev).unwrap();
        app.settle(&mut dev).unwrap();
    }
    assert_eq!(app.terminal().counters().cast, 3);
    assert_eq!(app.terminal().store().ballots(1), 3);
    assert_eq!(short.lines().len(), 100);
    assert_eq!(
        app.print_fault(),
        Some(PrintError::Printer(PrinterError::OutOfPaper))
    );
    assert!(text(&app).contains("E901"));
}

#[test]
fn every_ticket_of_an_election_scans_back() {
    let event = event(Mode::Official, &[Language::Nl, Language::Fr]);
    let seed = [0x5e; 32];
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let public: [u8; 32] = {
        use ring::signature::KeyPair;
        pair.public_key().as_ref().try_into().unwrap()
    };
    let chamber = &event.elections[0];
    let mut all = vec![Choice::Blank];
    for (l, list) in chamber.lists.iter().enumerate() {
        let index = ListIndex::new(l, chamber).unwrap();
        let count = list.candidates.len();
        all.push(Choice::List(index));
        for mask in 1..1u64 << count {
            all.push(Choice::Preferences {
                list: index,
                candidates: CandidateSet::from_mask(mask, count).unwrap(),
            });
        }
    }
    assert_eq!(all.len(), 1 + 3 * 16);
    let europe = [
        Choice::Blank,
        Choice::List(list(event, 1, 1)),
        Choice::Preferences {
            list: list(event, 1, 0),
            candidates: CandidateSet::from_mask(0b11, 2).unwrap(),
        },
    ];
    for (i, &first) in all.iter().enumerate() {
        let cast = [first, europe[i % europe.len()]];
        let ticket = Ticket::assemble(event, &cast, &public, |unsigned| {
            let message = [firmware::ticket::TICKET_SIGNATURE_LABEL, unsigned].concat();
            Ok(pair.sign(&message).as_ref().try_into().unwrap())
        })
        .unwrap();
        let mut printer = Box::new(RamPrinter::<ROLL_LINES>::new());
        let language = [Language::Nl, Language::Fr][i % 2];
        ticket.print(event, language, &mut *printer).unwrap();
        let scanned = Ticket::parse(&scan(printer.lines())).unwrap();
        scanned.verify().unwrap();
        assert_eq!(scanned, ticket, "ticket {i}");
        assert_eq!(scanned.choice(event, 0).unwrap(), cast[0]);
        assert_eq!(scanned.choice(event, 1).unwrap(), cast[1]);
    }
}

/// Print with `print(at, slice)` a slice at a time until done; the rows and the cuts.
fn in_slices(
    slice: u32,
    mut print: impl FnMut(&mut dyn firmware::hal::Printer, PrintPosition, u32) -> Printed,
) -> (Vec<RasterLine>, u32) {
    let mut printer = Box::new(RamPrinter::<ROLL_LINES>::new());
    let mut at = PrintPosition::START;
    for calls in 0.. {
        assert!(calls < 10_000, "never done");
        let before = printer.lines().len();
        let printed = print(&mut *printer, at, slice);
        let rows = printer.lines().len() - before;
        assert!(rows as u32 <= slice, "at most {slice} rows a slice");
        assert!(printed.next.row() > at.row() || printed.done);
        assert_eq!(
            printer.cuts(),
            u32::from(printed.done),
            "cut only at the end"
        );
        assert_eq!(printed.next.row() as usize, printer.lines().len());
        at = printed.next;
        if printed.done {
            break;
        }
    }
    (printer.lines().to_vec(), printer.cuts())
}

#[test]
fn printing_in_slices_gives_the_same_rows() {
    let event = event(Mode::Training, &[Language::Nl, Language::Fr]);
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[3; 32]).unwrap();
    let public: [u8; 32] = {
        use ring::signature::KeyPair;
        pair.public_key().as_ref().try_into().unwrap()
    };
    let cast = [
        Choice::Preferences {
            list: list(event, 0, 1),
            candidates: CandidateSet::from_mask(0b1011, 4).unwrap(),
        },
        Choice::Blank,
    ];
    let ticket = Ticket::assemble(event, &cast, &public, |unsigned| {
        let message = [firmware::ticket::TICKET_SIGNATURE_LABEL, unsigned].concat();
        Ok(pair.sign(&message).as_ref().try_into().unwrap())
    })
    .unwrap();
    let mut store = Box::new(BallotStore::new());
    store.reset(event).unwrap();
    store.cast(event, &cast).unwrap();
    let report = |kind| firmware::report::Report {
        kind,
        event,
        language: Language::Fr,
        station: STATION,
        version: "0.1.0",
        image_fingerprint: &[1; 32],
        session_fingerprint: &[2; 32],
        counters: firmware::terminal::Counters {
            activations: 1,
            cast: 1,
            cancelled: 0,
        },
        store: &store,
        generation: Some(3),
    };
    let whole_ticket = in_slices(u32::MAX, |p, at, rows| {
        ticket
            .print_slice(event, Language::Nl, p, at, rows)
            .unwrap()
    });
    let mut printer = Box::new(RamPrinter::<ROLL_LINES>::new());
    ticket.print(event, Language::Nl, &mut *printer).unwrap();
    assert_eq!(whole_ticket.0, printer.lines());
    for slice in [1, 37, 128, 500] {
        let sliced = in_slices(slice, |p, at, rows| {
            ticket
                .print_slice(event, Language::Nl, p, at, rows)
                .unwrap()
        });
        assert!(sliced == whole_ticket, "ticket in slices of {slice}");
        for kind in [
            firmware::report::ReportKind::Opening,
            firmware::report::ReportKind::Closing,
        ] {
            let whole = in_slices(u32::MAX, |p, at, rows| {
                report(kind).print_slice(p, at, rows).unwrap()
            });
            let sliced = in_slices(slice, |p, at, rows| {
                report(kind).print_slice(p, at, rows).unwrap()
            });
            assert!(sliced == whole, "{kind:?} in slices of {slice}");
        }
    }
}
