//! The office opens results media written by the terminal's recorder: counts, session key
//! fingerprints, and one named failure class per way a record can be wrong.

use boot_image::records::{open_media, open_record, Expected, RecordError};
use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::hal::doubles::{RamMedia, SeededEntropy};
use firmware::record::{
    RecordBody, RecordContent, RecordScratch, Recorder, RecorderSetup, MAX_RECORD_BODY_BYTES,
};
use firmware::seal::{self, Identifier, PollState, RecordHeader, SessionKey};
use firmware::store::{BallotStore, STORE_DIGEST_BYTES, STORE_DIGEST_LABEL};
use firmware::terminal::Counters;

const STATION: &str = "GNT-0007";
const IMAGE: [u8; 32] = [0x17; 32];
const OFFICE_SECRET: [u8; 32] = [0x99; 32];

fn names(text: &'static str) -> Names<'static> {
    Names {
        nl: Some(text),
        fr: None,
        de: None,
        en: None,
    }
}

fn event(id: &'static str) -> &'static Event<'static> {
    let mut event = Event {
        id,
        names: names("Verkiezingen"),
        date: Date::new(2026, 5, 31).unwrap(),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(&[Language::Nl]).unwrap(),
        elections: heapless::Vec::new(),
    };
    let mut election = Election {
        id: "kamer",
        names: names("Kamer"),
        constituency: names("Kieskring"),
        seats: 4,
        method: SeatMethod::DHondt,
        threshold: 500,
        successors: false,
        lists: heapless::Vec::new(),
    };
    for l in 0..2u16 {
        let people: Vec<Candidate<'static>> = ["A", "B", "C"]
            .iter()
            .map(|name| Candidate {
                name,
                kind: CandidateKind::Titular,
            })
            .collect();
        election
            .lists
            .push(List {
                number: l + 1,
                name: ["ROOD", "GROEN"][usize::from(l)],
                candidates: Candidates::encode(&people, vec![0u8; 512].leak()).unwrap(),
            })
            .unwrap();
    }
    event.elections.push(election).unwrap();
    event.validate().unwrap();
    Box::leak(Box::new(event))
}

fn choice(event: &Event<'_>, i: usize) -> Choice {
    if i % 3 == 0 {
        Choice::Blank
    } else {
        Choice::Preferences {
            list: ListIndex::new(i % 2, &event.elections[0]).unwrap(),
            candidates: CandidateSet::from_mask(1 << (i % 3), 3).unwrap(),
        }
    }
}

fn setup(event: &'static Event<'static>) -> RecorderSetup<'static> {
    RecorderSetup {
        event,
        station: STATION,
        image_digest: IMAGE,
        office_public: seal::office_public_key(&OFFICE_SECRET),
    }
}

/// One boot session on `media`: open, `voters` ballots (one record each), optionally close.
/// Returns the session fingerprint.
fn session(
    event: &'static Event<'static>,
    media: &mut RamMedia<'_>,
    seed: u8,
    voters: std::ops::Range<usize>,
    close: bool,
) -> [u8; 32] {
    let mut entropy = SeededEntropy::new([seed; 32]);
    let mut store = Box::new(BallotStore::new());
    let mut scratch = Box::new(RecordScratch::new());
    store.reset(event).unwrap();
    let mut recorder = Recorder::open(&setup(event), &store, media, &mut entropy).unwrap();
    let mut counters = Counters::default();
    let mut write = |recorder: &mut Recorder, store: &BallotStore, counters, state| {
        recorder
            .write(
                &RecordContent {
                    state,
                    counters,
                    store,
                    event,
                },
                &mut scratch,
                media,
                &mut entropy,
            )
            .unwrap();
    };
    write(&mut recorder, &store, counters, PollState::Open);
    for i in voters {
        store.cast(event, &[choice(event, i)]).unwrap();
        counters.activations += 1;
        counters.cast += 1;
        write(&mut recorder, &store, counters, PollState::Open);
    }
    if close {
        write(&mut recorder, &store, counters, PollState::Closed);
    }
    recorder.fingerprint()
}

