//! No text overflows its box, in any language, in either display mode: every text item of
//! every screen (every page of every list, candidate list and review, every notice and every
//! error screen) is measured with the real font metrics of the face it is drawn in
//! ([`screen::measure_text`]) and must fit the room its box leaves, have a glyph for every
//! character and lie on the panel.
//!
//! Two events are drawn: the representative test event of the goldens and the demo
//! election as the office wrote it (`docs/examples/demo-election.toml`).

mod fixtures;

use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{Event, Language, Mode, MAX_ELECTIONS};
use firmware::hal::{DISPLAY_HEIGHT_PX, DISPLAY_WIDTH_PX};
use firmware::i18n::Text;
use firmware::screen::{self, Notice, PinPurpose, Screen, View};
use firmware::terminal::{Counters, Draft, HaltReason};
use fixtures::*;

const FINGERPRINT: [u8; 32] = [0xb7; 32];

/// Every notice the app shows over the title, with a three-digit code.
const NOTICES: [Text; 10] = [
    Text::PinWrong,
    Text::PinLocked,
    Text::NothingMarked,
    Text::VoterInBooth,
    Text::CannotClose,
    Text::StoreFull,
    Text::NotPossible,
    Text::DisplayFailed,
    Text::ReportNotPrinted,
    Text::TicketNotPrinted,
];

/// A halt of every kind the error screen tells apart, with its code.
const HALTS: [(HaltReason, u16); 8] = [
    (HaltReason::MediaFailure, 601),
    (HaltReason::MediaFailure, 607),
    (HaltReason::MediaFailure, 610),
    (HaltReason::MediaFailure, 618),
    (HaltReason::MediaFailure, 812),
    (HaltReason::MediaFailure, 520),
    (HaltReason::MemoryIntegrity, 510),
    (HaltReason::DeviceFailure, 530),
];

/// Counters with the widest numbers a polling day gives.
const COUNTERS: Counters = Counters {
    activations: 99_999,
    cast: 99_998,
    cancelled: 1,
};

/// Every candidate of list `list` of election `election` ticked, with the top box.
fn all_marks(event: &Event<'_>, election: usize, list: usize) -> Draft {
    let e = &event.elections[election];
    let count = e.lists[list].candidates.len();
    Draft::Marks {
        list: ListIndex::new(list, e).unwrap(),
        top_box: true,
        candidates: CandidateSet::from_mask((1u64 << count) - 1, count).unwrap(),
    }
}

/// The review's worst cases: per election, preferences for every candidate of the list
/// with the longest names; a list vote; blank.
fn reviews(event: &Event<'_>) -> Vec<Vec<Choice>> {
    let longest = |e: usize| {
        let lists = &event.elections[e].lists;
        (0..lists.len())
            .max_by_key(|&l| {
                lists[l]
                    .candidates
                    .iter()
                    .map(|c| c.name.len() + 2)
                    .sum::<usize>()
                    + lists[l].name.len()
            })
            .unwrap()
    };
    let n = event.elections.len();
    let preferences: Vec<Choice> = (0..n)
        .map(|e| all_marks(event, e, longest(e)).choice().unwrap())
        .collect();
    let list_votes: Vec<Choice> = (0..n)
        .map(|e| {
            let el = &event.elections[e];
            Choice::List(ListIndex::new(el.lists.len() - 1, el).unwrap())
        })
        .collect();
    vec![preferences, list_votes, vec![Choice::Blank; n]]
}

