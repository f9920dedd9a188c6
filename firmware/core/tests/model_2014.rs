//! Model-based test of the Belgium 2014 bug class: after going back, changing lists or
//! changing an election from the review, the stored ballot must equal the last review.
//!
//! A small reference model, written from the rules in DESIGN.md section 4 and independent
//! of `firmware::terminal`, predicts the outcome of every voter action (the exact error when
//! rejected), the screen, the marks and the review. The test drives the real terminal and
//! the model side by side and compares them after every action. After every confirm it
//! checks through the ballot store that each election gained exactly one ballot and that
//! the count of exactly the reviewed choice went up by one.
//!
//! - `random_sequences_shard_*`: 1,000,000 random voter sessions in 4 shards, each session
//!   from its own seed.
//!   A failure prints the seed; `MODEL_2014_SEED=<seed>` replays that one session with a
//!   trace.
//! - `exhaustive_*`: every sequence of up to 6 actions from a 12-action alphabet on two
//!   tiny events: one election (2 lists x 2 candidates) in two languages, and two
//!   elections in one language.
//!
//! The store is reused across sessions and reset (close, power-off, reopen) every
//! `RESET_EVERY_CASTS` casts, because resetting a 200 KiB store per session is too slow.

use firmware::ballot::{CandidateSet, Choice, ListIndex};
use firmware::election::{
    Candidate, CandidateKind, Candidates, Date, Election, Event, Language, List, Mode, Names,
    SeatMethod,
};
use firmware::pin::{PinVerifier, PIN_MIN_ITERATIONS};
use firmware::store::BallotStore;
use firmware::terminal::{Action, ActionKind, Draft, Phase, Terminal, TerminalError};
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Instant;

const PIN: &[u8] = b"20140525";
/// Random sessions, over all shards.
const RANDOM_SEQUENCES: u64 = 1_000_000;
/// Test functions the random sessions are split over.
const RANDOM_SHARDS: u64 = 4;
/// Seed of the first random session; session `i` uses `BASE_SEED + i`.
const BASE_SEED: u64 = 0x2014_0525_0000_0000;
/// Actions in each exhaustive sequence.
const EXHAUSTIVE_DEPTH: u32 = 6;
/// Casts between store resets.
const RESET_EVERY_CASTS: u32 = 500;

// ---------------------------------------------------------------------------------------------
// Events

fn candidates(count: usize) -> Candidates<'static> {
    let people: Vec<Candidate<'static>> = (0..count)
        .map(|_| Candidate {
            name: "NAME Given",
            kind: CandidateKind::Titular,
        })
        .collect();
    let buf = vec![0u8; 16 + count * 16].leak();
    Candidates::encode(&people, buf).expect("candidates fit")
}

/// An event with one election per entry of `shape`, each entry listing the candidates per
/// list, offering `languages`.
fn event(shape: &[&[usize]], languages: &[Language]) -> &'static Event<'static> {
    const IDS: [&str; 4] = ["chamber", "region", "europe", "province"];
    let mut event = Event {
        id: "MODEL-2014",
        names: Names::same("Model 2014"),
        date: Date::new(2014, 5, 25).expect("date"),
        mode: Mode::Training,
        languages: heapless::Vec::from_slice(languages).expect("languages"),
        elections: heapless::Vec::new(),
    };
    for (e, lists) in shape.iter().enumerate() {
        let mut election = Election {
            id: IDS[e],
            names: Names::same(IDS[e]),
            constituency: Names::same("Kieskring"),
            seats: 8,
            method: SeatMethod::DHondt,
            threshold: 500,
            successors: false,
            lists: heapless::Vec::new(),
        };
        for (l, &count) in lists.iter().enumerate() {
            election
                .lists
                .push(List {
                    number: u16::try_from(l + 1).expect("list number"),
                    name: "LIST",
                    candidates: candidates(count),
                })
                .expect("lists fit");
        }
        event.elections.push(election).expect("elections fit");
    }
    event.validate().expect("valid event");
    Box::leak(Box::new(event))
}

