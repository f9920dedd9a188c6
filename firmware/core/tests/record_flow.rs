//! The app writes a sealed record at poll opening, after every confirmed ballot, after every
//! cancelled session and at close; the office opens the media and finds exactly the ballots
//! whose "vote recorded" screen was shown. Power is cut at every byte of a cast's media
//! writes (ballots 1, 2 and 50), then the terminal reboots on the same media.

use firmware::app::{App, AppError, BootInfo, Devices};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{FakeClock, RamMedia, RamPrinter, RecordingDisplay, SeededEntropy};
use firmware::hal::{Framebuffer, InputEvent, OperatorKey};
use firmware::media::Volume;
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::record::{RecordBody, RecordScratch, MAX_SEALED_RECORD_BYTES};
use firmware::seal::{self, Identifier, PollState};
use firmware::store::BallotStore;
use firmware::terminal::{Counters, Phase};
use std::num::NonZeroU32;

const PIN: &str = "4711";
const STATION: &str = "BXL-0421";
const IMAGE: [u8; 32] = [0x5a; 32];
const OFFICE_SECRET: [u8; 32] = [0x42; 32];
/// Sectors of the RAM media: room for several areas of this small event.
const MEDIA_BYTES: usize = 4 * 1024 * 1024;

fn names(text: &'static str) -> Names<'static> {
    Names {
        nl: Some(text),
        fr: None,
        de: None,
        en: None,
    }
}

/// One language, two elections: 3 lists x 3 candidates, and 2 lists x 2 candidates.
fn event() -> &'static Event<'static> {
    let mut event = Event {
        id: "BE-2026-REC",
        names: names("Verkiezingen"),
        date: Date::new(2026, 5, 31).unwrap(),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl]).unwrap(),
        elections: heapless::Vec::new(),
    };
    for (id, lists, candidates) in [("kamer", 3usize, 3usize), ("europa", 2, 2)] {
        let mut election = Election {
            id,
            names: names(id),
            constituency: names("Kieskring"),
            seats: 5,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: false,
            lists: heapless::Vec::new(),
        };
        for l in 0..lists {
            let people: Vec<Candidate<'static>> = (0..candidates)
                .map(|c| Candidate {
                    name: ["PEETERS Anna", "DUPONT Luc", "MAES Noor"][c],
                    kind: CandidateKind::Titular,
                })
                .collect();
            let buf = vec![0u8; 1024].leak();
            election
                .lists
                .push(List {
                    number: u16::try_from(l + 1).unwrap(),
                    name: ["ROOD", "GROEN", "BLAUW"][l],
                    candidates: Candidates::encode(&people, buf).unwrap(),
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
    printer: RamPrinter<8>,
    clock: FakeClock,
    entropy: SeededEntropy,
}

impl Rig {
    fn new(seed: u8) -> Rig {
        Rig {
            display: RecordingDisplay::new(),
            printer: RamPrinter::new(),
            clock: FakeClock::new(Date::new(2026, 5, 31).unwrap(), 1_000),
            entropy: SeededEntropy::new([seed; 32]),
        }
    }

    fn devices<'d>(&'d mut self, media: &'d mut RamMedia<'_>) -> Devices<'d> {
        Devices {
            display: &mut self.display,
            media,
            printer: &mut self.printer,
            clock: &self.clock,
            entropy: &mut self.entropy,
        }
    }
}

fn boot(event: &'static Event<'static>, dev: &mut Devices<'_>) -> App<'static> {
    let info = BootInfo {
        event,
        image_fingerprint: IMAGE,
        office_public_key: seal::office_public_key(&OFFICE_SECRET),
        pin_verifier: PinVerifier::derive(
            PIN.as_bytes(),
            [3; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
        ),
        station: STATION,
    };
    let store: &'static mut BallotStore = Box::leak(Box::new(BallotStore::new()));
    let frame: &'static mut Framebuffer = Box::leak(Box::new(Framebuffer::new()));
    let mut app = App::boot(info, store, frame, dev).unwrap();
    app.attach_records(Box::leak(Box::new(RecordScratch::new())));
    app
}

fn text(app: &App<'_>) -> String {
    let mut s = String::new();
    app.screen_text(&mut s).unwrap();
    s
}

fn press(app: &mut App<'_>, dev: &mut Devices<'_>, name: &str) -> Result<(), AppError> {
    let area = app
        .element(name)
        .unwrap_or_else(|| panic!("no element {name:?} on screen:\n{}", text(app)));
    let x = area.x() + area.width() / 2;
    let y = area.y() + area.height() / 2;
    app.handle(InputEvent::Tap { x, y }, dev)?;
    // Work the tap starts (a PIN check, a record write) runs in the ticks that follow.
    app.settle(dev)
}

fn tap(app: &mut App<'_>, dev: &mut Devices<'_>, name: &str) {
    press(app, dev, name).unwrap();
}

fn op(app: &mut App<'_>, dev: &mut Devices<'_>, key: OperatorKey) -> Result<(), AppError> {
    app.handle(InputEvent::Operator(key), dev)?;
    app.settle(dev)
}

fn pin(app: &mut App<'_>, dev: &mut Devices<'_>) -> Result<(), AppError> {
    for d in PIN.chars() {
        tap(app, dev, &format!("pin-{d}"));
    }
    press(app, dev, "pin-ok")
}

fn open_poll(app: &mut App<'_>, dev: &mut Devices<'_>) {
    op(app, dev, OperatorKey::OpenPoll).unwrap();
    pin(app, dev).unwrap();
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
}

fn recorded_shown(app: &App<'_>) -> bool {
    text(app).contains("Uw stem is geregistreerd")
}

/// The choices of voter `i`, and the taps that make them (everything but "confirm").
fn voter(event: &Event<'_>, i: usize) -> (Vec<Choice>, Vec<String>) {
    let kamer = &event.elections[0];
    let europa = &event.elections[1];
    let mut taps = Vec::new();
    let first = match i % 3 {
        0 => {
            taps.push("blank".to_string());
            Choice::Blank
        }
        n => {
            let list = n; // 1 or 2: lists 2 and 3 (0-based 1, 2)
            let candidate = i % 3 + (i / 3) % 2; // 1..=3
            let candidate = candidate.clamp(1, 3);
            taps.push(format!("list-{}", list + 1));
            taps.push(format!("candidate-{candidate}"));
            taps.push("next".to_string());
            Choice::Preferences {
                list: ListIndex::new(list, kamer).unwrap(),
                candidates: CandidateSet::from_mask(1 << (candidate - 1), 3).unwrap(),
            }
        }
    };
    let second = if i % 2 == 0 {
        taps.push("blank".to_string());
        Choice::Blank
    } else {
        taps.push("list-1".to_string());
        taps.push("candidate-2".to_string());
        taps.push("next".to_string());
        Choice::Preferences {
            list: ListIndex::new(0, europa).unwrap(),
            candidates: CandidateSet::from_mask(0b10, 2).unwrap(),
        }
    };
    (vec![first, second], taps)
}

/// Bring voter `i` to the review screen.
fn to_review(app: &mut App<'_>, dev: &mut Devices<'_>, event: &Event<'_>, i: usize) {
    op(app, dev, OperatorKey::ActivateVoter).unwrap();
    for t in voter(event, i).1 {
        tap(app, dev, &t);
    }
    assert_eq!(app.phase(), Phase::Review, "voter {i}: {}", text(app));
}

/// Let voter `i` vote and check the "vote recorded" screen.
fn cast(app: &mut App<'_>, dev: &mut Devices<'_>, event: &Event<'_>, i: usize) {
    to_review(app, dev, event, i);
    tap(app, dev, "confirm");
    assert!(recorded_shown(app), "voter {i}: {}", text(app));
}

/// What the office finds: per claimed area, the newest record's state, counters and store.
struct AreaFound {
    state: PollState,
    counters: Counters,
    generation: u64,
    store: Box<BallotStore>,
}

fn office_open(event: &Event<'_>, data: &mut [u8]) -> Vec<AreaFound> {
    let mut media = RamMedia::new(data);
    let volume = Volume::mount(&mut media).unwrap();
    let areas = volume.claimed_areas(&mut media).unwrap();
    let event_id = Identifier::new(event.id).unwrap();
    let mut found = Vec::new();
    let mut keys = Vec::new();
    for area in 0..areas {
        let mut raw = vec![0u8; volume.superblock().slot_capacity_bytes()];
        let Some(rec) = volume.read_area(&mut media, area, &mut raw).unwrap() else {
            continue;
        };
        let mut body = vec![0u8; MAX_SEALED_RECORD_BYTES];
        let opened = seal::open(&raw[..rec.len], &OFFICE_SECRET, &mut body).unwrap();
        opened.expect_event(&event_id).unwrap();
        opened.expect_image(&IMAGE).unwrap();
        assert_eq!(opened.header.record.generation, rec.generation);
        assert_eq!(opened.header.record.station_id.as_str(), STATION);
        keys.push(opened.header.session_public_key);
        let decoded = RecordBody::decode(opened.body).unwrap();
        assert_eq!(decoded.state, opened.header.record.state);
        let mut store = Box::new(BallotStore::new());
        decoded.load(event, &mut store).unwrap();
        found.push(AreaFound {
            state: decoded.state,
            counters: decoded.counters,
            generation: rec.generation,
            store,
        });
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), found.len(), "one session key per area");
    found
}

/// Check the office finds exactly voters `0..voters` over all areas.
fn assert_holds_voters(event: &Event<'_>, found: &[AreaFound], voters: usize) {
    let cast: u32 = found.iter().map(|a| a.counters.cast).sum();
    assert_eq!(cast as usize, voters, "ballots on the media");
    let mut expected: Vec<(usize, Choice, usize)> = Vec::new();
    for i in 0..voters {
        for (e, choice) in voter(event, i).0.into_iter().enumerate() {
            match expected
                .iter_mut()
                .find(|(x, c, _)| *x == e && *c == choice)
            {
                Some(entry) => entry.2 += 1,
                None => expected.push((e, choice, 1)),
            }
        }
    }
    for (e, choice, n) in expected {
        let on_media: usize = found
            .iter()
            .map(|a| a.store.count(event, e, &choice).unwrap())
            .sum();
        assert_eq!(on_media, n, "election {e}, {choice:?}");
    }
}

#[test]
fn open_vote_cancel_close_then_the_office_finds_exactly_the_ballots() {
    let event = event();
    let mut data = vec![0u8; MEDIA_BYTES];
    let mut rig = Rig::new(1);
    {
        let mut media = RamMedia::new(&mut data);
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        open_poll(&mut app, &mut dev);
        assert!(app.session_fingerprint().is_some());
        assert_eq!(app.record_position(), Some((0, Some(1))));
        for i in 0..7 {
            cast(&mut app, &mut dev, event, i);
        }
        // An abandoned booth is cancelled; the record keeps the counter.
        op(&mut app, &mut dev, OperatorKey::ActivateVoter).unwrap();
        op(&mut app, &mut dev, OperatorKey::CancelSession).unwrap();
        assert_eq!(app.record_position(), Some((0, Some(9))));
        op(&mut app, &mut dev, OperatorKey::ClosePoll).unwrap();
        pin(&mut app, &mut dev).unwrap();
        assert_eq!(app.phase(), Phase::Closed);
        assert_eq!(app.record_position(), Some((0, Some(10))));
    }
    let found = office_open(event, &mut data);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, PollState::Closed);
    assert_eq!(found[0].generation, 10);
    assert_eq!(
        found[0].counters,
        Counters {
            activations: 8,
            cast: 7,
            cancelled: 1
        }
    );
    assert_holds_voters(event, &found, 7);
}

#[test]
fn a_reboot_takes_a_new_area_and_keeps_the_earlier_session() {
    let event = event();
    let mut data = vec![0u8; MEDIA_BYTES];
    for (session, voters) in [(0u8, 0..3usize), (1, 3..5)] {
        let mut rig = Rig::new(10 + session);
        let mut media = RamMedia::new(&mut data);
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        open_poll(&mut app, &mut dev);
        assert_eq!(app.record_position(), Some((u32::from(session), Some(1))));
        for i in voters {
            cast(&mut app, &mut dev, event, i);
        }
        // Session 0 never closes (power lost); session 1 closes.
        if session == 1 {
            op(&mut app, &mut dev, OperatorKey::ClosePoll).unwrap();
            pin(&mut app, &mut dev).unwrap();
        }
    }
    let found = office_open(event, &mut data);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].state, PollState::Open);
    assert_eq!(found[1].state, PollState::Closed);
    assert_holds_voters(event, &found, 5);
}

