//! The incremental renderer draws exactly what drawing a screen from scratch draws.
//!
//! [`Renderer::render`] redraws only the area where the new frame's drawing operations
//! differ from the shown frame's, with the fast typeface; [`screen::draw`] lays the view out
//! and draws every pixel with `u8g2-fonts` through the generic embedded-graphics target. For
//! many transitions between screens (every screen kind, pages, keyboard focus, notices,
//! large text, languages, an official image), the renderer's framebuffer must equal a
//! fresh draw of the new view pixel for pixel, every changed pixel must lie in the dirty
//! area, and the touch targets and text it answers must be those of the view.

mod fixtures;

use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{Event, Language, Mode, MAX_ELECTIONS};
use firmware::hal::doubles::RecordingDisplay;
use firmware::hal::{Area, Framebuffer};
use firmware::i18n::Text;
use firmware::screen::{self, Element, Notice, PinPurpose, Renderer, Screen, View};
use firmware::terminal::{Counters, Draft, HaltReason};
use fixtures::event;

fn counters(activations: u32, cast: u32, cancelled: u32) -> Counters {
    Counters {
        activations,
        cast,
        cancelled,
    }
}

fn marks(event: &Event<'_>, election: usize, list: usize, mask: u64) -> Draft {
    let e = &event.elections[election];
    let count = e.lists[list].candidates.len();
    Draft::Marks {
        list: ListIndex::new(list, e).unwrap(),
        top_box: mask & 1 == 1,
        candidates: CandidateSet::from_mask(mask >> 1, count).unwrap(),
    }
}