fn verifier() -> PinVerifier {
    static VERIFIER: OnceLock<PinVerifier> = OnceLock::new();
    *VERIFIER.get_or_init(|| {
        PinVerifier::derive(
            PIN,
            [0x14; 16],
            NonZeroU32::new(PIN_MIN_ITERATIONS).expect("non-zero"),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The reference model

/// The marks of one election, as the voter made them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marks {
    None,
    Blank,
    On { list: usize, top: bool, cands: u64 },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Screen {
    Idle,
    Language,
    Lists { e: usize, change: bool },
    Candidates { e: usize, change: bool },
    Review,
}

/// What a successful action did to the session.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Outcome {
    Continue,
    Cast(Vec<Choice>),
    Cancelled,
}

struct Model {
    /// Candidates per list, per election.
    shape: Vec<Vec<usize>>,
    languages: Vec<Language>,
    screen: Screen,
    marks: Vec<Marks>,
    saved: Marks,
    review: Vec<Choice>,
}

fn to_choice(event: &Event<'_>, e: usize, marks: Marks) -> Option<Choice> {
    let election = &event.elections[e];
    match marks {
        Marks::None => None,
        Marks::Blank => Some(Choice::Blank),
        Marks::On {
            cands: 0,
            top: false,
            ..
        } => None,
        Marks::On {
            list,
            cands: 0,
            top: true,
        } => Some(Choice::List(ListIndex::new(list, election).expect("list"))),
        Marks::On { list, cands, .. } => Some(Choice::Preferences {
            list: ListIndex::new(list, election).expect("list"),
            candidates: CandidateSet::from_mask(cands, 64).expect("mask"),
        }),
    }
}

impl Model {
    fn new(event: &Event<'_>) -> Model {
        Model {
            shape: event
                .elections
                .iter()
                .map(|e| e.lists.iter().map(|l| l.candidates.len()).collect())
                .collect(),
            languages: event.languages.to_vec(),
            screen: Screen::Idle,
            marks: Vec::new(),
            saved: Marks::None,
            review: Vec::new(),
        }
    }

    fn elections(&self) -> usize {
        self.shape.len()
    }

    fn phase(&self) -> Phase {
        match self.screen {
            Screen::Idle => Phase::PollOpen,
            Screen::Language => Phase::Language,
            Screen::Lists { .. } => Phase::Lists,
            Screen::Candidates { .. } => Phase::Candidates,
            Screen::Review => Phase::Review,
        }
    }

    fn review(&self) -> Option<&[Choice]> {
        (self.screen == Screen::Review).then_some(&self.review[..])
    }

    fn not_allowed(&self, action: ActionKind) -> TerminalError {
        TerminalError::NotAllowed {
            action,
            phase: self.phase(),
        }
    }

    fn show_review(&mut self, event: &Event<'_>) {
        self.review = (0..self.elections())
            .map(|e| to_choice(event, e, self.marks[e]).expect("every election decided"))
            .collect();
        self.screen = Screen::Review;
    }

    fn decided(&mut self, event: &Event<'_>, e: usize, change: bool) {
        if change || e + 1 == self.elections() {
            self.show_review(event);
        } else {
            self.screen = Screen::Lists {
                e: e + 1,
                change: false,
            };
        }
    }

    fn back_into(&mut self, e: usize) {
        self.screen = match self.marks[e] {
            Marks::On { .. } => Screen::Candidates { e, change: false },
            _ => Screen::Lists { e, change: false },
        };
    }

    /// Predict `action`: the outcome, or the exact error the terminal must give.
    fn apply(&mut self, event: &Event<'_>, action: Action<'_>) -> Result<Outcome, TerminalError> {
        let kind = action.kind();
        let voting = self.screen != Screen::Idle;
        match action {
            Action::OpenPoll { .. }
            | Action::ClosePoll { .. }
            | Action::PowerOff
            | Action::ActivateVoter
                if voting =>
            {
                return Err(TerminalError::VoterInBooth { action: kind })
            }
            Action::ActivateVoter => {
                self.marks = vec![Marks::None; self.elections()];
                self.screen = if self.languages.len() > 1 {
                    Screen::Language
                } else {
                    Screen::Lists {
                        e: 0,
                        change: false,
                    }
                };
                return Ok(Outcome::Continue);
            }
            _ if !voting => return Err(self.not_allowed(kind)),
            _ => {}
        }
        match (action, self.screen) {
            (Action::CancelSession, _) => {
                self.screen = Screen::Idle;
                Ok(Outcome::Cancelled)
            }
            (Action::ChooseLanguage(language), screen) => {
                if !self.languages.contains(&language) {
                    return Err(TerminalError::LanguageNotOffered { language });
                }
                if screen == Screen::Language {
                    self.screen = Screen::Lists {
                        e: 0,
                        change: false,
                    };
                }
                Ok(Outcome::Continue)
            }
            (Action::ChooseList(list), Screen::Lists { e, change }) => {
                let count = self.shape[e].len();
                if list >= count {
                    return Err(TerminalError::NoSuchList {
                        election: e,
                        index: list,
                        count,
                    });
                }
                let same = matches!(self.marks[e], Marks::On { list: l, .. } if l == list);
                if !same {
                    self.marks[e] = Marks::On {
                        list,
                        top: false,
                        cands: 0,
                    };
                }
                self.screen = Screen::Candidates { e, change };
                Ok(Outcome::Continue)
            }
            (Action::ChooseBlank, Screen::Lists { e, change }) => {
                self.marks[e] = Marks::Blank;
                self.decided(event, e, change);
                Ok(Outcome::Continue)
            }
            (Action::ToggleCandidate(c), Screen::Candidates { e, .. }) => {
                let Marks::On { list, top, cands } = self.marks[e] else {
                    panic!("model: candidates screen without a list");
                };
                let count = self.shape[e][list];
                if c >= count {
                    return Err(TerminalError::NoSuchCandidate {
                        election: e,
                        list,
                        index: c,
                        count,
                    });
                }
                self.marks[e] = Marks::On {
                    list,
                    top,
                    cands: cands ^ (1 << c),
                };
                Ok(Outcome::Continue)
            }
            (Action::ToggleTopBox, Screen::Candidates { e, .. }) => {
                let Marks::On { list, top, cands } = self.marks[e] else {
                    panic!("model: candidates screen without a list");
                };
                self.marks[e] = Marks::On {
                    list,
                    top: !top,
                    cands,
                };
                Ok(Outcome::Continue)
            }
            (Action::Next, Screen::Candidates { e, change }) => {
                if to_choice(event, e, self.marks[e]).is_none() {
                    return Err(TerminalError::NothingMarked { election: e });
                }
                self.decided(event, e, change);
                Ok(Outcome::Continue)
            }
            (Action::Back, Screen::Language) => Err(self.not_allowed(kind)),
            (Action::Back, Screen::Candidates { e, change }) => {
                self.screen = Screen::Lists { e, change };
                Ok(Outcome::Continue)
            }
            (Action::Back, Screen::Lists { e, change: true }) => {
                self.marks[e] = self.saved;
                self.show_review(event);
                Ok(Outcome::Continue)
            }
            (Action::Back, Screen::Lists { e: 0, .. }) => {
                if self.languages.len() > 1 {
                    self.screen = Screen::Language;
                    Ok(Outcome::Continue)
                } else {
                    Err(self.not_allowed(kind))
                }
            }
            (Action::Back, Screen::Lists { e, .. }) => {
                self.back_into(e - 1);
                Ok(Outcome::Continue)
            }
            (Action::Back, Screen::Review) => {
                self.back_into(self.elections() - 1);
                Ok(Outcome::Continue)
            }
            (Action::ChangeElection(e), Screen::Review) => {
                if e >= self.elections() {
                    return Err(TerminalError::NoSuchElection {
                        index: e,
                        count: self.elections(),
                    });
                }
                self.saved = self.marks[e];
                self.screen = Screen::Lists { e, change: true };
                Ok(Outcome::Continue)
            }
            (Action::Confirm, Screen::Review) => {
                self.screen = Screen::Idle;
                Ok(Outcome::Cast(self.review.clone()))
            }
            _ => Err(self.not_allowed(kind)),
        }
    }

    /// The terminal's draft for election `e` as the model expects it.
    fn draft(&self, event: &Event<'_>, e: usize) -> Draft {
        match self.marks[e] {
            Marks::None => Draft::Undecided,
            Marks::Blank => Draft::Blank,
            Marks::On { list, top, cands } => Draft::Marks {
                list: ListIndex::new(list, &event.elections[e]).expect("list"),
                top_box: top,
                candidates: CandidateSet::from_mask(cands, 64).expect("mask"),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the terminal and the model together

/// SplitMix64: small, fast and good enough to generate voter actions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
}

#[derive(Default)]
struct Stats {
    sequences: u64,
    actions: u64,
    rejected: u64,
    casts: u64,
    cancels: u64,
    reviews_changed: u64,
    lists_switched: u64,
}

/// Which session a failure is about (formatted only on failure).
#[derive(Clone, Copy)]
enum Label {
    None,
    Seed(u64),
    Exhaustive(u64),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::None => f.write_str("session"),
            Label::Seed(seed) => write!(f, "seed {seed:#x} (replay: MODEL_2014_SEED={seed:#x})"),
            Label::Exhaustive(n) => write!(f, "exhaustive sequence {n}"),
        }
    }
}

/// The terminal and the model side by side, with a replay trace.
struct Pair<'t> {
    terminal: Terminal<'t>,
    model: Model,
    event: &'t Event<'t>,
    trace: Vec<Action<'static>>,
    label: Label,
    verbose: bool,
}

impl Pair<'_> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{}: {what}\n  actions: {:?}\n  terminal: {:?}",
            self.label,
            self.trace,
            self.terminal.state()
        );
    }

    /// Apply `action` to both and compare everything visible.
    fn step(&mut self, action: Action<'static>, stats: &mut Stats) -> Outcome {
        self.trace.push(action);
        stats.actions += 1;
        let event = self.event;
        // Before a confirm, remember the store's counts of the reviewed choices.
        let before: Option<Vec<(usize, usize)>> = match (action, self.model.review()) {
            (Action::Confirm, Some(review)) => Some(
                review
                    .iter()
                    .enumerate()
                    .map(|(e, choice)| {
                        let store = self.terminal.store();
                        (
                            store.ballots(e),
                            store.count(event, e, choice).expect("count"),
                        )
                    })
                    .collect(),
            ),
            _ => None,
        };
        let ballots_before = self.terminal.store().ballots(0);
        let expected = self.model.apply(event, action);
        let got = self.terminal.handle(action);
        if self.verbose {
            println!("{action:?} -> {got:?} (model {expected:?})");
        }
        match (&expected, &got) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(g)) if e == g => stats.rejected += 1,
            _ => self.fail(&format!(
                "{action:?}: terminal gave {got:?}, model expects {expected:?}"
            )),
        }
        self.compare();
        let outcome = expected.unwrap_or(Outcome::Continue);
        match &outcome {
            Outcome::Cast(review) => {
                stats.casts += 1;
                let Some(before) = before else {
                    self.fail("cast without a review");
                };
                for (e, choice) in review.iter().enumerate() {
                    let store = self.terminal.store();
                    let (ballots, count) = before[e];
                    let now = (
                        store.ballots(e),
                        store.count(event, e, choice).expect("count"),
                    );
                    if now != (ballots + 1, count + 1) {
                        self.fail(&format!(
                            "election {e}: stored ballot differs from the review {choice:?}: \
                             (ballots, count of reviewed choice) went from {:?} to {now:?}",
                            (ballots, count)
                        ));
                    }
                }
            }
            Outcome::Cancelled => {
                stats.cancels += 1;
                if self.terminal.store().ballots(0) != ballots_before {
                    self.fail("a cancelled session stored a ballot");
                }
            }
            Outcome::Continue => {
                if self.terminal.store().ballots(0) != ballots_before {
                    self.fail("a ballot was stored without a confirm");
                }
            }
        }
        outcome
    }

    fn compare(&self) {
        if self.terminal.phase() != self.model.phase() {
            self.fail(&format!(
                "phase {:?}, model {:?}",
                self.terminal.phase(),
                self.model.phase()
            ));
        }
        if self.terminal.review() != self.model.review() {
            self.fail(&format!(
                "review {:?}, model {:?}",
                self.terminal.review(),
                self.model.review()
            ));
        }
        if let Some(session) = self.terminal.session() {
            for e in 0..self.model.elections() {
                let want = self.model.draft(self.event, e);
                if session.draft(e) != Some(want) {
                    self.fail(&format!(
                        "draft of election {e}: {:?}, model {want:?}",
                        session.draft(e)
                    ));
                }
            }
        }
    }
}

