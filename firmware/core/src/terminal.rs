//! The terminal state machine: opening the poll, voter sessions, closing, power-off.
//!
//! ```text
//! PollNotOpened --open_poll(PIN)--> PollOpen --activate_voter--> Voting(session)
//! Voting: [Language] -> Lists(e) <-> Candidates(e) -> ... -> Review -> confirm (cast) -> PollOpen
//!         Review --change_election(e)--> Lists(e, change) ... -> Review
//!         any step --cancel_session--> PollOpen (counted as cancelled)
//! PollOpen --close_poll(PIN)--> Closed --power_off--> PoweredOff (store and secrets wiped)
//! ```
//! The full diagram and the table of actions and errors are in
//! `docs/state-machines/terminal.md`.
//!
//! Every transition is a method taking `&mut self` and returning `Result`; a rejected
//! action leaves the terminal exactly as it was and names the reason in a
//! [`TerminalError`], which has a stable [`TerminalError::code`] for screens and reports.
//! The state machine is pure: it gets the time as `now_ms` (from [`crate::hal::Clock`])
//! and touches no device; the ballot store is borrowed for the terminal's lifetime.
//!
//! # The 2014 rule
//! In May 2014 Belgian voting machines stored ballots that mixed a voter's earlier and later
//! choices after going back. Here each election has exactly one working [`Draft`]: choosing
//! another list replaces the marks of the previous one, and the [`Choice`] of an election
//! is computed from its draft alone. Entering the review computes the choices once and keeps
//! them; [`Terminal::review`] shows exactly that slice and [`Terminal::confirm`] casts exactly
//! that slice, after checking it still matches the drafts.

use crate::ballot::{BallotError, CandidateSet, Choice, ListIndex};
use crate::election::{ElectionError, Event, Language, MAX_ELECTIONS};
use crate::pin::{PinCheck, PinError, PinVerifier};
use crate::store::{BallotStore, StoreError};
use core::fmt;
use zeroize::Zeroize;

/// Consecutive wrong PINs that lock PIN entry.
pub const PIN_FAILURES_BEFORE_LOCK: u32 = 5;
/// Length of the first lock, in milliseconds; each later lock doubles it.
pub const PIN_LOCK_BASE_MS: u64 = 30_000;
/// Longest lock, in milliseconds (30 s doubled seven times: 64 minutes).
pub const PIN_LOCK_MAX_MS: u64 = PIN_LOCK_BASE_MS << 7;

/// Where the terminal is, without the session's data (for errors and screens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Booted; the poll has not been opened.
    PollNotOpened,
    /// The poll is open and no voter is in the booth.
    PollOpen,
    /// A voter chooses the language.
    Language,
    /// A voter chooses a list (or blank) in one election.
    Lists,
    /// A voter marks candidates and the top box of one list.
    Candidates,
    /// A voter reviews all choices.
    Review,
    /// The poll is closed.
    Closed,
    /// The terminal stopped after a fault.
    Halted,
    /// The terminal was wiped for power-off.
    PoweredOff,
}

/// What an action is, without its data (for errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionKind {
    /// [`Action::OpenPoll`].
    OpenPoll,
    /// [`Action::ActivateVoter`].
    ActivateVoter,
    /// [`Action::ChooseLanguage`].
    ChooseLanguage,
    /// [`Action::ChooseList`].
    ChooseList,
    /// [`Action::ChooseBlank`].
    ChooseBlank,
    /// [`Action::ToggleCandidate`].
    ToggleCandidate,
    /// [`Action::ToggleTopBox`].
    ToggleTopBox,
    /// [`Action::Next`].
    Next,
    /// [`Action::Back`].
    Back,
    /// [`Action::ChangeElection`].
    ChangeElection,
    /// [`Action::Confirm`].
    Confirm,
    /// [`Action::CancelSession`].
    CancelSession,
    /// [`Action::ClosePoll`].
    ClosePoll,
    /// [`Action::PowerOff`].
    PowerOff,
}

/// Why the terminal halted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HaltReason {
    /// The ballot store's tallies disagree with its ballots (memory corruption).
    MemoryIntegrity,
    /// The results media failed; votes cannot be recorded.
    MediaFailure,
    /// Another device failed (entropy, display, printer).
    DeviceFailure,
}

/// Errors of the terminal. Each has a stable [`TerminalError::code`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminalError {
    /// The action is not possible in this phase.
    NotAllowed {
        /// What was asked.
        action: ActionKind,
        /// Where the terminal is.
        phase: Phase,
    },
    /// A voter is in the booth: the session must be cast or cancelled first.
    VoterInBooth {
        /// What was asked.
        action: ActionKind,
    },
    /// The terminal halted after a fault; only power-off is possible.
    Halted {
        /// What was asked.
        action: ActionKind,
        /// Why it halted.
        reason: HaltReason,
    },
    /// The terminal was wiped for power-off.
    PoweredOff {
        /// What was asked.
        action: ActionKind,
    },
    /// The PIN is wrong.
    WrongPin {
        /// Consecutive wrong PINs so far.
        failures: u32,
        /// How long PIN entry is now locked, in milliseconds (0: not locked).
        locked_for_ms: u64,
    },
    /// PIN entry is locked after too many wrong PINs; the PIN was not checked.
    PinLocked {
        /// Milliseconds until the next try is accepted.
        remaining_ms: u64,
    },
    /// The PIN verifier in the image is refused.
    PinVerifier(PinError),
    /// The language is not offered by this event.
    LanguageNotOffered {
        /// The language asked for.
        language: Language,
    },
    /// The list does not exist in this election.
    NoSuchList {
        /// Election (0-based).
        election: usize,
        /// List index asked for (0-based).
        index: usize,
        /// Lists in the election.
        count: usize,
    },
    /// The candidate does not exist on this list.
    NoSuchCandidate {
        /// Election (0-based).
        election: usize,
        /// List (0-based).
        list: usize,
        /// Candidate index asked for (0-based).
        index: usize,
        /// Candidates on the list.
        count: usize,
    },
    /// The election does not exist.
    NoSuchElection {
        /// Election index asked for (0-based).
        index: usize,
        /// Elections in the event.
        count: usize,
    },
    /// `next` on a list with neither the top box nor a candidate marked.
    NothingMarked {
        /// Election (0-based).
        election: usize,
    },
    /// The ballot about to be cast differs from the review shown (internal fault; the
    /// ballot is not cast).
    ReviewMismatch {
        /// First election that differs.
        election: usize,
    },
    /// Closing refused: activations differ from cast plus cancelled sessions.
    CountersMismatch {
        /// Voters activated.
        activations: u32,
        /// Ballots cast.
        cast: u32,
        /// Sessions cancelled.
        cancelled: u32,
    },
    /// Closing refused: the store holds a different number of ballots than were cast.
    StoreMismatch {
        /// Election (0-based).
        election: usize,
        /// Ballots in the store for that election.
        stored: usize,
        /// Ballots cast according to the counters.
        cast: u32,
    },
    /// A counter reached its maximum.
    CounterOverflow,
    /// Activation refused: the ballot store cannot take another ballot.
    StoreFull {
        /// Voters the store holds for this event.
        capacity: usize,
    },
    /// The ballot store refused.
    Store(StoreError),
    /// The election event is invalid.
    InvalidEvent(ElectionError),
    /// A choice broke a ballot rule (internal fault; never expected).
    Ballot(BallotError),
}

impl TerminalError {
    /// Stable numeric code shown on screens and printed in reports.
    ///
    /// 1xx: action not possible now; 2xx: PIN; 3xx: voter input; 4xx: counters and capacity;
    /// 5xx: faults of other modules.
    pub const fn code(&self) -> u16 {
        match self {
            TerminalError::NotAllowed { .. } => 100,
            TerminalError::VoterInBooth { .. } => 101,
            TerminalError::Halted { .. } => 102,
            TerminalError::PoweredOff { .. } => 103,
            TerminalError::WrongPin { .. } => 200,
            TerminalError::PinLocked { .. } => 201,
            TerminalError::PinVerifier(_) => 202,
            TerminalError::LanguageNotOffered { .. } => 300,
            TerminalError::NoSuchList { .. } => 301,
            TerminalError::NoSuchCandidate { .. } => 302,
            TerminalError::NoSuchElection { .. } => 303,
            TerminalError::NothingMarked { .. } => 304,
            TerminalError::CountersMismatch { .. } => 400,
            TerminalError::StoreMismatch { .. } => 401,
            TerminalError::CounterOverflow => 402,
            TerminalError::StoreFull { .. } => 403,
            TerminalError::ReviewMismatch { .. } => 500,
            TerminalError::Store(_) => 501,
            TerminalError::InvalidEvent(_) => 502,
            TerminalError::Ballot(_) => 503,
        }
    }
}