#[test]
fn media_problems_stop_the_terminal_with_a_code() {
    let event = event();
    // Missing media: the poll does not open; the error screen shows 601.
    {
        let mut data = vec![0u8; MEDIA_BYTES];
        let mut rig = Rig::new(2);
        let mut media = RamMedia::new(&mut data);
        media.remove();
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        op(&mut app, &mut dev, OperatorKey::OpenPoll).unwrap();
        let err = pin(&mut app, &mut dev).unwrap_err();
        assert_eq!(err.code(), 601, "{err}");
        assert_eq!(app.phase(), Phase::Halted);
        assert!(text(&app).contains("601"), "{}", text(&app));
        assert!(op(&mut app, &mut dev, OperatorKey::ActivateVoter).is_ok());
        assert_eq!(app.terminal().counters().activations, 0);
    }
    // Foreign media (sector 0 holds something else): 603.
    {
        let mut data = vec![0u8; MEDIA_BYTES];
        data[..3].copy_from_slice(b"\xeb\x3c\x90");
        let mut rig = Rig::new(3);
        let mut media = RamMedia::new(&mut data);
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        op(&mut app, &mut dev, OperatorKey::OpenPoll).unwrap();
        assert_eq!(pin(&mut app, &mut dev).unwrap_err().code(), 603);
    }
    // Media too small for one area: 608.
    {
        let mut data = vec![0u8; 2 * 512];
        let mut rig = Rig::new(4);
        let mut media = RamMedia::new(&mut data);
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        op(&mut app, &mut dev, OperatorKey::OpenPoll).unwrap();
        assert_eq!(pin(&mut app, &mut dev).unwrap_err().code(), 608);
    }
    // Media pulled while voting: the confirm is not reported recorded; no more votes.
    {
        let mut data = vec![0u8; MEDIA_BYTES];
        let mut rig = Rig::new(5);
        let mut media = RamMedia::new(&mut data);
        {
            let mut dev = rig.devices(&mut media);
            let mut app = boot(event, &mut dev);
            open_poll(&mut app, &mut dev);
            cast(&mut app, &mut dev, event, 0);
            to_review(&mut app, &mut dev, event, 1);
            media.remove();
            let mut dev = rig.devices(&mut media);
            let err = press(&mut app, &mut dev, "confirm").unwrap_err();
            assert_eq!(err.code(), 601, "{err}");
            assert!(!recorded_shown(&app));
            assert_eq!(app.phase(), Phase::Halted);
            assert!(text(&app).contains("601"), "{}", text(&app));
            op(&mut app, &mut dev, OperatorKey::ActivateVoter).unwrap();
            assert_eq!(app.phase(), Phase::Halted);
        }
        media.insert();
        let found = office_open(event, &mut data);
        assert_holds_voters(event, &found, 1);
    }
}