/// Open a terminal on `store`, run `sessions` against it (resetting the store every
/// `RESET_EVERY_CASTS` casts) and check the counters at every close.
fn run_sessions(
    event: &Event<'_>,
    store: &mut BallotStore,
    sessions: u64,
    stats: &mut Stats,
    mut session: impl FnMut(&mut Pair<'_>, u64, &mut Stats),
) {
    let mut next = 0u64;
    while next < sessions {
        let mut pair = Pair {
            terminal: Terminal::new(event, verifier(), store).expect("terminal"),
            model: Model::new(event),
            event,
            trace: Vec::new(),
            label: Label::None,
            verbose: false,
        };
        pair.terminal.open_poll(PIN, 0).expect("open");
        let mut activations = 0;
        while next < sessions && pair.terminal.counters().cast < RESET_EVERY_CASTS {
            pair.trace.clear();
            stats.sequences += 1;
            activations += 1;
            session(&mut pair, next, stats);
            if pair.terminal.phase() != Phase::PollOpen {
                pair.fail("session did not end");
            }
            next += 1;
        }
        let counters = pair.terminal.counters();
        assert_eq!(counters.activations, activations);
        assert_eq!(counters.activations, counters.cast + counters.cancelled);
        pair.terminal
            .close_poll(PIN, 0)
            .expect("close: counters and store agree");
        pair.terminal.power_off().expect("power off");
        assert_eq!(pair.terminal.store().ballots(0), 0);
    }
}

const LANGUAGES: [Language; 4] = [Language::Nl, Language::Fr, Language::De, Language::En];

/// Any action at all; indices sometimes fall outside the event on purpose.
fn any_action(rng: &mut Rng, max_lists: usize, max_candidates: usize) -> Action<'static> {
    match rng.below(12) {
        0 => Action::ChooseList(rng.index(max_lists + 1)),
        1 => Action::ToggleCandidate(rng.index(max_candidates + 1)),
        2 => Action::ToggleTopBox,
        3 => Action::Next,
        4 => Action::Back,
        5 => Action::ChangeElection(rng.index(4)),
        6 => Action::ChooseLanguage(LANGUAGES[rng.index(4)]),
        7 => Action::ChooseBlank,
        8 => Action::Confirm,
        9 => Action::CancelSession,
        10 => Action::ActivateVoter,
        _ => [
            Action::PowerOff,
            Action::OpenPoll {
                pin: PIN,
                now_ms: 0,
            },
            Action::ClosePoll {
                pin: PIN,
                now_ms: 0,
            },
        ][rng.index(3)],
    }
}