impl fmt::Display for TerminalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E{}: ", self.code())?;
        match self {
            TerminalError::NotAllowed { action, phase } => {
                write!(f, "{action:?} is not possible in phase {phase:?}")
            }
            TerminalError::VoterInBooth { action } => {
                write!(f, "{action:?} refused: a voter is in the booth")
            }
            TerminalError::Halted { action, reason } => {
                write!(f, "{action:?} refused: terminal halted ({reason:?})")
            }
            TerminalError::PoweredOff { action } => {
                write!(f, "{action:?} refused: terminal is powered off")
            }
            TerminalError::WrongPin {
                failures,
                locked_for_ms,
            } => {
                write!(f, "wrong PIN ({failures} in a row)")?;
                if *locked_for_ms > 0 {
                    write!(f, "; PIN entry locked for {} s", locked_for_ms / 1000)?;
                }
                Ok(())
            }
            TerminalError::PinLocked { remaining_ms } => write!(
                f,
                "PIN entry locked for {} more s",
                remaining_ms.div_ceil(1000)
            ),
            TerminalError::PinVerifier(e) => write!(f, "{e}"),
            TerminalError::LanguageNotOffered { language } => {
                write!(f, "language {language} is not offered")
            }
            TerminalError::NoSuchList {
                election,
                index,
                count,
            } => write!(
                f,
                "election {election}: list {index} does not exist ({count} lists)"
            ),
            TerminalError::NoSuchCandidate {
                election,
                list,
                index,
                count,
            } => write!(
                f,
                "election {election}, list {list}: candidate {index} does not exist ({count} candidates)"
            ),
            TerminalError::NoSuchElection { index, count } => {
                write!(f, "election {index} does not exist ({count} elections)")
            }
            TerminalError::NothingMarked { election } => write!(
                f,
                "election {election}: mark the top box or a candidate, or go back"
            ),
            TerminalError::ReviewMismatch { election } => write!(
                f,
                "election {election}: ballot differs from the review shown; not cast"
            ),
            TerminalError::CountersMismatch {
                activations,
                cast,
                cancelled,
            } => write!(
                f,
                "cannot close: {activations} activations but {cast} cast + {cancelled} cancelled"
            ),
            TerminalError::StoreMismatch {
                election,
                stored,
                cast,
            } => write!(
                f,
                "cannot close: election {election} stores {stored} ballots but {cast} were cast"
            ),
            TerminalError::CounterOverflow => f.write_str("a counter is full"),
            TerminalError::StoreFull { capacity } => {
                write!(f, "ballot store is full ({capacity} voters)")
            }
            TerminalError::Store(e) => write!(f, "ballot store: {e}"),
            TerminalError::InvalidEvent(e) => write!(f, "election event: {e}"),
            TerminalError::Ballot(e) => write!(f, "ballot: {e}"),
        }
    }
}

/// The counters the close-time check and the reports use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Voters activated by the operator.
    pub activations: u32,
    /// Ballots cast.
    pub cast: u32,
    /// Sessions cancelled by the operator.
    pub cancelled: u32,
}

impl Counters {
    /// Whether every activation ended in a cast or a cancel.
    pub fn balanced(&self) -> bool {
        u64::from(self.cast).saturating_add(u64::from(self.cancelled))
            == u64::from(self.activations)
    }
}

/// A voter's working marks in one election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Draft {
    /// Nothing chosen yet.
    #[default]
    Undecided,
    /// A blank vote.
    Blank,
    /// Marks on one list.
    Marks {
        /// The list.
        list: ListIndex,
        /// Whether the top box is ticked.
        top_box: bool,
        /// The ticked candidates.
        candidates: CandidateSet,
    },
}

impl Draft {
    /// The choice these marks make, if complete ([`Choice::from_marks`]).
    pub fn choice(&self) -> Option<Choice> {
        match *self {
            Draft::Undecided => None,
            Draft::Blank => Some(Choice::Blank),
            Draft::Marks {
                list,
                top_box,
                candidates,
            } => Choice::from_marks(list, top_box, candidates),
        }
    }
}

/// Where a voter is within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Choosing the language (only when the event offers several).
    Language,
    /// Choosing a list or blank.
    Lists {
        /// Election (0-based).
        election: usize,
        /// Whether the voter came from the review to change this election.
        change: bool,
    },
    /// Marking candidates and the top box of the list in the election's draft.
    Candidates {
        /// Election (0-based).
        election: usize,
        /// Whether the voter came from the review to change this election.
        change: bool,
    },
    /// Reviewing every choice.
    Review,
}

/// One voter's session: language, step, drafts and the review. Wiped when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    language: Language,
    step: Step,
    elections: usize,
    drafts: [Draft; MAX_ELECTIONS],
    /// The draft of the election being changed, as it was on the review.
    before_change: Draft,
    review: [Choice; MAX_ELECTIONS],
    review_len: usize,
}

impl Session {
    /// The language the screens use.
    pub const fn language(&self) -> Language {
        self.language
    }

    /// Where the voter is.
    pub const fn step(&self) -> Step {
        self.step
    }

    /// The working marks of every election, in event order.
    pub fn drafts(&self) -> &[Draft] {
        self.drafts.get(..self.elections).unwrap_or(&[])
    }

    /// The working marks of election `election`.
    pub fn draft(&self, election: usize) -> Option<Draft> {
        self.drafts().get(election).copied()
    }

    /// The choices on the review screen, exactly as [`Terminal::confirm`] casts them;
    /// `None` unless the voter is on the review.
    pub fn review(&self) -> Option<&[Choice]> {
        match self.step {
            Step::Review => self.review.get(..self.review_len),
            _ => None,
        }
    }

    fn phase(&self) -> Phase {
        match self.step {
            Step::Language => Phase::Language,
            Step::Lists { .. } => Phase::Lists,
            Step::Candidates { .. } => Phase::Candidates,
            Step::Review => Phase::Review,
        }
    }

    fn draft_mut(&mut self, election: usize) -> Option<&mut Draft> {
        self.drafts.get_mut(..self.elections)?.get_mut(election)
    }

    /// Overwrite every choice the voter made, so nothing of it stays in RAM.
    fn scrub(&mut self, filler: ListIndex) {
        // Write the widest variants so no byte of an earlier choice survives, then make
        // sure the compiler keeps the stores.
        let draft = Draft::Marks {
            list: filler,
            top_box: false,
            candidates: CandidateSet::EMPTY,
        };
        let choice = Choice::Preferences {
            list: filler,
            candidates: CandidateSet::EMPTY,
        };
        self.drafts.fill(draft);
        self.before_change = draft;
        self.review.fill(choice);
        self.review_len = 0;
        self.elections = 0;
        core::hint::black_box(&*self);
    }

    /// The screen the voter sees when going back into election `election`.
    fn enter_election_backwards(&mut self, election: usize) {
        self.step = match self.draft(election) {
            Some(Draft::Marks { .. }) => Step::Candidates {
                election,
                change: false,
            },
            _ => Step::Lists {
                election,
                change: false,
            },
        };
    }

    /// Compute the review from the drafts; stays put if an election is undecided.
    fn enter_review(&mut self) -> Result<(), TerminalError> {
        let mut review = [Choice::Blank; MAX_ELECTIONS];
        for (e, slot) in review.iter_mut().enumerate().take(self.elections) {
            *slot = self
                .draft(e)
                .and_then(|d| d.choice())
                .ok_or(TerminalError::NothingMarked { election: e })?;
        }
        self.review = review;
        self.review_len = self.elections;
        self.step = Step::Review;
        Ok(())
    }

    /// After election `election` is decided: the next election, or the review.
    fn advance(&mut self, election: usize, change: bool) -> Result<(), TerminalError> {
        let next = election.saturating_add(1);
        if change || next >= self.elections {
            self.enter_review()
        } else {
            self.step = Step::Lists {
                election: next,
                change: false,
            };
            Ok(())
        }
    }
}

/// The terminal's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// One `State` exists, inside the terminal; boxing the session would need a heap.
#[allow(clippy::large_enum_variant)]
pub enum State {
    /// Booted; the poll has not been opened.
    PollNotOpened,
    /// The poll is open and no voter is in the booth.
    PollOpen,
    /// A voter is voting.
    Voting(Session),
    /// The poll is closed; only power-off remains.
    Closed,
    /// The terminal stopped after a fault; only power-off remains.
    Halted(HaltReason),
    /// Wiped for power-off.
    PoweredOff,
}

