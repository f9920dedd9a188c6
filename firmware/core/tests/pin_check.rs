//! The operator PIN is checked in steps, one per tick, and a record is written in steps
//! after an action: no call does seconds of work, the screen says what happens, and the
//! outcome is the one the blocking check and write give (lockout rules included).

mod fixtures;

use firmware::election::{Language, Mode};
use firmware::hal::{InputEvent, OperatorKey};
use firmware::i18n::{text, Text};
use firmware::pin::{PIN_ITERATIONS_PER_STEP, PIN_MIN_ITERATIONS};
use firmware::terminal::{Phase, PIN_FAILURES_BEFORE_LOCK};
use fixtures::*;

/// Handle `name`'s tap without running the work it starts.
fn press(t: &mut Terminal, name: &str) {
    let input = t.tap_event(name);
    let Terminal { app, rig } = t;
    app.handle(input, &mut rig.devices()).unwrap();
}

/// One tick, 100 ms later.
fn tick(t: &mut Terminal) {
    t.rig.clock.advance_ms(100);
    let Terminal { app, rig } = t;
    app.tick(&mut rig.devices()).unwrap();
}

/// Type `pin` and press OK, without ticking.
fn type_pin(t: &mut Terminal, pin: &str) {
    for d in pin.chars() {
        press(t, &format!("pin-{d}"));
    }
    press(t, "pin-ok");
}

fn nl(key: Text) -> &'static str {
    text(Language::Nl, key)
}

#[test]
fn the_pin_is_checked_in_ticks_with_progress_then_the_poll_opens() {
    let mut t = Terminal::new(event(&[Language::Nl], Mode::Training));
    t.op(OperatorKey::OpenPoll);
    type_pin(&mut t, PIN);
    // The check has started: progress screen, a cancel button, no pad.
    assert!(t.app.pin_checking() && t.app.busy());
    assert_eq!(t.app.phase(), Phase::PollNotOpened);
    assert!(t.text().contains(nl(Text::PinChecking)), "{}", t.text());
    assert!(t.app.element("pin-cancel").is_some());
    assert!(t.app.element("pin-ok").is_none());
    let first = t.app.frame().pixels().to_vec();
    // PBKDF2 at 10,000 iterations: the first in the OK's call, then 200 a tick, then one
    // tick to open the poll.
    let steps = (PIN_MIN_ITERATIONS - 1).div_ceil(PIN_ITERATIONS_PER_STEP);
    for _ in 0..steps {
        tick(&mut t);
        assert!(t.app.pin_checking());
    }
    assert_ne!(
        t.app.frame().pixels().to_vec(),
        first,
        "the progress bar moved"
    );
    tick(&mut t);
    assert!(!t.app.pin_checking(), "the check is over");
    assert_eq!(t.app.phase(), Phase::PollOpen);
    // Generation 1 is written in the ticks that follow, then the opening report shows.
    assert!(t.app.busy());
    assert!(t.text().contains(nl(Text::WritingRecord)), "{}", t.text());
    let mut ticks = 0;
    while t.app.busy() {
        tick(&mut t);
        ticks += 1;
        assert!(ticks < 100, "the write ends");
    }
    assert_eq!(t.app.record_position().and_then(|p| p.1), Some(1));
    assert!(t.app.element(REPORT_CONTINUE).is_some(), "{}", t.text());
}

#[test]
fn a_wrong_pin_found_in_ticks_counts_towards_the_lockout_and_cancel_counts_nothing() {
    let mut t = Terminal::new(event(&[Language::Nl], Mode::Training));
    // Cancelled checks are no attempts.
    for _ in 0..PIN_FAILURES_BEFORE_LOCK + 2 {
        t.op(OperatorKey::OpenPoll);
        type_pin(&mut t, "0000");
        tick(&mut t);
        press(&mut t, "pin-cancel");
        assert!(!t.app.busy());
        assert!(t.app.element("pin-ok").is_none(), "back on the boot screen");
    }
    // Wrong PINs: the pad comes back with the notice, and the fifth locks.
    for failure in 1..=PIN_FAILURES_BEFORE_LOCK {
        t.op(OperatorKey::OpenPoll);
        type_pin(&mut t, "0000");
        while t.app.pin_checking() {
            tick(&mut t);
        }
        assert_eq!(t.app.phase(), Phase::PollNotOpened);
        assert!(t.app.element("pin-ok").is_some(), "the pad is back");
        let shown = t.text();
        let want = if failure < PIN_FAILURES_BEFORE_LOCK {
            nl(Text::PinWrong)
        } else {
            nl(Text::PinLocked)
        };
        assert!(shown.contains(want), "failure {failure}: {shown}");
    }
    // Locked: the right PIN is refused at once (no check starts).
    t.op(OperatorKey::OpenPoll);
    type_pin(&mut t, PIN);
    assert!(!t.app.pin_checking());
    assert!(t.text().contains("E201"), "{}", t.text());
    // After the lock the right PIN opens the poll.
    t.rig.clock.advance_ms(firmware::terminal::PIN_LOCK_BASE_MS);
    t.op(OperatorKey::OpenPoll);
    t.pin(PIN);
    assert_eq!(t.app.phase(), Phase::PollOpen);
}

#[test]
fn a_cast_is_written_in_ticks_and_input_waits_meanwhile() {
    let mut t = Terminal::new(event(&[Language::Nl], Mode::Training));
    t.open_poll_and_wait();
    t.op(OperatorKey::ActivateVoter);
    let elections = t.app.terminal().event().elections.len();
    for _ in 0..elections {
        t.tap("blank");
    }
    press(&mut t, "confirm");
    // Cast into the store at once; on the media only after the ticks.
    assert_eq!(t.app.terminal().counters().cast, 1);
    assert!(t.app.busy());
    assert!(t.text().contains(nl(Text::RecordingVote)), "{}", t.text());
    assert!(!t.text().contains(nl(Text::VoteRecorded)));
    assert!(
        t.app.element("large-text").is_none(),
        "nothing to tap while recording"
    );
    let generation = t.app.record_position().and_then(|p| p.1);
    // Input waits.
    let Terminal { app, rig } = &mut t;
    app.handle(
        InputEvent::Operator(OperatorKey::ActivateVoter),
        &mut rig.devices(),
    )
    .unwrap();
    assert_eq!(t.app.terminal().counters().activations, 1);
    let mut ticks = 0;
    while t.app.busy() {
        // "Vote recorded" never shows before the record holding the ballot is written.
        if t.app.record_position().and_then(|p| p.1) == generation {
            assert!(!t.text().contains(nl(Text::VoteRecorded)));
        }
        tick(&mut t);
        ticks += 1;
        assert!(ticks < 100, "the write ends");
    }
    assert!(t.text().contains(nl(Text::VoteRecorded)), "{}", t.text());
    assert_eq!(
        t.app.record_position().and_then(|p| p.1),
        generation.map(|g| g + 1),
        "the record holding the ballot is on the media"
    );
}