/// A random action, mostly one that makes sense on the model's screen (a voter wandering
/// back and forth), sometimes any action at all.
fn random_action(rng: &mut Rng, model: &Model) -> Action<'static> {
    let max_lists = model.shape.iter().map(Vec::len).max().unwrap_or(0);
    let max_candidates = model.shape.iter().flatten().copied().max().unwrap_or(0);
    if rng.below(100) < 12 {
        return any_action(rng, max_lists, max_candidates);
    }
    let language = Action::ChooseLanguage(model.languages[rng.index(model.languages.len())]);
    let roll = rng.below(100);
    match model.screen {
        Screen::Idle => Action::ActivateVoter,
        Screen::Language => match roll {
            0..=79 => language,
            _ => Action::Back,
        },
        Screen::Lists { e, .. } => match roll {
            0..=44 => Action::ChooseList(rng.index(model.shape[e].len())),
            45..=64 => Action::ChooseBlank,
            65..=94 => Action::Back,
            _ => language,
        },
        Screen::Candidates { e, .. } => {
            let list = match model.marks[e] {
                Marks::On { list, .. } => list,
                _ => 0,
            };
            match roll {
                0..=39 => Action::ToggleCandidate(rng.index(model.shape[e][list])),
                40..=52 => Action::ToggleTopBox,
                53..=74 => Action::Next,
                75..=96 => Action::Back,
                _ => language,
            }
        }
        Screen::Review => match roll {
            0..=24 => Action::Confirm,
            25..=69 => Action::ChangeElection(rng.index(model.elections())),
            70..=92 => Action::Back,
            _ => language,
        },
    }
}

