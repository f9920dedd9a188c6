//! Station tallies: what one polling station's terminals recorded for an event.
//!
//! A [`StationTally`] is the merge of every session (boot) of every terminal's results media
//! of one station: the office opens each media with [`crate::records::open_media`], adds each
//! opened session with [`StationTally::add_session`], merges the tallies of the station's
//! terminals with [`StationTally::merge`], and writes the result as JSON
//! ([`StationTally::to_json`]). `boot-image results` and `boot-image export` read those JSON
//! files back ([`StationTally::from_json`]), aggregate the stations into constituencies and
//! allocate the seats.
//!
//! The JSON format is specified in `docs/formats/station-tally.md`. Reading it back checks
//! the format version, the fingerprints and every sum that a tally made from opened records
//! always satisfies (blank plus list ballots equal the ballots, the ballots equal the cast
//! counter, the counters equal the sum over the sessions). Numbers that are consistent but
//! suspicious (a candidate with more preference votes than the list has ballots, a session
//! whose activations differ from cast plus cancelled) are not errors here: the results step
//! flags them as anomalies.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

use std::fmt;

use firmware::election::{CandidateKind, Election, Event, Language, SeatMethod};
use firmware::seal::PollState;
use firmware::store::Tally;
use firmware::terminal::Counters;
use serde::{Deserialize, Serialize};

use crate::fingerprint::{fingerprint_groups, parse_fingerprint};
use crate::records::SessionRecord;

/// Version of the station tally JSON format this code writes and reads.
pub const TALLY_FORMAT_VERSION: u32 = 1;

/// Separator between a media file name and its area in [`SessionSummary::source`].
pub const SOURCE_AREA_SEPARATOR: &str = "#area ";

/// What one polling station's terminals recorded for an event: the merge of every session
/// (boot) of every terminal's results media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationTally {
    /// Format version, [`TALLY_FORMAT_VERSION`].
    pub format: u32,
    /// The election event id.
    pub event_id: String,
    /// The boot image's fingerprint: 16 groups of 4 hex digits.
    pub image_fingerprint: String,
    /// The polling station id.
    pub station: String,
    /// Every session merged into this tally, sorted by source then fingerprint.
    pub sessions: Vec<SessionSummary>,
    /// Sums of the sessions' counters.
    pub counters: CounterTotals,
    /// One tally per election, in the event's order.
    pub elections: Vec<ElectionTally>,
}

/// One boot session of one terminal, as opened by the office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSummary {
    /// Where it was read: the media file name (no directories) and `#area N`.
    pub source: String,
    /// The session key's fingerprint (16 groups), as on the paper opening report.
    pub session_fingerprint: String,
    /// Generation of the newest record of the session.
    pub generation: u64,
    /// Whether the session closed; `false`: it never closed (power loss or a reboot).
    pub closed: bool,
    /// The session's counters.
    pub counters: CounterTotals,
}

/// Voter counters: every activation ends in a cast or a cancel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterTotals {
    /// Voters activated by the operator.
    pub activations: u64,
    /// Ballots cast.
    pub cast: u64,
    /// Voting sessions cancelled by the operator.
    pub cancelled: u64,
}

/// The seat allocation method of an election, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SeatMethodName {
    /// D'Hondt: divisors 1, 2, 3, ... (`"dhondt"`).
    DHondt,
    /// Imperiali: divisors 2, 3, 4, ... (`"imperiali"`).
    Imperiali,
}

/// One election's counts at the station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectionTally {
    /// Election id from the definition.
    pub id: String,
    /// Constituency name, in the event's first language.
    pub constituency: String,
    /// Seats to fill in the constituency.
    pub seats: u16,
    /// Seat allocation method.
    pub method: SeatMethodName,
    /// Electoral threshold in hundredths of a percent of the valid votes (500 = 5 %), as in
    /// the election definition.
    pub threshold_hundredths: u16,
    /// Ballots cast in this election (one per voter who cast).
    pub ballots: u64,
    /// Blank ballots.
    pub blank: u64,
    /// The lists, in ballot order.
    pub lists: Vec<ListTally>,
}

/// One list's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListTally {
    /// List number as printed on the ballot.
    pub number: u16,
    /// List name as printed on the ballot.
    pub name: String,
    /// Valid ballots for the list: list votes plus ballots with preference votes.
    pub ballots: u64,
    /// Ballots with the top box only (no candidate marked).
    pub list_only: u64,
    /// The candidates, in ballot order.
    pub candidates: Vec<CandidateTally>,
}

/// One candidate's preference votes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateTally {
    /// Name as printed on the ballot.
    pub name: String,
    /// Titular (`true`) or successor (`false`).
    pub titular: bool,
    /// Preference votes.
    pub preferences: u64,
}