#[test]
fn two_sessions_open_with_their_counts_and_fingerprints() {
    let event = event("BE-2026-OFFICE");
    let mut data = vec![0u8; 1 << 20];
    let (first, second) = {
        let mut media = RamMedia::new(&mut data);
        let first = session(event, &mut media, 1, 0..4, false);
        let second = session(event, &mut media, 2, 4..7, true);
        (first, second)
    };
    let expected = Expected {
        event,
        image_digest: IMAGE,
    };
    let sessions = open_media(&data, &OFFICE_SECRET, &expected).unwrap();
    assert_eq!(sessions.len(), 2);
    let (a, b) = (&sessions[0], &sessions[1]);
    assert_eq!((a.area, b.area), (Some(0), Some(1)));
    assert_eq!(a.session_fingerprint, first);
    assert_eq!(b.session_fingerprint, second);
    assert_ne!(first, second);
    assert_eq!(a.fingerprint_text().split(' ').count(), 16);
    assert!(a.never_closed());
    assert!(!b.never_closed());
    assert_eq!((a.generation, b.generation), (5, 5));
    assert_eq!(a.station, STATION);
    assert_eq!(
        a.counters,
        Counters {
            activations: 4,
            cast: 4,
            cancelled: 0
        }
    );
    assert_eq!(b.counters.cast, 3);
    for (record, voters) in [(a, 0..4), (b, 4..7)] {
        for i in voters.clone() {
            let c = choice(event, i);
            let want = voters.clone().filter(|&j| choice(event, j) == c).count();
            assert_eq!(record.store.count(event, 0, &c), Ok(want));
        }
        assert!(record.damaged_slots.is_empty());
    }

    // The wrong office key: every area fails to decrypt; the error names the area.
    let err = open_media(&data, &[0x55; 32], &expected).unwrap_err();
    assert_eq!(err.class(), "decrypt-failure", "{err}");
    assert!(err.to_string().contains("area 0"), "{err}");
    // Another image, another event.
    let other = Expected {
        event,
        image_digest: [0; 32],
    };
    assert_eq!(
        open_media(&data, &OFFICE_SECRET, &other)
            .unwrap_err()
            .class(),
        "wrong-image"
    );
    let other = Expected {
        event: self::event("BE-2026-OTHER"),
        image_digest: IMAGE,
    };
    assert_eq!(
        open_media(&data, &OFFICE_SECRET, &other)
            .unwrap_err()
            .class(),
        "wrong-event"
    );
    // Not media at all.
    assert_eq!(
        open_media(&data[..1000], &OFFICE_SECRET, &expected)
            .unwrap_err()
            .class(),
        "media"
    );
    assert_eq!(
        open_media(&vec![0x33; 4096], &OFFICE_SECRET, &expected)
            .unwrap_err()
            .class(),
        "media"
    );
}

/// A store of `voters` ballots serialized into a record body with `counters`.
fn body(event: &Event<'_>, voters: usize, counters: Counters, state: PollState) -> Vec<u8> {
    let mut store = Box::new(BallotStore::new());
    store.reset(event).unwrap();
    for i in 0..voters {
        store.cast(event, &[choice(event, i)]).unwrap();
    }
    let mut out = vec![0u8; MAX_RECORD_BODY_BYTES];
    RecordBody::encode(state, counters, &store, event, &mut out)
        .unwrap()
        .to_vec()
}

fn sealed(event: &Event<'_>, body: &[u8], state: PollState) -> Vec<u8> {
    let header = RecordHeader {
        event_id: Identifier::new(event.id).unwrap(),
        station_id: Identifier::new(STATION).unwrap(),
        image_digest: IMAGE,
        generation: 3,
        state,
    };
    let key = SessionKey::from_seed(&[4; 32]).unwrap();
    let mut out = vec![0u8; seal::sealed_len(body.len()).unwrap()];
    let mut entropy = SeededEntropy::new([6; 32]);
    let len = seal::seal(
        &header,
        body,
        &seal::office_public_key(&OFFICE_SECRET),
        &key,
        &mut entropy,
        &mut out,
    )
    .unwrap();
    out.truncate(len);
    out
}