/// Every screen to measure for `event`.
fn screens<'v>(event: &'v Event<'v>, choices: &'v [Vec<Choice>]) -> Vec<Screen<'v>> {
    let mut out = vec![
        Screen::Boot {
            fingerprint: &FINGERPRINT,
            station: "LINDENHOVE-001",
            version: "0.1.0",
        },
        Screen::Pin {
            purpose: PinPurpose::Open,
            digits: firmware::app::MAX_PIN_DIGITS,
        },
        Screen::Pin {
            purpose: PinPurpose::Close,
            digits: 0,
        },
        Screen::OpeningReport {
            image: &FINGERPRINT,
            session: [0x5c; 32],
            counters: Counters::default(),
            ballots: [0; MAX_ELECTIONS],
        },
        Screen::Waiting { counters: COUNTERS },
        Screen::Language,
        Screen::Recorded,
        Screen::Cancelled,
        Screen::Closed {
            counters: COUNTERS,
            ballots: [99_998; MAX_ELECTIONS],
        },
        Screen::PoweredOff,
    ];
    for (reason, code) in HALTS {
        out.push(Screen::Halted { reason, code });
    }
    for (e, election) in event.elections.iter().enumerate() {
        out.push(Screen::Lists {
            election: e,
            drafted: Some(0),
            back: true,
        });
        for l in 0..election.lists.len() {
            out.push(Screen::Candidates {
                election: e,
                draft: all_marks(event, e, l),
            });
        }
    }
    for review in choices {
        out.push(Screen::Review { choices: review });
    }
    out
}

/// Measure every page of every screen; the texts that do not fit.
fn misfits(event: &Event<'_>, language: Language, large: bool) -> Vec<String> {
    let choices = reviews(event);
    let mut bad = Vec::new();
    let mut measured = 0usize;
    let mut views = Vec::new();
    for screen in screens(event, &choices) {
        views.push((screen, None));
    }
    for text in NOTICES {
        views.push((
            Screen::Waiting { counters: COUNTERS },
            Some(Notice { code: 999, text }),
        ));
    }
    for (screen, notice) in views {
        let mut view = View {
            event,
            screen,
            language,
            large,
            page: 0,
            focus: None,
            notice,
        };
        for page in 0..screen::pages(&view) {
            view.page = page;
            screen::measure_text(&view, |m| {
                measured += 1;
                let on_panel = m.left_px >= 0
                    && m.top_px >= 0
                    && m.left_px + m.box_width_px as i32 <= i32::from(DISPLAY_WIDTH_PX)
                    && m.top_px + m.box_height_px as i32 <= i32::from(DISPLAY_HEIGHT_PX);
                if !m.fits() || !on_panel {
                    bad.push(format!(
                        "{}{} {:?} page {}: {:?} is {}x{} px (ink {}..{}) in a {}x{} box at ({}, {}){}",
                        language.code(),
                        if large { " large" } else { "" },
                        screen_name(&screen),
                        page + 1,
                        m.text,
                        m.width_px,
                        m.height_px,
                        m.ink_top_px,
                        m.ink_bottom_px,
                        m.room_px,
                        m.box_height_px,
                        m.left_px,
                        m.top_px,
                        m.missing_glyph
                            .map(|c| format!(", no glyph for {c:?}"))
                            .unwrap_or_default(),
                    ));
                }
            });
        }
    }
    assert!(measured > 200, "only {measured} texts were measured");
    bad
}

fn screen_name(screen: &Screen<'_>) -> String {
    let debug = format!("{screen:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or("")
        .to_string()
}

fn check(event: &Event<'_>) {
    let mut bad = Vec::new();
    for language in ALL {
        for large in [false, true] {
            bad.extend(misfits(event, language, large));
        }
    }
    assert!(
        bad.is_empty(),
        "{} texts do not fit:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_text_of_the_test_event_fits_its_box_in_every_language() {
    for language in ALL {
        check(event(&languages_from(language), Mode::Training));
    }
    check(event(&ALL, Mode::Official));
}

#[test]
fn every_text_of_the_demo_election_fits_its_box_in_every_language() {
    check(demo_event(&ALL));
}

#[test]
fn an_overflow_is_found() {
    // The measure is not vacuous: a name far too long for a list button is reported.
    let mut event = event(&ALL, Mode::Training).clone();
    let mut lists = event.elections[0].lists.clone();
    lists[0].name = "A PARTY NAME SO LONG THAT NO FONT OF THE TERMINAL CAN FIT IT IN A BUTTON";
    event.elections[0].lists = lists;
    let bad = misfits(&event, Language::Nl, false);
    assert!(
        bad.iter().any(|b| b.contains("A PARTY NAME SO LONG")),
        "{bad:?}"
    );
}