/// Finish a session the shortest way: mark something and confirm.
fn drive_to_confirm(pair: &mut Pair<'_>, rng: &mut Rng, stats: &mut Stats) {
    for _ in 0..64 {
        let action = match pair.model.screen {
            Screen::Idle => return,
            Screen::Language => Action::ChooseLanguage(pair.model.languages[0]),
            Screen::Lists { e, .. } => match rng.below(3) {
                0 => Action::ChooseBlank,
                _ => Action::ChooseList(rng.index(pair.model.shape[e].len())),
            },
            Screen::Candidates { e, .. } => {
                if to_choice(pair.event, e, pair.model.marks[e]).is_some() {
                    Action::Next
                } else {
                    Action::ToggleTopBox
                }
            }
            Screen::Review => Action::Confirm,
        };
        pair.step(action, stats);
    }
    pair.fail("could not drive the session to a confirm");
}

fn random_session(pair: &mut Pair<'_>, seed: u64, stats: &mut Stats) {
    let mut rng = Rng(seed);
    pair.label = Label::Seed(seed);
    pair.step(Action::ActivateVoter, stats);
    let length = 1 + rng.below(60);
    let mut changed = false;
    for _ in 0..length {
        let action = random_action(&mut rng, &pair.model);
        let was_review = pair.model.screen == Screen::Review;
        // Choosing another list while one is marked: the 2014 scenario.
        if let (Action::ChooseList(list), Screen::Lists { e, .. }) = (action, pair.model.screen) {
            if matches!(pair.model.marks[e], Marks::On { list: l, top, cands }
                if l != list && list < pair.model.shape[e].len() && (top || cands != 0))
            {
                stats.lists_switched += 1;
            }
        }
        match pair.step(action, stats) {
            Outcome::Continue => {
                changed |= was_review && matches!(action, Action::ChangeElection(_));
            }
            Outcome::Cast(_) | Outcome::Cancelled => break,
        }
    }
    if changed {
        stats.reviews_changed += 1;
    }
    if pair.model.screen != Screen::Idle {
        if rng.below(4) == 0 {
            pair.step(Action::CancelSession, stats);
        } else {
            drive_to_confirm(pair, &mut rng, stats);
        }
    }
}

