//! The demo election definition, as the office writes it, drives the firmware's terminal
//! through a polling day on RAM media; the office tool then opens the media with the
//! office key, checks signatures, decrypts and recounts, and must find exactly the
//! ballots the voters cast and the counters the terminal kept.

use boot_image::definition::Definition;
use boot_image::keys::{dev_office_secret, OfficeKey};
use boot_image::records::{open_media, Expected};
use firmware::app::{App, BootInfo, Devices};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::Event;
use firmware::hal::doubles::{FakeClock, RamMedia, RamPrinter, RecordingDisplay, SeededEntropy};
use firmware::hal::{Framebuffer, InputEvent, OperatorKey};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::record::RecordScratch;
use firmware::store::BallotStore;
use firmware::terminal::Phase;
use std::num::NonZeroU32;
use std::path::Path;

const PIN: &str = "123456";
const IMAGE_FINGERPRINT: [u8; 32] = [0x1d; 32];
const MEDIA_BYTES: usize = 16 * 1024 * 1024;

fn demo_event() -> &'static Event<'static> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/demo-election.toml");
    let definition = Box::leak(Box::new(
        Definition::load(&file).expect("demo definition loads"),
    ));
    let event = Box::leak(Box::new(definition.event()));
    event.validate().expect("demo definition is valid");
    event
}

struct Rig {
    display: RecordingDisplay,
    printer: RamPrinter<8>,
    clock: FakeClock,
    entropy: SeededEntropy,
}