/// Outcome of one cut.
#[derive(Debug, Default)]
struct CutTally {
    cuts: usize,
    previous: usize,
    landed: usize,
    completed: usize,
}

/// Cast voters `0..n-1`, cut power at byte `k` of voter `n-1`'s confirm, reboot, open the
/// poll again, and check what the office finds. Returns the bytes the confirm wrote when
/// `k` is `None` (no cut).
fn cut_run(event: &'static Event<'static>, n: usize, k: Option<u64>, tally: &mut CutTally) -> u64 {
    let mut data = vec![0u8; MEDIA_BYTES];
    let mut rig = Rig::new(7);
    let written;
    let shown;
    {
        let mut media = RamMedia::new(&mut data);
        {
            let mut dev = rig.devices(&mut media);
            let mut app = boot(event, &mut dev);
            open_poll(&mut app, &mut dev);
            for i in 0..n - 1 {
                cast(&mut app, &mut dev, event, i);
            }
            to_review(&mut app, &mut dev, event, n - 1);
            if let Some(k) = k {
                media.cut_power_at_byte(k);
            }
            let before = media.bytes_written();
            let mut dev = rig.devices(&mut media);
            let result = press(&mut app, &mut dev, "confirm");
            shown = recorded_shown(&app);
            written = media.bytes_written() - before;
            match &result {
                Ok(()) => assert!(shown, "{}", text(&app)),
                Err(e) => {
                    assert!(!shown, "recorded shown after a failed write: {e}");
                    assert_eq!(e.code(), 620, "{e}");
                    assert_eq!(app.phase(), Phase::Halted);
                }
            }
        }
        // Reboot: power back, a new app on the same media opens the poll in a new area.
        media.restore_power();
        media.disarm_power_cut();
        let mut rig = Rig::new(8);
        let mut dev = rig.devices(&mut media);
        let mut app = boot(event, &mut dev);
        open_poll(&mut app, &mut dev);
        assert_eq!(app.record_position().map(|(_, g)| g), Some(Some(1)));
    }
    let found = office_open(event, &mut data);
    let on_media: u32 = found.iter().map(|a| a.counters.cast).sum();
    let on_media = on_media as usize;
    tally.cuts += 1;
    if shown {
        tally.completed += 1;
        assert_eq!(on_media, n, "cut {k:?}: a recorded vote is missing");
    } else if on_media == n {
        tally.landed += 1;
    } else {
        tally.previous += 1;
        assert_eq!(on_media, n - 1, "cut {k:?}");
    }
    assert_holds_voters(event, &found, on_media);
    // The reboot's session is the last area, holds no ballots and is open.
    let last = found.last().unwrap();
    assert_eq!(last.counters, Counters::default());
    assert_eq!(last.state, PollState::Open);
    written
}