/// The big event of the random sequences: 3 elections, 2 languages.
fn random_event() -> &'static Event<'static> {
    event(&[&[3, 3, 2], &[2, 2], &[4]], &[Language::Nl, Language::Fr])
}

/// Run random shard `shard` of `RANDOM_SHARDS`: sessions `shard * n .. (shard + 1) * n`.
fn random_shard(shard: u64) {
    let event = random_event();
    let mut store = Box::new(BallotStore::new());
    if let Ok(seed) = std::env::var("MODEL_2014_SEED") {
        // Replay one session with a trace (once, in shard 0).
        if shard == 0 {
            let seed = u64::from_str_radix(seed.trim_start_matches("0x"), 16).expect("hex seed");
            let mut stats = Stats::default();
            run_sessions(event, &mut store, 1, &mut stats, |pair, _, stats| {
                pair.verbose = true;
                random_session(pair, seed, stats);
            });
        }
        return;
    }
    let per_shard = RANDOM_SEQUENCES / RANDOM_SHARDS;
    let first = BASE_SEED + shard * per_shard;
    let started = Instant::now();
    let mut stats = Stats::default();
    run_sessions(
        event,
        &mut store,
        per_shard,
        &mut stats,
        |pair, i, stats| random_session(pair, first + i, stats),
    );
    println!(
        "model_2014 random shard {shard}/{RANDOM_SHARDS}: {} sequences (seeds {first:#x}..), {} \
         actions ({} rejected as predicted), {} casts checked against the review, {} cancels, \
         {} sessions changed an election from the review, {} switches to another list with \
         marks on the first, {:.1} s",
        stats.sequences,
        stats.actions,
        stats.rejected,
        stats.casts,
        stats.cancels,
        stats.reviews_changed,
        stats.lists_switched,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stats.sequences, per_shard);
    assert!(stats.casts > per_shard / 2, "most sessions cast");
    assert!(stats.reviews_changed > per_shard / 10);
    assert!(stats.lists_switched > per_shard / 10);
}