/// Every screen kind, in several states.
fn screens(event: &'static Event<'static>) -> Vec<Screen<'static>> {
    let choices: &'static [Choice] = Box::leak(
        event
            .elections
            .iter()
            .enumerate()
            .map(|(i, e)| match i % 3 {
                0 => Choice::Blank,
                1 => Choice::List(ListIndex::new(0, e).unwrap()),
                _ => Choice::Preferences {
                    list: ListIndex::new(1, e).unwrap(),
                    candidates: CandidateSet::from_mask(0b1011, e.lists[1].candidates.len())
                        .unwrap(),
                },
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let fingerprint: &'static [u8; 32] = Box::leak(Box::new([0xA7; 32]));
    vec![
        Screen::Boot {
            fingerprint,
            station: "BXL-0421",
            version: "0.1.0",
        },
        Screen::Pin {
            purpose: PinPurpose::Open,
            digits: 0,
        },
        Screen::Pin {
            purpose: PinPurpose::Open,
            digits: 4,
        },
        Screen::PinCheck {
            purpose: PinPurpose::Close,
            done: 0,
            total: 100_000,
        },
        Screen::PinCheck {
            purpose: PinPurpose::Close,
            done: 41_200,
            total: 100_000,
        },
        Screen::Waiting {
            counters: counters(3, 2, 1),
        },
        Screen::Waiting {
            counters: counters(4, 2, 1),
        },
        Screen::Language,
        Screen::Lists {
            election: 0,
            drafted: None,
            back: false,
        },
        Screen::Lists {
            election: 0,
            drafted: Some(1),
            back: true,
        },
        Screen::Candidates {
            election: 0,
            draft: marks(event, 0, 1, 0),
        },
        Screen::Candidates {
            election: 0,
            draft: marks(event, 0, 1, 0b1),
        },
        Screen::Candidates {
            election: 0,
            draft: marks(event, 0, 1, 0b1_0110),
        },
        Screen::Candidates {
            election: 1,
            draft: marks(event, 1, 0, 0b10),
        },
        Screen::Review { choices },
        Screen::Busy { vote: true },
        Screen::Busy { vote: false },
        Screen::Recorded,
        Screen::Cancelled,
        Screen::Closed {
            counters: counters(5, 4, 1),
            ballots: [4; MAX_ELECTIONS],
        },
        Screen::Halted {
            reason: HaltReason::MemoryIntegrity,
            code: 510,
        },
        Screen::PoweredOff,
    ]
}

fn view(event: &'static Event<'static>, screen: Screen<'static>, variant: usize) -> View<'static> {
    View {
        event,
        screen,
        language: Language::ALL[variant % 4],
        large: variant % 3 == 1,
        page: variant % 2,
        focus: (variant % 5 == 2).then_some(variant % 7),
        notice: (variant % 4 == 3).then_some(Notice {
            code: 104,
            text: Text::NothingMarked,
        }),
    }
}

/// A fresh draw of `view`.
fn drawn(view: &View<'_>) -> Box<Framebuffer> {
    let mut fb = Box::new(Framebuffer::new());
    screen::draw(view, &mut fb);
    fb
}

fn differing(a: &Framebuffer, b: &Framebuffer) -> usize {
    a.pixels()
        .iter()
        .zip(b.pixels().iter())
        .filter(|(x, y)| x != y)
        .count()
}

/// Render the sequence of views with one renderer, checking each frame.
fn check_sequence(views: &[View<'static>]) {
    let mut renderer = Box::new(Renderer::new());
    let mut frame = Box::new(Framebuffer::new());
    let mut panel = RecordingDisplay::new();
    for (i, v) in views.iter().enumerate() {
        let before: Vec<u16> = frame.pixels().to_vec();
        frame.flush(&mut panel).unwrap();
        renderer.render(v, &mut frame);
        let want = drawn(v);
        let diff = differing(&frame, &want);
        assert_eq!(
            diff, 0,
            "frame {i} ({:?}, {:?}): {diff} pixels differ from a fresh draw",
            v.screen, v.language
        );
        // Every pixel that changed is in the dirty area.
        let dirty = frame.dirty();
        for (p, (old, new)) in before.iter().zip(frame.pixels().iter()).enumerate() {
            if old != new {
                let (x, y) = ((p % 800) as u16, (p / 800) as u16);
                assert!(
                    dirty.is_some_and(|d| d.contains(x, y)),
                    "frame {i}: pixel ({x}, {y}) changed outside the dirty area {dirty:?}"
                );
            }
        }
        // Targets and text come from the renderer as from laying the view out.
        let mut from_scene = Vec::new();
        assert!(renderer.for_each_element(|i, e, a| from_scene.push((i, e, a))));
        let mut laid_out: Vec<(usize, Element, Area)> = Vec::new();
        screen::for_each_element(v, |i, e, a| laid_out.push((i, e, a)));
        assert_eq!(from_scene, laid_out, "frame {i}");
        let mut text = String::new();
        renderer.write_text(&mut text).unwrap().unwrap();
        let mut want_text = String::new();
        screen::write_text(v, &mut want_text).unwrap();
        assert_eq!(text, want_text, "frame {i}");
    }
}

/// Run `f` on a thread with room for framebuffers built on its stack.
fn with_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn every_transition_draws_what_a_fresh_draw_draws() {
    with_stack(every_transition);
}

fn every_transition() {
    let ev = event(&Language::ALL, Mode::Training);
    let all = screens(ev);
    // Each screen after each of three others, in varying languages and modes.
    let mut views = Vec::new();
    for (i, s) in all.iter().enumerate() {
        for k in [1usize, 2, 5] {
            let other = all[(i + k) % all.len()];
            views.push(view(ev, other, i + k));
            views.push(view(ev, *s, i));
        }
    }
    check_sequence(&views);
}

#[test]
fn small_changes_redraw_a_small_area() {
    with_stack(small_changes);
}

fn small_changes() {
    let ev = event(&Language::ALL, Mode::Official);
    let base = View {
        event: ev,
        screen: Screen::Candidates {
            election: 0,
            draft: marks(ev, 0, 1, 0),
        },
        language: Language::Nl,
        large: false,
        page: 0,
        focus: None,
        notice: None,
    };
    let ticked = View {
        screen: Screen::Candidates {
            election: 0,
            draft: marks(ev, 0, 1, 0b100),
        },
        ..base
    };
    let focused = View {
        focus: Some(3),
        ..ticked
    };
    check_sequence(&[base, ticked, focused, ticked, base]);

    // The same view again: nothing redrawn, nothing dirty.
    let mut renderer = Box::new(Renderer::new());
    let mut frame = Box::new(Framebuffer::new());
    renderer.render(&base, &mut frame);
    assert_eq!(
        frame.dirty(),
        Some(Area::FULL),
        "the first frame is drawn whole"
    );
    frame.flush(&mut RecordingDisplay::new()).unwrap();
    renderer.render(&base, &mut frame);
    assert_eq!(frame.dirty(), None);
    // Ticking one candidate redraws far less than the screen.
    renderer.render(&ticked, &mut frame);
    let dirty = frame.dirty().unwrap();
    assert!(dirty.pixels() < Area::FULL.pixels() / 2, "{dirty:?}");
}

#[test]
fn a_wiped_renderer_draws_the_whole_next_frame_and_holds_no_text() {
    with_stack(wiped);
}

fn wiped() {
    let ev = event(&[Language::Fr], Mode::Training);
    let review = screens(ev)
        .into_iter()
        .find(|s| matches!(s, Screen::Review { .. }))
        .unwrap();
    let mut renderer = Box::new(Renderer::new());
    let mut frame = Box::new(Framebuffer::new());
    renderer.render(&view(ev, review, 0), &mut frame);
    frame.flush(&mut RecordingDisplay::new()).unwrap();
    renderer.wipe();
    assert!(!renderer.for_each_element(|_, _, _| {}));
    assert!(renderer.write_text(&mut String::new()).is_none());
    renderer.render(&view(ev, Screen::PoweredOff, 0), &mut frame);
    assert_eq!(frame.dirty(), Some(Area::FULL));
    assert_eq!(
        differing(&frame, &drawn(&view(ev, Screen::PoweredOff, 0))),
        0
    );
}