/// Why a station tally cannot be built, merged or read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TallyError {
    /// A session or tally of another polling station.
    StationMismatch {
        /// The station of this tally.
        expected: String,
        /// The station found.
        found: String,
    },
    /// A session or tally of another election event.
    EventMismatch {
        /// The event of this tally.
        expected: String,
        /// The event found.
        found: String,
    },
    /// A tally made with another boot image.
    ImageMismatch {
        /// The image fingerprint of this tally.
        expected: String,
        /// The image fingerprint found.
        found: String,
    },
    /// The same session (session key) would be counted twice.
    DuplicateSession {
        /// The session fingerprint.
        fingerprint: String,
        /// Where it was already counted from.
        first: String,
        /// Where it came again from.
        again: String,
    },
    /// Two tallies describe an election differently (lists, candidates, seats, ...).
    ElectionMismatch {
        /// The election id.
        election: String,
        /// What differs.
        reason: String,
    },
    /// The JSON text is not a station tally.
    Json {
        /// Line of the problem (1-based; 0 when unknown).
        line: usize,
        /// Column of the problem (1-based; 0 when unknown).
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A format version this code does not read.
    UnsupportedFormat {
        /// The version found.
        found: u32,
    },
    /// A fingerprint field is not 16 groups of 4 hex digits.
    BadFingerprint {
        /// The field.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A text field that must not be empty is empty.
    EmptyField {
        /// The field.
        field: &'static str,
    },
    /// The counts do not add up. `election` is empty for station-wide counters.
    Inconsistent {
        /// The election id (empty: the station's counters).
        election: String,
        /// Which sum fails.
        reason: String,
    },
    /// A sum does not fit in 64 bits.
    Overflow {
        /// The field being summed.
        field: &'static str,
    },
}

impl fmt::Display for TallyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TallyError::StationMismatch { expected, found } => write!(
                f,
                "station mismatch: tally of station {expected:?}, but {found:?} given"
            ),
            TallyError::EventMismatch { expected, found } => write!(
                f,
                "event mismatch: tally of event {expected:?}, but {found:?} given"
            ),
            TallyError::ImageMismatch { expected, found } => write!(
                f,
                "image mismatch: tally of image {expected}, but image {found} given"
            ),
            TallyError::DuplicateSession {
                fingerprint,
                first,
                again,
            } => write!(
                f,
                "session {fingerprint} counted twice: from {first:?} and again from {again:?}"
            ),
            TallyError::ElectionMismatch { election, reason } => {
                write!(f, "election {election:?} differs: {reason}")
            }
            TallyError::Json {
                line,
                column,
                reason,
            } => write!(f, "line {line}, column {column}: {reason}"),
            TallyError::UnsupportedFormat { found } => write!(
                f,
                "format: version {found} is not supported (this tool reads version \
                 {TALLY_FORMAT_VERSION})"
            ),
            TallyError::BadFingerprint { field, value } => {
                write!(f, "{field}: {value:?} is not 16 groups of 4 hex digits")
            }
            TallyError::EmptyField { field } => write!(f, "{field}: must not be empty"),
            TallyError::Inconsistent { election, reason } => {
                if election.is_empty() {
                    write!(f, "counters: {reason}")
                } else {
                    write!(f, "election {election:?}: {reason}")
                }
            }
            TallyError::Overflow { field } => write!(f, "{field}: sum exceeds 2^64 - 1"),
        }
    }
}

impl std::error::Error for TallyError {}

impl SeatMethodName {
    /// The name of the election model's method.
    pub fn from_method(method: SeatMethod) -> Option<SeatMethodName> {
        match method {
            SeatMethod::DHondt => Some(SeatMethodName::DHondt),
            SeatMethod::Imperiali => Some(SeatMethodName::Imperiali),
            _ => None,
        }
    }

    /// The name shown to people: `D'Hondt` or `Imperiali`.
    pub fn label(self) -> &'static str {
        match self {
            SeatMethodName::DHondt => "D'Hondt",
            SeatMethodName::Imperiali => "Imperiali",
        }
    }
}

impl CounterTotals {
    /// The counters of a terminal session.
    pub fn from_counters(counters: &Counters) -> CounterTotals {
        CounterTotals {
            activations: u64::from(counters.activations),
            cast: u64::from(counters.cast),
            cancelled: u64::from(counters.cancelled),
        }
    }

    /// Whether every activation ended in a cast or a cancel.
    pub fn balanced(&self) -> bool {
        self.cast.checked_add(self.cancelled) == Some(self.activations)
    }

    /// The field-wise sum, or the first field that overflows.
    pub fn checked_add(&self, other: &CounterTotals) -> Result<CounterTotals, TallyError> {
        Ok(CounterTotals {
            activations: add(self.activations, other.activations, "counters.activations")?,
            cast: add(self.cast, other.cast, "counters.cast")?,
            cancelled: add(self.cancelled, other.cancelled, "counters.cancelled")?,
        })
    }
}

fn add(a: u64, b: u64, field: &'static str) -> Result<u64, TallyError> {
    a.checked_add(b).ok_or(TallyError::Overflow { field })
}