#[test]
fn every_failure_has_its_class() {
    let event = event("BE-2026-OFFICE");
    let expected = Expected {
        event,
        image_digest: IMAGE,
    };
    let balanced = Counters {
        activations: 5,
        cast: 4,
        cancelled: 1,
    };
    let good_body = body(event, 4, balanced, PollState::Closed);
    let good = sealed(event, &good_body, PollState::Closed);
    let opened = open_record(&good, &OFFICE_SECRET, &expected).unwrap();
    assert_eq!(opened.counters, balanced);
    assert_eq!(opened.generation, 3);

    // A tally word raised by one, with the store digest recomputed: the recount catches it.
    let mut forged = good_body.clone();
    let end = forged.len() - STORE_DIGEST_BYTES;
    forged[end - 1] += 1;
    let start = firmware::record::BODY_HEADER_BYTES;
    let digest = {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(STORE_DIGEST_LABEL);
        ctx.update(&forged[start..end]);
        ctx.finish()
    };
    forged[end..].copy_from_slice(digest.as_ref());

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let other_image = Expected {
        event,
        image_digest: [1; 32],
    };
    let other_event = Expected {
        event: self::event("BE-2026-OTHER"),
        image_digest: IMAGE,
    };
    let cases: Vec<(&str, Result<_, RecordError>, &str)> = vec![
        (
            "bad_signature",
            open_record(&flipped, &OFFICE_SECRET, &expected),
            "bad-signature",
        ),
        (
            "bad_header",
            open_record(&bad_magic, &OFFICE_SECRET, &expected),
            "bad-header",
        ),
        (
            "truncated",
            open_record(&good[..good.len() - 1], &OFFICE_SECRET, &expected),
            "truncated",
        ),
        (
            "wrong_office_key",
            open_record(&good, &[7; 32], &expected),
            "decrypt-failure",
        ),
        (
            "wrong_image",
            open_record(&good, &OFFICE_SECRET, &other_image),
            "wrong-image",
        ),
        (
            "wrong_event",
            open_record(&good, &OFFICE_SECRET, &other_event),
            "wrong-event",
        ),
        (
            "counters_unbalanced",
            open_record(
                &sealed(
                    event,
                    &body(
                        event,
                        4,
                        Counters {
                            activations: 6,
                            cast: 4,
                            cancelled: 1,
                        },
                        PollState::Open,
                    ),
                    PollState::Open,
                ),
                &OFFICE_SECRET,
                &expected,
            ),
            "recount-mismatch",
        ),
        (
            "cast_counter_differs_from_ballots",
            open_record(
                &sealed(
                    event,
                    &body(
                        event,
                        4,
                        Counters {
                            activations: 5,
                            cast: 5,
                            cancelled: 0,
                        },
                        PollState::Open,
                    ),
                    PollState::Open,
                ),
                &OFFICE_SECRET,
                &expected,
            ),
            "recount-mismatch",
        ),
        (
            "tally_forged",
            open_record(
                &sealed(event, &forged, PollState::Closed),
                &OFFICE_SECRET,
                &expected,
            ),
            "recount-mismatch",
        ),
        (
            "body_state_differs_from_header",
            open_record(
                &sealed(event, &good_body, PollState::Open),
                &OFFICE_SECRET,
                &expected,
            ),
            "bad-header",
        ),
        (
            "body_not_a_record_body",
            open_record(
                &sealed(event, b"just some bytes", PollState::Open),
                &OFFICE_SECRET,
                &expected,
            ),
            "bad-body",
        ),
    ];
    for (name, result, class) in cases {
        let err = result.expect_err(name);
        assert_eq!(err.class(), class, "{name}: {err}");
        assert!(err.to_string().starts_with(class), "{name}: {err}");
    }
}