impl State {
    /// Where the terminal is.
    pub fn phase(&self) -> Phase {
        match self {
            State::PollNotOpened => Phase::PollNotOpened,
            State::PollOpen => Phase::PollOpen,
            State::Voting(session) => session.phase(),
            State::Closed => Phase::Closed,
            State::Halted(_) => Phase::Halted,
            State::PoweredOff => Phase::PoweredOff,
        }
    }
}

/// An input to the terminal, for driving it from decoded input events.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<'p> {
    /// The operator opens the poll with the PIN.
    OpenPoll {
        /// The PIN typed.
        pin: &'p [u8],
        /// Clock milliseconds now.
        now_ms: u64,
    },
    /// The operator lets the next voter vote.
    ActivateVoter,
    /// The voter picks a language.
    ChooseLanguage(Language),
    /// The voter picks a list (0-based).
    ChooseList(usize),
    /// The voter votes blank in this election.
    ChooseBlank,
    /// The voter ticks or unticks a candidate (0-based).
    ToggleCandidate(usize),
    /// The voter ticks or unticks the list's top box.
    ToggleTopBox,
    /// The voter is done with this list.
    Next,
    /// The voter goes back one screen.
    Back,
    /// The voter changes an election from the review (0-based).
    ChangeElection(usize),
    /// The voter confirms the review: the ballot is cast.
    Confirm,
    /// The operator cancels an abandoned session.
    CancelSession,
    /// The operator closes the poll with the PIN.
    ClosePoll {
        /// The PIN typed.
        pin: &'p [u8],
        /// Clock milliseconds now.
        now_ms: u64,
    },
    /// The operator powers the terminal off.
    PowerOff,
}

impl fmt::Debug for Action<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a PIN.
        match self {
            Action::OpenPoll { now_ms, .. } => write!(f, "OpenPoll {{ now_ms: {now_ms} }}"),
            Action::ClosePoll { now_ms, .. } => write!(f, "ClosePoll {{ now_ms: {now_ms} }}"),
            Action::ChooseLanguage(l) => write!(f, "ChooseLanguage({l:?})"),
            Action::ChooseList(i) => write!(f, "ChooseList({i})"),
            Action::ToggleCandidate(i) => write!(f, "ToggleCandidate({i})"),
            Action::ChangeElection(i) => write!(f, "ChangeElection({i})"),
            other => write!(f, "{:?}", other.kind()),
        }
    }
}

impl Action<'_> {
    /// What the action is.
    pub const fn kind(&self) -> ActionKind {
        match self {
            Action::OpenPoll { .. } => ActionKind::OpenPoll,
            Action::ActivateVoter => ActionKind::ActivateVoter,
            Action::ChooseLanguage(_) => ActionKind::ChooseLanguage,
            Action::ChooseList(_) => ActionKind::ChooseList,
            Action::ChooseBlank => ActionKind::ChooseBlank,
            Action::ToggleCandidate(_) => ActionKind::ToggleCandidate,
            Action::ToggleTopBox => ActionKind::ToggleTopBox,
            Action::Next => ActionKind::Next,
            Action::Back => ActionKind::Back,
            Action::ChangeElection(_) => ActionKind::ChangeElection,
            Action::Confirm => ActionKind::Confirm,
            Action::CancelSession => ActionKind::CancelSession,
            Action::ClosePoll { .. } => ActionKind::ClosePoll,
            Action::PowerOff => ActionKind::PowerOff,
        }
    }
}

/// Wrong-PIN counting and the growing lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Lockout {
    failures: u32,
    last_lock_ms: u64,
    locked_until_ms: u64,
}

impl Lockout {
    fn check(&self, now_ms: u64) -> Result<(), TerminalError> {
        match self.locked_until_ms.checked_sub(now_ms) {
            Some(remaining_ms) if remaining_ms > 0 => {
                Err(TerminalError::PinLocked { remaining_ms })
            }
            _ => Ok(()),
        }
    }

    fn fail(&mut self, now_ms: u64) -> TerminalError {
        self.failures = self.failures.saturating_add(1);
        let mut locked_for_ms = 0;
        if self.failures >= PIN_FAILURES_BEFORE_LOCK {
            locked_for_ms = if self.last_lock_ms == 0 {
                PIN_LOCK_BASE_MS
            } else {
                self.last_lock_ms.saturating_mul(2).min(PIN_LOCK_MAX_MS)
            };
            self.last_lock_ms = locked_for_ms;
            self.locked_until_ms = now_ms.saturating_add(locked_for_ms);
        }
        TerminalError::WrongPin {
            failures: self.failures,
            locked_for_ms,
        }
    }
}

/// The voting terminal: state, counters and PIN lockout, with the borrowed election event
/// and ballot store.
pub struct Terminal<'t> {
    event: &'t Event<'t>,
    store: &'t mut BallotStore,
    verifier: PinVerifier,
    state: State,
    counters: Counters,
    lockout: Lockout,
    /// A valid list index used to overwrite ended sessions.
    filler: ListIndex,
}

impl fmt::Debug for Terminal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Terminal")
            .field("event", &self.event.id)
            .field("phase", &self.state.phase())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        self.end_session();
        self.verifier.zeroize();
    }
}