// The random sessions run in shards so the test harness spreads them over the cores.
const _: () = assert!(RANDOM_SEQUENCES % RANDOM_SHARDS == 0 && RANDOM_SHARDS == 4);

#[test]
fn random_sequences_shard_0() {
    random_shard(0);
}

#[test]
fn random_sequences_shard_1() {
    random_shard(1);
}

#[test]
fn random_sequences_shard_2() {
    random_shard(2);
}

#[test]
fn random_sequences_shard_3() {
    random_shard(3);
}

/// Run every sequence of exactly `EXHAUSTIVE_DEPTH` actions from `alphabet`, each in its own
/// voter session, and print the counts.
fn exhaustive(name: &str, event: &Event<'_>, alphabet: &[Action<'static>]) {
    let mut store = Box::new(BallotStore::new());
    let started = Instant::now();
    let base = alphabet.len() as u64;
    let total = base.pow(EXHAUSTIVE_DEPTH);
    let mut stats = Stats::default();
    run_sessions(event, &mut store, total, &mut stats, |pair, n, stats| {
        pair.label = Label::Exhaustive(n);
        pair.step(Action::ActivateVoter, stats);
        let mut digits = n;
        for _ in 0..EXHAUSTIVE_DEPTH {
            let action = alphabet[(digits % base) as usize];
            digits /= base;
            // Once the session ended, later actions are checked in the open poll too.
            pair.step(action, stats);
        }
        if pair.model.screen != Screen::Idle {
            pair.step(Action::CancelSession, stats);
        }
    });
    // Every shorter sequence is a prefix of a checked one (the comparison runs after each
    // action), so all sequences of length 1..=6 are covered.
    let covered: u64 = (1..=EXHAUSTIVE_DEPTH).map(|d| base.pow(d)).sum();
    println!(
        "model_2014 exhaustive ({name}): all {covered} sequences of 1..={EXHAUSTIVE_DEPTH} \
         actions over {} actions ({total} of length {EXHAUSTIVE_DEPTH}), {} actions checked, \
         {} rejected as predicted, {} casts checked against the review, {:.1} s",
        alphabet.len(),
        stats.actions,
        stats.rejected,
        stats.casts,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stats.sequences, total);
    assert!(stats.casts > 10_000);
}

#[test]
fn exhaustive_one_election_two_languages() {
    exhaustive(
        "1 election of 2 lists x 2 candidates, nl + fr",
        event(&[&[2, 2]], &[Language::Nl, Language::Fr]),
        &[
            Action::ChooseLanguage(Language::Fr),
            Action::ChooseList(0),
            Action::ChooseList(1),
            Action::ChooseBlank,
            Action::ToggleCandidate(0),
            Action::ToggleCandidate(1),
            Action::ToggleTopBox,
            Action::Next,
            Action::Back,
            Action::ChangeElection(0),
            Action::Confirm,
            Action::CancelSession,
        ],
    );
}

#[test]
fn exhaustive_two_elections_one_language() {
    exhaustive(
        "2 elections of 2 lists x 2 candidates and 1 list x 2 candidates, nl",
        event(&[&[2, 2], &[2]], &[Language::Nl]),
        &[
            Action::ChooseLanguage(Language::De),
            Action::ChooseList(0),
            Action::ChooseList(1),
            Action::ChooseBlank,
            Action::ToggleCandidate(0),
            Action::ToggleCandidate(1),
            Action::ToggleTopBox,
            Action::Next,
            Action::Back,
            Action::ChangeElection(0),
            Action::ChangeElection(1),
            Action::Confirm,
        ],
    );
}