impl Rig {
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

fn text(app: &App<'_>) -> String {
    let mut s = String::new();
    app.screen_text(&mut s).unwrap();
    s
}

fn tap(app: &mut App<'_>, dev: &mut Devices<'_>, name: &str) {
    let area = app
        .element(name)
        .unwrap_or_else(|| panic!("no element {name:?} on screen:\n{}", text(app)));
    let (x, y) = (area.x() + area.width() / 2, area.y() + area.height() / 2);
    app.handle(InputEvent::Tap { x, y }, dev).unwrap();
    // Work the tap starts (a PIN check, a record write) runs in the ticks that follow.
    app.settle(dev).unwrap();
}

fn operator_with_pin(app: &mut App<'_>, dev: &mut Devices<'_>, key: OperatorKey) {
    app.handle(InputEvent::Operator(key), dev).unwrap();
    for digit in PIN.chars() {
        tap(app, dev, &format!("pin-{digit}"));
    }
    tap(app, dev, "pin-ok");
}

/// How one voter marks one election.
#[derive(Clone, Copy)]
enum Mark {
    Blank,
    ListVote(usize),
    Candidates(usize, &'static [usize]),
}

fn vote(app: &mut App<'_>, dev: &mut Devices<'_>, marks: &[Mark]) {
    app.handle(InputEvent::Operator(OperatorKey::ActivateVoter), dev)
        .unwrap();
    tap(app, dev, "lang-nl");
    for mark in marks {
        match *mark {
            Mark::Blank => tap(app, dev, "blank"),
            Mark::ListVote(list) => {
                tap(app, dev, &format!("list-{}", list + 1));
                tap(app, dev, "top-box");
                tap(app, dev, "next");
            }
            Mark::Candidates(list, people) => {
                tap(app, dev, &format!("list-{}", list + 1));
                for person in people {
                    tap(app, dev, &format!("candidate-{}", person + 1));
                }
                tap(app, dev, "next");
            }
        }
    }
    assert_eq!(app.phase(), Phase::Review, "{}", text(app));
    tap(app, dev, "confirm");
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(app));
}

fn choice(event: &Event<'_>, election: usize, mark: Mark) -> Choice {
    let e = &event.elections[election];
    match mark {
        Mark::Blank => Choice::Blank,
        Mark::ListVote(list) => Choice::List(ListIndex::new(list, e).unwrap()),
        Mark::Candidates(list, people) => {
            let count = e.lists[list].candidates.len();
            let mask = people.iter().fold(0u64, |m, p| m | 1 << p);
            Choice::Preferences {
                list: ListIndex::new(list, e).unwrap(),
                candidates: CandidateSet::from_mask(mask, count).unwrap(),
            }
        }
    }
}

#[test]
fn office_recounts_exactly_what_the_demo_voters_cast() {
    let event = demo_event();
    assert_eq!(event.elections.len(), 3, "the demo day has three elections");
    let voters: [[Mark; 3]; 4] = [
        [Mark::ListVote(0), Mark::ListVote(1), Mark::ListVote(2)],
        [Mark::Blank, Mark::Blank, Mark::Blank],
        [
            Mark::Candidates(1, &[0, 2]),
            Mark::Candidates(0, &[1]),
            Mark::Blank,
        ],
        [
            Mark::ListVote(0),
            Mark::Candidates(3, &[0]),
            Mark::Candidates(2, &[0, 1]),
        ],
    ];

    let mut media_bytes = vec![0u8; MEDIA_BYTES];
    let mut media = RamMedia::new(&mut media_bytes);
    let mut rig = Rig {
        display: RecordingDisplay::new(),
        printer: RamPrinter::new(),
        clock: FakeClock::new(event.date, 8 * 3_600_000),
        entropy: SeededEntropy::new([0x5e; 32]),
    };
    let info = BootInfo {
        event,
        image_fingerprint: IMAGE_FINGERPRINT,
        office_public_key: OfficeKey::dev().public_key().0,
        pin_verifier: PinVerifier::derive(
            PIN.as_bytes(),
            [9; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap(),
        ),
        station: "LINDENHOVE-001",
    };
    let store: &'static mut BallotStore = Box::leak(Box::new(BallotStore::new()));
    let frame: &'static mut Framebuffer = Box::leak(Box::new(Framebuffer::new()));
    let mut dev = rig.devices(&mut media);
    let mut app = App::boot(info, store, frame, &mut dev).unwrap();
    app.attach_records(Box::leak(Box::new(RecordScratch::new())));

    operator_with_pin(&mut app, &mut dev, OperatorKey::OpenPoll);
    assert_eq!(app.phase(), Phase::PollOpen, "{}", text(&app));
    for marks in &voters {
        vote(&mut app, &mut dev, marks);
    }
    // A voter who walks away: activated, then cancelled by the president.
    app.handle(InputEvent::Operator(OperatorKey::ActivateVoter), &mut dev)
        .unwrap();
    app.handle(InputEvent::Operator(OperatorKey::CancelSession), &mut dev)
        .unwrap();
    app.settle(&mut dev).unwrap();
    operator_with_pin(&mut app, &mut dev, OperatorKey::ClosePoll);
    assert_eq!(app.phase(), Phase::Closed, "{}", text(&app));

    let sessions = open_media(
        media.data(),
        &dev_office_secret(),
        &Expected {
            event,
            image_digest: IMAGE_FINGERPRINT,
        },
    )
    .expect("the office opens the media");
    assert_eq!(sessions.len(), 1, "one boot session on the media");
    let session = &sessions[0];
    assert_eq!(session.counters.activations, 5);
    assert_eq!(session.counters.cast, 4);
    assert_eq!(session.counters.cancelled, 1);
    assert!(!session.never_closed(), "the last record is the closed one");
    for election in 0..3 {
        assert_eq!(session.store.ballots(election), voters.len());
        // Every distinct ballot is counted as many times as voters cast it, and no other.
        for marks in &voters {
            let expected = voters
                .iter()
                .filter(|v| {
                    choice(event, election, v[election]) == choice(event, election, marks[election])
                })
                .count();
            let found = session
                .store
                .count(event, election, &choice(event, election, marks[election]))
                .unwrap();
            assert_eq!(found, expected, "election {election}");
        }
    }
}