impl<'t> Terminal<'t> {
    /// A booted terminal for `event`, checking PINs against `verifier`, casting into
    /// `store` (reset when the poll opens).
    pub fn new(
        event: &'t Event<'t>,
        verifier: PinVerifier,
        store: &'t mut BallotStore,
    ) -> Result<Terminal<'t>, TerminalError> {
        event.validate().map_err(TerminalError::InvalidEvent)?;
        verifier.check().map_err(TerminalError::PinVerifier)?;
        let first = event
            .elections
            .first()
            .ok_or(TerminalError::NoSuchElection { index: 0, count: 0 })?;
        let filler = ListIndex::new(0, first).map_err(TerminalError::Ballot)?;
        Ok(Terminal {
            event,
            store,
            verifier,
            state: State::PollNotOpened,
            counters: Counters::default(),
            lockout: Lockout::default(),
            filler,
        })
    }

    // -- accessors --------------------------------------------------------------------------

    /// The state.
    pub const fn state(&self) -> &State {
        &self.state
    }

    /// Where the terminal is.
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    /// The counters.
    pub const fn counters(&self) -> Counters {
        self.counters
    }

    /// The election event.
    pub const fn event(&self) -> &'t Event<'t> {
        self.event
    }

    /// The ballot store (read-only; only [`Terminal::confirm`] adds ballots).
    pub fn store(&self) -> &BallotStore {
        self.store
    }

    /// The voter's session, if a voter is in the booth.
    pub const fn session(&self) -> Option<&Session> {
        match &self.state {
            State::Voting(session) => Some(session),
            _ => None,
        }
    }

    /// The choices on the review screen, exactly what [`Terminal::confirm`] will cast;
    /// `None` unless a voter is on the review.
    pub fn review(&self) -> Option<&[Choice]> {
        self.session().and_then(Session::review)
    }

    /// Milliseconds PIN entry stays locked at `now_ms` (0: not locked).
    pub fn pin_locked_for(&self, now_ms: u64) -> u64 {
        self.lockout.locked_until_ms.saturating_sub(now_ms)
    }

    // -- dispatch ---------------------------------------------------------------------------

    /// Apply `action` (the same as calling its method).
    pub fn handle(&mut self, action: Action<'_>) -> Result<(), TerminalError> {
        match action {
            Action::OpenPoll { pin, now_ms } => self.open_poll(pin, now_ms),
            Action::ActivateVoter => self.activate_voter(),
            Action::ChooseLanguage(language) => self.choose_language(language),
            Action::ChooseList(index) => self.choose_list(index),
            Action::ChooseBlank => self.choose_blank(),
            Action::ToggleCandidate(index) => self.toggle_candidate(index),
            Action::ToggleTopBox => self.toggle_top_box(),
            Action::Next => self.forward(),
            Action::Back => self.back(),
            Action::ChangeElection(index) => self.change_election(index),
            Action::Confirm => self.confirm(),
            Action::CancelSession => self.cancel_session(),
            Action::ClosePoll { pin, now_ms } => self.close_poll(pin, now_ms),
            Action::PowerOff => self.power_off(),
        }
    }

    fn rejection(&self, action: ActionKind) -> TerminalError {
        match &self.state {
            State::Halted(reason) => TerminalError::Halted {
                action,
                reason: *reason,
            },
            State::PoweredOff => TerminalError::PoweredOff { action },
            State::Voting(_)
                if matches!(
                    action,
                    ActionKind::OpenPoll
                        | ActionKind::ActivateVoter
                        | ActionKind::ClosePoll
                        | ActionKind::PowerOff
                ) =>
            {
                TerminalError::VoterInBooth { action }
            }
            state => TerminalError::NotAllowed {
                action,
                phase: state.phase(),
            },
        }
    }

    fn require(&self, action: ActionKind, phase: Phase) -> Result<(), TerminalError> {
        if self.state.phase() == phase {
            Ok(())
        } else {
            Err(self.rejection(action))
        }
    }

    fn session_mut(&mut self, action: ActionKind) -> Result<&mut Session, TerminalError> {
        let rejection = self.rejection(action);
        match &mut self.state {
            State::Voting(session) => Ok(session),
            _ => Err(rejection),
        }
    }

    fn check_pin(&mut self, pin: &[u8], now_ms: u64) -> Result<(), TerminalError> {
        self.lockout.check(now_ms)?;
        let matched = self.verifier.verify(pin);
        self.settle_pin(matched, now_ms)
    }

    /// Count a PIN attempt: a wrong PIN counts towards the lockout, a right one resets it.
    fn settle_pin(&mut self, matched: bool, now_ms: u64) -> Result<(), TerminalError> {
        if !matched {
            return Err(self.lockout.fail(now_ms));
        }
        self.lockout = Lockout::default();
        Ok(())
    }

    /// Start a stepped check of `pin` for `action` ([`ActionKind::OpenPoll`] or
    /// [`ActionKind::ClosePoll`]), refused as that action would be now (wrong phase, PIN
    /// entry locked). Finish it with [`Terminal::open_poll_checked`] or
    /// [`Terminal::close_poll_checked`]; the lockout rules are those of
    /// [`Terminal::open_poll`].
    pub fn start_pin_check(
        &self,
        action: ActionKind,
        pin: &[u8],
        now_ms: u64,
    ) -> Result<PinCheck, TerminalError> {
        let phase = match action {
            ActionKind::OpenPoll => Phase::PollNotOpened,
            ActionKind::ClosePoll => Phase::PollOpen,
            _ => return Err(self.rejection(action)),
        };
        self.require(action, phase)?;
        self.lockout.check(now_ms)?;
        Ok(PinCheck::start(&self.verifier, pin))
    }

    /// Count a finished stepped check as one PIN attempt.
    fn settle_check(&mut self, check: &PinCheck, now_ms: u64) -> Result<(), TerminalError> {
        self.lockout.check(now_ms)?;
        let matched = check.matches(&self.verifier);
        self.settle_pin(matched, now_ms)
    }

    /// Wipe the voter's session, if any, and leave the booth empty.
    fn end_session(&mut self) {
        let filler = self.filler;
        if let State::Voting(session) = &mut self.state {
            session.scrub(filler);
            self.state = State::PollOpen;
        }
    }

    // -- operator ---------------------------------------------------------------------------

    /// Open the poll with the operator PIN: resets the ballot store and the counters.
    pub fn open_poll(&mut self, pin: &[u8], now_ms: u64) -> Result<(), TerminalError> {
        self.require(ActionKind::OpenPoll, Phase::PollNotOpened)?;
        self.check_pin(pin, now_ms)?;
        self.poll_opened()
    }

    /// Open the poll after a stepped PIN check ([`Terminal::start_pin_check`]): as
    /// [`Terminal::open_poll`], with the check's result as the PIN attempt. An unfinished
    /// check, or one made against another verifier, counts as a wrong PIN.
    pub fn open_poll_checked(
        &mut self,
        check: &PinCheck,
        now_ms: u64,
    ) -> Result<(), TerminalError> {
        self.require(ActionKind::OpenPoll, Phase::PollNotOpened)?;
        self.settle_check(check, now_ms)?;
        self.poll_opened()
    }

    fn poll_opened(&mut self) -> Result<(), TerminalError> {
        self.store.reset(self.event).map_err(TerminalError::Store)?;
        self.counters = Counters::default();
        self.state = State::PollOpen;
        Ok(())
    }

    /// Let the next voter vote.
    pub fn activate_voter(&mut self) -> Result<(), TerminalError> {
        self.require(ActionKind::ActivateVoter, Phase::PollOpen)?;
        let activations = self
            .counters
            .activations
            .checked_add(1)
            .ok_or(TerminalError::CounterOverflow)?;
        let capacity = self.store.capacity();
        if self.store.ballots(0) >= capacity {
            return Err(TerminalError::StoreFull { capacity });
        }
        let languages = self.event.languages.as_slice();
        let language = languages.first().copied().unwrap_or(Language::Nl);
        let elections = self.event.elections.len().min(MAX_ELECTIONS);
        let step = if languages.len() > 1 {
            Step::Language
        } else {
            Step::Lists {
                election: 0,
                change: false,
            }
        };
        self.counters.activations = activations;
        self.state = State::Voting(Session {
            language,
            step,
            elections,
            drafts: [Draft::Undecided; MAX_ELECTIONS],
            before_change: Draft::Undecided,
            review: [Choice::Blank; MAX_ELECTIONS],
            review_len: 0,
        });
        Ok(())
    }

    /// Cancel the voter's session (abandoned booth); it counts as cancelled, never as a vote.
    pub fn cancel_session(&mut self) -> Result<(), TerminalError> {
        self.session_mut(ActionKind::CancelSession)?;
        let cancelled = self
            .counters
            .cancelled
            .checked_add(1)
            .ok_or(TerminalError::CounterOverflow)?;
        self.counters.cancelled = cancelled;
        self.end_session();
        Ok(())
    }

    /// Close the poll with the operator PIN. Refused with a voter in the booth, when
    /// activations differ from cast + cancelled, or when the store disagrees.
    pub fn close_poll(&mut self, pin: &[u8], now_ms: u64) -> Result<(), TerminalError> {
        self.require(ActionKind::ClosePoll, Phase::PollOpen)?;
        self.check_pin(pin, now_ms)?;
        self.poll_closing()
    }

    /// Close the poll after a stepped PIN check ([`Terminal::start_pin_check`]): as
    /// [`Terminal::close_poll`], with the check's result as the PIN attempt.
    pub fn close_poll_checked(
        &mut self,
        check: &PinCheck,
        now_ms: u64,
    ) -> Result<(), TerminalError> {
        self.require(ActionKind::ClosePoll, Phase::PollOpen)?;
        self.settle_check(check, now_ms)?;
        self.poll_closing()
    }

    fn poll_closing(&mut self) -> Result<(), TerminalError> {
        let Counters {
            activations,
            cast,
            cancelled,
        } = self.counters;
        if !self.counters.balanced() {
            return Err(TerminalError::CountersMismatch {
                activations,
                cast,
                cancelled,
            });
        }
        self.verify_store()?;
        for election in 0..self.event.elections.len() {
            let stored = self.store.ballots(election);
            if u64::try_from(stored).ok() != Some(u64::from(cast)) {
                return Err(TerminalError::StoreMismatch {
                    election,
                    stored,
                    cast,
                });
            }
        }
        self.state = State::Closed;
        Ok(())
    }

    /// Wipe the ballot store, the voter's session and the PIN verifier, and stop.
    /// Refused while the poll is open (close it first).
    pub fn power_off(&mut self) -> Result<(), TerminalError> {
        match self.state {
            State::PollNotOpened | State::Closed | State::Halted(_) => {
                self.wipe();
                Ok(())
            }
            _ => Err(self.rejection(ActionKind::PowerOff)),
        }
    }

    /// The supply warned that power is failing: wipe everything now, whatever the state.
    pub fn power_fail(&mut self) {
        self.wipe();
    }

    /// Stop after a fault found outside the state machine (e.g. the media failed);
    /// the voter's session, if any, is wiped. Only power-off remains possible.
    pub fn halt(&mut self, reason: HaltReason) {
        if matches!(self.state, State::PoweredOff) {
            return;
        }
        self.end_session();
        self.state = State::Halted(reason);
    }

    fn wipe(&mut self) {
        self.end_session();
        self.store.wipe();
        self.verifier.zeroize();
        self.lockout = Lockout::default();
        self.counters = Counters::default();
        self.state = State::PoweredOff;
    }

    fn verify_store(&mut self) -> Result<(), TerminalError> {
        match self.store.verify(self.event) {
            Ok(()) => Ok(()),
            Err(e) => {
                if matches!(e, StoreError::IntegrityFault { .. }) {
                    self.halt(HaltReason::MemoryIntegrity);
                }
                Err(TerminalError::Store(e))
            }
        }
    }

    // -- voter ------------------------------------------------------------------------------

    /// Choose the language; allowed at any step of a session (it changes no choice).
    /// On the language screen it moves on to the first election.
    pub fn choose_language(&mut self, language: Language) -> Result<(), TerminalError> {
        let offered = self.event.languages.contains(&language);
        let session = self.session_mut(ActionKind::ChooseLanguage)?;
        if !offered {
            return Err(TerminalError::LanguageNotOffered { language });
        }
        session.language = language;
        if session.step == Step::Language {
            session.step = Step::Lists {
                election: 0,
                change: false,
            };
        }
        Ok(())
    }

    /// Choose list `index` of the current election and go to its candidates. Choosing
    /// another list than the draft's discards the draft's marks.
    pub fn choose_list(&mut self, index: usize) -> Result<(), TerminalError> {
        let event = self.event;
        let session = self.session_mut(ActionKind::ChooseList)?;
        let Step::Lists { election, change } = session.step else {
            return Err(self.rejection(ActionKind::ChooseList));
        };
        let count = event.elections.get(election).map_or(0, |e| e.lists.len());
        let list = event
            .elections
            .get(election)
            .and_then(|e| ListIndex::new(index, e).ok())
            .ok_or(TerminalError::NoSuchList {
                election,
                index,
                count,
            })?;
        let draft = session
            .draft_mut(election)
            .ok_or(TerminalError::NoSuchElection {
                index: election,
                count: event.elections.len(),
            })?;
        if !matches!(*draft, Draft::Marks { list: current, .. } if current == list) {
            *draft = Draft::Marks {
                list,
                top_box: false,
                candidates: CandidateSet::EMPTY,
            };
        }
        session.step = Step::Candidates { election, change };
        Ok(())
    }

    /// Vote blank in the current election and move on (to the review when changing).
    pub fn choose_blank(&mut self) -> Result<(), TerminalError> {
        let count = self.event.elections.len();
        let session = self.session_mut(ActionKind::ChooseBlank)?;
        let Step::Lists { election, change } = session.step else {
            return Err(self.rejection(ActionKind::ChooseBlank));
        };
        let draft = session
            .draft_mut(election)
            .ok_or(TerminalError::NoSuchElection {
                index: election,
                count,
            })?;
        *draft = Draft::Blank;
        session.advance(election, change)
    }

    fn marks_mut(
        &mut self,
        action: ActionKind,
    ) -> Result<(usize, &mut ListIndex, &mut bool, &mut CandidateSet), TerminalError> {
        let count = self.event.elections.len();
        let rejection = self.rejection(action);
        let State::Voting(session) = &mut self.state else {
            return Err(rejection);
        };
        let Step::Candidates { election, .. } = session.step else {
            return Err(rejection);
        };
        match session.draft_mut(election) {
            Some(Draft::Marks {
                list,
                top_box,
                candidates,
            }) => Ok((election, list, top_box, candidates)),
            Some(_) => Err(rejection),
            None => Err(TerminalError::NoSuchElection {
                index: election,
                count,
            }),
        }
    }

    /// Tick or untick candidate `index` of the list being marked.
    pub fn toggle_candidate(&mut self, index: usize) -> Result<(), TerminalError> {
        let event = self.event;
        let (election, list, _, candidates) = self.marks_mut(ActionKind::ToggleCandidate)?;
        let count = event
            .elections
            .get(election)
            .and_then(|e| e.lists.get(list.get()))
            .map_or(0, |l| l.candidates.len());
        if index >= count {
            return Err(TerminalError::NoSuchCandidate {
                election,
                list: list.get(),
                index,
                count,
            });
        }
        *candidates = candidates.toggled(index);
        Ok(())
    }

    /// Tick or untick the top box of the list being marked.
    pub fn toggle_top_box(&mut self) -> Result<(), TerminalError> {
        let (_, _, top_box, _) = self.marks_mut(ActionKind::ToggleTopBox)?;
        *top_box = !*top_box;
        Ok(())
    }

    /// Done marking this list: on to the next election (or the review when changing or on
    /// the last election). Refused when nothing is marked.
    pub fn forward(&mut self) -> Result<(), TerminalError> {
        let session = self.session_mut(ActionKind::Next)?;
        let Step::Candidates { election, change } = session.step else {
            return Err(self.rejection(ActionKind::Next));
        };
        if session.draft(election).and_then(|d| d.choice()).is_none() {
            return Err(TerminalError::NothingMarked { election });
        }
        session.advance(election, change)
    }

    /// Go back one screen. From the candidates to the lists of the same election; from the
    /// lists to the previous election (or the language screen); from the review to the last
    /// election. While changing an election from the review, going back from its lists
    /// restores the choice the review showed and returns to the review.
    pub fn back(&mut self) -> Result<(), TerminalError> {
        let several_languages = self.event.languages.len() > 1;
        let session = self.session_mut(ActionKind::Back)?;
        match session.step {
            Step::Language => Err(self.rejection(ActionKind::Back)),
            Step::Candidates { election, change } => {
                session.step = Step::Lists { election, change };
                Ok(())
            }
            Step::Lists {
                election,
                change: true,
            } => {
                let before = session.before_change;
                if let Some(draft) = session.draft_mut(election) {
                    *draft = before;
                }
                session.enter_review()
            }
            Step::Lists {
                election: 0,
                change: false,
            } => {
                if several_languages {
                    session.step = Step::Language;
                    Ok(())
                } else {
                    Err(self.rejection(ActionKind::Back))
                }
            }
            Step::Lists {
                election,
                change: false,
            } => {
                session.enter_election_backwards(election.saturating_sub(1));
                Ok(())
            }
            Step::Review => {
                let last = session.elections.saturating_sub(1);
                session.enter_election_backwards(last);
                Ok(())
            }
        }
    }

    /// From the review, change election `index`; finishing it returns to the review.
    pub fn change_election(&mut self, index: usize) -> Result<(), TerminalError> {
        let session = self.session_mut(ActionKind::ChangeElection)?;
        if session.step != Step::Review {
            return Err(self.rejection(ActionKind::ChangeElection));
        }
        let count = session.elections;
        let before = session
            .draft(index)
            .ok_or(TerminalError::NoSuchElection { index, count })?;
        session.before_change = before;
        session.step = Step::Lists {
            election: index,
            change: true,
        };
        Ok(())
    }

    /// Cast exactly the choices on the review screen into the ballot store; the booth is
    /// then free. If the store refuses, nothing is cast and the voter stays on the review
    /// (a memory-integrity fault halts the terminal).
    pub fn confirm(&mut self) -> Result<(), TerminalError> {
        let event = self.event;
        let session = self.session_mut(ActionKind::Confirm)?;
        let Some(review) = session.review() else {
            return Err(self.rejection(ActionKind::Confirm));
        };
        // Defence in depth for the 2014 rule: the review must still be what the drafts say.
        for (election, shown) in review.iter().enumerate() {
            let drafted = session.draft(election).and_then(|d| d.choice());
            if drafted != Some(*shown) {
                return Err(TerminalError::ReviewMismatch { election });
            }
            if let Some(e) = event.elections.get(election) {
                shown.check(e).map_err(TerminalError::Ballot)?;
            }
        }
        if review.len() != event.elections.len() {
            return Err(TerminalError::ReviewMismatch {
                election: review.len(),
            });
        }
        let cast = self
            .counters
            .cast
            .checked_add(1)
            .ok_or(TerminalError::CounterOverflow)?;
        // Borrow the review again, now alongside the store.
        let State::Voting(session) = &self.state else {
            return Err(self.rejection(ActionKind::Confirm));
        };
        let review = session.review().unwrap_or(&[]);
        match self.store.cast(event, review) {
            Ok(()) => {
                self.counters.cast = cast;
                self.end_session();
                Ok(())
            }
            Err(e) => {
                if matches!(e, StoreError::IntegrityFault { .. }) {
                    self.halt(HaltReason::MemoryIntegrity);
                }
                Err(TerminalError::Store(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::tests::tiny_event;
    use crate::hal::doubles::FakeClock;
    use crate::hal::Clock;
    use crate::pin::PIN_MIN_ITERATIONS;
    use core::num::NonZeroU32;
    use std::boxed::Box;
    use std::string::ToString;
    use std::vec::Vec;

    const PIN: &[u8] = b"4711";
    const WRONG: &[u8] = b"0000";

    fn verifier() -> PinVerifier {
        PinVerifier::derive(PIN, [5; 16], NonZeroU32::new(PIN_MIN_ITERATIONS).unwrap())
    }

    fn fixture() -> (&'static Event<'static>, Box<BallotStore>) {
        (Box::leak(tiny_event()), Box::new(BallotStore::new()))
    }

    fn one_language_event() -> &'static Event<'static> {
        let mut event = tiny_event();
        event.languages = heapless::Vec::from_slice(&[Language::Fr]).unwrap();
        Box::leak(event)
    }

    fn list(i: usize) -> ListIndex {
        ListIndex::new(i, &tiny_event().elections[0]).unwrap()
    }

    fn prefs(l: usize, mask: u64) -> Choice {
        Choice::Preferences {
            list: list(l),
            candidates: CandidateSet::from_mask(mask, 64).unwrap(),
        }
    }

    fn opened<'t>(event: &'t Event<'t>, store: &'t mut BallotStore) -> Terminal<'t> {
        let mut t = Terminal::new(event, verifier(), store).unwrap();
        t.open_poll(PIN, 0).unwrap();
        t
    }

    /// Every phase, reached through the public API.
    const PHASES: [Phase; 9] = [
        Phase::PollNotOpened,
        Phase::PollOpen,
        Phase::Language,
        Phase::Lists,
        Phase::Candidates,
        Phase::Review,
        Phase::Closed,
        Phase::Halted,
        Phase::PoweredOff,
    ];

    fn terminal_in<'t>(
        phase: Phase,
        event: &'t Event<'t>,
        store: &'t mut BallotStore,
    ) -> Terminal<'t> {
        let mut t = Terminal::new(event, verifier(), store).unwrap();
        let steps: &[Action<'_>] = match phase {
            Phase::PollNotOpened => &[],
            Phase::PollOpen => &[OPEN],
            Phase::Language => &[OPEN, Action::ActivateVoter],
            Phase::Lists => &[
                OPEN,
                Action::ActivateVoter,
                Action::ChooseLanguage(Language::Nl),
            ],
            Phase::Candidates => &[
                OPEN,
                Action::ActivateVoter,
                Action::ChooseLanguage(Language::Nl),
                Action::ChooseList(0),
                Action::ToggleCandidate(0),
            ],
            Phase::Review => &[
                OPEN,
                Action::ActivateVoter,
                Action::ChooseLanguage(Language::Nl),
                Action::ChooseList(0),
                Action::ToggleCandidate(0),
                Action::Next,
                Action::ChooseBlank,
            ],
            Phase::Closed => &[OPEN, CLOSE],
            Phase::Halted => &[OPEN],
            Phase::PoweredOff => &[Action::PowerOff],
        };
        for step in steps {
            t.handle(*step).unwrap();
        }
        if phase == Phase::Halted {
            t.halt(HaltReason::MediaFailure);
        }
        assert_eq!(t.phase(), phase);
        t
    }

    const OPEN: Action<'static> = Action::OpenPoll {
        pin: PIN,
        now_ms: 0,
    };
    const CLOSE: Action<'static> = Action::ClosePoll {
        pin: PIN,
        now_ms: 0,
    };

    /// One action of each kind, with valid data.
    const ACTIONS: [Action<'static>; 14] = [
        OPEN,
        Action::ActivateVoter,
        Action::ChooseLanguage(Language::Fr),
        Action::ChooseList(0),
        Action::ChooseBlank,
        Action::ToggleCandidate(0),
        Action::ToggleTopBox,
        Action::Next,
        Action::Back,
        Action::ChangeElection(0),
        Action::Confirm,
        Action::CancelSession,
        CLOSE,
        Action::PowerOff,
    ];

    /// The table of rejected (phase, action) pairs and their errors. Every pair not listed
    /// succeeds.
    fn rejected(phase: Phase, action: ActionKind) -> Option<TerminalError> {
        use ActionKind as A;
        let not_allowed = Some(TerminalError::NotAllowed { action, phase });
        let in_booth = Some(TerminalError::VoterInBooth { action });
        let operator = matches!(
            action,
            A::OpenPoll | A::ActivateVoter | A::ClosePoll | A::PowerOff
        );
        match (phase, action) {
            (Phase::PollNotOpened, A::OpenPoll | A::PowerOff) => None,
            (Phase::PollNotOpened, _) => not_allowed,
            (Phase::PollOpen, A::ActivateVoter | A::ClosePoll) => None,
            (Phase::PollOpen, _) => not_allowed,
            (Phase::Language | Phase::Lists | Phase::Candidates | Phase::Review, _) if operator => {
                in_booth
            }
            (_, A::CancelSession | A::ChooseLanguage)
                if matches!(
                    phase,
                    Phase::Language | Phase::Lists | Phase::Candidates | Phase::Review
                ) =>
            {
                None
            }
            (Phase::Language, _) => not_allowed,
            (Phase::Lists, A::ChooseList | A::ChooseBlank | A::Back) => None,
            (Phase::Lists, _) => not_allowed,
            (Phase::Candidates, A::ToggleCandidate | A::ToggleTopBox | A::Next | A::Back) => None,
            (Phase::Candidates, _) => not_allowed,
            (Phase::Review, A::Back | A::ChangeElection | A::Confirm) => None,
            (Phase::Review, _) => not_allowed,
            (Phase::Closed, A::PowerOff) => None,
            (Phase::Closed, _) => not_allowed,
            (Phase::Halted, A::PowerOff) => None,
            (Phase::Halted, _) => Some(TerminalError::Halted {
                action,
                reason: HaltReason::MediaFailure,
            }),
            (Phase::PoweredOff, _) => Some(TerminalError::PoweredOff { action }),
        }
    }

    #[test]
    fn every_phase_and_action_is_accepted_or_rejected_as_the_table_says() {
        let event: &'static Event<'static> = Box::leak(tiny_event());
        let mut store = Box::new(BallotStore::new());
        let mut checked = 0;
        for phase in PHASES {
            for action in ACTIONS {
                let mut t = terminal_in(phase, event, &mut store);
                let before = (t.state().clone(), t.counters());
                let result = t.handle(action);
                match rejected(phase, action.kind()) {
                    Some(expected) => {
                        assert_eq!(result, Err(expected.clone()), "{phase:?} {action:?}");
                        assert_eq!(
                            (t.state().clone(), t.counters()),
                            before,
                            "a rejected action changes nothing: {phase:?} {action:?}"
                        );
                        assert!((100..200).contains(&expected.code()));
                    }
                    None => assert_eq!(result, Ok(()), "{phase:?} {action:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 9 * 14);
    }

    #[test]
    fn bad_voter_input_is_rejected_with_its_data_and_changes_nothing() {
        let (event, mut store) = fixture();
        let mut t = terminal_in(Phase::Lists, event, &mut store);
        let cases: Vec<(Action<'_>, TerminalError)> = std::vec![
            (
                Action::ChooseLanguage(Language::De),
                TerminalError::LanguageNotOffered {
                    language: Language::De,
                },
            ),
            (
                Action::ChooseList(3),
                TerminalError::NoSuchList {
                    election: 0,
                    index: 3,
                    count: 3,
                },
            ),
            (
                Action::ChooseList(usize::MAX),
                TerminalError::NoSuchList {
                    election: 0,
                    index: usize::MAX,
                    count: 3,
                },
            ),
        ];
        for (action, expected) in cases {
            let before = t.state().clone();
            assert_eq!(t.handle(action), Err(expected), "{action:?}");
            assert_eq!(t.state(), &before);
        }
        t.choose_list(2).unwrap();
        let before = t.state().clone();
        assert_eq!(
            t.toggle_candidate(4),
            Err(TerminalError::NoSuchCandidate {
                election: 0,
                list: 2,
                index: 4,
                count: 4
            })
        );
        assert_eq!(
            t.forward(),
            Err(TerminalError::NothingMarked { election: 0 })
        );
        assert_eq!(t.state(), &before);
        t.toggle_top_box().unwrap();
        t.forward().unwrap();
        t.choose_blank().unwrap();
        assert_eq!(
            t.change_election(2),
            Err(TerminalError::NoSuchElection { index: 2, count: 2 })
        );
        assert_eq!(
            t.review(),
            Some(&[Choice::List(list(2)), Choice::Blank][..])
        );
        // Error codes of voter input are 3xx and stable.
        assert_eq!(
            TerminalError::NothingMarked { election: 0 }.code(),
            304,
            "codes are part of the reports"
        );
    }

    #[test]
    fn going_back_from_the_first_election_needs_a_language_screen() {
        let event = one_language_event();
        let mut store = Box::new(BallotStore::new());
        let mut t = opened(event, &mut store);
        t.activate_voter().unwrap();
        assert_eq!(t.phase(), Phase::Lists, "one language: no language screen");
        assert_eq!(t.session().unwrap().language(), Language::Fr);
        assert_eq!(
            t.back(),
            Err(TerminalError::NotAllowed {
                action: ActionKind::Back,
                phase: Phase::Lists
            })
        );
        t.choose_language(Language::Fr).unwrap();
        assert_eq!(
            t.choose_language(Language::Nl),
            Err(TerminalError::LanguageNotOffered {
                language: Language::Nl
            })
        );
    }

    #[test]
    fn a_full_session_casts_exactly_the_review() {
        let (event, mut store) = fixture();
        let mut t = opened(event, &mut store);
        t.activate_voter().unwrap();
        assert_eq!(t.phase(), Phase::Language);
        t.choose_language(Language::Fr).unwrap();
        // Election 0: marks on list 0, then switch to list 1: list 0's marks are gone.
        t.choose_list(0).unwrap();
        t.toggle_candidate(0).unwrap();
        t.toggle_candidate(3).unwrap();
        t.back().unwrap();
        t.choose_list(1).unwrap();
        assert_eq!(
            t.session().unwrap().draft(0),
            Some(Draft::Marks {
                list: list(1),
                top_box: false,
                candidates: CandidateSet::EMPTY
            })
        );
        t.toggle_top_box().unwrap();
        t.toggle_candidate(2).unwrap();
        t.forward().unwrap();
        // Election 1: list vote.
        t.choose_list(1).unwrap();
        t.toggle_top_box().unwrap();
        t.forward().unwrap();
        let shown = [prefs(1, 0b100), Choice::List(list(1))];
        assert_eq!(t.review(), Some(&shown[..]));
        // Change election 0 to blank from the review.
        t.change_election(0).unwrap();
        assert_eq!(t.review(), None, "no review while changing");
        t.choose_blank().unwrap();
        let shown = [Choice::Blank, Choice::List(list(1))];
        assert_eq!(t.review(), Some(&shown[..]));
        t.confirm().unwrap();
        assert_eq!(t.phase(), Phase::PollOpen);
        assert_eq!(t.session(), None);
        assert_eq!(t.store().count(event, 0, &Choice::Blank), Ok(1));
        assert_eq!(t.store().count(event, 1, &Choice::List(list(1))), Ok(1));
        assert_eq!(t.store().count(event, 0, &prefs(1, 0b100)), Ok(0));
        assert_eq!(t.store().ballots(0), 1);
        assert_eq!(
            t.counters(),
            Counters {
                activations: 1,
                cast: 1,
                cancelled: 0
            }
        );
    }

    #[test]
    fn backing_out_of_a_change_restores_what_the_review_showed() {
        let (event, mut store) = fixture();
        let mut t = opened(event, &mut store);
        t.activate_voter().unwrap();
        t.choose_language(Language::Nl).unwrap();
        t.choose_list(2).unwrap();
        t.toggle_candidate(1).unwrap();
        t.toggle_top_box().unwrap();
        t.forward().unwrap();
        t.choose_blank().unwrap();
        let shown = [prefs(2, 0b10), Choice::Blank];
        assert_eq!(t.review(), Some(&shown[..]));
        // Change election 0: another list, marks, then back out twice.
        t.change_election(0).unwrap();
        t.choose_list(0).unwrap();
        t.toggle_candidate(0).unwrap();
        t.back().unwrap();
        t.back().unwrap();
        assert_eq!(t.review(), Some(&shown[..]));
        assert_eq!(
            t.session().unwrap().draft(0),
            Some(Draft::Marks {
                list: list(2),
                top_box: true,
                candidates: CandidateSet::from_mask(0b10, 4).unwrap()
            }),
            "the draft, top box included, is as before the change"
        );
        // Change election 0 again: same list keeps its marks; untick the candidate.
        t.change_election(0).unwrap();
        t.choose_list(2).unwrap();
        t.toggle_candidate(1).unwrap();
        t.forward().unwrap();
        let shown = [Choice::List(list(2)), Choice::Blank];
        assert_eq!(t.review(), Some(&shown[..]));
        // Back from the review goes to the last election; forward again.
        t.back().unwrap();
        assert_eq!(
            t.session().unwrap().step(),
            Step::Lists {
                election: 1,
                change: false
            }
        );
        t.back().unwrap();
        assert_eq!(
            t.session().unwrap().step(),
            Step::Candidates {
                election: 0,
                change: false
            }
        );
        t.toggle_candidate(0).unwrap();
        t.forward().unwrap();
        t.choose_list(0).unwrap();
        t.toggle_top_box().unwrap();
        t.forward().unwrap();
        let shown = [prefs(2, 0b1), Choice::List(list(0))];
        assert_eq!(t.review(), Some(&shown[..]));
        t.confirm().unwrap();
        assert_eq!(t.store().count(event, 0, &shown[0]), Ok(1));
        assert_eq!(t.store().count(event, 1, &shown[1]), Ok(1));
    }

    #[test]
    fn pin_lockout_grows_and_survives_tries_while_locked() {
        let (event, mut store) = fixture();
        let mut t = Terminal::new(event, verifier(), &mut store).unwrap();
        let clock = FakeClock::new(event.date, 1_000);
        for failures in 1..PIN_FAILURES_BEFORE_LOCK {
            assert_eq!(
                t.open_poll(WRONG, clock.now_ms()),
                Err(TerminalError::WrongPin {
                    failures,
                    locked_for_ms: 0
                })
            );
        }
        assert_eq!(
            t.open_poll(WRONG, clock.now_ms()),
            Err(TerminalError::WrongPin {
                failures: 5,
                locked_for_ms: 30_000
            })
        );
        // While locked even the right PIN is refused, and tries do not shorten the lock.
        for _ in 0..3 {
            assert_eq!(
                t.open_poll(PIN, clock.now_ms()),
                Err(TerminalError::PinLocked {
                    remaining_ms: 30_000
                })
            );
        }
        clock.advance_ms(29_999);
        assert_eq!(
            t.open_poll(PIN, clock.now_ms()),
            Err(TerminalError::PinLocked { remaining_ms: 1 })
        );
        assert_eq!(t.pin_locked_for(clock.now_ms()), 1);
        clock.advance_ms(1);
        // After the lock each wrong PIN locks again, twice as long.
        assert_eq!(
            t.open_poll(WRONG, clock.now_ms()),
            Err(TerminalError::WrongPin {
                failures: 6,
                locked_for_ms: 60_000
            })
        );
        clock.advance_ms(60_000);
        assert_eq!(
            t.open_poll(WRONG, clock.now_ms()),
            Err(TerminalError::WrongPin {
                failures: 7,
                locked_for_ms: 120_000
            })
        );
        clock.advance_ms(119_000);
        assert_eq!(
            t.open_poll(PIN, clock.now_ms()),
            Err(TerminalError::PinLocked {
                remaining_ms: 1_000
            })
        );
        assert_eq!(t.phase(), Phase::PollNotOpened);
        clock.advance_ms(1_000);
        t.open_poll(PIN, clock.now_ms()).unwrap();
        assert_eq!(t.pin_locked_for(clock.now_ms()), 0);
        // The right PIN reset the count: closing starts again from zero failures.
        assert_eq!(
            t.close_poll(WRONG, clock.now_ms()),
            Err(TerminalError::WrongPin {
                failures: 1,
                locked_for_ms: 0
            })
        );
        assert_eq!(t.phase(), Phase::PollOpen);
    }

    #[test]
    fn the_lock_is_capped() {
        let mut lockout = Lockout::default();
        let mut now = 0u64;
        let mut last = 0;
        for _ in 0..40 {
            if let TerminalError::WrongPin { locked_for_ms, .. } = lockout.fail(now) {
                last = locked_for_ms;
            }
            now = lockout.locked_until_ms;
        }
        assert_eq!(last, PIN_LOCK_MAX_MS);
        assert_eq!(PIN_LOCK_MAX_MS, 64 * 60 * 1000);
        assert_eq!(
            TerminalError::PinLocked { remaining_ms: 1 }.to_string(),
            "E201: PIN entry locked for 1 more s"
        );
    }

    #[test]
    fn counters_balance_and_close_checks_them() {
        let (event, mut store) = fixture();
        let mut t = opened(event, &mut store);
        // Two cast, one cancelled at each voter step.
        for _ in 0..2 {
            t.activate_voter().unwrap();
            t.choose_language(Language::Nl).unwrap();
            t.choose_blank().unwrap();
            t.choose_blank().unwrap();
            t.confirm().unwrap();
        }
        for phase in [
            Phase::Language,
            Phase::Lists,
            Phase::Candidates,
            Phase::Review,
        ] {
            t.activate_voter().unwrap();
            let steps: &[Action<'_>] = match phase {
                Phase::Language => &[],
                Phase::Lists => &[Action::ChooseLanguage(Language::Nl)],
                Phase::Candidates => &[Action::ChooseLanguage(Language::Nl), Action::ChooseList(1)],
                _ => &[
                    Action::ChooseLanguage(Language::Nl),
                    Action::ChooseBlank,
                    Action::ChooseBlank,
                ],
            };
            for step in steps {
                t.handle(*step).unwrap();
            }
            assert_eq!(t.phase(), phase);
            assert_eq!(
                t.close_poll(PIN, 0),
                Err(TerminalError::VoterInBooth {
                    action: ActionKind::ClosePoll
                })
            );
            t.cancel_session().unwrap();
            assert_eq!(t.session(), None);
        }
        assert_eq!(
            t.counters(),
            Counters {
                activations: 6,
                cast: 2,
                cancelled: 4
            }
        );
        assert!(t.counters().balanced());
        assert_eq!(t.store().ballots(0), 2, "cancelled sessions store nothing");

        // Close refuses unbalanced counters (simulated corruption) ...
        t.counters.cast = 3;
        assert_eq!(
            t.close_poll(PIN, 0),
            Err(TerminalError::CountersMismatch {
                activations: 6,
                cast: 3,
                cancelled: 4
            })
        );
        // ... and a store holding a ballot nobody cast.
        t.counters.cast = 2;
        t.store
            .cast(event, &[Choice::Blank, Choice::Blank])
            .unwrap();
        assert_eq!(
            t.close_poll(PIN, 0),
            Err(TerminalError::StoreMismatch {
                election: 0,
                stored: 3,
                cast: 2
            })
        );
        assert_eq!(t.phase(), Phase::PollOpen);
        t.counters.activations = 7;
        t.counters.cast = 3;
        t.close_poll(PIN, 0).unwrap();
        assert_eq!(t.phase(), Phase::Closed);
    }

    #[test]
    fn a_store_failure_leaves_the_voter_on_the_review() {
        let (event, mut store) = fixture();
        let mut t = terminal_in(Phase::Review, event, &mut store);
        let shown = t.review().unwrap().to_vec();
        t.store.wipe();
        assert_eq!(t.confirm(), Err(TerminalError::Store(StoreError::Unbound)));
        assert_eq!(t.review(), Some(&shown[..]));
        assert_eq!(t.counters().cast, 0);
        t.cancel_session().unwrap();
        assert_eq!(t.counters().cancelled, 1);
    }

    #[test]
    fn power_off_wipes_store_session_and_secrets() {
        let (event, mut store) = fixture();
        let mut t = terminal_in(Phase::Review, event, &mut store);
        t.confirm().unwrap();
        t.close_poll(PIN, 0).unwrap();
        assert_eq!(t.store().ballots(0), 1);
        t.power_off().unwrap();
        assert_eq!(t.phase(), Phase::PoweredOff);
        assert_eq!(t.store().ballots(0), 0);
        assert_eq!(t.store().capacity(), 0, "the store is unbound");
        assert_eq!(
            t.store().verify(event),
            Err(StoreError::Unbound),
            "nothing left to verify"
        );
        assert_eq!(
            t.verifier,
            PinVerifier {
                salt: [0; 16],
                iterations: 0,
                hash: [0; 32]
            }
        );
        assert_eq!(t.counters(), Counters::default());
        assert_eq!(
            t.open_poll(PIN, 0),
            Err(TerminalError::PoweredOff {
                action: ActionKind::OpenPoll
            })
        );
        t.halt(HaltReason::DeviceFailure);
        assert_eq!(
            t.phase(),
            Phase::PoweredOff,
            "nothing revives a wiped terminal"
        );
    }

    #[test]
    fn power_fail_wipes_from_any_phase() {
        let (event, mut store) = fixture();
        for phase in PHASES {
            let mut t = terminal_in(phase, event, &mut store);
            t.power_fail();
            assert_eq!(t.phase(), Phase::PoweredOff, "{phase:?}");
            assert_eq!(t.store().ballots(0), 0);
            assert_eq!(t.session(), None);
        }
    }

    #[test]
    fn halting_mid_session_wipes_the_session() {
        let (event, mut store) = fixture();
        let mut t = terminal_in(Phase::Review, event, &mut store);
        t.halt(HaltReason::MemoryIntegrity);
        assert_eq!(t.state(), &State::Halted(HaltReason::MemoryIntegrity));
        assert_eq!(t.review(), None);
        assert_eq!(
            t.confirm(),
            Err(TerminalError::Halted {
                action: ActionKind::Confirm,
                reason: HaltReason::MemoryIntegrity
            })
        );
        t.power_off().unwrap();
    }

    #[test]
    fn ended_sessions_are_scrubbed() {
        let (event, mut store) = fixture();
        let mut t = terminal_in(Phase::Review, event, &mut store);
        let State::Voting(session) = &mut t.state else {
            panic!("voting");
        };
        session.scrub(list(0));
        assert!(session.drafts.iter().all(|d| *d
            == Draft::Marks {
                list: list(0),
                top_box: false,
                candidates: CandidateSet::EMPTY
            }));
        assert!(session.review.iter().all(|c| *c
            == Choice::Preferences {
                list: list(0),
                candidates: CandidateSet::EMPTY
            }));
        assert_eq!(session.drafts(), &[]);
        assert_eq!(session.review(), Some(&[][..]));
    }

    #[test]
    fn weak_verifiers_and_invalid_events_are_refused_at_boot() {
        let (event, mut store) = fixture();
        let weak = PinVerifier::derive(PIN, [1; 16], NonZeroU32::new(10).unwrap());
        assert!(matches!(
            Terminal::new(event, weak, &mut store),
            Err(TerminalError::PinVerifier(
                PinError::TooFewIterations { .. }
            ))
        ));
        let mut bad = tiny_event();
        bad.elections[0].seats = 0;
        let bad: &'static Event<'static> = Box::leak(bad);
        let err = Terminal::new(bad, verifier(), &mut store).unwrap_err();
        assert_eq!(err.code(), 502);
        assert!(err
            .to_string()
            .starts_with("E502: election event: elections[0].seats"));
    }

    #[test]
    fn error_codes_are_unique() {
        let errors = [
            TerminalError::NotAllowed {
                action: ActionKind::Back,
                phase: Phase::Review,
            },
            TerminalError::VoterInBooth {
                action: ActionKind::PowerOff,
            },
            TerminalError::Halted {
                action: ActionKind::Back,
                reason: HaltReason::MediaFailure,
            },
            TerminalError::PoweredOff {
                action: ActionKind::Back,
            },
            TerminalError::WrongPin {
                failures: 1,
                locked_for_ms: 0,
            },
            TerminalError::PinLocked { remaining_ms: 1 },
            TerminalError::PinVerifier(PinError::TooLong { max: 1 }),
            TerminalError::LanguageNotOffered {
                language: Language::De,
            },
            TerminalError::NoSuchList {
                election: 0,
                index: 0,
                count: 0,
            },
            TerminalError::NoSuchCandidate {
                election: 0,
                list: 0,
                index: 0,
                count: 0,
            },
            TerminalError::NoSuchElection { index: 0, count: 0 },
            TerminalError::NothingMarked { election: 0 },
            TerminalError::ReviewMismatch { election: 0 },
            TerminalError::CountersMismatch {
                activations: 0,
                cast: 0,
                cancelled: 0,
            },
            TerminalError::StoreMismatch {
                election: 0,
                stored: 0,
                cast: 0,
            },
            TerminalError::CounterOverflow,
            TerminalError::StoreFull { capacity: 0 },
            TerminalError::Store(StoreError::Unbound),
            TerminalError::InvalidEvent(tiny_event_error()),
            TerminalError::Ballot(BallotError::EmptyPreferences),
        ];
        let mut codes: Vec<u16> = errors.iter().map(TerminalError::code).collect();
        for e in &errors {
            assert!(e.to_string().starts_with(&std::format!("E{}: ", e.code())));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
    }

    fn tiny_event_error() -> ElectionError {
        let mut e = tiny_event();
        e.id = "";
        e.validate().unwrap_err()
    }
}