fn cut_at_every_byte(n: usize) -> CutTally {
    let event = event();
    let mut tally = CutTally::default();
    let total = cut_run(event, n, None, &mut tally);
    assert!(total > 0);
    for k in 0..=total {
        cut_run(event, n, Some(k), &mut tally);
    }
    println!("ballot {n}: {total} bytes written by the confirm; {tally:?}");
    assert!(tally.previous > 0 && tally.completed > 0);
    tally
}

#[test]
fn power_cut_at_every_byte_of_the_first_ballot() {
    cut_at_every_byte(1);
}

#[test]
fn power_cut_at_every_byte_of_the_second_ballot() {
    cut_at_every_byte(2);
}

/// About 150 screens per run and a run per byte: minutes. Run with
/// `cargo test -p firmware --test record_flow -- --ignored`.
#[test]
#[ignore = "slow: replays 50 voters for every cut point"]
fn power_cut_at_every_byte_of_the_fiftieth_ballot() {
    cut_at_every_byte(50);
}

/// The fiftieth ballot by default: every sector boundary (and its neighbours) and every
/// 61st byte in between.
#[test]
fn power_cut_at_sampled_bytes_of_the_fiftieth_ballot() {
    let event = event();
    let mut tally = CutTally::default();
    let total = cut_run(event, 50, None, &mut tally);
    let mut points: Vec<u64> = (0..=total).step_by(61).collect();
    for s in (0..=total).step_by(512) {
        points.extend(
            [s.saturating_sub(1), s, s + 1]
                .into_iter()
                .filter(|&p| p <= total),
        );
    }
    points.push(total);
    points.sort_unstable();
    points.dedup();
    for k in points {
        cut_run(event, 50, Some(k), &mut tally);
    }
    println!("ballot 50 (sampled): {total} bytes; {tally:?}");
    assert!(tally.previous > 0 && tally.completed > 0);
}