/// The language an event's names are shown in: its first language (Dutch if none).
fn first_language(event: &Event<'_>) -> Language {
    event.languages.first().copied().unwrap_or(Language::Nl)
}

impl ElectionTally {
    /// An all-zero tally of `election`, names in `language`.
    fn empty(election: &Election<'_>, language: Language) -> Result<ElectionTally, TallyError> {
        let method =
            SeatMethodName::from_method(election.method).ok_or(TallyError::ElectionMismatch {
                election: election.id.to_string(),
                reason: "unknown seat allocation method".to_string(),
            })?;
        Ok(ElectionTally {
            id: election.id.to_string(),
            constituency: election.constituency.show(language).to_string(),
            seats: election.seats,
            method,
            threshold_hundredths: election.threshold,
            ballots: 0,
            blank: 0,
            lists: election
                .lists
                .iter()
                .map(|list| ListTally {
                    number: list.number,
                    name: list.name.to_string(),
                    ballots: 0,
                    list_only: 0,
                    candidates: list
                        .candidates
                        .iter()
                        .map(|c| CandidateTally {
                            name: c.name.to_string(),
                            titular: c.kind == CandidateKind::Titular,
                            preferences: 0,
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    /// Add the store's tally of this election.
    fn add_store(&mut self, tally: &Tally<'_>) -> Result<(), TallyError> {
        let missing = |what: String| TallyError::Inconsistent {
            election: self.id.clone(),
            reason: format!("the session's store has no count for {what}"),
        };
        if tally.lists() != self.lists.len() {
            return Err(TallyError::ElectionMismatch {
                election: self.id.clone(),
                reason: format!(
                    "the session's store has {} lists, the event {}",
                    tally.lists(),
                    self.lists.len()
                ),
            });
        }
        let mut lists = self.lists.clone();
        for (index, list) in lists.iter_mut().enumerate() {
            let list_votes = tally
                .list_votes(index)
                .ok_or_else(|| missing(format!("list {}", list.number)))?;
            let preference_ballots = tally
                .preference_ballots(index)
                .ok_or_else(|| missing(format!("list {}", list.number)))?;
            let ballots = u64::from(list_votes)
                .checked_add(u64::from(preference_ballots))
                .ok_or(TallyError::Overflow {
                    field: "lists.ballots",
                })?;
            list.ballots = add(list.ballots, ballots, "lists.ballots")?;
            list.list_only = add(list.list_only, u64::from(list_votes), "lists.list_only")?;
            for (candidate_index, candidate) in list.candidates.iter_mut().enumerate() {
                let preferences = tally.preferences(index, candidate_index).ok_or_else(|| {
                    missing(format!(
                        "candidate {:?} of list {}",
                        candidate.name, list.number
                    ))
                })?;
                candidate.preferences = add(
                    candidate.preferences,
                    u64::from(preferences),
                    "candidates.preferences",
                )?;
            }
        }
        let ballots = add(self.ballots, u64::from(tally.total()), "ballots")?;
        let blank = add(self.blank, u64::from(tally.blank()), "blank")?;
        self.lists = lists;
        self.ballots = ballots;
        self.blank = blank;
        Ok(())
    }

    /// Check that `other` describes the same election (everything but the counts).
    fn check_same_shape(&self, other: &ElectionTally) -> Result<(), TallyError> {
        let differ = |reason: String| TallyError::ElectionMismatch {
            election: self.id.clone(),
            reason,
        };
        if self.id != other.id {
            return Err(differ(format!(
                "election id {:?} vs {:?}",
                self.id, other.id
            )));
        }
        if self.constituency != other.constituency {
            return Err(differ(format!(
                "constituency {:?} vs {:?}",
                self.constituency, other.constituency
            )));
        }
        if (self.seats, self.method, self.threshold_hundredths)
            != (other.seats, other.method, other.threshold_hundredths)
        {
            return Err(differ(format!(
                "seats/method/threshold {} {} {} vs {} {} {}",
                self.seats,
                self.method.label(),
                self.threshold_hundredths,
                other.seats,
                other.method.label(),
                other.threshold_hundredths
            )));
        }
        if self.lists.len() != other.lists.len() {
            return Err(differ(format!(
                "{} lists vs {} lists",
                self.lists.len(),
                other.lists.len()
            )));
        }
        for (mine, theirs) in self.lists.iter().zip(&other.lists) {
            if mine.number != theirs.number || mine.name != theirs.name {
                return Err(differ(format!(
                    "list {} {:?} vs list {} {:?}",
                    mine.number, mine.name, theirs.number, theirs.name
                )));
            }
            let same_candidates = mine.candidates.len() == theirs.candidates.len()
                && mine
                    .candidates
                    .iter()
                    .zip(&theirs.candidates)
                    .all(|(a, b)| a.name == b.name && a.titular == b.titular);
            if !same_candidates {
                return Err(differ(format!(
                    "the candidates of list {} differ",
                    mine.number
                )));
            }
        }
        Ok(())
    }

    /// Add the counts of `other` (same shape, checked by the caller).
    fn add_counts(&mut self, other: &ElectionTally) -> Result<(), TallyError> {
        let mut sum = self.clone();
        sum.ballots = add(sum.ballots, other.ballots, "ballots")?;
        sum.blank = add(sum.blank, other.blank, "blank")?;
        for (mine, theirs) in sum.lists.iter_mut().zip(&other.lists) {
            mine.ballots = add(mine.ballots, theirs.ballots, "lists.ballots")?;
            mine.list_only = add(mine.list_only, theirs.list_only, "lists.list_only")?;
            for (a, b) in mine.candidates.iter_mut().zip(&theirs.candidates) {
                a.preferences = add(a.preferences, b.preferences, "candidates.preferences")?;
            }
        }
        *self = sum;
        Ok(())
    }

    /// Add the counts of `other`, another station's tally of the same election and
    /// constituency. Errors if the two describe the election differently (seats, method,
    /// threshold, lists, candidates); on error `self` is unchanged.
    pub fn merge_counts(&mut self, other: &ElectionTally) -> Result<(), TallyError> {
        self.check_same_shape(other)?;
        self.add_counts(other)
    }

    /// Check the sums every tally made from opened records satisfies.
    pub fn check_sums(&self) -> Result<(), TallyError> {
        let inconsistent = |reason: String| TallyError::Inconsistent {
            election: self.id.clone(),
            reason,
        };
        if self.id.is_empty() {
            return Err(TallyError::EmptyField {
                field: "elections.id",
            });
        }
        let mut valid: u64 = 0;
        for (index, list) in self.lists.iter().enumerate() {
            if list.list_only > list.ballots {
                return Err(inconsistent(format!(
                    "list {}: {} list-only ballots exceed its {} ballots",
                    list.number, list.list_only, list.ballots
                )));
            }
            let earlier = self.lists.get(..index).unwrap_or(&[]);
            if earlier.iter().any(|l| l.number == list.number) {
                return Err(inconsistent(format!(
                    "list number {} appears twice",
                    list.number
                )));
            }
            valid = add(valid, list.ballots, "lists.ballots")?;
        }
        let counted = add(valid, self.blank, "blank")?;
        if counted != self.ballots {
            return Err(inconsistent(format!(
                "blank {} plus list ballots {} is {counted}, not the {} ballots",
                self.blank, valid, self.ballots
            )));
        }
        Ok(())
    }

    /// Valid votes: ballots for a list (the ballots minus the blank ones).
    pub fn valid_votes(&self) -> u64 {
        self.ballots.saturating_sub(self.blank)
    }
}

impl StationTally {
    /// Empty tally (all zero) for an event and station.
    ///
    /// Elections whose seat method this code does not know get no tally (the election model
    /// has only D'Hondt and Imperiali; [`StationTally::add_session`] then reports them).
    pub fn new(event: &Event<'_>, image_digest: &[u8; 32], station: &str) -> StationTally {
        let language = first_language(event);
        StationTally {
            format: TALLY_FORMAT_VERSION,
            event_id: event.id.to_string(),
            image_fingerprint: fingerprint_groups(image_digest).as_str().to_string(),
            station: station.to_string(),
            sessions: Vec::new(),
            counters: CounterTotals::default(),
            elections: event
                .elections
                .iter()
                .filter_map(|e| ElectionTally::empty(e, language).ok())
                .collect(),
        }
    }

    /// Add one opened session (from [`crate::records`]); errors if the station or event
    /// differ, if the session was already added, or if its store does not fit the event.
    /// On error the tally is unchanged.
    pub fn add_session(
        &mut self,
        source: &str,
        session: &SessionRecord,
        event: &Event<'_>,
    ) -> Result<(), TallyError> {
        if event.id != self.event_id {
            return Err(TallyError::EventMismatch {
                expected: self.event_id.clone(),
                found: event.id.to_string(),
            });
        }
        if session.station != self.station {
            return Err(TallyError::StationMismatch {
                expected: self.station.clone(),
                found: session.station.clone(),
            });
        }
        let fingerprint = fingerprint_groups(&session.session_fingerprint)
            .as_str()
            .to_string();
        if let Some(first) = self
            .sessions
            .iter()
            .find(|s| s.session_fingerprint == fingerprint)
        {
            return Err(TallyError::DuplicateSession {
                fingerprint,
                first: first.source.clone(),
                again: source.to_string(),
            });
        }
        if self.elections.len() != event.elections.len() {
            return Err(TallyError::ElectionMismatch {
                election: event
                    .elections
                    .iter()
                    .find(|e| SeatMethodName::from_method(e.method).is_none())
                    .map_or_else(String::new, |e| e.id.to_string()),
                reason: "an election of the event has an unknown seat method".to_string(),
            });
        }
        let language = first_language(event);
        let mut elections = self.elections.clone();
        for (index, (tally, election)) in elections.iter_mut().zip(&event.elections).enumerate() {
            tally.check_same_shape(&ElectionTally::empty(election, language)?)?;
            let store_tally =
                session
                    .store
                    .tally(index)
                    .ok_or_else(|| TallyError::Inconsistent {
                        election: tally.id.clone(),
                        reason: "the session's store has no tally for this election".to_string(),
                    })?;
            tally.add_store(&store_tally)?;
        }
        let counters = CounterTotals::from_counters(&session.counters);
        self.counters = self.counters.checked_add(&counters)?;
        self.elections = elections;
        self.sessions.push(SessionSummary {
            source: source.to_string(),
            session_fingerprint: fingerprint,
            generation: session.generation,
            closed: session.state == PollState::Closed,
            counters,
        });
        self.sort_sessions();
        Ok(())
    }

    /// Merge another tally of the same event, image and station (another terminal).
    /// Errors name both sides; on error the tally is unchanged.
    pub fn merge(&mut self, other: &StationTally) -> Result<(), TallyError> {
        if other.event_id != self.event_id {
            return Err(TallyError::EventMismatch {
                expected: self.event_id.clone(),
                found: other.event_id.clone(),
            });
        }
        if other.station != self.station {
            return Err(TallyError::StationMismatch {
                expected: self.station.clone(),
                found: other.station.clone(),
            });
        }
        if other.image_fingerprint != self.image_fingerprint {
            return Err(TallyError::ImageMismatch {
                expected: self.image_fingerprint.clone(),
                found: other.image_fingerprint.clone(),
            });
        }
        for session in &other.sessions {
            if let Some(first) = self
                .sessions
                .iter()
                .find(|s| s.session_fingerprint == session.session_fingerprint)
            {
                return Err(TallyError::DuplicateSession {
                    fingerprint: session.session_fingerprint.clone(),
                    first: first.source.clone(),
                    again: session.source.clone(),
                });
            }
        }
        if self.elections.len() != other.elections.len() {
            return Err(TallyError::ElectionMismatch {
                election: String::new(),
                reason: format!(
                    "{} elections vs {} elections",
                    self.elections.len(),
                    other.elections.len()
                ),
            });
        }
        let mut elections = self.elections.clone();
        for (mine, theirs) in elections.iter_mut().zip(&other.elections) {
            mine.check_same_shape(theirs)?;
            mine.add_counts(theirs)?;
        }
        self.counters = self.counters.checked_add(&other.counters)?;
        self.elections = elections;
        self.sessions.extend(other.sessions.iter().cloned());
        self.sort_sessions();
        Ok(())
    }

    fn sort_sessions(&mut self) {
        self.sessions.sort_by(|a, b| {
            (a.source.as_str(), a.session_fingerprint.as_str())
                .cmp(&(b.source.as_str(), b.session_fingerprint.as_str()))
        });
    }

    /// The tally as pretty JSON with a stable field order, ending in a newline.
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings and integers into a String cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Read a tally from JSON, checking the format version, the fingerprints, and every sum
    /// (see [`StationTally::check`]).
    pub fn from_json(text: &str) -> Result<StationTally, TallyError> {
        let tally: StationTally = serde_json::from_str(text).map_err(|e| TallyError::Json {
            line: e.line(),
            column: e.column(),
            reason: json_reason(&e),
        })?;
        tally.check()?;
        Ok(tally)
    }

    /// Check the format version, the fingerprints, and the sums a tally made from opened
    /// records always satisfies: the counters are the sum of the sessions' counters, no
    /// session appears twice, each election's blank plus list ballots equal its ballots and
    /// its ballots equal the cast counter, list-only ballots never exceed a list's ballots.
    pub fn check(&self) -> Result<(), TallyError> {
        if self.format != TALLY_FORMAT_VERSION {
            return Err(TallyError::UnsupportedFormat { found: self.format });
        }
        for (field, value) in [("event_id", &self.event_id), ("station", &self.station)] {
            if value.is_empty() {
                return Err(TallyError::EmptyField { field });
            }
        }
        check_fingerprint("image_fingerprint", &self.image_fingerprint)?;
        let mut sum = CounterTotals::default();
        for (index, session) in self.sessions.iter().enumerate() {
            check_fingerprint("sessions.session_fingerprint", &session.session_fingerprint)?;
            if session.source.is_empty() {
                return Err(TallyError::EmptyField {
                    field: "sessions.source",
                });
            }
            let earlier = self.sessions.get(..index).unwrap_or(&[]);
            if let Some(first) = earlier
                .iter()
                .find(|s| s.session_fingerprint == session.session_fingerprint)
            {
                return Err(TallyError::DuplicateSession {
                    fingerprint: session.session_fingerprint.clone(),
                    first: first.source.clone(),
                    again: session.source.clone(),
                });
            }
            sum = sum.checked_add(&session.counters)?;
        }
        if sum != self.counters {
            return Err(TallyError::Inconsistent {
                election: String::new(),
                reason: format!(
                    "activations/cast/cancelled {}/{}/{} differ from the sessions' sums \
                     {}/{}/{}",
                    self.counters.activations,
                    self.counters.cast,
                    self.counters.cancelled,
                    sum.activations,
                    sum.cast,
                    sum.cancelled
                ),
            });
        }
        for (index, election) in self.elections.iter().enumerate() {
            election.check_sums()?;
            let earlier = self.elections.get(..index).unwrap_or(&[]);
            if earlier.iter().any(|e| e.id == election.id) {
                return Err(TallyError::Inconsistent {
                    election: election.id.clone(),
                    reason: "the election appears twice".to_string(),
                });
            }
            if election.ballots != self.counters.cast {
                return Err(TallyError::Inconsistent {
                    election: election.id.clone(),
                    reason: format!(
                        "{} ballots but {} cast (every voter casts one ballot per election)",
                        election.ballots, self.counters.cast
                    ),
                });
            }
        }
        Ok(())
    }
}

fn check_fingerprint(field: &'static str, value: &str) -> Result<(), TallyError> {
    // Canonical form only: what `fingerprint_groups` writes.
    match parse_fingerprint(value) {
        Some(digest) if fingerprint_groups(&digest).as_str() == value => Ok(()),
        _ => Err(TallyError::BadFingerprint {
            field,
            value: value.to_string(),
        }),
    }
}

/// serde_json's message without its trailing " at line L column C".
fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text.get(..at).unwrap_or(&text).to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firmware::ballot::{CandidateSet, Choice, ListIndex};
    use firmware::election::{Candidate, Candidates, Date, List, Mode, Names};
    use firmware::store::BallotStore;
    use proptest::prelude::*;

    const STATION: &str = "GNT-0007";
    const IMAGE: [u8; 32] = [0x17; 32];

    fn names(text: &'static str) -> Names<'static> {
        Names {
            nl: Some(text),
            fr: Some("ignored"),
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
            languages: heapless::Vec::from_slice(&[Language::Nl, Language::Fr]).unwrap(),
            elections: heapless::Vec::new(),
        };
        for (id, method) in [
            ("kamer", SeatMethod::DHondt),
            ("gemeente", SeatMethod::Imperiali),
        ] {
            let mut election = Election {
                id,
                names: names("Kamer"),
                constituency: names("Oost-Vlaanderen"),
                seats: 4,
                method,
                threshold: 500,
                successors: true,
                lists: heapless::Vec::new(),
            };
            for l in 0..2u16 {
                let people: Vec<Candidate<'static>> = [
                    ("A", CandidateKind::Titular),
                    ("B", CandidateKind::Titular),
                    ("C", CandidateKind::Successor),
                ]
                .iter()
                .map(|(name, kind)| Candidate { name, kind: *kind })
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
        }
        event.validate().unwrap();
        Box::leak(Box::new(event))
    }

    /// A session with the given choices in both elections.
    fn session(
        event: &Event<'_>,
        seed: u8,
        station: &str,
        choices: &[Choice],
        cancelled: u32,
        state: PollState,
    ) -> SessionRecord {
        let mut store = Box::new(BallotStore::new());
        store.reset(event).unwrap();
        for choice in choices {
            store.cast(event, &[*choice, *choice]).unwrap();
        }
        let cast = u32::try_from(choices.len()).unwrap();
        SessionRecord {
            area: Some(0),
            slot: None,
            generation: u64::from(cast) + 1,
            state,
            station: station.to_string(),
            session_public_key: [seed; 32],
            session_fingerprint: [seed; 32],
            counters: Counters {
                activations: cast + cancelled,
                cast,
                cancelled,
            },
            store,
            damaged_slots: Vec::new(),
        }
    }

    fn choices(event: &Event<'_>) -> Vec<Choice> {
        let election = &event.elections[0];
        vec![
            Choice::Blank,
            Choice::List(ListIndex::new(0, election).unwrap()),
            Choice::Preferences {
                list: ListIndex::new(0, election).unwrap(),
                candidates: CandidateSet::from_mask(0b011, 3).unwrap(),
            },
            Choice::Preferences {
                list: ListIndex::new(1, election).unwrap(),
                candidates: CandidateSet::from_mask(0b100, 3).unwrap(),
            },
        ]
    }

    fn station_tally() -> StationTally {
        let event = event("BE-2026");
        let mut tally = StationTally::new(event, &IMAGE, STATION);
        let first = session(event, 1, STATION, &choices(event), 1, PollState::Closed);
        tally
            .add_session("usb-a.img#area 0", &first, event)
            .unwrap();
        let second = session(event, 2, STATION, &choices(event)[1..], 0, PollState::Open);
        tally
            .add_session("usb-a.img#area 1", &second, event)
            .unwrap();
        tally
    }

    #[test]
    fn sessions_add_up_per_list_and_candidate() {
        let tally = station_tally();
        assert_eq!(
            tally.counters,
            CounterTotals {
                activations: 8,
                cast: 7,
                cancelled: 1
            }
        );
        assert_eq!(tally.sessions.len(), 2);
        assert!(tally.sessions[0].closed);
        assert!(!tally.sessions[1].closed);
        for election in &tally.elections {
            assert_eq!(election.constituency, "Oost-Vlaanderen");
            assert_eq!(election.ballots, 7);
            assert_eq!(election.blank, 1);
            let rood = &election.lists[0];
            assert_eq!((rood.ballots, rood.list_only), (4, 2));
            let prefs: Vec<u64> = rood.candidates.iter().map(|c| c.preferences).collect();
            assert_eq!(prefs, [2, 2, 0]);
            let groen = &election.lists[1];
            assert_eq!((groen.ballots, groen.list_only), (2, 0));
            assert_eq!(groen.candidates[2].preferences, 2);
            assert!(!groen.candidates[2].titular);
        }
        assert_eq!(tally.elections[1].method, SeatMethodName::Imperiali);
        tally.check().unwrap();
    }

    #[test]
    fn wrong_station_event_or_repeated_session_is_refused_and_changes_nothing() {
        let event = event("BE-2026");
        let mut tally = station_tally();
        let before = tally.clone();
        let other = session(event, 3, "GNT-0008", &[], 0, PollState::Closed);
        assert!(matches!(
            tally.add_session("x#area 0", &other, event),
            Err(TallyError::StationMismatch { .. })
        ));
        let again = session(event, 1, STATION, &[], 0, PollState::Closed);
        let err = tally
            .add_session("copy.img#area 0", &again, event)
            .unwrap_err();
        assert!(matches!(err, TallyError::DuplicateSession { .. }));
        assert!(err.to_string().contains("usb-a.img#area 0"));
        assert!(err.to_string().contains("copy.img#area 0"));
        let other_event = event_with_id();
        let fresh = session(other_event, 9, STATION, &[], 0, PollState::Closed);
        assert!(matches!(
            tally.add_session("y#area 0", &fresh, other_event),
            Err(TallyError::EventMismatch { .. })
        ));
        assert_eq!(tally, before);
    }

    fn event_with_id() -> &'static Event<'static> {
        event("BE-2026-OTHER")
    }

    #[test]
    fn merging_terminals_is_order_independent() {
        let event = event("BE-2026");
        let a = station_tally();
        let mut b = StationTally::new(event, &IMAGE, STATION);
        let s = session(
            event,
            5,
            STATION,
            &choices(event)[2..],
            2,
            PollState::Closed,
        );
        b.add_session("usb-b.img#area 0", &s, event).unwrap();
        let mut ab = a.clone();
        ab.merge(&b).unwrap();
        let mut ba = b.clone();
        ba.merge(&a).unwrap();
        assert_eq!(ab, ba);
        assert_eq!(ab.counters.cast, 9);
        assert_eq!(ab.elections[0].ballots, 9);
        ab.check().unwrap();
        // Merging the same terminal twice would count its sessions twice.
        let mut twice = ab.clone();
        assert!(matches!(
            twice.merge(&b),
            Err(TallyError::DuplicateSession { .. })
        ));
        assert_eq!(twice, ab);
        let mut other_station = b.clone();
        other_station.station = "GNT-0001".to_string();
        assert!(matches!(
            ab.clone().merge(&other_station),
            Err(TallyError::StationMismatch { .. })
        ));
        let mut other_image = b.clone();
        other_image.image_fingerprint = fingerprint_groups(&[1; 32]).as_str().to_string();
        assert!(matches!(
            ab.clone().merge(&other_image),
            Err(TallyError::ImageMismatch { .. })
        ));
        let mut other_lists = b;
        other_lists.elections[0].lists[1].name = "BLAUW".to_string();
        let err = a.clone().merge(&other_lists).unwrap_err();
        assert!(matches!(err, TallyError::ElectionMismatch { .. }), "{err}");
    }

    #[test]
    fn json_round_trip_is_stable() {
        let tally = station_tally();
        let text = tally.to_json();
        assert!(text.starts_with("{\n  \"format\": 1,\n  \"event_id\": \"BE-2026\""));
        assert!(text.contains("\"method\": \"dhondt\""));
        assert!(text.contains("\"method\": \"imperiali\""));
        let back = StationTally::from_json(&text).unwrap();
        assert_eq!(back, tally);
        assert_eq!(back.to_json(), text);
    }

    #[test]
    fn json_that_does_not_add_up_is_refused() {
        let tally = station_tally();
        type Edit = Box<dyn Fn(&mut StationTally)>;
        let cases: Vec<(&str, Edit, &str)> = vec![
            ("format", Box::new(|t| t.format = 2), "version 2"),
            ("blank", Box::new(|t| t.elections[0].blank += 1), "blank"),
            (
                "list_only",
                Box::new(|t| t.elections[0].lists[0].list_only = 99),
                "list-only",
            ),
            (
                "cast",
                Box::new(|t| {
                    t.counters.cast += 1;
                    t.sessions[0].counters.cast += 1;
                }),
                "cast",
            ),
            (
                "counters",
                Box::new(|t| t.counters.activations += 1),
                "sessions' sums",
            ),
            (
                "image",
                Box::new(|t| t.image_fingerprint = "1234".to_string()),
                "image_fingerprint",
            ),
            (
                "uppercase",
                Box::new(|t| {
                    t.image_fingerprint = fingerprint_groups(&[0xab; 32]).to_uppercase();
                }),
                "image_fingerprint",
            ),
            (
                "duplicate session",
                Box::new(|t| {
                    let first = t.sessions[0].clone();
                    t.counters = t.counters.checked_add(&first.counters).unwrap();
                    t.sessions.push(first);
                }),
                "counted twice",
            ),
            ("station", Box::new(|t| t.station.clear()), "station"),
        ];
        for (name, edit, needle) in cases {
            let mut bad = tally.clone();
            edit(&mut bad);
            let err = StationTally::from_json(&bad.to_json()).unwrap_err();
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
        let err = StationTally::from_json("{\"format\": 1,\n \"extra\": 2}").unwrap_err();
        match err {
            TallyError::Json { line, reason, .. } => {
                assert_eq!(line, 2);
                assert!(reason.contains("extra"), "{reason}");
            }
            other => panic!("{other}"),
        }
        // More preferences than ballots is an anomaly for the results step, not an error.
        let mut odd = tally;
        odd.elections[0].lists[1].candidates[0].preferences = 1000;
        StationTally::from_json(&odd.to_json()).unwrap();
    }

    fn arb_tally() -> impl Strategy<Value = StationTally> {
        let candidate = ("[A-Za-z \"\\\\é]{0,12}", any::<bool>(), 0u64..1_000_000).prop_map(
            |(name, titular, preferences)| CandidateTally {
                name,
                titular,
                preferences,
            },
        );
        let list = (
            0u16..100,
            "[A-Z0-9 -]{1,10}",
            0u64..1_000_000,
            0u64..1_000_000,
            prop::collection::vec(candidate, 0..4),
        )
            .prop_map(|(number, name, ballots, only, candidates)| ListTally {
                number,
                name,
                ballots,
                list_only: only.min(ballots),
                candidates,
            });
        let election = (
            "[a-z]{1,8}",
            "[A-Za-z-]{1,12}",
            1u16..200,
            any::<bool>(),
            0u16..10_000,
            0u64..1_000_000,
            prop::collection::vec(list, 0..4),
        )
            .prop_map(
                |(id, constituency, seats, imperiali, threshold, blank, lists)| {
                    let mut lists = lists;
                    for (i, list) in lists.iter_mut().enumerate() {
                        list.number = u16::try_from(i).unwrap() + 1;
                    }
                    let ballots = blank + lists.iter().map(|l| l.ballots).sum::<u64>();
                    ElectionTally {
                        id,
                        constituency,
                        seats,
                        method: if imperiali {
                            SeatMethodName::Imperiali
                        } else {
                            SeatMethodName::DHondt
                        },
                        threshold_hundredths: threshold,
                        ballots,
                        blank,
                        lists,
                    }
                },
            );
        let session = (
            "[a-z.#0-9 ]{1,20}",
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<bool>(),
            0u64..1000,
            0u64..1000,
        )
            .prop_map(|(source, key, generation, closed, cancelled, extra)| {
                SessionSummary {
                    source,
                    session_fingerprint: fingerprint_groups(&key).as_str().to_string(),
                    generation,
                    closed,
                    counters: CounterTotals {
                        activations: cancelled + extra,
                        cast: 0,
                        cancelled,
                    },
                }
            });
        (
            "[A-Z0-9-]{1,16}",
            any::<[u8; 32]>(),
            "[A-Z0-9-]{1,12}",
            prop::collection::vec(session, 0..3),
            election,
        )
            .prop_map(|(event_id, image, station, sessions, election)| {
                let mut sessions = sessions;
                sessions.dedup_by(|a, b| a.session_fingerprint == b.session_fingerprint);
                // Put the election's ballots on the first session's cast counter.
                let mut counters = CounterTotals::default();
                for (i, s) in sessions.iter_mut().enumerate() {
                    if i == 0 {
                        s.counters.cast = election.ballots;
                        s.counters.activations += election.ballots;
                    }
                    counters = counters.checked_add(&s.counters).unwrap();
                }
                let elections = if sessions.is_empty() && election.ballots > 0 {
                    Vec::new()
                } else {
                    vec![election]
                };
                StationTally {
                    format: TALLY_FORMAT_VERSION,
                    event_id,
                    image_fingerprint: fingerprint_groups(&image).as_str().to_string(),
                    station,
                    sessions,
                    counters,
                    elections,
                }
            })
    }

    proptest! {
        #[test]
        fn json_round_trips(tally in arb_tally()) {
            tally.check().unwrap();
            let text = tally.to_json();
            prop_assert_eq!(StationTally::from_json(&text).unwrap(), tally);
        }
    }
}
